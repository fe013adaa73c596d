"""Every family on both backends, given odd inputs: an answer with finite values, or a PixelprepError; never another exception.

Tiny, thin, gray, alpha, 16-bit, palette, float, boolean, NaN, 5-channel and zero-height images, and a batch mixing
a 1x1 image with a photo-sized one, through each family's defaults (``tests/test_fuzz.py`` fuzzes CLIP and DETR
much further).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import pixelprep
from pixelprep import PixelprepError
from pixelprep.models import __all__ as FAMILY_NAMES

REQUIRED_SETTINGS: dict[str, dict[str, Any]] = {
    "ImageGPTImageProcessor": {"clusters": [[0.1, -0.2, 0.3], [-0.5, 0.5, 0.0]]},
    "TimmWrapperImageProcessor": {"architecture": "resnet50", "pretrained_cfg": {"input_size": [3, 64, 64], "mean": [0.5] * 3, "std": [0.4] * 3}},
}


def _pixels(height: int, width: int, channels: int | None = 3, seed: int = 0) -> np.ndarray:
    shape = (height, width) if channels is None else (height, width, channels)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


#: name -> (images, whether every value is finite)
CASES: dict[str, Callable[[], tuple[list[Any], bool]]] = {
    "1x1": lambda: ([_pixels(1, 1)], True),
    "2x1": lambda: ([_pixels(2, 1)], True),
    "1x2": lambda: ([_pixels(1, 2)], True),
    "gray_2d_7x5": lambda: ([_pixels(7, 5, None)], True),
    "rgba_13x17": lambda: ([Image.fromarray(_pixels(13, 17, 4), "RGBA")], True),
    "float_0_1": lambda: ([np.random.default_rng(1).random((9, 11, 3)).astype(np.float32)], True),
    "sixteen_bit": lambda: ([Image.fromarray(np.random.default_rng(2).integers(0, 65535, (10, 12)).astype(np.uint16))], True),
    "palette": lambda: ([Image.fromarray(_pixels(10, 12, None)).convert("P")], True),
    "bool": lambda: ([np.random.default_rng(3).random((9, 11)) > 0.5], True),
    "five_channels": lambda: ([_pixels(20, 30, 5)], True),
    "nan": lambda: ([np.full((9, 11, 3), np.nan, np.float32)], False),
    "zero_height": lambda: ([np.zeros((0, 10, 3), np.uint8)], True),
    "1x1_with_a_photo": lambda: ([_pixels(1, 1), _pixels(300, 200, seed=4)], True),
}


def _leaves(value: Any) -> list[torch.Tensor]:
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value] if isinstance(value, torch.Tensor) else []


def _extras(processor: pixelprep.ImageProcessor, images: list[Any]) -> dict[str, Any]:
    """Inputs a family cannot do without (ViTMatte's trimaps), one per image."""
    if "trimaps" in inspect.signature(processor.preprocess).parameters:
        return {"trimaps": [np.zeros(np.asarray(image).shape[:2], np.uint8) for image in images]}
    return {}


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
@pytest.mark.parametrize("name", FAMILY_NAMES, ids=[name.removesuffix("ImageProcessor") for name in FAMILY_NAMES])
def test_odd_inputs_give_an_answer_or_our_error(name: str, backend: str) -> None:
    processor = getattr(pixelprep, name)(backend=backend, **REQUIRED_SETTINGS.get(name, {}))
    problems = []
    for case, make in CASES.items():
        images, finite = make()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outputs = processor(images, return_tensors="pt", **_extras(processor, images))
        except PixelprepError:
            continue
        except Exception as exc:  # noqa: BLE001 - the point of the test
            problems.append(f"{case}: {type(exc).__name__}: {exc}")
            continue
        if finite:
            for key, value in outputs.items():
                if any(leaf.is_floating_point() and not torch.isfinite(leaf).all() for leaf in _leaves(value)):
                    problems.append(f"{case}: {key} has NaN or infinity")
    assert not problems, problems
