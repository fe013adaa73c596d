"""PP-LCNet parity with transformers 5.23 (a torchvision class only there).

torchvision: 1e-5 against ``PPLCNetImageProcessor``. pil, against the same class: Pillow's and torch's
antialiased 8-bit resizes round a few values one level apart (2 levels at most, as TIPSv2), which
normalising by the smallest std (0.224) makes 2 / 255 / 0.224.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.models.pp_lcnet import rounded_short_side_size

BACKENDS = ("torchvision", "pil")
ATOL = {"torchvision": 1e-5, "pil": 2 / 255 / 0.224 + 1e-6}
MIXED = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png", "rgba_alpha_radial_256x192.png"]


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    expected = transformers.PPLCNetImageProcessor()(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = pixelprep.PPLCNetImageProcessor(backend=backend)(str(image_path), return_tensors="np")
    assert set(got) == set(expected) == {"pixel_values"} and got["pixel_values"].shape[1:] == (3, 224, 224)
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL[backend], what=f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"resize_short": 300, "size_divisor": 32}, {"do_center_crop": False}, {"crop_size": {"height": 200, "width": 160}}, {"resample": 3},
     {"do_normalize": False}, {"return_tensors": "pt"}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    images = [load_image(fixture_path(name)) for name in MIXED]
    expected = transformers.PPLCNetImageProcessor()([_reference(image, to_eight_bit) for image in images], **call)
    got = pixelprep.PPLCNetImageProcessor(backend=backend)([str(fixture_path(name)) for name in MIXED], **call)
    assert set(got) == {"pixel_values"}
    compare(to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"]), atol=ATOL[backend], what=f"[{backend}] {call}")


def test_sizes_match_transformers_get_image_size() -> None:
    ours, theirs = pixelprep.PPLCNetImageProcessor(), transformers.PPLCNetImageProcessor()
    for height, width in [(1, 1), (5, 7), (427, 640), (1200, 90), (255, 257), (3, 1000)]:
        for short, divisor in [(256, 1), (224, 32), (300, None), (7, 4)]:
            expected = theirs.get_image_size(torch.zeros(3, height, width), short, divisor)
            assert ours.get_image_size(torch.zeros(3, height, width), short, divisor) == {"height": expected.height, "width": expected.width}
            assert rounded_short_side_size(height, width, short, divisor) == (expected.height, expected.width)


def test_bad_arguments_and_resolution() -> None:
    with pytest.raises(InvalidArgumentError, match="resize_short must be a positive integer"):
        pixelprep.PPLCNetImageProcessor(resize_short=-1)
    for config in ({"model_type": "pp_lcnet"}, {"image_processor_type": "PPLCNetImageProcessor"}, {"image_processor_type": "PPLCNetImageProcessorFast"}):
        assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.PPLCNetImageProcessor
    text = repr(pixelprep.PPLCNetImageProcessor(backend="pil"))
    assert "shorter side to 256 (rounded)" in text and "RGB to BGR" in text


def test_saved_config_loads_in_transformers(tmp_path) -> None:
    ours = pixelprep.PPLCNetImageProcessor(resize_short=320, crop_size=288)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    image = np.random.default_rng(2).integers(0, 256, (400, 500, 3), dtype=np.uint8)
    expected = np.asarray(theirs(image, return_tensors="np")["pixel_values"])
    assert expected.shape == (1, 3, 288, 288) and np.abs(ours(image, return_tensors="np")["pixel_values"] - expected).max() <= 1e-5
