"""Swin2SR (super-resolution): rescale to [0, 1] and mirror-pad bottom/right past the next multiple of 8; no resize."""

from typing import Any

from ..auto import register_family
from ..backends import Backend
from ..features import BatchFeature
from ..processor import ImageProcessor
from .classic_steps import SymmetricPadToMultiple


@register_family
class Swin2SRImageProcessor(ImageProcessor):
    """Swin2SR."""

    transformers_class = "Swin2SRImageProcessor"
    model_types = ("swin2sr",)
    class_aliases = ("Swin2SRFeatureExtractor",)
    defaults = {
        "do_rescale": True,
        "do_pad": True,
        "size_divisor": 8,
    }

    @classmethod
    def upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Legacy configs give the pad multiple as an int ``pad_size``: it becomes ``size_divisor`` (unless that is set too)."""
        pad_size = config.get("pad_size")
        if isinstance(pad_size, int) and not isinstance(pad_size, bool):
            config = {k: v for k, v in config.items() if k != "pad_size"}
            config.setdefault("size_divisor", pad_size)
        return config

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """The mirror padding is per image (sizes differ), so it runs as a geometric step; there is no resize or crop."""
        return [SymmetricPadToMultiple(params.get("size_divisor") or self.defaults["size_divisor"])] if params.get("do_pad") else []

    def _assemble(self, images: list[Any], params: dict[str, Any], backend: Backend, scale, mean, std) -> BatchFeature:
        # the images are padded already: no padding to the batch's largest image
        return super()._assemble(images, dict(params, do_pad=False), backend, scale, mean, std)

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        """The common lines, with the mirror padding last (where transformers runs it) instead of the zero-padding line."""
        params = self._params if params is None else params
        return super().describe_pipeline(dict(params, do_pad=False)) + [step.describe() for step in self.steps(params)]
