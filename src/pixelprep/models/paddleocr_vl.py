"""PaddleOCR-VL: Qwen2-VL's smart_resize with small sides enlarged first, one frame, patches row-major as ``(C, p, p)`` blocks.

A declaration on :class:`~pixelprep.models.qwen2_vl.Qwen2VLImageProcessor`: the resize is
:class:`~pixelprep.multiview.SmartResize` with ``enlarge_small`` (a side under patch x merge is
brought up to it first, so thin images pass), and the packer is
:class:`~pixelprep.multiview.ConcatPatches` with ``patch_axes``: ``pixel_values`` is
``(patches, C*T, p, p)`` with patches in plain row-major order (no merge blocks in the rows).
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..multiview import ConcatPatches, PatchLayout, SmartResize
from .qwen2_vl import Qwen2VLImageProcessor


@register_family
class PaddleOCRVLImageProcessor(Qwen2VLImageProcessor):
    """PaddleOCR-VL: smart_resize to multiples of 28 within 384²..1536² pixels; 14x14 patches row-major, ``(patches, C, 14, 14)``."""

    transformers_class = "PaddleOCRVLImageProcessor"
    class_aliases = ()
    model_types = ("paddleocr_vl",)
    defaults = {
        **Qwen2VLImageProcessor.defaults,
        "size": {"shortest_edge": 384 * 384, "longest_edge": 1536 * 1536},
        "temporal_patch_size": 1,
    }

    def patch_layout(self, patch_size: int, merge_size: int, temporal_patch_size: int) -> PatchLayout:
        # rows are plain row-major patches and transformers needs the sides only whole patches: no merge blocks here
        return PatchLayout(patch_size, 1, temporal_patch_size, channels_first=True)

    def smart_resize(self, params: dict[str, Any]) -> SmartResize:
        step = super().smart_resize(params)
        # the resize still aligns the sides to whole merge blocks
        factor = params["patch_size"] * params["merge_size"]
        return SmartResize(factor, step.min_pixels, step.max_pixels, step.resample, enlarge_small=True)

    def packer(self, params: dict[str, Any]) -> ConcatPatches:
        return ConcatPatches(self.layout(params), grid_key="image_grid_thw", patch_axes=True)

    def patchify(self, images: Any, patch_size: int, merge_size: int, temporal_patch_size: int) -> tuple[Any, int, int]:
        """A CHW image (or BCHW batch of one size) as ``(patches, C*T, p, p)`` float32 blocks in row-major order, with the patch grid."""
        flat, grid_h, grid_w = super().patchify(images, patch_size, merge_size, temporal_patch_size)
        return flat.reshape(*flat.shape[:-1], -1, patch_size, patch_size), grid_h, grid_w
