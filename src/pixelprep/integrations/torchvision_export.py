"""``processor.to_torchvision()``: a processor's pipeline as a ``torchvision.transforms.v2.Compose``.

Resizes become ``v2.Resize``; center crops become ``v2.CenterCrop`` where torchvision's offset
rounding and zero padding agree with the step, and a small crop transform using pixelprep's geometry
otherwise (transformers' families round crop offsets toward zero). Rescale and normalize run with the
torchvision backend's float32 arithmetic, so the output equals the processor's.
"""

from __future__ import annotations

from typing import Any

from .. import geometry
from ..backends.base import BOX, HAMMING, RESAMPLE_NAMES, Affine
from ..errors import InvalidArgumentError
from ..processor import CenterCrop, Resize
from .pipeline import ResizeKeepRatio


def _interpolation(resample: int) -> Any:
    """The torchvision interpolation the torchvision backend uses for a PIL filter number."""
    from ..backends.torchvision import _INTERPOLATION

    if resample in (BOX, HAMMING):
        raise InvalidArgumentError(f"torchvision cannot resize tensors with {RESAMPLE_NAMES[resample]!r} filtering")
    return _INTERPOLATION[resample]


class CropWithGeometry:
    """A center crop of ``[..., C, H, W]`` tensors with pixelprep's offsets and padding colour."""

    def __init__(self, step: CenterCrop) -> None:
        self.step = step

    def __call__(self, image: Any) -> Any:
        from torchvision.transforms.v2 import functional as tvF

        height, width = image.shape[-2:]
        window = geometry.center_crop_window(height, width, self.step.height, self.step.width, self.step.rounding)
        if window.needs_padding:
            fill = list(self.step.fill) if isinstance(self.step.fill, tuple) else self.step.fill
            image = tvF.pad(image, [window.pad_left, window.pad_top, window.pad_right, window.pad_bottom], fill=fill)
        return image[..., window.top : window.top + self.step.height, window.left : window.left + self.step.width]

    def __repr__(self) -> str:
        return f"CropWithGeometry({self.step.describe()}, offsets rounded {self.step.rounding})"


class ResizeKeepingRatio:
    """A keep-ratio resize of ``[..., C, H, W]`` tensors (see :class:`pixelprep.integrations.pipeline.ResizeKeepRatio`)."""

    def __init__(self, step: ResizeKeepRatio) -> None:
        self.step = step
        self.interpolation = _interpolation(step.resample)

    def __call__(self, image: Any) -> Any:
        from torchvision.transforms.v2 import functional as tvF

        height, width = image.shape[-2:]
        size = geometry.keep_ratio_size(height, width, self.step.height, self.step.width, self.step.longest)
        return tvF.resize(image, list(size), interpolation=self.interpolation, antialias=True)

    def __repr__(self) -> str:
        return f"ResizeKeepingRatio({self.step.describe()})"


class RescaleNormalize:
    """Rescale and normalize a uint8 tensor into float32 exactly as the torchvision backend does."""

    def __init__(self, scale: float | None, mean: tuple[float, ...] | None, std: tuple[float, ...] | None) -> None:
        self.affine = Affine(scale, mean, std, len(mean) if mean is not None else 1, "torch")

    def __call__(self, image: Any) -> Any:
        from ..backends.torchvision import TorchvisionBackend

        if not self.affine.output_float:
            return image
        return TorchvisionBackend._affine_torch(image.float(), self.affine)

    def __repr__(self) -> str:
        return f"RescaleNormalize(scale={self.affine.scale}, mean={self.affine.mean}, std={self.affine.std})"


def _crop_transform(step: CenterCrop) -> Any:
    from torchvision.transforms import v2

    if step.rounding == "round" and step.fill == 0:  # exactly torchvision's own CenterCrop
        return v2.CenterCrop((step.height, step.width))
    return CropWithGeometry(step)


def _resize_transform(step: Resize) -> Any:
    from torchvision.transforms import v2

    if set(step.size) == {"shortest_edge"}:
        size: Any = step.size["shortest_edge"]  # torchvision's int size is the same shortest-edge rule
    elif set(step.size) == {"height", "width"}:
        size = (step.size["height"], step.size["width"])
    else:
        raise InvalidArgumentError(f"cannot express {step.describe()!r} as a torchvision transform")
    return v2.Resize(size, interpolation=_interpolation(step.resample), antialias=True)


def to_torchvision(processor: Any) -> Any:
    """A ``torchvision.transforms.v2.Compose`` doing what ``processor`` does to an RGB ``(C, H, W)`` uint8 tensor.

    Raises :class:`InvalidArgumentError` for pipelines torchvision transforms cannot express (padding
    to a batch size, colour quantisation and other family-specific output steps, channels-last output).
    """
    from torchvision.transforms import v2

    params = processor.resolve()
    if processor.describe_finalize(params) or params.get("do_pad") or params.get("data_format") == "channels_last":
        what = "; ".join(processor.describe_finalize(params)) or ("batch padding" if params.get("do_pad") else "channels-last output")
        raise InvalidArgumentError(f"{type(processor).__name__}'s pipeline has a step a torchvision transform cannot express: {what}")
    transforms: list[Any] = []
    for step in processor.steps(params):
        if isinstance(step, Resize):
            transforms.append(_resize_transform(step))
        elif isinstance(step, CenterCrop):
            transforms.append(_crop_transform(step))
        elif isinstance(step, ResizeKeepRatio):
            transforms.append(ResizeKeepingRatio(step))
        else:
            raise InvalidArgumentError(f"cannot express {step.describe()!r} as a torchvision transform")
    transforms.append(RescaleNormalize(*processor.affine_parts(params)))
    return v2.Compose(transforms)
