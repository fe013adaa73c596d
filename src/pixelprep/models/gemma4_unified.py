"""Gemma4-Unified: Gemma4's pooled-patch resize, with each pooling block of patches merged into one larger patch.

transformers cuts Gemma4's ``patch_size`` patches and then merges every ``pooling_kernel_size`` squared
block of them into one vector laid out as a ``(k*p, k*p, C)`` patch; that is the same as cutting
``k*p``-pixel patches directly, which is what this family does (:class:`~pixelprep.multiview.PatchLayout`
with ``patch_size * pooling_kernel_size``). Rows are padded to ``max_soft_tokens``; positions are each
merged patch's (column, row), -1 on padding. transformers has only a torchvision class; the pil backend
runs the same geometry with Pillow's resize.
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..multiview import PaddedPatches, PatchLayout
from .gemma4 import Gemma4ImageProcessor


@register_family
class Gemma4UnifiedImageProcessor(Gemma4ImageProcessor):
    """Gemma4-Unified: Gemma4's resize, patches of ``patch_size * pooling_kernel_size`` (one per soft token), padded to ``max_soft_tokens``."""

    transformers_class = "Gemma4UnifiedImageProcessor"
    model_types = ("gemma4_unified",)

    def layout(self, params: dict[str, Any]) -> PatchLayout:
        """Merged patches: ``pooling_kernel_size`` x ``pooling_kernel_size`` blocks of ``patch_size`` patches, vectors (P, P, C)."""
        return PatchLayout(params["patch_size"] * params["pooling_kernel_size"], channels_first=False)

    def _soft_token_count(self, height: int, width: int, params: dict[str, Any]) -> int:
        rows, cols = self.layout(params).grid(height, width)
        return rows * cols

    def packer(self, params: dict[str, Any]) -> PaddedPatches:
        k = params["pooling_kernel_size"]
        return PaddedPatches(self.layout(params), params["max_soft_tokens"], mask_key=None, shapes_key=None, positions_key="image_position_ids",
                             limit_name=f"max_soft_tokens (merged {k}x{k} blocks of patches)")

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        k = params["pooling_kernel_size"]
        return [f"merge each {k}x{k} block of {params['patch_size']}x{params['patch_size']} patches into one patch; "
                "num_soft_tokens_per_image: merged patches"]
