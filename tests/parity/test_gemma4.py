"""Gemma4 parity with transformers 5.23: every output key, both backends, against the class of the same backend.

Ours reads the fixture files itself; transformers gets them decoded (EXIF applied) and, for 16-bit
images, scaled to 8 bits by value as pixelprep documents. Gemma4 converts to RGB on both sides.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.models.gemma4.image_processing_gemma4 import get_aspect_ratio_preserving_size

import pixelprep
from multiview_checks import (
    assert_outputs_match_transformers,
    assert_runner_rows_equal_each_image_alone,
    ramp_image,
    saved_and_reloaded,
    transformers_model_types,
)
from pixelprep import InvalidArgumentError, InvalidImageError

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
KEYS = {"pixel_values", "image_position_ids", "num_soft_tokens_per_image"}
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _theirs(backend: str, **config: Any) -> Any:
    return getattr(transformers, "Gemma4ImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare_outputs(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == KEYS, f"{what}: output keys {sorted(got)}"
    for key in ("image_position_ids", "num_soft_tokens_per_image"):
        ours, theirs = to_numpy(got[key]), to_numpy(expected[key])
        assert ours.dtype == theirs.dtype == np.int64 and np.array_equal(ours, theirs), f"{what}: {key}"
    ours, theirs = to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"])
    assert ours.dtype == theirs.dtype, f"{what}: pixel_values dtype {ours.dtype}, transformers {theirs.dtype}"
    compare(ours, theirs, atol=ATOL, what=what)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, 1x1, ...): all three outputs."""
    ours, theirs = pixelprep.Gemma4ImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = ours(str(image_path), return_tensors="np")
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"max_soft_tokens": 70}, {"max_soft_tokens": 140}, {"max_soft_tokens": 560}, {"max_soft_tokens": 1120},
     {"patch_size": 14, "pooling_kernel_size": 2}, {"pooling_kernel_size": 4, "max_soft_tokens": 70},
     {"do_normalize": True, "image_mean": [0.5, 0.4, 0.3], "image_std": [0.2, 0.3, 0.4]}, {"do_rescale": False}, {"resample": 2}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of five sizes (7x5 and 1200x90 included) with call-time budgets, patch and pooling sizes and the common options."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.Gemma4ImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(images, return_tensors="np", **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_and_construction_settings(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """Several images per sample, [[a, b], [c]], give one row per image as in transformers; settings given at construction."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    for config in ({}, {"max_soft_tokens": 560, "patch_size": 14, "resample": 2}):
        ours, theirs = pixelprep.Gemma4ImageProcessor(backend=backend, **config), _theirs(backend, **config)
        _compare_outputs(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), compare, to_numpy, f"[{backend}] nested {config}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_arrays_tensors_and_return_types(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """uint8 HWC arrays and CHW tensors; "pt" and "np" give the types and dtypes transformers gives.

    With return_tensors=None transformers leaves num_soft_tokens_per_image a list; ours is the backend's array.
    """
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = pixelprep.Gemma4ImageProcessor(backend=backend), _theirs(backend)
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare_outputs(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), compare, to_numpy, f"[{backend}] {type(value)}")
    got, expected = ours(image, return_tensors="pt"), theirs(image, return_tensors="pt")
    for key in KEYS:
        assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, key
    native = ours([image, image], return_tensors=None)
    assert [int(v) for v in native["num_soft_tokens_per_image"]] == theirs([image, image], return_tensors=None)["num_soft_tokens_per_image"]


def test_token_and_patch_counts_match_transformers(fixture_path, load_image) -> None:
    """Soft tokens and patch rows: transformers' size rule (what Gemma4Processor counts) for many sizes, and its real output."""
    ours = pixelprep.Gemma4ImageProcessor(backend="pil")
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (48, 48), (427, 640), (2200, 1700), (3024, 4032), (90, 1200), (1, 5000), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(300)]
    for height, width in sizes:
        for patch, tokens, pooling in ((16, 280, 3), (16, 70, 3), (16, 1120, 3), (14, 560, 2)):
            target = get_aspect_ratio_preserving_size(height, width, patch, tokens * pooling**2, pooling)
            patches = (target[0] // patch) * (target[1] // patch)
            kwargs = {"patch_size": patch, "max_soft_tokens": tokens, "pooling_kernel_size": pooling, "unrelated": 1}
            assert ours.get_number_of_image_patches(height, width, kwargs) == patches, (height, width, kwargs)
            assert ours.get_number_of_soft_tokens(height, width, kwargs) == patches // pooling**2, (height, width, kwargs)
    theirs = _theirs("pil")
    for name in MIXED:
        image = load_image(fixture_path(name))
        assert ours.get_number_of_soft_tokens(image.height, image.width) == theirs(image)["num_soft_tokens_per_image"][0]
        assert ours.get_number_of_image_patches(image.height, image.width) == int((theirs(image)["image_position_ids"][0, :, 0] >= 0).sum())
    assert ours.get_number_of_soft_tokens(96, 144, {"do_resize": False}) == 6


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    """Where transformers raises a ValueError or a reshape error from deep inside, ours names the image or argument and the limit."""
    ours = pixelprep.Gemma4ImageProcessor(backend=backend)
    with pytest.raises(InvalidArgumentError, match="max_soft_tokens must be one of 70, 140, 280, 560, 1120, got 100"):
        pixelprep.Gemma4ImageProcessor(max_soft_tokens=100)
    with pytest.raises(InvalidArgumentError, match="max_soft_tokens must be one of"):
        ours(np.zeros((32, 32, 3), np.uint8), max_soft_tokens=300)
    with pytest.raises(InvalidArgumentError, match="pooling_kernel_size must be a positive integer"):
        ours(np.zeros((32, 32, 3), np.uint8), pooling_kernel_size=0)
    with pytest.raises(InvalidImageError, match=r"image 1 is 30x50, .*16x16-pixel blocks"):
        ours([np.zeros((32, 32, 3), np.uint8), np.zeros((30, 50, 3), np.uint8)], do_resize=False)
    with pytest.raises(InvalidImageError, match=r"image 0 is 7x5"):
        ours(np.zeros((7, 5, 3), np.uint8), do_resize=False)
    with pytest.raises(InvalidImageError, match=r"image 0 is 1024x1024: 64x64 = 4096 patches, over max_soft_tokens 280 x pooling_kernel_size 3x3=2520"):
        ours(np.zeros((1024, 1024, 3), np.uint8), do_resize=False)
    # whole patches within the budget need no resize: same output as transformers with do_resize=False
    image = (np.arange(48 * 80 * 3) % 251).astype(np.uint8).reshape(48, 80, 3)
    got = ours(image, do_resize=False, return_tensors="np")
    expected = _theirs(backend)(image, do_resize=False, return_tensors="np")
    assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
    assert np.array_equal(got["image_position_ids"], expected["image_position_ids"]) and got["num_soft_tokens_per_image"].tolist() == [1]


@pytest.mark.parametrize(
    ("name", "model_type"),
    [("Gemma4ImageProcessorFast", None), ("Gemma4ImageProcessorPil", None), ("Gemma4ImageProcessor", None),
     (None, "gemma4"), (None, "embedding_gemma2")],
)
def test_resolves_by_class_name_and_model_type(name, model_type) -> None:
    config: dict[str, Any] = {"patch_size": 16}
    config.update({"image_processor_type": name} if name else {"model_type": model_type})
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.Gemma4ImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    """Every model type transformers 5.23 maps to Gemma4ImageProcessor resolves to ours, and ours claims no other."""
    assert set(pixelprep.Gemma4ImageProcessor.model_types) == transformers_model_types("Gemma4ImageProcessor")


def test_repr_shows_the_budget_and_pooling() -> None:
    text = repr(pixelprep.Gemma4ImageProcessor(backend="pil", max_soft_tokens=560))
    assert "within 5040 (560 soft tokens of 3x3 patches), sides multiples of 48, aspect kept bicubic" in text
    assert "num_soft_tokens_per_image: patches / 9 (3x3 pooling)" in text and "normalize" not in text
    assert "pad each image's patches with 0 to 5040 rows" in text and "image_position_ids ((column, row) per patch, -1 on padding)" in text


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    """A saved config is read by transformers' AutoImageProcessor and ours to the same outputs."""
    ours = pixelprep.Gemma4ImageProcessor(backend="pil", max_soft_tokens=140)
    theirs, again = saved_and_reloaded(ours, tmp_path, "pil")
    assert type(theirs).__name__ == "Gemma4ImageProcessorPil" and theirs.max_soft_tokens == 140
    assert_outputs_match_transformers((ours, again), theirs, ramp_image(300, 500), "image_position_ids", ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(tmp_path, backend: str, fixture_path) -> None:
    """pixelprep run cuts the padded batch back per image: read_row equals the image processed alone, every key."""
    processor = pixelprep.Gemma4ImageProcessor(backend=backend, max_soft_tokens=70)
    names = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png", "photo_rgb_333x517.jpg"]
    assert_runner_rows_equal_each_image_alone(processor, [str(fixture_path(n)) for n in names], tmp_path, keys=KEYS, shard_size=4, batch_size=3)
