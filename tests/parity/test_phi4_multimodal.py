"""Phi-4-multimodal parity with transformers 5.23: every output key against its (torchvision-only) class.

The torchvision backend is compared at 1e-5. transformers has no pil class; our pil backend runs the same
steps with Pillow's bilinear fit of the canvas, so it is compared with the torchvision class within two
8-bit levels after normalize (README, "Where pixelprep differs from transformers on purpose").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from multiview_checks import assert_runner_rows_equal_each_image_alone, ramp_image, saved_and_reloaded, transformers_model_types
from pixelprep import InvalidArgumentError, InvalidImageError

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
PIL_LEVELS = 2  # 8-bit levels the pil backend's canvas may differ by, before normalize
KEYS = {"image_pixel_values", "image_sizes", "image_attention_mask", "num_img_tokens"}
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _theirs(**config: Any) -> Any:
    return transformers.Phi4MultimodalImageProcessor(**config)


def _reference(image, to_eight_bit):
    """What transformers gets: the RGB image pixelprep makes (do_convert_rgb), 16-bit scaled to 8 bits."""
    from transformers.image_transforms import convert_to_rgb

    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


def _array(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


def _compare(got: Any, expected: Any, backend: str, what: str, std: float = 0.5) -> None:
    assert set(got) == set(expected) == KEYS, f"{what}: output keys {sorted(got)}"
    for key in KEYS - {"image_pixel_values"}:
        ours, theirs = _array(got[key]), _array(expected[key])
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape and np.array_equal(ours, theirs), f"{what}: {key}"
    ours, theirs = _array(got["image_pixel_values"]), _array(expected["image_pixel_values"])
    assert ours.shape == theirs.shape, f"{what}: image_pixel_values {ours.shape} vs {theirs.shape}"
    atol = ATOL if backend == "torchvision" else PIL_LEVELS / 255 / std + ATOL
    assert np.abs(ours - theirs).max() <= atol, f"{what}: image_pixel_values differ by {np.abs(ours - theirs).max()}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large)."""
    ours = pixelprep.Phi4MultimodalImageProcessor(backend=backend)
    expected = _theirs()(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, backend, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_past_dynamic_hd_the_grid_is_the_closest_aspect(backend: str) -> None:
    """A 3000x6000 image would need 7x14 crops: the closest-aspect grid of at most 36 is used instead."""
    image = (np.arange(3000 * 6000 * 3) % 251).astype(np.uint8).reshape(3000, 6000, 3)
    got = pixelprep.Phi4MultimodalImageProcessor(backend=backend)(image, return_tensors="pt")
    _compare(got, _theirs()(image, return_tensors="pt"), backend, f"[{backend}] 3000x6000")
    assert got["image_sizes"].tolist() == [[448 * 4, 448 * 8]] and got["image_pixel_values"].shape == (1, 33, 3, 448, 448)


CALLS = [{}, {"size": {"height": 224, "width": 224}}, {"dynamic_hd": 4}, {"dynamic_hd": 1}, {"resample": 2}, {"patch_size": 16},
         {"do_normalize": False}, {"image_mean": [0.4, 0.5, 0.6], "image_std": [0.2, 0.3, 0.4]}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image) -> None:
    """Images of different crop counts: zero views and all-ones masks pad the batch, as in transformers."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in MIXED]
    ours = pixelprep.Phi4MultimodalImageProcessor(backend=backend)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare(got, _theirs()(images, return_tensors="np", **call), backend, f"[{backend}] {call}", min(call.get("image_std", [0.5])))


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_are_one_row_per_image(backend: str, fixture_path, load_image) -> None:
    names = [["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg"], ["photo_rgb_1023x768.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    got = pixelprep.Phi4MultimodalImageProcessor(backend=backend)(images, return_tensors="np")
    _compare(got, _theirs()(images, return_tensors="np"), backend, f"[{backend}] nested")
    assert got["image_pixel_values"].shape[0] == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types(backend: str, fixture_path, load_image) -> None:
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = pixelprep.Phi4MultimodalImageProcessor(backend=backend), _theirs()
    got, expected = ours(image, return_tensors="pt"), theirs(image, return_tensors="pt")
    for key in KEYS:
        assert type(got[key]) is type(expected[key]) is torch.Tensor and got[key].dtype == expected[key].dtype, key
    assert ours(image)["num_img_tokens"] == theirs(image)["num_img_tokens"] == [int(expected["num_img_tokens"][0])]
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), backend, f"[{backend}] {type(value)}")


def test_number_of_image_tokens_is_the_pipeline_geometry() -> None:
    """get_number_of_image_tokens equals transformers' num_img_tokens for many sizes and options, without an image."""
    ours, theirs = pixelprep.Phi4MultimodalImageProcessor(backend="pil"), _theirs()
    rng = np.random.default_rng(0)
    sizes = [(10, 10), (448, 448), (449, 448), (427, 640), (90, 1200), (1500, 40), (2000, 3000)]
    sizes += [tuple(int(v) for v in rng.integers(12, 1600, 2)) for _ in range(12)]
    for height, width in sizes:
        image = np.zeros((height, width, 3), np.uint8)
        for kwargs in ({}, {"dynamic_hd": 4}, {"size": {"height": 224, "width": 224}, "patch_size": 16}):
            expected = theirs(image, **kwargs)["num_img_tokens"]
            assert [ours.get_number_of_image_tokens(height, width, kwargs)] == expected, (height, width, kwargs)
    assert ours.get_number_of_image_tokens(640, 427, {"unrelated": 1}) == ours(np.zeros((640, 427, 3), np.uint8))["num_img_tokens"][0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_steps_match_transformers(backend: str, fixture_path, load_image) -> None:
    """find_closest_aspect_ratio, dynamic_preprocess and the two crop-padding helpers against transformers' methods."""
    ours, theirs = pixelprep.Phi4MultimodalImageProcessor(backend=backend), _theirs()
    ratios = sorted({(i, j) for i in range(1, 7) for j in range(1, 7) if i * j <= 36}, key=lambda r: r[0] * r[1])
    for width, height in [(6000, 3000), (640, 427), (100, 3000), (1300, 1200)]:
        args = (width / height, ratios, width, height, 448)
        assert ours.find_closest_aspect_ratio(*args) == theirs.find_closest_aspect_ratio(*args)
    image = torch.from_numpy(np.ascontiguousarray(np.moveaxis(np.asarray(load_image(fixture_path("photo_rgb_333x517.jpg"))), -1, 0)))
    for max_num in (36, 1):
        (canvas, mask), (ref_canvas, ref_mask) = ours.dynamic_preprocess(image, 448, 14, 32, max_num), theirs.dynamic_preprocess(image, 448, 14, 32, max_num)
        assert canvas.shape == ref_canvas.shape and canvas.dtype == ref_canvas.dtype and torch.equal(mask, ref_mask)
        assert (canvas.int() - ref_canvas.int()).abs().max() <= (0 if backend == "torchvision" else 2)
    views, masks = torch.rand(2, 3, 448, 448), torch.zeros(2, 32, 32)
    assert torch.equal(ours.pad_to_max_num_crops(views, 5), theirs.pad_to_max_num_crops(views, 5))
    assert torch.equal(ours.pad_mask_to_max_num_crops(masks, 5), theirs.pad_mask_to_max_num_crops(masks, 5))
    assert torch.equal(ours.pad_to_max_num_crops(views, 1), views)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.Phi4MultimodalImageProcessor(backend=backend)
    # transformers: ValueError "the aspect ratio is very extreme"
    with pytest.raises(InvalidImageError, match=r"an image of 4x5000 fitted into its 1x12-crop canvas becomes 4x5376, under 10 pixels"):
        ours(np.zeros((4, 5000, 3), np.uint8), input_data_format="channels_last")
    with pytest.raises(InvalidArgumentError, match=r"size must be a square"):
        ours(np.zeros((50, 50, 3), np.uint8), size={"height": 448, "width": 224})
    with pytest.raises(InvalidArgumentError, match="dynamic_hd must be a positive integer"):
        ours(np.zeros((50, 50, 3), np.uint8), dynamic_hd=0)
    with pytest.raises(InvalidArgumentError, match="size 8 is smaller than patch_size 14"):
        ours(np.zeros((50, 50, 3), np.uint8), size={"height": 8, "width": 8})


@pytest.mark.parametrize(
    "config",
    [{"image_processor_type": "Phi4MultimodalImageProcessor"}, {"image_processor_type": "Phi4MultimodalImageProcessorFast"},
     {"image_processor_type": "Phi4MultimodalImageProcessorPil"}, {"model_type": "phi4_multimodal"}],
)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.Phi4MultimodalImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    assert set(pixelprep.Phi4MultimodalImageProcessor.model_types) == transformers_model_types("Phi4MultimodalImageProcessor")


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.Phi4MultimodalImageProcessor(backend="pil"))
    assert "choose 448x448 crops covering the image, or past 36 crops the grid closest to its aspect ratio" in text
    assert "pad bottom/right with 255 to the canvas" in text
    assert "views: the normalised canvas resized to 448x448 without antialias (bicubic, the global view), then its 448x448 crops" in text
    assert "image_attention_mask (32x32 patches per view" in text


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.Phi4MultimodalImageProcessor(backend="torchvision", dynamic_hd=16)
    theirs, again = saved_and_reloaded(ours, tmp_path, "torchvision")
    assert type(theirs).__name__ == "Phi4MultimodalImageProcessor" and theirs.dynamic_hd == 16
    image = ramp_image(900, 2600)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        _compare(processor(image, return_tensors="np"), expected, "torchvision", "saved config")


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """Images make different numbers of views and carry metadata: the runner goes one image at a time."""
    ours = pixelprep.Phi4MultimodalImageProcessor(backend=backend, size={"height": 224, "width": 224})
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png"]]
    assert_runner_rows_equal_each_image_alone(ours, inputs, tmp_path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_resize_without_antialias_is_torch_interpolate(backend: str) -> None:
    """The global view's float resize equals torch's interpolate without antialias (nearest, bilinear, bicubic), on both backends."""
    from torchvision.transforms.v2 import functional as tvF

    from pixelprep.multiview import resize_without_antialias

    native_backend = pixelprep.Phi4MultimodalImageProcessor(backend=backend).backend
    rng = np.random.default_rng(0)
    modes = {0: tvF.InterpolationMode.NEAREST, 2: tvF.InterpolationMode.BILINEAR, 3: tvF.InterpolationMode.BICUBIC}
    for (height, width), size in [((1344, 1792), (448, 448)), ((896, 448), (448, 448)), ((5, 9), (3, 4)), ((448, 448), (448, 448))]:
        image = (rng.random((height, width, 3)) * 4 - 2).astype(np.float32)
        for resample, mode in modes.items():
            expected = tvF.resize(torch.from_numpy(image).permute(2, 0, 1), list(size), interpolation=mode, antialias=False).permute(1, 2, 0).numpy()
            native = torch.from_numpy(image) if backend == "torchvision" else image
            got = _array(resize_without_antialias(native_backend, native, size, resample))
            assert got.shape == expected.shape and np.abs(got - expected).max() <= 1e-5, (height, width, resample)
    with pytest.raises(InvalidArgumentError, match="has no unantialiased form"):
        resize_without_antialias(native_backend, np.zeros((4, 4, 3), np.float32), (2, 2), 1)
