"""Molmo2 parity with transformers 5.23: every output key, both backends.

transformers has only a torchvision class (``Molmo2ImageProcessor``). Our torchvision backend is compared
with it to 1e-5; our pil backend runs the same geometry (views, counts, pooling indices, grids: compared
exactly) with the NumPy bilinear interpolation on floats. Both round the float result back to 0-255, so a
pixel can differ only where float32 rounding of the interpolation lands on the other side of a .5: one
level, 1/255 divided by the std (0.2 is the smallest std these tests use). PIL_ATOL allows that one level. transformers' class never
converts to RGB itself here in a way that handles gray/RGBA input, so it gets the image converted with its
own ``convert_to_rgb``, as pixelprep converts because the mean has 3 values.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.geometry_vlm import overlap_tiling

from multiview_checks import assert_runner_rows_equal_each_image_alone

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
PIL_ATOL = 1 / 255 / 0.2 + 1e-6
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_1023x768.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]
KEYS = {"pixel_values", "image_token_pooling", "image_grids", "image_num_crops"}


@pytest.fixture(scope="module")
def theirs() -> Any:
    return transformers.Molmo2ImageProcessor()


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


def _compare(got: Any, expected: Any, backend: str, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == KEYS, f"{what}: output keys {sorted(got)} vs {sorted(expected)}"
    for key in expected:
        mine, ref = np.asarray(to_numpy(got[key])), np.asarray(to_numpy(expected[key]))
        assert mine.shape == ref.shape and mine.dtype == ref.dtype, f"{what} {key}: {mine.shape} {mine.dtype} vs {ref.shape} {ref.dtype}"
        if key == "pixel_values":
            worst = float(np.abs(mine.astype(np.float64) - ref).max()) if mine.size else 0.0
            assert worst <= (ATOL if backend == "torchvision" else PIL_ATOL), f"{what}: max |diff| {worst}"
        else:
            assert np.array_equal(mine, ref), f"{what} {key}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, theirs, load_image, to_eight_bit, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large photos): all outputs."""
    ours = pixelprep.Molmo2ImageProcessor(backend=backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = ours(str(image_path), return_tensors="np")
    _compare(got, expected, backend, to_numpy, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"max_crops": 3}, {"overlap_margins": [2, 3]}, {"overlap_margins": [0, 0]}, {"pooling_size": [3, 2]}, {"size": {"height": 224, "width": 224}},
     {"patch_size": 16, "size": {"height": 384, "width": 384}}, {"do_normalize": False}, {"image_mean": [0.4, 0.5, 0.6], "image_std": [0.2, 0.3, 0.4]},
     {"max_crops": 12, "overlap_margins": [1, 1]}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, theirs, fixture_path, load_image, to_eight_bit, to_numpy) -> None:
    """A batch of five sizes (7x5 and 1200x90 included) with the family's call-time options."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours = pixelprep.Molmo2ImageProcessor(backend=backend)
    _compare(ours(images, return_tensors="np", **call), theirs(images, return_tensors="np", **call), backend, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs(backend: str, theirs, fixture_path, load_image, to_numpy) -> None:
    """[[a, b], [c]]: transformers flattens the samples; pooling indices keep counting over every image."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_1023x768.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[convert_to_rgb(load_image(fixture_path(n))) for n in sample] for sample in names]
    ours = pixelprep.Molmo2ImageProcessor(backend=backend)
    _compare(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), backend, to_numpy, f"[{backend}] nested")


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_match(backend: str, theirs, fixture_path, load_image) -> None:
    image = convert_to_rgb(load_image(fixture_path("photo_rgb_333x517.jpg")))
    ours = pixelprep.Molmo2ImageProcessor(backend=backend)
    got, expected = ours(image, return_tensors="pt"), theirs(image, return_tensors="pt")
    for key in KEYS:
        assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, f"[{backend}] {key}"


