"""Pixtral parity with transformers 5.23: every output key, both backends, against the class of the same backend.

Ours reads the fixture files itself; transformers gets them decoded (EXIF applied) and, for 16-bit
images, scaled to 8 bits by value as pixelprep documents. Pixtral converts to RGB on both sides.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from multiview_checks import (
    assert_outputs_match_transformers,
    assert_runner_skips_a_broken_file_and_rows_equal_each_image_alone,
    ramp_image,
    saved_and_reloaded,
)
from pixelprep import InvalidArgumentError, InvalidImageError, OutputShapeError

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png", "tall_rgb_90x1200.jpg"]
# Mistral-Small-3.1 / LightOnOCR shape: patch 14, a longer longest edge
MISTRAL3 = {"patch_size": 14, "size": {"longest_edge": 1540}}


def _theirs(backend: str, **config: Any) -> Any:
    return getattr(transformers, "PixtralImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare_outputs(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == {"pixel_values", "image_sizes"}, f"{what}: output keys {sorted(got)}"
    assert np.array_equal(to_numpy(got["image_sizes"]), np.asarray(to_numpy(expected["image_sizes"]))), f"{what}: image_sizes"
    assert to_numpy(got["image_sizes"]).dtype == np.int64
    compare(to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"]), atol=ATOL, what=what)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): pixel_values and image_sizes."""
    ours, theirs = pixelprep.PixtralImageProcessor(backend=backend, size=512), _theirs(backend, size={"longest_edge": 512})
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = ours(str(image_path), return_tensors="np")
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"size": {"longest_edge": 300}}, {"size": {"height": 200, "width": 500}}, {"patch_size": 28}, {"patch_size": {"height": 14, "width": 32}},
     {"resample": 2}, {"do_normalize": False}, {"do_rescale": False, "do_normalize": False}, {"image_mean": [0.5, 0.4, 0.3], "image_std": 0.5}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of six sizes (7x5, 1200x90 and 90x1200 included), zero-padded to the largest after normalize, with call-time options."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.PixtralImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(images, return_tensors="np", **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_and_mistral3_constants(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]]: one padded image per input image, in order (transformers flattens samples); patch 14 / 1540 at construction."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_1023x768.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = pixelprep.PixtralImageProcessor(backend=backend, **MISTRAL3), _theirs(backend, **MISTRAL3)
    got = ours(images, return_tensors="np")
    _compare_outputs(got, theirs(images, return_tensors="np"), compare, to_numpy, f"[{backend}] nested")
    assert got["image_sizes"].tolist() == [[434, 644], [770, 1036], [1204, 98]] and got["pixel_values"].shape == (3, 3, 1204, 1036)


@pytest.mark.parametrize("backend", BACKENDS)
def test_do_pad_and_do_resize_false(backend: str, compare, to_numpy) -> None:
    """do_pad=False stacks images of one size (and refuses mixed sizes); do_resize=False keeps patch-aligned images as they are."""
    rng = np.random.default_rng(2)
    aligned = [rng.integers(0, 256, (48, 80, 3), dtype=np.uint8), rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)]
    ours, theirs = pixelprep.PixtralImageProcessor(backend=backend), _theirs(backend)
    for call in ({"do_resize": False}, {"do_resize": False, "do_pad": False, "images": aligned[:1] * 2}, {"do_pad": False, "images": aligned[:1]}):
        call = dict(call)
        images = call.pop("images", aligned)
        _compare_outputs(ours(images, return_tensors="np", **call), theirs(images, return_tensors="np", **call), compare, to_numpy, f"[{backend}] {call}")
    with pytest.raises(OutputShapeError, match=r"\(32, 64\), \(48, 80\)"):
        ours(aligned, do_pad=False, do_resize=False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_match(backend: str, fixture_path, load_image) -> None:
    images = [load_image(fixture_path(n)) for n in MIXED[:2]]
    ours, theirs = pixelprep.PixtralImageProcessor(backend=backend), _theirs(backend)
    got, expected = ours(images, return_tensors="pt"), theirs(images, return_tensors="pt")
    for key in expected:
        assert type(got[key]) is type(expected[key]) is torch.Tensor and got[key].dtype == expected[key].dtype, key


def _pixtral_processor(patch_size: int, spatial_merge_size: int, image_processor: Any, cls: type) -> Any:
    """transformers' processor with only what its token counting reads (no tokenizer files exist offline)."""
    processor = cls.__new__(cls)
    processor.image_processor, processor.patch_size, processor.spatial_merge_size = image_processor, patch_size, spatial_merge_size
    processor.effective_patch_size = patch_size * spatial_merge_size
    processor.tokenizer = types.SimpleNamespace(init_kwargs={})
    return processor


def test_token_and_patch_counts_match_transformers() -> None:
    """get_number_of_image_tokens equals PixtralProcessor's (row breaks) and LightOnOcrProcessor's (none) counts for many sizes;
    get_number_of_image_patches and resized_size equal the real output."""
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (16, 16), (427, 640), (2200, 1700), (3024, 4032), (90, 1200), (1, 1000), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(200)]
    for config, merge in (({}, 1), (MISTRAL3, 2)):
        ours = pixelprep.PixtralImageProcessor(backend="pil", **config)
        patch = ours.patch_size["height"]
        pixtral = _pixtral_processor(patch, merge, _theirs("pil", **config), transformers.PixtralProcessor)
        lighton = _pixtral_processor(patch, merge, _theirs("pil", **config), transformers.LightOnOcrProcessor)
        for kwargs in ({}, {"size": {"longest_edge": 512}}):
            # transformers' counter measures np.zeros((h, w, 3)) and reads a height of 1 or 3 as a channels-first axis: a bug, left out
            usable = [s for s in sizes if s[0] not in (1, 3) and min(s) * min(ours.fit(ours.resolve(kwargs)).max_height / max(s), 1) >= 1]
            expected = pixtral._get_num_multimodal_tokens(usable, **kwargs).num_image_tokens
            got = [ours.get_number_of_image_tokens(h, w, dict(kwargs, patch_size=patch * merge)) for h, w in usable]
            assert got == expected, (config, kwargs)
            expected = lighton._get_num_multimodal_tokens(usable, **kwargs).num_image_tokens
            got = [ours.get_number_of_image_tokens(h, w, kwargs, token_size=patch * merge, row_breaks=False) for h, w in usable]
            assert got == expected, (config, kwargs)
    ours = pixelprep.PixtralImageProcessor(backend="pil")
    for height, width in [(333, 517), (7, 5), (90, 1200), (1500, 1100), (1, 1000), (3, 700)]:
        out = ours(np.zeros((height, width, 3), np.uint8), input_data_format="channels_last", return_tensors="np")
        assert tuple(out["image_sizes"][0]) == ours.resized_size(height, width)
        assert ours.get_number_of_image_patches(height, width, {"other": 1}) == int(np.prod(out["image_sizes"][0])) // 256


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    """Where transformers makes an empty image (and fails deep inside) or passes sizes the patches cannot cut, ours names the image."""
    ours = pixelprep.PixtralImageProcessor(backend=backend)
    with pytest.raises(InvalidImageError, match=r"an image of 2x3000 into 1024x1024 leaves a side of 0 pixels"):
        ours(np.zeros((2, 3000, 3), np.uint8))
    with pytest.raises(InvalidImageError, match=r"30x50 does not split into 16x16 patches.*do_resize=True"):
        ours([np.zeros((32, 32, 3), np.uint8), np.zeros((30, 50, 3), np.uint8)], do_resize=False)
    with pytest.raises(InvalidArgumentError, match="size must give 'longest_edge' or 'height' and 'width'"):
        ours(np.zeros((32, 32, 3), np.uint8), size={"shortest_edge": 300})
    with pytest.raises(InvalidArgumentError, match=r"patch_size\['height'\] must be a positive integer"):
        ours(np.zeros((32, 32, 3), np.uint8), patch_size=0)


