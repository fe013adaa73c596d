"""OWLv2: rescale, pad bottom/right to a square with 0, Gaussian anti-aliasing, linear resize to 960x960, CLIP normalisation.

transformers' two classes blur and resize differently, and each backend here reproduces its own: the
pil class goes through SciPy (``gaussian_filter`` with mirrored edges and a 4-sigma radius, then a
linear ``zoom`` on the pixel grid, both in float64 rounded to float32 after each pass), the
torchvision class through ``torchvision``'s ``gaussian_blur`` (3-sigma kernel) and a bilinear resize
without antialiasing. pixelprep's pil backend computes SciPy's arithmetic with NumPy (no SciPy needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..geometry import check_output_size
from ..params import normalize_square_size
from .dense_steps import AffineFirst, mirror_indices
from .owlvit import OwlViTImageProcessor

# ----------------------------------------------------------------------------- pil kernel (SciPy's arithmetic)


def _gaussian_pass(image: np.ndarray, sigma: float, axis: int, rows: np.ndarray) -> np.ndarray:
    """SciPy's ``gaussian_filter1d`` (mirror edges, radius ``int(4 sigma + 0.5)``) along ``axis``, at the positions ``rows`` only."""
    radius = int(4.0 * sigma + 0.5)
    taps = np.exp(-0.5 / (sigma * sigma) * np.arange(-radius, radius + 1) ** 2)
    taps = taps / taps.sum()
    length = image.shape[axis]

    def at(offset: int) -> np.ndarray:
        return np.take(image, mirror_indices(rows + offset, length), axis=axis).astype(np.float64)

    # a symmetric kernel, summed as SciPy's correlate1d sums it: the centre, then the pairs from the outermost in
    out = at(0) * taps[radius]
    for offset in range(-radius, 0):
        out += (at(offset) + at(-offset)) * taps[radius + offset]
    return out.astype(np.float32)


def _linear_sample(length: int, out_length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower index, upper index, upper weight) of SciPy's order-1 ``zoom`` with ``grid_mode=True`` and mirrored edges."""
    zoom = length / out_length
    coords = (np.arange(out_length, dtype=np.float64) + 0.5) * zoom - 0.5
    lower = np.floor(coords).astype(np.int64)
    weight = coords - lower
    return mirror_indices(lower, length), mirror_indices(lower + 1, length), weight


def _numpy_blur_resize(image: np.ndarray, height: int, width: int, blur: bool) -> np.ndarray:
    """transformers' pil OWLv2 resize of a float32 HWC image: blur by sigma = (factor - 1) / 2 per axis, zoom, clip to the input's range."""
    in_height, in_width = image.shape[:2]
    samples = [_linear_sample(in_height, height), _linear_sample(in_width, width)]
    # only the rows and columns the zoom reads are blurred: the same values, far less work on large photos
    needed = [np.unique(np.concatenate(sample[:2])) for sample in samples]
    filtered = image
    for axis, (length, out_length) in enumerate(((in_height, height), (in_width, width))):
        sigma = max(0.0, (length / out_length - 1) / 2) if blur else 0.0
        if sigma > 1e-15:  # SciPy skips an axis with no blur
            filtered = _gaussian_pass(filtered, sigma, axis, needed[axis])
        else:
            filtered = np.take(filtered, needed[axis], axis=axis)
    position = [np.searchsorted(needed[axis], np.stack(samples[axis][:2])) for axis in range(2)]
    values = filtered.astype(np.float64)
    upper_rows = samples[0][2][:, None, None]
    rows = values[position[0][0]] * (1 - upper_rows) + values[position[0][1]] * upper_rows
    upper_cols = samples[1][2][None, :, None]
    out = (rows[:, position[1][0]] * (1 - upper_cols) + rows[:, position[1][1]] * upper_cols).astype(np.float32)
    if image.size:
        out = np.clip(out, image.min(), image.max())
    return out


# ------------------------------------------------------------------------------------------ torch kernel


def _torch_blur_resize(image: Any, height: int, width: int, blur: bool) -> Any:
    """transformers' torchvision OWLv2 resize of a float32 HWC tensor: gaussian_blur (3-sigma kernel) unless an axis has no blur, then bilinear."""
    import torch
    from torchvision.transforms.v2 import functional as tvF

    chw = image.permute(2, 0, 1)
    factors = torch.tensor(chw.shape[1:], device=chw.device) / torch.tensor((height, width), device=chw.device)
    sigma = ((factors - 1) / 2).clamp(min=0)
    if blur and not bool((sigma == 0).any()):
        kernel = (2 * torch.ceil(3 * sigma).int() + 1).tolist()
        chw = tvF.gaussian_blur(chw, kernel, sigma=sigma.tolist())
    resized = tvF.resize(chw, [height, width], interpolation=tvF.InterpolationMode.BILINEAR, antialias=False)
    return resized.permute(1, 2, 0)


