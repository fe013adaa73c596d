"""Cosmos3-Edge parity with transformers 5.23: every output key, both backends, same-backend classes.

A declaration on GLM-4.1V (its smart_resize, merge-block patches) with ``(p, p, C, T)`` vectors. Ours
reads the fixture files itself; transformers gets them decoded (EXIF applied) and, for 16-bit images,
scaled to 8 bits by value as pixelprep documents.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from multiview_checks import (
    assert_outputs_match_transformers,
    assert_patch_counts_match_transformers,
    assert_runner_rows_equal_each_image_alone,
    ramp_image,
    saved_and_reloaded,
    transformers_model_types,
)

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _pair(backend: str, **config: Any) -> tuple[Any, Any]:
    theirs = transformers.Cosmos3EdgeImageProcessorPil if backend == "pil" else transformers.Cosmos3EdgeImageProcessor
    return pixelprep.Cosmos3EdgeImageProcessor(backend=backend, **config), theirs(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare_outputs(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == {"pixel_values", "image_grid_thw"}, f"{what}: output keys {sorted(got)}"
    assert np.array_equal(to_numpy(got["image_grid_thw"]), to_numpy(expected["image_grid_thw"])), f"{what}: image_grid_thw"
    assert to_numpy(got["image_grid_thw"]).dtype == np.int64
    compare(to_numpy(got["pixel_values"])[None], to_numpy(expected["pixel_values"])[None], atol=ATOL, what=what)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5 enlarged first, 1200x90, ...): both outputs."""
    ours, theirs = _pair(backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare_outputs(ours(str(image_path), return_tensors="np"), expected, compare, to_numpy, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"size": {"shortest_edge": 12544, "longest_edge": 200_000}}, {"patch_size": 14, "merge_size": 2}, {"temporal_patch_size": 2},
     {"patch_size": 16, "merge_size": 1, "temporal_patch_size": 3}, {"do_normalize": False}, {"resample": 2}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of five sizes (7x5 and 1200x90 included) with call-time budgets and patch settings (a temporal repeat included)."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = _pair(backend)
    expected = theirs(images, return_tensors="np", **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_and_construction_settings(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]]: transformers flattens the samples, so does the flat packer; settings given at construction."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    for config in ({}, {"size": {"shortest_edge": 12544, "longest_edge": 300_000}, "patch_size": 14, "image_mean": [0.4, 0.5, 0.6]}):
        ours, theirs = _pair(backend, **config)
        _compare_outputs(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), compare, to_numpy, f"[{backend}] {config}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_arrays_tensors_patchify_and_return_types(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = _pair(backend)
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare_outputs(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), compare, to_numpy, f"[{backend}] {type(value)}")
    for tensors in (None, "pt"):
        got, expected = ours(image, return_tensors=tensors), theirs(image, return_tensors=tensors)
        for key in expected:
            assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, f"[{backend}] {tensors} {key}"
    batch = torch.rand(2, 3, 64, 96)
    mine, rows, cols = ours.patchify(batch, 16, 2, 2)
    reference = transformers.Cosmos3EdgeImageProcessor().patchify(batch, 16, 2, 2)
    assert (rows, cols) == reference[1:] and torch.equal(mine, reference[0])


def test_number_of_image_patches_matches_transformers() -> None:
    """get_number_of_image_patches agrees with transformers for many sizes and images_kwargs, and with the real output."""
    ours, theirs = _pair("pil")
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (31, 300), (32, 32), (427, 640), (2200, 1700), (3024, 4032), (90, 1200), (1, 200), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 6000, 2)) for _ in range(200)]
    kwargs_list = [None, {"size": {"shortest_edge": 100_000, "longest_edge": 400_000}}, {"patch_size": 14, "merge_size": 2}, {"do_resize": False, "other": 1}]
    assert_patch_counts_match_transformers(ours, theirs, sizes, kwargs_list)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    """Where transformers raises a ValueError or a reshape error from deep inside, ours names the image and the limit."""
    ours, _ = _pair(backend)
    with pytest.raises(InvalidImageError, match=r"40x9000 .*aspect ratio of 225.0, over the limit of 200"):
        ours(np.zeros((40, 9000, 3), np.uint8))
    with pytest.raises(InvalidImageError, match=r"image 1 is 30x50, .*32x32-pixel blocks"):
        ours([np.zeros((64, 64, 3), np.uint8), np.zeros((30, 50, 3), np.uint8)], do_resize=False)
    with pytest.raises(InvalidArgumentError, match="shortest_edge' and 'longest_edge"):
        ours(np.zeros((64, 64, 3), np.uint8), size={"height": 64, "width": 64})
    with pytest.raises(InvalidArgumentError, match="merge_size must be a positive integer"):
        ours(np.zeros((64, 64, 3), np.uint8), merge_size=0)


@pytest.mark.parametrize("config", [{"image_processor_type": "Cosmos3EdgeImageProcessor"}, {"image_processor_type": "Cosmos3EdgeImageProcessorFast"},
                                    {"image_processor_type": "Cosmos3EdgeImageProcessorPil"}, {"model_type": "cosmos3_edge"}], ids=repr)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.Cosmos3EdgeImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    assert set(pixelprep.Cosmos3EdgeImageProcessor.model_types) == transformers_model_types("Cosmos3EdgeImageProcessor")


def test_repr_shows_the_rule_and_patch_grid() -> None:
    text = repr(pixelprep.Cosmos3EdgeImageProcessor(backend="pil"))
    assert "multiples of 32, 1 frames x 65536..16777216 pixels, sides under 32 enlarged first" in text
    assert "16x16 patches in 2x2 blocks, vectors (p, p, C)" in text and "image_grid_thw" in text
    assert "vectors (p, p, C, T)" in repr(pixelprep.Cosmos3EdgeImageProcessor(backend="pil", temporal_patch_size=2))


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.Cosmos3EdgeImageProcessor(backend="pil", size={"shortest_edge": 12544, "longest_edge": 400_000})
    theirs, again = saved_and_reloaded(ours, tmp_path, "pil")
    assert type(theirs).__name__ == "Cosmos3EdgeImageProcessorPil"
    assert_outputs_match_transformers((ours, again), theirs, ramp_image(300, 500), "image_grid_thw", ATOL)
    assert json.loads((tmp_path / "preprocessor_config.json").read_text())["patch_size"] == 16


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(tmp_path, backend: str, fixture_path) -> None:
    processor = pixelprep.Cosmos3EdgeImageProcessor(backend=backend, size={"shortest_edge": 12544, "longest_edge": 120_000})
    names = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png", "photo_rgb_333x517.jpg"]
    assert_runner_rows_equal_each_image_alone(processor, [str(fixture_path(n)) for n in names], tmp_path)
