"""Every output key of every family against transformers' class of the same backend, on one mixed batch and one nested batch.

Each family in ``pixelprep.models.__all__`` is built with its defaults, as is transformers' class of the same name and
backend (where transformers 5.23 has one), and both are called on:

- a *flat* batch of 3 small fixture photos of different sizes and modes (RGB 301x200, gray 200x131, RGBA 256x192);
- a *nested* batch of 2 samples, ``[[rgb, gray], [rgba]]`` (several images per sample, as vision-language models take).

Both must return the same key set; integer outputs are equal, float outputs within 1e-5, lists (of arrays, sizes,
strings) compared element by element, dtypes equal. transformers is given the images as pixelprep documents them
(``documented_input``): as they are where its class converts to RGB itself (``do_convert_rgb``), made RGB by its
``convert_to_rgb`` where the mean has 3 values, else kept gray or with alpha.

Where transformers cannot do this, the test does what transformers can, and each fallback is checked to be needed
(transformers still fails the plain way), so no entry can go stale. The table (its reasons are the constants below):

==============================  ========================================================================================
Family (both backends)          Fallback, and why
==============================  ========================================================================================
Eomt, ZoeDepth, CHMv2,          ``UNSTACKABLE``: transformers cannot return tensors for mixed sizes (each image keeps its
PPOCRV5ServerDet, GLPN,         own output size): compared with ``return_tensors=None``, per image
Swin2SR, TextNet, VitMatte
LayoutLMv2, Fuyu, UVDoc,        ``MODES_KEPT``: no 3-value mean and no RGB conversion, so gray keeps 1 channel and RGBA 4 on
SuperPoint, SuperGlue,          both sides and the mixed-mode batch cannot be stacked: the 3 photos (3 sizes) made RGB
LightGlue, EfficientLoFTR
Fuyu                            ``EQUAL_COUNTS``: transformers stacks samples, so samples of 2 and 1 images fail: 2 + 2
SuperGlue, LightGlue,           ``PAIRS``: image pairs only: flat batch = one pair (RGB, gray), nested = two pairs
EfficientLoFTR
VideoMAE, Vivit, Tvp            ``EQUAL_COUNTS`` too: a sample is a video; videos of 2 and 1 frames cannot be stacked
Tvp (pil)                       ``ODD_PAD_PIXEL``: its pil class pads the odd pixel top/left: ours on pil is compared
                                with its torchvision class, within Pillow's resampling difference
Idefics                         ``BARE_TENSOR``: transformers returns the pixel-values tensor alone; ours a BatchFeature
                                holding it (``as_transformers`` unwraps it): ``pixel_values`` compared
SegGpt                          ``CONVERTS_MASKS_ONLY``: its ``do_convert_rgb`` is for the prompt masks: images made RGB
ImageGPT, TimmWrapper           ``REQUIRED_SETTINGS``: 16 seeded colour clusters; a timm ``pretrained_cfg`` (both sides)
==============================  ========================================================================================

Every other family with a transformers class runs the plain flat and nested batches with ``return_tensors="pt"``.
Families with no pil class in transformers (torchvision only) are compared on torchvision, and ours on pil against that
torchvision class: same keys, shapes, dtypes and integers, floats within Pillow's resampling difference (PIL_MAX, PIL_MEAN).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from transformers.image_transforms import convert_to_rgb
from multiview_checks import assert_pil_close
from transformers_reference import documented_input, extra_inputs, reference_class

import pixelprep
from pixelprep.models import __all__ as FAMILY_NAMES

PHOTOS = ("photo_rgb_301x200.png", "gray_l_200x131.png", "rgba_alpha_radial_256x192.png")
ATOL = 1e-5

#: settings without which a family cannot run (given to ours and transformers' alike)
REQUIRED_SETTINGS: dict[str, dict[str, Any]] = {
    "ImageGPTImageProcessor": {"clusters": np.random.default_rng(0).uniform(-1, 1, (16, 3)).round(4).tolist()},
    "TimmWrapperImageProcessor": {
        "architecture": "resnet50",
        "pretrained_cfg": {"input_size": [3, 192, 256], "interpolation": "bilinear", "crop_pct": 0.9, "mean": [0.5] * 3, "std": [0.4] * 3},
    },
}

#: family -> why transformers' class cannot return tensors for a mixed-size batch (compared per image, return_tensors=None)
UNSTACKABLE: dict[str, str] = {
    "EomtImageProcessor": "shortest edge to 640 keeping the aspect ratio, no padding to one size",
    "ZoeDepthImageProcessor": "reflect-padded and resized keeping the aspect ratio (multiples of 32): one size per aspect",
    "CHMv2ImageProcessor": "no resize by default: each image is padded to multiples of 16 on its own",
    "PPOCRV5ServerDetImageProcessor": "sides limited by limit_side_len and rounded to multiples of 32, image by image",
    "GLPNImageProcessor": "sides rounded down to multiples of size_divisor (32), image by image",
    "Swin2SRImageProcessor": "each image padded to a multiple of pad_size (8) on its own",
    "TextNetImageProcessor": "shortest edge 640 keeping the aspect ratio, sides to multiples of size_divisor (32)",
    "VitMatteImageProcessor": "each image and its trimap padded to multiples of size_divisor (32) on its own",
}

#: family -> why a batch mixing gray, RGB and RGBA cannot be stacked there: neither side makes the images RGB (no 3-value
#: mean, no ``do_convert_rgb``), so gray keeps 1 channel and RGBA 4, as in transformers; the 3 photos are given made RGB
MODES_KEPT: dict[str, str] = {
    "LayoutLMv2ImageProcessor": "no normalisation: gray stays 1 channel (transformers' class then fails to flip it to BGR)",
    "FuyuImageProcessor": "a scalar mean (0.5): gray and RGBA keep their channels, which cannot be stacked",
    "UVDocImageProcessor": "no normalisation: gray and RGBA keep their channels, which cannot be stacked",
    "SuperPointImageProcessor": "no normalisation: gray and RGBA keep their channels, which cannot be stacked",
    "SuperGlueImageProcessor": "no normalisation: gray and RGBA keep their channels, which cannot be stacked",
    "LightGlueImageProcessor": "no normalisation: gray and RGBA keep their channels, which cannot be stacked",
    "EfficientLoFTRImageProcessor": "no normalisation: gray and RGBA keep their channels, which cannot be stacked",
}

#: family -> why transformers' class fails on samples holding different numbers of images (given 2 + 2 instead)
EQUAL_COUNTS: dict[str, str] = {
    "FuyuImageProcessor": "it stacks the samples into one (batch, images, ...) array (torchvision: even with return_tensors=None)",
    "VideoMAEImageProcessor": "a sample is a video: videos of 2 and 1 frames cannot be stacked into (videos, frames, C, H, W)",
    "VivitImageProcessor": "a sample is a video: videos of 2 and 1 frames cannot be stacked into (videos, frames, C, H, W)",
    "TvpImageProcessor": "a sample is a video: videos of 2 and 1 frames cannot be stacked into (videos, frames, C, H, W)",
}

#: family -> why ours on pil is compared with transformers' torchvision class (within Pillow's resampling difference)
ODD_PAD_PIXEL: dict[str, str] = {
    "TvpImageProcessor": "its pil class puts the odd pixel of an odd padding top/left, its torchvision class and ours "
    "bottom/right (README, deliberate differences; tests/parity/test_tvp.py compares with that pixel moved)",
}

#: families that take image pairs: the flat batch is one pair (RGB, gray), the nested batch two pairs of mixed modes
PAIRS: set[str] = {"SuperGlueImageProcessor", "LightGlueImageProcessor", "EfficientLoFTRImageProcessor"}

#: family -> why transformers' class returns the pixel values alone
BARE_TENSOR: dict[str, str] = {
    "IdeficsImageProcessor": "IdeficsProcessor reads the tensor itself; ours returns a BatchFeature (as_transformers unwraps it)",
}

#: family -> why its ``do_convert_rgb`` does not apply to the images (they are given to transformers made RGB)
CONVERTS_MASKS_ONLY: dict[str, str] = {"SegGptImageProcessor": "its do_convert_rgb converts the prompt masks; images are taken as RGB"}

MATRIX = [(name, backend) for name in FAMILY_NAMES for backend in ("torchvision", "pil") if reference_class(name, backend)]
#: families transformers has a class for on torchvision only
TORCHVISION_ONLY = [name for name in FAMILY_NAMES if reference_class(name, "torchvision") and not reference_class(name, "pil")]


@pytest.fixture(scope="module")
def photos(fixture_path, load_image) -> list[Image.Image]:
    return [load_image(fixture_path(name)) for name in PHOTOS]


def _processors(name: str, backend: str, reference_backend: str | None = None) -> tuple[Any, pixelprep.ImageProcessor]:
    """transformers' class (of ``reference_backend``, default ``backend``) and ours on ``backend``, same settings."""
    settings = REQUIRED_SETTINGS.get(name, {})
    return reference_class(name, reference_backend or backend)(**settings), getattr(pixelprep, name)(**settings, backend=backend)


