"""SLANeXt / SLANet parity with transformers 5.23 (a torchvision class only there).

The resize is integer arithmetic (OpenCV's fixed-point bilinear), computed once in NumPy for both
backends: the pil backend equals the torchvision class too, to the normalisation's float rounding (1e-5).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.models.slanext import fixed_point_bilinear

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "single_pixel_rgb_1x1.png", "la_alpha_ramp_200x150.png"]


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    expected = transformers.SLANeXtImageProcessor()(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = pixelprep.SLANeXtImageProcessor(backend=backend)(str(image_path), return_tensors="np")
    assert set(got) == set(expected) == {"pixel_values"} and got["pixel_values"].shape == (1, 3, 512, 512)
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL, what=f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"size": {"height": 480, "width": 320}, "pad_size": 480}, {"do_pad": False, "return_tensors": None}, {"pad_size": {"height": 600, "width": 700}},
     {"do_normalize": False}, {"do_rescale": False, "do_normalize": False}, {"image_mean": [0.5, 0.4, 0.3], "image_std": [0.2, 0.3, 0.4]}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    call = {"return_tensors": "np", **call}
    images = [load_image(fixture_path(name)) for name in MIXED]
    expected = transformers.SLANeXtImageProcessor()([_reference(image, to_eight_bit) for image in images], **call)
    got = pixelprep.SLANeXtImageProcessor(backend=backend)([str(fixture_path(name)) for name in MIXED], **call)
    assert set(got) == {"pixel_values"}
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL, what=f"[{backend}] {call}")


def test_fixed_point_resize_equals_transformers_kernel() -> None:
    """The integer resize alone, on random 8-bit and float images of awkward sizes (1-pixel sides included)."""
    rng = np.random.default_rng(0)
    theirs = transformers.SLANeXtImageProcessor()
    for height, width in [(1, 1), (1, 9), (9, 1), (2, 2), (37, 50), (300, 41), (513, 512)]:
        for dtype in (np.uint8, np.float32):
            image = (rng.random((height, width, 3)) * 300 - 20).astype(np.float32) if dtype is np.float32 else rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            expected = theirs._resize(torch.from_numpy(image).permute(2, 0, 1)[None], transformers.image_utils.SizeDict(height=64, width=64))[0].permute(1, 2, 0).numpy()
            scale = 64 / max(height, width)
            got = fixed_point_bilinear(image, (round(height * scale), round(width * scale)))
            assert got.dtype == expected.dtype and np.array_equal(got, expected), (height, width, dtype)


@pytest.mark.parametrize("seed", range(5))
def test_post_process_table_recognition(seed: int) -> None:
    """Structure tokens and score of seeded random probabilities equal transformers' (it decodes the first image only)."""
    ours, theirs = pixelprep.SLANeXtImageProcessor(), transformers.SLANeXtImageProcessor()
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 40, len(ours.character), generator=generator) * 3
    logits[:, 25 + seed :, -1] += 20  # "eos" from some step on
    probabilities = torch.softmax(logits, dim=-1)
    expected = theirs.post_process_table_recognition(SimpleNamespace(last_hidden_state=probabilities))
    got = ours.post_process_table_recognition({"last_hidden_state": probabilities.numpy()})
    assert got["structure"] == expected["structure"] and abs(got["structure_score"] - expected["structure_score"]) <= 1e-6
    assert len(got["structure"]) > 6


def test_post_process_only_special_tokens_and_bad_input() -> None:
    """Only "sos"/"eos": transformers fails stacking no scores; ours gives the empty table with a NaN score (README)."""
    ours = pixelprep.SLANeXtImageProcessor()
    probabilities = torch.zeros(1, 5, len(ours.character))
    probabilities[0, :, 0] = 1
    with pytest.raises(RuntimeError):
        transformers.SLANeXtImageProcessor().post_process_table_recognition(SimpleNamespace(last_hidden_state=probabilities))
    result = ours.post_process_table_recognition(SimpleNamespace(last_hidden_state=probabilities))
    assert result["structure"] == ["<html>", "<body>", "<table>", "</table>", "</body>", "</html>"] and np.isnan(result["structure_score"])
    with pytest.raises(InvalidArgumentError, match=r"\(batch, steps, 50\)"):
        ours.post_process_table_recognition(SimpleNamespace(last_hidden_state=torch.zeros(1, 5, 7)))


def test_vocabulary_and_errors() -> None:
    ours, theirs = pixelprep.SLANeXtImageProcessor(), transformers.SLANeXtImageProcessor()
    ours.init_decoder()
    assert (ours.character, ours.dict, ours.td_token, ours.bos_id, ours.eos_id) == (theirs.character, theirs.dict, theirs.td_token, theirs.bos_id, theirs.eos_id)
    with pytest.raises(InvalidImageError, match="too elongated"):
        ours(np.zeros((1, 2000, 3), np.uint8), input_data_format="channels_last")
    with pytest.raises(InvalidArgumentError, match="size must give 'height' and 'width'"):
        ours(np.zeros((10, 10, 3), np.uint8), size={"shortest_edge": 512})
    with pytest.raises(InvalidArgumentError, match="pad_size 512x512 is smaller than an image of 640x427"):
        ours(np.zeros((600, 400, 3), np.uint8), size={"height": 640, "width": 640})


@pytest.mark.parametrize("config", [{"model_type": "slanext"}, {"model_type": "slanet"}, {"image_processor_type": "SLANeXtImageProcessor"}, {"image_processor_type": "SLANeXtImageProcessorFast"}], ids=repr)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.SLANeXtImageProcessor
