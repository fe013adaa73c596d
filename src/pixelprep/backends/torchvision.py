"""The ``torchvision`` backend: torch tensors on the CPU or a GPU, resized with torchvision's kernels.

Images stay channels-last views of their source memory: torch's antialiased uint8 resize runs on a
channels-last view directly, and is far faster there than on a contiguous CHW copy.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as tvF

from .. import buffers
from ..errors import InvalidArgumentError
from ..inputs import pil_array, pil_memory_view, pil_view
from .base import BICUBIC, BILINEAR, BOX, HAMMING, LANCZOS, NEAREST, Affine, Backend

_INTERPOLATION = {
    NEAREST: InterpolationMode.NEAREST_EXACT,
    BILINEAR: InterpolationMode.BILINEAR,
    BICUBIC: InterpolationMode.BICUBIC,
    LANCZOS: InterpolationMode.LANCZOS,
    BOX: InterpolationMode.BOX,
    HAMMING: InterpolationMode.HAMMING,
}

# Arrays decoded by Pillow are read-only; we never write into their tensors, so torch's one-time
# warning about that is noise. Trigger it here, silenced, once per process.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    _readonly = np.zeros(1, np.uint8)
    _readonly.flags.writeable = False
    torch.from_numpy(_readonly)


class TorchvisionBackend(Backend):
    """torch + torchvision, matching transformers' torchvision image processors."""

    name = "torchvision"
    formula = "torch"
    # Decoded PIL images that Pillow holds in several memory blocks (over about 4 MP) stay PIL until
    # resized: the resize reads them a band at a time (see _resize_pil_in_bands) instead of copying them whole.
    accepts_pil = True

    def __init__(self, device: Any = None) -> None:
        super().__init__(None if device is None else _usable_device(device))

    def from_canonical(self, image: Any) -> Any:
        if isinstance(image, Image.Image):
            view = pil_view(image)
            on_cpu = self.device is None or self.device.type == "cpu"
            if view is None and on_cpu and image.mode in _BAND_MODES:
                return image
            image = pil_array(image) if view is None else view
        tensor = _tensor_from_numpy(image) if isinstance(image, np.ndarray) else image
        if self.device is not None and tensor.device != self.device:
            tensor = tensor.to(self.device, non_blocking=True)
        return tensor

    def realize(self, image: Any) -> torch.Tensor:
        return _tensor_from_numpy(pil_array(image)) if isinstance(image, Image.Image) else image

    def size(self, image: Any) -> tuple[int, int]:
        if isinstance(image, Image.Image):
            return image.height, image.width
        return int(image.shape[0]), int(image.shape[1])

    def grayscale(self, image: Any) -> torch.Tensor:
        # torchvision's own kernel: its fused multiply-adds truncate a few 8-bit values differently from separate ones
        chw = self.realize(image).permute(2, 0, 1)
        return tvF.rgb_to_grayscale(chw, num_output_channels=3).permute(1, 2, 0)

    def channels(self, image: Any) -> int:
        return len(image.getbands()) if isinstance(image, Image.Image) else int(image.shape[-1])

    def is_uint8(self, image: Any) -> bool:
        return isinstance(image, Image.Image) or image.dtype == torch.uint8

    def resize(self, image: Any, size: tuple[int, int], resample: int) -> torch.Tensor:
        if isinstance(image, Image.Image):
            if resample in (BILINEAR, BICUBIC, LANCZOS):
                return _resize_pil_in_bands(image, size, _INTERPOLATION[resample])
            image = self.realize(image)
        interpolation = _INTERPOLATION.get(resample)
        if interpolation is None:
            raise InvalidArgumentError(f"resample={resample} is not a PIL resampling filter number (0-5)")
        if interpolation in (InterpolationMode.BOX, InterpolationMode.HAMMING):
            raise InvalidArgumentError(
                f"resample={interpolation.value!r} is not supported on tensors by torchvision; use backend='pil'"
            )
        if interpolation == InterpolationMode.LANCZOS and image.device.type != "cpu":
            raise InvalidArgumentError("LANCZOS resizing runs on the CPU only; use device='cpu' or backend='pil'")
        if interpolation in _CHANNELS_LAST_KERNELS and image.dtype == torch.uint8 and image.device.type == "cpu":
            padded = _four_byte_pixels(image)
            if padded is not None:
                # Channels are resized independently, so the first three of a 4-channel resize are the
                # 3-channel result; torch's fast uint8 kernel needs channels-last memory, which 4 bytes are.
                return tvF.resize(padded.permute(2, 0, 1), list(size), interpolation=interpolation, antialias=True).permute(1, 2, 0)[..., :3]
        chw = image.permute(2, 0, 1)
        if image.dtype == torch.float64:
            chw = chw.float()
        resized = tvF.resize(chw, list(size), interpolation=interpolation, antialias=True)
        return resized.permute(1, 2, 0)

    def resize_interpolate(self, image: Any, size: tuple[int, int], resample: int) -> torch.Tensor:
        if resample not in (BILINEAR, BICUBIC):
            raise InvalidArgumentError(f"resizing without antialiasing takes resample={BILINEAR} (bilinear) or {BICUBIC} (bicubic), got {resample}")
        # A contiguous CHW tensor, as transformers' classes pass it: torch's 8-bit kernels depend on the memory layout.
        chw = self.realize(image).permute(2, 0, 1).contiguous()
        return tvF.resize(chw, list(size), interpolation=_INTERPOLATION[resample], antialias=False).permute(1, 2, 0)

    def crop(self, image: Any, top: int, left: int, height: int, width: int) -> torch.Tensor:
        return self.realize(image)[top : top + height, left : left + width]

    def pad(self, image: Any, top: int, bottom: int, left: int, right: int, fill: float | tuple[float, ...] = 0) -> torch.Tensor:
        image = self.realize(image)
        out = image.new_empty((image.shape[0] + top + bottom, image.shape[1] + left + right, image.shape[2]))
        out[...] = torch.as_tensor(fill, dtype=image.dtype, device=image.device)  # one value, or one per channel
        out[top : top + image.shape[0], left : left + image.shape[1]] = image
        return out

    def allocate(self, shape: tuple[int, ...], dtype: str) -> torch.Tensor:
        if self._on_cpu():
            return torch.from_numpy(buffers.zeros(shape, dtype))  # see allocate_unfilled
        return torch.zeros(shape, dtype=getattr(torch, dtype), device=self.device)

    def allocate_unfilled(self, shape: tuple[int, ...], dtype: str) -> torch.Tensor:
        if self._on_cpu():
            # NumPy memory, not torch's: NumPy asks the kernel for huge pages for large arrays (torch's CPU allocator
            # does not), so fresh memory faults in 2 MB at a time; and large outputs reuse dropped ones (pixelprep.buffers).
            return torch.from_numpy(buffers.empty(shape, dtype))
        return torch.empty(shape, dtype=getattr(torch, dtype), device=self.device)

    def _on_cpu(self) -> bool:
        return self.device is None or self.device.type == "cpu"

    def write_chw(self, image: Any, out: torch.Tensor, affine: Affine | None) -> None:
        image = self.realize(image)
        chw = image.movedim(-1, 0)
        if affine is None or not affine.output_float:
            out.copy_(chw)
            return
        if image.dtype == torch.uint8 and image.device.type == "cpu":
            pixels, target = image.numpy(), out.numpy()
            for c in range(pixels.shape[-1]):
                affine.write_plane(pixels[..., c], target[c], c)
            return
        if image.dtype == torch.uint8:
            lut = torch.from_numpy(affine.lut).to(image.device)
            for c in range(chw.shape[0]):
                out[c] = lut[c][chw[c].long()]
            return
        out.copy_(self._affine_torch(chw.float(), affine))

    @staticmethod
    def _affine_torch(chw: torch.Tensor, affine: Affine) -> torch.Tensor:
        """The torchvision arithmetic on float tensors (any device)."""
        if affine.mean is None:
            return chw * affine.scale
        trailing = (1,) * (chw.ndim - 1)  # broadcast over every axis after the channels
        mean = torch.from_numpy(affine.torch_mean).to(chw.device).view(-1, *trailing)
        std = torch.from_numpy(affine.torch_std).to(chw.device).view(-1, *trailing)
        return (chw - mean) / std

    def all_finite(self, array: Any) -> bool:
        return bool(torch.isfinite(self.realize(array)).all())

    def host_array(self, array: Any) -> np.ndarray | None:
        if isinstance(array, torch.Tensor):
            return array.numpy() if array.device.type == "cpu" and not array.requires_grad else None
        return super().host_array(array)

    def to_numpy(self, array: Any) -> np.ndarray:
        array = self.realize(array)
        return array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)

    def from_numpy(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array)  # on the CPU, as transformers leaves its integer outputs

    def permute(self, array: Any, axes: tuple[int, ...]) -> torch.Tensor:
        return array.permute(*axes)

    def to_torch(self, array: Any) -> torch.Tensor:
        return array if isinstance(array, torch.Tensor) else torch.from_numpy(np.asarray(array))


