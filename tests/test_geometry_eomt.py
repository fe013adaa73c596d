"""EoMT's sliding-window patch spans (models/eomt.py): properties, and equality with transformers' own split."""

from __future__ import annotations

import pytest
import torch
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.image_utils import SizeDict

from pixelprep.errors import InvalidArgumentError
from pixelprep.models.eomt import padded_size, patch_spans

SETTINGS = settings(max_examples=200, deadline=None)
THEIRS = transformers.EomtImageProcessor()
sides = st.integers(min_value=1, max_value=6000)
patches = st.sampled_from([7, 64, 384, 512, 640, 1024])


@given(height=sides, width=sides, patch=patches)
@SETTINGS
def test_spans_equal_transformers_split(height: int, width: int, patch: int) -> None:
    """The same (start, end) integers as transformers' ``_split_image`` (run on a channel-less tensor: no pixels allocated)."""
    image = torch.empty((1, 0, height, width))
    _, offsets = THEIRS._split_image(image, SizeDict(shortest_edge=patch), [0])
    assert patch_spans(height, width, patch) == [(start, end) for _, start, end in offsets]


@given(height=sides, width=sides, patch=patches)
@SETTINGS
def test_spans_cover_the_longer_side_with_overlapping_patches(height: int, width: int, patch: int) -> None:
    spans = patch_spans(height, width, patch)
    longer = max(height, width)
    assert len(spans) == -(-longer // patch)  # as few patches as cover the side
    assert spans[0][0] == 0 and all(end - start == patch for start, end in spans)
    assert all(0 <= next_start <= end for (_, end), (next_start, _) in zip(spans, spans[1:]))  # no gaps, starts ascending
    # the last patch ends at the side's end (a side shorter than a patch is one patch reaching past it)
    assert spans[-1][1] == longer if len(spans) > 1 else spans[-1][1] >= longer


def test_padded_size_needs_shortest_edge() -> None:
    assert padded_size({"shortest_edge": 512}) == (512, 512)
    assert padded_size({"shortest_edge": 640, "longest_edge": 960}) == (640, 960)
    with pytest.raises(InvalidArgumentError, match="shortest_edge"):
        padded_size({"height": 512, "width": 512})
