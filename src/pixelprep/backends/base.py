"""What a backend is: a handful of array operations on channels-last images.

Model families never touch torch or PIL; they describe steps, and the steps call these operations.
A backend works on its own "native" image type (NumPy arrays for ``pil``, torch tensors for
``torchvision``); images are always ``(height, width, channels)`` inside the pipeline and become
``(channels, height, width)`` only when written into the output batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidArgumentError

# PIL's resampling filter numbers, the form configs store them in.
NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING = 0, 1, 2, 3, 4, 5
RESAMPLE_NAMES = {NEAREST: "nearest", LANCZOS: "lanczos", BILINEAR: "bilinear", BICUBIC: "bicubic", BOX: "box", HAMMING: "hamming"}


class Backend(ABC):
    """The array operations one backend implements. Subclass it and register it to add a backend."""

    name: ClassVar[str] = ""
    #: The rescale/normalize arithmetic :class:`Affine` reproduces for this backend ("numpy" or "torch").
    formula: ClassVar[str] = "numpy"
    #: Whether ``from_canonical`` takes PIL images as they are (decoded images then skip a full-size copy).
    accepts_pil: ClassVar[bool] = False
    #: Whether JPEG files are best decoded by Pillow (a backend that resizes with Pillow) rather than into arrays.
    decodes_with_pil: ClassVar[bool] = False

    def __init__(self, device: Any = None) -> None:
        self.device = device

    @abstractmethod
    def from_canonical(self, image: Any) -> Any:
        """Take an HWC image from the input layer (NumPy array or torch tensor) into this backend's type."""

    @abstractmethod
    def size(self, image: Any) -> tuple[int, int]:
        """``(height, width)`` of a native image."""

    @abstractmethod
    def resize(self, image: Any, size: tuple[int, int], resample: int) -> Any:
        """Resize to ``size`` = (height, width) with a PIL resampling filter number."""

    def resize_reducing(self, image: Any, size: tuple[int, int], resample: int, reducing_gap: float) -> Any:
        """Resize as Pillow's ``resize(..., reducing_gap=...)`` does (a box reduce by a whole factor first) where the backend resizes with Pillow; others resize directly."""
        return self.resize(image, size, resample)

    def resize_region(self, image: Any, box: tuple[float, float, float, float], size: tuple[int, int], resample: int) -> Any:
        """Resize only ``box`` = (left, top, right, bottom) in source pixels (fractions allowed) to ``size``; None where unsupported."""
        return None

    def resize_interpolate(self, image: Any, size: tuple[int, int], resample: int) -> Any:
        """Resize to ``size`` by sampling the image at each output pixel's centre, without antialiasing (OpenCV's resize, torch's ``interpolate``).

        Nearest, bilinear or bicubic (PIL filter numbers). This default runs in NumPy on native NumPy arrays;
        8-bit images are rounded and clipped back to 8 bits, float ones stay float32.
        """
        return interpolate_resize(np.asarray(image), size, resample)

    @abstractmethod
    def crop(self, image: Any, top: int, left: int, height: int, width: int) -> Any:
        """The ``height`` x ``width`` region at (top, left); the region lies inside the image."""

    @abstractmethod
    def pad(self, image: Any, top: int, bottom: int, left: int, right: int, fill: float | tuple[float, ...] = 0) -> Any:
        """Surround the image with a constant border: ``fill`` is one value, or one per channel."""

    @abstractmethod
    def allocate(self, shape: tuple[int, ...], dtype: str) -> Any:
        """A zero-filled output array of ``shape``; ``dtype`` is ``"float32"`` or the images' own ``"uint8"``."""

    def allocate_unfilled(self, shape: tuple[int, ...], dtype: str) -> Any:
        """Like :meth:`allocate`, for an output every element of which will be written (the zero fill may be skipped)."""
        return self.allocate(shape, dtype)

    @abstractmethod
    def write_chw(self, image: Any, out: Any, affine: "Affine | None") -> None:
        """Write a channels-last array (HWC, or any view ``(..., C)``) into the channels-first slot ``out`` (``(C, ...)``), applying rescale/normalize (``affine``) on the way.

        Views of any rank let packers reshuffle patches and normalise in the same pass.
        """

    def permute(self, array: Any, axes: tuple[int, ...]) -> Any:
        """A view of a native array with its axes reordered (NumPy arrays here; tensor backends override)."""
        return np.transpose(array, axes)

    def host_array(self, array: Any) -> np.ndarray | None:
        """A NumPy view sharing a native array's memory, or None where it lives elsewhere (a GPU)."""
        return array if isinstance(array, np.ndarray) else None

    @abstractmethod
    def to_numpy(self, array: Any) -> np.ndarray:
        """A NumPy view or copy of a native array (output tensors included)."""

    def from_numpy(self, array: np.ndarray) -> Any:
        """A NumPy array (small outputs built on the CPU, e.g. patch grids) as this backend's output type."""
        return array

    def to_torch(self, array: Any) -> Any:
        """A torch tensor of a native array (output tensors included)."""
        import torch

        return torch.from_numpy(np.ascontiguousarray(self.to_numpy(array)))

    def realize(self, image: Any) -> Any:
        """The image as a native array once the geometric steps are done (a no-op unless a backend defers work)."""
        return image

    def grayscale(self, image: Any) -> Any:
        """An RGB HWC image as NTSC luma (0.2989 R + 0.587 G + 0.114 B) in 3 equal channels, in its own dtype (8-bit values truncated)."""
        image = np.asarray(self.realize(image))
        luma = image[..., 0].astype(np.float32) * np.float32(0.2989) + image[..., 1] * np.float32(0.587) + image[..., 2] * np.float32(0.114)
        return np.repeat(luma.astype(image.dtype)[..., None], 3, axis=-1)

    def channels(self, image: Any) -> int:
        """Number of channels of a native HWC image."""
        return int(image.shape[-1])

    def is_uint8(self, image: Any) -> bool:
        """True when the image holds 8-bit integers (the common, LUT-accelerated case)."""
        return str(image.dtype).endswith("uint8")

    def all_finite(self, array: Any) -> bool:
        """Whether every value of a native array (an output slot included) is finite."""
        return bool(np.isfinite(self.to_numpy(array)).all())

    def describe(self) -> str:
        """Name and device, for ``repr``."""
        return self.name if self.device is None else f"{self.name} ({self.device})"


