"""ZoeDepth against transformers 5.23's ZoeDepthImageProcessor (torchvision) and ZoeDepthImageProcessorPil, run in the same process.

Every fixture image, mixed-size batches, call-time options, ``pad_image``, and depth post-processing
(flip averaging, padding removal, target sizes) on seeded random depth maps. Tolerance 1e-5.
"""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.auto import family_for_config
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
BATCH = ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg", "tiny_rgb_7x5.png")
# transformers' torchvision class cannot reflect-pad a 1x1 image (2 pixels of padding); its pil class is the reference there
TORCHVISION_CRASHES = ("single_pixel_rgb_1x1.png",)


def _theirs(backend: str, **config) -> object:
    return (transformers.ZoeDepthImageProcessorPil if backend == "pil" else transformers.ZoeDepthImageProcessor)(**config)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_matches(backend: str, image_path, load_image, compare, to_eight_bit) -> None:
    """Every mode (EXIF, gray, RGBA, palette, CMYK, 16-bit, 1x1, 7x5, 1200x90, 1023x768): pixel values within 1e-5."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)  # README: 16-bit scaled, RGB
    reference_backend = "pil" if image_path.name in TORCHVISION_CRASHES else backend
    expected = _theirs(reference_backend)(reference, return_tensors="np")["pixel_values"]
    got = pixelprep.ZoeDepthImageProcessor(backend=backend)(str(image_path), return_tensors="np")["pixel_values"]
    compare(got, expected, atol=ATOL, what=f"ZoeDepth [{backend}] {image_path.name}")


def test_torchvision_class_crashes_where_we_answer(fixture_path, load_image) -> None:
    image = load_image(fixture_path(TORCHVISION_CRASHES[0])).convert("RGB")
    with pytest.raises(RuntimeError):
        _theirs("torchvision")(image)
    assert pixelprep.ZoeDepthImageProcessor(backend="torchvision")(image, return_tensors="np")["pixel_values"].shape == (1, 3, 384, 384)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [
        {},
        {"ensure_multiple_of": 32, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
        {"keep_aspect_ratio": False, "resample": 3},
        {"do_pad": False, "size": {"height": 256, "width": 200}},
        {"do_normalize": False, "rescale_factor": 0.5 / 255},
        {"do_resize": False},
    ],
    ids=["default", "multiple-32", "no-aspect-bicubic", "no-pad-256x200", "no-normalize", "no-resize"],
)
def test_mixed_size_batch_and_call_options(backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """A batch of differently sized images (a gray one, a 7x5 one) with call-time options: each image's output equals transformers'."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    expected = _theirs(backend)(images, **call)["pixel_values"]
    got = pixelprep.ZoeDepthImageProcessor(backend=backend)(images, **call)["pixel_values"]
    assert len(got) == len(expected) == len(images)
    for index, (mine, theirs) in enumerate(zip(got, expected)):
        compare(mine, to_numpy(theirs), atol=ATOL, what=f"ZoeDepth [{backend}] {call} image {index}")


def test_config_settings_match(fixture_path, load_image, compare, to_numpy) -> None:
    """The checkpoints' settings (multiple of 32, 0.5 mean/std) given at construction, stacked to one size with return_tensors."""
    config = {"ensure_multiple_of": 32, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "keep_aspect_ratio": False}
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    for backend in BACKENDS:
        expected = _theirs(backend, **config)(images, return_tensors="pt")["pixel_values"]
        got = pixelprep.ZoeDepthImageProcessor.from_dict(config, backend=backend)(images, return_tensors="pt")["pixel_values"]
        compare(got, to_numpy(expected), atol=ATOL, what=f"ZoeDepth [{backend}] config")


@pytest.mark.parametrize("backend", BACKENDS)
def test_pad_image_matches(backend: str) -> None:
    image = np.random.default_rng(0).random((3, 37, 50)).astype(np.float32)
    theirs = _theirs(backend)
    if backend == "pil":
        expected = theirs.pad_image(image)
        got = pixelprep.ZoeDepthImageProcessor(backend=backend).pad_image(image)
    else:  # the torchvision class has it as a batch step
        expected = theirs._pad_images(torch.from_numpy(image)[None])
        got = pixelprep.ZoeDepthImageProcessor(backend=backend).pad_image(torch.from_numpy(image)[None])
    assert tuple(got.shape) == tuple(expected.shape) == ((3, 61, 80) if backend == "pil" else (1, 3, 61, 80))  # 12 and 15 on each side
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