def _within_atol(got: torch.Tensor, expected: torch.Tensor, where: str) -> None:
    worst = (got.double() - expected.double()).abs().max().item()
    assert worst <= ATOL, f"{where}: max |ours - transformers| = {worst:.3g}"


def _as_documented(name: str, theirs: Any, images: list[Any], to_eight_bit: Any) -> list[Any]:
    """The (possibly nested) images as transformers must get them to produce what pixelprep documents."""
    converts = bool(getattr(theirs, "do_convert_rgb", False)) and name not in CONVERTS_MASKS_ONLY
    # timm's class holds its mean in timm's data config
    mean = getattr(theirs, "image_mean", None) or getattr(theirs, "data_config", {}).get("mean")
    rgb_mean = isinstance(mean, (list, tuple)) and len(mean) == 3
    return [
        _as_documented(name, theirs, image, to_eight_bit) if isinstance(image, list) else documented_input(image, converts, rgb_mean, to_eight_bit)
        for image in images
    ]


def _made_rgb(images: list[Any]) -> list[Any]:
    return [_made_rgb(image) if isinstance(image, list) else convert_to_rgb(image) for image in images]


def _flat(images: list[Any]) -> list[Image.Image]:
    return [leaf for image in images for leaf in (_flat(image) if isinstance(image, list) else [image])]


