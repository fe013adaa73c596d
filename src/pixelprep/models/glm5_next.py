"""Glm5Next: GLM's patches on a canvas sized by a token budget, the image resized into its top-left corner and zero-padded.

A declaration on :class:`~pixelprep.models.glmga.GlmgaImageProcessor` (same patches, same
``patch_expand_factor``) whose size rule counts tokens instead of pixels:
:func:`~pixelprep.geometry_vlm.token_budget_canvas` gives a canvas of ``min_image_tokens`` ..
``max_image_tokens`` tokens (``size`` is not read, as in transformers), the image is resized to fit
it (shrunk only, unless it is under the minimum) and padded bottom/right with 0 before normalize.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from .glm4v import _optional_positive_int
from .glmga import GlmgaImageProcessor

Size = tuple[int, int]


@dataclass(frozen=True)
class ResizeIntoCanvas:
    """Resize to ``rule(height, width)``'s content size, then pad bottom/right with 0 to its canvas (before normalize)."""

    rule: Callable[[int, int], tuple[Size, Size]]
    resample: int
    what: str

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        content, canvas = self.rule(height, width)
        geometry.check_output_size(*canvas, f"the canvas for a {height}x{width} image")
        if content != (height, width):
            image = backend.resize(image, content, self.resample)
        bottom, right = canvas[0] - content[0], canvas[1] - content[1]
        return image if bottom == right == 0 else backend.pad(image, 0, bottom, 0, right, 0)

    def describe(self) -> str:
        return f"resize {self.what} {RESAMPLE_NAMES[self.resample]}, then pad bottom/right with 0 to the canvas"


@register_family
class Glm5NextImageProcessor(GlmgaImageProcessor):
    """Glm5Next: a canvas of 16..8000 tokens (multiples of 28), the image fitted into its corner; patches with ``image_grid_thw``."""

    transformers_class = "Glm5NextImageProcessor"
    model_types = ("glm5_next",)
    defaults = {"size": {"longest_edge": 1}, "min_image_tokens": 16, "max_image_tokens": 8000}
    extra_params = {"min_image_tokens": _optional_positive_int, "max_image_tokens": _optional_positive_int}

    def canvas(self, height: int, width: int, params: dict[str, Any]) -> Size:
        """The canvas (padded size) for an image of ``height`` x ``width``."""
        return geometry_vlm.token_budget_canvas(
            height, width, self.resize_factor(params), params["temporal_patch_size"], params["min_image_tokens"], params["max_image_tokens"]
        )

    def content_and_canvas(self, height: int, width: int, params: dict[str, Any]) -> tuple[Size, Size]:
        """(size the image is resized to, canvas it is padded to); enlarging only for an image under ``min_image_tokens``."""
        canvas = self.canvas(height, width, params)
        factor = self.resize_factor(params)
        under_minimum = height * width < factor * factor * params["min_image_tokens"]
        return geometry_vlm.content_in_canvas(height, width, *canvas, enlarge=under_minimum), canvas

    # the patch count follows the canvas (get_number_of_image_patches reads target_size)
    target_size = canvas

    def steps(self, params: dict[str, Any]) -> list[Any]:
        if not params.get("do_resize"):
            return []
        factor, frames = self.resize_factor(params), params["temporal_patch_size"]
        what = (
            f"into a canvas of multiples of {factor} holding {params['min_image_tokens']}..{params['max_image_tokens']} tokens "
            f"of {frames} frames x {factor}x{factor} pixels, aspect kept (Glm5Next)"
        )
        return [ResizeIntoCanvas(functools.partial(self.content_and_canvas, params=params), params["resample"], what)]
