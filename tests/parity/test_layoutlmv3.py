"""LayoutLMv3/UDOP and LayoutLMv2/LayoutXLM against transformers 5.23's classes of the same backend, run in the same process.

Pixels on every fixture image (max |diff| <= 1e-5, LayoutLMv2's uint8 levels equal), mixed-size batches,
call-time options, and Tesseract's words and boxes equal to transformers' on the same tesseract. The OCR
tests need the tesseract program and pytesseract; without them they skip, saying how to install them.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import transformers
from PIL import Image, ImageDraw
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import BackendUnavailableError
from pixelprep.models import layoutlmv3 as layout_module

ATOL = 1e-5
BACKENDS = ("torchvision", "pil")
FAMILIES = ("LayoutLMv3", "LayoutLMv2")
BATCH = ("photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg")
needs_tesseract = pytest.mark.skipif(
    layout_module._tesseract_problem() is not None,
    reason=f"OCR parity needs Tesseract: {layout_module._tesseract_problem()}; {layout_module.INSTALL_OCR} (make install does it as root)",
)


def _theirs(family: str, backend: str, **config) -> object:
    return getattr(transformers, f"{family}ImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _ours(family: str, backend: str, **config) -> pixelprep.ImageProcessor:
    return getattr(pixelprep, f"{family}ImageProcessor").from_dict(config, backend=backend)


def _page(lines: list[str], size: tuple[int, int] = (520, 260), ink=(0, 0, 0)) -> Image.Image:
    """A white page with printed lines, in Pillow's built-in font: text Tesseract reads."""
    page = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(page)
    for index, line in enumerate(lines):
        draw.text((18, 20 + 60 * index), line, fill=ink, font_size=30)
    return page


def _same_pixels(got, expected, to_numpy, compare, what: str) -> None:
    expected = to_numpy(expected)
    if np.asarray(expected[0] if isinstance(expected, list) else expected).dtype == np.uint8:
        for mine, reference in zip(to_numpy(got), expected):
            assert np.asarray(mine).dtype == np.uint8 and np.array_equal(np.asarray(mine), np.asarray(reference)), what
    else:
        compare(got, expected, atol=ATOL, what=what)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_every_fixture_matches(family: str, backend: str, image_path, load_image, compare, to_numpy, to_eight_bit) -> None:
    """Every fixture image (EXIF, gray, RGBA, palette, CMYK, 16-bit, tiny, 1200x90, large) read from its file; pixels only."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)
    expected = _theirs(family, backend, apply_ocr=False)(reference, return_tensors="np")["pixel_values"]
    got = _ours(family, backend, apply_ocr=False)(str(image_path), return_tensors="np")
    assert set(got) == {"pixel_values"} and got["pixel_values"].shape == (1, 3, 224, 224)
    _same_pixels(got["pixel_values"], expected, to_numpy, compare, f"{family} [{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    "config",
    [{"size": {"height": 320, "width": 240}, "resample": 3}, {"size": 200, "resample": 0}, {"do_resize": False, "return_tensors": None}],
    ids=["bicubic-rect", "nearest-int", "no-resize-list"],
)
def test_mixed_batch_and_options(family: str, backend: str, config: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """A batch of several sizes (a gray page too) with construction options, and the same options per call."""
    config = dict(config, apply_ocr=False)
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    call = {"return_tensors": config.pop("return_tensors", "np")}
    expected = _theirs(family, backend, **config)(images, **call)["pixel_values"]
    _same_pixels(_ours(family, backend, **config)(images, **call)["pixel_values"], expected, to_numpy, compare, f"{family} [{backend}] {config}")
    per_call = _ours(family, backend, apply_ocr=False)(images, **config, **call)["pixel_values"]
    _same_pixels(per_call, expected, to_numpy, compare, f"{family} [{backend}] per call {config}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_layoutlmv3_crop_and_normalisation(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    config = {"apply_ocr": False, "do_center_crop": True, "crop_size": {"height": 200, "width": 180}, "image_mean": [0.4, 0.5, 0.6], "image_std": [0.2, 0.3, 0.4]}
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    if backend == "torchvision":
        expected = to_numpy(_theirs("LayoutLMv3", backend, **config)(images, return_tensors="np")["pixel_values"])
    else:  # transformers' pil class crashes with do_center_crop (README): its uncropped output, cropped (normalising is per pixel)
        uncropped = to_numpy(_theirs("LayoutLMv3", backend, **dict(config, do_center_crop=False))(images, return_tensors="np")["pixel_values"])
        expected = uncropped[:, :, 12:212, 22:202]
    compare(_ours("LayoutLMv3", backend, **config)(images, return_tensors="np")["pixel_values"], expected, atol=ATOL, what=f"crop [{backend}]")


@pytest.mark.parametrize("backend", BACKENDS)
def test_layoutlmv2_is_bgr_uint8_with_three_channels(backend: str, fixture_path) -> None:
    """Gray and RGBA pages become 3-channel BGR levels (transformers passes their 1 or 4 channels through: README)."""
    processor = _ours("LayoutLMv2", backend, apply_ocr=False)
    values = processor([str(fixture_path("gray_l_257x257.jpg")), str(fixture_path("rgba_alpha_radial_256x192.png"))], return_tensors="np")["pixel_values"]
    assert values.shape == (2, 3, 224, 224) and values.dtype == np.uint8
    red = np.zeros((30, 40, 3), np.uint8)
    red[..., 0] = 200
    bgr = processor(red, return_tensors="np", data_format="channels_last")["pixel_values"][0]
    assert bgr.shape == (224, 224, 3) and (bgr[..., 2] == 200).all() and not bgr[..., :2].any()


@needs_tesseract
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_ocr_words_and_boxes_match(family: str, backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """Pages of several sizes (and a photo): words, boxes and pixels equal to transformers', with its default settings."""
    pages = [_page(["Invoice 2024 total 17.50", "Paid by card"]), _page(["Second page"], (300, 120), ink=(30, 30, 120)), load_image(fixture_path("photo_rgb_333x517.jpg"))]
    expected = _theirs(family, backend)(pages, return_tensors="pt")
    got = _ours(family, backend)(pages, return_tensors="pt")
    assert set(got) == set(expected) == {"pixel_values", "words", "boxes"}
    assert got["words"] == expected["words"] and got["boxes"] == expected["boxes"]
    assert "Invoice" in got["words"][0] and len(got["boxes"][0]) == len(got["words"][0])
    _same_pixels(got["pixel_values"], expected["pixel_values"], to_numpy, compare, f"{family} [{backend}] OCR pages")


