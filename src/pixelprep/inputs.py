"""Turn anything a user passes into a flat list of images in one canonical form.

The canonical form is a channels-last array, ``(height, width, channels)``: a NumPy array for
everything that starts on the CPU, a torch tensor for tensors that live on another device. Decoding
(paths, bytes, URLs), EXIF orientation, mode conversion and input validation all happen here, and
every failure becomes one of our own errors naming the input.
"""

from __future__ import annotations

import base64
import functools
import io
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import decoders
from .errors import (
    DecompressionBombError,
    DownloadError,
    ImageDecodeError,
    ImageNotFoundError,
    InvalidArgumentError,
    InvalidImageError,
    PixelprepError,
    UnsupportedInputError,
)
from .geometry import pixel_limit

URL_TIMEOUT_S = 20.0  # per network operation (connect, each read)
URL_DEADLINE_S = 60.0  # for a whole download, however slowly the server sends
URL_MAX_BYTES = 64 * 1024 * 1024
#: Junk bytes a JPEG may hold between its markers before it is refused: Pillow skips junk one byte at
#: a time in Python, so a header followed by gigabytes of zeros would take minutes to refuse.
JPEG_MAX_JUNK_BYTES = 1 << 20
#: How deep lists of images may nest (a batch of videos is three levels).
MAX_NESTING = 16
_HEAD_BYTES = 1 << 16  # read first from a file, enough for most JPEGs' markers up to their frame header
_UNKNOWN_JPEG_BYTES = 64 << 20  # the largest JPEG file read into memory when its frame header lies beyond the head
_EXIF_ORIENTATION = 0x0112
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class LoadOptions:
    """How raw inputs become canonical images: RGB conversion and the channel layout of arrays."""

    convert_rgb: bool = False
    input_data_format: str | None = None  # "channels_first", "channels_last" or None to infer
    keep_pil: bool = False  # hand PIL images on as PIL (for backends that read them without a full copy)
    pil_decode: bool = False  # decode JPEG files with Pillow too, not into arrays (for backends that resize with Pillow)
    # Approximation "jpeg_draft": maps an upright (height, width) to the size the pipeline resizes it to;
    # JPEG files may then decode at a reduced scale (see _jpeg_draft_scale). None decodes at full size.
    draft_target: Callable[[int, int], tuple[int, int]] | None = None
    # Without convert_rgb: a gray or RGB PIL image whose transparency is a colour key (PNG tRNS) becomes LA/RGBA with
    # that key as alpha, as Pillow's convert gives it, instead of losing it (Inkling2 composites the alpha itself).
    key_to_alpha: bool = False


def _pil():
    from PIL import Image

    return Image


def _is_torch_tensor(obj: Any) -> bool:
    return type(obj).__module__.startswith("torch") and hasattr(obj, "dim") and hasattr(obj, "device")


def _is_pil_image(obj: Any) -> bool:
    module = type(obj).__module__
    return module.startswith("PIL.") and hasattr(obj, "getbands")


def is_image_like(obj: Any) -> bool:
    """True for one image of any supported kind (not for a list of them)."""
    if isinstance(obj, (str, os.PathLike, bytes, bytearray, memoryview)) or _is_pil_image(obj):
        return True
    if isinstance(obj, np.ndarray) or _is_torch_tensor(obj):
        return obj.ndim in (2, 3)
    return callable(getattr(obj, "read", None))


def flatten_inputs(images: Any) -> list[Any]:
    """Flatten one image, a list, a nested list, or a 4-D batch array into a flat list of single images."""
    flat: list[Any] = []
    _flatten_into(images, flat, depth=0, open_lists=set())
    return flat


def _flatten_into(images: Any, flat: list[Any], depth: int, open_lists: set[int]) -> None:
    if isinstance(images, (list, tuple)):
        if depth >= MAX_NESTING:
            raise InvalidArgumentError(f"images are nested more than {MAX_NESTING} lists deep")
        if id(images) in open_lists:
            raise InvalidArgumentError("images contains itself (a list that holds itself cannot be flattened)")
        open_lists.add(id(images))
        for item in images:
            _flatten_into(item, flat, depth + 1, open_lists)
        open_lists.discard(id(images))
        return
    flat.extend(_split_batch(images))


def _split_batch(images: Any) -> list[Any]:
    """One non-list input as a list of single images (a 4-D array is a batch)."""
    if isinstance(images, np.ndarray) or _is_torch_tensor(images):
        if images.ndim == 4:
            return list(images)
        if images.ndim not in (2, 3):
            raise InvalidImageError(
                f"an image array must have 2 (HW), 3 (HWC or CHW) or 4 (batch) dimensions; got shape {tuple(images.shape)}"
            )
        return [images]
    if is_image_like(images):
        return [images]
    raise UnsupportedInputError(
        f"cannot use an object of type {type(images).__name__} as an image: pass a path, URL, bytes, PIL image, "
        "numpy array, torch tensor, or a list of these"
    )


