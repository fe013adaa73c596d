"""DeepSeek-VL and Janus: the long side resized to ``size`` (Python ``round``, each side at least ``min_size``),
then centred on a square filled with the background colour.

The background colour is fixed when the processor is built, from that ``image_mean`` (``int(mean * 255)``
per channel, 127 gray without a mean), as transformers does: a call-time ``image_mean`` changes the
normalisation, not the padding. transformers does not convert gray or RGBA images here (it raises);
pixelprep converts them to RGB, as the 3-value mean asks.
"""

from __future__ import annotations

import functools
from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..errors import InvalidArgumentError
from ..multiview import PadToSquare, RuleResize
from ..params import _positive_int
from ..processor import ImageProcessor
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

DEEPSEEK_VL_DEFAULTS: dict[str, Any] = {
    "do_resize": True,
    "size": {"height": 384, "width": 384},
    "resample": 3,
    "do_rescale": True,
    "do_normalize": True,
    "image_mean": OPENAI_CLIP_MEAN,
    "image_std": OPENAI_CLIP_STD,
    "do_pad": True,
    "min_size": 14,
}


def background_colour(mean: tuple[float, ...] | None) -> tuple[int, ...]:
    """The pad colour derived from a normalisation mean: truncated 0-255 levels, mid gray without a mean."""
    return (127, 127, 127) if mean is None else tuple(int(value * 255) for value in mean)


def square_side(size: dict[str, int] | None, name: str = "size") -> int:
    """The side of a square ``size``; anything else is an :class:`InvalidArgumentError` naming ``name``."""
    if not size or size.get("height") is None or size.get("height") != size.get("width"):
        raise InvalidArgumentError(f"{name} must be a square {{'height': n, 'width': n}} for the long-side resize, got {size}")
    return size["height"]


def long_side_resize(size: int, min_size: int, resample: int) -> RuleResize:
    """The long-side resize as a step (see :func:`~pixelprep.geometry_vlm.long_side_fit`)."""
    rule = functools.partial(geometry_vlm.long_side_fit, size=size, min_size=min_size)
    return RuleResize(rule, resample, f"long side to {size} (round), each side at least {min_size}, aspect kept")


@register_family
class DeepseekVLImageProcessor(ImageProcessor):
    """DeepSeek-VL: long side to 384, centred pad to a square with the init-time mean colour, CLIP normalisation."""

    transformers_class = "DeepseekVLImageProcessor"
    model_types = ("deepseek_vl",)
    defaults = DEEPSEEK_VL_DEFAULTS
    extra_params = {"min_size": _positive_int}

    def _setup(self, params: dict[str, Any], extra: dict[str, Any], backend: str | None, num_threads: int | None) -> None:
        super()._setup(params, extra, backend, num_threads)
        # fixed here, as transformers fixes it in __init__: later or call-time means do not change it
        object.__setattr__(self, "background_color", background_colour(self._params.get("image_mean")))

    def pads_batch(self, params: dict[str, Any]) -> bool:
        """``do_pad`` pads each image to a square here, never the batch."""
        return False

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        return [long_side_resize(square_side(params.get("size")), params["min_size"], params["resample"])]

    def steps(self, params: dict[str, Any]) -> list[Any]:
        return super().steps(params) + ([PadToSquare(self.background_color)] if params.get("do_pad") else [])


@register_family
class JanusImageProcessor(DeepseekVLImageProcessor):
    """Janus: DeepSeek-VL's preprocessing under its own class name."""

    transformers_class = "JanusImageProcessor"
    model_types = ("janus",)
