"""Unlimited-OCR parity with transformers 5.23: every output key, both backends.

transformers has only a torchvision class (``UnlimitedOcrImageProcessor``). Our torchvision backend is
compared with it to 1e-5; our pil backend runs the same geometry (same views, counts and grids: compared
exactly) with Pillow's bicubic, whose uint8 result differs from torchvision's antialiased bicubic by
rounding: at most two levels (2/255 each after the 0.5 normalisation) on these photos; PIL_ATOL allows three.
Inputs are converted to RGB on both sides (do_convert_rgb).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
PIL_ATOL = 3 * 2 / 255
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_1023x768.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]
LIST_KEYS = ("num_local_patches", "patches_grid")


@pytest.fixture(scope="module")
def theirs() -> Any:
    return transformers.UnlimitedOcrImageProcessor()


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


def _compare(got: Any, expected: Any, backend: str, to_numpy, what: str) -> None:
    assert set(got) == set(expected), f"{what}: output keys {sorted(got)} vs {sorted(expected)}"
    for key in expected:
        if key in LIST_KEYS:  # Python lists whatever return_tensors says, in both
            assert got[key] == expected[key] and type(got[key]) is type(expected[key]), f"{what} {key}: {got[key]} vs {expected[key]}"
            continue
        mine, ref = np.asarray(to_numpy(got[key])), np.asarray(to_numpy(expected[key]))
        assert mine.shape == ref.shape and mine.dtype == ref.dtype, f"{what} {key}: {mine.shape} {mine.dtype} vs {ref.shape} {ref.dtype}"
        worst = float(np.abs(mine - ref).max())
        assert worst <= (ATOL if backend == "torchvision" else PIL_ATOL), f"{what} {key}: max |diff| {worst}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, theirs, load_image, to_eight_bit, to_numpy) -> None:
    ours = pixelprep.UnlimitedOcrImageProcessor(backend=backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, backend, to_numpy, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"crop_to_patches": False}, {"crop_to_patches": False, "size": {"height": 512, "width": 640}}, {"crop_to_patches": False, "maximum_pad_value": 2000},
     {"min_patches": 1, "max_patches": 6}, {"tile_size": 512}, {"background_color": [0, 50, 100]}, {"resample": 2, "do_normalize": False}],
    ids=repr,
)
def test_batches_nested_inputs_and_call_time_options(backend: str, call: dict, theirs, fixture_path, load_image, to_eight_bit, to_numpy) -> None:
    """A flat batch and [[a, b], [c]] (flattened, as transformers does), with the call-time options (background_color is ignored by both)."""
    ours = pixelprep.UnlimitedOcrImageProcessor(backend=backend)
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    paths = [str(fixture_path(name)) for name in MIXED]
    for mine, reference, what in [(paths, images, "flat"), ([paths[:2], paths[2:]], [images[:2], images[2:]], "nested")]:
        _compare(ours(mine, return_tensors="np", **call), theirs(reference, return_tensors="np", **call), backend, to_numpy, f"[{backend}] {what} {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_match(backend: str, theirs, fixture_path, load_image) -> None:
    image = load_image(fixture_path("photo_rgb_1023x768.jpg"))
    ours = pixelprep.UnlimitedOcrImageProcessor(backend=backend)
    for tensors in (None, "pt"):
        got, expected = ours([image, image], return_tensors=tensors), theirs([image, image], return_tensors=tensors)
        for key in expected:
            assert type(got[key]) is type(expected[key]), f"[{backend}] {tensors} {key}"


def test_number_of_image_patches_matches_transformers(theirs) -> None:
    ours = pixelprep.UnlimitedOcrImageProcessor(backend="pil")
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (640, 640), (641, 300), (427, 640), (2200, 1700), (3024, 4032), (90, 1200), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(200)]
    for height, width in sizes:
        for kwargs in (None, {"max_patches": 6, "min_patches": 1}, {"crop_to_patches": False}, {"tile_size": 512, "other": 1}):
            assert ours.get_number_of_image_patches(height, width, kwargs) == theirs.get_number_of_image_patches(height, width, kwargs), (height, width, kwargs)
    image = np.zeros((1000, 3000, 3), np.uint8)
    got = ours(image)
    assert 1 + got["num_local_patches"][0] == ours.get_number_of_image_patches(1000, 3000) == 13
    assert got["patches_grid"] == theirs(image)["patches_grid"] == [[6, 2]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.UnlimitedOcrImageProcessor(backend=backend)
    with pytest.raises(InvalidImageError, match=r"an image of 5x20000 resized to a long side of 1024 keeps no pixel on its short side"):
        ours(np.zeros((5, 20000, 3), np.uint8))
    with pytest.raises(InvalidArgumentError, match="size must give 'height' and 'width'"):
        ours(np.zeros((56, 56, 3), np.uint8), size={"shortest_edge": 448})
    with pytest.raises(InvalidArgumentError, match="maximum_pad_value must be a positive integer"):
        pixelprep.UnlimitedOcrImageProcessor(maximum_pad_value=0)


@pytest.mark.parametrize(
    "config", [{"image_processor_type": "UnlimitedOcrImageProcessor"}, {"image_processor_type": "UnlimitedOcrImageProcessorFast"},
               {"model_type": "unlimited_ocr"}], ids=repr,
)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.UnlimitedOcrImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    mapped = {t for t, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "UnlimitedOcrImageProcessor"}
    assert set(pixelprep.UnlimitedOcrImageProcessor.model_types) == mapped


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.UnlimitedOcrImageProcessor(backend="pil"))
    assert "local views (images with a side over 640): 640x640 tiles, row-major, of the image resized (bicubic) to the grid of 2..32 tiles" in text
    assert "global view: long side resized (bicubic) to 1024, then centred on a 1024x1024 square of (127, 127, 127)" in text
    small = repr(pixelprep.UnlimitedOcrImageProcessor(backend="pil", crop_to_patches=False, size={"height": 640, "width": 640}))
    assert "global view: resize to 640x640 bicubic (aspect not kept)" in small and "local views" not in small


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.UnlimitedOcrImageProcessor(backend="torchvision", max_patches=9, tile_size=512)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="torchvision")
    image = (np.arange(500 * 1900 * 3) % 253).astype(np.uint8).reshape(500, 1900, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        for key in ("pixel_values", "pixel_values_local"):
            assert np.abs(got[key] - expected[key]).max() <= ATOL
        assert got["patches_grid"] == expected["patches_grid"] and got["num_local_patches"] == expected["num_local_patches"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    ours = pixelprep.UnlimitedOcrImageProcessor(backend=backend, size={"height": 256, "width": 256}, tile_size=128)
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png"]]
    result = run_job(ours, inputs, str(tmp_path), shard_size=2, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 3)
    for line in (tmp_path / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        alone = ours(entry["source"], return_tensors="np")
        row = read_row(tmp_path, entry)
        assert row.keys() == alone.keys()
        for key in row:
            np.testing.assert_array_equal(np.asarray(row[key]), np.asarray(alone[key]))
