"""TimmWrapper: a timm checkpoint's eval transform, resolved from its ``pretrained_cfg`` (see :func:`pixelprep.from_timm`).

timm checkpoints ship no preprocessor config: the processor is read from ``config.json`` (``architecture``,
``pretrained_cfg``), as transformers does. The transform is built on pixelprep's steps; timm is not needed.
transformers has only a pil class (timm's transforms on PIL images), so ``pil`` is the default backend.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..auto import register_family
from ..errors import InvalidArgumentError
from ..integrations.pipeline import TransformsPipelineImageProcessor
from ..integrations.timm_compat import timm_data_config, timm_pipeline_params


def _config_dict(value: Any, name: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise InvalidArgumentError(f"{name} must be a dict (timm's pretrained_cfg), got {type(value).__name__}")


def _optional_str(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidArgumentError(f"{name} must be a string (a timm architecture name), got {value!r}")


@register_family
class TimmWrapperImageProcessor(TransformsPipelineImageProcessor):
    """A timm model wrapped by transformers (``model_type`` ``timm_wrapper``)."""

    transformers_class = "TimmWrapperImageProcessor"
    model_types = ("timm_wrapper",)
    defaults = {"pretrained_cfg": None, "architecture": None}
    extra_params = {"pretrained_cfg": _config_dict, "architecture": _optional_str}
    main_input_name: ClassVar[str] = "pixel_values"

    def __init__(self, pretrained_cfg: dict[str, Any] | None = None, architecture: str | None = None, **kwargs: Any) -> None:
        """Build from a timm ``pretrained_cfg`` (None: timm's defaults, 224 px bicubic, crop 0.875, ImageNet mean/std)."""
        settings = {key: kwargs.pop(key) for key in list(kwargs) if key not in ("backend", "num_threads")}
        super().__init__(**kwargs, **self.upgrade_config(dict(settings, pretrained_cfg=pretrained_cfg, architecture=architecture)))

    def _setup(self, params: dict[str, Any], extra: dict[str, Any], backend: str | None, num_threads: int | None) -> None:
        # transformers has only the pil class (timm's transforms on PIL images): without a backend asked for, match it.
        super()._setup(params, extra, backend or "pil", num_threads)

    @property
    def data_config(self) -> dict[str, Any]:
        """timm's resolved eval data config of ``pretrained_cfg`` (input_size, interpolation, mean, std, crop_pct, crop_mode)."""
        return timm_data_config(self.pretrained_cfg or {})

    @classmethod
    def upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The eval transform's settings resolved from ``pretrained_cfg`` (timm's ``resolve_data_config``); settings the config gives win.

        transformers' own ``to_dict`` keeps only the resolved ``data_config`` (no ``pretrained_cfg``): that serves as the
        ``pretrained_cfg`` (resolving it again gives it back) and is then dropped, since :attr:`data_config` derives it.
        """
        data_config = _config_dict(config.pop("data_config", None), "data_config")
        if config.get("pretrained_cfg") is None and data_config is not None:
            config["pretrained_cfg"] = data_config
        pretrained = _config_dict(config.get("pretrained_cfg"), "pretrained_cfg")
        resolved = timm_pipeline_params(timm_data_config(pretrained or {}))
        return {**resolved, **{key: value for key, value in config.items() if value is not None or key not in resolved}}
