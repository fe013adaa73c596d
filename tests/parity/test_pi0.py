"""PI0 parity with transformers 5.23 (a declaration: fit within 224x224, pad bottom/right to 224x224, 0.5 normalisation).

transformers has only a torchvision class (``PI0ImageProcessor``): our torchvision backend is compared with it
to 1e-5; our pil backend (same geometry, Pillow's bicubic) to PIL_ATOL = three uint8 rounding levels (2/255
each after the 0.5 normalisation; Pillow's and torchvision's antialiased bicubic differ by up to two here).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
PIL_ATOL = 3 * 2 / 255
MIXED = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


@pytest.fixture(scope="module")
def theirs() -> Any:
    return transformers.PI0ImageProcessor()


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image_and_a_mixed_batch(backend: str, fixture_images, theirs, load_image, to_eight_bit, compare, to_numpy) -> None:
    ours = pixelprep.PI0ImageProcessor(backend=backend)
    atol = ATOL if backend == "torchvision" else PIL_ATOL
    for path in fixture_images:
        try:
            reference = _reference(load_image(path), to_eight_bit)
        except OSError:  # the broken files are not fixtures of this kind
            continue
        expected = theirs(reference, return_tensors="np")
        got = ours(str(path), return_tensors="np")
        assert set(got) == set(expected) == {"pixel_values"}
        compare(got["pixel_values"], expected["pixel_values"], atol=atol, what=f"[{backend}] {path.name}")
    paths = [fixture_images[0].parent / name for name in MIXED]
    for call in ({}, {"size": {"max_height": 160, "max_width": 200}, "pad_size": {"height": 160, "width": 200}}, {"do_pad": False, "size": {"height": 96, "width": 96}}):
        expected = theirs([_reference(load_image(p), to_eight_bit) for p in paths], return_tensors="np", **call)
        compare(ours([str(p) for p in paths], return_tensors="np", **call)["pixel_values"], expected["pixel_values"], atol=atol, what=f"[{backend}] {call}")


@pytest.mark.parametrize("config", [{"image_processor_type": "PI0ImageProcessor"}, {"image_processor_type": "PI0ImageProcessorFast"}, {"model_type": "pi0"}], ids=repr)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.PI0ImageProcessor


def test_repr_shows_the_fit_and_the_pad() -> None:
    text = repr(pixelprep.PI0ImageProcessor(backend="pil"))
    assert "to fit 224x224" in text and "224x224" in text.split("to fit 224x224", 1)[1]
