"""Kimi-K2.5 parity with transformers 5.23, whose only class is the torchvision one.

The torchvision backend is compared with it to 1e-5. The pil backend runs the same geometry (same
sizes, padding, patch grids, exactly) with Pillow's bicubic instead of torchvision's; the two filters
differ by a few levels on some pixels where an image is shrunk (transformers' own two backends differ
that much on every family with a bicubic resize, FAMILIES-SPEC A.1), so pil is held to 6 levels
anywhere (0.047 after the 0.5/0.5 normalize) and 0.002 on average.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.models.kimi_k25.image_processing_kimi_k25 import navit_resize

import pixelprep
from multiview_checks import (
    assert_outputs_match_transformers,
    assert_pil_close,
    assert_runner_rows_equal_each_image_alone,
    ramp_image,
    saved_and_reloaded,
    transformers_model_types,
)
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.geometry_vlm import patch_budget_fit

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _theirs(**config: Any) -> Any:
    return transformers.Kimi_K25ImageProcessor(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare(got: Any, expected: Any, backend: str, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == {"pixel_values", "image_grid_thw"}, f"{what}: output keys {sorted(got)}"
    grids, expected_grids = to_numpy(got["image_grid_thw"]), to_numpy(expected["image_grid_thw"])
    assert grids.dtype == expected_grids.dtype == np.int64 and np.array_equal(grids, expected_grids), f"{what}: image_grid_thw"
    ours, theirs = to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"])
    assert ours.shape == theirs.shape, f"{what}: {ours.shape} vs {theirs.shape}"
    if backend == "torchvision":
        compare(ours[None], theirs[None], atol=ATOL, what=what)
    else:
        assert_pil_close(ours, theirs, what)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): patches and image_grid_thw."""
    ours, theirs = pixelprep.Kimi_K25ImageProcessor(backend=backend), _theirs()
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, backend, compare, to_numpy, f"[{backend}] {image_path.name}")


CALLS = [{}, {"max_patches": 300}, {"max_patches": 1}, {"size": {"max_height": 20, "max_width": 20}}, {"patch_size": 16, "merge_size": 1},
         {"merge_size": 4}, {"do_normalize": False, "resample": 2}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Five sizes at once with the budget, side limit, patch and merge sizes at call time."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.Kimi_K25ImageProcessor(backend=backend), _theirs()
    expected = theirs(images, return_tensors="np", **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare(got, expected, backend, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_and_return_types(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = pixelprep.Kimi_K25ImageProcessor(backend=backend, max_patches=2000), _theirs(max_patches=2000)
    _compare(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] nested")
    got, expected = ours(images, return_tensors="pt"), theirs(images, return_tensors="pt")
    for key in expected:
        assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, key
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] {type(value)}")


def test_geometry_and_patch_count_match_transformers() -> None:
    """The shrink target for many sizes and budgets; get_number_of_image_patches and patchify as transformers'."""
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (7, 5), (13, 13), (14, 14), (427, 640), (90, 1200), (1, 50_000), (10_000, 60), (8000, 8000)]
    sizes += [tuple(int(v) for v in rng.integers(1, 9000, 2)) for _ in range(300)]
    for patch, budget, side in ((14, 16384, 512), (16, 300, 20), (14, 1, 512), (14, 4096, 64)):
        for height, width in sizes:
            assert patch_budget_fit(height, width, patch, budget, side) == navit_resize(height, width, patch, 2, budget, side)[0], (height, width)
    ours, theirs = pixelprep.Kimi_K25ImageProcessor(), _theirs()
    for height, width in sizes[:60]:
        for kwargs in (None, {"max_patches": 500}, {"size": {"max_height": 30, "max_width": 30}}, {"patch_size": 16, "merge_size": 1}):
            assert ours.get_number_of_image_patches(height, width, kwargs) == theirs.get_number_of_image_patches(height, width, kwargs)
    batch = torch.rand(2, 3, 56, 84)
    for got, expected in zip(ours.patchify(batch, 14), theirs.patchify(batch, 14)):
        assert torch.equal(torch.as_tensor(got), torch.as_tensor(expected))


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.Kimi_K25ImageProcessor(backend=backend)
    with pytest.raises(InvalidImageError, match=r"image 0 is 30x50, which does not split into 14x14-pixel blocks"):
        ours(np.zeros((30, 50, 3), np.uint8), do_resize=False)
    with pytest.raises(InvalidArgumentError, match="size must give 'max_height' and 'max_width' with the same value"):
        ours(np.zeros((56, 56, 3), np.uint8), size={"max_height": 20, "max_width": 30})
    with pytest.raises(InvalidArgumentError, match="max_patches must be a positive integer"):
        ours(np.zeros((56, 56, 3), np.uint8), max_patches=0)
    # an extreme aspect ratio is shrunk to the per-side limit, not refused, as in transformers
    extreme = np.zeros((2, 50_000, 3), np.uint8)
    assert ours(extreme)["image_grid_thw"].tolist() == _theirs()(extreme, return_tensors="pt")["image_grid_thw"].tolist()


@pytest.mark.parametrize("config", [{"image_processor_type": "Kimi_K25ImageProcessorFast"}, {"image_processor_type": "Kimi_K25ImageProcessor"}, {"model_type": "kimi_k25"}])
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.Kimi_K25ImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    assert set(pixelprep.Kimi_K25ImageProcessor.model_types) == transformers_model_types("Kimi_K25ImageProcessor")


def test_repr_shows_the_patch_grid() -> None:
    text = repr(pixelprep.Kimi_K25ImageProcessor(backend="pil"))
    assert "resize to fit 16384 patches of 14 and 512 per side (shrink only, aspect kept) bicubic" in text
    assert "pad bottom/right with 0 to multiples of 28" in text and "pixel_values (patches, C, 14, 14)" in text


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.Kimi_K25ImageProcessor(backend="torchvision", max_patches=1000)
    theirs, again = saved_and_reloaded(ours, tmp_path, "torchvision")
    assert type(theirs).__name__ == "Kimi_K25ImageProcessor" and theirs.max_patches == 1000
    assert_outputs_match_transformers((ours, again), theirs, ramp_image(600, 900), "image_grid_thw", ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_splits_batches_and_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    ours = pixelprep.Kimi_K25ImageProcessor(backend=backend, max_patches=2000)
    assert ours.can_split_batch(ours.resolve())
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "photo_rgb_333x517.jpg"]]
    assert_runner_rows_equal_each_image_alone(ours, inputs, tmp_path)
