"""Nougat against transformers 5.23's NougatImageProcessor (torchvision) and NougatImageProcessorPil, run in the same process.

Every fixture image, mixed-size batches, call-time options and the single-step methods; max |diff| <= 1e-5.
transformers' torchvision class turns the wrong axes with ``do_align_long_axis`` on a landscape page (README):
there its reference is the same class given the page already turned.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb
from transformers.image_utils import SizeDict

import pixelprep
from pixelprep.models.nougat import bounding_box

ATOL = 1e-5
BACKENDS = ("torchvision", "pil")
SMALL = {"size": {"height": 448, "width": 336}}
BATCH = ("photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg", "bilevel_1bit_257x171.png")


def _theirs(backend: str, **config) -> object:
    return (transformers.NougatImageProcessor if backend == "torchvision" else transformers.NougatImageProcessorPil)(**config)


def _ours(backend: str, **config) -> pixelprep.NougatImageProcessor:
    return pixelprep.NougatImageProcessor.from_dict(config, backend=backend)


def _page() -> np.ndarray:
    """A white page (HWC) with dark text-like blocks and a light-gray frame: the margin crop has work to do."""
    page = np.full((300, 220, 3), 250, np.uint8)
    page[5:295, 3:8] = 205  # light gray: margin once the levels are stretched
    page[40:60, 30:150] = 20
    page[100:230, 60:190] = (90, 120, 30)
    return page


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_matches(backend: str, image_path, load_image, compare, to_numpy, to_eight_bit) -> None:
    """Every fixture image (EXIF, gray, RGBA, palette, CMYK, 16-bit, tiny, 1200x90, large) read from its file."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)
    expected = to_numpy(_theirs(backend, **SMALL)(reference, return_tensors="np")["pixel_values"])
    got = _ours(backend, **SMALL)(str(image_path), return_tensors="np")["pixel_values"]
    assert got.shape == (1, 3, 448, 336)
    compare(got, expected, atol=ATOL, what=f"Nougat [{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "config",
    [
        {},
        {"size": {"height": 336, "width": 448}, "resample": 3},
        {**SMALL, "do_crop_margin": False},
        {**SMALL, "do_thumbnail": False, "do_pad": False, "return_tensors": None},
        {**SMALL, "do_normalize": False, "do_rescale": False},
    ],
    ids=["default", "landscape-bicubic", "no-crop-margin", "no-thumbnail-list", "uint8"],
)
def test_mixed_batch_and_options(backend: str, config: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """A batch of several sizes (gray and 1-bit pages, a drawn page) with construction options, and the same options per call."""
    config = dict(config)
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH] + [_page()]
    call = {"return_tensors": config.pop("return_tensors", "np")}
    expected = _theirs(backend, **config)(images, **call)["pixel_values"]
    compare(_ours(backend, **config)(images, **call)["pixel_values"], to_numpy(expected), atol=ATOL, what=f"Nougat [{backend}] {config}")
    compare(_ours(backend)(images, **config, **call)["pixel_values"], to_numpy(expected), atol=ATOL, what=f"Nougat [{backend}] per call {config}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_align_long_axis_turns_landscape_pages(backend: str, compare, to_numpy) -> None:
    """A landscape page is turned a quarter clockwise for a portrait size; transformers' torchvision class is given it turned."""
    landscape = np.ascontiguousarray(np.rot90(_page(), 1))
    config = {**SMALL, "do_align_long_axis": True}
    got = _ours(backend, **config)(landscape, return_tensors="np")["pixel_values"]
    if backend == "pil":
        expected = _theirs("pil", **config)(landscape, return_tensors="np")["pixel_values"]
    else:  # its rot90 over dims [1, 2] of a (1, C, H, W) batch would turn channels into rows (tens of GB on a page)
        expected = _theirs("torchvision", **SMALL)(np.ascontiguousarray(np.rot90(landscape, 3)), return_tensors="np")["pixel_values"]
    compare(got, to_numpy(expected), atol=ATOL, what=f"Nougat [{backend}] align_long_axis")
    compare(got, _ours(backend, **SMALL)(_page(), return_tensors="np")["pixel_values"], atol=0, what="turned back")


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_steps_match(backend: str) -> None:
    """crop_margin, thumbnail, pad_images, resize, python_find_non_zero and python_bounding_rect equal transformers' methods."""
    ours, theirs = _ours(backend), _theirs(backend)
    chw = np.ascontiguousarray(np.moveaxis(_page(), -1, 0))
    image = torch.from_numpy(chw) if backend == "torchvision" else chw
    size = SizeDict(height=200, width=150)
    pairs = [
        (ours.crop_margin(image), theirs.crop_margin(image)),
        (ours.crop_margin(image, gray_threshold=100), theirs.crop_margin(image, gray_threshold=100)),
        (ours.thumbnail(image, size), theirs.thumbnail(image, size)),
        (ours.resize(image, size), theirs.resize(image, size)),
        (ours.pad_images(image, SizeDict(height=305, width=230)), theirs.pad_images(image, SizeDict(height=305, width=230))),
    ]
    mask = image[:1] < 100 if backend == "torchvision" else image[0] < 100  # transformers' classes take (1, H, W) and (H, W) masks
    points, reference_points = ours.python_find_non_zero(mask), theirs.python_find_non_zero(mask)
    pairs.append((points, reference_points))
    for mine, reference in pairs:
        assert type(mine) is type(reference) and tuple(mine.shape) == tuple(reference.shape)
        assert np.array_equal(np.asarray(mine), np.asarray(reference))
    assert [int(v) for v in ours.python_bounding_rect(points)] == [int(v) for v in theirs.python_bounding_rect(reference_points)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_flat_page_is_not_cropped(backend: str) -> None:
    page = np.full((50, 40, 3), 255, np.uint8)
    chw = np.ascontiguousarray(np.moveaxis(page, -1, 0))
    processor = _ours(backend)
    assert tuple(processor.crop_margin(chw).shape) == (3, 50, 40)
    assert processor(page, return_tensors="np")["pixel_values"].shape == (1, 3, 896, 672)


def test_bounding_box() -> None:
    mask = np.zeros((6, 9), bool)
    mask[2, 3] = mask[4, 7] = True
    assert bounding_box(mask) == (2, 3, 3, 5)


def test_size_list_is_height_width() -> None:
    """Unlike Donut's, a Nougat size given as a pair is (height, width), as transformers reads it."""
    assert pixelprep.NougatImageProcessor(size=[896, 672]).size == {"height": 896, "width": 672}
