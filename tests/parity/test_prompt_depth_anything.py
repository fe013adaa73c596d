"""Prompt Depth Anything against transformers 5.23's PromptDepthAnythingImageProcessor (torchvision) and its Pil class.

Every fixture image, mixed-size batches with call-time options, prompt depth maps of every dtype
(constant ones too), and depth post-processing on seeded random maps. Tolerance 1e-5.
"""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import transformers
from PIL import Image
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.auto import family_for_config
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
BATCH = ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg", "tiny_rgb_7x5.png")
CHECKPOINT = {"ensure_multiple_of": 14, "keep_aspect_ratio": True, "size": {"height": 518, "width": 518}, "do_pad": True, "size_divisor": 32}


def _theirs(backend: str, **config) -> object:
    return (transformers.PromptDepthAnythingImageProcessorPil if backend == "pil" else transformers.PromptDepthAnythingImageProcessor)(**config)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_matches(backend: str, image_path, load_image, compare, to_eight_bit) -> None:
    """Every mode (EXIF, gray, RGBA, palette, CMYK, 16-bit, 1x1, 7x5, 1200x90, 1023x768): pixel values within 1e-5."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)  # README: 16-bit scaled, RGB
    expected = _theirs(backend)(reference, return_tensors="np")["pixel_values"]
    got = pixelprep.PromptDepthAnythingImageProcessor(backend=backend)(str(image_path), return_tensors="np")["pixel_values"]
    compare(got, expected, atol=ATOL, what=f"PromptDepthAnything [{backend}] {image_path.name}")


def _prompts(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 5000, (24 + i, 32)).astype(np.uint16) for i in range(count)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, CHECKPOINT, {"do_normalize": False, "prompt_scale_to_meter": 0.01}, {"resample": 2, "size": {"height": 200, "width": 300}}],
    ids=["default", "checkpoint", "no-normalize-scale", "bilinear"],
)
def test_mixed_size_batch_with_prompts(backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    prompts = _prompts(len(images))
    expected = _theirs(backend)(images, prompt_depth=prompts, **call)
    got = pixelprep.PromptDepthAnythingImageProcessor(backend=backend)(images, prompt_depth=prompts, **call)
    assert set(got) == set(expected) == {"pixel_values", "prompt_depth"}
    for key in expected:
        assert len(got[key]) == len(expected[key])
        for index, (mine, theirs) in enumerate(zip(got[key], expected[key])):
            assert type(mine) is type(theirs), key
            compare(mine, to_numpy(theirs), atol=ATOL, what=f"PromptDepthAnything [{backend}] {call} {key} {index}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["constant-uint16", "uint16", "float64", "float32", "int32-tensor", "pil-I", "stacked-pt"])
def test_prompt_depth_of_every_kind(backend: str, kind: str, compare, to_numpy) -> None:
    """Every dtype in the precision of the backend's class; a constant map nudged as transformers does (its first row)."""
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (40, 60, 3)).astype(np.uint8)
    depth = {
        "constant-uint16": np.full((20, 30), 1500, np.uint16),
        "uint16": rng.integers(0, 5000, (20, 30)).astype(np.uint16),
        "float64": rng.random((20, 30)) * 3000,
        "float32": (rng.random((20, 30)) * 3000).astype(np.float32),
        "int32-tensor": torch.from_numpy(rng.integers(0, 5000, (20, 30)).astype(np.int32)),
        "pil-I": Image.fromarray(rng.integers(0, 5000, (20, 30)).astype(np.int32), mode="I"),
        "stacked-pt": rng.integers(0, 5000, (20, 30)).astype(np.uint16),
    }[kind]
    call = {"return_tensors": "pt"} if kind == "stacked-pt" else {}
    expected = _theirs(backend)(image, prompt_depth=depth, **call)["prompt_depth"]
    got = pixelprep.PromptDepthAnythingImageProcessor(backend=backend)(image, prompt_depth=depth, **call)["prompt_depth"]
    assert type(got) is type(expected) and len(got) == len(expected) == 1
    assert tuple(got[0].shape) == tuple(expected[0].shape) == (1, 20, 30)
    assert np.array_equal(to_numpy(got[0]), to_numpy(expected[0]))


