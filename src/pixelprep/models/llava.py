"""LLaVA: CLIP's preprocessing, with an optional pad to a square (``do_pad``) before the resize.

The square is filled with the call's ``image_mean`` as 0-255 levels (``int(mean * 255)``, truncated as
transformers does), so the padding normalises to about zero.
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..multiview import PadToSquare
from ..processor import ImageProcessor
from .clip import CLIP_DEFAULTS


def mean_fill(mean: tuple[float, ...] | None) -> tuple[int, ...] | int:
    """The pad colour LLaVA derives from a normalisation mean: each value as a truncated 0-255 level (0 without a mean)."""
    return tuple(int(value * 255) for value in mean) if mean else 0


@register_family
class LlavaImageProcessor(ImageProcessor):
    """LLaVA: optional centred pad to a square with the mean colour, then CLIP's resize, crop and normalisation."""

    transformers_class = "LlavaImageProcessor"
    model_types = ("llava",)
    defaults = {**CLIP_DEFAULTS, "do_pad": False}

    def pads_batch(self, params: dict[str, Any]) -> bool:
        """``do_pad`` pads each image to a square here, never the batch."""
        return False

    def steps(self, params: dict[str, Any]) -> list[Any]:
        pad = [PadToSquare(mean_fill(params.get("image_mean")))] if params.get("do_pad") else []
        return pad + super().steps(params)
