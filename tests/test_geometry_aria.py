"""Aria's crop rules in geometry_vlm.py: the crop size as properties, the split grid against transformers' own functions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.image_processing_utils import get_patch_output_size, select_best_resolution

from pixelprep import geometry_vlm
from pixelprep.errors import InvalidImageError
from pixelprep.models.aria import AriaImageProcessor

SETTINGS = settings(max_examples=400, deadline=None)
sides = st.integers(min_value=1, max_value=20_000)
max_sizes = st.sampled_from([490, 980])
min_sizes = st.integers(min_value=1, max_value=490)
RESOLUTIONS = [tuple(pair) for pair in AriaImageProcessor.defaults["split_resolutions"]]


@given(height=sides, width=sides, max_size=max_sizes, min_size=min_sizes)
@SETTINGS
def test_crop_size_properties(height: int, width: int, max_size: int, min_size: int) -> None:
    """The long side (the width on a tie) is max_size; the short side is the scaled one, truncated, or min_size if that is more."""
    new_height, new_width = geometry_vlm.long_side_to_with_floor(height, width, max_size, min_size)
    long_new, short_new = (new_width, new_height) if width >= height else (new_height, new_width)
    long_old, short_old = max(height, width), min(height, width)
    assert long_new == max_size and min_size <= short_new <= max_size
    assert short_new == max(int(short_old * (max_size / long_old)), min_size)
    if short_new > min_size:  # the aspect is kept to within a pixel (truncating a float: 69x69 at 490 gives 489x490, as in transformers)
        assert abs(short_new - short_old * max_size / long_old) <= 1


@given(height=sides, width=sides, max_size=max_sizes)
@SETTINGS
def test_split_grid_equals_transformers(height: int, width: int, max_size: int) -> None:
    """The split canvas, its fitted size and centred padding, and the crops, as transformers' functions give them."""
    best = geometry_vlm.select_best_resolution(height, width, RESOLUTIONS)
    assert best == tuple(select_best_resolution((height, width), RESOLUTIONS))
    fitted = geometry_vlm.fit_within(height, width, *best)
    assert fitted == tuple(get_patch_output_size(_Shape(height, width), best, input_data_format="channels_first"))
    top, bottom, left, right = geometry_vlm.centered_padding(*fitted, *best)
    assert (left, top, right, bottom) == (
        (best[1] - fitted[1]) // 2, (best[0] - fitted[0]) // 2, (best[1] - fitted[1]) - (best[1] - fitted[1]) // 2, (best[0] - fitted[0]) - (best[0] - fitted[0]) // 2
    )
    boxes = geometry_vlm.tile_boxes(*best, max_size, max_size)
    assert len(boxes) == math.ceil(best[0] / max_size) * math.ceil(best[1] / max_size)
    assert sum(h * w for _, _, h, w in boxes) == best[0] * best[1]


class _Shape:
    """A stand-in channels-first image for get_patch_output_size, which only reads its shape."""

    def __init__(self, height: int, width: int) -> None:
        self.shape = (3, height, width)
        self.ndim = 3


def test_empty_image_raises_our_error() -> None:
    with pytest.raises(InvalidImageError, match="an image of 0x5 has no pixels"):
        geometry_vlm.long_side_to_with_floor(0, 5, 980, 336)
