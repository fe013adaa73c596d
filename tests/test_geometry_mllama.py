"""Mllama's canvas rules in geometry_vlm.py: properties, and equality with transformers' own functions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.models.mllama.image_processing_mllama import (
    get_all_supported_aspect_ratios,
    get_image_size_fit_to_canvas,
    get_optimal_tiled_canvas,
)

from pixelprep import geometry_vlm
from pixelprep.errors import InvalidArgumentError, InvalidImageError

SETTINGS = settings(max_examples=400, deadline=None)
sides = st.integers(min_value=1, max_value=20_000)
tiles = st.sampled_from([14, 224, 336, 448, 560])
max_tiles = st.integers(min_value=1, max_value=16)


@given(limit=max_tiles)
@SETTINGS
def test_tile_arrangements_equal_transformers_and_fit_the_limit(limit: int) -> None:
    grids = geometry_vlm.tile_arrangements(limit)
    assert grids == get_all_supported_aspect_ratios(limit)
    assert all(a * b <= limit for a, b in grids) and len(set(grids)) == len(grids)
    assert set(grids) == {(b, a) for a, b in grids}  # symmetric: (rows, cols) and (cols, rows) index alike
    assert (1, limit) in grids and (limit, 1) in grids


@given(height=sides, width=sides, limit=max_tiles, tile=tiles)
@SETTINGS
def test_tiled_canvas_equals_transformers(height: int, width: int, limit: int, tile: int) -> None:
    rows, cols = geometry_vlm.tiled_canvas(height, width, limit, tile)
    assert (rows * tile, cols * tile) == tuple(int(v) for v in get_optimal_tiled_canvas(height, width, limit, tile))


@given(height=sides, width=sides, limit=max_tiles, tile=tiles)
@SETTINGS
def test_tiled_canvas_scales_least(height: int, width: int, limit: int, tile: int) -> None:
    """No other grid scales the image by a factor closer to 1 from above (or, with no upscaling grid, from below)."""
    rows, cols = geometry_vlm.tiled_canvas(height, width, limit, tile)
    assert rows * cols <= limit
    scale = min(rows * tile / height, cols * tile / width)
    others = [min(a * tile / height, b * tile / width) for a, b in geometry_vlm.tile_arrangements(limit)]
    if any(s >= 1 for s in others):
        assert scale >= 1 and scale == min(s for s in others if s >= 1)
    else:
        assert scale == max(others)


@given(height=sides, width=sides, limit=max_tiles, tile=tiles)
@SETTINGS
def test_fit_to_canvas_equals_transformers_and_fits(height: int, width: int, limit: int, tile: int) -> None:
    rows, cols = geometry_vlm.tiled_canvas(height, width, limit, tile)
    new_height, new_width = geometry_vlm.fit_to_canvas(height, width, rows * tile, cols * tile, tile)
    assert (new_height, new_width) == get_image_size_fit_to_canvas(height, width, rows * tile, cols * tile, tile)
    assert 1 <= new_height <= rows * tile and 1 <= new_width <= cols * tile
    # one side fills its clipped target; the image never ends up smaller than a tile on both sides
    assert new_height == min(max(height, tile), rows * tile) or new_width == min(max(width, tile), cols * tile)


def test_bad_limits_and_sizes_raise_our_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="max_image_tiles must be a positive integer, got 0"):
        geometry_vlm.tile_arrangements(0)
    with pytest.raises(InvalidImageError, match="an image of 0x5 has no pixels"):
        geometry_vlm.tiled_canvas(0, 5, 4, 560)
