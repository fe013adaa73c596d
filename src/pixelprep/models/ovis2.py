"""Ovis2: GOT-OCR2's tiles with a thumbnail first and, by default, the fewest tiles that keep 90% of the image.

With ``crop_to_patches`` (and ``max_patches`` over 1) the image is resized to a grid of ``size`` tiles
and cut row-major; with several tiles a thumbnail of the whole image at ``size`` comes *first*. The
grid is, with ``use_covering_area_grid`` (the default), the fewest tiles whose pieces of the image keep
over 90% of its area when each is shrunk to fit a tile (:func:`~pixelprep.geometry_vlm.covering_grid`),
otherwise GOT-OCR2's closest aspect ratio within ``min_patches``..``max_patches``. Every view is
stacked into ``(views, C, H, W)``; ``grids`` gives each image's (rows, cols) of tiles ((1, 1) untiled).

transformers scores the covering grids as (rows, cols) but tiles the image as (cols, rows) (so a wide
image is cut into a column of tiles): pixelprep does the same, so the model sees what it was trained on.
"""

from __future__ import annotations

from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..multiview import StackViews, Views
from ..params import normalize_bool
from .got_ocr2 import GotOcr2ImageProcessor

#: Share of the image's area the covering grid must keep (transformers' default; not a config setting).
COVERING_THRESHOLD = 0.9


@register_family
class Ovis2ImageProcessor(GotOcr2ImageProcessor):
    """Ovis2: optional tiles in the fewest-tiles covering grid (or the closest-ratio grid), thumbnail first; views stacked with ``grids``."""

    transformers_class = "Ovis2ImageProcessor"
    model_types = ("ovis2",)
    defaults = {"use_covering_area_grid": True}
    extra_params = {"use_covering_area_grid": normalize_bool}

    def tiles(self, params: dict[str, Any]) -> bool:
        """Whether images are tiled: ``crop_to_patches`` with room for more than one tile, as in transformers."""
        return bool(params.get("crop_to_patches")) and params["max_patches"] > 1

    def grid(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        if not params.get("use_covering_area_grid", True):
            return super().grid(height, width, params)
        tile_h, _ = self.tile_size(params)  # transformers assumes square tiles and uses the height
        scored_rows, scored_cols = geometry_vlm.covering_grid(height, width, tile_h, params["max_patches"], params.get("covering_threshold", COVERING_THRESHOLD))
        return scored_cols, scored_rows  # transformers' swap, see the module docstring

    def describe_grid(self, params: dict[str, Any]) -> str:
        if params.get("use_covering_area_grid", True):
            return f"the fewest of up to {params['max_patches']} tiles keeping over 90% of the image (covering grid, rows and columns swapped as in transformers)"
        return super().describe_grid(params)

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Views (tiles, plus the thumbnail when there are several) an image of ``height`` x ``width`` makes; ``images_kwargs`` as a call."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        if not self.tiles(params):
            return 1
        rows, cols = self.grid(height, width, params)
        return 1 if rows * cols == 1 else rows * cols + 1

    def tile_views(self, backend: Backend, image: Any, params: dict[str, Any], use_thumbnail: bool = True) -> list[Any]:
        """The thumbnail (with several tiles and ``use_thumbnail``), then the tiles of ``image`` resized to its grid, row-major."""
        views = super().tile_views(backend, image, params, use_thumbnail)
        return views[-1:] + views[:-1] if use_thumbnail and len(views) > 1 else views

    def crop_image_to_patches(
        self,
        images: Any,
        min_patches: int,
        max_patches: int,
        use_covering_area_grid: bool = True,
        covering_threshold: float = COVERING_THRESHOLD,
        patch_size: Any = None,
        resample: Any = None,
    ) -> tuple[Any, list[Any]]:
        """The pipeline's views of a CHW image (a list, and its [rows, cols]) or a BCHW batch (one (B, views, C, H, W)
        array, and [rows, cols] per image), as transformers' ``crop_image_to_patches``; ``patch_size`` is the tile."""
        tile = self._params["size"] if patch_size is None else {"height": patch_size["height"], "width": patch_size["width"]}
        overrides = {"size": tile, "min_patches": min_patches, "max_patches": max_patches, "use_covering_area_grid": use_covering_area_grid, "resample": resample}
        params = dict(self._step_params(overrides), covering_threshold=covering_threshold)
        views = self._tile_arrays(images, params, use_thumbnail=True)
        height, width = images.shape[-2:]
        grid = list(self.grid(int(height), int(width), params))
        return views, grid if len(images.shape) == 3 else [grid for _ in range(images.shape[0])]

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        tiled = self.tiles(params)
        views = super().split_views(backend, image, dict(params, crop_to_patches=tiled))
        views.meta["grids"] = list(self.grid(*backend.size(image), params)) if tiled else [1, 1]
        return views

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ("grids",)

    def packer(self, params: dict[str, Any]) -> StackViews:
        return StackViews("pixel_values")

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        lines = super().describe_views(dict(params, crop_to_patches=self.tiles(params)))
        if self.tiles(params):
            tile = "x".join(map(str, self.tile_size(params)))
            lines[0] = (
                f"views: when there are several tiles, a {tile} thumbnail of the whole image first; then {tile} tiles, row-major, "
                f"of the image resized ({RESAMPLE_NAMES[params['resample']]}) to {self.describe_grid(params)}"
            )
        return lines + ["grids: (rows, cols) of tiles per image, (1, 1) untiled"]
