"""PerceptionLM: a thumbnail, then the image squashed onto a canvas of tiles and cut row-major.

With ``vision_input_type="thumb+tile"`` (the default) each image gives a ``tile_size`` square thumbnail
of the whole image, then the image resized (aspect not kept) to a canvas of up to ``max_num_tiles``
tiles and cut into them row-major (:func:`~pixelprep.geometry_vlm.fitting_canvas_grid` picks the canvas:
the one that holds the image and lets it grow most, else the closest aspect ratio); any other value
gives the thumbnail alone. A call-time ``max_num_tiles`` only turns the canvas into one tile when it
is 1: the canvases come from the processor's own value, as in transformers. ``pixel_values`` is ``(images, views, C, H, W)``; images with different view
counts give a list of per-image arrays, as transformers does without ``return_tensors``.

transformers has only a torchvision class; the pil backend runs the same geometry with Pillow's resize.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError
from ..multiview import MultiViewProcessor, Views, ViewsPerImage
from ..params import _positive_int
from .constants import STANDARD_RGB_NORMALIZE

#: The one vision_input_type that tiles; transformers treats any other value as the thumbnail alone.
THUMB_AND_TILES = "thumb+tile"


def string_param(expected: str) -> Callable[[Any, str], str | None]:
    """A checker for a setting that must be a string (``expected`` says which, for the error); None means the default."""

    def check(value: Any, name: str) -> str | None:
        if value is not None and not isinstance(value, str):
            raise InvalidArgumentError(f"{name} must be {expected}, got {value!r}")
        return value

    return check


@register_family
class PerceptionLMImageProcessor(MultiViewProcessor):
    """PerceptionLM: a thumbnail and the tiles of the best-fitting canvas of ``tile_size`` squares, per image."""

    transformers_class = "PerceptionLMImageProcessor"
    model_types = ("perception_lm",)
    defaults = {
        "do_resize": True,
        "size": {"height": 448, "width": 448},  # kept for the config file, as transformers does; tile_size rules
        "resample": 3,
        **STANDARD_RGB_NORMALIZE,
        "vision_input_type": THUMB_AND_TILES,
        "tile_size": 448,
        "max_num_tiles": 36,
    }
    extra_params = {"vision_input_type": string_param(f"a string ({THUMB_AND_TILES!r} for a thumbnail and tiles)"), "tile_size": _positive_int, "max_num_tiles": _positive_int}
    model_input_names = ["pixel_values"]

    def tiles(self, params: dict[str, Any]) -> bool:
        """Whether images are tiled (besides the thumbnail)."""
        return params.get("vision_input_type") == THUMB_AND_TILES

    def grid(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """(rows, cols) of tiles for an image of ``height`` x ``width``.

        As in transformers, the canvases come from the processor's own ``max_num_tiles``: a call-time value
        only turns tiling into one tile when it is 1.
        """
        if params["max_num_tiles"] == 1:
            return 1, 1
        return geometry_vlm.fitting_canvas_grid(height, width, params["tile_size"], self._params["max_num_tiles"])

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Views (the thumbnail, plus the tiles with ``thumb+tile``) an image of ``height`` x ``width`` makes; ``images_kwargs`` as a call."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        if not params.get("do_resize"):
            return 1
        if not self.tiles(params):
            return 1
        rows, cols = self.grid(height, width, params)
        return 1 + rows * cols

    def steps(self, params: dict[str, Any]) -> list[Any]:
        return []  # every view is resized from the original image in split_views

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        if not params.get("do_resize"):
            return Views([image])
        tile, resample = params["tile_size"], params["resample"]
        height, width = backend.size(image)
        views = [image if (height, width) == (tile, tile) else backend.resize(image, (tile, tile), resample)]
        if self.tiles(params):
            rows, cols = self.grid(height, width, params)
            target = geometry.check_output_size(rows * tile, cols * tile, f"tiling a {height}x{width} image gives an image")
            canvas = image if target == (height, width) else backend.resize(image, target, resample)
            views += [backend.crop(canvas, top, left, h, w) for top, left, h, w in geometry_vlm.tile_boxes(*target, tile, tile)]
        return Views(views)

    def packer(self, params: dict[str, Any]) -> ViewsPerImage:
        return ViewsPerImage("pixel_values", pad=False, ragged=True)

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        if not params.get("do_resize"):
            return ["views: the image as it is"]
        tile = f"{params['tile_size']}x{params['tile_size']}"
        resample = RESAMPLE_NAMES[params["resample"]]
        lines = [f"views: a {tile} thumbnail (squashed, {resample})"]
        if self.tiles(params):
            lines.append(
                f"then {tile} tiles, row-major, of the image squashed ({resample}) onto the canvas of up to {self._params['max_num_tiles']} tiles "
                "that holds it and lets it grow most (else the closest aspect ratio)"
            )
        return lines
