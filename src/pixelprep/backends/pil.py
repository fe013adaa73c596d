"""The ``pil`` backend: NumPy arrays, resized with Pillow. Always available."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from ..errors import InvalidImageError
from .base import Affine, Backend

_MODES_BY_CHANNELS = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


class PilBackend(Backend):
    """NumPy + Pillow, matching transformers' ``...ImageProcessorPil`` classes bit for bit."""

    name = "pil"
    formula = "numpy"

    def from_canonical(self, image: Any) -> np.ndarray:
        if not isinstance(image, np.ndarray):  # a device tensor
            image = image.detach().cpu().numpy()
        return image

    def size(self, image: np.ndarray) -> tuple[int, int]:
        return int(image.shape[0]), int(image.shape[1])

    def resize(self, image: np.ndarray, size: tuple[int, int], resample: int) -> np.ndarray:
        height, width = size
        channels = image.shape[2]
        if image.dtype == np.uint8:
            mode = _MODES_BY_CHANNELS.get(channels)
            if mode is None:
                raise InvalidImageError(f"Pillow cannot resize an image with {channels} channels")
            source = Image.fromarray(image[:, :, 0] if channels == 1 else image, mode=mode)
            resized = np.asarray(source.resize((width, height), resample=resample))
            return resized[:, :, None] if resized.ndim == 2 else resized
        # Float images are resized channel by channel in Pillow's 32-bit float mode, without the
        # round trip through uint8 that transformers makes (which loses precision).
        planes = [
            np.asarray(Image.fromarray(np.ascontiguousarray(image[:, :, c], dtype=np.float32), mode="F").resize((width, height), resample=resample))
            for c in range(channels)
        ]
        return np.stack(planes, axis=-1)

    def crop(self, image: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
        return image[top : top + height, left : left + width]

    def pad(self, image: np.ndarray, top: int, bottom: int, left: int, right: int, fill: float = 0) -> np.ndarray:
        return np.pad(image, ((top, bottom), (left, right), (0, 0)), mode="constant", constant_values=fill)

    def allocate(self, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        return np.zeros(shape, dtype=np.dtype(dtype))

    def write_chw(self, image: np.ndarray, out: np.ndarray, affine: Affine | None) -> None:
        if affine is None or not affine.output_float:
            out[...] = np.moveaxis(image, -1, 0)
        elif image.dtype == np.uint8:
            for c in range(image.shape[2]):
                np.take(affine.lut[c], image[:, :, c], out=out[c], mode="clip")
        else:
            out[...] = np.moveaxis(affine.apply(image), -1, 0)

    def to_numpy(self, array: Any) -> np.ndarray:
        return np.asarray(array)
