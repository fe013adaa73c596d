"""HEIC/HEIF and AVIF inputs (phone photos): decoded through Pillow plugins, EXIF orientation honoured,
and an error naming the extra to install where no plugin is there."""

from __future__ import annotations

import functools
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

import pixelprep
from pixelprep import ImageDecodeError, decoders
from pixelprep.inputs import LoadOptions, to_canonical

PHOTO = Path(__file__).parent / "fixtures" / "images" / "photo_rgb_333x517.jpg"  # portrait: 333 wide, 517 tall


@functools.cache
def _encoded(fmt: str, orientation: int | None) -> bytes:
    """The portrait photo as HEIC (pillow-heif, in the dev extra) or AVIF (Pillow), with an EXIF orientation tag."""
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    photo = Image.open(PHOTO).convert("RGB")
    save: dict = {"quality": 90}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        save["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    photo.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def _pillow_upright(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    image.load()
    return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
@pytest.mark.parametrize("orientation", [None, 6, 3])
def test_phone_photos_decode_upright(fmt: str, orientation: int | None, tmp_path: Path) -> None:
    data = _encoded(fmt, orientation)
    path = tmp_path / f"photo.{fmt.lower()}"
    path.write_bytes(data)
    expected = _pillow_upright(data)
    # orientation 6 turns the portrait photo a quarter turn: the upright image is landscape
    assert expected.shape[:2] == ((333, 517) if orientation == 6 else (517, 333))
    for source in (path, str(path), data, io.BytesIO(data)):
        np.testing.assert_array_equal(to_canonical(source, LoadOptions(convert_rgb=True)), expected)


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_phone_photos_through_a_processor(fmt: str, backend: str, tmp_path: Path) -> None:
    data = _encoded(fmt, 6)
    path = tmp_path / f"photo.{fmt.lower()}"
    path.write_bytes(data)
    processor = pixelprep.CLIPImageProcessor(backend=backend)
    reference = Image.fromarray(_pillow_upright(data))
    np.testing.assert_array_equal(
        processor(path, return_tensors="np")["pixel_values"], processor(reference, return_tensors="np")["pixel_values"]
    )


@pytest.mark.parametrize(("fmt", "extra", "plugin"), [("HEIF", "heif", "pillow-heif"), ("AVIF", "avif", "pillow-avif-plugin")])
def test_a_missing_plugin_is_an_error_naming_the_extra(fmt: str, extra: str, plugin: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = _encoded(fmt, None)
    path = tmp_path / f"photo.{extra}"
    path.write_bytes(data)
    monkeypatch.setattr(decoders, "_plugin_ready", lambda kind: False)
    for source in (path, data):
        with pytest.raises(ImageDecodeError, match=rf"{plugin} plugin: pip install 'pixelprep\[{extra}\]'") as raised:
            pixelprep.CLIPImageProcessor()(source)
        assert isinstance(raised.value, OSError)
    with pytest.raises(ImageDecodeError, match=f"^{re.escape(str(path))}: "):  # the message starts with the file
        to_canonical(path, LoadOptions())


def test_brands_tell_heif_from_avif_and_from_other_iso_media() -> None:
    def ftyp(major: bytes, *compatible: bytes) -> bytes:
        body = b"ftyp" + major + bytes(4) + b"".join(compatible)
        return (len(body) + 4).to_bytes(4, "big") + body + b"\x00\x00\x00\x08meta"

    assert decoders._phone_format(ftyp(b"heic", b"mif1", b"heic")) == "heif"
    assert decoders._phone_format(ftyp(b"mif1", b"heic")) == "heif"
    assert decoders._phone_format(ftyp(b"avif", b"avif", b"mif1")) == "avif"
    assert decoders._phone_format(ftyp(b"mif1", b"miaf", b"avif")) == "avif"
    assert decoders._phone_format(ftyp(b"isom", b"mp41")) is None  # an MP4 video is not an image plugin's job
    assert decoders._phone_format(b"\x89PNG\r\n\x1a\n" + bytes(56)) is None
