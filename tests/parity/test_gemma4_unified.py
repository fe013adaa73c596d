"""Gemma4-Unified parity with transformers 5.23: every output key, both backends.

transformers has only a torchvision class (``Gemma4UnifiedImageProcessor``). Our torchvision backend is
compared with it to 1e-5; our pil backend runs the same geometry (same sizes, positions and token counts:
compared exactly) with Pillow's bicubic, whose uint8 result differs from torchvision's antialiased bicubic
by rounding: a level or two (1/255 each; Gemma4 only rescales) on these photos; PIL_ATOL allows three levels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
PIL_ATOL = 3 / 255
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_1023x768.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


@pytest.fixture(scope="module")
def theirs() -> Any:
    return transformers.Gemma4UnifiedImageProcessor()


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


def _compare(got: Any, expected: Any, backend: str, to_numpy, what: str) -> None:
    assert set(got) == set(expected), f"{what}: output keys {sorted(got)} vs {sorted(expected)}"
    for key in expected:
        mine, ref = np.asarray(to_numpy(got[key])), np.asarray(to_numpy(expected[key]))
        assert mine.shape == ref.shape and mine.dtype == ref.dtype, f"{what} {key}: {mine.shape} {mine.dtype} vs {ref.shape} {ref.dtype}"
        if key == "pixel_values":
            worst = float(np.abs(mine - ref).max())
            assert worst <= (ATOL if backend == "torchvision" else PIL_ATOL), f"{what}: max |diff| {worst}"
        else:
            assert np.array_equal(mine, ref), f"{what} {key}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, theirs, load_image, to_eight_bit, to_numpy) -> None:
    ours = pixelprep.Gemma4UnifiedImageProcessor(backend=backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, backend, to_numpy, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", [{}, {"max_soft_tokens": 70}, {"max_soft_tokens": 1120}, {"pooling_kernel_size": 2}, {"patch_size": 14}], ids=repr)
def test_batches_nested_inputs_and_call_time_options(backend: str, call: dict, theirs, fixture_path, load_image, to_eight_bit, to_numpy) -> None:
    ours = pixelprep.Gemma4UnifiedImageProcessor(backend=backend)
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    paths = [str(fixture_path(name)) for name in MIXED]
    for mine, reference, what in [(paths, images, "flat"), ([paths[:2], paths[2:]], [images[:2], images[2:]], "nested")]:
        _compare(ours(mine, return_tensors="np", **call), theirs(reference, return_tensors="np", **call), backend, to_numpy, f"[{backend}] {what} {call}")


def test_soft_token_counts_are_the_pipeline_geometry(theirs) -> None:
    """get_number_of_soft_tokens / get_number_of_image_patches (merged rows) equal what transformers' class outputs."""
    ours = pixelprep.Gemma4UnifiedImageProcessor(backend="pil")
    for height, width in [(5, 7), (427, 640), (768, 1023), (90, 1200), (1000, 3000)]:
        for call in ({}, {"max_soft_tokens": 70}):
            expected = theirs(np.zeros((height, width, 3), np.uint8), return_tensors="np", **call)["num_soft_tokens_per_image"][0]
            assert ours.get_number_of_soft_tokens(height, width, call) == ours.get_number_of_image_patches(height, width, call) == expected


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.Gemma4UnifiedImageProcessor(backend=backend)
    with pytest.raises(InvalidArgumentError, match="max_soft_tokens"):
        ours(np.zeros((64, 64, 3), np.uint8), max_soft_tokens=100)
    # transformers fails inside its patch merge here
    with pytest.raises(InvalidImageError, match=r"image 0 is 50x50, which does not split into 48x48-pixel blocks"):
        ours(np.zeros((50, 50, 3), np.uint8), do_resize=False)


@pytest.mark.parametrize("config", [{"image_processor_type": "Gemma4UnifiedImageProcessor"}, {"image_processor_type": "Gemma4UnifiedImageProcessorFast"},
                                    {"model_type": "gemma4_unified"}], ids=repr)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.Gemma4UnifiedImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    mapped = {t for t, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "Gemma4UnifiedImageProcessor"}
    assert set(pixelprep.Gemma4UnifiedImageProcessor.model_types) == mapped


def test_repr_shows_the_merged_patches() -> None:
    text = repr(pixelprep.Gemma4UnifiedImageProcessor(backend="pil"))
    assert "merge each 3x3 block of 16x16 patches into one patch" in text
    assert "48x48 patches, vectors (p, p, C)" in text and "pad each image's patches with 0 to 280 rows" in text