def _tensor_from_numpy(array: np.ndarray) -> torch.Tensor:
    """A tensor sharing ``array``'s memory; for a 3-channel view of 4-byte pixels, one spanning all 4 bytes (see below)."""
    interface = getattr(array.base, "__array_interface__", None)  # the array, or Pillow's memory, this one views
    if (
        interface is not None
        and array.ndim == 3
        and array.shape[2] == 3
        and tuple(interface["shape"]) == (*array.shape[:2], 4)
        and interface["typestr"] == "|u1"
        and interface["data"][0] == array.__array_interface__["data"][0]
        and (interface.get("strides") or (4 * array.shape[1], 4, 1)) == array.strides
    ):
        return torch.from_numpy(np.asarray(array.base))[..., :3]  # e.g. Pillow's RGB memory (RGBX), not copied
    if any(stride < 0 for stride in array.strides):  # a flipped view (a[::-1]): torch has no negative strides
        array = np.ascontiguousarray(array)
    return torch.from_numpy(array)


# torch's antialiased uint8 kernels with a fast path on interleaved (channels-last) memory, 3-5x faster than on planes
# (copying planes to interleaved memory first costs more than it saves: torch's permuted copy is slow)
_CHANNELS_LAST_KERNELS = (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC, InterpolationMode.LANCZOS)
_BAND_MODES = ("L", "RGB", "RGBA")
_BAND_BYTES = 4 << 20  # a band's size in Pillow's layout: small enough to stay in cache between its copy and its resize


