"""UltraVBert: Idefics3's tiles plus a global view, with the first resize capped to ``max_image_tiles`` tiles.

A declaration on :class:`~pixelprep.models.idefics3.Idefics3ImageProcessor`: its own constants (long side
3072, 512-pixel tiles) and one rule of its own: with splitting on, the long side is lowered in steps of
one tile until the page fits ``max_image_tiles`` tiles (:func:`~pixelprep.geometry_vlm.capped_long_side`).
transformers has only a torchvision class; the pil backend runs the same geometry with Pillow's resize.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..params import _positive_int
from ..processor import Resize
from .idefics3 import Idefics3ImageProcessor, LongSideTo


@dataclass(frozen=True)
class CappedLongSideTo(LongSideTo):
    """:class:`LongSideTo` with ``longest_edge`` lowered, per image, until it makes at most ``max_tiles`` ``tile`` squares."""

    tile: int = 512
    max_tiles: int = 27

    def target(self, height: int, width: int) -> tuple[int, int]:
        edge = geometry_vlm.capped_long_side(height, width, self.longest_edge, self.tile, self.max_tiles)
        return geometry_vlm.long_side_to(height, width, edge)

    def describe(self) -> str:
        return super().describe() + f"; the long side lowered in steps of {self.tile} until at most {self.max_tiles} tiles"


@register_family
class UltraVBertImageProcessor(Idefics3ImageProcessor):
    """UltraVBert: Idefics3 with 512-pixel tiles and the long side capped so an image makes at most ``max_image_tiles`` tiles."""

    transformers_class = "UltraVBertImageProcessor"
    model_types = ("ultravbert",)
    defaults = {**Idefics3ImageProcessor.defaults, "size": {"longest_edge": 3072}, "max_image_size": {"longest_edge": 512}, "max_image_tiles": 27}
    extra_params = {**Idefics3ImageProcessor.extra_params, "max_image_tiles": lambda value, name: None if value is None else _positive_int(value, name)}

    def first_resize(self, params: dict[str, Any]) -> LongSideTo | Resize:
        """Idefics3's first resize; with splitting on, a ``longest_edge`` size is capped to ``max_image_tiles`` tiles."""
        step = super().first_resize(params)
        if isinstance(step, LongSideTo) and params.get("do_image_splitting"):
            return CappedLongSideTo(step.longest_edge, step.resample, self._tile(params), params["max_image_tiles"])
        return step
