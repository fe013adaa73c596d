"""GLM-4.1V (Glm4v) and GLM-4.6V (Glm46V) parity with transformers 5.23: every output key, both backends, same-backend classes.

Ours reads the fixture files itself; transformers gets them decoded (EXIF applied) and, for 16-bit
images, scaled to 8 bits by value as pixelprep documents. GLM converts to RGB on both sides.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.models.glm4v.image_processing_glm4v import smart_resize as glm_smart_resize

import pixelprep
from multiview_checks import (
    assert_outputs_match_transformers,
    assert_patch_counts_match_transformers,
    assert_runner_rows_equal_each_image_alone,
    ramp_image,
    saved_and_reloaded,
    transformers_model_types,
)
from pixelprep import InvalidArgumentError, InvalidImageError

BACKENDS = ("torchvision", "pil")
FAMILIES = ("Glm4vImageProcessor", "Glm46VImageProcessor")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _pair(family: str, backend: str, **config: Any) -> tuple[Any, Any]:
    return getattr(pixelprep, family)(backend=backend, **config), getattr(transformers, family + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare_outputs(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == {"pixel_values", "image_grid_thw"}, f"{what}: output keys {sorted(got)}"
    assert np.array_equal(to_numpy(got["image_grid_thw"]), to_numpy(expected["image_grid_thw"])), f"{what}: image_grid_thw"
    assert to_numpy(got["image_grid_thw"]).dtype == np.int64
    compare(to_numpy(got["pixel_values"])[None], to_numpy(expected["pixel_values"])[None], atol=ATOL, what=what)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(family: str, backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5 and 1x1 enlarged first, 1200x90, ...): both outputs."""
    ours, theirs = _pair(family, backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare_outputs(ours(str(image_path), return_tensors="np"), expected, compare, to_numpy, f"{family} [{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"size": {"shortest_edge": 12544, "longest_edge": 200_000}}, {"size": {"shortest_edge": 1_200_000, "longest_edge": 11_760_000}},
     {"patch_size": 16, "merge_size": 2}, {"temporal_patch_size": 1}, {"patch_size": 14, "merge_size": 1, "temporal_patch_size": 1},
     {"do_normalize": False}, {"resample": 2}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of five sizes (7x5 and 1200x90 included) with call-time budgets and patch settings (the frames count in the budget)."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = _pair("Glm4vImageProcessor", backend)
    expected = theirs(images, return_tensors="np", **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_and_construction_settings(family: str, backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]]: transformers flattens the samples, so does the flat packer; settings given at construction."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    for config in ({}, {"size": {"shortest_edge": 12544, "longest_edge": 9633792}, "patch_size": 14, "image_mean": [0.5, 0.5, 0.5]}):
        ours, theirs = _pair(family, backend, **config)
        _compare_outputs(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), compare, to_numpy, f"{family} [{backend}] {config}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_arrays_tensors_and_return_types(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = _pair("Glm4vImageProcessor", backend)
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare_outputs(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), compare, to_numpy, f"[{backend}] {type(value)}")
    for tensors in (None, "pt"):
        got, expected = ours(image, return_tensors=tensors), theirs(image, return_tensors=tensors)
        for key in expected:
            assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, f"[{backend}] {tensors} {key}"


def test_number_of_image_patches_matches_transformers() -> None:
    """get_number_of_image_patches agrees with transformers for many sizes and images_kwargs, and with the real output."""
    ours, theirs = _pair("Glm4vImageProcessor", "pil")
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (27, 300), (28, 28), (427, 640), (2200, 1700), (3024, 4032), (90, 1200), (1, 200), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(200)]
    kwargs_list = [None, {"size": {"shortest_edge": 100_000, "longest_edge": 400_000}}, {"patch_size": 16, "merge_size": 2}, {"do_resize": False, "other": 1}]
    assert_patch_counts_match_transformers(ours, theirs, sizes, kwargs_list)
    image = np.zeros((333, 517, 3), np.uint8)
    # transformers' helper keeps its own temporal_patch_size; ours counts the one given, as processing does
    frames_one = {"temporal_patch_size": 1, "size": {"shortest_edge": 12544, "longest_edge": 100_000}}
    assert ours.get_number_of_image_patches(333, 517, frames_one) == ours(image, **frames_one)["image_grid_thw"][0].prod()
    assert glm_smart_resize(1, 333, 517, 1, 28, 12544, 100_000) == (252, 392)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    """Where transformers raises a ValueError or a reshape error from deep inside, ours names the image and the limit."""
    ours, theirs = _pair("Glm4vImageProcessor", backend)
    with pytest.raises(InvalidImageError, match=r"30x7000 .*aspect ratio of 233.3, over the limit of 200"):
        ours(np.zeros((30, 7000, 3), np.uint8))
    with pytest.raises(InvalidImageError, match=r"2x600 .*aspect ratio of 300.0 once enlarged to 28x8400, over the limit of 200"):
        ours(np.zeros((2, 600, 3), np.uint8))
    with pytest.raises(InvalidImageError, match=r"image 1 is 30x50, .*28x28-pixel blocks"):
        ours([np.zeros((56, 56, 3), np.uint8), np.zeros((30, 50, 3), np.uint8)], do_resize=False)
    with pytest.raises(InvalidArgumentError, match="shortest_edge' and 'longest_edge"):
        ours(np.zeros((56, 56, 3), np.uint8), size={"height": 56, "width": 56})
    with pytest.raises(InvalidArgumentError, match="merge_size must be a positive integer"):
        ours(np.zeros((56, 56, 3), np.uint8), merge_size=0)
    image = (np.arange(56 * 84 * 3) % 251).astype(np.uint8).reshape(56, 84, 3)
    got, expected = ours(image, do_resize=False, return_tensors="np"), theirs(image, do_resize=False, return_tensors="np")
    assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL and got["image_grid_thw"].tolist() == [[1, 4, 6]]