@pytest.mark.parametrize(
    ("name", "model_type"),
    [("PixtralImageProcessorFast", None), ("PixtralImageProcessorPil", None), ("PixtralImageProcessor", None),
     (None, "pixtral"), (None, "mistral3"), (None, "mistral_large4"), (None, "lighton_ocr")],
)
def test_resolves_by_class_name_and_model_type(name, model_type) -> None:
    config: dict[str, Any] = {"patch_size": {"height": 16, "width": 16}}
    if name:
        config["image_processor_type"] = name
    else:
        config["model_type"] = model_type
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.PixtralImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if "PixtralImageProcessor" in str(classes)}
    assert set(pixelprep.PixtralImageProcessor.model_types) == theirs


def test_repr_shows_the_fit_and_padding() -> None:
    text = repr(pixelprep.PixtralImageProcessor(backend="pil", **MISTRAL3))
    assert "resize to fit 1540x1540 (shrink only, aspect kept), then each side up to a multiple of 14x14 bicubic" in text
    assert "pad views bottom/right with 0 to the largest, into pixel_values (images, C, H, W)" in text and "image_sizes" in text


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.PixtralImageProcessor(backend="pil", **MISTRAL3)
    theirs, again = saved_and_reloaded(ours, tmp_path, "pil")
    assert_outputs_match_transformers((ours, again), theirs, [ramp_image(300, 500), ramp_image(2000, 100)], "image_sizes", ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """pixelprep run processes Pixtral images one at a time (the padding depends on the batch); read_row equals the image alone."""
    processor = pixelprep.PixtralImageProcessor(backend=backend, size=256)
    assert_runner_skips_a_broken_file_and_rows_equal_each_image_alone(processor, fixture_path, tmp_path, {"pixel_values", "image_sizes"})


@pytest.mark.parametrize("backend", BACKENDS)
def test_center_crop_after_the_fit(backend: str, compare, to_numpy) -> None:
    """do_center_crop crops each fitted image and image_sizes gives the cropped size: transformers' pil class does this; its
    torchvision class pads by the uncropped sizes and fails to stack (a bug), so there both backends follow the pil class."""
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (300, 500, 3), dtype=np.uint8), rng.integers(0, 256, (200, 150, 3), dtype=np.uint8)]
    call = {"do_center_crop": True, "crop_size": {"height": 160, "width": 160}}
    ours = pixelprep.PixtralImageProcessor(backend=backend)
    got = ours(images, return_tensors="np", **call)
    assert got["image_sizes"].tolist() == [[160, 160], [160, 160]]
    if backend == "pil":
        _compare_outputs(got, _theirs("pil")(images, return_tensors="np", **call), compare, to_numpy, "[pil] center crop")
    else:
        with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
            _theirs("torchvision")(images, return_tensors="np", **call)
        for image, cropped in zip(images, got["pixel_values"]):  # the fitted image, cropped
            fitted = ours(image, return_tensors="np")["pixel_values"][0]
            top, left = (fitted.shape[1] - 160) // 2, (fitted.shape[2] - 160) // 2
            np.testing.assert_array_equal(cropped, fitted[:, top : top + 160, left : left + 160])
