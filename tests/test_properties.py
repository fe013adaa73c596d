"""Properties: any valid image gives the documented shape, dtype and finite values; any invalid one gives our error."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixelprep import (
    ChameleonImageProcessor,
    CLIPImageProcessor,
    ConvNextImageProcessor,
    DeiTImageProcessor,
    InvalidArgumentError,
    LevitImageProcessor,
    PixelprepError,
    SiglipImageProcessor,
    ViTImageProcessor,
)

BACKENDS = ["pil", "torchvision"]
# family name -> (class, constructor settings, expected (height, width) of every output image)
FAMILIES: dict[str, tuple[type, dict[str, Any], tuple[int, int]]] = {
    "clip": (CLIPImageProcessor, {}, (224, 224)),
    "clip-small": (CLIPImageProcessor, {"size": 40, "crop_size": {"height": 24, "width": 36}}, (24, 36)),
    "vit": (ViTImageProcessor, {}, (224, 224)),
    "vit-rect": (ViTImageProcessor, {"size": {"height": 37, "width": 53}}, (37, 53)),
    "siglip": (SiglipImageProcessor, {}, (224, 224)),
    "deit": (DeiTImageProcessor, {}, (224, 224)),
    "levit": (LevitImageProcessor, {}, (224, 224)),
    "convnext": (ConvNextImageProcessor, {"size": {"shortest_edge": 224}}, (224, 224)),
    "chameleon-small": (ChameleonImageProcessor, {"size": 48, "crop_size": 48}, (48, 48)),
}
_PROCESSORS: dict[tuple[str, str], Any] = {}


def processor_for(family: str, backend: str) -> Any:
    """One processor per (family, backend), built on first use."""
    key = (family, backend)
    if key not in _PROCESSORS:
        cls, settings_, _ = FAMILIES[family]
        _PROCESSORS[key] = cls(backend=backend, **settings_)
    return _PROCESSORS[key]


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def valid_images(draw: st.DrawFn) -> tuple[list[np.ndarray], int, str, str | None]:
    """1-3 images of one layout: sizes 1..300, uint8 or float32 in [0, 1], HW / HWC / CHW, 1, 3 or 4 channels."""
    layout = draw(st.sampled_from(["HW", "HWC", "CHW"]))
    dtype = draw(st.sampled_from(["uint8", "float32"]))
    channels = 1 if layout == "HW" else draw(st.sampled_from([1, 3, 4]))
    # Without an explicit input_data_format the channel axis is inferred, which needs sides other than 1, 3, 4.
    explicit = layout != "HW" and draw(st.booleans())
    smallest = 1 if explicit or layout == "HW" else 5
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    images = []
    for _ in range(draw(st.integers(1, 3))):
        height, width = draw(st.integers(smallest, 300)), draw(st.integers(smallest, 300))
        shape = {"HW": (height, width), "HWC": (height, width, channels), "CHW": (channels, height, width)}[layout]
        pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
        images.append(pixels if dtype == "uint8" else pixels.astype(np.float32) / np.float32(255))
    input_data_format = {"HWC": "channels_last", "CHW": "channels_first"}[layout] if explicit else None
    return images, channels, dtype, input_data_format


@pytest.mark.parametrize("backend", BACKENDS)
@PROPERTY_SETTINGS
@given(family=st.sampled_from(sorted(FAMILIES)), drawn=valid_images(), as_tensor=st.booleans(), draw_refusal=st.booleans())
def test_valid_images_give_the_documented_output(backend: str, family: str, drawn: tuple, as_tensor: bool, draw_refusal: bool) -> None:
    images, channels, dtype, input_data_format = drawn
    processor = processor_for(family, backend)
    inputs = [torch.from_numpy(image) for image in images] if as_tensor else images
    kwargs: dict[str, Any] = {"input_data_format": input_data_format, "return_tensors": "np"}
    if dtype == "float32":
        kwargs["do_rescale"] = False  # already in [0, 1]
    if channels == 4 and draw_refusal:
        # RGBA meets a 3-value mean with conversion turned off on purpose: the error says how to fix it.
        with pytest.raises(InvalidArgumentError, match="do_convert_rgb"):
            processor(inputs, do_convert_rgb=False, **kwargs)
        return
    values = processor(inputs, **kwargs)["pixel_values"]  # unset do_convert_rgb + 3-value mean: every layout becomes RGB
    assert isinstance(values, np.ndarray)
    assert values.shape == (len(images), 3, *FAMILIES[family][2])
    assert values.dtype == np.float32
    assert np.isfinite(values).all()


@st.composite
def invalid_images(draw: st.DrawFn) -> Any:
    """Arrays no processor can use: wrong number of dimensions, an empty side, 5-8 channels, NaN/inf, bad values or dtypes."""
    kind = draw(st.sampled_from(["ndim", "empty", "channels", "nonfinite", "int-range", "dtype"]))
    side = st.integers(5, 40)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "ndim":
        ndim = draw(st.sampled_from([0, 1, 5, 6]))
        return np.zeros(tuple(draw(st.integers(1, 4)) for _ in range(ndim)), np.uint8)
    if kind == "empty":
        shape = draw(st.sampled_from([(0, 10), (10, 0), (0, 10, 3), (10, 0, 3), (3, 0, 10), (3, 10, 0), (2, 0, 10, 3)]))
        return np.zeros(shape, draw(st.sampled_from([np.uint8, np.float32])))
    if kind == "channels":
        channels, height, width = draw(st.integers(5, 8)), draw(side), draw(side)
        shape = (height, width, channels) if draw(st.booleans()) else (channels, height, width)
        return rng.integers(0, 256, size=shape, dtype=np.uint8)
    if kind == "nonfinite":
        image = rng.random((draw(side), draw(side), 3), dtype=np.float32)
        index = tuple(draw(st.integers(0, n - 1)) for n in image.shape)
        image[index] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        return image if draw(st.booleans()) else torch.from_numpy(image).permute(2, 0, 1)
    if kind == "int-range":
        image = rng.integers(0, 256, size=(draw(side), draw(side), 3)).astype(np.int32)
        image[0, 0, 0] = draw(st.sampled_from([-1, 256, 70000, -(2**31)]))
        return image
    return np.zeros((draw(side), draw(side), 3), draw(st.sampled_from([np.complex64, np.object_, np.str_, np.datetime64])))


@pytest.mark.parametrize("backend", BACKENDS)
@PROPERTY_SETTINGS
@given(family=st.sampled_from(sorted(FAMILIES)), image=invalid_images(), batched=st.booleans())
def test_invalid_images_give_only_our_errors(backend: str, family: str, image: Any, batched: bool) -> None:
    processor = processor_for(family, backend)
    good = np.zeros((20, 30, 3), np.uint8)
    with pytest.raises(PixelprepError):
        processor([good, image] if batched else image)


@pytest.mark.parametrize("backend", BACKENDS)
@PROPERTY_SETTINGS
@given(
    family=st.sampled_from(sorted(FAMILIES)),
    name=st.sampled_from(["size", "crop_size", "rescale_factor", "image_mean", "image_std", "resample", "data_format", "return_tensors"]),
    value=st.one_of(
        st.integers(-5, 0),
        st.sampled_from([0.0, -1.0, -1e-9, float("nan"), float("inf"), float("-inf")]),
        st.text(max_size=5),
        st.lists(st.integers(-3, 0), min_size=1, max_size=4),
        st.tuples(st.integers(-3, 3), st.integers(-3, 3), st.integers(-3, 3)),
        st.dictionaries(
            st.sampled_from(["height", "width", "shortest", "shortest_edge"]),
            st.one_of(st.integers(-3, 0), st.sampled_from([float("nan"), float("inf"), 2.5])),
            min_size=1,
            max_size=2,
        ),
    ),
)
def test_invalid_arguments_give_only_our_errors(backend: str, family: str, name: str, value: Any) -> None:
    processor = processor_for(family, backend)
    try:
        processor(np.zeros((20, 30, 3), np.uint8), **{name: value})
    except PixelprepError as error:
        assert name in str(error)
    # Some drawn values are valid for some arguments (a 1-value mean, "np" as return_tensors, ...): no error is fine.
