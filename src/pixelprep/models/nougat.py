"""Nougat: Donut's page pipeline with the white margin cropped first, at 896x672, ImageNet normalisation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..auto import register_family
from ..backends import Backend
from ..backends.base import BICUBIC
from ..params import normalize_bool
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from .donut import DonutImageProcessor, Thumbnail, _size_pair, centred_padding, _Pad

GRAY_THRESHOLD = 200


def content_mask(backend: Backend, image: Any, gray_threshold: float) -> np.ndarray | None:
    """Where an RGB page is darker than ``gray_threshold`` after stretching its gray levels to 0..255; None for a flat page.

    The gray levels are those of transformers' class of the backend: torchvision's float weights
    truncated to 8 bits (torch arithmetic), or Pillow's rounded "L" conversion (NumPy arithmetic).
    """
    image = backend.realize(image)
    if backend.formula == "torch":
        tensor = backend.to_torch(image)
        if tensor.shape[-1] >= 3:
            red, green, blue = tensor[..., 0], tensor[..., 1], tensor[..., 2]
            gray = red.mul(0.2989).add_(green, alpha=0.587).add_(blue, alpha=0.114).to(tensor.dtype)
        else:
            gray = tensor[..., 0]
        low, high = gray.min(), gray.max()
        if low == high:
            return None
        return backend.to_numpy(((gray - low) / (high - low) * 255 < gray_threshold).cpu())
    pixels = backend.to_numpy(image)
    if pixels.shape[-1] >= 3:
        weighted = pixels[..., 0].astype(np.uint32) * 19595 + pixels[..., 1].astype(np.uint32) * 38470 + pixels[..., 2].astype(np.uint32) * 7471
        gray = ((weighted + 0x8000) >> 16).astype(np.uint8)
    else:
        gray = pixels[..., 0]
    low, high = gray.min(), gray.max()
    if low == high:
        return None
    return (gray - low) / (high - low) * 255 < gray_threshold


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the smallest box holding every True of a non-empty 2-D mask."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


@dataclass(frozen=True)
class CropMargin:
    """Crop to the box of the page's content: pixels darker than ``gray_threshold`` once the gray levels are stretched."""

    gray_threshold: float = GRAY_THRESHOLD

    def apply(self, backend: Backend, image: Any) -> Any:
        mask = content_mask(backend, image, self.gray_threshold)
        if mask is None:  # one gray level: nothing is margin
            return image
        return backend.crop(image, *bounding_box(mask))

    def describe(self) -> str:
        return f"crop the margin (gray levels stretched to 0..255, content below {self.gray_threshold:g})"


@register_family
class NougatImageProcessor(DonutImageProcessor):
    """Nougat (academic PDFs to markup)."""

    transformers_class = "NougatImageProcessor"
    model_types = ("nougat",)
    class_aliases = ()
    defaults = {
        "size": {"height": 896, "width": 672},
        "do_crop_margin": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
    }
    extra_params = {"do_crop_margin": normalize_bool}

    @classmethod
    def _normalize(cls, values: dict[str, Any], partial: bool) -> dict[str, Any]:
        """A list or tuple ``size`` is (height, width) here, as everywhere but Donut."""
        return super(DonutImageProcessor, cls)._normalize(values, partial)

    def page_steps(self, params: dict[str, Any]) -> list[Any]:
        """The margin crop, on the image as given (before any turn or resize)."""
        return [CropMargin()] if params.get("do_crop_margin") else []

    def thumbnail_step(self, params: dict[str, Any], height: int, width: int) -> Thumbnail:
        """Always BICUBIC; transformers' pil class resizes with Pillow's ``reducing_gap=2`` (a box reduce first), its torchvision class directly."""
        return Thumbnail(height, width, BICUBIC, reducing_gap=2.0)

    # ------------------------------------------------- single steps (transformers' public methods)

    def crop_margin(self, image: Any, gray_threshold: int = GRAY_THRESHOLD, **kwargs: Any) -> Any:
        """``image`` (CHW) cropped to its content: pixels darker than ``gray_threshold`` once the gray levels are stretched to 0..255."""
        return self._run_steps(image, self._step_params(kwargs), [CropMargin(gray_threshold)])

    def python_find_non_zero(self, image: Any) -> Any:
        """The (x, y) of every non-zero pixel of a 2-D (or 1xHxW) mask, shaped (N, 1, 2) as OpenCV's ``findNonZero``."""
        array = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
        points = np.argwhere(array)[:, ::-1][:, :2].reshape(-1, 1, 2)
        if hasattr(image, "detach"):
            import torch

            return torch.from_numpy(np.ascontiguousarray(points))
        return np.ascontiguousarray(points)

    def python_bounding_rect(self, coordinates: Any) -> tuple[Any, Any, Any, Any]:
        """(x, y, width, height) of the box holding (N, 1, 2) points, as OpenCV's ``boundingRect``."""
        points = coordinates.detach().cpu().numpy() if hasattr(coordinates, "detach") else np.asarray(coordinates)
        low, high = points.min(axis=(0, 1)).astype(int), points.max(axis=(0, 1)).astype(int)
        return low[0], low[1], high[0] - low[0] + 1, high[1] - low[1] + 1

    def pad_images(self, image: Any, size: Any, **kwargs: Any) -> Any:
        """``image`` (CHW) padded with 0 to ``size``, centred."""
        padding = centred_padding(int(image.shape[-2]), int(image.shape[-1]), *_size_pair(size))
        return self._run_steps(image, dict(self._step_params(kwargs), input_data_format="channels_first"), [_Pad(*padding)])

    def thumbnail(self, image: Any, size: Any, **kwargs: Any) -> Any:
        """``image`` (CHW) shrunk to fit ``size`` with BICUBIC, ratio kept (never enlarged)."""
        params = self._step_params(kwargs)
        return self._run_steps(image, params, [self.thumbnail_step(params, *_size_pair(size))])

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """Nougat's ``resize`` is the pipeline's: the shortest edge to the short side of ``size``."""
        return [self.shortest_edge_resize(params)]

    def resize(self, image: Any, size: Any, resample: Any = None, **kwargs: Any) -> Any:
        """``image`` (CHW) with its shortest edge resized to the short side of ``size``, as Nougat's ``resize``."""
        height, width = _size_pair(size)
        return super().resize(image, {"height": height, "width": width}, resample, **kwargs)
