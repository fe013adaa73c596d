"""TVP against transformers 5.23's TvpImageProcessor / TvpImageProcessorPil (same backend), run in this process.

Frames from the fixture photos (every mode, RGB as documented), mixed sizes, the pad after normalising (constant value,
pad modes), the BGR flip, call-time options. Tolerance 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest
import transformers
from test_videomae import MIXED, reference_frame, two_frames

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.auto import family_for_config
from pixelprep.models.tvp import longest_edge_size, pad_indices

ATOL = 1e-5
BACKENDS = ("torchvision", "pil")


def theirs_for(backend: str, **config) -> object:
    return (transformers.TvpImageProcessor if backend == "torchvision" else transformers.TvpImageProcessorPil)(**config)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_as_a_video(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Each fixture photo (every mode) as a two-frame video: (1, 2, 3, 448, 448) BGR, equal to transformers'."""
    ours, theirs = pixelprep.TvpImageProcessor(backend=backend), theirs_for(backend)
    image = load_image(image_path)
    got = ours(two_frames(image), return_tensors="np")["pixel_values"]
    assert got.shape == (1, 2, 3, 448, 448) and got.dtype == np.float32
    expected = to_numpy(theirs(two_frames(reference_frame(image, to_eight_bit)), return_tensors="np")["pixel_values"])
    if backend == "pil":
        expected = odd_pixel_bottom_right(expected, longest_edge_size(image.height, image.width, 448), (448, 448))
    compare(got, expected, atol=ATOL, what=f"{image_path.name} ({image.mode}) [{backend}]")


def odd_pixel_bottom_right(expected: np.ndarray, content: tuple[int, int], crop: tuple[int, int]) -> np.ndarray:
    """transformers' pil class, where its center crop pads an odd count, moved to put the odd pixel bottom/right as ours does.

    That is its torchvision class's rounding (README: center crop of an image smaller than the crop).
    """
    shifted = expected.copy()
    for axis, length, side in ((-2, content[0], crop[0]), (-1, content[1], crop[1])):
        pad = side - length
        if pad <= 0 or pad % 2 == 0:
            continue
        ours_start, theirs_start = pad // 2, pad - pad // 2
        source = np.take(shifted, range(theirs_start, theirs_start + length), axis=axis)
        padding = np.take(shifted, [0], axis=axis)  # the first row/column is padding in theirs
        index = [slice(None)] * shifted.ndim
        index[axis] = slice(ours_start, ours_start + length)
        shifted[tuple(index)] = source
        index[axis] = slice(ours_start + length, ours_start + length + 1)
        shifted[tuple(index)] = padding
    return shifted


