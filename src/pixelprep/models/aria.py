"""Aria: each image (or, with ``split_image``, each crop of it) fitted into a ``max_image_size`` square.

The image's long side goes to ``max_image_size`` (490 or 980) and its short side to at least
``min_image_size``; it is padded with 0 bottom/right (before normalize, as transformers does) to the
square, and ``pixel_mask`` (bool) marks the real pixels. With ``split_image`` the image is first fitted
and zero-padded, centred, into the best of ``split_resolutions``
(:func:`~pixelprep.geometry_vlm.select_best_resolution`, LLaVA-NeXT's rule) and cut into row-major
``max_image_size`` crops, each then treated as above. Every crop of every image is stacked into
``(crops, C, S, S)``; ``num_crops`` is the largest number of crops an image of the batch made.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError
from ..multiview import MultiViewProcessor, StackViews, Views
from ..params import _positive_int, normalize_bool
from .llava_next import normalize_pinpoints

#: The only canvas sides Aria's vision tower takes.
MAX_IMAGE_SIZES = (490, 980)
#: transformers' default split_resolutions, in units of 490 pixels, as (height, width).
_SPLIT_GRIDS = ((1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8), (2, 4), (2, 3), (2, 2), (2, 1), (3, 1), (3, 2),
                (4, 1), (4, 2), (5, 1), (6, 1), (7, 1), (8, 1))


@register_family
class AriaImageProcessor(MultiViewProcessor):
    """Aria: (crops of) the image fitted into a ``max_image_size`` square, zero-padded, with a bool ``pixel_mask`` and ``num_crops``."""

    transformers_class = "AriaImageProcessor"
    model_types = ("aria",)
    defaults = {
        "resample": 3,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": (0.5, 0.5, 0.5),
        "image_std": (0.5, 0.5, 0.5),
        "do_convert_rgb": True,
        "max_image_size": 980,
        "min_image_size": 336,
        "split_image": False,
        "split_resolutions": [[rows * 490, cols * 490] for rows, cols in _SPLIT_GRIDS],
    }
    extra_params = {"max_image_size": _positive_int, "min_image_size": _positive_int, "split_image": normalize_bool,
                    "split_resolutions": normalize_pinpoints}
    model_input_names = ["pixel_values", "pixel_mask", "num_crops"]

    @staticmethod
    def _sizes(params: dict[str, Any]) -> tuple[int, int]:
        """(max_image_size, min_image_size), checked as transformers does at call time (and min <= max, which it leaves to a crash)."""
        max_size, min_size = params["max_image_size"], params["min_image_size"]
        if max_size not in MAX_IMAGE_SIZES:
            raise InvalidArgumentError(f"max_image_size must be 490 or 980 for AriaImageProcessor, got {max_size}")
        if min_size > max_size:
            raise InvalidArgumentError(f"min_image_size={min_size} is over max_image_size={max_size}: a crop could not fit its square")
        return max_size, min_size

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Crops an image of ``height`` x ``width`` makes (1 without ``split_image``); ``images_kwargs`` as a call."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        if not params.get("split_image"):
            return 1
        max_size, _ = self._sizes(params)
        best = geometry_vlm.select_best_resolution(height, width, params["split_resolutions"])
        return len(geometry_vlm.tile_boxes(*best, max_size, max_size))

    # ------------------------------------------------------------------------------------- views

    def nest(self, images: Any) -> list[list[Any]]:
        # Aria flattens every input: samples play no part in its outputs.
        return [[item for sample in super().nest(images) for item in sample]]

    def steps(self, params: dict[str, Any]) -> list[Any]:
        self._sizes(params)  # refuse a bad max/min size before any image is read
        return []

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        max_size, min_size = self._sizes(params)
        geometry.check_output_size(max_size, max_size, "an Aria crop")
        resample = params["resample"]
        crops = [image]
        if params.get("split_image"):
            height, width = backend.size(image)
            best = geometry_vlm.select_best_resolution(height, width, params["split_resolutions"])
            geometry.check_output_size(*best, f"the split_image canvas of a {height}x{width} image")
            fitted = geometry_vlm.fit_within(height, width, *best)
            if fitted != (height, width):
                image = backend.resize(image, fitted, resample)
            top, bottom, left, right = geometry_vlm.centered_padding(*fitted, *best)
            if top or bottom or left or right:
                image = backend.pad(image, top, bottom, left, right, 0)
            crops = [backend.crop(image, t, l, h, w) for t, l, h, w in geometry_vlm.tile_boxes(*best, max_size, max_size)]
        views, sizes = [], []
        for crop in crops:
            height, width = backend.size(crop)
            target = geometry_vlm.long_side_to_with_floor(height, width, max_size, min_size)
            if target != (height, width):
                crop = backend.resize(crop, target, resample)
            if target != (max_size, max_size):
                crop = backend.pad(crop, 0, max_size - target[0], 0, max_size - target[1], 0)
            views.append(crop)
            sizes.append(target)
        return Views(views, meta={"sizes": sizes})

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        max_size, min_size = params["max_image_size"], params["min_image_size"]
        lines = []
        if params.get("split_image"):
            count = len(params.get("split_resolutions") or ())
            lines.append(
                f"crops: the image fitted and zero-padded, centred, into the best of {count} split_resolutions "
                f"({RESAMPLE_NAMES[params['resample']]}), cut into {max_size}x{max_size} crops, row-major"
            )
        what = "each crop" if params.get("split_image") else "the image"
        lines.append(f"{what}: long side to {max_size}, short side scaled (truncated, at least {min_size}) {RESAMPLE_NAMES[params['resample']]}")
        lines.append(f"pad bottom/right with 0 to {max_size}x{max_size}")
        return lines

    def packer(self, params: dict[str, Any]) -> StackViews:
        return StackViews("pixel_values")

    def can_split_batch(self, params: dict[str, Any]) -> bool:
        # num_crops is a batch maximum: the runner processes images one at a time, so each row has its own.
        return False

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        """pixel_mask (crops, S, S) bool of the real pixels, num_crops the most crops of any image (an int)."""
        size = params["max_image_size"]
        crop_sizes = [hw for group in views for hw in group.meta["sizes"]]
        mask = np.zeros((len(crop_sizes), size, size), dtype=bool)
        for i, (height, width) in enumerate(crop_sizes):
            mask[i, :height, :width] = True
        return {"pixel_mask": mask, "num_crops": max(len(group.images) for group in views)}

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        return super().describe_pipeline(params) + ["also output pixel_mask (bool, real pixels per crop) and num_crops (most crops of any image)"]
