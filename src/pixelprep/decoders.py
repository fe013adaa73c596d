"""Faster decoders for files whose decoding makes Pillow the bottleneck, giving exactly Pillow's pixels.

All run through ``imagecodecs`` (the ``fast-decode`` extra), which releases the GIL while it decodes,
so the thread pool decodes two files at once:

- PNG: libspng decodes 8-bit RGB and RGBA in about 0.6x Pillow's CPU time. Gray and palette images
  (one byte a pixel) decode as fast in Pillow, whose conversions to RGB are cheaper too; 16-bit and
  gray+alpha images come out of libspng in no form Pillow uses; so those stay with Pillow.
- WebP: the same libwebp as Pillow's, decoding straight into an array instead of through Pillow's
  animation canvas: about 0.4x Pillow's time on a 12 MP photo. Animated files stay with Pillow.
- TIFF: the same libtiff as Pillow's, for single-page interleaved 8-bit RGB/RGBA (unassociated
  alpha): from 0.1x (uncompressed) to 0.6x (LZW) Pillow's time on 12 MP. Other layouts stay with Pillow.

Pillow still reads the header, so its verdict on broken headers, its mode, its metadata (EXIF
orientation included) and its size limit are the ones that count; the fast decoder only supplies
the pixels. Wherever it could differ (EXIF or XMP Pillow finds only after the pixel data, corrupt
pixel data, a missing ``imagecodecs``) :func:`decode` returns None and the caller decodes with Pillow.

HEIC/HEIF and AVIF (phone photos) are decoded by Pillow plugins, ``pillow-heif`` (extra ``heif``)
and Pillow's own AVIF support or ``pillow-avif-plugin`` (extra ``avif``), registered the first time
such a file turns up; without them the error names the extra to install.
"""

from __future__ import annotations

import functools
import io
import os
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import ImageDecodeError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEAD_BYTES = 64  # the PNG signature, the RIFF....WEBP or TIFF header, or an ISO-BMFF ftyp box with its brands
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_AVIF_BRANDS = {b"avif", b"avis"}
_PNG_FAST_KINDS = {2: 8, 6: 8}  # colour type -> bit depth: 8-bit RGB and RGBA
# Text chunk keywords Pillow reads an EXIF orientation from (Image.getexif: raw EXIF profile, XMP).
_ORIENTATION_TEXT_KEYS = (b"Raw profile type exif", b"XML:com.adobe.xmp")
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
# EXIF orientation -> the PIL.Image.Transpose that shows the image upright (ImageOps.exif_transpose's table).
_TRANSPOSE = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}


def _is_png(magic: bytes) -> bool:
    return magic.startswith(PNG_SIGNATURE)


def _is_webp(magic: bytes) -> bool:
    return magic[:4] == b"RIFF" and magic[8:12] == b"WEBP"


def _is_tiff(magic: bytes) -> bool:
    return magic[:4] in (b"II*\x00", b"MM\x00*")


@functools.cache
def _imagecodecs() -> Any:
    """The imagecodecs module where its libspng and libwebp are built in, else None (Pillow decodes everything)."""
    try:
        import imagecodecs
    except ImportError:
        return None
    available = all(getattr(getattr(imagecodecs, codec, None), "available", False) for codec in ("SPNG", "WEBP", "TIFF"))
    return imagecodecs if available else None


def fast_decoders_available() -> bool:
    """True when PNG and WebP files decode through imagecodecs (``pip install pixelprep[fast-decode]``), False when through Pillow."""
    return _imagecodecs() is not None


# Room for metadata (ICC profiles, EXIF, text chunks) beyond the pixel data when judging a file's size.
_METADATA_SLACK_BYTES = 16 << 20


