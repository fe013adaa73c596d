"""pixelprep where users already are: torch DataLoaders, Hugging Face datasets, torchvision, timm, open_clip.

(Ray Data's ``map_batches`` callable lives in :mod:`pixelprep.ray_engine`.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import geometry
from .auto import register_family
from .errors import InvalidArgumentError
from .features import BatchFeature
from .processor import CenterCrop, ImageProcessor, Resize

_INTERPOLATION_NUMBERS = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}


# --------------------------------------------------------------------------------------- torch & datasets


def collate(processor: Any, return_tensors: str = "pt") -> Callable[[list[Any]], BatchFeature]:
    """A DataLoader ``collate_fn``: a list of images, or of (image, label) pairs, becomes one batch.

    Labels, when present, come back under ``labels``.
    """

    def collate_fn(items: list[Any]) -> BatchFeature:
        paired = bool(items) and all(isinstance(item, tuple) and len(item) == 2 for item in items)
        images = [item[0] for item in items] if paired else list(items)
        batch = processor(images, return_tensors=return_tensors)
        if paired:
            batch["labels"] = BatchFeature({"labels": [item[1] for item in items]}, tensor_type=return_tensors)["labels"]
        return batch

    return collate_fn


def datasets_transform(processor: Any, image_column: str = "image", keep_columns: bool = True, return_tensors: str = "pt") -> Callable[[dict[str, list[Any]]], dict[str, Any]]:
    """A transform for ``datasets.Dataset.with_transform`` / ``set_transform``: the image column becomes ``pixel_values``."""

    def transform(batch: dict[str, list[Any]]) -> dict[str, Any]:
        if image_column not in batch:
            raise InvalidArgumentError(f"the batch has no column {image_column!r}; columns are {sorted(batch)}")
        images = [value.get("bytes") or value.get("path") if isinstance(value, dict) else value for value in batch[image_column]]
        out = {k: v for k, v in batch.items() if keep_columns and k != image_column}
        out.update(processor(images, return_tensors=return_tensors))
        return out

    return transform


# --------------------------------------------------------------------------------------------- torchvision


class _Crop:
    """A center crop on CHW tensors with pixelprep's geometry (so rounding matches the processor exactly)."""

    def __init__(self, step: CenterCrop) -> None:
        self.step = step

    def __call__(self, image: Any) -> Any:
        import torch.nn.functional as F

        height, width = image.shape[-2:]
        window = geometry.center_crop_window(height, width, self.step.height, self.step.width, self.step.rounding)
        if window.needs_padding:
            image = F.pad(image, (window.pad_left, window.pad_right, window.pad_top, window.pad_bottom))
        return image[..., window.top : window.top + self.step.height, window.left : window.left + self.step.width]

    def __repr__(self) -> str:
        return f"CenterCrop({self.step.height}x{self.step.width})"


class _RescaleNormalize:
    """Rescale and normalise a uint8 CHW tensor with the torchvision backend's float32 arithmetic."""

    def __init__(self, scale: float | None, mean: tuple | None, std: tuple | None) -> None:
        self.scale, self.mean, self.std = scale, mean, std

    def __call__(self, image: Any) -> Any:
        import torch

        x = image.to(torch.float32)
        if self.mean is None:
            return x * self.scale if self.scale is not None else x
        mean = torch.tensor(self.mean, dtype=torch.float32)
        std = torch.tensor(self.std, dtype=torch.float32)
        if self.scale is not None:
            mean, std = mean * (1.0 / self.scale), std * (1.0 / self.scale)
        return (x - mean[:, None, None]) / std[:, None, None]

    def __repr__(self) -> str:
        return f"RescaleNormalize(scale={self.scale}, mean={self.mean}, std={self.std})"


def to_torchvision(processor: Any) -> Any:
    """A ``torchvision.transforms.v2.Compose`` doing what ``processor`` does to one CHW uint8 tensor."""
    from torchvision.transforms import v2

    from .backends.torchvision import _INTERPOLATION

    params = processor.resolve()
    if processor.describe_finalize(params) or params.get("do_pad"):
        raise InvalidArgumentError(f"{type(processor).__name__}'s pipeline has steps a torchvision transform cannot express")
    transforms: list[Any] = []
    for step in processor.steps(params):
        if isinstance(step, Resize) and set(step.size) == {"shortest_edge"}:
            size: Any = step.size["shortest_edge"]  # torchvision's int size is the same shortest-edge rule
        elif isinstance(step, Resize) and set(step.size) == {"height", "width"}:
            size = (step.size["height"], step.size["width"])
        elif isinstance(step, CenterCrop):
            transforms.append(_Crop(step))
            continue
        else:
            raise InvalidArgumentError(f"cannot express {step.describe()!r} as a torchvision transform")
        transforms.append(v2.Resize(size, interpolation=_INTERPOLATION[step.resample], antialias=True))
    transforms.append(_RescaleNormalize(*processor.affine_parts(params)))
    return v2.Compose(transforms)