class Affine:
    """Rescale and normalize as one per-channel map, evaluated with the arithmetic of one backend.

    ``formula`` names the reference arithmetic to reproduce bit for bit: ``"numpy"`` (rescale in
    float64, round to float32, then subtract and divide in float32, as transformers' pil backend does)
    or ``"torch"`` (float32 throughout, with mean and std pre-multiplied by 1/scale when both steps are
    on, as transformers' torchvision backend does).
    """

    def __init__(
        self,
        scale: float | None,
        mean: tuple[float, ...] | None,
        std: tuple[float, ...] | None,
        channels: int,
        formula: str,
    ) -> None:
        if mean is not None and len(mean) not in (1, channels):
            raise InvalidArgumentError(
                f"image_mean has {len(mean)} values but the image has {channels} channel(s); pass do_convert_rgb=True "
                "for grayscale or RGBA inputs, or a mean with one value per channel"
            )
        if std is not None and len(std) not in (1, channels):
            raise InvalidArgumentError(
                f"image_std has {len(std)} values but the image has {channels} channel(s); pass do_convert_rgb=True "
                "for grayscale or RGBA inputs, or a std with one value per channel"
            )
        self.scale = scale
        self.channels = channels
        self.mean = None if mean is None else tuple(float(m) for m in np.broadcast_to(mean, (channels,)))
        self.std = None if std is None else tuple(float(s) for s in np.broadcast_to(std, (channels,)))
        self.formula = formula
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # overflow is reported below, as our error
            self.torch_mean, self.torch_std = self._torch_mean_std() if self.mean is not None else (None, None)
            self.lut = self.apply(np.tile(np.arange(256, dtype=np.uint8)[:, None], (1, channels))).T.copy()  # (C, 256)
        if not np.isfinite(self.lut).all():
            raise InvalidArgumentError(
                f"rescale_factor={scale}, image_mean={mean}, image_std={std} take 8-bit pixel values beyond the float32 "
                "range (to infinity or NaN): use factors of a sensible size"
            )

    @property
    def output_float(self) -> bool:
        """Whether the map produces floats (anything but the identity does)."""
        return self.scale is not None or self.mean is not None

    def apply(self, values: np.ndarray) -> np.ndarray:
        """Apply the map to a channels-last NumPy array with the reference arithmetic."""
        scale = self.scale
        if self.formula == "torch":
            if self.mean is None:
                return values.astype(np.float32) * np.float32(scale) if scale is not None else values
            return (values.astype(np.float32) - self.torch_mean) / self.torch_std
        x = values
        if scale is not None:
            x = (x.astype(np.float64) * scale).astype(np.float32)
        if self.mean is not None:
            if not np.issubdtype(x.dtype, np.floating):
                x = x.astype(np.float32)
            x = (x - np.asarray(self.mean, x.dtype)) / np.asarray(self.std, x.dtype)
        return x

    def _torch_mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std in float32, pre-multiplied by 1/scale when rescaling too (the torchvision arithmetic)."""
        mean, std = np.asarray(self.mean, np.float32), np.asarray(self.std, np.float32)
        if self.scale is not None:
            inv = np.float32(1.0 / self.scale)
            mean, std = mean * inv, std * inv
        return mean, std

    def write_plane(self, plane: np.ndarray, out: np.ndarray, channel: int) -> None:
        """Map one uint8 channel plane into the float32 plane ``out``, with exactly the values of :meth:`apply`.

        The torch arithmetic runs as two in-place float32 ufuncs, which handle a strided ``out`` (a slot of a
        padded batch) without a temporary; the NumPy one, with its float64 step, takes the 256-entry table.
        """
        if self.formula != "torch":
            if out.flags.c_contiguous:
                np.take(self.lut[channel], plane, out=out, mode="clip")
                return
            # np.take into a strided slot goes through a temporary; the same arithmetic as three ufuncs does not
            np.multiply(plane, self.scale if self.scale is not None else 1.0, out=out, dtype=np.float64)
            if self.mean is not None:
                np.subtract(out, np.float32(self.mean[channel]), out=out)
                np.divide(out, np.float32(self.std[channel]), out=out)
        elif self.mean is None:
            np.multiply(plane, np.float32(self.scale), out=out, dtype=np.float32)
        else:
            np.subtract(plane, self.torch_mean[channel], out=out, dtype=np.float32)
            np.divide(out, self.torch_std[channel], out=out)


    def normalize_block(self, values: np.ndarray, axis: int) -> np.ndarray:
        """A new contiguous float32 array of uint8 ``values`` mapped with exactly the values of :meth:`apply`, channel
        ``c`` being index ``c`` of ``axis``: the pixels are cast once, then mapped in place by whole-array ufuncs."""
        shape = [1] * values.ndim
        shape[axis] = -1
        if self.formula == "torch":
            x = values.astype(np.float32)
            if self.mean is None:
                np.multiply(x, np.float32(self.scale), out=x)
            else:
                np.subtract(x, self.torch_mean.reshape(shape), out=x)
                np.divide(x, self.torch_std.reshape(shape), out=x)
            return x
        # the NumPy arithmetic: rescale in float64 rounded to float32, then subtract and divide in float32
        x = np.empty(values.shape, np.float32)
        np.multiply(values, self.scale if self.scale is not None else 1.0, out=x, dtype=np.float64)
        if self.mean is not None:
            np.subtract(x, np.asarray(self.mean, np.float32).reshape(shape), out=x)
            np.divide(x, np.asarray(self.std, np.float32).reshape(shape), out=x)
        return x


def channel_broadcast_target(channels: int, mean: tuple[float, ...] | None) -> int:
    """Channels an image must have before normalizing: a 1-channel image meets a 3-value mean as RGB."""
    if channels == 1 and mean is not None and len(mean) == 3:
        return 3
    return channels


def _cubic_weights(t: np.ndarray) -> np.ndarray:
    """torch's bicubic tap weights (A = -0.75) for fractional offsets ``t``, as (len(t), 4) float32."""
    a = np.float32(-0.75)

    def near(x: np.ndarray) -> np.ndarray:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: np.ndarray) -> np.ndarray:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = np.float32(1)
    return np.stack([far(t + one), near(t), near(one - t), far(one - t + one)], axis=1).astype(np.float32)


