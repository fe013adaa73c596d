"""VideoMAE (and TimeSformer) against transformers 5.23's two classes of the same backend, run in this process.

Videos are built from the fixture photos: every mode (made RGB the way transformers' convert_to_rgb does, as pixelprep
documents), mixed sizes across videos, frames of different sizes inside one video, 4-D arrays and tensors, call-time
options. Tolerance 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from PIL import Image
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError, UnsupportedInputError
from pixelprep.auto import family_for_config
from pixelprep.runner import run_job

ATOL = 1e-5
BACKENDS = ("torchvision", "pil")
MIXED = ("photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png")


def theirs_for(backend: str, **config) -> object:
    return (transformers.VideoMAEImageProcessor if backend == "torchvision" else transformers.VideoMAEImageProcessorPil)(**config)


def reference_frame(image: Image.Image, to_eight_bit) -> Image.Image:
    """What transformers must be given for what pixelprep documents: 16-bit scaled to 8 bits, then RGB (README)."""
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


def two_frames(image: Image.Image) -> list[Image.Image]:
    """A two-frame video of one size: the image and its mirror."""
    return [image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_as_a_video(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Each fixture photo (every mode) as a two-frame video: (1, 2, 3, 224, 224) equal to transformers'."""
    ours, theirs = pixelprep.VideoMAEImageProcessor(backend=backend), theirs_for(backend)
    image = load_image(image_path)
    got = ours(two_frames(image), return_tensors="np")["pixel_values"]
    expected = to_numpy(theirs(two_frames(reference_frame(image, to_eight_bit)), return_tensors="np")["pixel_values"])
    assert got.shape == (1, 2, 3, 224, 224) and got.dtype == np.float32
    compare(got, expected, atol=ATOL, what=f"{image_path.name} ({image.mode}) [{backend}]")


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_of_videos_of_mixed_sizes(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """Videos of different sizes (each of one size), and a video whose frames differ in size: transformers' answer."""
    ours, theirs = pixelprep.VideoMAEImageProcessor(backend=backend), theirs_for(backend)
    photos = [load_image(fixture_path(name)) for name in MIXED]
    videos = [two_frames(photo) for photo in photos] + [photos[:2]]  # the last video's two frames differ in size
    expected = to_numpy(theirs(videos, return_tensors="np")["pixel_values"])
    for tensors in ("np", "pt"):
        got = ours(videos, return_tensors=tensors)["pixel_values"]
        assert tuple(got.shape) == (5, 2, 3, 224, 224) and isinstance(got, torch.Tensor) == (tensors == "pt")
        compare(got, expected, atol=ATOL, what=f"mixed videos [{backend}] {tensors}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_video_forms(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """One image, a flat list (one video), a list of lists, a 4-D array or tensor (HWC and CHW), a list of 4-D arrays."""
    ours, theirs = pixelprep.VideoMAEImageProcessor(backend=backend), theirs_for(backend)
    first, second = (load_image(fixture_path(name)) for name in MIXED[:2])
    hwc = np.stack([np.asarray(first), np.asarray(first)[:, ::-1]])
    chw = np.ascontiguousarray(hwc.transpose(0, 3, 1, 2))
    other = np.stack([np.asarray(second)] * 3)
    forms = {
        "one image": (first, (1, 1)),
        "flat list": ([first, second], (1, 2)),
        "list of lists": ([[first], [second]], (2, 1)),
        "4-D HWC": (hwc, (1, 2)),
        "4-D CHW tensor": (torch.from_numpy(chw), (1, 2)),
        "list of 4-D": ([hwc, np.stack([np.asarray(second)] * 2)], (2, 2)),
        "flat list of arrays": (list(hwc), (1, 2)),
    }
    for what, (video, (count, frames)) in forms.items():
        got = ours(video, return_tensors="np")["pixel_values"]
        assert got.shape == (count, frames, 3, 224, 224), what
        compare(got, to_numpy(theirs(video, return_tensors="np")["pixel_values"]), atol=ATOL, what=f"{what} [{backend}]")
    # videos of different frame counts cannot make one tensor: a list per video without return_tensors (as transformers)
    got = ours([hwc, other])["pixel_values"]
    assert [tuple(v.shape) for v in got] == [(2, 3, 224, 224), (3, 3, 224, 224)]
    # transformers' torchvision class gives a (frames, 3, H, W) tensor per video, its pil class a list of frames per video
    expected = [np.stack(to_numpy(list(video))) for video in theirs([hwc, other])["pixel_values"]]
    compare(got, expected, atol=ATOL, what=f"ragged [{backend}]")
    with pytest.raises(InvalidImageError, match="return_tensors=None"):
        ours([hwc, other], return_tensors="pt")


CALL_OPTIONS = [
    {"size": {"shortest_edge": 160}, "crop_size": {"height": 128, "width": 144}},
    {"size": {"height": 180, "width": 200}, "do_center_crop": False},
    {"resample": 3},
    {"do_normalize": False},
    {"do_rescale": False, "do_normalize": False},
    {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "rescale_factor": 0.5 / 255},
    {"do_resize": False, "crop_size": {"height": 64, "width": 64}},
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("options", CALL_OPTIONS, ids=[",".join(o) for o in CALL_OPTIONS])
def test_call_time_options(backend: str, options: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """Call-time overrides equal the same overrides given to transformers (integers equal where nothing is float)."""
    ours, theirs = pixelprep.VideoMAEImageProcessor(backend=backend), theirs_for(backend)
    videos = [two_frames(load_image(fixture_path(name))) for name in MIXED[:2]]
    got = ours(videos, return_tensors="np", **options)["pixel_values"]
    expected = to_numpy(theirs(videos, return_tensors="np", **options)["pixel_values"])
    assert got.dtype == expected.dtype, f"{options}: dtype {got.dtype} vs {expected.dtype}"
    compare(got, expected, atol=0 if got.dtype == np.uint8 else ATOL, what=f"{options} [{backend}]")


@pytest.mark.parametrize("backend", BACKENDS)
def test_list_output_where_frames_keep_their_sizes(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """Without resize and crop, each video is a list of its frames (pil: as transformers' per-frame lists)."""
    ours, theirs = pixelprep.VideoMAEImageProcessor(backend=backend, do_resize=False, do_center_crop=False), theirs_for(backend, do_resize=False, do_center_crop=False)
    photos = [load_image(fixture_path(name)) for name in MIXED[:2]]
    got = ours([two_frames(photos[0]), two_frames(photos[1])])["pixel_values"]
    assert len(got) == 2 and [len(video) for video in got] == [2, 2]
    expected = theirs([two_frames(photos[0]), two_frames(photos[1])])["pixel_values"]
    for ours_video, their_video in zip(got, expected):
        compare(list(ours_video), [to_numpy(frame) for frame in their_video], atol=ATOL, what=f"unresized [{backend}]")
    with pytest.raises(InvalidImageError, match="cannot stack videos"):
        ours([two_frames(photos[0]), two_frames(photos[1])], return_tensors="np")


def test_model_types_and_class_names_resolve() -> None:
    """Both model types and every class name transformers uses load VideoMAE."""
    for model_type in ("videomae", "timesformer"):
        assert family_for_config({}, {"model_type": model_type}) is pixelprep.VideoMAEImageProcessor
    for name in ("VideoMAEImageProcessor", "VideoMAEImageProcessorFast", "VideoMAEImageProcessorPil", "VideoMAEFeatureExtractor"):
        assert family_for_config({"image_processor_type": name}) is pixelprep.VideoMAEImageProcessor


@pytest.mark.parametrize(
    ("videos", "error", "match"),
    [
        ([], InvalidArgumentError, "videos"),
        ([[]], InvalidArgumentError, "videos"),
        ([[np.zeros((8, 8, 3), np.uint8)], []], InvalidArgumentError, r"sample\(s\) \[1\]"),
        ([np.zeros((0, 8, 8, 3), np.uint8)], InvalidArgumentError, "no frame"),
        (np.zeros((2, 2, 8, 8, 3), np.uint8), InvalidImageError, "dimensions"),
        ([[object()]], UnsupportedInputError, "object"),
    ],
    ids=["empty", "empty-video", "one-empty-video", "empty-4d", "5-d-array", "object"],
)
def test_bad_videos_are_our_errors(videos, error, match) -> None:
    with pytest.raises(error, match=match):
        pixelprep.VideoMAEImageProcessor(backend="pil")(videos)


def test_runner_refuses_videos(tmp_path, fixture_path) -> None:
    """`pixelprep run` treats each row as one image; a video family is refused with our error, before any work."""
    with pytest.raises(InvalidArgumentError, match="VideoMAEImageProcessor: it takes videos"):
        run_job(pixelprep.VideoMAEImageProcessor(), [str(fixture_path("photo_rgb_640x427.jpg"))], str(tmp_path / "out"))