def _read_source(source: Any, whole: Callable[[bytes], bool]) -> tuple[bytes, bytes | None] | None:
    """``(first bytes, all bytes or None)`` of a local path, byte string or seekable binary file object; None for other sources.

    All bytes are read only where ``whole(first bytes)`` says so. A file object is read from its start,
    as ``PIL.Image.open`` reads it, and left where it was, for Pillow to read when the fast path declines.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return data[:_HEAD_BYTES], data
    if hasattr(source, "read"):
        try:
            if not source.seekable():
                return None
            start = source.tell()
            source.seek(0)
            head = source.read(_HEAD_BYTES)
            data = head + source.read() if isinstance(head, bytes) and whole(head) else None
            source.seek(start)
        except (OSError, ValueError, TypeError, AttributeError):  # closed, text-mode or exotic streams: Pillow's job
            return None
        return (head, data) if isinstance(head, bytes) else None
    if not isinstance(source, (str, os.PathLike)):
        return None
    path = os.fspath(source)
    if not isinstance(path, str) or path.startswith(("http://", "https://", "data:")) or not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES)
        if not whole(head) or not _plausible_file_size(path, os.fstat(handle.fileno()).st_size):
            return head, None
        return head, head + handle.read()


def _plausible_file_size(path: str, size: int) -> bool:
    """Whether a file of ``size`` bytes can be the image its header describes, so reading it whole is safe.

    A small header in front of gigabytes (a sparse or padded file) is left to Pillow, which reads only
    what the header needs; a header Pillow cannot read is left to Pillow's verdict too.
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
            samples = width * height * len(image.getbands())
    except Exception:  # Pillow's own decode gives the verdict, as our error
        return False
    return size <= 2 * samples + _METADATA_SLACK_BYTES  # at most 16 bits a sample, plus chunks such as ICC profiles and EXIF


def _phone_format(head: bytes) -> str | None:
    """"heif" or "avif" for an ISO-BMFF image file, by the brands of its ftyp box; None for anything else."""
    if head[4:8] != b"ftyp":
        return None
    end = min(int.from_bytes(head[:4], "big"), len(head))
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, end - 3, 4)}  # major brand, then the compatible ones
    if brands & _AVIF_BRANDS:
        return "avif"
    return "heif" if brands & _HEIF_BRANDS else None


@functools.cache
def _plugin_ready(kind: str) -> bool:
    """Make Pillow read ``kind`` ("heif" or "avif") files, once; False when no installed plugin can."""
    if kind == "heif":
        try:
            import pillow_heif
        except ImportError:
            return False
        pillow_heif.register_heif_opener()
        return True
    from PIL import features

    if features.check("avif"):  # Pillow's own AVIF plugin (in its wheels since 11.3)
        return True
    try:
        import pillow_avif  # noqa: F401 - registers its opener on import
    except ImportError:
        return False
    return True


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


def decode(source: Any, label: str) -> Any:
    """A PNG, WebP or TIFF file's first frame as Pillow decodes it, EXIF-oriented, decoded faster; None where Pillow must decode it.

    Returns an ``(H, W, 3)`` uint8 array for an RGB image without a transparent colour, else a PIL
    image in Pillow's mode (RGB with its ``transparency`` info, or RGBA) for the caller's usual conversion.
    HEIC/HEIF and AVIF files get their Pillow plugin registered (None: Pillow decodes them), or an
    :class:`ImageDecodeError` naming the extra to install.
    """
    codecs = _imagecodecs()
    read = _read_source(source, lambda head: codecs is not None and (_is_png(head) or _is_webp(head) or _is_tiff(head)))
    if read is None:
        return None
    head, data = read
    phone_format = _phone_format(head)
    if phone_format is not None and not _plugin_ready(phone_format):
        name = "HEIC/HEIF" if phone_format == "heif" else "AVIF"
        plugin = "pillow-heif" if phone_format == "heif" else "pillow-avif-plugin"
        raise ImageDecodeError(f"{label}: {name} images need the {plugin} plugin: pip install 'pixelprep[{phone_format}]'")
    if data is None or codecs is None:
        return None
    if _is_png(data):
        return _decode_png(data, codecs)
    if _is_webp(data):
        return _decode_webp(data, codecs)
    return _decode_tiff(data, codecs) if _is_tiff(data) else None


def _within_pillow_limit(width: int, height: int) -> bool:
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    return not limit or width * height <= limit  # beyond: Pillow's warning or error comes from the caller's decode


def _open_header(data: bytes) -> Any:
    """Pillow's image for ``data``, header read but pixels not decoded; None where Pillow rejects the header."""
    from PIL import Image

    try:
        return Image.open(io.BytesIO(data))
    except Exception:  # the caller's own decode raises our error for it
        return None