def interpolation_taps(in_size: int, out_size: int, resample: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, weights), each (out_size, taps), of torch's ``interpolate`` along one axis without antialias
    (align_corners=False): nearest (1 tap), bilinear (2) or bicubic (4), source positions in float32 as torch computes them."""
    scale = np.float32(in_size) / np.float32(out_size)
    dst = np.arange(out_size, dtype=np.float32)
    if resample == NEAREST:
        index = np.minimum(np.floor(dst * scale).astype(np.int64), in_size - 1)
        return index[:, None], np.ones((out_size, 1), np.float32)
    source = scale * (dst + np.float32(0.5)) - np.float32(0.5)
    if resample == BILINEAR:
        source = np.maximum(source, np.float32(0))
        first = np.floor(source).astype(np.int64)
        second = np.minimum(first + 1, in_size - 1)
        fraction = (source - first).astype(np.float32)
        return np.stack([first, second], axis=1), np.stack([1 - fraction, fraction], axis=1)
    if resample == BICUBIC:
        first = np.floor(source).astype(np.int64)
        index = np.clip(first[:, None] + np.arange(-1, 3), 0, in_size - 1)
        return index, _cubic_weights((source - first).astype(np.float32))
    raise InvalidArgumentError(f"resample={resample} ({RESAMPLE_NAMES.get(resample, resample)}) has no unantialiased form here; use nearest (0), bilinear (2) or bicubic (3)")


def interpolate_resize(image: np.ndarray, size: tuple[int, int], resample: int) -> np.ndarray:
    """An HWC NumPy image resized by interpolation at pixel centres, without antialiasing (see :meth:`Backend.resize_interpolate`).

    Width first, then height; an 8-bit image is rounded and clipped to 8 bits after each pass, as
    torch's 8-bit kernels keep their intermediate image (its results stay within one level of them).
    """
    eight_bit = image.dtype == np.uint8
    out = image.astype(np.float32)
    for axis, out_length in ((1, size[1]), (0, size[0])):
        indices, weights = interpolation_taps(image.shape[axis], out_length, resample)
        shape = [1] * out.ndim
        shape[axis] = out_length
        taken = [np.take(out, index, axis=axis) * weight.reshape(shape) for index, weight in zip(indices.T, weights.T)]
        out = np.sum(taken, axis=0, dtype=np.float32)
        if eight_bit:
            out = np.clip(np.round(out), 0, 255)
    return out.astype(np.uint8) if eight_bit else out
