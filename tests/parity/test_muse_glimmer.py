"""MuseGlimmer (Muse Spark) parity with transformers 5.23, whose only class is the torchvision one.

The torchvision backend is compared with it to 1e-5. The pil backend runs the same geometry (sizes and
patch grids, exactly) with Pillow's Lanczos instead of the tensor resize transformers runs; the filters
differ by a few levels on some pixels of a resized image (as transformers' own two backends do on every
resizing family, FAMILIES-SPEC A.1). Lanczos' negative lobes make it the widest gap of the filters: up to
9 levels (measured) where one side is enlarged while the other shrinks (the 200x131 gray fixture to
126x210), 1-2 levels elsewhere; so pil is held to 10 levels anywhere and multiview_checks' 0.002 on average.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.models.muse_glimmer.image_processing_muse_glimmer import smart_resize

import pixelprep
from multiview_checks import (
    PIL_MEAN,
    assert_outputs_match_transformers,
    assert_runner_rows_equal_each_image_alone,
    ramp_image,
    saved_and_reloaded,
    transformers_model_types,
)
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.geometry_vlm import token_capped_aspect_grid

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
LANCZOS_PIL_MAX = 10 / 255 / 0.5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare(got: Any, expected: Any, backend: str, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == {"pixel_values", "image_grid_thw"}, f"{what}: output keys {sorted(got)}"
    grids, expected_grids = to_numpy(got["image_grid_thw"]), to_numpy(expected["image_grid_thw"])
    assert grids.dtype == expected_grids.dtype == np.int64 and np.array_equal(grids, expected_grids), f"{what}: image_grid_thw"
    ours, theirs = to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"])
    assert ours.shape == theirs.shape, f"{what}: {ours.shape} vs {theirs.shape}"
    if backend == "torchvision":
        compare(ours[None], theirs[None], atol=ATOL, what=what)
    else:
        diff = np.abs(ours.astype(np.float64) - theirs)
        assert diff.max() <= LANCZOS_PIL_MAX and diff.mean() <= PIL_MEAN, f"{what}: max {diff.max()}, mean {diff.mean()}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): patches and image_grid_thw."""
    ours, theirs = pixelprep.MuseGlimmerImageProcessor(backend=backend), transformers.MuseGlimmerImageProcessor()
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, backend, compare, to_numpy, f"[{backend}] {image_path.name}")


