"""geometry_vlm.py's tiling rules (LLaVA-NeXT anyres, InternVL / GOT-OCR2 and Cohere2-Vision grids): properties, and equal to transformers' own functions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.image_processing_utils import get_patch_output_size
from transformers.image_processing_utils import select_best_resolution as transformers_best_resolution
from transformers.models.cohere2_vision.image_processing_cohere2_vision import get_optimal_tiled_canvas as cohere_canvas
from transformers.models.got_ocr2.image_processing_got_ocr2 import get_optimal_tiled_canvas as got_canvas

from pixelprep import geometry_vlm
from pixelprep.errors import InvalidArgumentError, InvalidImageError

SETTINGS = settings(max_examples=150, deadline=None)
sides = st.integers(min_value=1, max_value=12_000)
LLAVA_NEXT_PINPOINTS = [(336, 672), (672, 336), (672, 672), (1008, 336), (336, 1008)]
ONEVISION_PINPOINTS = [(h, w) for h in range(384, 2305, 384) for w in range(384, 2305, 384)]
pinpoint_lists = st.one_of(
    st.just(LLAVA_NEXT_PINPOINTS),
    st.just(ONEVISION_PINPOINTS),
    st.lists(st.tuples(st.integers(1, 3000), st.integers(1, 3000)), min_size=1, max_size=12),
)


@SETTINGS
@given(height=sides, width=sides, pinpoints=pinpoint_lists)
def test_select_best_resolution_equals_transformers(height: int, width: int, pinpoints: list[tuple[int, int]]) -> None:
    expected = transformers_best_resolution((height, width), [list(p) for p in pinpoints])
    best = geometry_vlm.select_best_resolution(height, width, pinpoints)
    assert best == tuple(expected) and best in pinpoints


@SETTINGS
@given(height=sides, width=sides, pinpoints=pinpoint_lists)
def test_select_best_resolution_keeps_the_most_pixels(height: int, width: int, pinpoints: list[tuple[int, int]]) -> None:
    """No other pinpoint keeps more of the image, and none keeping as much wastes less area."""

    def kept(target: tuple[int, int]) -> int:
        scale = min(target[1] / width, target[0] / height)
        return min(int(width * scale) * int(height * scale), width * height)

    best = geometry_vlm.select_best_resolution(height, width, pinpoints)
    for other in pinpoints:
        assert kept(other) <= kept(best)
        if kept(other) == kept(best):
            assert other[0] * other[1] >= best[0] * best[1]


def test_select_best_resolution_rejects_empty_pinpoints() -> None:
    with pytest.raises(InvalidArgumentError, match="image_grid_pinpoints is empty"):
        geometry_vlm.select_best_resolution(10, 10, [])


@SETTINGS
@given(height=sides, width=sides, target=st.tuples(st.integers(1, 4000), st.integers(1, 4000)))
def test_fit_within_equals_transformers_and_fits(height: int, width: int, target: tuple[int, int]) -> None:
    fitted = geometry_vlm.fit_within(height, width, *target)
    assert fitted == get_patch_output_size(_Shape(height, width), target, "channels_first")
    assert 1 <= fitted[0] <= target[0] and 1 <= fitted[1] <= target[1]
    assert fitted[0] == target[0] or fitted[1] == target[1]  # one side always fills the target
    top, bottom, left, right = geometry_vlm.centered_padding(*fitted, *target)
    assert (top + fitted[0] + bottom, left + fitted[1] + right) == target
    assert 0 <= bottom - top <= 1 and 0 <= right - left <= 1


class _Shape:
    """A stand-in array for transformers' size helpers, which read only ``.shape`` (C, H, W)."""

    def __init__(self, height: int, width: int) -> None:
        self.shape = (3, height, width)
        self.ndim = 3


@SETTINGS
@given(height=st.integers(1, 3000), width=st.integers(1, 3000), tile=st.integers(32, 700))
def test_tile_boxes_cover_the_image_once(height: int, width: int, tile: int) -> None:
    boxes = geometry_vlm.tile_boxes(height, width, tile, tile)
    assert len(boxes) == math.ceil(height / tile) * math.ceil(width / tile)
    assert sum(h * w for _, _, h, w in boxes) == height * width
    assert boxes == sorted(boxes)  # row-major
    assert all(top + h <= height and left + w <= width for top, left, h, w in boxes)


tile_counts = st.tuples(st.integers(1, 4), st.integers(1, 24)).map(lambda pair: (pair[0], max(pair)))


@SETTINGS
@given(height=sides, width=sides, tile=st.sampled_from([224, 384, 448, 512]), counts=tile_counts)
def test_closest_ratio_grid_equals_transformers(height: int, width: int, tile: int, counts: tuple[int, int]) -> None:
    cols, rows = got_canvas((height, width), (tile, tile), *counts)
    rows_ours, cols_ours = geometry_vlm.closest_ratio_grid(height, width, tile, tile, *counts)
    assert (rows_ours, cols_ours) == (rows, cols)
    assert counts[0] <= rows * cols <= counts[1] or (rows, cols) == (1, 1)


@SETTINGS
@given(height=sides, width=sides, counts=tile_counts)
def test_closest_ratio_grid_has_the_closest_aspect(height: int, width: int, counts: tuple[int, int]) -> None:
    rows, cols = geometry_vlm.closest_ratio_grid(height, width, 448, 448, *counts)
    candidates = [(r, c) for r in range(1, counts[1] + 1) for c in range(1, counts[1] + 1) if counts[0] <= r * c <= counts[1]]
    best = min(abs(width / height - c / r) for r, c in candidates)
    assert abs(width / height - cols / rows) == best


@SETTINGS
@given(height=sides, width=sides, tile=st.sampled_from([256, 364, 512]), max_tiles=st.integers(1, 24))
def test_least_upscale_grid_equals_transformers(height: int, width: int, tile: int, max_tiles: int) -> None:
    cols, rows = cohere_canvas((height, width), (tile, tile), 1, max_tiles)
    assert geometry_vlm.least_upscale_grid(height, width, tile, max_tiles) == (rows, cols)
    assert rows * cols <= max_tiles


def test_tile_grids_reject_empty_images() -> None:
    with pytest.raises(InvalidImageError, match="0x5 has no pixels"):
        geometry_vlm.closest_ratio_grid(0, 5, 448, 448, 1, 12)
    with pytest.raises(InvalidImageError, match="5x0 has no pixels"):
        geometry_vlm.least_upscale_grid(5, 0, 512, 12)
    with pytest.raises(InvalidImageError, match="0x5 has no pixels"):
        geometry_vlm.select_best_resolution(0, 5, LLAVA_NEXT_PINPOINTS)
