"""PerceptionLM parity with transformers 5.23, whose only class is the torchvision one.

The torchvision backend is compared with it to 1e-5. The pil backend runs the same geometry (same
views, same count, same shapes) with Pillow's bicubic instead of torchvision's: the two resize filters
differ by a few levels on some pixels (transformers' own two backends differ that much on every family
with a bicubic resize, FAMILIES-SPEC A.1), so pil is held to at most 6 levels anywhere (0.047 after the
0.5/0.5 normalize) and 0.002 on average.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from multiview_checks import assert_pil_close, assert_runner_rows_equal_each_image_alone
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.errors import OutputShapeError
from pixelprep.geometry_vlm import fitting_canvas_grid

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _theirs(**config: Any) -> Any:
    transformers.logging.set_verbosity_error()
    return transformers.PerceptionLMImageProcessor(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _per_image(value: Any, to_numpy) -> list[np.ndarray]:
    return [np.asarray(to_numpy(item)) for item in value]


def _compare(got: Any, expected: Any, backend: str, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == {"pixel_values"}, f"{what}: output keys {sorted(got)}"
    ours, theirs = _per_image(got["pixel_values"], to_numpy), _per_image(expected["pixel_values"], to_numpy)
    assert [a.shape for a in ours] == [b.shape for b in theirs], f"{what}: shapes"
    for index, (a, b) in enumerate(zip(ours, theirs)):
        if backend == "torchvision":
            compare(a[None], b[None], atol=ATOL, what=f"{what} image {index}")
        else:
            assert_pil_close(a, b, f"{what} image {index}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): the thumbnail and up to 36 tiles."""
    ours, theirs = pixelprep.PerceptionLMImageProcessor(backend=backend), _theirs()
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = ours(str(image_path), return_tensors="np")
    assert got["pixel_values"].shape == expected["pixel_values"].shape
    _compare(got, expected, backend, compare, to_numpy, f"[{backend}] {image_path.name}")


