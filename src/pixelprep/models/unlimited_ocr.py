"""Unlimited-OCR: DeepSeek-OCR2's global view and local tiles with its own constants, a squashed global view, and the tile grid.

Tiles are 640 (``tile_size``), up to 32 (``max_patches``); the global view's side is the larger of
``size``'s sides; without ``crop_to_patches`` and with that side at most ``maximum_pad_value``, the
global view is the image squashed to a square instead of padded. ``patches_grid`` gives each image's
(columns, rows) of tiles ((1, 1) without tiles); it and ``num_local_patches`` stay Python lists whatever
``return_tensors`` says. transformers has only a torchvision class; the pil backend runs the same geometry
(its call-time ``background_color`` is ignored too, as that class ignores it).
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..multiview import Views
from ..params import _positive_int
from .deepseek_ocr2 import DeepseekOcr2ImageProcessor


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


@register_family
class UnlimitedOcrImageProcessor(DeepseekOcr2ImageProcessor):
    """Unlimited-OCR: DeepSeek-OCR2's views with 640 tiles (up to 32), a squashed global view when small and not tiling, plus ``patches_grid``."""

    transformers_class = "UnlimitedOcrImageProcessor"
    model_types = ("unlimited_ocr",)
    defaults = {"max_patches": 32, "tile_size": 640, "maximum_pad_value": 640}
    extra_params = {"maximum_pad_value": _optional_positive_int}
    model_input_names = ["pixel_values", "num_local_patches", "patches_grid"]
    #: Outputs left as Python lists whatever ``return_tensors`` says (transformers' attribute of the same name).
    skip_tensor_conversion = ["num_local_patches", "patches_grid"]

    @staticmethod
    def global_side(params: dict[str, Any]) -> int:
        """The global view's square side: the larger of ``size``'s height and width."""
        size = params.get("size") or {}
        if "height" not in size:
            raise InvalidArgumentError(f"size must give 'height' and 'width' (the global view) for UnlimitedOcrImageProcessor, got {size}")
        return max(size["height"], size["width"])

    def squashes_global_view(self, params: dict[str, Any]) -> bool:
        """Whether the global view is the image squashed to a square (no tiling, and a side within ``maximum_pad_value``)."""
        return not params.get("crop_to_patches") and self.global_side(params) <= params["maximum_pad_value"]

    def global_view(self, backend: Backend, image: Any, params: dict[str, Any]) -> Any:
        if self.squashes_global_view(params):
            side = self.global_side(params)
            return self._resize(backend, image, (side, side), params["resample"])
        return super().global_view(backend, image, params)

    def ignores_call_background_color(self) -> bool:
        return True  # transformers' one (torchvision) class pads with the constructed colour

    def describe_global_view(self, params: dict[str, Any]) -> str:
        if self.squashes_global_view(params):
            side = self.global_side(params)
            return f"global view: resize to {side}x{side} {RESAMPLE_NAMES[params['resample']]} (aspect not kept)"
        return super().describe_global_view(params)

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ("patches_grid",)

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        """``patches_grid``: each image's [columns, rows] of local tiles, [1, 1] without tiles."""
        return {"patches_grid": [list(group.meta["grid"]) for group in views]}

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        # transformers skips the tensor conversion of the counts and grids: they stay lists.
        kept = {"num_local_patches": [int(n) for n in features.data["num_local_patches"]], "patches_grid": features.data.pop("patches_grid")}
        features = super().finalize(features, params, backend)
        kept = {key: kept[key] for key in self.skip_tensor_conversion}
        features.data.update(kept)
        return features
