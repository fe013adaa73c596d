"""SigLIP2 (NaFlex) parity with transformers 5.23: every output key, both backends, against the class of the same backend.

Ours reads the fixture files itself; transformers gets them decoded (EXIF applied), 16-bit images
scaled to 8 bits by value, and converted to RGB with its own ``convert_to_rgb``: transformers' SigLIP2
never converts (a gray or RGBA image fails there), pixelprep converts because the mean has 3 values
(README, "Where pixelprep differs from transformers on purpose").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb
from transformers.models.siglip2.image_processing_siglip2 import get_image_size_for_max_num_patches

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
KEYS = {"pixel_values", "pixel_attention_mask", "spatial_shapes"}
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _theirs(backend: str, **config: Any) -> Any:
    return getattr(transformers, "Siglip2ImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


def _compare_outputs(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == KEYS, f"{what}: output keys {sorted(got)}"
    for key in ("pixel_attention_mask", "spatial_shapes"):
        ours, theirs = to_numpy(got[key]), to_numpy(expected[key])
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs), f"{what}: {key}"
    assert to_numpy(got["pixel_attention_mask"]).dtype == np.int32
    compare(to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"]), atol=ATOL, what=what)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, 1x1, ...): all three outputs."""
    ours, theirs = pixelprep.Siglip2ImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = ours(str(image_path), return_tensors="np")
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"max_num_patches": 64}, {"max_num_patches": 1024}, {"patch_size": 32}, {"patch_size": 14, "max_num_patches": 576},
     {"do_normalize": False}, {"resample": 3}, {"image_mean": [0.2, 0.3, 0.4], "image_std": [0.5, 0.6, 0.7]}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of five sizes (7x5 and 1200x90 included) with call-time patch_size / max_num_patches and the common options."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.Siglip2ImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(images, return_tensors="np", **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_and_construction_settings(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """Several images per sample, [[a, b], [c]], give one row per image as in transformers; settings given at construction."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    for config in ({}, {"max_num_patches": 729, "patch_size": 14, "resample": 3}):
        ours, theirs = pixelprep.Siglip2ImageProcessor(backend=backend, **config), _theirs(backend, **config)
        _compare_outputs(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), compare, to_numpy, f"[{backend}] nested {config}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_arrays_tensors_and_return_types(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """uint8 HWC arrays and CHW tensors; "pt" and "np" give the types and dtypes transformers gives.

    With return_tensors=None transformers returns per-image lists; ours returns the backend's stacked arrays.
    """
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = pixelprep.Siglip2ImageProcessor(backend=backend), _theirs(backend)
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare_outputs(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), compare, to_numpy, f"[{backend}] {type(value)}")
    got, expected = ours(image, return_tensors="pt"), theirs(image, return_tensors="pt")
    for key in KEYS:
        assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, key
    native = ours([image, image], return_tensors=None)["pixel_values"]
    assert type(native) is (torch.Tensor if backend == "torchvision" else np.ndarray) and tuple(native.shape) == (2, 256, 768)


def test_number_of_image_patches_matches_transformers(fixture_path, load_image) -> None:
    """The real patch rows: transformers' size rule for many sizes and settings, and the mask of the real output."""
    ours = pixelprep.Siglip2ImageProcessor(backend="pil")
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (16, 16), (427, 640), (2200, 1700), (3024, 4032), (90, 1200), (1, 5000), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(300)]
    for height, width in sizes:
        for patch, budget in ((16, 256), (14, 729), (16, 1024), (32, 64)):
            expected_h, expected_w = get_image_size_for_max_num_patches(height, width, patch, budget)
            kwargs = {"patch_size": patch, "max_num_patches": budget, "unrelated": 1}
            assert ours.get_number_of_image_patches(height, width, kwargs) == (expected_h // patch) * (expected_w // patch), (height, width, kwargs)
    theirs = _theirs("pil")
    for name in MIXED:
        image = load_image(fixture_path(name)).convert("RGB")
        assert ours.get_number_of_image_patches(image.height, image.width) == int(theirs(image)["pixel_attention_mask"][0].sum())
    assert ours.get_number_of_image_patches(64, 48, {"do_resize": False}) == 12


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    """Where transformers raises a reshape error (or returns a too-long row), ours names the image and the limit."""
    ours = pixelprep.Siglip2ImageProcessor(backend=backend)
    with pytest.raises(InvalidImageError, match=r"image 1 is 30x50, .*16x16-pixel blocks"):
        ours([np.zeros((32, 32, 3), np.uint8), np.zeros((30, 50, 3), np.uint8)], do_resize=False)
    with pytest.raises(InvalidImageError, match=r"image 0 is 7x5"):
        ours(np.zeros((7, 5, 3), np.uint8), do_resize=False)
    with pytest.raises(InvalidImageError, match=r"image 0 is 512x512: 32x32 = 1024 patches, over max_num_patches=256"):
        ours(np.zeros((512, 512, 3), np.uint8), do_resize=False)
    with pytest.raises(InvalidArgumentError, match="max_num_patches must be a positive integer"):
        ours(np.zeros((32, 32, 3), np.uint8), max_num_patches=0)
    with pytest.raises(InvalidArgumentError, match="patch_size must be a positive integer"):
        pixelprep.Siglip2ImageProcessor(patch_size=-16)
    # whole patches within the budget need no resize: same output as transformers with do_resize=False
    image = (np.arange(48 * 80 * 3) % 251).astype(np.uint8).reshape(48, 80, 3)
    got = ours(image, do_resize=False, return_tensors="np")
    expected = _theirs(backend)(image, do_resize=False, return_tensors="np")
    assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
    assert got["spatial_shapes"].tolist() == [[3, 5]] and int(got["pixel_attention_mask"].sum()) == 15


@pytest.mark.parametrize(
    ("name", "model_type"),
    [("Siglip2ImageProcessorFast", None), ("Siglip2ImageProcessorPil", None), ("Siglip2ImageProcessor", None),
     (None, "siglip2"), (None, "siglip2_vision_model")],
)
def test_resolves_by_class_name_and_model_type(name, model_type) -> None:
    config: dict[str, Any] = {"patch_size": 16}
    config.update({"image_processor_type": name} if name else {"model_type": model_type})
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.Siglip2ImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    """Every model type transformers 5.23 maps to Siglip2ImageProcessor resolves to ours (plus the vision tower's own type)."""
    assert set(pixelprep.Siglip2ImageProcessor.model_types) == transformers_model_types("Siglip2ImageProcessor") | {"siglip2_vision_model"}


def test_repr_shows_the_patch_budget() -> None:
    text = repr(pixelprep.Siglip2ImageProcessor(backend="pil", max_num_patches=576))
    assert "most 16x16 patches within 576, aspect kept (NaFlex) bilinear" in text
    assert "vectors (p, p, C)" in text and "pad each image's patches with 0 to 576 rows" in text
    assert "pixel_attention_mask + spatial_shapes" in text


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    """A saved config is read by transformers' AutoImageProcessor and ours to the same outputs."""
    ours = pixelprep.Siglip2ImageProcessor(backend="pil", max_num_patches=512, patch_size=14)
    theirs, again = saved_and_reloaded(ours, tmp_path, "pil")
    assert type(theirs).__name__ == "Siglip2ImageProcessorPil" and theirs.max_num_patches == 512
    assert_outputs_match_transformers((ours, again), theirs, ramp_image(300, 500), "spatial_shapes", ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(tmp_path, backend: str, fixture_path) -> None:
    """pixelprep run cuts the padded batch back per image: read_row equals the image processed alone, every key."""
    processor = pixelprep.Siglip2ImageProcessor(backend=backend, max_num_patches=64)
    names = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png", "photo_rgb_333x517.jpg"]
    assert_runner_rows_equal_each_image_alone(processor, [str(fixture_path(n)) for n in names], tmp_path, keys=KEYS, shard_size=4, batch_size=3)
