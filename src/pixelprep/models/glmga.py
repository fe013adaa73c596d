"""Glmga: GLM-4.1V's processor with a ``patch_expand_factor`` that makes the resized sides multiples of patch x merge x expand.

A declaration on :class:`~pixelprep.models.glm4v.Glm4vImageProcessor`: only the resize factor
changes; patches, grid and packing are GLM-4.1V's.
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from .glm4v import Glm4vImageProcessor, _optional_positive_int


@register_family
class GlmgaImageProcessor(Glm4vImageProcessor):
    """Glmga: GLM smart_resize to multiples of patch x merge x ``patch_expand_factor``; patches concatenated with ``image_grid_thw``."""

    transformers_class = "GlmgaImageProcessor"
    model_types = ("glmga",)
    defaults = {"patch_expand_factor": 1}
    extra_params = {"patch_expand_factor": _optional_positive_int}

    def resize_factor(self, params: dict[str, Any]) -> int:
        """patch x merge x ``patch_expand_factor``: the resize leaves room for the model's extra expansion."""
        return self.layout(params).factor * params["patch_expand_factor"]