def _resize_pil_in_bands(image: Image.Image, size: tuple[int, int], interpolation: InterpolationMode) -> torch.Tensor:
    """Resize an L, RGB or RGBA PIL image held in several memory blocks, reading it a band of rows at a time.

    torch's antialiased resize runs the horizontal pass, then the vertical one, and its horizontal pass
    treats each row alone: so each band is copied out of Pillow (``crop``, which runs without the GIL)
    and resized horizontally, and the stacked bands are resized vertically. The result equals one
    resize of the whole image, bit for bit, without ever holding a full-size copy of it.
    """
    width, height = image.size
    rows = max(1, _BAND_BYTES // (4 * width))
    bands = []
    for top in range(0, height, rows):
        band = image.crop((0, top, width, min(height, top + rows)))
        view = pil_memory_view(band)
        pixels = torch.from_numpy(view) if view is not None else _tensor_from_numpy(pil_array(band))
        narrowed = tvF.resize(pixels.permute(2, 0, 1), [pixels.shape[0], size[1]], interpolation=interpolation, antialias=True)
        bands.append(narrowed.permute(1, 2, 0))
    stacked = torch.cat(bands)  # channels-last, as torch's fast uint8 kernel wants it
    resized = tvF.resize(stacked.permute(2, 0, 1), list(size), interpolation=interpolation, antialias=True).permute(1, 2, 0)
    return resized[..., :3] if image.mode == "RGB" else resized  # Pillow stores RGB as 4 bytes (RGBX)


def _four_byte_pixels(image: torch.Tensor) -> torch.Tensor | None:
    """The 4-channel view under a CPU uint8 RGB view of 4-byte pixels (RGBX or RGBA memory), or None.

    torch resizes such a strided 3-channel view on a slow path (about 8x slower on a 12 MP photo);
    the same memory seen as 4 dense channels takes the fast one.
    """
    height, width, channels = image.shape
    if channels != 3 or image.dtype != torch.uint8 or image.device.type != "cpu" or image.stride() != (4 * width, 4, 1):
        return None
    if image.storage_offset() + 4 * height * width > image.untyped_storage().nbytes():
        return None
    return image.as_strided((height, width, 4), (4 * width, 4, 1))


def _usable_device(device: Any) -> torch.device:
    """``device`` as a torch.device, checked once by allocating on it, so a bad name or a missing GPU is our error."""
    try:
        parsed = torch.device(device)
        torch.empty(0, device=parsed)
    except (RuntimeError, AssertionError, TypeError) as exc:  # torch's errors for unknown, uncompiled or absent devices
        raise InvalidArgumentError(f"device {device!r} cannot be used here: {exc}") from exc
    return parsed