CALLS = [{}, {"max_image_tokens": 300}, {"max_image_tokens": 1}, {"patch_size": 16, "merge_size": 1, "temporal_patch_size": 1},
         {"merge_size": 3, "temporal_patch_size": 3}, {"do_normalize": False, "resample": 3}, {"resample": 2, "max_image_tokens": 64}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Five sizes at once with the token cap, patch, merge and temporal sizes and the filter at call time."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    expected = transformers.MuseGlimmerImageProcessor()(images, return_tensors="np", **call)
    got = pixelprep.MuseGlimmerImageProcessor(backend=backend)([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare(got, expected, backend, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_return_types_and_unresized(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = pixelprep.MuseGlimmerImageProcessor(backend=backend, max_image_tokens=500), transformers.MuseGlimmerImageProcessor(max_image_tokens=500)
    _compare(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] nested")
    got, expected = ours(images, return_tensors="pt"), theirs(images, return_tensors="pt")
    for key in expected:
        assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, key
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] {type(value)}")
    # without a resize nothing is filtered: pil is exact too
    aligned = (np.arange(56 * 84 * 3) % 251).astype(np.uint8).reshape(56, 84, 3)
    got, expected = ours(aligned, do_resize=False, return_tensors="np"), theirs(aligned, do_resize=False, return_tensors="np")
    assert np.array_equal(got["image_grid_thw"], expected["image_grid_thw"]) and np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL


def test_geometry_patch_count_and_patchify_match_transformers() -> None:
    """The resize target for many sizes and caps, get_number_of_image_patches and patchify, as transformers'."""
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (7, 5), (27, 29), (28, 28), (427, 640), (90, 1200), (1, 50_000), (10_000, 60), (8000, 8000)]
    sizes += [tuple(int(v) for v in rng.integers(1, 9000, 2)) for _ in range(300)]
    for block, cap in ((28, 4096), (16, 300), (28, 1), (32, 7), (14, 16384)):
        for height, width in sizes:
            assert token_capped_aspect_grid(height, width, block, cap) == smart_resize(height, width, block, cap), (height, width, block, cap)
    ours, theirs = pixelprep.MuseGlimmerImageProcessor(), transformers.MuseGlimmerImageProcessor()
    for height, width in sizes[:80]:
        for kwargs in ({}, {"max_image_tokens": 500}, {"patch_size": 16, "merge_size": 1}, {"merge_size": 3, "other": 1}):
            assert ours.get_number_of_image_patches(height, width, kwargs) == theirs.get_number_of_image_patches(height, width, kwargs), (height, width, kwargs)
    image = np.zeros((333, 517, 3), np.uint8)
    assert ours(image)["pixel_values"].shape[0] == ours.get_number_of_image_patches(333, 517)
    batch = torch.rand(2, 3, 56, 84)
    for got, expected in zip(ours.patchify(batch, 14, 2), theirs.patchify(batch, 14, 2)):
        assert torch.equal(torch.as_tensor(got), torch.as_tensor(expected))
    got, _, _ = ours.patchify(batch.numpy(), 14, 2)
    assert np.array_equal(got, theirs.patchify(batch, 14, 2)[0].numpy())


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.MuseGlimmerImageProcessor(backend=backend)
    with pytest.raises(InvalidImageError, match=r"an image of 30x50 does not split into 14x14 patches"):
        ours(np.zeros((30, 50, 3), np.uint8), do_resize=False)
    with pytest.raises(InvalidArgumentError, match="max_image_tokens must be a positive integer"):
        ours(np.zeros((56, 56, 3), np.uint8), max_image_tokens=0)
    # an extreme aspect ratio or a one-pixel image is fitted to the grid, not refused, as in transformers
    for extreme in (np.zeros((2, 50_000, 3), np.uint8), np.zeros((1, 1, 3), np.uint8)):
        assert ours(extreme)["image_grid_thw"].tolist() == transformers.MuseGlimmerImageProcessor()(extreme, return_tensors="pt")["image_grid_thw"].tolist()


@pytest.mark.parametrize("config", [{"image_processor_type": "MuseGlimmerImageProcessorFast"}, {"image_processor_type": "MuseGlimmerImageProcessor"},
                                    {"model_type": "muse_glimmer"}, {"model_type": "muse_spark"}])
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.MuseGlimmerImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    assert set(pixelprep.MuseGlimmerImageProcessor.model_types) == transformers_model_types("MuseGlimmerImageProcessor")


def test_repr_shows_the_patch_grid() -> None:
    text = repr(pixelprep.MuseGlimmerImageProcessor(backend="pil"))
    assert "resize to the 28-pixel block grid nearest the aspect with at most 4096 blocks lanczos" in text
    assert "14x14 patches, each repeated over 2 frames, vectors (T, C, p, p)" in text and "image_grid_thw (1, rows, cols)" in text


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.MuseGlimmerImageProcessor(backend="torchvision", max_image_tokens=1000)
    theirs, again = saved_and_reloaded(ours, tmp_path, "torchvision")
    assert type(theirs).__name__ == "MuseGlimmerImageProcessor" and theirs.max_image_tokens == 1000
    assert_outputs_match_transformers((ours, again), theirs, ramp_image(600, 900), "image_grid_thw", ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_splits_batches_and_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    ours = pixelprep.MuseGlimmerImageProcessor(backend=backend, max_image_tokens=400)
    assert ours.can_split_batch(ours.resolve())
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "photo_rgb_333x517.jpg"]]
    assert_runner_rows_equal_each_image_alone(ours, inputs, tmp_path)
