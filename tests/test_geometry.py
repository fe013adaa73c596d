"""geometry.py against transformers' own size helpers, and center-crop windows against its torchvision crop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import CLIPImageProcessor as TransformersTorchvisionCLIP
from transformers.image_transforms import center_crop as transformers_numpy_center_crop
from transformers.image_transforms import get_resize_output_image_size, get_size_with_aspect_ratio
from transformers.image_utils import SizeDict, get_image_size_for_max_height_width
from transformers.models.sam.image_processing_pil_sam import SamImageProcessorPil

from pixelprep import geometry
from pixelprep.backends.pil import PilBackend
from pixelprep.backends.torchvision import TorchvisionBackend
from pixelprep.errors import InvalidArgumentError
from pixelprep.processor import CenterCrop

SIZE_SETTINGS = settings(max_examples=300, deadline=None)


@pytest.fixture(autouse=True, scope="module")
def no_pixel_limit():
    """The arithmetic is compared at sizes (1 x 5000 images to 2000-pixel edges) beyond the default output limit."""
    import pixelprep

    saved, pixelprep.MAX_OUTPUT_PIXELS = pixelprep.MAX_OUTPUT_PIXELS, None
    yield
    pixelprep.MAX_OUTPUT_PIXELS = saved
CROP_SETTINGS = settings(max_examples=150, deadline=None)
sides = st.integers(min_value=1, max_value=5000)
targets = st.integers(min_value=1, max_value=2000)
crop_sides = st.integers(min_value=1, max_value=24)


def _shaped(height: int, width: int) -> np.ndarray:
    """A (height, width, 1) array that costs no memory: transformers' helpers only read its shape."""
    return np.broadcast_to(np.zeros(1, np.uint8), (height, width, 1))


@SIZE_SETTINGS
@given(height=sides, width=sides, edge=targets)
def test_shortest_edge_size(height: int, width: int, edge: int) -> None:
    expected = get_resize_output_image_size(_shaped(height, width), edge, default_to_square=False, input_data_format="channels_last")
    assert geometry.shortest_edge_size(height, width, edge) == tuple(expected)
    assert geometry.resize_output_size(height, width, {"shortest_edge": edge}) == tuple(expected)


@SIZE_SETTINGS
@given(height=sides, width=sides, shortest=targets, extra=st.integers(min_value=0, max_value=2000))
def test_shortest_longest_edge_size(height: int, width: int, shortest: int, extra: int) -> None:
    longest = shortest + extra
    expected = get_size_with_aspect_ratio((height, width), shortest, longest)
    assert geometry.shortest_longest_edge_size(height, width, shortest, longest) == expected
    assert geometry.resize_output_size(height, width, {"shortest_edge": shortest, "longest_edge": longest}) == expected


@SIZE_SETTINGS
@given(height=sides, width=sides, max_height=targets, max_width=targets)
def test_max_height_width_size(height: int, width: int, max_height: int, max_width: int) -> None:
    expected = get_image_size_for_max_height_width((height, width), max_height, max_width)
    assert geometry.max_height_width_size(height, width, max_height, max_width) == expected
    assert geometry.resize_output_size(height, width, {"max_height": max_height, "max_width": max_width}) == expected


@SIZE_SETTINGS
@given(height=sides, width=sides, edge=targets)
def test_longest_edge_size(height: int, width: int, edge: int) -> None:
    expected = SamImageProcessorPil._get_preprocess_shape(None, (height, width), edge)  # self is unused there
    assert geometry.longest_edge_size(height, width, edge) == expected
    assert geometry.resize_output_size(height, width, {"longest_edge": edge}) == expected


@SIZE_SETTINGS
@given(height=sides, width=sides, target_height=targets, target_width=targets)
def test_height_width_size_ignores_the_input(height: int, width: int, target_height: int, target_width: int) -> None:
    assert geometry.resize_output_size(height, width, {"height": target_height, "width": target_width}) == (target_height, target_width)


def test_resize_output_size_rejects_an_unknown_rule() -> None:
    with pytest.raises(InvalidArgumentError, match="size must have"):
        geometry.resize_output_size(10, 10, {"shortest": 5})


@SIZE_SETTINGS
@given(height=sides, width=sides, multiple=st.integers(min_value=1, max_value=256))
def test_pad_to_multiple(height: int, width: int, multiple: int) -> None:
    padded_height, padded_width = geometry.pad_to_multiple(height, width, multiple)
    for side, padded in ((height, padded_height), (width, padded_width)):
        assert padded % multiple == 0 and side <= padded < side + multiple


