"""NeoMME parity with transformers 5.23, whose only class is the torchvision one.

The torchvision backend is compared with it to 1e-5. The pil backend runs the same geometry (sizes,
padding, patch grids, exactly) with Pillow's bilinear instead of torchvision's antialiased one; where an
image is resized the two filters differ by a few levels on some pixels (transformers' own two backends
do the same on every resizing family, FAMILIES-SPEC A.1), so pil is held to multiview_checks' 6 levels
anywhere and 0.002 on average. Without a resize (the default) pil is exact too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.models.neomme.image_processing_neomme import get_resize_output_size

import pixelprep
from multiview_checks import (
    assert_outputs_match_transformers,
    assert_pil_close,
    assert_runner_rows_equal_each_image_alone,
    ramp_image,
    saved_and_reloaded,
    transformers_model_types,
)
from pixelprep import InvalidArgumentError
from pixelprep.geometry_vlm import area_and_side_fit

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]
BUDGET = {"size": {"min_pixels": 20_000, "max_pixels": 120_000}}


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare(got: Any, expected: Any, backend: str, compare, to_numpy, what: str, resized: bool = True) -> None:
    assert set(got) == set(expected) == {"pixel_values", "image_grid_hw"}, f"{what}: output keys {sorted(got)}"
    grids, expected_grids = to_numpy(got["image_grid_hw"]), to_numpy(expected["image_grid_hw"])
    assert grids.dtype == expected_grids.dtype == np.int64 and np.array_equal(grids, expected_grids), f"{what}: image_grid_hw"
    ours, theirs = to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"])
    assert ours.shape == theirs.shape, f"{what}: {ours.shape} vs {theirs.shape}"
    if backend == "torchvision" or not resized:
        compare(ours[None], theirs[None], atol=ATOL, what=what)
    else:
        assert_pil_close(ours, theirs, what)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("config", [{}, BUDGET], ids=["native", "budget"])
def test_every_fixture_image(backend: str, config: dict, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large) at native size and with a pixel budget."""
    ours, theirs = pixelprep.NeoMMEImageProcessor(backend=backend, **config), transformers.NeoMMEImageProcessor(**config)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = ours(str(image_path), return_tensors="np")
    _compare(got, expected, backend, compare, to_numpy, f"[{backend}] {config} {image_path.name}", resized=bool(config))


