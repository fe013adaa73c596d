"""Steps shared by the dense-prediction families (OWLv2, ZoeDepth, ...) that rescale before resizing and resize with torch.

transformers' classes for these families rescale to float first and then pad and resize the float
image (some with ``torch.nn.functional.interpolate`` on both backends), so the steps here work on
float32 images: :class:`AffineFirst` rescales with the arithmetic of the backend's transformers class,
and the torch-based steps move a native image to a tensor and back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backends import Affine, Backend
from ..backends.base import BICUBIC, BILINEAR, NEAREST, RESAMPLE_NAMES
from ..errors import InvalidArgumentError
from ..geometry import check_output_size


def mirror_indices(indices: np.ndarray, length: int) -> np.ndarray:
    """Indices reflected into ``0..length-1`` without repeating the edge (NumPy's 'reflect', SciPy's 'mirror'), any distance out."""
    if length == 1:
        return np.zeros_like(indices)
    period = 2 * length - 2
    folded = np.mod(indices, period)
    return np.where(folded >= length, period - folded, folded)


def to_torch_hwc(backend: Backend, image: Any) -> Any:
    """A native HWC image as a torch tensor (the pil backend's NumPy arrays are shared, not copied)."""
    return backend.to_torch(backend.realize(image))


def from_torch_hwc(backend: Backend, tensor: Any) -> Any:
    """A torch HWC tensor back as the backend's native image."""
    return backend.from_canonical(tensor.contiguous())


def affine_to_float(backend: Backend, image: Any, scale: float | None, mean: tuple | None = None, std: tuple | None = None) -> Any:
    """The image as float32, rescaled and/or normalised with the arithmetic of the backend's transformers class.

    ``Affine``'s NumPy formula (float64 rescale, then float32) on pil; its torch formula (float32, mean and std
    divided by the scale) on torchvision, where a rescale alone is one float32 product.
    """
    image = backend.realize(image)
    channels = backend.channels(image)
    if backend.formula == "numpy":
        array = backend.to_numpy(image)
        result = array.astype(np.float32) if scale is None and mean is None else Affine(scale, mean, std, channels, "numpy").apply(array)
        return backend.from_canonical(result)
    if mean is None:
        return image.float() if scale is None else image * scale
    import torch

    affine = Affine(scale, mean, std, channels, "torch")
    return (image.float() - torch.from_numpy(affine.torch_mean).to(image.device)) / torch.from_numpy(affine.torch_std).to(image.device)


@dataclass(frozen=True)
class AffineFirst:
    """Rescale (and normalise, when ``mean`` is given) to float32 before the geometric steps, as these families' transformers classes do."""

    scale: float | None
    mean: tuple | None = None
    std: tuple | None = None

    def apply(self, backend: Backend, image: Any) -> Any:
        return affine_to_float(backend, image, self.scale, self.mean, self.std)

    def describe(self) -> str:
        parts = [] if self.scale is None else [f"rescale {self.scale:.6g}"]
        parts += [] if self.mean is None else [f"normalize mean={list(self.mean)} std={list(self.std)}"]
        return (" and ".join(parts) or "to float32") + " (before resizing)"


#: ``torch.nn.functional.interpolate`` modes by PIL filter number, for the families that resize with it.
INTERPOLATE_MODES = {BILINEAR: "bilinear", BICUBIC: "bicubic"}


def interpolate_mode(resample: int, family: str) -> str:
    """The ``interpolate`` mode of ``resample``; the filters without one (transformers fails on them) are our error."""
    mode = INTERPOLATE_MODES.get(resample)
    if mode is None:
        names = ", ".join(f"{number} ({RESAMPLE_NAMES[number]})" for number in INTERPOLATE_MODES)
        raise InvalidArgumentError(f"{family} resizes with torch's interpolate: resample must be one of {names}, got {resample}")
    return mode


#: ``torch.nn.functional.interpolate`` modes of torchvision's ``resize(antialias=False)`` on float tensors, by PIL filter number.
RESIZE_MODES = {NEAREST: "nearest-exact", BILINEAR: "bilinear", BICUBIC: "bicubic"}


@dataclass(frozen=True)
class FloatResize:
    """Resize a float image to ``height`` x ``width`` with ``interpolate`` (no antialiasing, corners not aligned).

    What transformers' torchvision ``resize(..., antialias=False)`` does to the normalised float images of
    DepthPro (whose values go below 0: Pillow could not take them without a round trip).
    """

    height: int
    width: int
    resample: int

    def apply(self, backend: Backend, image: Any) -> Any:
        import torch.nn.functional as F

        mode = RESIZE_MODES.get(self.resample)
        if mode is None:
            raise InvalidArgumentError(f"resample must be one of {sorted(RESIZE_MODES)} ({', '.join(RESIZE_MODES.values())}) here, got {self.resample}")
        check_output_size(self.height, self.width, "size")
        chw = to_torch_hwc(backend, image).permute(2, 0, 1)[None]
        corners = None if mode == "nearest-exact" else False
        resized = F.interpolate(chw, (self.height, self.width), mode=mode, align_corners=corners, antialias=False)
        return from_torch_hwc(backend, resized[0].permute(1, 2, 0))

    def describe(self) -> str:
        return f"resize to {self.height}x{self.width} {RESIZE_MODES.get(self.resample, self.resample)} (float, no antialiasing)"
