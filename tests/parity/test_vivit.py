"""ViViT against transformers 5.23's VivitImageProcessor (NumPy + Pillow, its only class), run in this process.

Ours on pil equals it within 1e-5; ours on torchvision resizes with torchvision's filter: within one 8-bit level
(2 / 127.5 after the offset rescale and 0.5 std), as README states.
"""

from __future__ import annotations

import numpy as np
import pytest
import transformers
from test_videomae import MIXED, reference_frame, two_frames

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.auto import family_for_config

ATOL = 1e-5
#: one 8-bit level after x / 127.5 - 1 and a 0.5 std: torchvision's antialiased bilinear against Pillow's
TORCHVISION_BOUND = 1 / 127.5 / 0.5 + 1e-6
BOUNDS = {"pil": ATOL, "torchvision": TORCHVISION_BOUND}
#: transformers' class cannot tell a 1x1x3 image's channel axis and raises (README); ours answers (see below)
TRANSFORMERS_CRASHES = ("single_pixel_rgb_1x1.png",)


def theirs(**config) -> transformers.VivitImageProcessor:
    return transformers.VivitImageProcessor(**config)


@pytest.mark.parametrize("backend", ("pil", "torchvision"))
def test_every_fixture_as_a_video(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Each fixture photo (every mode, RGB as documented) as a two-frame video: (1, 2, 3, 224, 224) in [-1, 1] space."""
    ours = pixelprep.VivitImageProcessor(backend=backend)
    image = load_image(image_path)
    got = ours(two_frames(image), return_tensors="np")["pixel_values"]
    assert got.shape == (1, 2, 3, 224, 224) and got.dtype == np.float32
    assert got.min() >= -3.0 - 1e-6 and got.max() <= 1.0 + 1e-6  # (x / 127.5 - 1 - 0.5) / 0.5
    if image_path.name in TRANSFORMERS_CRASHES:
        with pytest.raises(ValueError):
            theirs()(two_frames(reference_frame(image, to_eight_bit)), return_tensors="np")
        # a 1x1 frame is one colour: every output pixel is that colour, offset and normalised
        level = np.asarray(reference_frame(image, to_eight_bit), np.float64)[0, 0]
        compare(got[0, 0], np.broadcast_to(((level / 127.5 - 1 - 0.5) / 0.5)[:, None, None], (3, 224, 224)), atol=ATOL)
        return
    expected = to_numpy(theirs()(two_frames(reference_frame(image, to_eight_bit)), return_tensors="np")["pixel_values"])
    compare(got, expected, atol=BOUNDS[backend], what=f"{image_path.name} ({image.mode}) [{backend}]")


@pytest.mark.parametrize("backend", ("pil", "torchvision"))
def test_mixed_sizes_forms_and_arrays(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """Videos of mixed sizes, a video whose frames differ in size, a flat list, a list of lists of arrays."""
    ours = pixelprep.VivitImageProcessor(backend=backend)
    photos = [load_image(fixture_path(name)) for name in MIXED]
    videos = [two_frames(photo) for photo in photos] + [photos[:2]]
    compare(ours(videos, return_tensors="np")["pixel_values"], to_numpy(theirs()(videos, return_tensors="np")["pixel_values"]), atol=BOUNDS[backend], what="videos")
    arrays = [[np.asarray(frame) for frame in video] for video in videos[:2]]
    compare(ours(arrays, return_tensors="np")["pixel_values"], to_numpy(theirs()(arrays, return_tensors="np")["pixel_values"]), atol=BOUNDS[backend], what="arrays")
    compare(ours(photos, return_tensors="np")["pixel_values"], to_numpy(theirs()(photos, return_tensors="np")["pixel_values"]), atol=BOUNDS[backend], what="flat list")


def test_four_d_arrays_are_videos(fixture_path, load_image, compare, to_numpy) -> None:
    """A 4-D array is one video and a list of them a batch (transformers' class reads a 4-D array as one frame and raises)."""
    ours = pixelprep.VivitImageProcessor(backend="pil")
    frames = [np.asarray(frame) for frame in two_frames(load_image(fixture_path(MIXED[0])))]
    expected = to_numpy(theirs()([frames, frames], return_tensors="np")["pixel_values"])
    compare(ours(np.stack(frames), return_tensors="np")["pixel_values"], expected[:1], atol=ATOL, what="one 4-D array")
    compare(ours([np.stack(frames)] * 2, return_tensors="np")["pixel_values"], expected, atol=ATOL, what="list of 4-D arrays")
    with pytest.raises((ValueError, TypeError)):
        theirs()(np.stack(frames), return_tensors="np")


CALL_OPTIONS = [
    {"offset": False, "rescale_factor": 1 / 255},
    {"offset": False, "do_normalize": False, "rescale_factor": 1 / 255},
    {"do_normalize": False},
    {"size": {"shortest_edge": 224}, "crop_size": {"height": 200, "width": 180}, "resample": 3},
    {"size": {"height": 230, "width": 250}},
    {"image_mean": [0.45, 0.4, 0.3], "image_std": [0.2, 0.3, 0.25]},
    {"data_format": "channels_last"},
]


@pytest.mark.parametrize("options", CALL_OPTIONS, ids=[",".join(o) for o in CALL_OPTIONS])
def test_call_time_options(options: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """Call-time overrides (the offset too) equal the same overrides given to transformers."""
    ours = pixelprep.VivitImageProcessor(backend="pil")
    videos = [two_frames(load_image(fixture_path(name))) for name in MIXED[:2]]
    got = ours(videos, return_tensors="np", **options)["pixel_values"]
    compare(got, to_numpy(theirs()(videos, return_tensors="np", **options)["pixel_values"]), atol=ATOL, what=str(options))


def test_offset_needs_rescale() -> None:
    """transformers raises a bare ValueError; ours names the two arguments."""
    frame = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match="offset=True .* do_rescale=True"):
        pixelprep.VivitImageProcessor(backend="pil")(frame, do_rescale=False)
    with pytest.raises(ValueError):
        theirs()(frame, do_rescale=False)
    assert pixelprep.VivitImageProcessor(backend="pil")(frame, do_rescale=False, offset=False)["pixel_values"].shape == (1, 1, 3, 224, 224)


def test_pipeline_shows_the_offset_and_saves_it(tmp_path) -> None:
    ours = pixelprep.VivitImageProcessor(backend="pil")
    assert "subtract 1 (offset)" in repr(ours)
    ours.save_pretrained(tmp_path)
    loaded = transformers.VivitImageProcessor.from_pretrained(tmp_path)
    assert loaded.offset is True and loaded.size == {"shortest_edge": 256} and abs(loaded.rescale_factor - 1 / 127.5) < 1e-12


def test_model_type_and_class_names_resolve() -> None:
    assert family_for_config({}, {"model_type": "vivit"}) is pixelprep.VivitImageProcessor
    for name in ("VivitImageProcessor", "VivitImageProcessorFast", "VivitFeatureExtractor"):
        assert family_for_config({"image_processor_type": name}) is pixelprep.VivitImageProcessor