def assert_same_output(got: Any, expected: Any, where: str, floats_close: Callable[[torch.Tensor, torch.Tensor, str], None] = _within_atol) -> None:
    """Equal structure; arrays of the same dtype and shape, integers equal and floats checked by ``floats_close``
    (within ATOL); other leaves equal."""
    if isinstance(expected, (torch.Tensor, np.ndarray)):
        assert isinstance(got, (torch.Tensor, np.ndarray)), f"{where}: {type(got).__name__}, transformers an array"
        got_t, expected_t = torch.as_tensor(got), torch.as_tensor(expected)
        assert got_t.dtype == expected_t.dtype, f"{where}: dtype {got_t.dtype}, transformers {expected_t.dtype}"
        assert got_t.shape == expected_t.shape, f"{where}: shape {tuple(got_t.shape)}, transformers {tuple(expected_t.shape)}"
        if expected_t.dtype.is_floating_point and expected_t.numel():
            floats_close(got_t, expected_t, where)
        else:
            assert torch.equal(got_t, expected_t), f"{where}: integer values differ"
    elif isinstance(expected, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(expected), f"{where}: {got!r:.80} vs transformers {expected!r:.80}"
        for index, (a, b) in enumerate(zip(got, expected)):
            assert_same_output(a, b, f"{where}[{index}]", floats_close)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, abs=ATOL), f"{where}: {got} vs transformers {expected}"
    else:
        assert got == expected, f"{where}: {got!r} vs transformers {expected!r}"


