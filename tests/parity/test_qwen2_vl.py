"""Qwen2-VL parity with transformers 5.23: every output key, both backends, against the class of the same backend.

Ours reads the fixture files itself; transformers gets them decoded (EXIF applied) and, for 16-bit
images, scaled to 8 bits by value as pixelprep documents. Qwen converts to RGB on both sides.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]
QWEN3_VL = {"patch_size": 16, "merge_size": 2, "temporal_patch_size": 2, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
            "size": {"shortest_edge": 65536, "longest_edge": 16777216}}


def _theirs(backend: str, **config: Any) -> Any:
    name = "Qwen2VLImageProcessor" + ("Pil" if backend == "pil" else "")
    return getattr(transformers, name)(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare_outputs(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == {"pixel_values", "image_grid_thw"}, f"{what}: output keys {sorted(got)}"
    assert np.array_equal(to_numpy(got["image_grid_thw"]), to_numpy(expected["image_grid_thw"])), f"{what}: image_grid_thw"
    assert to_numpy(got["image_grid_thw"]).dtype == np.int64
    compare(to_numpy(got["pixel_values"])[None], to_numpy(expected["pixel_values"])[None], atol=ATOL, what=what)


def _call(processor: Any, images: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers' deprecation of call-time min/max_pixels
        return processor(images, **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): pixel_values and image_grid_thw."""
    ours, theirs = pixelprep.Qwen2VLImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = ours(str(image_path), return_tensors="np")
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"max_pixels": 100_000}, {"min_pixels": 600_000}, {"min_pixels": 20_000, "max_pixels": 60_000},
     {"size": {"shortest_edge": 3136, "longest_edge": 150_000}}, {"size": {"shortest_edge": 3136, "longest_edge": 150_000}, "max_pixels": 50_000},
     {"patch_size": 16, "merge_size": 1, "temporal_patch_size": 1}, {"do_normalize": False}, {"resample": 2}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of five sizes (7x5 and 1200x90 included) with call-time overrides: min/max pixels fold into size as in transformers."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.Qwen2VLImageProcessor(backend=backend), _theirs(backend)
    expected = _call(theirs, images, return_tensors="np", **call)
    got = _call(ours, [str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """Several images per sample, [[a, b], [c]]: transformers flattens them, so does the flat packer."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = pixelprep.Qwen2VLImageProcessor(backend=backend), _theirs(backend)
    _compare_outputs(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), compare, to_numpy, f"[{backend}] nested")


@pytest.mark.parametrize("backend", BACKENDS)
def test_init_time_pixels_and_qwen3_constants(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """min/max_pixels at construction become size (and are not saved), Qwen3-VL's patch 16 and 0.5 normalisation."""
    images = [load_image(fixture_path(n)) for n in MIXED[:3]]
    for config in ({"min_pixels": 10_000, "max_pixels": 300_000}, QWEN3_VL):
        ours, theirs = pixelprep.Qwen2VLImageProcessor(backend=backend, **config), _theirs(backend, **config)
        _compare_outputs(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), compare, to_numpy, f"[{backend}] {config}")
        saved = ours.to_dict()
        assert "min_pixels" not in saved and "max_pixels" not in saved
        assert saved["size"] == {k: v for k, v in theirs.to_dict()["size"].items() if v is not None}


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_match(backend: str, fixture_path, load_image) -> None:
    """return_tensors=None leaves the backend's arrays (torch or NumPy), "pt" gives tensors, as transformers does."""
    image = load_image(fixture_path("photo_rgb_333x517.jpg"))
    ours, theirs = pixelprep.Qwen2VLImageProcessor(backend=backend), _theirs(backend)
    for tensors in (None, "pt"):
        got, expected = ours(image, return_tensors=tensors), theirs(image, return_tensors=tensors)
        for key in expected:
            assert type(got[key]) is type(expected[key]), f"[{backend}] {tensors} {key}"
            assert got[key].dtype == expected[key].dtype


@pytest.mark.parametrize("backend", BACKENDS)
def test_uint8_arrays_and_tensors(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = pixelprep.Qwen2VLImageProcessor(backend=backend), _theirs(backend)
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare_outputs(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), compare, to_numpy, f"[{backend}] {type(value)}")


def test_number_of_image_patches_matches_transformers() -> None:
    """get_number_of_image_patches agrees with transformers for many sizes and images_kwargs, and with the real output."""
    ours, theirs = pixelprep.Qwen2VLImageProcessor(backend="pil"), _theirs("pil")
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (28, 28), (427, 640), (2200, 1700), (3024, 4032), (90, 1200), (1, 200), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(200)]
    kwargs_list = [None, {"min_pixels": 100_000}, {"max_pixels": 12_845_056}, {"patch_size": 16, "merge_size": 2}, {"do_resize": False, "other": 1}]
    for height, width in sizes:
        for kwargs in kwargs_list:
            try:
                expected = theirs.get_number_of_image_patches(height, width, kwargs)
            except ValueError:  # aspect ratio over 200
                with pytest.raises(InvalidImageError, match="aspect ratio"):
                    ours.get_number_of_image_patches(height, width, kwargs)
                continue
            assert ours.get_number_of_image_patches(height, width, kwargs) == expected, (height, width, kwargs)
    image = np.zeros((333, 517, 3), np.uint8)
    assert ours(image)["pixel_values"].shape[0] == ours.get_number_of_image_patches(333, 517)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    """Where transformers raises a ValueError or a reshape error from deep inside, ours names the image and the limit."""
    ours = pixelprep.Qwen2VLImageProcessor(backend=backend)
    with pytest.raises(InvalidImageError, match=r"30x7000 .*aspect ratio of 233.3, over the limit of 200"):
        ours(np.zeros((30, 7000, 3), np.uint8))
    with pytest.raises(InvalidImageError, match=r"image 1 is 30x50, .*28x28-pixel blocks"):
        ours([np.zeros((56, 56, 3), np.uint8), np.zeros((30, 50, 3), np.uint8)], do_resize=False)
    with pytest.raises(InvalidArgumentError, match="shortest_edge' and 'longest_edge"):
        ours(np.zeros((56, 56, 3), np.uint8), size={"height": 56, "width": 56})
    with pytest.raises(InvalidArgumentError, match="max_pixels must be a positive integer"):
        ours(np.zeros((56, 56, 3), np.uint8), max_pixels=-5)
    with pytest.raises(InvalidArgumentError, match="min_pixels must be a positive integer"):
        pixelprep.Qwen2VLImageProcessor(min_pixels=0)
    # a multiple of the factor needs no resize: same output as transformers with do_resize=False
    image = (np.arange(56 * 84 * 3) % 251).astype(np.uint8).reshape(56, 84, 3)
    got = ours(image, do_resize=False, return_tensors="np")
    expected = _theirs(backend)(image, do_resize=False, return_tensors="np")
    assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
    assert got["image_grid_thw"].tolist() == [[1, 4, 6]]


