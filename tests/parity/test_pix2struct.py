"""Pix2Struct and Kosmos-2.5 against transformers 5.23's classes of the same backend, run in the same process.

Every output (flattened patches with ids, the float mask, Kosmos-2.5's sizes and grids) on every fixture image,
mixed-size batches and call-time options, max |diff| <= 1e-5; the VQA header rendered with a font file the test
gives both sides (transformers' own default is Arial from the hub, which nothing here downloads).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb
from transformers.image_utils import SizeDict

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.models.pix2struct import SYSTEM_FONTS, default_font, patch_grid

ATOL = 1e-5
BACKENDS = ("torchvision", "pil")
FAMILIES = ("Pix2Struct", "Kosmos2_5")
SMALL = {"max_patches": 256}
BATCH = ("photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg", "tiny_rgb_7x5.png")


def _theirs(family: str, backend: str, **config) -> object:
    return getattr(transformers, f"{family}ImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _ours(family: str, backend: str, **config) -> pixelprep.ImageProcessor:
    return getattr(pixelprep, f"{family}ImageProcessor").from_dict(config, backend=backend)


def _font() -> str:
    try:
        return default_font()
    except InvalidArgumentError as error:
        pytest.skip(f"no DejaVu Sans to render headers with: {error}")


def _same(got, expected, to_numpy, compare, what: str) -> None:
    assert set(got) == set(expected), f"{what}: keys"
    for key in expected:
        reference = expected[key]
        reference = np.stack([np.asarray(to_numpy(v)) for v in reference]) if isinstance(reference, list) else np.asarray(to_numpy(reference))
        mine = np.asarray(to_numpy(got[key]))
        if reference.dtype.kind in "iu":
            assert np.array_equal(mine, reference), f"{what} {key}"
        else:
            compare(mine, reference, atol=ATOL, what=f"{what} {key}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_every_fixture_matches(family: str, backend: str, image_path, load_image, compare, to_numpy, to_eight_bit) -> None:
    """Every fixture image (EXIF, gray, RGBA, palette, CMYK, 16-bit, tiny, 1200x90, large) read from its file."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)
    expected = _theirs(family, backend, **SMALL)(reference, return_tensors="np")
    got = _ours(family, backend, **SMALL)(str(image_path), return_tensors="np")
    assert got["flattened_patches"].shape == (1, 256, 770)
    _same(got, expected, to_numpy, compare, f"{family} [{backend}] {image_path.name}")


