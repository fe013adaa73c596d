"""LLaVA: CLIP's preprocessing, with an optional pad to a square (``do_pad``) before the resize.

The square is filled with the call's ``image_mean`` as 0-255 levels (``int(mean * 255)``, truncated as
transformers does), so the padding normalises to about zero.
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..errors import InvalidArgumentError
from ..multiview import PadToSquare
from ..processor import ImageProcessor
from .clip import CLIP_DEFAULTS


def mean_fill(mean: tuple[float, ...] | None) -> tuple[int, ...] | int:
    """The pad colour LLaVA derives from a normalisation mean: each value as a truncated 0-255 level (0 without a mean)."""
    return tuple(int(value * 255) for value in mean) if mean else 0


def pad_to_square(self: ImageProcessor, images: Any, background_color: int | tuple[int, ...] = 0) -> Any:
    """A CHW image (or a BCHW batch) centred on a square of its long side, as transformers' ``pad_to_square``: the step ``do_pad`` runs.

    As there, an int ``background_color`` fills the first channel only (the others with 0); a tuple gives one value per channel.
    """
    import numpy as np

    channels = images.shape[-3] if np.ndim(images) >= 3 else 1
    if isinstance(background_color, (tuple, list)):
        if len(background_color) != channels:
            raise InvalidArgumentError(f"background_color must give one value per channel ({channels}), got {background_color}")
        fill = tuple(background_color)
    else:
        fill = (background_color,) + (0,) * (channels - 1)
    return self._run_steps(images, self._step_params({}), [PadToSquare(fill)])


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

    pad_to_square = pad_to_square
