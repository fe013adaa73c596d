"""Granite-Docling: GOT-OCR2's tiles (closest aspect ratio, thumbnail last) at 512, at most 16 per side, padded per sample.

Each page is resized to the grid of ``min_patches``..``max_patches`` tiles of ``size`` (each side
at most 16 tiles) closest to its aspect ratio and cut row-major, then a thumbnail of the whole page
follows when there are several tiles; ``crop_to_patches=False`` makes the page one tile. A page the
"spread rule" selects (``dense_max_patches``, ``dense_max_scale``, ``dense_min_aspect``,
``dense_max_aspect``) may use up to ``dense_max_patches`` tiles instead. Every sample's tiles are
zero-padded (after normalize) to the batch's largest tile count: ``(samples, tiles, C, H, W)`` with a
bool ``pixel_attention_mask`` per tile, the tile ``rows``/``cols`` per page as nested lists and, with
``fine_route``, ``tile_fine_mask`` (one True per sample). Empty samples (text-only) are allowed.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .. import geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..multiview import PaddedViews, Views, nest_inputs
from ..params import normalize_bool
from .got_ocr2 import GotOcr2ImageProcessor

#: Tiles per side at most: the tokenizer has ``<row_i_col_j>`` markers up to 16x16.
MAX_TILES_PER_SIDE = 16


def _non_negative_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _non_negative_float(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidArgumentError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


@functools.lru_cache(maxsize=64)
def capped_grids(min_tiles: int, max_tiles: int) -> list[tuple[int, int]]:
    """(cols, rows) grids of ``min_tiles``..``max_tiles`` tiles with at most 16 per side, by tile count (columns outer)."""
    side = min(max_tiles, MAX_TILES_PER_SIDE)
    grids = [(cols, rows) for cols in range(1, side + 1) for rows in range(1, side + 1) if min_tiles <= cols * rows <= max_tiles]
    return sorted(grids, key=lambda grid: grid[0] * grid[1])


@register_family
class GraniteDoclingImageProcessor(GotOcr2ImageProcessor):
    """Granite-Docling: 512 tiles in the closest-aspect grid (16 per side at most) plus a thumbnail, padded per sample with a tile mask."""

    transformers_class = "GraniteDoclingImageProcessor"
    model_types = ("granite_docling",)
    defaults = {
        "size": {"height": 512, "width": 512},
        "crop_to_patches": True,
        "min_patches": 1,
        "max_patches": 32,
        "fine_route": False,
        "dense_max_patches": 0,
        "dense_max_scale": 0.0,
        "dense_min_aspect": 0.0,
        "dense_max_aspect": 0.0,
    }
    extra_params = {
        "fine_route": normalize_bool,
        "dense_max_patches": _non_negative_int,
        "dense_max_scale": _non_negative_float,
        "dense_min_aspect": _non_negative_float,
        "dense_max_aspect": _non_negative_float,
    }
    model_input_names = ["pixel_values", "pixel_attention_mask"]

    # ---------------------------------------------------------------------------------- geometry

    def grid(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """(rows, cols) of the closest-aspect grid of ``min_patches``..``max_patches`` tiles, at most 16 per side."""
        tile_h, tile_w = self.tile_size(params)
        min_tiles, max_tiles = params["min_patches"], params["max_patches"]
        return geometry_vlm.closest_ratio_grid(height, width, tile_h, tile_w, min_tiles, max_tiles, grids=capped_grids(min_tiles, max_tiles))

    def page_max_patches(self, height: int, width: int, params: dict[str, Any]) -> int:
        """The most tiles a page may take: 1 without ``crop_to_patches``, ``dense_max_patches`` when the spread rule
        selects it (under-resolved at ``max_patches``, aspect in (dense_min_aspect, dense_max_aspect]), else ``max_patches``."""
        max_tiles = params["max_patches"]
        if not params.get("crop_to_patches") or max_tiles <= 1:
            return 1
        dense, scale, min_aspect, max_aspect = (params[k] for k in ("dense_max_patches", "dense_max_scale", "dense_min_aspect", "dense_max_aspect"))
        if not dense or (scale <= 0 and min_aspect <= 0):
            return max_tiles
        aspect = width / height
        if (min_aspect > 0 and not aspect > min_aspect) or (max_aspect > 0 and aspect > max_aspect):
            return max_tiles
        if scale > 0:
            _, cols = self.grid(height, width, params)
            if not cols * self.tile_size(params)[1] / width < scale:
                return max_tiles
        return dense

    def get_tile_grid(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> tuple[int, int]:
        """(rows, cols) of tiles a page of ``height`` x ``width`` is split into ((1, 1): one tile); ``images_kwargs`` as a call."""
        return self._reported_grid(height, width, self._serving_params(images_kwargs))

    def _reported_grid(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        # What transformers reports as rows/cols: the grid within the page's budget, min_patches as given.
        budget = self.page_max_patches(height, width, params)
        return (1, 1) if budget <= 1 else self.grid(height, width, {**params, "max_patches": budget})

    def _tiling_params(self, height: int, width: int, params: dict[str, Any]) -> dict[str, Any]:
        # The tiles come from the grid within the budget with min_patches capped by it (transformers' crop call), which
        # differs from the reported grid only when min_patches exceeds the budget.
        budget = self.page_max_patches(height, width, params)
        return {**params, "min_patches": min(params["min_patches"], budget), "max_patches": budget}

    def _serving_params(self, images_kwargs: dict[str, Any] | None) -> dict[str, Any]:
        # Serving stacks pass their whole images_kwargs; read only what applies here, as transformers does.
        return self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Tiles a page of ``height`` x ``width`` yields, the thumbnail included when it is split; ``images_kwargs`` as a call."""
        rows, cols = self.get_tile_grid(height, width, images_kwargs)
        return rows * cols + 1 if rows * cols > 1 else 1

    # ------------------------------------------------------------------------------------- views

    def nest(self, images: Any) -> list[list[Any]]:
        # A flat list is one sample; an empty inner list is a text-only sample, padded with empty tiles.
        return nest_inputs(images, allow_empty_samples=True)

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        # Every page is resized to its tile grid (one tile without crop_to_patches), whatever do_resize says.
        height, width = backend.size(image)
        views = self.tile_views(backend, image, self._tiling_params(height, width, params))
        rows, cols = self._reported_grid(height, width, params)
        return Views(views, {"rows": rows, "cols": cols})

    def packer(self, params: dict[str, Any]) -> PaddedViews:
        return PaddedViews(mask_key=None)

    def can_split_batch(self, params: dict[str, Any]) -> bool:
        return False  # outputs are per sample and padded to the batch: the runner processes pages one at a time

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        tile = "x".join(map(str, self.tile_size(params)))
        if not params.get("crop_to_patches"):
            return [f"resize to {tile} (one tile per page)"]
        dense = f" ({params['dense_max_patches']} for pages the spread rule selects)" if params.get("dense_max_patches") else ""
        return [
            f"views: {tile} tiles, row-major, of the page resized to the grid of {params['min_patches']}..{params['max_patches']}{dense} tiles "
            f"(at most {MAX_TILES_PER_SIDE} per side) closest to its aspect ratio; then, when there are several tiles, a {tile} thumbnail (last)",
            "pad every sample with zero tiles (after normalize) to the most tiles in the batch; pixel_attention_mask marks the real tiles",
        ]

    # ------------------------------------------------------------------------------------- outputs

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        """The per-tile bool mask (samples, max tiles), per-page ``rows``/``cols`` per sample and, with ``fine_route``, ``tile_fine_mask``."""
        counts, out, start = [], {"rows": [], "cols": []}, 0
        for count in samples:
            pages = views[start : start + count]
            counts.append(sum(len(group.images) for group in pages))
            for key in ("rows", "cols"):
                out[key].append([group.meta[key] for group in pages])
            start += count
        mask = np.zeros((len(samples), max(counts)), dtype=bool)
        for index, count in enumerate(counts):
            mask[index, :count] = True
        data: dict[str, Any] = {"pixel_attention_mask": mask, **out}
        if params.get("fine_route"):
            data["tile_fine_mask"] = np.ones(len(samples), dtype=bool)
        return data

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        # transformers keeps rows/cols as nested Python lists whatever return_tensors says.
        grid = {key: features.data.pop(key) for key in ("rows", "cols") if key in features.data}
        features = super().finalize(features, params, backend)
        features.data.update(grid)
        return features
