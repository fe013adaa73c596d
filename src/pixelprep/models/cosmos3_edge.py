"""Cosmos3-Edge: GLM-4.1V's smart_resize and merge-block patches, with ``(p, p, C, T)`` patch vectors.

A declaration on :class:`~pixelprep.models.glm4v.Glm4vImageProcessor`: its own constants (16-pixel
patches, no temporal repeat, a 256²..4096² pixel budget, bicubic, 0.5 normalisation) and patch vectors
laid out pixel-major with the channels (and frames) innermost.
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..multiview import PatchLayout
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD
from .glm4v import Glm4vImageProcessor


@register_family
class Cosmos3EdgeImageProcessor(Glm4vImageProcessor):
    """Cosmos3-Edge: GLM smart_resize to multiples of patch x merge, ``(p, p, C, T)`` patches in merge blocks with ``image_grid_thw``."""

    transformers_class = "Cosmos3EdgeImageProcessor"
    model_types = ("cosmos3_edge",)
    defaults = {
        **Glm4vImageProcessor.defaults,
        "size": {"shortest_edge": 256 * 256, "longest_edge": 4096 * 4096},
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "patch_size": 16,
        "temporal_patch_size": 1,
    }

    def patch_layout(self, patch_size: int, merge_size: int, temporal_patch_size: int) -> PatchLayout:
        """``(p, p, C, T)`` vectors in merge blocks (for the pipeline and :meth:`patchify`)."""
        return PatchLayout(patch_size, merge_size, temporal_patch_size, channels_first=False)

    def layout(self, params: dict[str, Any]) -> PatchLayout:
        return self.patch_layout(params["patch_size"], params["merge_size"], params["temporal_patch_size"])