CALLS = [{}, {"vision_input_type": "vanilla"}, {"tile_size": 224}, {"max_num_tiles": 1}, {"max_num_tiles": 4},
         {"do_resize": False}, {"do_normalize": False, "resample": 2}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Five sizes at once, with call-time options: images with different view counts come back as a list, as in transformers.

    A call-time max_num_tiles of 4 still tiles with the processor's 36 (transformers reads its own value for the canvases).
    """
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.PerceptionLMImageProcessor(backend=backend), _theirs()
    expected = theirs(images, **call)
    got = ours([str(fixture_path(name)) for name in MIXED], **call)
    _compare(got, expected, backend, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_and_a_smaller_canvas_budget(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]] is three images; a processor built with max_num_tiles=4 makes at most 5 views each."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = pixelprep.PerceptionLMImageProcessor(backend=backend, max_num_tiles=4), _theirs(max_num_tiles=4)
    got = ours(images)
    _compare(got, theirs(images), backend, compare, to_numpy, f"[{backend}] nested")
    assert [len(views) for views in got["pixel_values"]] == [ours.get_number_of_image_patches(*np.asarray(image).shape[:2]) for image in sum(images, [])]


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_and_arrays(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = pixelprep.PerceptionLMImageProcessor(backend=backend), _theirs()
    got, expected = ours([image, image], return_tensors="pt"), theirs([image, image], return_tensors="pt")
    assert type(got["pixel_values"]) is type(expected["pixel_values"]) and got["pixel_values"].dtype == expected["pixel_values"].dtype
    assert got["pixel_values"].shape == expected["pixel_values"].shape == (2, 36, 3, 448, 448)
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] {type(value)}")


def test_canvas_grid_matches_transformers() -> None:
    """The canvas search (fit without shrinking, else closest aspect) for many sizes and tile budgets."""
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (7, 5), (448, 448), (449, 448), (427, 640), (90, 1200), (1, 5000), (10_000, 60), (2688, 2688), (2689, 2688)]
    sizes += [tuple(int(v) for v in rng.integers(1, 6000, 2)) for _ in range(300)]
    for max_tiles in (36, 12, 4, 2):
        theirs = _theirs(max_num_tiles=max_tiles)
        for tile in (448, 224):
            for height, width in sizes:
                cols, rows = (theirs._fit_image_to_canvas(img_width=width, img_height=height, tile_size=tile)
                              or theirs._find_closest_aspect_ratio(img_width=width, img_height=height, tile_size=tile))
                assert fitting_canvas_grid(height, width, tile, max_tiles) == (rows, cols), (height, width, tile, max_tiles)
    assert fitting_canvas_grid(5000, 3, 448, 1) == (1, 1)
    with pytest.raises(InvalidImageError, match="0x5 has no pixels"):
        fitting_canvas_grid(0, 5, 448, 36)


def test_number_of_image_patches_matches_transformers() -> None:
    """Views per image without an image equal the views transformers makes, for sizes and call options."""
    ours, theirs = pixelprep.PerceptionLMImageProcessor(backend="pil"), _theirs()
    rng = np.random.default_rng(1)
    sizes = [(5, 7), (427, 640), (90, 1200), (2000, 30)] + [tuple(int(v) for v in rng.integers(8, 1200, 2)) for _ in range(4)]
    for kwargs in (None, {"vision_input_type": "vanilla"}, {"tile_size": 224}, {"max_num_tiles": 1}, {"do_resize": False}):
        for height, width in sizes:
            expected = theirs(np.zeros((height, width, 3), np.uint8), return_tensors="pt", **(kwargs or {}))["pixel_values"].shape[1]
            assert ours.get_number_of_image_patches(height, width, kwargs) == expected, (height, width, kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.PerceptionLMImageProcessor(backend=backend)
    mixed = [np.zeros((448, 448, 3), np.uint8), np.zeros((90, 1200, 3), np.uint8)]
    with pytest.raises(OutputShapeError):
        ours(mixed, return_tensors="pt", do_resize=False)  # images of two sizes cannot be one tensor (transformers: a ValueError)
    assert [v.shape[-2:] for v in ours(mixed, do_resize=False)["pixel_values"]] == [(448, 448), (90, 1200)]
    assert [len(v) for v in ours([mixed[1], np.zeros((7, 5, 3), np.uint8)])["pixel_values"]] == [37, 36]
    with pytest.raises(InvalidArgumentError, match="tile_size must be a positive integer"):
        ours(mixed[0], tile_size=0)
    with pytest.raises(InvalidArgumentError, match="vision_input_type must be a string"):
        ours(mixed[0], vision_input_type=3)
    with pytest.raises(InvalidArgumentError, match="max_num_tiles must be a positive integer"):
        pixelprep.PerceptionLMImageProcessor(max_num_tiles=0)
    # an extreme aspect ratio is tiled along its long side, not refused, as in transformers
    extreme = np.zeros((2, 5000, 3), np.uint8)
    assert ours(extreme)["pixel_values"][0].shape == _theirs()(extreme, return_tensors="pt")["pixel_values"][0].shape == (35, 3, 448, 448)


@pytest.mark.parametrize(
    "config",
    [{"image_processor_type": "PerceptionLMImageProcessorFast"}, {"image_processor_type": "PerceptionLMImageProcessor"}, {"model_type": "perception_lm"}],
)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.PerceptionLMImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {t for t, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "PerceptionLMImageProcessor"}
    assert set(pixelprep.PerceptionLMImageProcessor.model_types) == theirs


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.PerceptionLMImageProcessor(backend="pil"))
    assert "views: a 448x448 thumbnail (squashed, bicubic)" in text
    assert "then 448x448 tiles, row-major, of the image squashed (bicubic) onto the canvas of up to 36 tiles" in text
    assert "(images, views, C, H, W); a list of per-image (views, C, H, W) arrays when images differ" in text
    assert "tiles" not in repr(pixelprep.PerceptionLMImageProcessor(backend="pil", vision_input_type="vanilla")).split("views:")[1].split("\n")[0]


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.PerceptionLMImageProcessor(backend="torchvision", max_num_tiles=9, tile_size=336)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="torchvision")
    assert type(theirs).__name__ == "PerceptionLMImageProcessor" and type(again) is type(ours)
    assert (theirs.max_num_tiles, theirs.tile_size) == (9, 336)
    image = (np.arange(300 * 700 * 3) % 253).astype(np.uint8).reshape(300, 700, 3)
    expected = theirs(image, return_tensors="np")["pixel_values"]
    for processor in (ours, again):
        got = processor(image, return_tensors="np")["pixel_values"]
        assert got.shape == expected.shape and np.abs(got - expected).max() <= ATOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """Views per image vary: the runner stores each image's outputs; read_row equals the image alone."""
    ours = pixelprep.PerceptionLMImageProcessor(backend=backend, max_num_tiles=4)
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "photo_rgb_333x517.jpg"]]
    assert_runner_rows_equal_each_image_alone(ours, inputs, tmp_path)