def _decode_png(data: bytes, codecs: Any) -> Any:
    if len(data) < 33 or data[12:16] != b"IHDR":
        return None
    width, height, bit_depth, color_type = struct.unpack_from(">IIBB", data, 16)
    if _PNG_FAST_KINDS.get(color_type) != bit_depth or not _within_pillow_limit(width, height) or not _chunks_allow_fast_path(data):
        return None
    image = _open_header(data)
    if image is None or image.size != (width, height) or not image.tile or tuple(image.tile[0][1]) != (0, 0, width, height):
        return None  # (an APNG whose first frame covers only part of the canvas is composed by Pillow)
    orientation = _orientation(image)
    if orientation is None:
        return None
    try:
        pixels = codecs.spng_decode(data)
    except Exception:  # corrupt or truncated pixel data: Pillow decides whether it is an error, and which
        return None
    return _as_pillow(pixels, image, orientation)


def _decode_webp(data: bytes, codecs: Any) -> Any:
    image = _open_header(data)
    if image is None or image.format != "WEBP" or getattr(image, "n_frames", 1) != 1 or not _within_pillow_limit(*image.size):
        return None
    try:
        orientation = image.getexif().get(0x0112, 1) or 1  # WebP's EXIF/XMP come from the header: no pixel decode
    except Exception:  # a malformed EXIF block counts as upright, as in inputs._exif_orientation
        orientation = 1
    try:
        pixels = codecs.webp_decode(data, hasalpha=image.mode == "RGBA")
    except Exception:  # corrupt or truncated data: Pillow decides
        return None
    return _as_pillow(pixels, image, orientation)


# TIFF tags that must hold these values for libtiff's raw samples to be Pillow's pixels: one page of
# interleaved (PlanarConfiguration 1) 8-bit unsigned RGB samples, any alpha unassociated (ExtraSamples 2;
# Pillow un-premultiplies associated alpha), stored upright (Pillow turns TIFFs by their Orientation
# tag while decoding, and reports the turned size).
_TIFF_RGB = {262: (2,), 284: (1,), 339: (None, 1), 274: (None, 1)}


def _decode_tiff(data: bytes, codecs: Any) -> Any:
    image = _open_header(data)
    if image is None or image.format != "TIFF" or image.mode not in ("RGB", "RGBA") or getattr(image, "n_frames", 1) != 1:
        return None
    tags = image.tag_v2
    if any(tags.get(tag) not in allowed for tag, allowed in _TIFF_RGB.items()) or set(_as_tuple(tags.get(258))) != {8}:
        return None
    if image.mode == "RGBA" and _as_tuple(tags.get(338)) != (2,):
        return None
    if not _within_pillow_limit(*image.size):
        return None
    try:
        pixels = codecs.tiff_decode(data)
    except Exception:  # corrupt or truncated data, or a layout libtiff reads differently: Pillow decides
        return None
    return _as_pillow(pixels, image, 1)


def _as_tuple(value: Any) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _as_pillow(pixels: np.ndarray, image: Any, orientation: int) -> Any:
    """Decoded RGB/RGBA ``pixels`` of Pillow's ``image``: the array itself for plain RGB, else a PIL image to convert as Pillow's."""
    from PIL import Image

    if image.mode not in ("RGB", "RGBA") or pixels.dtype != np.uint8 or pixels.shape != (image.height, image.width, len(image.mode)):
        return None
    transparency = image.info.get("transparency")
    if transparency is None and orientation == 1 and image.mode == "RGB":
        return pixels
    # Pillow's own conversions (alpha blended onto white, a tRNS colour key) run on Pillow's image of these
    # pixels; fromarray sees HW3 as RGB and HW4 as RGBA (a view of the array, not a copy).
    wrapped = Image.fromarray(pixels)
    if transparency is not None:
        wrapped.info["transparency"] = transparency
    if orientation in _TRANSPOSE:
        wrapped = wrapped.transpose(Image.Transpose[_TRANSPOSE[orientation]])  # exact, like ImageOps.exif_transpose; keeps info
    return wrapped
