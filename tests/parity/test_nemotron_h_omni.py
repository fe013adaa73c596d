"""NemotronH-Omni parity with transformers 5.23, whose only class is the torchvision one.

The torchvision backend is compared with it to 1e-5. The pil backend runs the same geometry (grids equal
exactly) with Pillow's 32-bit float bicubic, which, like torchvision's antialiased float kernel, keeps the
overshoot; the two agree to float rounding, so pil is held to 1e-3 (a quarter of one uint8 level after
CLIP's std).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.models.nemotron_h_omni.image_processing_nemotron_h_omni import get_patch_grid_size

import pixelprep
from multiview_checks import assert_runner_rows_equal_each_image_alone
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.geometry_vlm import patch_count_grid

NAME = "NemotronH_Omni_Reasoning_V3ImageProcessor"
BACKENDS = ("torchvision", "pil")
ATOL, PIL_ATOL = 1e-5, 1e-3
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _ours(backend: str, **config: Any) -> Any:
    return getattr(pixelprep, NAME)(backend=backend, **config)


def _theirs(**config: Any) -> Any:
    return getattr(transformers, NAME)(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare(got: Any, expected: Any, backend: str, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == {"pixel_values", "image_grid_hw"}, f"{what}: output keys {sorted(got)}"
    grids, expected_grids = to_numpy(got["image_grid_hw"]), to_numpy(expected["image_grid_hw"])
    assert grids.dtype == expected_grids.dtype == np.int64 and np.array_equal(grids, expected_grids), f"{what}: image_grid_hw"
    ours, theirs = to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"])
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, f"{what}: {ours.shape} vs {theirs.shape}"
    compare(ours[None], theirs[None], atol=ATOL if backend == "torchvision" else PIL_ATOL, what=what)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): patches and image_grid_hw."""
    expected = _theirs()(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(_ours(backend)(str(image_path), return_tensors="np"), expected, backend, compare, to_numpy, f"[{backend}] {image_path.name}")


CALLS = [{}, {"max_num_patches": 2000}, {"max_num_patches": 0}, {"min_num_patches": 3000}, {"max_model_len": 500},
         {"max_model_len": 300, "max_num_patches": 0}, {"patch_size": 14, "downsample_ratio": 0.25}, {"do_normalize": False}, {"resample": 2}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Five sizes in one batch (7x5 and 1200x90 included) with each call-time option, the budget's image count among them."""
    expected = _theirs()([_reference(load_image(fixture_path(n)), to_eight_bit) for n in MIXED], return_tensors="np", **call)
    got = _ours(backend)([str(fixture_path(n)) for n in MIXED], return_tensors="np", **call)
    _compare(got, expected, backend, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_arrays_and_return_types(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]] (flattened by both; the budget counts all three), a uint8 array, a CHW tensor; return types."""
    nested = [[load_image(fixture_path(n)) for n in ("photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg")], [load_image(fixture_path("photo_rgb_301x200.png"))]]
    ours, theirs = _ours(backend), _theirs()
    for call in ({}, {"max_model_len": 100, "max_num_patches": 0}):
        _compare(ours(nested, return_tensors="np", **call), theirs(nested, return_tensors="np", **call), backend, compare, to_numpy, f"[{backend}] nested {call}")
    image = np.asarray(load_image(fixture_path("photo_rgb_333x517.jpg")))
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] {type(value)}")
    if backend == "torchvision":  # transformers has no pil class to compare pil's types with
        for tensors in (None, "pt"):
            got, expected = ours(image, return_tensors=tensors), theirs(image, return_tensors=tensors)
            for key in expected:
                assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, f"{tensors} {key}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_checkpoint_config_and_saved_config(backend: str, fixture_path, load_image, compare, to_numpy, tmp_path) -> None:
    """The checkpoints' norm_mean/norm_std and _downsample_factor load as in transformers; saved configs load in both."""
    images = [load_image(fixture_path(n)) for n in MIXED[:3]]
    config = {"norm_mean": [0.5, 0.5, 0.5], "norm_std": [0.25, 0.25, 0.25], "_downsample_factor": 2, "patch_size": 16, "max_num_patches": 4000,
              "image_processor_type": NAME}
    (tmp_path / "preprocessor_config.json").write_text(__import__("json").dumps(config))
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    ours = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend=backend)
    assert type(ours) is getattr(pixelprep, NAME) and list(theirs.image_mean) == [0.5] * 3
    _compare(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] checkpoint")
    ours.save_pretrained(tmp_path / "saved")
    again = transformers.AutoImageProcessor.from_pretrained(str(tmp_path / "saved"))
    _compare(ours(images, return_tensors="np"), again(images, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] saved")


def test_grid_and_patch_count_match_transformers() -> None:
    """The grid rule equals transformers' get_patch_grid_size for many sizes and budgets; the count equals the real output."""
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (16, 16), (32, 32), (48, 16), (2, 600), (427, 640), (3024, 4032), (90, 1200), (1, 200), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 6000, 2)) for _ in range(300)]
    for height, width in sizes:
        for patch, merge, low, high in ((16, 2, 1024, 13312), (14, 2, 64, 500), (16, 4, 100, 65520), (16, 2, 1024, 1024), (8, 1, 10, 50)):
            try:
                expected = get_patch_grid_size(height, width, patch, merge, low, high)
            except ZeroDivisionError:  # a side of no patch: transformers fails dividing by it
                with pytest.raises(InvalidImageError, match="side of no patch"):
                    patch_count_grid(height, width, patch, merge, low, high)
                continue
            assert patch_count_grid(height, width, patch, merge, low, high) == expected, (height, width, patch, merge, low, high)
    ours = _ours("pil")
    for kwargs in (None, {"max_num_patches": 2000}, {"patch_size": 14, "other": 1}):
        grid = ours(np.zeros((333, 517, 3), np.uint8), return_tensors="np", **{k: v for k, v in (kwargs or {}).items() if k != "other"})["image_grid_hw"][0]
        assert ours.get_number_of_image_patches(333, 517, kwargs) == grid[0] * grid[1], kwargs


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    """A side scaled to no patch (transformers: ZeroDivisionError) and bad settings raise ours, naming the image and the limit."""
    ours = _ours(backend)
    with pytest.raises(ZeroDivisionError):
        _theirs()(np.zeros((2, 300_000, 3), np.uint8))
    with pytest.raises(InvalidImageError, match=r"2x300000 image scaled into 13312 patches of 16 pixels has a side of no patch"):
        ours(np.zeros((2, 300_000, 3), np.uint8))
    with pytest.raises(InvalidArgumentError, match="downsample_ratio must be a number in"):
        ours(np.zeros((32, 32, 3), np.uint8), downsample_ratio=0)
    with pytest.raises(InvalidArgumentError, match="max_num_patches must be a non-negative integer"):
        ours(np.zeros((32, 32, 3), np.uint8), max_num_patches=-1)
    with pytest.raises(InvalidArgumentError, match="MAX_OUTPUT_PIXELS"):
        ours(np.zeros((32, 32, 3), np.uint8), max_num_patches=0, max_model_len=10**8, min_num_patches=10**7)


def test_names_print_and_runner(tmp_path, fixture_path) -> None:
    """Resolves by class name (with Fast/Pil suffixes) and model type; print shows the grid rule and the patches; run rows equal each image alone."""
    for name in (NAME, NAME + "Fast", NAME + "Pil", "nemotron_h_omni"):
        config = {"image_processor_type": name} if name[0].isupper() else {"model_type": name}
        assert type(pixelprep.AutoImageProcessor.from_config(config)) is getattr(pixelprep, NAME), name
    text = str(_ours("pil"))
    assert "grid of 16x16 patches" in text and "capped at 13312" in text and "image_grid_hw (rows, cols)" in text
    assert math.isclose(_ours("pil").patch_budget(_ours("pil")._params, 20), 13312)
    inputs = [str(fixture_path(n)) for n in MIXED]
    assert_runner_rows_equal_each_image_alone(_ours("torchvision"), inputs, tmp_path / "run")