# ------------------------------------------------------------------------------------- timm and open_clip


@register_family
class TransformsPipelineImageProcessor(ImageProcessor):
    """An eval pipeline defined by torchvision transforms (timm, open_clip): resize, then a center crop
    whose offset rounds half to even like torchvision's ``CenterCrop``. Built by :func:`from_timm` and
    :func:`from_open_clip`; its saved config reloads in pixelprep (transformers has no such class)."""

    transformers_class = "TransformsPipelineImageProcessor"
    defaults = {"do_resize": True, "do_center_crop": True, "do_rescale": True, "do_normalize": True, "do_convert_rgb": True, "resample": 3}

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """The usual steps, with torchvision's crop rounding."""
        return [CenterCrop(s.height, s.width, "round") if isinstance(s, CenterCrop) else s for s in super().steps(params)]


def _interpolation(name: Any) -> int:
    key = str(getattr(name, "value", name)).lower()
    if key not in _INTERPOLATION_NUMBERS:
        raise InvalidArgumentError(f"unknown interpolation {name!r}")
    return _INTERPOLATION_NUMBERS[key]


def _pair(size: Any) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    size = tuple(size)
    return (size[-2], size[-1]) if len(size) >= 2 else (size[0], size[0])


def from_timm(spec: str | dict[str, Any], backend: str | None = None) -> TransformsPipelineImageProcessor:
    """A processor reproducing timm's eval transform for a model name, a ``pretrained_cfg`` or a data config.

    Supports timm's ``center`` and ``squash`` crop modes; ``border`` (resize-keep-ratio with padding) raises.
    """
    if isinstance(spec, str):
        import timm

        cfg = timm.models.get_pretrained_cfg(spec)
        if cfg is None:
            raise InvalidArgumentError(f"timm has no pretrained config for {spec!r}")
        spec = cfg.to_dict()
    height, width = _pair(spec.get("input_size", (3, 224, 224)))
    crop_pct = spec.get("crop_pct") or 0.875
    scale_h, scale_w = math.floor(height / crop_pct), math.floor(width / crop_pct)
    mode = spec.get("crop_mode") or "center"
    if mode == "center" and scale_h == scale_w:
        size: dict[str, int] = {"shortest_edge": scale_h}
    elif mode == "squash":
        size = {"height": scale_h, "width": scale_w}
    else:
        raise InvalidArgumentError(f"timm crop_mode {mode!r} with input size {height}x{width} is not supported yet")
    return TransformsPipelineImageProcessor(
        backend=backend,
        size=size,
        crop_size={"height": height, "width": width},
        resample=_interpolation(spec.get("interpolation") or "bilinear"),
        image_mean=tuple(spec.get("mean", (0.485, 0.456, 0.406))),
        image_std=tuple(spec.get("std", (0.229, 0.224, 0.225))),
    )


def from_open_clip(spec: str | dict[str, Any], backend: str | None = None) -> TransformsPipelineImageProcessor:
    """A processor reproducing open_clip's eval preprocess for a model name or a preprocess config dict.

    ``resize_mode`` "shortest" (the default) and "squash" are supported; "longest" (pad to square) raises.
    """
    if isinstance(spec, str):
        import open_clip

        model_cfg = open_clip.get_model_config(spec)
        if model_cfg is None:
            raise InvalidArgumentError(f"open_clip has no model config named {spec!r}")
        spec = {"image_size": model_cfg["vision_cfg"].get("image_size", 224), **model_cfg.get("preprocess_cfg", {})}
    from .models.constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

    height, width = _pair(spec.get("image_size", 224))
    mode = spec.get("resize_mode", "shortest")
    if mode == "shortest" and height == width:
        size: dict[str, int] = {"shortest_edge": height}
    elif mode == "squash":
        size = {"height": height, "width": width}
    else:
        raise InvalidArgumentError(f"open_clip resize_mode {mode!r} with image size {height}x{width} is not supported yet")
    return TransformsPipelineImageProcessor(
        backend=backend,
        size=size,
        crop_size={"height": height, "width": width},
        do_center_crop=mode != "squash",
        resample=_interpolation(spec.get("interpolation", "bicubic")),
        image_mean=tuple(spec.get("mean") or OPENAI_CLIP_MEAN),
        image_std=tuple(spec.get("std") or OPENAI_CLIP_STD),
    )
