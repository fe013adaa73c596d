"""Faster decoders for files whose decoding Pillow makes the bottleneck, giving exactly Pillow's pixels.

PNG: libspng (through ``imagecodecs``, which releases the GIL while it decodes, so the thread pool
decodes two files at once) decodes 8-bit RGB and RGBA in about 0.6x Pillow's time. Pillow still
reads the header, so its verdict on broken headers, its mode, its metadata and its size limit are
the ones that count; libspng only supplies the pixels, and only where they are Pillow's for that
mode. Everything else (gray, palette, 16-bit, EXIF or XMP that Pillow only finds after the pixel
data, corrupt pixel data, a missing ``imagecodecs``) returns None, and the caller decodes with
Pillow as before.
"""

from __future__ import annotations

import functools
import io
import os
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Colour types decoded here, 8-bit only: RGB (2) and RGBA (6), where libspng takes about 0.6x Pillow's CPU
# time. Gray and palette images (1 byte a pixel) decode as fast in Pillow, whose conversions to RGB are
# cheaper too; 16-bit and gray+alpha images come out of libspng in no form Pillow uses.
_FAST_PNG_KINDS = {2: 8, 6: 8}
# Text chunk keywords Pillow reads an EXIF orientation from (Image.getexif: raw EXIF profile, XMP).
_ORIENTATION_TEXT_KEYS = (b"Raw profile type exif", b"XML:com.adobe.xmp")
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
# EXIF orientation -> the PIL.Image.Transpose that shows the image upright (ImageOps.exif_transpose's table).
_TRANSPOSE = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}


@functools.cache
def _spng_decode() -> Callable[[bytes], np.ndarray] | None:
    """imagecodecs' libspng decoder, or None when imagecodecs (the ``fast-png`` extra) is not installed."""
    try:
        import imagecodecs
    except ImportError:
        return None
    spng = getattr(imagecodecs, "SPNG", None)
    return imagecodecs.spng_decode if spng is not None and spng.available else None


def png_decoder_available() -> bool:
    """True when PNG files are decoded by libspng (``pip install pixelprep[fast-png]``), False when by Pillow."""
    return _spng_decode() is not None


def _png_bytes(source: Any) -> bytes | None:
    """The bytes of a PNG given as a local path, byte string or seekable binary file object, else None.

    Only the 8-byte signature is read from files that turn out not to be PNGs. A file object is read
    from its start, as ``PIL.Image.open`` reads it, and left where it was, for Pillow when this path declines.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return data if data.startswith(PNG_SIGNATURE) else None
    if hasattr(source, "read"):
        try:
            if not source.seekable():
                return None
            start = source.tell()
            source.seek(0)
            head = source.read(len(PNG_SIGNATURE))
            data = head + source.read() if head == PNG_SIGNATURE else None
            source.seek(start)
        except (OSError, ValueError, TypeError, AttributeError):  # closed, text-mode or exotic streams: Pillow's job
            return None
        return data if isinstance(data, bytes) else None
    if not isinstance(source, (str, os.PathLike)):
        return None
    path = os.fspath(source)
    if not isinstance(path, str) or path.startswith(("http://", "https://", "data:")) or not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:
        if handle.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
            return None
        return PNG_SIGNATURE + handle.read()


def _chunks_allow_fast_path(data: bytes) -> bool:
    """False when a chunk after the pixel data could change what Pillow returns (EXIF/XMP orientation read at load time)."""
    position, end, seen_pixels = len(PNG_SIGNATURE), len(data), False
    while position + 8 <= end:
        length, kind = struct.unpack_from(">I4s", data, position)
        if kind == b"IEND":
            break
        if kind in (b"IDAT", b"fdAT"):
            seen_pixels = True
        elif seen_pixels and kind == b"eXIf":
            return False
        elif seen_pixels and kind in _TEXT_CHUNKS:
            keyword = data[position + 8 : position + 8 + min(length, 80)].split(b"\x00", 1)[0]
            if keyword in _ORIENTATION_TEXT_KEYS:
                return False
        position += 12 + length
    return True


def _orientation(image: Any) -> int | None:
    """The EXIF orientation Pillow would apply, from the chunks before the pixel data; None where only a full load tells."""
    info = image.info
    if "exif" in info:  # an eXIf chunk before IDAT: getexif reads it without loading the pixels
        try:
            return image.getexif().get(0x0112, 1) or 1
        except Exception:  # a malformed EXIF block counts as upright, as in inputs._exif_orientation
            return 1
    if any(key in info for key in ("Raw profile type exif", "XML:com.adobe.xmp", "xmp")):
        return None  # PngImageFile.getexif would decode the whole image first: leave it to Pillow
    return 1


def decode_png(source: Any) -> Any:
    """A PNG's first frame as Pillow decodes it, EXIF-oriented, through libspng; None where Pillow must decode it.

    Returns an ``(H, W, 3)`` uint8 array for an RGB image without a transparent colour, else a PIL
    image in Pillow's mode (RGB with its ``transparency`` info, or RGBA) for the caller's usual conversion.
    """
    decode = _spng_decode()
    data = _png_bytes(source) if decode is not None else None
    if data is None or len(data) < 33 or data[12:16] != b"IHDR":
        return None
    width, height, bit_depth, color_type = struct.unpack_from(">IIBB", data, 16)
    if _FAST_PNG_KINDS.get(color_type) != bit_depth:
        return None
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    if limit and width * height > limit:
        return None  # Pillow's decompression-bomb warning or error comes from the caller's own decode
    if not _chunks_allow_fast_path(data):
        return None
    try:
        image = Image.open(io.BytesIO(data))  # header only: Pillow's mode, metadata and verdict on the header
    except Exception:  # a header Pillow rejects: the caller's decode raises our error for it
        return None
    transparency = image.info.get("transparency")
    orientation = _orientation(image)
    full_frame = (0, 0, width, height)
    if orientation is None or image.size != (width, height) or not image.tile or tuple(image.tile[0][1]) != full_frame:
        return None  # (an APNG whose first frame covers only part of the canvas is composed by Pillow)
    try:
        pixels = decode(data)
    except Exception:  # corrupt or truncated pixel data: Pillow decides whether it is an error, and which
        return None
    if pixels.shape != (height, width, 3 if image.mode == "RGB" else 4):
        return None
    if transparency is None and orientation == 1 and image.mode == "RGB":
        return pixels
    # Pillow's own conversions (alpha blended onto white, the tRNS colour key) run on Pillow's image of these
    # pixels; fromarray sees HW3 as RGB and HW4 as RGBA (a view of the array, not a copy).
    wrapped = Image.fromarray(pixels)
    if transparency is not None:
        wrapped.info["transparency"] = transparency
    if orientation != 1:
        wrapped = wrapped.transpose(Image.Transpose[_TRANSPOSE[orientation]])  # exact, like ImageOps.exif_transpose; keeps info
    return wrapped
