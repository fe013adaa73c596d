"""PP-FormulaNet parity with transformers 5.23 (a torchvision class only there).

torchvision: 1e-5 against ``PPFormulaNetImageProcessor``. pil, against the same class: two antialiased
8-bit resizes (shorter side, then the bicubic thumbnail), where Pillow and torch round a few values
one level apart each, so 2 levels at most: 2 / 255 / 0.1738 (the std) = 0.0452.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.models.pp_formulanet import margin_box

BACKENDS = ("torchvision", "pil")
ATOL = {"torchvision": 1e-5, "pil": 2 / 255 / 0.1738 + 1e-6}
MIXED = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png", "single_pixel_rgb_1x1.png", "wide_rgb_1200x90.jpg"]


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    expected = transformers.PPFormulaNetImageProcessor()(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = pixelprep.PPFormulaNetImageProcessor(backend=backend)(str(image_path), return_tensors="np")
    assert set(got) == set(expected) == {"pixel_values"} and got["pixel_values"].shape == (1, 3, 768, 768)
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL[backend], what=f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"size": {"height": 384, "width": 512}}, {"do_crop_margin": False}, {"do_thumbnail": False}, {"do_pad": False, "return_tensors": None},
     {"do_resize": False}, {"resample": 3}, {"do_normalize": False}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    call = {"return_tensors": "np", **call}
    images = [load_image(fixture_path(name)) for name in MIXED]
    expected = transformers.PPFormulaNetImageProcessor()([_reference(image, to_eight_bit) for image in images], **call)
    got = pixelprep.PPFormulaNetImageProcessor(backend=backend)([str(fixture_path(name)) for name in MIXED], **call)
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL[backend], what=f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_align_long_axis_turns_the_image(backend: str, compare, to_numpy) -> None:
    """transformers turns the channel and height axes of its batch there and fails (README); ours turns the page a
    quarter clockwise: equal to transformers given the page already turned."""
    rng = np.random.default_rng(0)
    page = rng.integers(0, 256, (300, 120, 3), dtype=np.uint8)
    size = {"height": 384, "width": 512}
    with pytest.raises(RuntimeError):
        transformers.PPFormulaNetImageProcessor(size=size, do_align_long_axis=True)(page)
    expected = transformers.PPFormulaNetImageProcessor(size=size)(np.ascontiguousarray(np.rot90(page, 3)), return_tensors="np")["pixel_values"]
    got = pixelprep.PPFormulaNetImageProcessor(backend=backend, size=size, do_align_long_axis=True)(page, return_tensors="np")["pixel_values"]
    compare(got, to_numpy(expected), atol=ATOL[backend], what=f"[{backend}] aligned")


def test_single_steps_match_transformers(fixture_path, load_image) -> None:
    """crop_margin, thumbnail, pad_images, align_long_axis and the OpenCV stand-ins on one CHW tensor."""
    ours, theirs = pixelprep.PPFormulaNetImageProcessor(), transformers.PPFormulaNetImageProcessor()
    image = torch.from_numpy(np.asarray(load_image(fixture_path("photo_rgb_333x517.jpg")).convert("RGB"))).permute(2, 0, 1).contiguous()
    size = transformers.image_utils.SizeDict(height=200, width=300)
    assert torch.equal(ours.crop_margin(image), theirs.crop_margin(image))
    assert torch.equal(ours.thumbnail(image, {"height": 200, "width": 300}), theirs.thumbnail(image, size))
    assert torch.equal(ours.pad_images(image[:, :150, :250], {"height": 200, "width": 300}), theirs.pad_images(image[:, :150, :250], size))
    assert torch.equal(ours.align_long_axis(image, {"height": 200, "width": 300}), theirs.align_long_axis(image, size))
    mask = image[:1] > 128
    assert torch.equal(ours.python_find_non_zero(mask), theirs.python_find_non_zero(mask))
    points = theirs.python_find_non_zero(mask)
    assert [int(v) for v in ours.python_bounding_rect(points)] == [int(v) for v in theirs.python_bounding_rect(points)]


def test_margin_box() -> None:
    page = np.full((40, 60, 3), 255, np.uint8)
    page[10:20, 5:50] = 0
    assert margin_box(page) == (10, 5, 10, 45)
    assert margin_box(np.full((5, 5, 3), 7, np.uint8)) is None


def test_bad_arguments_and_resolution() -> None:
    with pytest.raises(InvalidArgumentError, match="do_crop_margin must be True or False"):
        pixelprep.PPFormulaNetImageProcessor(do_crop_margin="yes")
    with pytest.raises(InvalidArgumentError, match="size must give 'height' and 'width'"):
        pixelprep.PPFormulaNetImageProcessor()(np.zeros((10, 10, 3), np.uint8), size={"shortest_edge": 300})
    for config in ({"model_type": "pp_formulanet"}, {"image_processor_type": "PPFormulaNetImageProcessor"}, {"image_processor_type": "PPFormulaNetImageProcessorFast"}):
        assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.PPFormulaNetImageProcessor
