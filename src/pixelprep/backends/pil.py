"""The ``pil`` backend: NumPy arrays, resized with Pillow. Always available."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from .. import buffers
from ..errors import InvalidArgumentError, InvalidImageError
from .base import Affine, Backend

_MODES_BY_CHANNELS = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


class PilBackend(Backend):
    """NumPy + Pillow, matching transformers' ``...ImageProcessorPil`` classes bit for bit."""

    name = "pil"
    formula = "numpy"
    accepts_pil = True  # a decoded PIL image is resized as it is: no copy of the full-size pixels
    decodes_with_pil = True

    def __init__(self, device: Any = None) -> None:
        from ..params import is_cpu_device

        if not is_cpu_device(device):  # silently running on the CPU would hide a wrong device name or a missing GPU
            raise InvalidArgumentError(f"device {device!r}: the pil backend runs on the CPU only; use backend='torchvision' for other devices")
        super().__init__(None)

    def from_canonical(self, image: Any) -> Any:
        if isinstance(image, (np.ndarray, Image.Image)):
            return image
        return image.detach().cpu().numpy()  # a device tensor

    def realize(self, image: Any) -> np.ndarray:
        if isinstance(image, Image.Image):
            array = np.asarray(image)
            return array[:, :, None] if array.ndim == 2 else array
        return image

    def size(self, image: Any) -> tuple[int, int]:
        if isinstance(image, Image.Image):
            return image.height, image.width
        return int(image.shape[0]), int(image.shape[1])

    def channels(self, image: Any) -> int:
        return len(image.getbands()) if isinstance(image, Image.Image) else int(image.shape[-1])

    def is_uint8(self, image: Any) -> bool:
        return isinstance(image, Image.Image) or image.dtype == np.uint8

    def resize(
        self, image: Any, size: tuple[int, int], resample: int, box: tuple[float, float, float, float] | None = None, reducing_gap: float | None = None
    ) -> np.ndarray:
        height, width = size
        if isinstance(image, Image.Image):
            return self.realize(image.resize((width, height), resample=resample, box=box, reducing_gap=reducing_gap))
        channels = image.shape[2]
        if image.dtype == np.uint8:
            mode = _MODES_BY_CHANNELS.get(channels)
            if mode is None:
                raise InvalidImageError(f"Pillow cannot resize an image with {channels} channels")
            source = Image.fromarray(image[:, :, 0] if channels == 1 else image, mode=mode)
            resized = np.asarray(source.resize((width, height), resample=resample, box=box, reducing_gap=reducing_gap))
            return resized[:, :, None] if resized.ndim == 2 else resized
        # Float images are resized channel by channel in Pillow's 32-bit float mode, without the
        # round trip through uint8 that transformers makes (which loses precision).
        planes = [
            np.asarray(Image.fromarray(np.ascontiguousarray(image[:, :, c], dtype=np.float32), mode="F").resize((width, height), resample=resample, box=box, reducing_gap=reducing_gap))
            for c in range(channels)
        ]
        return np.stack(planes, axis=-1)

    def resize_region(self, image: Any, box: tuple[float, float, float, float], size: tuple[int, int], resample: int) -> np.ndarray:
        return self.resize(image, size, resample, box)

    def resize_reducing(self, image: Any, size: tuple[int, int], resample: int, reducing_gap: float) -> np.ndarray:
        return self.resize(image, size, resample, reducing_gap=reducing_gap)

    def crop(self, image: Any, top: int, left: int, height: int, width: int) -> np.ndarray:
        return self.realize(image)[top : top + height, left : left + width]

    def pad(self, image: Any, top: int, bottom: int, left: int, right: int, fill: float | tuple[float, ...] = 0) -> np.ndarray:
        image = self.realize(image)
        height, width, channels = image.shape
        out = np.empty((height + top + bottom, width + left + right, channels), image.dtype)
        out[...] = fill  # one value, or one per channel (np.pad only takes the former)
        out[top : top + height, left : left + width] = image
        return out

    def allocate(self, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        return buffers.zeros(shape, dtype)

    def allocate_unfilled(self, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        return buffers.empty(shape, dtype)

    def write_chw(self, image: np.ndarray, out: np.ndarray, affine: Affine | None) -> None:
        if affine is None or not affine.output_float:
            out[...] = np.moveaxis(image, -1, 0)
        elif image.dtype == np.uint8:
            for c in range(image.shape[-1]):
                affine.write_plane(image[..., c], out[c], c)
        else:
            out[...] = np.moveaxis(affine.apply(image), -1, 0)

    def to_numpy(self, array: Any) -> np.ndarray:
        return np.asarray(array)
