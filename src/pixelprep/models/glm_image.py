"""GLM-Image: Qwen2-VL's patches and ``min_pixels``/``max_pixels`` spelling, with GLM-Image's own size rule.

A declaration on :class:`~pixelprep.models.qwen2_vl.Qwen2VLImageProcessor` whose resize is
:func:`~pixelprep.geometry_vlm.glm_image_size`: the image is scaled so its short side reaches
sqrt(min_pixels) (long side at most sqrt(max_pixels)) and then *halved*, sides rounded to multiples
of patch x merge. Images with a side under patch x merge or an aspect ratio over 4 are refused.
"""

from __future__ import annotations

import functools
from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..multiview import RuleResize
from .qwen2_vl import Qwen2VLImageProcessor


@register_family
class GlmImageImageProcessor(Qwen2VLImageProcessor):
    """GLM-Image: half-size resize to multiples of 28 (sides within sqrt of the pixel budget); patches concatenated with ``image_grid_thw``."""

    transformers_class = "GlmImageImageProcessor"
    class_aliases = ()
    model_types = ("glm_image",)
    # transformers lists images_per_sample, which its image processor never outputs (its processor adds it)
    model_input_names = ["pixel_values", "image_grid_thw", "images_per_sample"]

    def smart_resize(self, params: dict[str, Any]) -> RuleResize:
        """The resize step for the resolved ``params``: GLM-Image's rule with ``size``'s pixel budget."""
        step = super().smart_resize(params)
        low, high = step.min_pixels, step.max_pixels
        rule = functools.partial(geometry_vlm.glm_image_size, factor=step.factor, min_pixels=low, max_pixels=high)
        shortest, longest = round(low**0.5), round(high**0.5)
        what = (
            f"to half of the image scaled to a short side of at least {shortest} and a long side of at most {longest} "
            f"(sqrt of {low}..{high} pixels), sides multiples of {step.factor}, aspect kept (GLM-Image)"
        )
        return RuleResize(rule, step.resample, what)
