"""Video-LLaVA's image processor: parity with transformers 5.23 on both backends.

transformers has one (pil-based, legacy) class: our pil backend is compared with it, our torchvision
backend with transformers' torchvision CLIP class on the same config (the same pipeline; README).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


@pytest.fixture(autouse=True, scope="module")
def _quiet() -> None:
    transformers.logging.set_verbosity_error()  # the legacy output key logs a deprecation


def _theirs(backend: str, **config: Any) -> Any:
    """transformers' class of the backend: its Video-LLaVA class is pil-based; on torchvision, its CLIP class does the same steps."""
    return transformers.VideoLlavaImageProcessor(**config) if backend == "pil" else transformers.CLIPImageProcessor(**config)


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    ours = pixelprep.VideoLlavaImageProcessor(backend=backend)
    reference = _reference(load_image(image_path), to_eight_bit)
    theirs, legacy = _theirs(backend), {"return_legacy_image_output": False} if backend == "pil" else {}
    if backend == "pil" and reference.size == (1, 1):
        # transformers' legacy class cannot tell a 1x1 image's channel axis; its CLIP pil class runs the same steps
        with pytest.raises(ValueError, match="mean must have 1 elements"):
            theirs(reference, **legacy)
        theirs, legacy = transformers.CLIPImageProcessorPil(), {}
    expected = theirs(reference, return_tensors="np", **legacy)
    got = ours(str(image_path), return_tensors="np", return_legacy_image_output=False)
    assert set(got) == {"pixel_values"}
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL, what=f"[{backend}] {image_path.name}")


CALLS = [{}, {"size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 336}}, {"do_center_crop": False}, {"resample": 2},
         {"do_normalize": False}, {"size": {"height": 100, "width": 150}}]


@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_legacy_key_and_call_time_options(call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """The legacy pixel_values_images key by default, pixel_values with return_legacy_image_output=False; a mixed batch."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in MIXED]
    ours, theirs = pixelprep.VideoLlavaImageProcessor(backend="pil"), transformers.VideoLlavaImageProcessor()
    for legacy, key in ((True, "pixel_values_images"), (False, "pixel_values")):
        got, expected = ours(images, return_legacy_image_output=legacy, **call), theirs(images, return_legacy_image_output=legacy, **call)
        assert set(got) == set(expected) == {key}
        compare(got[key], to_numpy(expected[key]), atol=ATOL, what=f"{call} legacy={legacy}")
    got = pixelprep.VideoLlavaImageProcessor(backend="torchvision")(images, **call)
    assert isinstance(got["pixel_values_images"], torch.Tensor if call.get("do_center_crop", True) else list)
    compare(got["pixel_values_images"], to_numpy(transformers.CLIPImageProcessor()(images, return_tensors=None, **call)["pixel_values"]), atol=ATOL, what=f"[torchvision] {call}")


@pytest.mark.parametrize(
    "config", [{"image_processor_type": "VideoLlavaImageProcessor"}, {"image_processor_type": "VideoLlavaImageProcessorFast"}, {"model_type": "video_llava"}]
)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.VideoLlavaImageProcessor
    assert type(pixelprep.AutoImageProcessor.from_config({"image_processor_type": "CLIPImageProcessor"})) is pixelprep.CLIPImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {t for t, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if "VideoLlavaImageProcessor" in classes.values()}
    assert set(pixelprep.VideoLlavaImageProcessor.model_types) == theirs


def test_repr_and_saved_config(tmp_path) -> None:
    ours = pixelprep.VideoLlavaImageProcessor(backend="pil")
    assert "output named pixel_values_images (return_legacy_image_output=False: pixel_values)" in repr(ours)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    assert type(theirs).__name__ == "VideoLlavaImageProcessor" and "return_legacy_image_output" not in ours.to_dict()
    image = (np.arange(300 * 700 * 3) % 253).astype(np.uint8).reshape(300, 700, 3)
    got, expected = ours(image, return_tensors="np"), theirs(image, return_tensors="np")
    assert np.abs(got["pixel_values_images"] - expected["pixel_values_images"]).max() <= ATOL
