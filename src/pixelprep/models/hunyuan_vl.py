"""HunYuan-VL: Qwen2-VL's smart_resize and patches, with patch 16, one frame, and patch rows in plain row-major order.

A declaration on :class:`~pixelprep.models.qwen2_vl.Qwen2VLImageProcessor`: other constants, the
resize always bicubic (transformers' class ignores ``resample`` there), and a
:class:`~pixelprep.multiview.PatchLayout` with ``block_order=False`` (sides are still whole merge
blocks). Its ``get_number_of_image_patches`` gives the ``(rows, cols)`` patch grid, not a count.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..auto import register_family
from ..multiview import PatchLayout, SmartResize
from .qwen2_vl import Qwen2VLImageProcessor

#: transformers' HunYuan-VL resize is bicubic whatever ``resample`` says.
_BICUBIC = 3


@register_family
class HunYuanVLImageProcessor(Qwen2VLImageProcessor):
    """HunYuan-VL: smart_resize to multiples of 32 within 512²..2048² pixels (bicubic); 16x16 patches row-major, ``image_grid_thw``."""

    transformers_class = "HunYuanVLImageProcessor"
    class_aliases = ()
    model_types = ("hunyuan_vl",)
    defaults = {
        **Qwen2VLImageProcessor.defaults,
        "size": {"shortest_edge": 512 * 512, "longest_edge": 2048 * 2048},
        "patch_size": 16,
        "temporal_patch_size": 1,
    }
    #: transformers' class carries this constant (its pipeline never reads it); kept for code that does.
    spatial_patch_size: ClassVar[int] = 1

    def patch_layout(self, patch_size: int, merge_size: int, temporal_patch_size: int) -> PatchLayout:
        return PatchLayout(patch_size, merge_size, temporal_patch_size, channels_first=True, block_order=False)

    def smart_resize(self, params: dict[str, Any]) -> SmartResize:
        step = super().smart_resize(params)
        return SmartResize(step.factor, step.min_pixels, step.max_pixels, _BICUBIC)

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> tuple[int, int]:  # type: ignore[override]
        """The ``(rows, cols)`` patch grid an image of ``height`` x ``width`` gives (transformers' HunYuan-VL returns the grid)."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        return self.layout(params).grid(*self.smart_resize(params).target(height, width))
