"""Llama 4 parity with transformers 5.23: every output key against its (torchvision-only) class.

The torchvision backend is compared at 1e-5 (its bfloat16 values come out equal). transformers has no pil
class; our pil backend resizes with Pillow, so it is compared with the torchvision class within two 8-bit
levels after normalize (README, "Where pixelprep differs from transformers on purpose").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.image_utils import SizeDict
from transformers.models.llama4.image_processing_llama4 import find_supported_resolutions, get_best_fit

import pixelprep
from multiview_checks import assert_runner_rows_equal_each_image_alone, ramp_image, saved_and_reloaded, transformers_model_types
from pixelprep import InvalidArgumentError
from pixelprep.geometry_vlm import best_fit_canvas, supported_resolutions
from pixelprep.models.llama4 import bfloat16_levels

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
PIL_LEVELS = 2
KEYS = {"pixel_values", "aspect_ratios"}
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _reference(image, to_eight_bit):
    from transformers.image_transforms import convert_to_rgb

    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


def _array(value: Any) -> np.ndarray:
    if isinstance(value, list):
        return np.concatenate([_array(v).reshape(-1) for v in value])
    return value.detach().cpu().float().numpy() if hasattr(value, "detach") else np.asarray(value)


def _compare(got: Any, expected: Any, backend: str, what: str, level: float = 1 / 255 / 0.5) -> None:
    """``level``: what one 8-bit level is in the output (the pil backend's tolerance is two of them plus a bfloat16 step)."""
    assert set(got) == set(expected) == KEYS, f"{what}: output keys {sorted(got)}"
    assert np.array_equal(_array(got["aspect_ratios"]), _array(expected["aspect_ratios"])), f"{what}: aspect_ratios"
    ours, theirs = got["pixel_values"], expected["pixel_values"]
    if isinstance(theirs, list):
        assert isinstance(ours, list) and [tuple(v.shape) for v in ours] == [tuple(v.shape) for v in theirs], f"{what}: per-image tiles"
    else:
        assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype == theirs.dtype, f"{what}: pixel_values {ours.shape} {ours.dtype}"
    atol = ATOL if backend == "torchvision" else PIL_LEVELS * level + 2**-6
    assert np.abs(_array(ours) - _array(theirs)).max() <= atol, f"{what}: pixel_values differ by {np.abs(_array(ours) - _array(theirs)).max()}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large), as bfloat16 tensors."""
    ours = pixelprep.Llama4ImageProcessor(backend=backend)
    expected = transformers.Llama4ImageProcessor()(_reference(load_image(image_path), to_eight_bit), return_tensors="pt")
    _compare(ours(str(image_path), return_tensors="pt"), expected, backend, f"[{backend}] {image_path.name}")


CALLS = [{}, {"max_patches": 4}, {"max_patches": 1}, {"resize_to_max_canvas": True}, {"size": {"height": 224, "width": 224}},
         {"resample": 3}, {"do_normalize": False}, {"do_rescale": False, "do_normalize": False},
         {"image_mean": [0.4, 0.5, 0.6], "image_std": [0.2, 0.3, 0.4]}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image) -> None:
    """Images of different tile counts; without return_tensors a list per image, as in transformers."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in MIXED]
    ours, theirs = pixelprep.Llama4ImageProcessor(backend=backend), transformers.Llama4ImageProcessor()
    level = (1 / 255 if call.get("do_rescale", True) else 1) / (min(call.get("image_std", [0.5])) if call.get("do_normalize", True) else 1)
    for tensors in ("pt", None):
        got = ours([str(fixture_path(name)) for name in MIXED], return_tensors=tensors, **call)
        _compare(got, theirs(images, return_tensors=tensors, **call), backend, f"[{backend}] {call} {tensors}", level)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_and_arrays(backend: str, fixture_path, load_image) -> None:
    names = [["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg"], ["photo_rgb_1023x768.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = pixelprep.Llama4ImageProcessor(backend=backend), transformers.Llama4ImageProcessor()
    _compare(ours(images, return_tensors="pt"), theirs(images, return_tensors="pt"), backend, f"[{backend}] nested")
    image = np.asarray(images[0][0])
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare(ours(value, return_tensors="pt"), theirs(value, return_tensors="pt"), backend, f"[{backend}] {type(value)}")


def test_canvas_geometry_is_transformers() -> None:
    """supported_resolutions and best_fit_canvas equal transformers' functions; get_number_of_tiles counts the call's tiles."""
    rng = np.random.default_rng(0)
    for tiles, tile in ((16, 336), (4, 560), (7, 100), (1, 336)):
        ours = supported_resolutions(tiles, tile)
        assert ours == [tuple(r) for r in find_supported_resolutions(tiles, SizeDict(height=tile, width=tile))]
        sizes = [(336, 336), (337, 336), (427, 640), (90, 1200), (1, 5000), (5000, 1)] + [tuple(int(v) for v in rng.integers(1, 4000, 2)) for _ in range(80)]
        for height, width in sizes:
            for largest in (False, True):
                expected = get_best_fit((height, width), torch.tensor(ours), resize_to_max_canvas=largest).tolist()
                assert list(best_fit_canvas(height, width, ours, largest)) == expected, (tiles, tile, height, width, largest)
    processor = pixelprep.Llama4ImageProcessor(backend="pil")
    for height, width in [(427, 640), (90, 1200), (7, 5), (3000, 2000)]:
        got = processor(np.zeros((height, width, 3), np.uint8), return_tensors="pt")
        assert got["pixel_values"].shape[0] == processor.get_number_of_tiles(height, width)
        assert processor.get_number_of_tiles(height, width, {"max_patches": 1}) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_rescale_and_normalize_in_bfloat16_match_transformers(backend: str) -> None:
    ours, theirs = pixelprep.Llama4ImageProcessor(backend=backend), transformers.Llama4ImageProcessor()
    levels = torch.arange(256, dtype=torch.uint8).reshape(1, 16, 16).repeat(3, 1, 1)
    for mean, std in (([0.5] * 3, [0.5] * 3), ([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711])):
        got, expected = ours.rescale_and_normalize(levels, True, 1 / 255, True, mean, std), theirs.rescale_and_normalize(levels, True, 1 / 255, True, mean, std)
        assert got.dtype == expected.dtype == torch.bfloat16 and torch.equal(got, expected)
        assert np.array_equal(bfloat16_levels(1 / 255, tuple(mean), tuple(std), 3).T.reshape(3, 16, 16), expected.float().numpy())
    got, expected = ours.rescale_and_normalize(levels, True, 1 / 255, False, None, None), theirs.rescale_and_normalize(levels, True, 1 / 255, False, None, None)
    assert torch.allclose(got, expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.Llama4ImageProcessor(backend=backend)
    image = np.zeros((50, 50, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match="do_resize=False is not supported"):
        ours(image, do_resize=False)
    with pytest.raises(InvalidArgumentError, match="size must be a square"):
        ours(image, size={"height": 336, "width": 224})
    with pytest.raises(InvalidArgumentError, match="max_patches must be a positive integer"):
        ours(image, max_patches=0)


@pytest.mark.parametrize(
    "config",
    [{"image_processor_type": "Llama4ImageProcessor"}, {"image_processor_type": "Llama4ImageProcessorFast"},
     {"image_processor_type": "Llama4ImageProcessorPil"}, {"model_type": "llama4"}],
)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.Llama4ImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    assert set(pixelprep.Llama4ImageProcessor.model_types) == transformers_model_types("Llama4ImageProcessor")


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.Llama4ImageProcessor(backend="pil"))
    assert "choose the canvas of up to 16 336x336 tiles that scales the image least" in text
    assert "pad bottom/right with 0 to the canvas" in text and "then (with several tiles) the image squashed to 336x336" in text
    assert "normalize mean=[0.5, 0.5, 0.5] std=[0.5, 0.5, 0.5] (in bfloat16)" in text and "aspect_ratios" in text


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.Llama4ImageProcessor(backend="torchvision", max_patches=6)
    theirs, again = saved_and_reloaded(ours, tmp_path, "torchvision")
    assert type(theirs).__name__ == "Llama4ImageProcessor" and theirs.max_patches == 6
    image = ramp_image(900, 2600)
    expected = theirs(image, return_tensors="pt")
    for processor in (ours, again):
        _compare(processor(image, return_tensors="pt"), expected, "torchvision", "saved config")


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """Images make different numbers of tiles and carry aspect_ratios: the runner goes one image at a time (bfloat16 values stored as float32)."""
    ours = pixelprep.Llama4ImageProcessor(backend=backend, size={"height": 112, "width": 112})
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png"]]
    assert_runner_rows_equal_each_image_alone(ours, inputs, tmp_path)
