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
import pathlib
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
    UnsupportedInputError,
)

URL_TIMEOUT_S = 20.0
URL_MAX_BYTES = 64 * 1024 * 1024
_EXIF_ORIENTATION = 0x0112
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


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
    return hasattr(obj, "read")


def flatten_inputs(images: Any) -> list[Any]:
    """Flatten one image, a list, a nested list, or a 4-D batch array into a flat list of single images."""
    if isinstance(images, (list, tuple)):
        flat: list[Any] = []
        for item in images:
            flat.extend(flatten_inputs(item))
        return flat
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
    name = getattr(obj, "name", None) or getattr(obj, "filename", None)  # open files, PIL images from files
    return str(name) if isinstance(name, (str, os.PathLike)) and name else f"<{type(obj).__name__}>"


# --------------------------------------------------------------------------------------------- decoding


def _fetch_url(url: str, timeout: float | None = None, max_bytes: int | None = None) -> bytes:
    # Imported here: urllib.request pulls in http, email and ssl, a quarter of `import pixelprep`.
    import urllib.error
    import urllib.request

    # Read the module settings at call time, so changing URL_TIMEOUT_S / URL_MAX_BYTES takes effect.
    timeout = URL_TIMEOUT_S if timeout is None else timeout
    max_bytes = URL_MAX_BYTES if max_bytes is None else max_bytes
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http(s) only, checked by caller
            declared = response.headers.get("Content-Length")
            if declared is not None and int(declared) > max_bytes:
                raise DownloadError(f"{url}: {declared} bytes is over the {max_bytes}-byte download cap")
            data = response.read(max_bytes + 1)
    except DownloadError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DownloadError(f"{url}: download failed: {exc}") from exc
    if len(data) > max_bytes:
        raise DownloadError(f"{url}: more than the {max_bytes}-byte download cap")
    return data


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