def _reference(family: str, backend: str, config: dict, images: list, call: dict) -> dict:
    """transformers' outputs; its Kosmos-2.5 classes cannot patchify unstandardised uint8 images (README), so there the
    patches are Pix2Struct's (the same algorithm) and the sizes and grids Kosmos-2.5's with standardisation (they do not depend on it)."""
    if family != "Kosmos2_5" or config.get("do_normalize") is not False:
        return dict(_theirs(family, backend, **config)(images, **call))
    expected = dict(_theirs("Pix2Struct", backend, **config)(images, **call))
    geometry = _theirs(family, backend, **dict(config, do_normalize=True))(images, **call)
    expected.update({key: geometry[key] for key in ("width", "height", "rows", "cols")})
    return expected


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    "config",
    [{}, {"max_patches": 100, "patch_size": {"height": 8, "width": 8}}, {"max_patches": 64, "do_normalize": False, "return_tensors": None}],
    ids=["default", "patch-8", "unnormalised-list"],
)
def test_mixed_batch_and_options(family: str, backend: str, config: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """A batch of several sizes (a gray and a 7x5 image too) with construction options, and the same options per call."""
    config = dict(config)
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    call = {"return_tensors": config.pop("return_tensors", "pt")}
    expected = _reference(family, backend, config, images, call)
    _same(_ours(family, backend, **config)(images, **call), expected, to_numpy, compare, f"{family} [{backend}] {config}")
    _same(_ours(family, backend)(images, **config, **call), expected, to_numpy, compare, f"{family} [{backend}] per call {config}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_vqa_header_with_a_given_font(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """render_header equals transformers' with the same font file; the pipeline equals transformers given that rendered page."""
    font = _font()
    ours, theirs = _ours("Pix2Struct", backend, is_vqa=True, max_patches=300), _theirs("Pix2Struct", backend, max_patches=300)
    photo = np.asarray(load_image(fixture_path("photo_rgb_333x517.jpg")).convert("RGB"))
    chw = np.ascontiguousarray(np.moveaxis(photo, -1, 0))
    image = torch.from_numpy(chw) if backend == "torchvision" else chw
    question = "What is the total amount shown on this receipt, including the tax and the tip that were added?"
    mine, reference = ours.render_header(image, question, font_path=font), theirs.render_header(image, question, font_path=font)
    assert type(mine) is type(reference) and np.array_equal(np.asarray(mine), np.asarray(reference))
    with open(font, "rb") as handle:
        assert np.array_equal(np.asarray(ours.render_header(image, question, font_bytes=handle.read())), np.asarray(reference))
    expected = theirs(reference, return_tensors="pt")
    _same(ours(photo, header_text=question, font_path=font, return_tensors="pt"), expected, to_numpy, compare, f"VQA [{backend}]")
    # one header per image, in order
    pages = [photo, photo[::2].copy()]
    got = ours(pages, header_text=["first question", question], font_path=font, return_tensors="np")
    half = np.ascontiguousarray(np.moveaxis(pages[1], -1, 0))
    second = theirs(theirs.render_header(torch.from_numpy(half) if backend == "torchvision" else half, question, font_path=font), return_tensors="np")
    compare(got["flattened_patches"][1:], to_numpy(second["flattened_patches"]), atol=ATOL, what="second header")


def test_vqa_errors_and_default_font(fixture_path) -> None:
    processor = pixelprep.Pix2StructImageProcessor(is_vqa=True, max_patches=64)
    photo = str(fixture_path("photo_rgb_333x517.jpg"))
    with pytest.raises(InvalidArgumentError, match="header_text"):
        processor(photo)
    with pytest.raises(InvalidArgumentError, match="2 header texts for 1 images"):
        processor(photo, header_text=["a", "b"])
    with pytest.raises(InvalidArgumentError, match="font_path"):
        processor(photo, header_text="a", font_path=str(fixture_path("photo_rgb_333x517.jpg")))
    if any(__import__("os").path.isfile(path) for path in SYSTEM_FONTS):
        assert processor(photo, header_text="What is this?")["flattened_patches"].shape == (1, 64, 770)


@pytest.mark.parametrize("backend", BACKENDS)
def test_extract_flattened_patches_matches(backend: str) -> None:
    ours, theirs = _ours("Pix2Struct", backend), _theirs("Pix2Struct", backend)
    image = np.random.default_rng(0).normal(size=(3, 45, 70)).astype(np.float32)
    given = torch.from_numpy(np.stack([image, image[:, ::-1].copy()])) if backend == "torchvision" else image
    mine, reference = ours.extract_flattened_patches(given, 50, SizeDict(height=8, width=8)), theirs.extract_flattened_patches(given, 50, SizeDict(height=8, width=8))
    assert type(mine) is type(reference) and tuple(mine.shape) == tuple(reference.shape)
    assert np.abs(np.asarray(mine) - np.asarray(reference)).max() <= ATOL


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_normalize_is_per_image_standardisation(family: str, backend: str) -> None:
    ours, theirs = _ours(family, backend), _theirs(family, backend)
    image = np.random.default_rng(1).integers(0, 256, (3, 20, 30)).astype(np.float32)
    given = torch.from_numpy(np.stack([image, image * 0.5])) if backend == "torchvision" else image
    mine, reference = ours.normalize(given), theirs.normalize(given)
    assert type(mine) is type(reference) and tuple(mine.shape) == tuple(reference.shape)
    assert np.abs(np.asarray(mine) - np.asarray(reference)).max() <= ATOL


def test_patch_grid_and_settings() -> None:
    assert patch_grid(427, 640, 16, 16, 2048) == (36, 55)
    assert patch_grid(1, 10000, 16, 16, 2048) == (1, 2048)  # each count within 1..max_patches
    with pytest.raises(InvalidArgumentError, match="square"):
        pixelprep.Pix2StructImageProcessor(patch_size={"height": 16, "width": 8})
    assert pixelprep.Kosmos2_5ImageProcessor().max_patches == 4096