CALLS = [{}, {"max_side": 300}, {"max_side": 20}, BUDGET, {"size": {"min_pixels": 600_000, "max_pixels": 900_000}, "max_side": 1000},
         {"patch_size": 16}, {"do_resize": False, "max_side": 100}, {"do_normalize": False, "max_side": 200, "resample": 3}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Five sizes at once with the long-side cap, pixel budget, patch size and filter given at call time."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    expected = transformers.NeoMMEImageProcessor()(images, return_tensors="np", **call)
    got = pixelprep.NeoMMEImageProcessor(backend=backend)([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    resized = call.get("do_resize", True) and ("size" in call or "max_side" in call)
    _compare(got, expected, backend, compare, to_numpy, f"[{backend}] {call}", resized=resized)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_and_return_types(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = pixelprep.NeoMMEImageProcessor(backend=backend, max_side=512), transformers.NeoMMEImageProcessor(max_side=512)
    _compare(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] nested")
    got, expected = ours(images, return_tensors="pt"), theirs(images, return_tensors="pt")
    for key in expected:
        assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, key
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] {type(value)}")


def test_geometry_and_patch_count_match_transformers() -> None:
    """The resize target for many sizes and limits, and get_number_of_image_patches, as transformers'."""
    from transformers.image_utils import SizeDict

    rng = np.random.default_rng(0)
    sizes = [(1, 1), (7, 5), (31, 33), (32, 32), (427, 640), (90, 1200), (1, 50_000), (10_000, 60), (8000, 8000)]
    sizes += [tuple(int(v) for v in rng.integers(1, 9000, 2)) for _ in range(300)]
    limits = [(None, None, None), (512, None, None), (None, 10_000, 50_000), (1024, 200_000, 1_000_000), (7, 1, 40), (None, 1, 1), (3000, 4_000_000, 5_000_000)]
    for max_side, min_pixels, max_pixels in limits:
        size = None if min_pixels is None else SizeDict(min_pixels=min_pixels, max_pixels=max_pixels)
        for height, width in sizes:
            assert area_and_side_fit(height, width, max_side, min_pixels, max_pixels) == get_resize_output_size(height, width, max_side, size), (height, width, max_side, min_pixels)
    ours, theirs = pixelprep.NeoMMEImageProcessor(), transformers.NeoMMEImageProcessor()
    for height, width in sizes[:80]:
        for kwargs in (None, {"max_side": 500}, BUDGET, {"patch_size": 16, "max_side": 700}, {"do_resize": False, "max_side": 10, "other": 1}):
            assert ours.get_number_of_image_patches(height, width, kwargs) == theirs.get_number_of_image_patches(height, width, kwargs), (height, width, kwargs)
    image = np.zeros((333, 517, 3), np.uint8)
    assert ours(image, max_side=300)["pixel_values"].shape[0] == ours.get_number_of_image_patches(333, 517, {"max_side": 300})


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.NeoMMEImageProcessor(backend=backend)
    image = np.zeros((56, 56, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match="size must give exactly 'min_pixels' and 'max_pixels' for NeoMMEImageProcessor"):
        ours(image, size={"height": 64, "width": 64})
    with pytest.raises(InvalidArgumentError, match="size must have one of the key sets"):
        ours(image, size={"min_pixels": 64})
    with pytest.raises(InvalidArgumentError, match="max_side must be a positive integer"):
        ours(image, max_side=0)
    with pytest.raises(InvalidArgumentError, match=r"resizing a 56x56 image gives an image of 46340x46340 .* over pixelprep.MAX_OUTPUT_PIXELS"):
        ours(image, size={"min_pixels": 2**31 - 1, "max_pixels": 2**31 - 1})
    # an image smaller than one patch, or of any aspect ratio, is padded, not refused, as in transformers
    for tiny in (np.zeros((1, 1, 3), np.uint8), np.zeros((2, 5000, 3), np.uint8)):
        assert ours(tiny)["image_grid_hw"].tolist() == transformers.NeoMMEImageProcessor()(tiny, return_tensors="pt")["image_grid_hw"].tolist()


@pytest.mark.parametrize("config", [{"image_processor_type": "NeoMMEImageProcessorFast"}, {"image_processor_type": "NeoMMEImageProcessor"}, {"model_type": "neomme"}])
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.NeoMMEImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    assert set(pixelprep.NeoMMEImageProcessor.model_types) == transformers_model_types("NeoMMEImageProcessor")


def test_repr_shows_the_patch_grid() -> None:
    text = repr(pixelprep.NeoMMEImageProcessor(backend="pil", max_side=1024, size={"min_pixels": 1024, "max_pixels": 1_000_000}))
    assert "resize within area 1024..1000000 pixels, long side <= 1024 (aspect kept) bilinear" in text
    assert "pad bottom/right with 0 to multiples of 32" in text and "image_grid_hw (rows, cols)" in text
    assert "resize" not in repr(pixelprep.NeoMMEImageProcessor(backend="pil"))


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.NeoMMEImageProcessor(backend="torchvision", max_side=640, size={"min_pixels": 4096, "max_pixels": 300_000})
    theirs, again = saved_and_reloaded(ours, tmp_path, "torchvision")
    assert type(theirs).__name__ == "NeoMMEImageProcessor" and theirs.max_side == 640
    assert_outputs_match_transformers((ours, again), theirs, ramp_image(600, 900), "image_grid_hw", ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_splits_batches_and_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    ours = pixelprep.NeoMMEImageProcessor(backend=backend, max_side=512)
    assert ours.can_split_batch(ours.resolve())
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "photo_rgb_333x517.jpg"]]
    assert_runner_rows_equal_each_image_alone(ours, inputs, tmp_path)