def describe(obj: Any) -> str:
    """A short name for an input, used in error messages and manifests."""
    if isinstance(obj, (str, os.PathLike)):
        return str(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return f"<{len(obj)} bytes>"
    if isinstance(obj, np.ndarray) or _is_torch_tensor(obj):
        return f"<{type(obj).__name__} shape={tuple(obj.shape)} dtype={obj.dtype}>"
    try:
        name = getattr(obj, "name", None) or getattr(obj, "filename", None)  # open files, PIL images from files
    except Exception:  # a property of a user's object that raises: describe it by its type
        name = None
    return str(name) if isinstance(name, (str, os.PathLike)) and name else f"<{type(obj).__name__}>"


# --------------------------------------------------------------------------------------------- decoding


class _Deadline:
    """Shuts down every socket of one download when its overall deadline passes, so a blocked read returns."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[Any] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._timer.cancel()

    def watch(self, sock: Any) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def handlers(self) -> list[Any]:
        """urllib handlers whose connections report their sockets to this deadline."""
        import http.client
        import urllib.request

        deadline = self

        class Watched(http.client.HTTPConnection):
            def connect(self) -> None:
                super().connect()
                deadline.watch(self.sock)

        class WatchedTLS(http.client.HTTPSConnection):
            def connect(self) -> None:
                super().connect()
                deadline.watch(self.sock)

        class Handler(urllib.request.HTTPHandler):
            def http_open(self, req: Any) -> Any:
                return self.do_open(Watched, req)

        class TLSHandler(urllib.request.HTTPSHandler):
            def https_open(self, req: Any) -> Any:
                return self.do_open(WatchedTLS, req, context=self._context)

        return [Handler(), TLSHandler()]


def _shut(sock: Any) -> None:
    import socket

    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


def _fetch_url(url: str, timeout: float | None = None, max_bytes: int | None = None, deadline: float | None = None) -> bytes:
    """The body of ``url``: each network operation waits at most ``timeout`` s, the whole download ``deadline`` s."""
    # Imported here: urllib.request pulls in http, email and ssl, a quarter of `import pixelprep`.
    import http.client
    import urllib.error
    import urllib.request

    # Read the module settings at call time, so changing URL_TIMEOUT_S / URL_DEADLINE_S / URL_MAX_BYTES takes effect.
    timeout = URL_TIMEOUT_S if timeout is None else timeout
    max_bytes = URL_MAX_BYTES if max_bytes is None else max_bytes
    watchdog = _Deadline(URL_DEADLINE_S if deadline is None else deadline)
    chunks: list[bytes] = []
    try:
        with watchdog, urllib.request.build_opener(*watchdog.handlers()).open(url, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared is not None and int(declared) > max_bytes:
                raise DownloadError(f"{url}: {declared} bytes is over the {max_bytes}-byte download cap")
            received = 0
            while chunk := response.read1(1 << 16):  # whatever has arrived: the deadline is checked between reads
                received += len(chunk)
                if received > max_bytes:
                    raise DownloadError(f"{url}: more than the {max_bytes}-byte download cap")
                chunks.append(chunk)
    except DownloadError:
        raise
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        # HTTPException covers a bad status line, a broken chunked body and too many headers.
        if watchdog.expired:
            raise DownloadError(f"{url}: not downloaded within {watchdog.seconds:g} s (pixelprep.inputs.URL_DEADLINE_S)") from exc
        raise DownloadError(f"{url}: download failed: {type(exc).__name__}: {exc}") from exc
    if watchdog.expired:  # the shut socket ended the body early: what arrived is not the whole image
        raise DownloadError(f"{url}: not downloaded within {watchdog.seconds:g} s (pixelprep.inputs.URL_DEADLINE_S)")
    return b"".join(chunks)


def _exif_orientation(image) -> int:
    """The EXIF orientation tag of an opened PIL image (1 = upright)."""
    try:
        return image.getexif().get(_EXIF_ORIENTATION, 1) or 1
    except Exception:  # a malformed EXIF block must not make a good image unreadable
        return 1


def _jpeg_draft_scale(height: int, width: int, orientation: int, target: Callable[[int, int], tuple[int, int]]) -> int:
    """The largest JPEG DCT scale (8, 4 or 2) for a stored ``height`` x ``width`` image, or 1 for a full decode.

    A scale qualifies when the scaled image stays at least twice the resize output on both sides and
    resizes to the very same size, so the approximation never changes an output's shape.
    """
    if orientation in (5, 6, 7, 8):  # stored sideways
        height, width = width, height
    full = target(height, width)
    for scale in (8, 4, 2):
        scaled = (-(-height // scale), -(-width // scale))  # libjpeg rounds scaled sizes up
        if scaled[0] >= 2 * full[0] and scaled[1] >= 2 * full[1] and target(*scaled) == full:
            return scale
    return 1


def _seek_start(obj: Any) -> int | None:
    """Move a seekable file object to its start and return where it was; None (and no move) for streams that cannot seek."""
    seekable = getattr(obj, "seekable", None)
    if not callable(seekable) or not seekable():
        return None
    position = obj.tell()
    obj.seek(0)
    return position


def _read_file_object(obj: Any, label: str) -> bytes:
    """The whole file behind ``obj``, which must read bytes: from its start where it can seek, as Pillow reads it, leaving it where it was."""
    try:
        start = _seek_start(obj)
        data = obj.read()
        if start is not None:
            obj.seek(start)
    except Exception as exc:  # the object's own read: closed files, sockets, user classes
        raise ImageDecodeError(f"{label}: cannot read from the file object: {type(exc).__name__}: {exc}") from exc
    if isinstance(data, str):
        raise UnsupportedInputError(f"{label}: read() returned text, not bytes; open the file in binary mode ('rb')")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise UnsupportedInputError(f"{label}: read() returned {type(data).__name__}, not bytes")
    return bytes(data)


def _resolve_source(source: Any, label: str) -> bytes | str:
    """A path, URL, data URI, byte string or file object as the bytes of the file, or the path of a local file."""
    if hasattr(source, "read") and not isinstance(source, (str, bytes, bytearray, memoryview, os.PathLike)):
        source = _read_file_object(source, label)
    elif isinstance(source, (str, os.PathLike)):
        try:
            text = os.fspath(source)
        except Exception as exc:  # a user's __fspath__ that raises or returns something else
            raise UnsupportedInputError(f"{label}: not a usable path: {type(exc).__name__}: {exc}") from exc
        if isinstance(text, bytes):
            text = os.fsdecode(text)
        if text.startswith(("http://", "https://")):
            source = _fetch_url(text)
        elif text.startswith("data:image/"):
            try:
                source = base64.b64decode(text.split(",", 1)[1], validate=False)
            except (ValueError, IndexError) as exc:
                raise ImageDecodeError(f"{label[:60]}...: not a valid base64 data URI") from exc
        elif not os.path.isfile(text):
            raise ImageNotFoundError(f"{text}: no such image file")
        elif os.path.getsize(text) == 0:
            raise ImageDecodeError(f"{label}: empty file, no image data")
        else:
            return text
    data = bytes(source)
    if not data:
        raise ImageDecodeError(f"{label}: empty input, no image data")
    return data


def _open_stream(source: bytes | str, label: str) -> Any:
    """A binary stream over resolved bytes or a local file, with our errors for unreadable files."""
    if isinstance(source, bytes):
        return io.BytesIO(source)
    try:
        stream = open(source, "rb")
    except FileNotFoundError as exc:
        raise ImageNotFoundError(f"{label}: no such image file") from exc
    except OSError as exc:  # permissions, a path that became a folder, ...
        raise ImageDecodeError(f"{label}: cannot read file: {exc}") from exc
    return stream


def _check_jpeg_junk(stream: Any, label: str) -> None:
    """Refuse a JPEG with more than ``JPEG_MAX_JUNK_BYTES`` of junk between its markers, before Pillow reads them.

    Walks the markers up to the start of scan with Pillow's own rules (its marker table, junk skipped,
    segments skipped by their length), but finds the end of a junk run with ``bytes.find`` instead of
    one read per byte. Anything else wrong is left for Pillow to judge.
    """
    from PIL.JpegImagePlugin import MARKER

    stream.seek(2)
    junk = 0
    byte = stream.read(1)
    while byte:
        if byte != b"\xff":  # junk: skip to the next 0xFF
            while True:
                start = stream.tell()
                chunk = stream.read(1 << 16)
                index = chunk.find(b"\xff")
                junk += len(chunk) if index < 0 else index + 1
                if junk > JPEG_MAX_JUNK_BYTES:
                    raise ImageDecodeError(
                        f"{label}: cannot decode image: more than {JPEG_MAX_JUNK_BYTES} junk bytes between JPEG markers "
                        "(pixelprep.inputs.JPEG_MAX_JUNK_BYTES)"
                    )
                if not chunk:
                    return
                if index >= 0:
                    stream.seek(start + index)
                    break
            byte = stream.read(1)
            continue
        second = stream.read(1)
        if not second:
            return
        marker = 0xFF00 | second[0]
        if marker in MARKER:
            if MARKER[marker][2] is not None:  # a segment with a length: skip it
                length = stream.read(2)
                if len(length) < 2 or int.from_bytes(length, "big") < 2:  # a length that would step backwards: Pillow judges it
                    return
                stream.seek(int.from_bytes(length, "big") - 2, io.SEEK_CUR)
            if marker == 0xFFDA:  # start of scan: Pillow stops reading markers here
                return
            byte = stream.read(1)
        elif marker == 0xFFFF:  # fill byte: the second 0xFF starts the marker
            byte = b"\xff"
        elif marker == 0xFF00:
            byte = stream.read(1)
        else:
            return  # Pillow refuses it ("no marker found")


def _pil_open(source: bytes | str, label: str, draft_target: Callable[[int, int], tuple[int, int]] | None = None):
    """Pillow's decode of resolved bytes or a local file: loaded, EXIF-oriented, with our errors."""
    Image = _pil()
    stream = _open_stream(source, label)
    try:
        head = stream.read(3)
        if head == b"\xff\xd8\xff":
            _check_jpeg_junk(stream, label)
        stream.seek(0)
        # Pillow's rule, kept as it is: over MAX_IMAGE_PIXELS it warns (a 100 MP photo still loads), over twice it refuses.
        image = Image.open(stream)
        if draft_target is not None and image.format == "JPEG":
            scale = _jpeg_draft_scale(image.size[1], image.size[0], _exif_orientation(image), draft_target)
            if scale > 1:  # Pillow picks the largest scale whose size is at least the one asked for: exactly 1/scale
                image.draft(None, (image.size[0] // scale, image.size[1] // scale))
        image.load()
    except Image.DecompressionBombError as exc:
        raise DecompressionBombError(f"{label}: {exc} (raise PIL.Image.MAX_IMAGE_PIXELS to allow it)") from exc
    except Image.UnidentifiedImageError as exc:  # Pillow's text names a BytesIO by its address: not reproducible
        raise ImageDecodeError(f"{label}: cannot decode image: not a known image format") from exc
    except PixelprepError:
        raise
    except Exception as exc:  # Pillow's plugins report malformed files with whatever their parsing hits (struct.error, IndexError, ...)
        raise ImageDecodeError(f"{label}: cannot decode image: {type(exc).__name__}: {exc}") from exc
    finally:
        stream.close()  # the image is loaded: Pillow no longer reads from it
    orientation = _exif_orientation(image)
    if orientation != 1:
        from PIL import ImageOps

        try:
            image = ImageOps.exif_transpose(image)
        except (ValueError, OSError, TypeError) as exc:
            raise ImageDecodeError(f"{label}: cannot apply the EXIF orientation: {exc}") from exc
    return image


def open_image(source: Any, name: str | None = None, draft_target: Callable[[int, int], tuple[int, int]] | None = None):
    """Decode a path, URL, data URI, byte string or file object into a loaded PIL image, EXIF-oriented.

    Animated images give their first frame. Raises our errors for missing, corrupt, truncated, empty
    or oversized files. ``draft_target``: see :class:`LoadOptions` (JPEG files only).
    """
    label = name or describe(source)
    return _pil_open(_resolve_source(source, label), label, draft_target)


# ---------------------------------------------------------------------------------------- mode handling


def _sixteen_to_eight_bit(array: np.ndarray) -> np.ndarray:
    """Scale a 16-bit image to 8 bits by value (65535 -> 255), not by clipping."""
    return np.round(array.astype(np.float32) * (255.0 / 65535.0)).astype(np.uint8)


# Modes Pillow can hold that are better read as one of L, LA, RGB and RGBA before anything else.
_PLAIN_MODES = {"La": "LA", "RGBa": "RGBA", "PA": "RGBA", "RGBX": "RGB", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB", "1": "L"}


def _convert_pil(image, convert_rgb: bool, label: str, key_to_alpha: bool = False):
    """A PIL image in mode L, LA, RGB or RGBA, converted the way transformers' ``convert_rgb`` does
    (``key_to_alpha``: see :class:`LoadOptions`).

    Differences from transformers, on purpose: 16-bit images are scaled to 8 bits instead of clipped,
    palette (P) and CMYK images always become RGB(A) rather than palette indices or 4 ink channels, and
    premultiplied-alpha modes (La, RGBa) are un-premultiplied first.
    """
    Image = _pil()
    if image.mode == "F":
        raise InvalidImageError(f"{label}: 32-bit float PIL images (mode 'F') are not supported; pass a numpy array instead")
    try:
        if image.mode in _SIXTEEN_BIT_MODES:
            gray = _sixteen_to_eight_bit(np.clip(np.asarray(image), 0, 65535))
            image = Image.fromarray(gray, mode="L")
        elif image.mode == "P":
            image = image.convert("RGBA" if image.info.get("transparency") is not None else "RGB")
        elif image.mode in _PLAIN_MODES:
            image = image.convert(_PLAIN_MODES[image.mode])
        if convert_rgb:
            has_alpha = "A" in image.getbands() or image.info.get("transparency") is not None
            if has_alpha:
                rgba = image.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                image = Image.alpha_composite(background, rgba).convert("RGB")
            elif image.mode != "RGB":
                image = image.convert("RGB")
        elif key_to_alpha and image.mode in ("L", "RGB") and image.info.get("transparency") is not None:
            image = image.convert(image.mode + "A")
    except (ValueError, OSError, TypeError) as exc:  # a conversion Pillow does not have, or a malformed transparency entry
        raise InvalidImageError(f"{label}: cannot convert a PIL image of mode {image.mode!r}: {exc}") from exc
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        raise InvalidImageError(f"{label}: PIL images of mode {image.mode!r} are not supported")
    return image


@functools.cache
def _arrow_abi() -> tuple[Any, Any, Any]:
    """ctypes views of the Arrow C data interface structs, and PyCapsule_GetPointer (built on first use)."""
    import ctypes

    class Schema(ctypes.Structure):
        pass

    Schema._fields_ = [
        ("format", ctypes.c_char_p), ("name", ctypes.c_char_p), ("metadata", ctypes.c_char_p), ("flags", ctypes.c_int64),
        ("n_children", ctypes.c_int64), ("children", ctypes.POINTER(ctypes.POINTER(Schema))),
        ("dictionary", ctypes.c_void_p), ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p),
    ]  # fmt: skip

    class Array(ctypes.Structure):
        pass

    Array._fields_ = [
        ("length", ctypes.c_int64), ("null_count", ctypes.c_int64), ("offset", ctypes.c_int64), ("n_buffers", ctypes.c_int64),
        ("n_children", ctypes.c_int64), ("buffers", ctypes.POINTER(ctypes.c_void_p)),
        ("children", ctypes.POINTER(ctypes.POINTER(Array))), ("dictionary", ctypes.c_void_p),
        ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p),
    ]  # fmt: skip
    # A private prototype: setting restype on ctypes.pythonapi's shared function would change it for everyone.
    get_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(("PyCapsule_GetPointer", ctypes.pythonapi))
    return Schema, Array, get_pointer


class _PillowMemory:
    """Holds the Arrow capsule that keeps a PIL image's pixel memory alive, for a NumPy array viewing it."""

    def __init__(self, capsule: Any, interface: dict[str, Any]) -> None:
        self._capsule = capsule  # released (and the memory with it) when the last array viewing it goes
        self.__array_interface__ = interface


def pil_memory_view(image) -> np.ndarray | None:
    """A read-only ``(H, W, 1 or 4)`` view of an L, RGB or RGBA image's own memory, or None where Pillow cannot export it.

    Pillow exports an image held in one memory block through the Arrow C data interface (no copy);
    big images (over 16 MB in Pillow's layout, about 4 megapixels) are spread over several blocks and
    give None. RGB pixels are stored as 4 bytes (RGBX), so an RGB view has 4 channels.
    """
    channels = {"L": 1, "RGB": 4, "RGBA": 4}.get(image.mode)
    width, height = image.size
    if channels is None or not hasattr(image, "__arrow_c_array__") or width * height == 0:
        return None
    try:
        schema_capsule, array_capsule = image.__arrow_c_array__()
    except (ValueError, TypeError, OSError):  # "rows are not contiguous in memory": a multi-block image
        return None
    Schema, Array, get_pointer = _arrow_abi()
    schema = Schema.from_address(get_pointer(schema_capsule, b"arrow_schema"))
    array = Array.from_address(get_pointer(array_capsule, b"arrow_array"))
    if channels == 4:  # a fixed-size list of 4 bytes per pixel: the bytes are its child array
        if schema.format != b"+w:4" or schema.n_children != 1 or array.n_children != 1:
            return None
        schema, array = schema.children[0].contents, array.children[0].contents
    if schema.format != b"C" or array.n_buffers != 2 or array.length != width * height * channels or not array.buffers[1]:
        return None
    interface = {"version": 3, "shape": (height, width, channels), "typestr": "|u1", "data": (array.buffers[1] + array.offset, True)}
    return np.asarray(_PillowMemory(array_capsule, interface))


def pil_array(image) -> np.ndarray:
    """An 8-bit PIL image as a read-only HWC array: a view of Pillow's memory where it can be had, else one copy.

    ``np.asarray(image)`` copies every pixel (twice over, through ``tobytes``); on this path it is
    most of the cost of preprocessing a decoded photo.
    """
    view = pil_view(image)
    if view is not None:
        return view
    array = np.asarray(image)
    return array[:, :, None] if array.ndim == 2 else array


def pil_view(image) -> np.ndarray | None:
    """A read-only HWC view of an L, RGB or RGBA image's own memory (RGB as 3 of its 4 bytes), or None; see :func:`pil_memory_view`."""
    view = pil_memory_view(image)
    return view[:, :, :3] if view is not None and image.mode == "RGB" else view


# Orientation tag value -> the array view that shows the image upright (as PIL.ImageOps.exif_transpose does).
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def _jpeg_data(source: bytes | str, label: str) -> bytes | None:
    """The whole of a JPEG file or byte string, or None for other formats and for files too big for their frame header.

    A local file is identified from its first bytes before the rest is read, and read whole only when
    its size is plausible for the image its header declares; anything else is left to Pillow, which
    reads a file as it decodes (a 2 GiB file of zeros behind a small header never reaches memory).
    """
    if isinstance(source, bytes):
        return source if source.startswith(b"\xff\xd8\xff") else None
    import simplejpeg

    with _open_stream(source, label) as stream:
        head = stream.read(_HEAD_BYTES)
        if not head.startswith(b"\xff\xd8\xff"):
            return None
        try:
            height, width, _, _ = simplejpeg.decode_jpeg_header(head)
            # Compressed pixels, metadata and an embedded preview stay well under 4 bytes per pixel plus 16 MiB.
            plausible = _HEAD_BYTES + (16 << 20) + 4 * height * width
        except ValueError:  # markers longer than the head (large metadata): read files of an ordinary size
            plausible = _UNKNOWN_JPEG_BYTES
        if os.fstat(stream.fileno()).st_size > plausible:
            return None
        try:
            return head + stream.read()
        except OSError as exc:
            raise ImageDecodeError(f"{label}: cannot read file: {exc}") from exc


def _decode_jpeg_to_array(source: bytes | str, label: str, draft_target: Callable[[int, int], tuple[int, int]] | None = None) -> np.ndarray | None:
    """Decode a YCbCr or grayscale JPEG straight into an HWC array, EXIF-oriented; None when it does not apply.

    simplejpeg runs the same libjpeg-turbo decode as Pillow (same DCT and upsampling), so the pixels are
    identical, but it writes into NumPy memory: Pillow's decode plus ``np.asarray`` copy costs about 4x
    as much on a 12 MP photo. CMYK, unusual or broken files go through Pillow, so that Pillow's verdict
    on a damaged file is the one every input kind and backend gives (libjpeg in strict mode refuses
    files Pillow decodes).
    """
    try:
        import simplejpeg
    except ImportError:
        return None
    data = _jpeg_data(source, label)
    if data is None:
        return None
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    if colorspace not in ("YCbCr", "Gray"):
        return None
    Image = _pil()
    limit = Image.MAX_IMAGE_PIXELS
    if limit and height * width > limit:
        return None  # open_image gives Pillow's decompression-bomb warning or our error
    stream = io.BytesIO(data)
    _check_jpeg_junk(stream, label)
    stream.seek(0)
    try:
        orientation = _exif_orientation(Image.open(stream))
    except Exception:  # no header Pillow accepts: _pil_open gives its verdict
        return None
    scale = _jpeg_draft_scale(height, width, orientation, draft_target) if draft_target is not None else 1
    minimum = (-(-height // scale), -(-width // scale)) if scale > 1 else (0, 0)  # libjpeg's 1/scale size
    try:
        array = simplejpeg.decode_jpeg(
            data, colorspace="GRAY" if colorspace == "Gray" else "RGB", min_height=minimum[0], min_width=minimum[1]
        )
    except ValueError:  # strict mode stops at any libjpeg warning: Pillow decides whether the file is usable
        return None
    if orientation in _ORIENT:
        array = np.ascontiguousarray(_ORIENT[orientation](array))
    return array


# Lazily opened PIL images are loaded under a lock, so one image passed twice (or shared between
# threads) is decoded once; images are spread over the locks by identity, so distinct ones load in parallel.
_LOAD_LOCKS = [threading.Lock() for _ in range(64)]


def _loaded_pil(image, label: str):
    """A user's PIL image on its first frame and loaded, with our errors for closed or broken ones."""
    with _LOAD_LOCKS[(id(image) >> 4) % len(_LOAD_LOCKS)]:
        try:
            if getattr(image, "n_frames", 1) > 1 and image.tell() != 0:
                image.seek(0)
            image.load()
        except Exception as exc:  # closed files ("Operation on closed image"), truncated data, Pillow's parse errors
            raise ImageDecodeError(f"{label}: cannot load the PIL image: {type(exc).__name__}: {exc}") from exc
    if image.width < 1 or image.height < 1:
        raise InvalidImageError(f"{label}: empty image ({image.width}x{image.height} pixels)")
    return image


def _from_pil(image, options: LoadOptions, label: str) -> Any:
    check_pixels(image.height, image.width, label)
    converted = _convert_pil(image, options.convert_rgb, label, options.key_to_alpha)
    return converted if options.keep_pil else pil_array(converted)


def _infer_channels_last(shape: Sequence[int], input_data_format: str | None, label: str) -> bool:
    """Whether a 3-D array is HWC (True) or CHW (False); ambiguous shapes count as channels-first."""
    if input_data_format is not None:
        fmt = str(getattr(input_data_format, "value", input_data_format))
        if fmt in ("channels_last", "last"):
            return True
        if fmt in ("channels_first", "first"):
            return False
        raise InvalidArgumentError(f"input_data_format must be 'channels_first' or 'channels_last', got {input_data_format!r}")
    first, last = shape[0], shape[-1]
    if first in (1, 3, 4):
        return False
    if last in (1, 3, 4):
        return True
    raise InvalidImageError(
        f"{label}: cannot tell the channel axis of an array of shape {tuple(shape)}: an image needs 1, 3 or 4 "
        "channels first or last (pass input_data_format to say which)"
    )


def _array_to_hwc(array: Any, input_data_format: str | None, label: str) -> Any:
    """A 2-D or 3-D numpy array / torch tensor as an HWC view (no copy)."""
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim != 3:
        raise InvalidImageError(f"{label}: an image must have 2 or 3 dimensions, got shape {tuple(array.shape)}")
    if _infer_channels_last(array.shape, input_data_format, label):
        return array
    return array.permute(1, 2, 0) if _is_torch_tensor(array) else np.moveaxis(array, 0, -1)


def _normalise_dtype(array: np.ndarray, label: str) -> np.ndarray:
    """uint8 and float arrays pass through; bool, 16-bit and small integer arrays become uint8."""
    if array.dtype.kind in "biuf" and not array.dtype.isnative:  # big-endian data: torch reads native byte order only
        array = array.astype(array.dtype.newbyteorder("="))
    if array.dtype == np.uint8 or np.issubdtype(array.dtype, np.floating):
        if np.issubdtype(array.dtype, np.floating) and array.dtype != np.float32 and array.dtype != np.float64:
            return array.astype(np.float32)
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16:
        return _sixteen_to_eight_bit(array)
    if np.issubdtype(array.dtype, np.integer):
        low, high = (int(array.min()), int(array.max())) if array.size else (0, 0)
        if low < 0 or high > 255:
            raise InvalidImageError(
                f"{label}: integer image values must lie in [0, 255] (or be uint16), got [{low}, {high}] in dtype {array.dtype}"
            )
        return array.astype(np.uint8)
    raise InvalidImageError(f"{label}: unsupported image dtype {array.dtype}")


def _to_rgb(array: Any, label: str) -> Any:
    """1-channel -> 3 (replicated); 2 (gray+alpha) and 4 (RGBA) channels -> blended onto white."""
    channels = array.shape[-1]
    if channels == 3:
        return array
    if channels == 1:
        return array.expand(-1, -1, 3) if _is_torch_tensor(array) else np.repeat(array, 3, axis=-1)
    if channels not in (2, 4):
        raise InvalidImageError(f"{label}: cannot convert an image with {channels} channels to RGB")
    is_torch = _is_torch_tensor(array)
    floating = array.is_floating_point() if is_torch else np.issubdtype(array.dtype, np.floating)
    if floating and (float(array.min()) < 0.0 or float(array.max()) > 1.0):
        raise InvalidImageError(
            f"{label}: an image with alpha must hold values in [0, 1] (float) or [0, 255] (uint8) to be blended "
            f"onto white; got [{float(array.min())}, {float(array.max())}]"
        )
    white = 1.0 if floating else 255.0
    color = array[..., :-1]
    if channels == 2:
        color = color.expand(-1, -1, 3) if is_torch else np.repeat(color, 3, axis=-1)
    if is_torch:
        alpha = array[..., -1:].double() / white
        blended = alpha * color.double() + (1 - alpha) * white
        return (blended if floating else blended.round()).to(array.dtype)
    alpha = array[..., -1:] / white
    blended = alpha * color + (1 - alpha) * white
    return (blended if floating else np.round(blended)).astype(array.dtype)


def check_pixels(height: int, width: int, label: str) -> None:
    """Refuse an input image of more pixels than ``pixelprep.MAX_OUTPUT_PIXELS`` before any work is done on it."""
    limit = pixel_limit()
    if limit is not None and height * width > limit:
        raise InvalidImageError(
            f"{label}: {height}x{width} = {height * width} pixels is over pixelprep.MAX_OUTPUT_PIXELS = {limit} (raise it to allow larger images)"
        )


def _tensor_to_hwc(tensor: Any, options: LoadOptions, label: str) -> Any:
    """A torch tensor as an HWC image: a NumPy view for CPU tensors, a tensor for other devices."""
    if str(tensor.layout) != "torch.strided" or getattr(tensor, "is_nested", False):
        raise UnsupportedInputError(f"{label}: {tensor.layout} tensors are not images; pass a dense tensor (.to_dense())")
    if tensor.device.type == "meta":
        raise UnsupportedInputError(f"{label}: a tensor on the meta device holds no data")
    if tensor.is_quantized:
        raise InvalidImageError(f"{label}: quantized tensors ({tensor.dtype}) are not images; pass tensor.dequantize()")
    if tensor.is_complex():
        raise InvalidImageError(f"{label}: unsupported image dtype {tensor.dtype}")
    if tensor.ndim in (2, 3) and tensor.numel() > 0:
        check_pixels(*_hw(tensor.shape, options.input_data_format, label), label)
    if tensor.device.type == "cpu":
        # numpy has no bfloat16/float16 kernels worth using: widen those, keep everything else zero-copy
        narrow_float = tensor.dtype.is_floating_point and tensor.element_size() < 4
        try:
            return (tensor.float() if narrow_float else tensor).detach().resolve_neg().numpy()
        except (TypeError, RuntimeError) as exc:  # dtypes NumPy has no equivalent for
            raise InvalidImageError(f"{label}: unsupported image dtype {tensor.dtype}: {exc}") from exc
    if tensor.dtype.is_floating_point is False and str(tensor.dtype) != "torch.uint8":
        raise InvalidImageError(f"{label}: device tensors must be uint8 or floating point, got {tensor.dtype}")
    if tensor.numel() == 0:
        raise InvalidImageError(f"{label}: empty image tensor")
    hwc = _array_to_hwc(tensor.detach(), options.input_data_format, label)
    if hwc.is_floating_point() and not bool(hwc.isfinite().all()):
        raise InvalidImageError(f"{label}: image contains NaN or infinite values")
    return _to_rgb(hwc, label) if options.convert_rgb else hwc


def _hw(shape: Sequence[int], input_data_format: str | None, label: str) -> tuple[int, int]:
    """(height, width) of a 2-D or 3-D array shape."""
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    return (int(shape[0]), int(shape[1])) if _infer_channels_last(shape, input_data_format, label) else (int(shape[1]), int(shape[2]))


def to_canonical(obj: Any, options: LoadOptions) -> Any:
    """One raw input -> an HWC image (numpy, or a torch tensor when it lives off the CPU)."""
    label = describe(obj)
    if _is_pil_image(obj):
        return _from_pil(_loaded_pil(obj, label), options, label)
    if _is_torch_tensor(obj):
        obj = _tensor_to_hwc(obj, options, label)
        if not isinstance(obj, np.ndarray):
            return obj
    if isinstance(obj, np.ndarray):
        if type(obj) is not np.ndarray:  # np.matrix and other subclasses index differently: take the plain array
            obj = np.asarray(obj)
        if obj.size == 0:
            raise InvalidImageError(f"{label}: empty image array")
        hwc = _array_to_hwc(obj, options.input_data_format, label)
        check_pixels(hwc.shape[0], hwc.shape[1], label)
        hwc = _normalise_dtype(hwc, label)
        if np.issubdtype(hwc.dtype, np.floating):
            if not np.isfinite(hwc).all():
                raise InvalidImageError(f"{label}: image contains NaN or infinite values")
            if hwc.dtype == np.float64 and np.abs(hwc).max() > _FLOAT32_MAX:  # every backend computes in float32
                raise InvalidImageError(f"{label}: image values up to {np.abs(hwc).max():g} do not fit in float32")
        return _to_rgb(hwc, label) if options.convert_rgb else hwc
    if isinstance(obj, (str, os.PathLike, bytes, bytearray, memoryview)) or callable(getattr(obj, "read", None)):
        source = _resolve_source(obj, label)
        if not options.pil_decode:
            array = _decode_jpeg_to_array(source, label, options.draft_target)
            if array is not None:
                check_pixels(array.shape[0], array.shape[1], label)
                return _to_rgb(array, label) if options.convert_rgb else array
        decoded = decoders.decode(source, label)  # Pillow's pixels, decoded faster; None: Pillow decodes
        if _is_pil_image(decoded):
            return _from_pil(decoded, options, label)
        if decoded is not None:
            check_pixels(decoded.shape[0], decoded.shape[1], label)
            return _to_rgb(decoded, label) if options.convert_rgb else decoded
        return _from_pil(_pil_open(source, label, options.draft_target), options, label)
    raise UnsupportedInputError(f"cannot use an object of type {type(obj).__name__} as an image")


def load_images(images: Any, options: LoadOptions) -> list[Any]:
    """Flatten ``images`` and convert each to the canonical HWC form."""
    flat = flatten_inputs(images)
    if not flat:
        raise InvalidArgumentError("images is empty: pass at least one image")
    return [to_canonical(item, options) for item in flat]
