"""``from_open_clip``: open_clip's eval preprocess (``image_transform_v2(cfg, is_train=False)``) as a processor.

Resolve, then build: :func:`open_clip_preprocess_config` merges a preprocess config the way
``create_model_and_transforms`` does (defaults, then a pretrained tag's or a hub config's
``preprocess_cfg``, then the model's image size), and :func:`from_open_clip` maps its
``resize_mode`` onto pixelprep steps:

- "shortest": square sizes resize the shortest edge (torchvision ``Resize(int)``) and center crop;
  other sizes use a keep-ratio cover resize, always bicubic (open_clip passes no interpolation there).
- "longest": fit inside the size keeping the ratio, then center crop/pad with ``fill_color``.
- "squash": resize to the size, no crop.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from ..errors import ConfigNotFoundError, InvalidArgumentError
from ..models.constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from .pipeline import TransformsPipelineImageProcessor

PREPROCESS_DEFAULTS: dict[str, Any] = {
    "size": 224,
    "mode": "RGB",
    "mean": OPENAI_CLIP_MEAN,
    "std": OPENAI_CLIP_STD,
    "interpolation": "bicubic",
    "resize_mode": "shortest",
    "fill_color": 0,
}
RESIZE_MODES = ("shortest", "longest", "squash")
CONFIG_FILE = "open_clip_config.json"


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """``overlay``'s preprocess keys that are set, on top of ``base`` (``image_size`` is an alias of ``size``)."""
    if "image_size" in overlay and "size" not in overlay:
        overlay = {**overlay, "size": overlay["image_size"]}
    return {**base, **{k: v for k, v in overlay.items() if k in PREPROCESS_DEFAULTS and v is not None}}


def _image_size(model_cfg: dict[str, Any]) -> Any:
    return (model_cfg.get("vision_cfg") or {}).get("image_size", PREPROCESS_DEFAULTS["size"])


def _from_full_config(full: dict[str, Any]) -> dict[str, Any]:
    """The preprocess config of an ``open_clip_config.json`` (its ``preprocess_cfg``, sized by its ``model_cfg``)."""
    return _merge(_merge(PREPROCESS_DEFAULTS, full.get("preprocess_cfg") or {}), {"size": _image_size(full.get("model_cfg") or {})})


def _read_full_config(name: str) -> dict[str, Any]:
    """``open_clip_config.json`` (model_cfg + preprocess_cfg) of a ``local-dir:`` folder or an ``hf-hub:`` repo."""
    from ..config import _hub_file, _hub_offline, read_json_config

    schema, _, location = name.partition(":")
    if schema == "local-dir":
        path: str | None = os.path.join(location, CONFIG_FILE)
        if not os.path.isfile(path):
            raise ConfigNotFoundError(f"{name}: no {CONFIG_FILE} in {location}")
    else:
        path = _hub_file(location, CONFIG_FILE, local_files_only=_hub_offline() or None)
        if path is None:
            where = "in the local cache (HF_HUB_OFFLINE is set)" if _hub_offline() else "in the repository"
            raise ConfigNotFoundError(f"{name}: no {CONFIG_FILE} found {where}")
    return read_json_config(path)


def _named_config(name: str, pretrained: str | None) -> dict[str, Any]:
    if name.startswith(("hf-hub:", "local-dir:")):
        if pretrained is not None:
            raise InvalidArgumentError(f"{name} carries its own preprocess config; pretrained={pretrained!r} does not apply")
        return _from_full_config(_read_full_config(name))
    try:
        import open_clip
    except ImportError as exc:
        raise ConfigNotFoundError(f"resolving the open_clip model name {name!r} needs open_clip installed (pip install open-clip-torch)") from exc
    name = name.replace("/", "-")  # as open_clip cleans names
    model_cfg = open_clip.get_model_config(name)
    if model_cfg is None:
        raise ConfigNotFoundError(f"open_clip has no model config named {name!r}")
    config = dict(PREPROCESS_DEFAULTS)
    if pretrained is not None:
        tag_cfg = open_clip.get_pretrained_cfg(name, pretrained)
        if not tag_cfg and not os.path.isfile(pretrained):  # a weights file keeps the defaults, as in open_clip
            tags = open_clip.list_pretrained_tags_by_model(name)
            raise ConfigNotFoundError(f"open_clip has no pretrained tag {pretrained!r} for {name}; known tags: {tags}")
        config = _merge(config, tag_cfg)
    return _merge(config, {"size": _image_size(model_cfg)})