def open_image(source: Any, name: str | None = None, draft_target: Callable[[int, int], tuple[int, int]] | None = None):
    """Decode a path, URL, data URI, byte string or file object into a loaded PIL image, EXIF-oriented.

    Animated images give their first frame. Raises our errors for missing, corrupt, truncated, empty
    or oversized files. ``draft_target``: see :class:`LoadOptions` (JPEG files only).
    """
    Image = _pil()
    label = name or describe(source)
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if isinstance(text, str) and text.startswith(("http://", "https://")):
            source = _fetch_url(text)
        elif isinstance(text, str) and text.startswith("data:image/"):
            try:
                source = base64.b64decode(text.split(",", 1)[1], validate=False)
            except (ValueError, IndexError) as exc:
                raise ImageDecodeError(f"{label[:60]}...: not a valid base64 data URI") from exc
        elif not os.path.isfile(text):
            raise ImageNotFoundError(f"{text}: no such image file")
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageDecodeError(f"{label}: empty input, no image data")
        source = io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)) and os.path.getsize(source) == 0:
        raise ImageDecodeError(f"{label}: empty file, no image data")
    try:
        # Pillow's rule, kept as it is: over MAX_IMAGE_PIXELS it warns (a 100 MP photo still loads), over twice it refuses.
        image = Image.open(source)
        if draft_target is not None and image.format == "JPEG":
            scale = _jpeg_draft_scale(image.size[1], image.size[0], _exif_orientation(image), draft_target)
            if scale > 1:  # Pillow picks the largest scale whose size is at least the one asked for: exactly 1/scale
                image.draft(None, (image.size[0] // scale, image.size[1] // scale))
        image.load()
    except Image.DecompressionBombError as exc:
        raise DecompressionBombError(f"{label}: {exc} (raise PIL.Image.MAX_IMAGE_PIXELS to allow it)") from exc
    except FileNotFoundError as exc:
        raise ImageNotFoundError(f"{label}: no such image file") from exc
    except Image.UnidentifiedImageError as exc:  # Pillow's text names a BytesIO by its address: not reproducible
        raise ImageDecodeError(f"{label}: cannot decode image: not a known image format") from exc
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageDecodeError(f"{label}: cannot decode image: {exc}") from exc
    orientation = _exif_orientation(image)
    if orientation != 1:
        from PIL import ImageOps

        image = ImageOps.exif_transpose(image)
    return image


# ---------------------------------------------------------------------------------------- mode handling


def _sixteen_to_eight_bit(array: np.ndarray) -> np.ndarray:
    """Scale a 16-bit image to 8 bits by value (65535 -> 255), not by clipping."""
    return np.round(array.astype(np.float32) * (255.0 / 65535.0)).astype(np.uint8)


def _convert_pil(image, convert_rgb: bool):
    """A PIL image in mode L, LA, RGB or RGBA, converted the way transformers' ``convert_rgb`` does.

    Differences from transformers, on purpose: 16-bit images are scaled to 8 bits instead of clipped,
    and palette (P) and CMYK images always become RGB(A) rather than palette indices or 4 ink channels.
    """
    Image = _pil()
    if image.mode in _SIXTEEN_BIT_MODES:
        gray = _sixteen_to_eight_bit(np.clip(np.asarray(image), 0, 65535))
        image = Image.fromarray(gray, mode="L")
    elif image.mode == "F":
        raise InvalidImageError("32-bit float PIL images (mode 'F') are not supported; pass a numpy array instead")
    if convert_rgb:
        has_alpha = "A" in image.getbands() or image.info.get("transparency") is not None
        if has_alpha:
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, rgba).convert("RGB")
        elif image.mode != "RGB":
            image = image.convert("RGB")
    elif image.mode == "P":
        image = image.convert("RGBA" if image.info.get("transparency") is not None else "RGB")
    elif image.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        image = image.convert("RGB")
    elif image.mode == "1":
        image = image.convert("L")
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


def _read_bytes(source: Any) -> bytes | None:
    """The raw bytes of a local file, byte string or file object (None for URLs and data URIs)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        return None
    text = os.fspath(source)
    if isinstance(text, str) and (text.startswith(("http://", "https://", "data:")) or not os.path.isfile(text)):
        return None
    with open(text, "rb") as handle:
        return handle.read()


def _decode_jpeg_to_array(data: bytes, label: str, draft_target: Callable[[int, int], tuple[int, int]] | None = None) -> np.ndarray | None:
    """Decode a YCbCr or grayscale JPEG straight into an HWC array, EXIF-oriented; None when it does not apply.

    simplejpeg runs the same libjpeg-turbo decode as Pillow (same DCT and upsampling), so the pixels are
    identical, but it writes into NumPy memory: Pillow's decode plus ``np.asarray`` copy costs about 4x
    as much on a 12 MP photo. CMYK, unusual or broken files go through Pillow, whose errors we wrap.
    """
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    try:
        import simplejpeg
    except ImportError:
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
    try:
        orientation = _exif_orientation(Image.open(io.BytesIO(data)))
    except Exception:  # no readable header for Pillow: the decode below reports the problem
        orientation = 1
    scale = _jpeg_draft_scale(height, width, orientation, draft_target) if draft_target is not None else 1
    minimum = (-(-height // scale), -(-width // scale)) if scale > 1 else (0, 0)  # libjpeg's 1/scale size
    try:
        array = simplejpeg.decode_jpeg(
            data, colorspace="GRAY" if colorspace == "Gray" else "RGB", min_height=minimum[0], min_width=minimum[1]
        )
    except ValueError as exc:  # strict mode: truncated or corrupt data is an error, as in Pillow
        raise ImageDecodeError(f"{label}: cannot decode image: {exc}") from exc
    if orientation in _ORIENT:
        array = np.ascontiguousarray(_ORIENT[orientation](array))
    return array


def _from_pil(image, options: LoadOptions) -> Any:
    converted = _convert_pil(image, options.convert_rgb)
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


def to_canonical(obj: Any, options: LoadOptions) -> Any:
    """One raw input -> an HWC image (numpy, or a torch tensor when it lives off the CPU)."""
    label = describe(obj)
    if _is_pil_image(obj):
        image = obj
        if getattr(image, "n_frames", 1) > 1 and image.tell() != 0:
            image.seek(0)
        return _from_pil(image, options)
    if _is_torch_tensor(obj):
        if obj.device.type == "cpu":
            # numpy has no bfloat16/float16 kernels worth using: widen those, keep everything else zero-copy
            narrow_float = obj.dtype.is_floating_point and obj.element_size() < 4
            obj = (obj.float() if narrow_float else obj).detach().numpy()
        else:
            if obj.dtype.is_floating_point is False and str(obj.dtype) != "torch.uint8":
                raise InvalidImageError(f"{label}: device tensors must be uint8 or floating point, got {obj.dtype}")
            hwc = _array_to_hwc(obj.detach(), options.input_data_format, label)
            return _to_rgb(hwc, label) if options.convert_rgb else hwc
    if isinstance(obj, np.ndarray):
        if obj.size == 0:
            raise InvalidImageError(f"{label}: empty image array")
        hwc = _array_to_hwc(obj, options.input_data_format, label)
        hwc = _normalise_dtype(hwc, label)
        if np.issubdtype(hwc.dtype, np.floating) and not np.isfinite(hwc).all():
            raise InvalidImageError(f"{label}: image contains NaN or infinite values")
        return _to_rgb(hwc, label) if options.convert_rgb else hwc
    if isinstance(obj, pathlib.PurePath) or isinstance(obj, (str, bytes, bytearray, memoryview)) or hasattr(obj, "read"):
        data = None
        if not options.pil_decode:
            data = _read_bytes(obj)
            array = _decode_jpeg_to_array(data, label, options.draft_target) if data else None
            if array is not None:
                return _to_rgb(array, label) if options.convert_rgb else array
        decoded = decoders.decode(obj if data is None else data, label)  # Pillow's pixels, decoded faster; None: Pillow decodes
        if _is_pil_image(decoded):
            return _from_pil(decoded, options)
        if decoded is not None:
            return _to_rgb(decoded, label) if options.convert_rgb else decoded
        return _from_pil(open_image(obj, label, options.draft_target), options)
    raise UnsupportedInputError(f"cannot use an object of type {type(obj).__name__} as an image")


def load_images(images: Any, options: LoadOptions) -> list[Any]:
    """Flatten ``images`` and convert each to the canonical HWC form."""
    flat = flatten_inputs(images)
    if not flat:
        raise InvalidArgumentError("images is empty: pass at least one image")
    return [to_canonical(item, options) for item in flat]