def test_tiling_and_token_counts_match_transformers(theirs) -> None:
    """select_tiling, get_image_grid_and_crops and get_number_of_image_patches for many sizes and settings (small images included)."""
    from transformers.models.molmo2.image_processing_molmo2 import select_tiling

    ours = pixelprep.Molmo2ImageProcessor(backend="pil")
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (112, 112), (113, 500), (427, 640), (2200, 1700), (90, 1200), (1, 5000), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 4000, 2)) for _ in range(200)]
    for height, width in sizes:
        for window, crops in [(154, 8), (266, 4), (200, 12)]:
            assert overlap_tiling(height - 112, width - 112, window, crops) == select_tiling(height - 112, width - 112, window, crops)
        for kwargs in (None, {"max_crops": 4, "other": 1}, {"overlap_margins": [1, 2], "pooling_size": [3, 3]}, {"size": {"height": 224, "width": 224}}):
            assert ours.get_image_grid_and_crops(height, width, kwargs) == tuple(theirs.get_image_grid_and_crops(height, width, kwargs))
            assert ours.get_number_of_image_patches(height, width, kwargs) == theirs.get_number_of_image_patches(height, width, kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_token_counts_are_the_pipeline_geometry(backend: str) -> None:
    """get_image_grid_and_crops is what the pipeline outputs: the grid, the view count, and the pooled tokens (rows of image_token_pooling)."""
    ours = pixelprep.Molmo2ImageProcessor(backend=backend)
    for height, width in [(5, 7), (427, 640), (90, 1200), (1500, 700)]:
        got = ours(np.full((height, width, 3), 128, np.uint8), return_tensors="np")
        grid, views = ours.get_image_grid_and_crops(height, width)
        assert got["image_grids"].tolist() == [grid] and got["image_num_crops"].tolist() == [views] == [got["pixel_values"].shape[0]]
        assert got["image_token_pooling"].shape[0] == ours.get_number_of_image_patches(height, width)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_settings_raise_our_errors(backend: str) -> None:
    """transformers raises a bare ValueError for a non-square size and fails deep inside for the others."""
    ours = pixelprep.Molmo2ImageProcessor(backend=backend)
    image = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match=r"Molmo2 needs a square size"):
        ours(image, size={"height": 224, "width": 336})
    with pytest.raises(InvalidArgumentError, match=r"overlap_margins \[14, 14\] leave no window in a crop of 27 patches"):
        ours(image, overlap_margins=[14, 14])
    with pytest.raises(InvalidArgumentError, match=r"size \(380\) must be a multiple of patch_size \(14\)"):
        ours(image, size={"height": 380, "width": 380})
    with pytest.raises(InvalidArgumentError, match="pooling_size must be two positive integers"):
        ours(image, pooling_size=[2])
    with pytest.raises(InvalidArgumentError, match="max_crops must be a positive integer"):
        pixelprep.Molmo2ImageProcessor(max_crops=0)


@pytest.mark.parametrize("config", [{"image_processor_type": "Molmo2ImageProcessor"}, {"image_processor_type": "Molmo2ImageProcessorFast"},
                                    {"image_processor_type": "Molmo2ImageProcessorPil"}, {"model_type": "molmo2"}], ids=repr)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.Molmo2ImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    mapped = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "Molmo2ImageProcessor"}
    assert set(pixelprep.Molmo2ImageProcessor.model_types) == mapped


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.Molmo2ImageProcessor(backend="pil"))
    assert "global view: resize to 378x378 bilinear on floats, no antialiasing" in text
    assert "up to max_crops=8 overlapping 378x378 crops (margins 4+4 patches of 14)" in text
    assert "patch indices in 2x2 windows" in text and "14x14 patches, vectors (p, p, C)" in text


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.Molmo2ImageProcessor(backend="torchvision", max_crops=4, overlap_margins=[2, 2])
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    assert theirs.max_crops == 4 and list(theirs.overlap_margins) == [2, 2]
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="torchvision")
    image = (np.arange(700 * 1300 * 3) % 253).astype(np.uint8).reshape(700, 1300, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
        assert np.array_equal(got["image_token_pooling"], expected["image_token_pooling"])
    assert json.loads((tmp_path / "preprocessor_config.json").read_text())["overlap_margins"] == [2, 2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """Views per image vary: the runner processes images one at a time; read_row equals the image alone."""
    ours = pixelprep.Molmo2ImageProcessor(backend=backend)
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_1023x768.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png"]]
    assert_runner_rows_equal_each_image_alone(ours, inputs, tmp_path)


def test_torch_input_on_torchvision(theirs, fixture_path, load_image, to_numpy) -> None:
    image = torch.from_numpy(np.asarray(load_image(fixture_path("photo_rgb_1023x768.jpg"))).copy()).permute(2, 0, 1)
    ours = pixelprep.Molmo2ImageProcessor(backend="torchvision")
    _compare(ours(image, return_tensors="np"), theirs(image, return_tensors="np"), "torchvision", to_numpy, "torch input")
