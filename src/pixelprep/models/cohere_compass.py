"""Cohere-Compass: Qwen2-VL's processor under its own name (smart_resize, merge-ordered patches, the same defaults).

transformers 5.23's two Cohere-Compass classes are Qwen2-VL's with the names changed; so is this family.
"""

from __future__ import annotations

from ..auto import register_family
from .qwen2_vl import Qwen2VLImageProcessor


@register_family
class CohereCompassImageProcessor(Qwen2VLImageProcessor):
    """Cohere-Compass: Qwen2-VL's smart_resize and merge-ordered patches with ``image_grid_thw``."""

    transformers_class = "CohereCompassImageProcessor"
    class_aliases = ()
    model_types = ("cohere_compass",)
