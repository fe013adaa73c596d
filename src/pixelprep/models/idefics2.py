"""Idefics2: optional split into 4 quadrants plus the original, each resized (long side capped, each side floored).

With ``do_image_splitting`` an image's views are its quadrants (``h // 2``, ``w // 2``; top-left,
top-right, bottom-left, bottom-right) then the whole image, cut *before* resizing; each view is then
resized by :func:`~pixelprep.geometry_vlm.cap_then_floor_sides`. Views are padded per sample into
``(samples, max views, C, H, W)`` with ``pixel_attention_mask``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError, InvalidImageError
from ..multiview import MultiViewProcessor, PaddedViews, Views
from ..params import normalize_bool
from ..processor import Resize
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


@dataclass(frozen=True)
class CapThenFloorSides:
    """Resize by Idefics2's rule: the long side at most ``longest_edge`` (aspect kept), then each side at least ``shortest_edge``."""

    shortest_edge: int
    longest_edge: int
    resample: int

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = geometry.check_output_size(*geometry_vlm.cap_then_floor_sides(height, width, self.shortest_edge, self.longest_edge), f"resizing a {height}x{width} image gives an image")
        return image if target == (height, width) else backend.resize(image, target, self.resample)

    def describe(self) -> str:
        return (
            f"resize: long side at most {self.longest_edge} (aspect kept), then each side at least {self.shortest_edge} "
            f"{RESAMPLE_NAMES[self.resample]}"
        )


def quadrants(backend: Backend, image: Any) -> list[Any]:
    """The 4 quadrants of ``image`` (split at ``h // 2``, ``w // 2``) row-major, then the image itself."""
    height, width = backend.size(image)
    if height < 2 or width < 2:
        raise InvalidImageError(
            f"an image of {height}x{width} cannot be split into 4 quadrants (do_image_splitting needs at least 2x2 pixels); "
            "pass do_image_splitting=False"
        )
    mid_h, mid_w = height // 2, width // 2
    return [
        backend.crop(image, 0, 0, mid_h, mid_w),
        backend.crop(image, 0, mid_w, mid_h, width - mid_w),
        backend.crop(image, mid_h, 0, height - mid_h, mid_w),
        backend.crop(image, mid_h, mid_w, height - mid_h, width - mid_w),
        image,
    ]


@dataclass(frozen=True)
class _View:
    """One of :func:`quadrants`' views (by index), as a step for the single-step runner."""

    index: int

    def apply(self, backend: Backend, image: Any) -> Any:
        return quadrants(backend, image)[self.index]

    def describe(self) -> str:
        return f"view {self.index} of the quadrant split"


@register_family
class Idefics2ImageProcessor(MultiViewProcessor):
    """Idefics2: each view's long side capped at 980 and sides floored at 378; views padded per sample with a pixel mask."""

    transformers_class = "Idefics2ImageProcessor"
    model_types = ("idefics2",)
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 378, "longest_edge": 980},
        "resample": 2,
        "default_to_square": False,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_convert_rgb": True,
        "do_pad": True,
        "do_image_splitting": False,
    }
    extra_params = {"do_image_splitting": normalize_bool}
    model_input_names = ["pixel_values", "pixel_attention_mask"]

    def view_resize(self, params: dict[str, Any]) -> CapThenFloorSides | Resize:
        """The resize every view gets: ``size`` as ``{"shortest_edge", "longest_edge"}`` (the family's rule) or ``{"height", "width"}``."""
        size = params.get("size") or {}
        if set(size) == {"shortest_edge", "longest_edge"}:
            return CapThenFloorSides(size["shortest_edge"], size["longest_edge"], params["resample"])
        if set(size) == {"height", "width"}:
            return Resize(size, params["resample"])
        raise InvalidArgumentError(
            f"size must give 'shortest_edge' and 'longest_edge', or 'height' and 'width', for {type(self).__name__}, got {size}"
        )

    def steps(self, params: dict[str, Any]) -> list[Any]:
        return []  # the split comes before the resize, so both are views work (split_views)

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        views = quadrants(backend, image) if params.get("do_image_splitting") else [image]
        if params.get("do_resize"):
            resize = self.view_resize(params)
            views = [resize.apply(backend, view) for view in views]
        return Views(views)

    def split_images(self, images: Any) -> list[Any]:
        """The 4 quadrants and the whole image the pipeline's ``do_image_splitting`` makes, as transformers' ``split_images``:
        for a CHW image a list of 5 views, for a BCHW batch one such list per image."""
        if len(images.shape) == 4:
            return [self.split_images(image) for image in images]
        if len(images.shape) != 3:
            raise InvalidArgumentError(f"split_images takes a CHW image or a BCHW batch, got shape {tuple(images.shape)}")
        params = self._step_params({})
        # each quadrant is a crop: the same views as quadrants(), taken one at a time through the single-step runner
        return [self._run_steps(images, params, [_View(index)]) for index in range(5)]

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        lines = []
        if params.get("do_image_splitting"):
            lines.append("views: the 4 quadrants (h//2, w//2) row-major, then the whole image")
        if params.get("do_resize"):
            lines.append(("each view: " if params.get("do_image_splitting") else "") + self.view_resize(params).describe())
        return lines

    def packer(self, params: dict[str, Any]) -> PaddedViews:
        return PaddedViews(pad=bool(params.get("do_pad")))
