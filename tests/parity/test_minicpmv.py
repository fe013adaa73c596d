"""MiniCPM-V 4.6 / 4.7 and MiniCPM-OCR parity with transformers 5.23: every output key, both backends.

MiniCPM-V is compared backend against the class of the same backend. MiniCPM-OCR has only a
torchvision class: the torchvision backend is compared with it to 1e-5, and the pil backend runs the
same geometry (same views, grids, target sizes, exactly) with Pillow's bicubic, which differs from
torchvision's by a few levels on some pixels (transformers' own pil and torchvision classes of
MiniCPM-V differ as much), so pil is held to 6 levels anywhere (0.047 after 0.5/0.5) and 0.002 on average.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from multiview_checks import assert_pil_close, assert_runner_rows_equal_each_image_alone
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.geometry_vlm import sliced_canvas_size, slice_grid, slice_source_size

BACKENDS = ("torchvision", "pil")
FAMILIES = ("MiniCPMV4_6ImageProcessor", "MiniCPMOcrImageProcessor")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png", "photo_rgb_1023x768.jpg"]
KEYS = {"pixel_values", "target_sizes", "grids", "num_patches_per_image"}


def _theirs(family: str, backend: str, **config: Any) -> Any:
    return (getattr(transformers, family + ("Pil" if backend == "pil" else ""), None) or getattr(transformers, family))(**config)


def _exact(family: str, backend: str) -> bool:
    """Whether transformers has a class of this backend (else ours is compared with its torchvision class, within PIL_MAX)."""
    return hasattr(transformers, family + ("Pil" if backend == "pil" else ""))


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare(got: Any, expected: Any, exact: bool, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == KEYS, f"{what}: output keys {sorted(got)}"
    assert got["grids"] == expected["grids"] and got["num_patches_per_image"] == expected["num_patches_per_image"], what
    sizes, expected_sizes = to_numpy(got["target_sizes"]), to_numpy(expected["target_sizes"])
    assert sizes.dtype == expected_sizes.dtype == np.int32 and np.array_equal(sizes, expected_sizes), f"{what}: target_sizes"
    ours, theirs = to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"])
    assert ours.shape == theirs.shape, f"{what}: {ours.shape} vs {theirs.shape}"
    if exact:
        compare(ours, theirs, atol=ATOL, what=what)
    else:
        assert_pil_close(ours, theirs, what)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(family: str, backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): strips, target sizes, grids, counts."""
    ours, theirs = getattr(pixelprep, family)(backend=backend), _theirs(family, backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, _exact(family, backend), compare, to_numpy, f"{family} [{backend}] {image_path.name}")


CALLS = {
    "MiniCPMV4_6ImageProcessor": [{}, {"slice_mode": False}, {"downsample_mode": "4x"}, {"max_slice_nums": 4}, {"scale_resolution": 224},
                                  {"patch_size": 16}, {"do_normalize": False, "resample": 2}],
    "MiniCPMOcrImageProcessor": [{}, {"small_image_upsize": "never"}, {"downsample_mode": "16x", "max_slice_nums": 2}, {"slice_mode": False}],
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("family", "call"), [(family, call) for family, calls in CALLS.items() for call in calls], ids=repr)
def test_mixed_batch_and_call_time_options(family: str, call: dict, backend: str, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Six sizes at once (sliced and unsliced images) with call-time options; one strip for the whole batch, as transformers."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = getattr(pixelprep, family)(backend=backend), _theirs(family, backend)
    expected = theirs(images, return_tensors="np", **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare(got, expected, _exact(family, backend), compare, to_numpy, f"{family} [{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_and_return_types(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]] is three images in one strip; outputs have transformers' types (grids and counts stay lists)."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    family = "MiniCPMV4_6ImageProcessor"
    ours, theirs = getattr(pixelprep, family)(backend=backend), _theirs(family, backend)
    _compare(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), True, compare, to_numpy, f"[{backend}] nested")
    got, expected = ours(images, return_tensors="pt"), theirs(images, return_tensors="pt")
    for key in expected:
        assert type(got[key]) is type(expected[key]), key
    assert got["pixel_values"].dtype == expected["pixel_values"].dtype and got["target_sizes"].dtype == torch.int32
    image = np.asarray(load_image(fixture_path("photo_rgb_1023x768.jpg")))
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), True, compare, to_numpy, f"[{backend}] {type(value)}")


