"""``from_timm``: timm's eval transform (``timm.data.create_transform(..., is_training=False)``) as a processor.

Resolve, then build: :func:`timm_data_config` turns a model name, ``pretrained_cfg`` or data config
into timm's resolved data config (``resolve_data_config``'s defaults), and :func:`from_timm` maps its
crop mode onto pixelprep steps. The resize target is ``floor(size / crop_pct)`` per side; "center"
resizes the shortest edge (keep-ratio cover for non-square targets) and center crops, "squash"
resizes to the target and crops, "border" fits the image inside it and pads with the mean colour.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigNotFoundError, InvalidArgumentError
from ..models.constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from .pipeline import TransformsPipelineImageProcessor

CROP_MODES = ("center", "squash", "border")
DEFAULT_CROP_PCT = 0.875


def _pretrained_cfg(spec: Any) -> dict[str, Any]:
    """A plain dict from a model name, a ``PretrainedCfg``, a model holding one, or a dict."""
    if isinstance(spec, str):
        try:
            import timm
        except ImportError as exc:
            raise ConfigNotFoundError(f"resolving the timm model name {spec!r} needs timm installed (pip install timm)") from exc
        cfg = timm.models.get_pretrained_cfg(spec)
        if cfg is None:
            raise ConfigNotFoundError(f"timm has no pretrained config for {spec!r}")
        return cfg.to_dict()
    if hasattr(spec, "pretrained_cfg"):  # a timm model
        spec = spec.pretrained_cfg
    if hasattr(spec, "to_dict"):
        spec = spec.to_dict()
    if not isinstance(spec, dict):
        raise InvalidArgumentError(f"from_timm takes a model name, a pretrained_cfg or a data config dict, got {type(spec).__name__}")
    return spec


def timm_data_config(spec: Any, use_test_size: bool = False) -> dict[str, Any]:
    """timm's resolved eval data config (input_size, interpolation, mean, std, crop_pct, crop_mode) for ``spec``."""
    cfg = _pretrained_cfg(spec)
    if cfg.get("crop_border_pixels"):
        raise InvalidArgumentError("timm's crop_border_pixels (trimming the image border first) is not supported")
    size_key, crop_key = ("test_input_size", "test_crop_pct") if use_test_size else ("input_size", "crop_pct")
    return {
        "input_size": tuple(cfg.get(size_key) or cfg.get("input_size") or (3, 224, 224)),
        "interpolation": cfg.get("interpolation") or "bicubic",
        "mean": tuple(cfg.get("mean") or IMAGENET_DEFAULT_MEAN),
        "std": tuple(cfg.get("std") or IMAGENET_DEFAULT_STD),
        "crop_pct": cfg.get(crop_key) or cfg.get("crop_pct") or DEFAULT_CROP_PCT,
        "crop_mode": cfg.get("crop_mode") or "center",
    }


def from_timm(spec: Any, backend: str = "pil", use_test_size: bool = False) -> TransformsPipelineImageProcessor:
    """A processor reproducing timm's eval transform for a model name (resolved offline from timm's
    bundled configs), a ``pretrained_cfg``, a timm model or a ``resolve_data_config`` dict.

    The ``pil`` backend matches timm's transform on PIL images exactly; ``torchvision`` (tensors, GPU)
    resizes with torch's antialiasing, which differs by a few 8-bit levels on about 1% of values.
    """
    return TransformsPipelineImageProcessor(backend=backend, **timm_pipeline_params(timm_data_config(spec, use_test_size)))


def timm_pipeline_params(config: dict[str, Any]) -> dict[str, Any]:
    """The :class:`TransformsPipelineImageProcessor` parameters of a resolved timm data config (see :func:`timm_data_config`)."""
    height, width = config["input_size"][-2:]
    scale_height, scale_width = math.floor(height / config["crop_pct"]), math.floor(width / config["crop_pct"])
    mode = config["crop_mode"]
    if mode not in CROP_MODES:
        raise InvalidArgumentError(f"timm crop_mode must be one of {CROP_MODES}, got {mode!r}")
    params: dict[str, Any] = {"size": {"height": scale_height, "width": scale_width}}
    if mode == "center" and scale_height == scale_width:
        params["size"] = {"shortest_edge": scale_height}  # torchvision's Resize(int): the long side is truncated
    elif mode == "center":
        params["keep_ratio"] = "shortest"
    elif mode == "border":
        params["keep_ratio"] = "longest"
        params["crop_fill"] = [round(255 * v) for v in config["mean"]]
    return dict(
        params,
        crop_size={"height": height, "width": width},
        resample=config["interpolation"],
        image_mean=config["mean"],
        image_std=config["std"],
    )
