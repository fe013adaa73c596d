"""PaddlePaddle size rules and the resize without antialiasing, as pure functions, against transformers and torch at run time."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as tvF

from pixelprep.backends.base import interpolate_resize
from pixelprep.errors import InvalidArgumentError
from pixelprep.models.pp_ocr_det import limit_side_size

SIZES = [(1, 1), (5, 7), (31, 33), (427, 640), (1200, 90), (90, 1200), (4000, 3000), (17, 9000), (960, 960), (961, 100)]


@pytest.mark.parametrize(("height", "width"), SIZES)
@pytest.mark.parametrize("limits", [(960, "max", 4000), (64, "min", 4000), (736, "resize_long", 4000), (3000, "min", 1000), (50, "max", None)], ids=repr)
def test_limit_side_size_matches_transformers(height: int, width: int, limits: tuple) -> None:
    expected, _ = transformers.PPOCRV5ServerDetImageProcessor().get_image_size(torch.zeros(3, height, width), *limits)
    assert limit_side_size(height, width, *limits) == (expected.height, expected.width)


def test_limit_side_size_sides_are_multiples_of_32() -> None:
    for height, width in SIZES:
        out = limit_side_size(height, width, 960, "max", 4000)
        assert all(side % 32 == 0 and side >= 32 for side in out)


@pytest.mark.parametrize(("shape", "size"), [((100, 200), (48, 96)), ((37, 50), (80, 23)), ((5, 7), (32, 32)), ((1, 1), (4, 6)), ((300, 40), (48, 7))])
@pytest.mark.parametrize("resample", [2, 3])
def test_interpolate_resize_matches_torch(shape: tuple, size: tuple, resample: int) -> None:
    """Float images: torch's interpolate to float32 rounding; 8-bit images: within 2 levels of torch's 8-bit kernels."""
    rng = np.random.default_rng(sum(shape) + resample)
    mode = InterpolationMode.BILINEAR if resample == 2 else InterpolationMode.BICUBIC
    pixels = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    chw = torch.from_numpy(pixels).permute(2, 0, 1).contiguous()
    as_float = tvF.resize(chw.float(), list(size), interpolation=mode, antialias=False).permute(1, 2, 0).numpy()
    assert np.abs(interpolate_resize(pixels.astype(np.float32), size, resample) - as_float).max() <= 0.01
    eight_bit = tvF.resize(chw, list(size), interpolation=mode, antialias=False).permute(1, 2, 0).numpy()
    got = interpolate_resize(pixels, size, resample)
    assert got.dtype == np.uint8 and np.abs(got.astype(int) - eight_bit).max() <= 2


def test_interpolate_resize_refuses_other_filters() -> None:
    with pytest.raises(InvalidArgumentError, match="resample=1 \\(lanczos\\) has no unantialiased form"):
        interpolate_resize(np.zeros((4, 4, 3), np.uint8), (2, 2), 1)