@pytest.mark.parametrize(
    ("name", "model_type", "family"),
    [("Glm4vImageProcessorFast", None, "Glm4vImageProcessor"), ("Glm4vImageProcessorPil", None, "Glm4vImageProcessor"),
     ("Glm46VImageProcessor", None, "Glm46VImageProcessor"), ("Glm46VImageProcessorPil", None, "Glm46VImageProcessor"),
     (None, "glm4v", "Glm4vImageProcessor"), (None, "glm46v", "Glm46VImageProcessor")],
)
def test_resolves_by_class_name_and_model_type(name, model_type, family) -> None:
    config: dict[str, Any] = {"patch_size": 14}
    config.update({"image_processor_type": name} if name else {"model_type": model_type})
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is getattr(pixelprep, family)


def test_model_types_are_the_ones_transformers_maps() -> None:
    for family in FAMILIES:
        assert set(getattr(pixelprep, family).model_types) == transformers_model_types(family)


def test_repr_shows_the_rule_and_patch_grid() -> None:
    text = repr(pixelprep.Glm46VImageProcessor(backend="pil"))
    assert "multiples of 28, 2 frames x 12544..11760000 pixels, sides under 28 enlarged first" in text and "GLM smart_resize" in text
    assert "14x14 patches in 2x2 blocks, each repeated over 2 frames" in text and "image_grid_thw" in text


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.Glm46VImageProcessor(backend="pil", size={"shortest_edge": 12544, "longest_edge": 400_000})
    theirs, again = saved_and_reloaded(ours, tmp_path, "pil")
    assert type(theirs).__name__ == "Glm46VImageProcessorPil"
    assert_outputs_match_transformers((ours, again), theirs, ramp_image(300, 500), "image_grid_thw", ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(tmp_path, backend: str, fixture_path) -> None:
    processor = pixelprep.Glm4vImageProcessor(backend=backend, size={"shortest_edge": 12544, "longest_edge": 120_000})
    names = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png", "photo_rgb_333x517.jpg"]
    inputs = [str(fixture_path(n)) for n in names]
    assert_runner_rows_equal_each_image_alone(processor, inputs, tmp_path, keys={"pixel_values", "image_grid_thw"}, shard_size=4, batch_size=3)