def _depth(seed: int, shape=(2, 48, 64)) -> SimpleNamespace:
    return SimpleNamespace(predicted_depth=torch.from_numpy(np.random.default_rng(seed).random(shape).astype(np.float32) * 10))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"source_sizes": [(427, 640), (1200, 90)]},
        {"source_sizes": torch.tensor([[427, 640], [1200, 90]]), "target_sizes": [(100, 150), (30, 20)]},
        {"source_sizes": [(427, 640), (1200, 90)], "flipped": True},
        {"do_remove_padding": False, "target_sizes": torch.tensor([[100, 150], [30, 20]])},
        {"do_remove_padding": False},
        {"source_sizes": [(427, 640), (1200, 90)], "do_remove_padding": False, "flipped": True},
    ],
    ids=["unpad", "unpad-target", "flip", "target-only", "nothing", "no-unpad-flip"],
)
def test_post_process_depth_estimation_matches(backend: str, kwargs: dict) -> None:
    kwargs = dict(kwargs)
    if kwargs.pop("flipped", False):
        kwargs["outputs_flipped"] = _depth(2)
    expected = _theirs(backend).post_process_depth_estimation(_depth(1), **kwargs)
    got = pixelprep.ZoeDepthImageProcessor(backend=backend).post_process_depth_estimation(_depth(1), **kwargs)
    assert len(got) == len(expected) == 2
    for mine, theirs in zip(got, expected):
        assert set(mine) == set(theirs) == {"predicted_depth"}
        assert mine["predicted_depth"].shape == theirs["predicted_depth"].shape
        torch.testing.assert_close(mine["predicted_depth"], theirs["predicted_depth"], rtol=0, atol=1e-5)


def test_post_process_numpy_and_errors() -> None:
    processor = pixelprep.ZoeDepthImageProcessor()
    depth = _depth(1).predicted_depth.numpy()
    got = processor.post_process_depth_estimation({"predicted_depth": depth}, source_sizes=[(427, 640), (90, 1200)])
    expected = _theirs("pil").post_process_depth_estimation(_depth(1), source_sizes=[(427, 640), (90, 1200)])
    assert isinstance(got[0]["predicted_depth"], np.ndarray)
    np.testing.assert_allclose(got[1]["predicted_depth"], expected[1]["predicted_depth"].numpy(), atol=1e-5)
    with pytest.raises(InvalidArgumentError, match="source_sizes"):
        processor.post_process_depth_estimation(_depth(1))
    with pytest.raises(InvalidArgumentError, match="outputs_flipped"):
        processor.post_process_depth_estimation(_depth(1), outputs_flipped=_depth(2, (2, 10, 10)), do_remove_padding=False)
    with pytest.raises(InvalidArgumentError, match="target sizes"):
        processor.post_process_depth_estimation(_depth(1), target_sizes=[(1, 1)], do_remove_padding=False)


def test_bad_settings_are_our_errors() -> None:
    image = np.zeros((20, 30, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match="resample"):
        pixelprep.ZoeDepthImageProcessor(resample=0)(image)
    with pytest.raises(InvalidArgumentError, match="height"):
        pixelprep.ZoeDepthImageProcessor(size={"shortest_edge": 300})(image)
    with pytest.raises(InvalidArgumentError, match="ensure_multiple_of"):
        pixelprep.ZoeDepthImageProcessor(ensure_multiple_of=-1)


def test_resolves_by_name_and_model_type() -> None:
    for config in ({"image_processor_type": "ZoeDepthImageProcessor"}, {"image_processor_type": "ZoeDepthImageProcessorFast"}, {"image_processor_type": "ZoeDepthImageProcessorPil"}, {"model_type": "zoedepth"}):
        assert family_for_config(config) is pixelprep.ZoeDepthImageProcessor, config


def test_runner_rows_equal_each_image_alone(tmp_path, fixture_path) -> None:
    """``pixelprep run``: each stored row (images of different sizes) equals the image processed alone."""
    processor = pixelprep.ZoeDepthImageProcessor(backend="pil", size={"height": 64, "width": 96})
    inputs = [str(fixture_path(name)) for name in BATCH[:3]]
    run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=2, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    for entry, path in zip(entries, inputs):
        np.testing.assert_array_equal(read_row(tmp_path, entry)["pixel_values"], processor(path, return_tensors="np")["pixel_values"][0])
