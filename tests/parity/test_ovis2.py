"""Ovis2 parity with transformers 5.23: every output key, both backends, against the class of the same backend."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.models.ovis2.image_processing_ovis2 import get_min_tile_covering_grid

import pixelprep
from multiview_checks import (
    assert_outputs_match_transformers,
    assert_return_types_and_array_inputs,
    assert_runner_rows_equal_each_image_alone,
    assert_views_and_counts_equal,
    ramp_image,
    saved_and_reloaded,
)
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.errors import OutputShapeError
from pixelprep.geometry_vlm import covering_grid

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
# thisisiron/Ovis2-*-hf: 448 tiles, tiling on, covering grid
CHECKPOINT = {"size": {"height": 448, "width": 448}, "crop_to_patches": True, "max_patches": 12}
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _theirs(backend: str, **config: Any) -> Any:
    return getattr(transformers, "Ovis2ImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert_views_and_counts_equal(got, expected, "grids", compare, to_numpy, ATOL, what)


@pytest.mark.parametrize("config", [{}, CHECKPOINT], ids=["defaults", "checkpoint"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(config: dict, backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large), untiled defaults and the checkpoint's tiles."""
    ours, theirs = pixelprep.Ovis2ImageProcessor(backend=backend, **config), _theirs(backend, **config)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, compare, to_numpy, f"[{backend}] {image_path.name}")