def open_clip_preprocess_config(spec: Any, pretrained: str | None = None) -> dict[str, Any]:
    """open_clip's final eval preprocess config (size, mean, std, interpolation, resize_mode, fill_color) for ``spec``.

    ``spec`` is a model name (with an optional ``pretrained`` tag), an ``hf-hub:``/``local-dir:`` name,
    a ``PreprocessCfg``, or a dict: a preprocess config (``size`` or ``image_size``) or a whole
    ``open_clip_config.json``.
    """
    if isinstance(spec, str):
        return _named_config(spec, pretrained)
    if dataclasses.is_dataclass(spec) and not isinstance(spec, type):
        spec = dataclasses.asdict(spec)
    if not isinstance(spec, dict):
        raise InvalidArgumentError(f"from_open_clip takes a model name, a PreprocessCfg or a config dict, got {type(spec).__name__}")
    if "model_cfg" in spec:
        return _from_full_config(spec)
    return _merge(PREPROCESS_DEFAULTS, spec)


def _pair(size: Any) -> tuple[int, int]:
    if isinstance(size, (list, tuple)):
        if len(size) == 1:
            return size[0], size[0]
        if len(size) == 2:
            return size[0], size[1]
        raise InvalidArgumentError(f"open_clip size must be an int or (height, width), got {size!r}")
    return size, size


def _three(values: Any) -> tuple[float, ...]:
    return tuple(values) if isinstance(values, (list, tuple)) else (values,) * 3


def from_open_clip(spec: Any, pretrained: str | None = None, backend: str = "pil") -> TransformsPipelineImageProcessor:
    """A processor reproducing open_clip's eval preprocess; ``spec`` as in :func:`open_clip_preprocess_config`.

    ``from_open_clip("ViT-L-14", pretrained="laion2b_s32b_b82k")`` is the transform
    ``open_clip.create_model_and_transforms`` returns for that model, without loading weights. The
    ``pil`` backend matches it on PIL images exactly; ``torchvision`` (torch's antialiased resize)
    differs by a few 8-bit levels on about 1% of values.
    """
    config = open_clip_preprocess_config(spec, pretrained)
    if config["mode"] != "RGB":
        raise InvalidArgumentError(f"open_clip preprocess mode must be 'RGB', got {config['mode']!r}")
    interpolation = config["interpolation"]
    if interpolation not in ("bicubic", "bilinear", "random"):  # open_clip's accepted names; "random" means bicubic at eval
        raise InvalidArgumentError(f"open_clip interpolation must be 'bicubic', 'bilinear' or 'random', got {interpolation!r}")
    mode = config["resize_mode"]
    if mode not in RESIZE_MODES:
        raise InvalidArgumentError(f"open_clip resize_mode must be one of {RESIZE_MODES}, got {mode!r}")
    height, width = _pair(config["size"])
    params: dict[str, Any] = {
        "size": {"height": height, "width": width},
        "resample": "bilinear" if interpolation == "bilinear" else "bicubic",
    }
    if mode == "shortest" and height == width:
        params["size"] = {"shortest_edge": height}
    elif mode == "shortest":
        params.update(keep_ratio="shortest", resample="bicubic")
    elif mode == "longest":
        params.update(keep_ratio="longest", crop_fill=config["fill_color"])
    return TransformsPipelineImageProcessor(
        backend=backend,
        crop_size={"height": height, "width": width},
        do_center_crop=mode != "squash",
        image_mean=_three(config["mean"]),
        image_std=_three(config["std"]),
        **params,
    )