@pytest.mark.parametrize("targets", [None, [(100, 150), (31, 20)], torch.tensor([[100, 150], [31, 20]])], ids=["none", "list", "tensor"])
def test_post_process_depth_estimation_matches(targets) -> None:
    depth = SimpleNamespace(predicted_depth=torch.from_numpy(np.random.default_rng(1).random((2, 48, 64)).astype(np.float32)))
    # transformers crashes on a tensor of target sizes (README): its list form is the reference there
    reference_targets = targets.tolist() if isinstance(targets, torch.Tensor) else targets
    expected = _theirs("torchvision").post_process_depth_estimation(depth, target_sizes=reference_targets)
    got = pixelprep.PromptDepthAnythingImageProcessor().post_process_depth_estimation(depth, target_sizes=targets)
    for mine, theirs in zip(got, expected):
        assert mine["predicted_depth"].shape == theirs["predicted_depth"].shape
        torch.testing.assert_close(mine["predicted_depth"], theirs["predicted_depth"], rtol=0, atol=1e-5)


def test_bad_prompts_are_our_errors() -> None:
    processor = pixelprep.PromptDepthAnythingImageProcessor()
    image = np.zeros((20, 30, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match="prompt depth maps for 2 images"):
        processor([image, image], prompt_depth=[np.ones((4, 4))])
    with pytest.raises(InvalidImageError, match="prompt depth 0"):
        processor(image, prompt_depth=np.ones((4, 4, 3)))
    with pytest.raises(InvalidImageError, match="prompt depth 0"):
        processor(image, prompt_depth=np.array([["a", "b"]]))
    with pytest.raises(InvalidImageError, match="prompt depth 0"):
        processor(image, prompt_depth="/nonexistent/depth.png")


def test_resolves_by_name_and_model_type() -> None:
    for config in (
        {"image_processor_type": "PromptDepthAnythingImageProcessor"},
        {"image_processor_type": "PromptDepthAnythingImageProcessorFast"},
        {"image_processor_type": "PromptDepthAnythingImageProcessorPil"},
        {"model_type": "prompt_depth_anything"},
    ):
        assert family_for_config(config) is pixelprep.PromptDepthAnythingImageProcessor, config
    assert family_for_config({"image_processor_type": "DPTFeatureExtractor"}) is pixelprep.DPTImageProcessor


def test_runner_rows_equal_each_image_alone(tmp_path, fixture_path) -> None:
    """Without prompts, ``pixelprep run`` stores each image's pixel values as the image processed alone."""
    processor = pixelprep.PromptDepthAnythingImageProcessor.from_dict(dict(CHECKPOINT, size={"height": 70, "width": 70}), backend="pil")
    inputs = [str(fixture_path(name)) for name in BATCH[:3]]
    run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=2, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    for entry, path in zip(entries, inputs):
        np.testing.assert_array_equal(read_row(tmp_path, entry)["pixel_values"], processor(path, return_tensors="np")["pixel_values"][0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_resize_with_aspect_ratio_matches(backend: str) -> None:
    from transformers.image_utils import SizeDict

    image = np.random.default_rng(0).integers(0, 256, (3, 90, 140)).astype(np.uint8)
    given = torch.from_numpy(image)[None] if backend == "torchvision" else image
    ours, theirs = pixelprep.PromptDepthAnythingImageProcessor(backend=backend), _theirs(backend)
    for keep, multiple in ((False, 1), (True, 14)):
        size = {"height": 200, "width": 150}
        expected = theirs.resize_with_aspect_ratio(given, SizeDict(**size), keep_aspect_ratio=keep, ensure_multiple_of=multiple)
        got = ours.resize_with_aspect_ratio(given, size, keep_aspect_ratio=keep, ensure_multiple_of=multiple)
        assert type(got) is type(expected) and tuple(got.shape) == tuple(expected.shape)
        assert np.abs(np.asarray(got, np.float64) - np.asarray(expected, np.float64)).max() <= 1