CALL_OPTIONS = [
    {},
    {"do_center_crop": False},  # frames keep their aspect: the pad fills the rest
    {"do_center_crop": False, "constant_values": 0.3},
    {"do_center_crop": False, "do_flip_channel_order": False, "resample": 3},
    {"size": {"longest_edge": 300}, "crop_size": {"height": 256, "width": 280}, "pad_size": {"height": 320, "width": 300}},
    {"size": {"height": 200, "width": 240}, "do_center_crop": False, "pad_size": {"height": 256, "width": 256}},
    {"do_normalize": False, "do_center_crop": False},
    {"do_pad": False, "do_center_crop": False, "size": {"height": 96, "width": 128}},
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("options", CALL_OPTIONS, ids=[",".join(o) or "defaults" for o in CALL_OPTIONS])
def test_mixed_sizes_and_call_options(backend: str, options: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """Videos of mixed sizes and a video whose frames differ in size, with call-time options: equal to transformers'."""
    ours, theirs = pixelprep.TvpImageProcessor(backend=backend), theirs_for(backend)
    photos = [load_image(fixture_path(name)) for name in MIXED]
    videos = [two_frames(photo) for photo in photos] + [photos[:2]]
    got = ours(videos, return_tensors="np", **options)["pixel_values"]
    expected = to_numpy(theirs(videos, return_tensors="np", **options)["pixel_values"])
    if backend == "pil" and options.get("do_center_crop") is not False:
        edge = options.get("size", {}).get("longest_edge", 448)
        crop = options.get("crop_size", {"height": 448, "width": 448})
        for v, video in enumerate(videos):
            for f, frame in enumerate(video):
                content = longest_edge_size(frame.height, frame.width, edge)
                expected[v, f] = odd_pixel_bottom_right(expected[v, f], content, (crop["height"], crop["width"]))
    compare(got, expected, atol=ATOL, what=f"{options} [{backend}]")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["reflect", "symmetric", "replicate"])
def test_pad_modes(backend: str, mode: str, fixture_path, load_image, compare, to_numpy) -> None:
    """Mirrored and replicated pads: transformers' pil class on pil; on torchvision, whose class ignores pad_mode (README),
    its unpadded frames padded by NumPy in that mode."""
    videos = [two_frames(load_image(fixture_path(name))) for name in MIXED[:3]]
    got = pixelprep.TvpImageProcessor(backend=backend)(videos, return_tensors="np", do_center_crop=False, pad_mode=mode)["pixel_values"]
    if backend == "pil":
        expected = to_numpy(theirs_for("pil")(videos, return_tensors="np", do_center_crop=False, pad_mode=mode)["pixel_values"])
    else:
        unpadded = theirs_for("torchvision")(videos, do_center_crop=False, do_pad=False)["pixel_values"]
        numpy_mode = "edge" if mode == "replicate" else mode
        expected = np.stack([
            np.stack([np.pad(to_numpy(f), ((0, 0), (0, 448 - f.shape[-2]), (0, 448 - f.shape[-1])), mode=numpy_mode) for f in video])
            for video in unpadded
        ])
    compare(got, expected, atol=ATOL, what=f"{mode} [{backend}]")


@pytest.mark.parametrize("length", [1, 2, 3, 7])
@pytest.mark.parametrize("pad", [0, 1, 5, 16])
def test_pad_indices_are_numpys(length: int, pad: int) -> None:
    for ours, numpy_mode in (("reflect", "reflect"), ("symmetric", "symmetric"), ("replicate", "edge")):
        assert pad_indices(length, pad, ours) == np.pad(np.arange(length), (0, pad), mode=numpy_mode).tolist()


def test_longest_edge_rule() -> None:
    assert longest_edge_size(427, 640, 448) == (298, 448)
    assert longest_edge_size(517, 333, 448) == (448, 288)
    assert longest_edge_size(5, 5, 448) == (448, 448)
    assert longest_edge_size(1200, 1, 448) == (448, 0)  # too thin: the resize step refuses it (below)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_is_our_error(backend: str) -> None:
    ours = pixelprep.TvpImageProcessor(backend=backend)
    frame = np.zeros((64, 48, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match="pad_size 100x100 is smaller than a frame of 448x448"):
        ours(frame, pad_size={"height": 100, "width": 100})
    with pytest.raises(InvalidArgumentError, match="pad_mode must be one of"):
        ours(frame, pad_mode="wrap")
    with pytest.raises(InvalidArgumentError, match="constant_values has 2 values"):
        ours(frame, do_center_crop=False, constant_values=[0.1, 0.2])
    with pytest.raises(pixelprep.InvalidImageError, match="too small"):
        ours(np.zeros((1200, 1, 3), np.uint8))


def test_model_type_and_class_names_resolve() -> None:
    assert family_for_config({}, {"model_type": "tvp"}) is pixelprep.TvpImageProcessor
    for name in ("TvpImageProcessor", "TvpImageProcessorFast", "TvpImageProcessorPil"):
        assert family_for_config({"image_processor_type": name}) is pixelprep.TvpImageProcessor


@pytest.mark.parametrize("mode", ["constant", "reflect", "symmetric", "replicate"])
def test_pad_image_matches_the_pil_class(mode: str, compare) -> None:
    """``pad_image`` (one CHW image, its fill and mode) equals transformers' pil class's method."""
    from transformers.image_utils import SizeDict

    image = np.random.default_rng(3).uniform(-1, 1, size=(3, 7, 5)).astype(np.float32)
    expected = theirs_for("pil").pad_image(image, SizeDict(height=12, width=9), 0.25, mode)
    got = pixelprep.TvpImageProcessor(backend="pil").pad_image(image, {"height": 12, "width": 9}, 0.25, mode)
    assert got.shape == (3, 12, 9)
    compare(got, expected, atol=0, what=mode)