def _check(
    name: str, backend: str, images: list[Any], to_eight_bit: Any, reference_backend: str | None = None, floats_close: Any = _within_atol
) -> None:
    if backend == "pil" and name in ODD_PAD_PIXEL and reference_backend is None:
        reference_backend, floats_close = "torchvision", _pil_close
    theirs, ours = _processors(name, backend, reference_backend)
    extras = extra_inputs(theirs, _flat(images))
    tensors = "pt"
    if name in MODES_KEPT:
        with pytest.raises(Exception):  # the reason in MODES_KEPT still holds
            theirs(_as_documented(name, theirs, images, to_eight_bit), return_tensors="pt", **extras)
        images = _made_rgb(images)
    if name in UNSTACKABLE:
        with pytest.raises(Exception):  # the reason in UNSTACKABLE still holds
            theirs(_as_documented(name, theirs, images, to_eight_bit), return_tensors="pt", **extras)
        tensors = None
    expected = theirs(_as_documented(name, theirs, images, to_eight_bit), return_tensors=tensors, **extras)
    got = ours(images, return_tensors=tensors, **extras)
    if name in BARE_TENSOR:
        assert isinstance(expected, torch.Tensor)
        expected = {"pixel_values": expected}
    assert set(got) == set(expected), f"keys: ours {sorted(got)}, transformers {sorted(expected)}"
    for key in expected:
        assert_same_output(got[key], expected[key], key, floats_close)


@pytest.mark.parametrize(("name", "backend"), MATRIX, ids=[f"{name.removesuffix('ImageProcessor')}-{backend}" for name, backend in MATRIX])
def test_mixed_batch_every_key(name: str, backend: str, photos: list[Image.Image], to_eight_bit) -> None:
    """3 photos of different sizes and modes: every output key as transformers' class of the backend."""
    _check(name, backend, list(photos[:2]) if name in PAIRS else list(photos), to_eight_bit)


@pytest.mark.parametrize(("name", "backend"), MATRIX, ids=[f"{name.removesuffix('ImageProcessor')}-{backend}" for name, backend in MATRIX])
def test_nested_batch_every_key(name: str, backend: str, photos: list[Image.Image], to_eight_bit) -> None:
    """Two samples of 2 and 1 images: every output key as transformers' class of the backend."""
    samples = [[photos[0], photos[1]], [photos[2]]]
    if name in EQUAL_COUNTS:
        theirs, _ = _processors(name, backend)
        with pytest.raises(Exception):  # the reason in EQUAL_COUNTS still holds
            theirs(_made_rgb(samples), return_tensors="pt")
    if name in PAIRS or name in EQUAL_COUNTS:
        samples = [[photos[0], photos[1]], [photos[2], photos[1]]]
    _check(name, backend, samples, to_eight_bit)


def _pil_close(got: torch.Tensor, expected: torch.Tensor, where: str) -> None:
    # NumPy has no bfloat16 (Llama 4's outputs); its values are exact in float32
    assert_pil_close(got.float(), expected.float(), where)


@pytest.mark.parametrize("name", TORCHVISION_ONLY, ids=[name.removesuffix("ImageProcessor") for name in TORCHVISION_ONLY])
def test_pil_backend_matches_torchvision_only_class(name: str, photos: list[Image.Image], to_eight_bit) -> None:
    """Where transformers has only a torchvision class, ours on pil gives its keys, shapes, dtypes and integer outputs,
    and its float outputs within Pillow's resampling difference (multiview_checks.PIL_MAX anywhere, PIL_MEAN on average)."""
    _check(name, "pil", list(photos), to_eight_bit, reference_backend="torchvision", floats_close=_pil_close)