def test_pil_without_resize_matches_transformers_pil(compare, to_numpy) -> None:
    """do_resize=False: the image and its slices as they are (transformers' pil class; its torchvision class crashes there)."""
    rng = np.random.default_rng(0)
    for shape in ((448, 448, 3), (672, 1344, 3)):
        image = rng.integers(0, 256, shape).astype(np.uint8)
        expected = _theirs("MiniCPMV4_6ImageProcessor", "pil")(image, do_resize=False, return_tensors="np")
        for backend in BACKENDS:
            got = pixelprep.MiniCPMV4_6ImageProcessor(backend=backend)(image, do_resize=False, return_tensors="np")
            _compare(got, expected, True, compare, to_numpy, f"[{backend}] do_resize=False {shape}")


def test_geometry_matches_transformers() -> None:
    """Slice grid, source size and slice canvas for many sizes and settings, against transformers' own methods."""
    theirs = _theirs("MiniCPMV4_6ImageProcessor", "torchvision")
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (7, 5), (448, 448), (449, 448), (427, 640), (90, 1200), (1, 5000), (10_000, 60), (1344, 1344)]
    sizes += [tuple(int(v) for v in rng.integers(1, 4000, 2)) for _ in range(300)]
    for max_slices, resolution in ((9, 448), (4, 448), (9, 224), (1, 448)):
        for mode, block in (("16x", 56), ("4x", 28)):
            for height, width in sizes:
                grid = theirs.get_sliced_grid((height, width), max_slices, resolution)
                assert slice_grid(height, width, max_slices, resolution) == (None if grid is None else tuple(grid)), (height, width)
                for upscale in (True, False):
                    assert slice_source_size(height, width, resolution, block, upscale) == theirs.find_best_resize((height, width), resolution, 14, mode, upscale)
                if grid is not None:
                    for upscale in (True, False):
                        assert sliced_canvas_size(height, width, tuple(grid), resolution, block, upscale) == theirs.get_refine_size((height, width), grid, resolution, 14, mode, upscale)


@pytest.mark.parametrize("family", FAMILIES)
def test_helpers_match_transformers(family: str) -> None:
    """get_sliced_grid / find_best_resize / get_refine_size / reshape_by_patch as transformers', and the view count."""
    ours, theirs = getattr(pixelprep, family)(backend="torchvision"), _theirs(family, "torchvision")
    for size in ((427, 640), (2000, 300), (90, 1200), (100, 100)):
        assert ours.get_sliced_grid(size, 9, 448) == theirs.get_sliced_grid(size, 9, 448)
        assert ours.find_best_resize(size, 448, 14, "4x") == theirs.find_best_resize(size, 448, 14, "4x")
        grid = theirs.get_sliced_grid(size, 9, 448)
        if grid:
            for upscale in (True, False):
                assert ours.get_refine_size(size, grid, 448, 14, "16x", upscale) == theirs.get_refine_size(size, grid, 448, 14, "16x", upscale)
        for kwargs in (None, {"slice_mode": False}, {"max_slice_nums": 3}):
            expected = theirs(np.zeros((*size, 3), np.uint8), **(kwargs or {}))["num_patches_per_image"]
            assert [ours.get_number_of_image_patches(*size, kwargs)] == expected
    image = torch.rand(3, 56, 84)
    assert torch.equal(ours.reshape_by_patch(image, 14), theirs.reshape_by_patch(image, 14))
    array = image.numpy()
    assert np.array_equal(ours.reshape_by_patch(array, 14), _theirs("MiniCPMV4_6ImageProcessor", "pil").reshape_by_patch(array, 14))


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    v46, ocr = pixelprep.MiniCPMV4_6ImageProcessor(backend=backend), pixelprep.MiniCPMOcrImageProcessor(backend=backend)
    with pytest.raises(InvalidImageError, match=r"view 0 is 30x50, which does not split into 14x14 patches"):
        v46(np.zeros((30, 50, 3), np.uint8), do_resize=False)
    with pytest.raises(InvalidImageError, match="an image of 700x2801 does not split into 1x8 equal slices"):
        v46(np.zeros((700, 2801, 3), np.uint8), do_resize=False)
    with pytest.raises(InvalidArgumentError, match="do_resize=False is not supported by MiniCPM-OCR"):
        ocr(np.zeros((56, 56, 3), np.uint8), do_resize=False)
    with pytest.raises(InvalidArgumentError, match="small_image_upsize='adaptive'"):
        ocr(np.zeros((56, 56, 3), np.uint8), small_image_upsize="adaptive")
    with pytest.raises(InvalidArgumentError, match="max_slice_nums must be a positive integer"):
        v46(np.zeros((56, 56, 3), np.uint8), max_slice_nums=0)
    # an extreme aspect ratio is sliced, not refused, as in transformers
    extreme = np.zeros((20, 50_000, 3), np.uint8)
    assert v46(extreme)["grids"] == _theirs("MiniCPMV4_6ImageProcessor", backend)(extreme)["grids"] == [[1, 6]]