@pytest.mark.parametrize(
    ("name", "model_type"),
    [("Qwen2VLImageProcessorFast", None), ("Qwen2VLImageProcessorPil", None), ("Qwen2_5_VLImageProcessor", None),
     ("Qwen3VLImageProcessor", None), (None, "qwen3_omni_moe"), (None, "colqwen2")],
)
def test_resolves_by_class_name_and_model_type(name, model_type, tmp_path) -> None:
    config: dict[str, Any] = {"patch_size": 14}
    if name:
        config["image_processor_type"] = name
    else:
        config["model_type"] = model_type
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.Qwen2VLImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    """Every model type transformers 5.23 maps to Qwen2VLImageProcessor resolves to ours, and ours claims no other."""
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if "Qwen2VLImageProcessor" in str(classes)}
    assert set(pixelprep.Qwen2VLImageProcessor.model_types) == theirs


def test_repr_shows_the_patch_grid() -> None:
    text = repr(pixelprep.Qwen2VLImageProcessor(backend="pil"))
    assert "smart_resize" in text and "multiples of 28" in text and "3136..1003520 pixels" in text
    assert "14x14 patches in 2x2 blocks, each repeated over 2 frames" in text and "image_grid_thw" in text


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    """A config built with max_pixels is saved as size (as transformers saves it); both loaders read it back to the same outputs."""
    ours = pixelprep.Qwen2VLImageProcessor(backend="pil", max_pixels=200_000)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    image = (np.arange(300 * 500 * 3) % 253).astype(np.uint8).reshape(300, 500, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
        assert np.array_equal(got["image_grid_thw"], expected["image_grid_thw"])
