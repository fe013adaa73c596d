"""Parity of SAM with transformers: pixel values, sizes, masks, prompt points/boxes (SamProcessor) and post_process_masks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers

from pixelprep.auto import family_for_config
from pixelprep.models.sam import SamImageProcessor

BACKENDS = ("torchvision", "pil")
PHOTOS = ("photo_rgb_333x517.jpg", "photo_rgb_640x427.jpg", "gray_l_200x131.png", "tall_rgb_90x1200.jpg")
POINTS = [[[100.0, 200.0], [30.0, 40.5]], [[10.0, 20.0]], [[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0]]]
LABELS = [[1, 0], [1], [0, 1], [1]]
BOXES = [[[10, 20, 200, 300]], [[5, 6, 100, 120]], [[0, 0, 50, 60]], [[1, 2, 3, 4]]]


def _reference(backend: str, config: dict[str, Any]) -> Any:
    image_processor = getattr(transformers, f"SamImageProcessor{'Pil' if backend == 'pil' else ''}")(**config)
    return transformers.SamProcessor(image_processor=image_processor)


def _masks(images: list[Any]) -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    return [rng.integers(0, 3, (image.height, image.width)).astype(np.uint8) for image in images]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("return_tensors", ["pt", "np"])
@pytest.mark.parametrize("config", [{}, {"size": {"longest_edge": 512}, "pad_size": 512, "mask_size": {"longest_edge": 128}, "mask_pad_size": 128}], ids=["default", "512"])
def test_matches_transformers(backend: str, return_tensors: str, config: dict, load_image, fixture_path, compare, to_numpy) -> None:
    images = [load_image(fixture_path(name)) for name in PHOTOS]
    prompts = {"input_points": POINTS, "input_labels": [list(labels) for labels in LABELS], "input_boxes": BOXES}
    expected = _reference(backend, config)(images=images, segmentation_maps=_masks(images), return_tensors=return_tensors, **prompts)
    prompts["input_labels"] = [list(labels) for labels in LABELS]  # transformers pads the lists it is given in place
    got = SamImageProcessor.from_dict(config, backend=backend)(images, segmentation_maps=_masks(images), return_tensors=return_tensors, **prompts)
    assert sorted(got) == sorted(expected)
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=1e-4, what=f"SAM [{backend}] pixel_values")
    for key in ("original_sizes", "reshaped_input_sizes", "labels", "input_points", "input_labels", "input_boxes"):
        mine, theirs = got[key], expected[key]
        assert type(mine) is type(theirs), key
        assert mine.dtype == theirs.dtype and tuple(mine.shape) == tuple(theirs.shape), key
        np.testing.assert_array_equal(to_numpy(mine), to_numpy(theirs), err_msg=key)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_image_prompts_without_labels(backend: str, load_image, fixture_path) -> None:
    image = load_image(fixture_path(PHOTOS[1]))
    prompts = {"input_points": [[[320.0, 200.0]]], "input_boxes": [[[10, 20, 600, 400]]]}
    expected = _reference(backend, {})(images=image, return_tensors="pt", **prompts)
    got = SamImageProcessor(backend=backend)(image, return_tensors="pt", **prompts)
    for key in ("original_sizes", "reshaped_input_sizes", "input_points", "input_boxes"):
        assert torch.equal(got[key], expected[key]), key
    assert "input_labels" not in got


@pytest.mark.parametrize("binarize", [True, False])
@pytest.mark.parametrize("pad_size", [None, {"height": 512, "width": 512}])
def test_post_process_masks(binarize: bool, pad_size: Any) -> None:
    rng = np.random.default_rng(12)
    masks = [torch.from_numpy(rng.standard_normal((1, 3, 256, 256)).astype(np.float32)) for _ in range(2)]
    original, reshaped = [(517, 333), (427, 640)], [(1024, 659), (683, 1024)]
    if pad_size is not None:
        reshaped = [(512, 330), (342, 512)]
    expected = transformers.SamImageProcessor().post_process_masks(
        [m.clone() for m in masks], original, reshaped, mask_threshold=0.1, binarize=binarize, pad_size=pad_size
    )
    got = SamImageProcessor().post_process_masks(masks, torch.tensor(original), np.array(reshaped), mask_threshold=0.1, binarize=binarize, pad_size=pad_size)
    for mine, theirs in zip(got, expected):
        assert mine.dtype == theirs.dtype and torch.equal(mine, theirs)
    as_numpy = SamImageProcessor().post_process_masks([m.numpy() for m in masks], original, reshaped, mask_threshold=0.1, binarize=binarize, pad_size=pad_size)
    assert isinstance(as_numpy[0], np.ndarray)
    np.testing.assert_array_equal(as_numpy[1], expected[1].numpy())


def test_resolves_by_name_and_model_type() -> None:
    assert family_for_config({"image_processor_type": "SamImageProcessorPil"}) is SamImageProcessor
    assert family_for_config({}, model_config={"model_type": "sam_hq"}) is SamImageProcessor