@pytest.mark.parametrize(
    ("config", "family"),
    [({"image_processor_type": "MiniCPMV4_6ImageProcessorFast"}, "MiniCPMV4_6ImageProcessor"),
     ({"image_processor_type": "MiniCPMV4_6ImageProcessorPil"}, "MiniCPMV4_6ImageProcessor"),
     ({"model_type": "minicpmv4_6"}, "MiniCPMV4_6ImageProcessor"), ({"model_type": "minicpmv4_7"}, "MiniCPMV4_6ImageProcessor"),
     ({"image_processor_type": "MiniCPMOcrImageProcessor"}, "MiniCPMOcrImageProcessor"), ({"model_type": "minicpm_ocr"}, "MiniCPMOcrImageProcessor")],
)
def test_resolves_by_class_name_and_model_type(config: dict, family: str) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is getattr(pixelprep, family)


@pytest.mark.parametrize("family", FAMILIES)
def test_model_types_are_the_ones_transformers_maps(family: str) -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {t for t, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == family}
    assert set(getattr(pixelprep, family).model_types) == theirs


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.MiniCPMV4_6ImageProcessor(backend="pil"))
    assert "views: the source, about 448x448 pixels (aspect kept), sides multiples of 56 (bicubic)" in text
    assert "slices: the grid of up to 9 closest to its aspect" in text
    assert "every view's 14x14 patches, row-major, side by side into pixel_values (1, C, 14, patches x 14)" in text
    assert "multiples of 28" in repr(pixelprep.MiniCPMOcrImageProcessor(backend="pil"))
    assert "slices" not in repr(pixelprep.MiniCPMV4_6ImageProcessor(backend="pil", slice_mode=False)).split("views:")[1].split("\n")[0]


@pytest.mark.parametrize("family", FAMILIES)
def test_saved_config_loads_in_transformers_and_back(family: str, tmp_path) -> None:
    ours = getattr(pixelprep, family)(backend="torchvision", max_slice_nums=4, scale_resolution=336)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="torchvision")
    assert type(theirs).__name__ == family and type(again) is type(ours)
    image = (np.arange(600 * 900 * 3) % 253).astype(np.uint8).reshape(600, 900, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        assert got["pixel_values"].shape == expected["pixel_values"].shape and np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
        assert got["grids"] == expected["grids"] == [[2, 2]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """Outputs vary per image: the runner stores each image's outputs; read_row equals the image alone."""
    ours = pixelprep.MiniCPMV4_6ImageProcessor(backend=backend)
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "photo_rgb_333x517.jpg"]]
    assert_runner_rows_equal_each_image_alone(ours, inputs, tmp_path)
