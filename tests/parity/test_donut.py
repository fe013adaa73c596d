"""Donut against transformers 5.23's DonutImageProcessor (torchvision) and DonutImageProcessorPil, run in the same process.

Every fixture image, mixed-size batches, call-time options, the single-step methods and the seeded
random padding; max |diff| <= 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb
from transformers.image_utils import SizeDict

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.models.donut import centred_padding, thumbnail_size, turns_to_long_axis

ATOL = 1e-5
BACKENDS = ("torchvision", "pil")
# a smaller canvas than the checkpoints' 2560x1920 keeps the test quick; the legacy list form is (width, height)
CONFIG = {"size": [480, 640], "do_align_long_axis": True}
BATCH = ("photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tall_rgb_90x1200.jpg", "wide_rgb_1200x90.jpg", "gray_l_257x257.jpg")


def _theirs(backend: str, **config) -> object:
    return (transformers.DonutImageProcessor if backend == "torchvision" else transformers.DonutImageProcessorPil)(**config)


def _ours(backend: str, **config) -> pixelprep.DonutImageProcessor:
    return pixelprep.DonutImageProcessor.from_dict(config, backend=backend)


def _reference(image, to_eight_bit):
    """What transformers must be given for pixelprep's documented input rules (RGB, 16-bit scaled to 8 bits)."""
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_matches(backend: str, image_path, load_image, compare, to_numpy, to_eight_bit) -> None:
    """Every fixture image (EXIF, gray, RGBA, palette, CMYK, 16-bit, tiny, 1200x90, large) read from its file."""
    image = load_image(image_path)
    expected = to_numpy(_theirs(backend, **CONFIG)(_reference(image, to_eight_bit), return_tensors="np")["pixel_values"])
    got = _ours(backend, **CONFIG)(str(image_path), return_tensors="np")["pixel_values"]
    assert got.shape == (1, 3, 640, 480)
    compare(got, expected, atol=ATOL, what=f"Donut [{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "config",
    [
        {},
        {"size": {"height": 320, "width": 480}, "do_align_long_axis": True, "resample": 3},
        {"size": {"height": 400, "width": 300}, "resample": 0},  # pil's thumbnail turns NEAREST into BICUBIC, torchvision's does not
        {"size": {"height": 560, "width": 700}, "do_thumbnail": False, "do_resize": False},
        {"size": {"height": 400, "width": 300}, "do_pad": False, "return_tensors": None},
        {"size": {"height": 400, "width": 300}, "do_center_crop": True, "crop_size": {"height": 256, "width": 200}},
        {"size": 256, "do_normalize": False, "do_rescale": False},
    ],
    ids=["default", "landscape-bicubic", "nearest", "pad-only", "no-pad-list", "crop", "int-size-uint8"],
)
def test_mixed_batch_and_options(backend: str, config: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """A batch of several sizes (a gray page too) with construction options, and the same options given per call."""
    config = dict(config)  # the parameter is shared by both backends' runs
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    if config.get("do_resize") is False:  # without the resize and thumbnail, the pages must fit the canvas
        images = images[:2]
    call = {"return_tensors": config.pop("return_tensors", "np")}
    expected = _theirs(backend, **config)(images, **call)["pixel_values"]
    compare(_ours(backend, **config)(images, **call)["pixel_values"], to_numpy(expected), atol=ATOL, what=f"Donut [{backend}] {config}")
    per_call = _ours(backend)(images, **config, **call)["pixel_values"]
    compare(per_call, to_numpy(expected), atol=ATOL, what=f"Donut [{backend}] per call {config}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_steps_match(backend: str, fixture_path, load_image) -> None:
    """align_long_axis, thumbnail and pad_image (centred) equal transformers' methods of the same backend."""
    ours, theirs = _ours(backend), _theirs(backend)
    chw = np.ascontiguousarray(np.moveaxis(np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg"))), -1, 0))
    image = torch.from_numpy(chw) if backend == "torchvision" else chw
    for height, width in ((300, 200), (200, 300), (500, 700)):
        size = {"height": height, "width": width}
        pairs = [
            (ours.align_long_axis(image, size), theirs.align_long_axis(image, SizeDict(**size))),
            (ours.thumbnail(image, size, resample=2), theirs.thumbnail(image, SizeDict(**size), resample=2)),
        ]
        if height >= 427 and width >= 640:
            pairs.append((ours.pad_image(image, size), theirs.pad_image(image, SizeDict(**size))))
        for mine, reference in pairs:
            assert type(mine) is type(reference) and tuple(mine.shape) == tuple(reference.shape)
            assert np.array_equal(np.asarray(mine), np.asarray(reference))


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_padding_is_seeded_as_in_transformers(backend: str) -> None:
    """pad_image(random_padding=True) draws with torch (torchvision) or NumPy (pil): the same seed gives transformers' offsets."""
    ours, theirs = _ours(backend), _theirs(backend)
    chw = np.arange(3 * 5 * 7, dtype=np.uint8).reshape(3, 5, 7) + 1
    image = torch.from_numpy(chw) if backend == "torchvision" else chw
    size = {"height": 40, "width": 30}
    offsets = set()
    for seed in range(5):
        torch.manual_seed(seed), np.random.seed(seed)
        mine = np.asarray(ours.pad_image(image, size, random_padding=True))
        torch.manual_seed(seed), np.random.seed(seed)
        reference = np.asarray(theirs.pad_image(image, SizeDict(**size), random_padding=True))
        assert np.array_equal(mine, reference)
        offsets.add(tuple(np.argwhere(mine[0])[0]))
    assert len(offsets) > 1, "the offsets should vary with the seed"


def test_size_rules() -> None:
    assert turns_to_long_axis(100, 200, 2560, 1920) and not turns_to_long_axis(200, 100, 2560, 1920)
    assert turns_to_long_axis(200, 100, 480, 640) and not turns_to_long_axis(100, 100, 480, 640)
    assert thumbnail_size(1000, 500, 400, 300) == (400, 200)
    assert thumbnail_size(500, 1000, 400, 300) == (150, 300)
    assert thumbnail_size(100, 80, 400, 300) == (100, 80)  # never enlarged
    assert thumbnail_size(500, 500, 400, 300) == (400, 300)  # a square fills both caps, as transformers' rule does
    assert centred_padding(5, 7, 8, 10) == (1, 2, 1, 2)


def test_legacy_size_list_is_width_height_and_saves_as_a_dict() -> None:
    processor = pixelprep.DonutImageProcessor.from_dict({"size": [1920, 2560], "feature_extractor_type": "DonutFeatureExtractor"})
    assert processor.size == {"height": 2560, "width": 1920}
    assert processor.to_dict()["size"] == {"height": 2560, "width": 1920}
    assert processor.to_dict()["image_processor_type"] == "DonutImageProcessor"


def test_errors_name_the_image_and_the_limit() -> None:
    processor = pixelprep.DonutImageProcessor(size={"height": 64, "width": 48})
    with pytest.raises(InvalidImageError, match="does not fit the 64x48"):
        processor(np.zeros((100, 100, 3), np.uint8), do_thumbnail=False, do_resize=False)
    with pytest.raises(InvalidImageError, match="too elongated"):
        processor(np.zeros((1, 5000, 3), np.uint8))
    with pytest.raises(InvalidArgumentError, match="'height' and 'width'"):
        processor(np.zeros((10, 10, 3), np.uint8), size={"shortest_edge": 10})
