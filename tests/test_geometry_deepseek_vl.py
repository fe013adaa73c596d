"""geometry_vlm.long_side_fit (Janus / DeepSeek-VL): properties, and the size transformers' own resize method asks for."""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.image_processing_backends import TorchvisionBackend
from transformers.image_utils import SizeDict
from transformers.models.deepseek_vl.image_processing_deepseek_vl import DeepseekVLImageProcessor as Theirs

from pixelprep import geometry_vlm
from pixelprep.errors import InvalidImageError

SETTINGS = settings(max_examples=400, deadline=None)
sides = st.integers(min_value=1, max_value=20_000)
targets = st.integers(min_value=1, max_value=4096)
minimums = st.integers(min_value=1, max_value=64)
THEIRS = Theirs()


@SETTINGS
@given(sides, sides, targets, minimums)
def test_long_side_becomes_the_target_and_aspect_is_kept(height: int, width: int, size: int, min_size: int) -> None:
    out_h, out_w = geometry_vlm.long_side_fit(height, width, size, min_size)
    assert min(out_h, out_w) >= min_size
    long_in, short_in = max(height, width), min(height, width)
    long_out, short_out = (out_h, out_w) if height >= width else (out_w, out_h)
    assert long_out == max(size, min_size)
    # the short side is the exact scaled value rounded, unless the floor lifted it
    exact = short_in * size / long_in
    assert short_out == min_size if round(exact) < min_size else abs(short_out - exact) <= 0.5 + 1e-9


@SETTINGS
@given(sides, sides, targets, minimums)
def test_same_size_as_transformers_resize(height: int, width: int, size: int, min_size: int) -> None:
    """The size transformers' DeepseekVL resize hands to the backend resize (captured; no pixels are made)."""
    with mock.patch.object(TorchvisionBackend, "resize", lambda self, image, size, **kwargs: (size.height, size.width)):
        expected = THEIRS.resize(SimpleNamespace(shape=(1, 3, height, width)), SizeDict(height=size, width=size), min_size, resample=3)
    assert geometry_vlm.long_side_fit(height, width, size, min_size) == expected


@pytest.mark.parametrize("height, width", [(0, 5), (5, 0)])
def test_empty_image_is_our_error(height: int, width: int) -> None:
    with pytest.raises(InvalidImageError, match=f"{height}x{width}"):
        geometry_vlm.long_side_fit(height, width, 384, 14)
