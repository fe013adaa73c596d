"""Granite-Docling parity with transformers 5.23: every output key, both backends, against the class of the same backend.

Ours reads the fixture files itself; transformers gets them decoded (EXIF applied), 16-bit images scaled to
8 bits by value, and converted to RGB with its own ``convert_to_rgb`` (both sides convert: do_convert_rgb).
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
from pixelprep import InvalidArgumentError
from pixelprep.models.granite_docling import capped_grids
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_1023x768.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]
DENSE = {"dense_max_patches": 64, "dense_max_scale": 1.0, "dense_min_aspect": 1.2, "dense_max_aspect": 20.0}


def _theirs(backend: str, **config: Any) -> Any:
    return getattr(transformers, "GraniteDoclingImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


def _compare(got: Any, expected: Any, to_numpy, what: str) -> None:
    assert set(got) == set(expected), f"{what}: output keys {sorted(got)} vs {sorted(expected)}"
    for key in expected:
        if key in ("rows", "cols"):  # nested Python lists per sample in both
            assert got[key] == expected[key], f"{what} {key}: {got[key]} vs {expected[key]}"
            continue
        mine, ref = np.asarray(to_numpy(got[key])), np.asarray(to_numpy(expected[key]))
        assert mine.shape == ref.shape and mine.dtype == ref.dtype, f"{what} {key}: {mine.shape} {mine.dtype} vs {ref.shape} {ref.dtype}"
        if key == "pixel_values":
            assert mine.size == 0 or np.abs(mine - ref).max() <= ATOL, f"{what}: max |diff| {np.abs(mine - ref).max()}"
        else:
            assert np.array_equal(mine, ref), f"{what} {key}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): all outputs."""
    ours, theirs = pixelprep.GraniteDoclingImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, to_numpy, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"fine_route": True}, {"crop_to_patches": False}, {"max_patches": 6}, {"min_patches": 4, "max_patches": 8}, DENSE,
     {"size": {"height": 384, "width": 384}}, {"resample": 2, "do_normalize": False}, {"min_patches": 40, "max_patches": 300}],
    ids=repr,
)
def test_batches_nested_inputs_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, to_numpy) -> None:
    """A flat list (one sample), [[a, b], [c]], and a text-only sample [[], [a]], with the family's call-time options."""
    ours, theirs = pixelprep.GraniteDoclingImageProcessor(backend=backend), _theirs(backend)
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    paths = [str(fixture_path(name)) for name in MIXED]
    for mine, reference, what in [(paths, images, "flat"), ([paths[:2], paths[2:]], [images[:2], images[2:]], "nested"),
                                  ([[], paths[:1]], [[], images[:1]], "empty sample")]:
        _compare(ours(mine, return_tensors="np", **call), theirs(reference, return_tensors="np", **call), to_numpy, f"[{backend}] {what} {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_match(backend: str, fixture_path, load_image) -> None:
    image = load_image(fixture_path("photo_rgb_640x427.jpg"))
    ours, theirs = pixelprep.GraniteDoclingImageProcessor(backend=backend), _theirs(backend)
    for tensors in (None, "pt"):
        got, expected = ours([[image], [image, image]], return_tensors=tensors, fine_route=True), theirs([[image], [image, image]], return_tensors=tensors, fine_route=True)
        for key in expected:
            assert type(got[key]) is type(expected[key]), f"[{backend}] {tensors} {key}"


def test_tile_grid_and_counts_match_transformers() -> None:
    """get_tile_grid / get_number_of_image_patches agree with transformers for many sizes and images_kwargs (the spread rule too)."""
    ours, theirs = pixelprep.GraniteDoclingImageProcessor(backend="pil"), _theirs("pil")
    from transformers.models.granite_docling.image_processing_granite_docling import get_all_supported_aspect_ratios

    for min_tiles, max_tiles in [(1, 32), (1, 300), (4, 8)]:
        assert capped_grids(min_tiles, max_tiles) == get_all_supported_aspect_ratios(min_tiles, max_tiles)
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (512, 512), (427, 640), (2200, 1700), (3024, 4032), (90, 1200), (1, 5000), (10_000, 60), (1000, 3000)]
    sizes += [tuple(int(v) for v in rng.integers(1, 6000, 2)) for _ in range(150)]
    kwargs_list = [None, {"max_patches": 6}, {"min_patches": 4, "max_patches": 8}, {"crop_to_patches": False}, {"max_patches": 1}, DENSE,
                   {**DENSE, "dense_max_scale": 0.0}, {"size": {"height": 384, "width": 384}, "other": 1}]
    for height, width in sizes:
        for kwargs in kwargs_list:
            assert ours.get_tile_grid(height, width, kwargs) == theirs.get_tile_grid(height, width, kwargs), (height, width, kwargs)
            assert ours.get_number_of_image_patches(height, width, kwargs) == theirs.get_number_of_image_patches(height, width, kwargs)
    image = np.zeros((333, 1517, 3), np.uint8)
    assert int(ours(image)["pixel_attention_mask"].sum()) == ours.get_number_of_image_patches(333, 1517)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.GraniteDoclingImageProcessor(backend=backend)
    with pytest.raises(InvalidArgumentError, match=r"size must give 'height' and 'width' \(the tile size\)"):
        ours(np.zeros((56, 56, 3), np.uint8), size={"shortest_edge": 448})
    with pytest.raises(InvalidArgumentError, match="dense_max_patches must be a non-negative integer"):
        ours(np.zeros((56, 56, 3), np.uint8), dense_max_patches=-1)
    with pytest.raises(InvalidArgumentError, match="images is empty"):
        ours([[], []])
    # a 2x5000 strip is one row of 16 tiles (the per-side cap) and a thumbnail, as in transformers
    assert ours(np.zeros((2, 5000, 3), np.uint8))["pixel_values"].shape == (1, 17, 3, 512, 512)


@pytest.mark.parametrize(
    "config", [{"image_processor_type": "GraniteDoclingImageProcessor"}, {"image_processor_type": "GraniteDoclingImageProcessorFast"},
               {"image_processor_type": "GraniteDoclingImageProcessorPil"}, {"model_type": "granite_docling"}], ids=repr,
)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.GraniteDoclingImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    mapped = {t for t, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "GraniteDoclingImageProcessor"}
    assert set(pixelprep.GraniteDoclingImageProcessor.model_types) == mapped


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.GraniteDoclingImageProcessor(backend="pil", **DENSE))
    assert "views: 512x512 tiles, row-major, of the page resized to the grid of 1..32 (64 for pages the spread rule selects) tiles" in text
    assert "(at most 16 per side) closest to its aspect ratio; then, when there are several tiles, a 512x512 thumbnail (last)" in text
    assert "pixel_attention_mask marks the real tiles" in text
    assert "resize to 512x512 (one tile per page)" in repr(pixelprep.GraniteDoclingImageProcessor(backend="pil", crop_to_patches=False))


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.GraniteDoclingImageProcessor(backend="pil", max_patches=8, **DENSE)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    assert type(theirs).__name__ == "GraniteDoclingImageProcessorPil" and type(again) is type(ours)
    image = (np.arange(300 * 1100 * 3) % 253).astype(np.uint8).reshape(300, 1100, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
        assert got["rows"] == expected["rows"] and got["cols"] == expected["cols"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """Outputs are padded per batch: the runner processes pages one at a time; read_row equals the page alone."""
    ours = pixelprep.GraniteDoclingImageProcessor(backend=backend, max_patches=4)
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
