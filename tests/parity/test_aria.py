"""Aria parity with transformers 5.23: every output key, both backends, against the class of the same backend."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
KEYS = {"pixel_values", "pixel_mask", "num_crops"}
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png",
         "photo_rgb_1023x768.jpg"]


def _theirs(backend: str, **config: Any) -> Any:
    return getattr(transformers, "AriaImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == KEYS, f"{what}: output keys {sorted(got)}"
    assert int(got["num_crops"]) == int(expected["num_crops"]), f"{what}: num_crops"
    ours, theirs = to_numpy(got["pixel_mask"]), to_numpy(expected["pixel_mask"])
    assert ours.dtype == theirs.dtype == np.bool_ and np.array_equal(ours, theirs), f"{what}: pixel_mask"
    compare(to_numpy(got["pixel_values"])[None], to_numpy(expected["pixel_values"])[None], atol=ATOL, what=what)


@pytest.mark.parametrize("config", [{}, {"split_image": True}], ids=["default", "split"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(config: dict, backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large), whole and split into crops."""
    ours, theirs = pixelprep.AriaImageProcessor(backend=backend, **config), _theirs(backend, **config)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, compare, to_numpy, f"[{backend}] {image_path.name}")


CALLS = [{}, {"split_image": True}, {"split_image": True, "max_image_size": 490}, {"max_image_size": 490, "min_image_size": 100},
         {"split_image": True, "split_resolutions": [[980, 980], [490, 1960], [1470, 490]]}, {"resample": 2, "do_normalize": False},
         {"do_rescale": False}, {"min_image_size": 980}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of six sizes with the call-time options: crops stacked in order, pixel_mask, num_crops the batch maximum."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.AriaImageProcessor(backend=backend), _theirs(backend)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare(got, theirs(images, return_tensors="np", **call), compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]]: Aria flattens samples, so the crops of the three images are stacked in order."""
    names = [["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg"], ["wide_rgb_1200x90.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = pixelprep.AriaImageProcessor(backend=backend, split_image=True), _theirs(backend, split_image=True)
    got = ours(images, return_tensors="np")
    _compare(got, theirs(images, return_tensors="np"), compare, to_numpy, f"[{backend}] nested")


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_and_arrays(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = pixelprep.AriaImageProcessor(backend=backend), _theirs(backend)
    got, expected = ours(image, return_tensors="pt"), theirs(image, return_tensors="pt")
    for key in KEYS:
        assert type(got[key]) is type(expected[key]) is torch.Tensor and got[key].dtype == expected[key].dtype, key
    assert got["num_crops"].shape == expected["num_crops"].shape == ()
    plain, reference = ours(image), theirs(image)
    assert type(plain["num_crops"]) is type(reference["num_crops"]) is int
    assert type(plain["pixel_mask"]) is type(reference["pixel_mask"]) and plain["pixel_mask"].dtype == reference["pixel_mask"].dtype
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), compare, to_numpy, f"[{backend}] {type(value)}")


def test_number_of_image_patches_matches_transformers() -> None:
    """get_number_of_image_patches agrees with transformers for many sizes and images_kwargs, and with the crops a call makes."""
    ours, theirs = pixelprep.AriaImageProcessor(backend="pil"), _theirs("pil")
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (980, 980), (427, 640), (3024, 4032), (90, 1200), (1, 5000), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(200)]
    kwargs_list = [None, {"split_image": True}, {"split_image": True, "max_image_size": 490},
                   {"split_image": True, "split_resolutions": [[980, 980], [490, 1960]], "other": 1}]
    for height, width in sizes:
        for kwargs in kwargs_list:
            assert ours.get_number_of_image_patches(height, width, kwargs) == theirs.get_number_of_image_patches(height, width, kwargs), (height, width, kwargs)
    for height, width in [(333, 517), (90, 1200), (1500, 3100)]:
        out = ours(np.zeros((height, width, 3), np.uint8), split_image=True)
        assert out["pixel_values"].shape[0] == out["num_crops"] == ours.get_number_of_image_patches(height, width, {"split_image": True})


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.AriaImageProcessor(backend=backend)
    image = np.zeros((56, 56, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match="max_image_size must be 490 or 980 for AriaImageProcessor, got 500"):
        ours(image, max_image_size=500)
    with pytest.raises(InvalidArgumentError, match="min_image_size=600 is over max_image_size=490"):
        ours(image, max_image_size=490, min_image_size=600)  # transformers: a negative padding error from deep inside
    with pytest.raises(InvalidArgumentError, match="min_image_size must be a positive integer"):
        ours(image, min_image_size=0)
    with pytest.raises(InvalidArgumentError, match=r"split_resolutions must be a non-empty list of \[height, width\] pairs"):
        ours(image, split_image=True, split_resolutions=[])
    with pytest.raises(InvalidArgumentError, match=r"split_resolutions\[0\]\[1\] must be a positive integer"):
        ours(image, split_image=True, split_resolutions=[[980, 0]])
    # a 5x5000 sliver: one 336-high strip (the short side floor), as in transformers
    sliver = np.full((5, 5000, 3), 200, np.uint8)
    got, expected = ours(sliver, return_tensors="np"), _theirs(backend)(sliver, return_tensors="np")
    assert got["pixel_mask"][0].sum() == 336 * 980 and np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL


@pytest.mark.parametrize("config", [{"image_processor_type": "AriaImageProcessor"}, {"image_processor_type": "AriaImageProcessorFast"},
                                    {"image_processor_type": "AriaImageProcessorPil"}, {"model_type": "aria"}])
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.AriaImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "AriaImageProcessor"}
    assert set(pixelprep.AriaImageProcessor.model_types) == theirs


def test_repr_shows_the_views() -> None:
    plain = repr(pixelprep.AriaImageProcessor(backend="pil"))
    assert "the image: long side to 980, short side scaled (truncated, at least 336) bicubic" in plain and "crops:" not in plain
    split = repr(pixelprep.AriaImageProcessor(backend="pil", split_image=True, max_image_size=490))
    assert "crops: the image fitted and zero-padded, centred, into the best of 19 split_resolutions (bicubic), cut into 490x490 crops" in split
    assert "pad bottom/right with 0 to 490x490" in split and "also output pixel_mask (bool, real pixels per crop) and num_crops" in split


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.AriaImageProcessor(backend="pil", split_image=True)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    assert type(theirs).__name__ == "AriaImageProcessorPil" and type(again) is type(ours)
    image = (np.arange(300 * 1700 * 3) % 253).astype(np.uint8).reshape(300, 1700, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
        assert np.array_equal(got["pixel_mask"], expected["pixel_mask"]) and got["num_crops"] == expected["num_crops"] > 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """num_crops is a batch maximum: the runner goes one image at a time, and read_row equals the image alone."""
    ours = pixelprep.AriaImageProcessor(backend=backend, split_image=True, max_image_size=490)
    assert not ours.can_split_batch(ours.resolve())
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "photo_rgb_333x517.jpg"]]
    result = run_job(ours, inputs, str(tmp_path), shard_size=3, batch_size=4, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 4)
    for line in (tmp_path / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        alone = ours(entry["source"], return_tensors="np")
        row = read_row(tmp_path, entry)
        assert row.keys() == alone.keys()
        for key in row:
            np.testing.assert_array_equal(np.asarray(row[key]), np.asarray(alone[key]))