CALLS = [{}, {"crop_to_patches": False}, {"use_covering_area_grid": False}, {"use_covering_area_grid": False, "min_patches": 3, "max_patches": 6},
         {"max_patches": 4}, {"max_patches": 1}, {"size": {"height": 224, "width": 336}}, {"do_resize": False},
         {"do_normalize": False, "resample": 2}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of five sizes with the tiling options at call time: thumbnail first, then tiles; grids per image."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.Ovis2ImageProcessor(backend=backend, **CHECKPOINT), _theirs(backend, **CHECKPOINT)
    expected = theirs(images, return_tensors="np", **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare(got, expected, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]]: views of every image stacked in order, grids per image."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = pixelprep.Ovis2ImageProcessor(backend=backend, **CHECKPOINT), _theirs(backend, **CHECKPOINT)
    got = ours(images, return_tensors="np")
    _compare(got, theirs(images, return_tensors="np"), compare, to_numpy, f"[{backend}] nested")
    assert got["grids"].shape == (3, 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_and_arrays(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = pixelprep.Ovis2ImageProcessor(backend=backend, **CHECKPOINT), _theirs(backend, **CHECKPOINT)
    # types with "pt" only: with return_tensors=None transformers' class gives lists
    assert_return_types_and_array_inputs(
        ours, theirs, image, lambda got, expected, what: _compare(got, expected, compare, to_numpy, what), f"[{backend}]", return_tensors=("pt",)
    )


def test_covering_grid_matches_transformers() -> None:
    """The covering grid, as transformers scores it, for many sizes, tile sizes and tile budgets."""
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (448, 448), (427, 640), (90, 1200), (1, 5000), (10_000, 60), (896, 449)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(300)]
    for height, width in sizes:
        for tile, max_tiles in ((448, 12), (384, 9), (100, 1), (224, 4)):
            assert covering_grid(height, width, tile, max_tiles) == get_min_tile_covering_grid((height, width), tile, max_tiles), (height, width, tile, max_tiles)
    with pytest.raises(InvalidImageError, match="0x5 has no pixels"):
        covering_grid(0, 5, 448, 12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_crop_image_to_patches_matches_transformers(backend: str, fixture_path, load_image) -> None:
    """The public tiling step on a CHW image (pil) or a BCHW batch (torchvision), both grid rules: views and [rows, cols]."""
    from transformers.image_utils import SizeDict

    image = np.moveaxis(np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")).convert("RGB")), -1, 0).copy()
    ours, theirs = pixelprep.Ovis2ImageProcessor(backend=backend, **CHECKPOINT), _theirs(backend, **CHECKPOINT)
    given = torch.from_numpy(image)[None] if backend == "torchvision" else image
    for covering in (True, False):
        args = dict(min_patches=1, max_patches=12, use_covering_area_grid=covering, resample=3)
        got, got_grid = ours.crop_image_to_patches(given, patch_size={"height": 448, "width": 448}, **args)
        expected, grid = theirs.crop_image_to_patches(given, patch_size=SizeDict(height=448, width=448), **args)
        assert got_grid == grid
        got, expected = (np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64))
        assert got.shape == expected.shape and np.abs(got - expected).max() <= 1, covering  # uint8 views


def test_number_of_image_patches_matches_the_pipeline() -> None:
    """Views per image without an image, from the same grid as the pipeline, for many sizes and call options."""
    ours = pixelprep.Ovis2ImageProcessor(backend="pil", **CHECKPOINT)
    theirs = _theirs("pil", **CHECKPOINT)
    rng = np.random.default_rng(1)
    sizes = [(5, 7), (427, 640), (90, 1200), (2000, 30)] + [tuple(int(v) for v in rng.integers(8, 1500, 2)) for _ in range(6)]
    for kwargs in (None, {"max_patches": 4}, {"use_covering_area_grid": False}, {"crop_to_patches": False}, {"max_patches": 1}):
        for height, width in sizes:
            image = np.zeros((height, width, 3), np.uint8)
            expected = theirs(image, return_tensors="np", **(kwargs or {}))["pixel_values"].shape[0]
            assert ours.get_number_of_image_patches(height, width, kwargs) == expected, (height, width, kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.Ovis2ImageProcessor(backend=backend, **CHECKPOINT)
    with pytest.raises(OutputShapeError, match=r"views of sizes \[\(30, 50\), \(56, 56\)\] cannot be stacked"):
        ours([np.zeros((56, 56, 3), np.uint8), np.zeros((30, 50, 3), np.uint8)], do_resize=False, crop_to_patches=False)
    with pytest.raises(InvalidArgumentError, match=r"size must give 'height' and 'width' \(the tile size\)"):
        ours(np.zeros((56, 56, 3), np.uint8), size={"shortest_edge": 448})
    with pytest.raises(InvalidArgumentError, match="max_patches must be a positive integer"):
        ours(np.zeros((56, 56, 3), np.uint8), max_patches=0)
    with pytest.raises(InvalidArgumentError, match="use_covering_area_grid"):
        ours(np.zeros((56, 56, 3), np.uint8), use_covering_area_grid="often")
    # an extreme aspect ratio is tiled, not refused, as in transformers (the covering grid swapped: a column of tiles)
    assert ours(np.zeros((2, 5000, 3), np.uint8))["grids"].tolist() == [list(get_min_tile_covering_grid((2, 5000), 448, 12))[::-1]] == [[11, 1]]


@pytest.mark.parametrize(
    "config",
    [{"image_processor_type": "Ovis2ImageProcessorFast"}, {"image_processor_type": "Ovis2ImageProcessorPil"},
     {"image_processor_type": "Ovis2ImageProcessor"}, {"model_type": "ovis2"}],
)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.Ovis2ImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "Ovis2ImageProcessor"}
    assert set(pixelprep.Ovis2ImageProcessor.model_types) == theirs


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.Ovis2ImageProcessor(backend="pil", **CHECKPOINT))
    assert "views: when there are several tiles, a 448x448 thumbnail of the whole image first; then 448x448 tiles, row-major" in text
    assert "the fewest of up to 12 tiles keeping over 90% of the image" in text and "grids: (rows, cols) of tiles per image" in text
    assert "closest" in repr(pixelprep.Ovis2ImageProcessor(backend="pil", **CHECKPOINT, use_covering_area_grid=False))
    assert "tiles," not in repr(pixelprep.Ovis2ImageProcessor(backend="pil"))


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.Ovis2ImageProcessor(backend="pil", **CHECKPOINT, use_covering_area_grid=False)
    theirs, again = saved_and_reloaded(ours, tmp_path, "pil")
    assert type(theirs).__name__ == "Ovis2ImageProcessorPil"
    assert theirs.use_covering_area_grid is False
    assert_outputs_match_transformers((ours, again), theirs, ramp_image(300, 700), "grids", ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """Views per image vary: the runner stores each image's outputs; read_row equals the image alone."""
    ours = pixelprep.Ovis2ImageProcessor(backend=backend, **CHECKPOINT)
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "photo_rgb_333x517.jpg"]]
    assert_runner_rows_equal_each_image_alone(ours, inputs, tmp_path)