# the blur and resize of each backend's transformers class, by backend name
_KERNELS = {"pil": _numpy_blur_resize, "torchvision": _torch_blur_resize}


def _kernel(backend: Backend) -> Any:
    kernel = _KERNELS.get(backend.name)
    if kernel is None:
        raise InvalidArgumentError(f"OWLv2's anti-aliased resize is implemented for the backends {sorted(_KERNELS)}, not {backend.name!r}")
    return kernel


# ------------------------------------------------------------------------------------------------ steps


@dataclass(frozen=True)
class _PadToSquare:
    """Pad bottom/right with 0 to a square of the longer side."""

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        side = max(height, width)
        if side == min(height, width):
            return image
        check_output_size(side, side, f"a {height}x{width} image padded to a square")
        return backend.pad(image, 0, side - height, 0, side - width, 0.0)

    def describe(self) -> str:
        return "pad bottom/right with 0 to a square"


@dataclass(frozen=True)
class _BlurResize:
    """Gaussian anti-aliasing (sigma = (scale factor - 1) / 2 per axis) then a linear resize to ``height`` x ``width``."""

    height: int
    width: int
    blur: bool = True

    def apply(self, backend: Backend, image: Any) -> Any:
        check_output_size(self.height, self.width, "size")
        return _kernel(backend)(backend.realize(image), self.height, self.width, self.blur)

    def describe(self) -> str:
        blur = "Gaussian blur (sigma = (factor - 1) / 2), then " if self.blur else ""
        return f"{blur}resize to {self.height}x{self.width} linear"


# ----------------------------------------------------------------------------------------------- family


@register_family
class Owlv2ImageProcessor(OwlViTImageProcessor):
    """OWLv2: OWL-ViT's post-processing, with boxes scaled to the padded square."""

    transformers_class = "Owlv2ImageProcessor"
    model_types = ("owlv2",)
    defaults = {
        "size": {"height": 960, "width": 960},
        "resample": 2,
        "do_center_crop": None,
        "crop_size": None,
        "do_pad": True,
    }

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """Rescale, pad to a square, blur and resize: all before normalising (``resample`` is not used, as in transformers)."""
        steps: list[Any] = [AffineFirst(params["rescale_factor"] if params.get("do_rescale") else None)]
        if params.get("do_pad"):
            steps.append(_PadToSquare())
        if params.get("do_resize"):
            size = params.get("size")
            if size is None or "height" not in size:
                raise InvalidArgumentError(f"OWLv2 resizes to size={{'height', 'width'}}, got size={size}")
            steps.append(_BlurResize(size["height"], size["width"]))
        return steps

    def pads_batch(self, params: dict[str, Any]) -> bool:
        """``do_pad`` pads each image to its own square (in :meth:`steps`), not the batch to one size."""
        return False

    def affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        """Only the normalisation is left for the end: the rescale happened first."""
        return (None, *super().affine_parts(params)[1:])

    def resize(self, image: Any, size: Any, anti_aliasing: bool = True, anti_aliasing_sigma: Any = None, **kwargs: Any) -> Any:
        """The anti-aliased resize of one float image (CHW) to ``size`` = {height, width}, as transformers' ``resize``.

        ``anti_aliasing_sigma`` other than None (a sigma of one's own) is not supported.
        """
        if anti_aliasing_sigma is not None:
            raise InvalidArgumentError("anti_aliasing_sigma is not supported: OWLv2's sigma is (scale factor - 1) / 2 per axis")
        target = normalize_square_size(size, "size")
        if target is None or "height" not in target:
            raise InvalidArgumentError(f"size must give a height and a width, got {size!r}")
        params = self._step_params(dict(kwargs, do_rescale=False))
        return self._run_steps(image, params, [AffineFirst(None), _BlurResize(target["height"], target["width"], bool(anti_aliasing))])

    def pad(self, images: Any, *args: Any, constant_value: float = 0.0, **kwargs: Any) -> Any:
        """Each image (CHW; one or a list) padded bottom/right with ``constant_value`` to a square, as transformers' OWLv2 ``pad``."""
        from ..processor import _PadBottomRight

        single = not isinstance(images, (list, tuple))
        params = self._step_params(kwargs)
        padded = []
        for image in [images] if single else images:
            height, width = int(image.shape[-2]), int(image.shape[-1])
            side = max(height, width)
            step = _PadBottomRight(side - height, side - width, constant_value)
            padded.append(self._run_steps(image, dict(params, input_data_format="channels_first"), [step]))
        return padded[0] if single else padded

    @staticmethod
    def box_scale_sizes(pairs: list[tuple[int, int]] | None) -> list[tuple[int, int]] | None:
        """OWLv2 predicts boxes on the padded square: both coordinates scale by the longer side."""
        return None if pairs is None else [(max(pair), max(pair)) for pair in pairs]