@needs_tesseract
@pytest.mark.parametrize("backend", BACKENDS)
def test_ocr_settings_at_construction_and_per_call(backend: str) -> None:
    page = _page(["Total 42 EUR", "Thank you"])
    settings = {"ocr_lang": "eng", "tesseract_config": "--psm 6"}
    expected = _theirs("LayoutLMv3", backend, **settings)(page)
    for got in (_ours("LayoutLMv3", backend, **settings)(page), _ours("LayoutLMv3", backend)(page, **settings)):
        assert got["words"] == expected["words"] and got["boxes"] == expected["boxes"]
    assert "words" not in _ours("LayoutLMv3", backend)(page, apply_ocr=False)


def test_missing_ocr_is_an_error_at_construction(monkeypatch) -> None:
    """Without Tesseract, building with apply_ocr=True (the default) says what to install; apply_ocr=False still works."""
    monkeypatch.setattr(layout_module, "_tesseract_problem", lambda: "the pytesseract package is not installed")
    for family in FAMILIES:
        cls = getattr(pixelprep, f"{family}ImageProcessor")
        with pytest.raises(BackendUnavailableError, match=r"pytesseract package is not installed.*pixelprep\[ocr\].*apt-get install tesseract-ocr"):
            cls()
        processor = cls(apply_ocr=False)
        with pytest.raises(BackendUnavailableError, match="apply_ocr=True needs Tesseract"):
            processor(np.zeros((20, 20, 3), np.uint8), apply_ocr=True)


@needs_tesseract
def test_missing_tesseract_program_is_named(monkeypatch) -> None:
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    layout_module._tesseract_problem.cache_clear()
    try:
        with pytest.raises(BackendUnavailableError, match="tesseract program cannot be run"):
            pixelprep.LayoutLMv3ImageProcessor()
    finally:
        monkeypatch.undo()
        layout_module._tesseract_problem.cache_clear()


def test_runner_refuses_ocr_and_stores_pixels_without_it(tmp_path, fixture_path, monkeypatch) -> None:
    """`pixelprep run` cannot put OCR words (text) in tensor shards: refused up front; with apply_ocr=False each row is the image alone."""
    from pixelprep.runner import read_row, run_job

    monkeypatch.setattr(layout_module, "_tesseract_problem", lambda: None)  # the refusal comes before any OCR
    inputs = [str(fixture_path("photo_rgb_640x427.jpg")), str(fixture_path("gray_l_257x257.jpg"))]
    with pytest.raises(pixelprep.InvalidArgumentError, match="apply_ocr"):
        run_job(pixelprep.LayoutLMv3ImageProcessor(), inputs, str(tmp_path / "ocr"), log=io.StringIO())
    for family in FAMILIES:
        processor = getattr(pixelprep, f"{family}ImageProcessor")(apply_ocr=False)
        out = tmp_path / family
        run_job(processor, inputs, str(out), log=io.StringIO())
        for line in (out / "manifest.jsonl").read_text().splitlines():
            entry = json.loads(line)
            row = read_row(out, entry)
            assert np.array_equal(row["pixel_values"], processor(entry["source"], return_tensors="np")["pixel_values"][0])