# ------------------------------------------------------------------------------------- center crop

_TRANSFORMERS_TORCHVISION = TransformersTorchvisionCLIP()


def _numbered(height: int, width: int) -> np.ndarray:
    """An (height, width, 1) image whose pixels are 1, 2, 3, ...: any shift shows, and padding (0) stands out."""
    return np.arange(1, height * width + 1, dtype=np.int32).reshape(height, width, 1)


def _crop_with_window(image: np.ndarray, crop_height: int, crop_width: int) -> np.ndarray:
    """Apply geometry.center_crop_window by hand: zero-pad, then slice."""
    window = geometry.center_crop_window(image.shape[0], image.shape[1], crop_height, crop_width)
    padded = np.pad(image, ((window.pad_top, window.pad_bottom), (window.pad_left, window.pad_right), (0, 0)))
    return padded[window.top : window.top + crop_height, window.left : window.left + crop_width]


def _ours(backend: object, image: np.ndarray, crop_height: int, crop_width: int) -> np.ndarray:
    native = backend.from_canonical(image)
    return np.asarray(backend.to_numpy(CenterCrop(crop_height, crop_width).apply(backend, native)))


@CROP_SETTINGS
@given(height=crop_sides, width=crop_sides, crop_height=crop_sides, crop_width=crop_sides)
def test_center_crop_matches_transformers_torchvision(height: int, width: int, crop_height: int, crop_width: int) -> None:
    image = _numbered(height, width)
    theirs = _TRANSFORMERS_TORCHVISION.center_crop(torch.from_numpy(image).permute(2, 0, 1), SizeDict(height=crop_height, width=crop_width))
    expected = theirs.permute(1, 2, 0).numpy()
    assert expected.shape == (crop_height, crop_width, 1)
    np.testing.assert_array_equal(_crop_with_window(image, crop_height, crop_width), expected)
    # Both our backends run the same window (transformers' own two backends do not, see below).
    np.testing.assert_array_equal(_ours(PilBackend(), image, crop_height, crop_width), expected)
    np.testing.assert_array_equal(_ours(TorchvisionBackend(), image, crop_height, crop_width), expected)


def _transformers_numpy_crop(image: np.ndarray, crop_height: int, crop_width: int) -> np.ndarray:
    return transformers_numpy_center_crop(image, (crop_height, crop_width), input_data_format="channels_last")


def test_odd_padding_goes_bottom_right_on_both_backends_unlike_transformers_pil() -> None:
    """Deliberate: transformers' pil backend puts the odd padding pixel top/left, its torchvision one bottom/right.

    pixelprep uses the torchvision rounding on both backends, so the two never disagree.
    """
    image = _numbered(5, 6)
    ours_pil = _ours(PilBackend(), image, 8, 9)  # pad 3 rows and 3 columns: odd
    ours_torchvision = _ours(TorchvisionBackend(), image, 8, 9)
    np.testing.assert_array_equal(ours_pil, ours_torchvision)
    # The image starts one row and one column in: the extra padding pixel is at the bottom and right.
    assert ours_pil[0].sum() == 0 and ours_pil[:, 0].sum() == 0 and ours_pil[1, 1, 0] == 1
    assert ours_pil[-2:].sum() == 0 and ours_pil[:, -2:].sum() == 0
    theirs_pil = _transformers_numpy_crop(image, 8, 9)
    assert theirs_pil[:2].sum() == 0 and theirs_pil[:, :2].sum() == 0 and theirs_pil[2, 2, 0] == 1
    assert not np.array_equal(ours_pil, theirs_pil)


@CROP_SETTINGS
@given(height=crop_sides, width=crop_sides, crop_height=crop_sides, crop_width=crop_sides)
def test_crops_without_odd_padding_agree_with_transformers_pil(height: int, width: int, crop_height: int, crop_width: int) -> None:
    """Where no odd padding is needed, transformers' pil crop and ours are the same window."""
    odd_padding = (crop_height > height and (crop_height - height) % 2) or (crop_width > width and (crop_width - width) % 2)
    image = _numbered(height, width)
    ours = _ours(PilBackend(), image, crop_height, crop_width)
    theirs = _transformers_numpy_crop(image, crop_height, crop_width)
    assert np.array_equal(ours, theirs) != bool(odd_padding)
