"""CHMv2 against transformers 5.23's CHMv2ImageProcessor (torchvision; transformers has no pil class), in the same process.

Every fixture image, mixed-size batches, call-time options, segmentation maps, ``pad_image``, and depth and
segmentation post-processing on seeded random model outputs. Our torchvision backend is held to 1e-5 everywhere.
Our pil backend is held to 1e-5 where no resize runs (the default: CHMv2 only rescales, normalises and pads); where
a resize is asked for it resizes 8-bit pixels with Pillow, whose bicubic filter (a=-0.5, fixed point) differs from
torchvision's (a=-0.75): on these photos, resized towards 384 (mostly shrunk, antialiased), 2 levels at most (0.055
after normalisation), bounded here at 4 levels (2 with bilinear) divided by CHMv2's smallest std (0.143). Enlarging
sharp edges can reach about 12 levels (tests/parity/test_hub_configs.py).
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
from pixelprep import InvalidArgumentError
from pixelprep.auto import family_for_config
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
STD_MIN = 0.143
PIL_RESIZE_ATOL = {3: 4 / 255 / STD_MIN, 2: 2 / 255 / STD_MIN}  # by resample: Pillow's filter against torchvision's
BATCH = ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg", "tiny_rgb_7x5.png")
TARGETS = {"none": None, "list": [(100, 150), (31, 1)], "tensor": torch.tensor([[100, 150], [31, 1]])}


def _atol(backend: str, call: dict) -> float:
    return PIL_RESIZE_ATOL[call.get("resample", 3)] if backend == "pil" and call.get("do_resize") else ATOL


@pytest.mark.parametrize("resize", [False, True], ids=["default", "resize"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_matches(backend: str, resize: bool, image_path, load_image, compare, to_eight_bit) -> None:
    """Every mode (EXIF, gray, RGBA, palette, CMYK, 16-bit, 1x1, 7x5, 1200x90, 1023x768): as is (padded to 16s), and resized towards 384."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)  # README: 16-bit scaled, RGB
    call = {"do_resize": resize, "return_tensors": "np"}
    expected = transformers.CHMv2ImageProcessor()(reference, **call)["pixel_values"]
    got = pixelprep.CHMv2ImageProcessor(backend=backend)(str(image_path), **call)["pixel_values"]
    compare(got, expected, atol=_atol(backend, call), what=f"CHMv2 [{backend}] {image_path.name} resize={resize}")
    assert got.shape[-2] % 16 == 0 and got.shape[-1] % 16 == 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [
        {},
        {"do_resize": True},
        {"do_resize": True, "size": {"height": 256, "width": 200}, "keep_aspect_ratio": False, "resample": 2},
        {"do_resize": True, "ensure_multiple_of": 32, "size_divisor": 32},
        {"do_pad": False},
        {"image_mean": [0.5, 0.4, 0.3], "image_std": [0.2, 0.3, 0.25], "rescale_factor": 0.5 / 255},
        {"do_normalize": False, "do_pad": False},
    ],
    ids=["default", "resize", "squash-bilinear", "multiple-32", "no-pad", "mean-std-factor", "no-normalize"],
)
def test_mixed_size_batch_and_call_options(backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    expected = transformers.CHMv2ImageProcessor()(images, **call)
    got = pixelprep.CHMv2ImageProcessor(backend=backend)(images, **call)
    assert set(got) == set(expected) == {"pixel_values"}
    atol = _atol(backend, call)
    if backend == "pil" and "image_std" in call:
        atol *= STD_MIN / min(call["image_std"])
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=atol, what=f"CHMv2 [{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduce", [False, True])
def test_segmentation_maps(backend: str, reduce: bool, fixture_path, load_image, compare, to_numpy) -> None:
    """Label maps padded like their images (and reduced when asked): int64, equal to transformers'."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH[:3]]
    rng = np.random.default_rng(5)
    maps = [Image.fromarray(rng.integers(0, 12, size=(image.height, image.width), dtype=np.uint8)) for image in images]
    expected = transformers.CHMv2ImageProcessor(do_reduce_labels=reduce)(images, segmentation_maps=maps)
    got = pixelprep.CHMv2ImageProcessor(backend=backend, do_reduce_labels=reduce)(images, segmentation_maps=maps)
    assert set(got) == set(expected) == {"pixel_values", "labels"}
    for mine, theirs in zip(got["labels"], expected["labels"]):
        mine = to_numpy(mine)
        assert mine.dtype == np.int64 and np.array_equal(mine, to_numpy(theirs)), f"labels [{backend}] reduce={reduce}"
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL, what=f"CHMv2 [{backend}] pixel_values with maps")


@pytest.mark.parametrize("backend", BACKENDS)
def test_pad_image_matches(backend: str) -> None:
    image = torch.rand(3, 37, 50, generator=torch.Generator().manual_seed(4))
    for divisor in (16, 7):
        expected = transformers.CHMv2ImageProcessor().pad_image(image, size_divisor=divisor)
        got = pixelprep.CHMv2ImageProcessor(backend=backend).pad_image(image, size_divisor=divisor)
        assert got.shape == expected.shape
        torch.testing.assert_close(got, expected, rtol=0, atol=0)


@pytest.mark.parametrize("targets", list(TARGETS), ids=list(TARGETS))
def test_post_process_depth_estimation_matches(targets: str) -> None:
    depth = torch.rand(2, 40, 56, generator=torch.Generator().manual_seed(0)) * 30  # canopy heights in metres
    sizes = TARGETS[targets]
    # transformers hands tensor rows to interpolate and fails there: its list form is the reference (README)
    reference_sizes = sizes.tolist() if isinstance(sizes, torch.Tensor) else sizes
    expected = transformers.CHMv2ImageProcessor().post_process_depth_estimation(SimpleNamespace(predicted_depth=depth), target_sizes=reference_sizes)
    got = pixelprep.CHMv2ImageProcessor().post_process_depth_estimation(SimpleNamespace(predicted_depth=depth), target_sizes=sizes)
    assert len(got) == len(expected) == 2
    for mine, theirs in zip(got, expected):
        assert set(mine) == set(theirs) == {"predicted_depth"}
        assert mine["predicted_depth"].shape == theirs["predicted_depth"].shape
        torch.testing.assert_close(mine["predicted_depth"], theirs["predicted_depth"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("scores", [False, True])
@pytest.mark.parametrize("targets", list(TARGETS), ids=list(TARGETS))
def test_post_process_semantic_segmentation_matches(targets: str, scores: bool) -> None:
    outputs = SimpleNamespace(logits=torch.randn(2, 5, 40, 56, generator=torch.Generator().manual_seed(1)))
    sizes = TARGETS[targets]
    # transformers' interpolate gets NumPy rows from a tensor of sizes and fails: its list form is the reference (README)
    reference_sizes = sizes.tolist() if isinstance(sizes, torch.Tensor) else sizes
    expected = transformers.CHMv2ImageProcessor().post_process_semantic_segmentation(outputs, reference_sizes, return_segmentation_scores=scores)
    got = pixelprep.CHMv2ImageProcessor().post_process_semantic_segmentation(outputs, sizes, return_segmentation_scores=scores)
    assert len(got) == len(expected) == 2
    for mine, theirs in zip(got, expected):
        pairs = [(mine["segmentation"], theirs["segmentation"]), (mine["segmentation_scores"], theirs["segmentation_scores"])] if scores else [(mine, theirs)]
        for a, b in pairs:
            assert a.shape == b.shape and a.dtype == b.dtype
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_post_process_numpy_and_errors() -> None:
    depth = np.random.default_rng(2).random((2, 20, 30), dtype=np.float32)
    got = pixelprep.CHMv2ImageProcessor().post_process_depth_estimation({"predicted_depth": depth}, target_sizes=[(40, 60), (5, 5)])
    expected = transformers.CHMv2ImageProcessor().post_process_depth_estimation(SimpleNamespace(predicted_depth=torch.from_numpy(depth)), [(40, 60), (5, 5)])
    assert isinstance(got[0]["predicted_depth"], np.ndarray)
    np.testing.assert_allclose(got[0]["predicted_depth"], expected[0]["predicted_depth"].numpy(), atol=1e-5)
    with pytest.raises(InvalidArgumentError, match="target sizes for a batch of 2 depth maps"):
        pixelprep.CHMv2ImageProcessor().post_process_depth_estimation({"predicted_depth": depth}, target_sizes=[(1, 1)])
    with pytest.raises(InvalidArgumentError, match="predicted_depth"):
        pixelprep.CHMv2ImageProcessor().post_process_depth_estimation({"logits": depth})


def test_bad_settings_are_our_errors() -> None:
    image = np.zeros((20, 30, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match="size must have 'height' and 'width'"):
        pixelprep.CHMv2ImageProcessor(do_resize=True, size={"shortest_edge": 100})(image)
    with pytest.raises(InvalidArgumentError, match="size_divisor"):
        pixelprep.CHMv2ImageProcessor(size_divisor=0)(image)
    with pytest.raises(InvalidArgumentError, match="ensure_multiple_of"):
        pixelprep.CHMv2ImageProcessor()(image, do_resize=True, ensure_multiple_of=-2)


def test_resolves_by_name_and_model_type() -> None:
    for config in ({"image_processor_type": "CHMv2ImageProcessor"}, {"image_processor_type": "CHMv2ImageProcessorFast"}, {"model_type": "chmv2"}):
        assert family_for_config(config) is pixelprep.CHMv2ImageProcessor, config
    assert family_for_config({"model_type": "dpt"}) is pixelprep.DPTImageProcessor
    assert family_for_config({"image_processor_type": "DPTFeatureExtractor"}) is pixelprep.DPTImageProcessor


def test_runner_rows_equal_each_image_alone(tmp_path, fixture_path) -> None:
    processor = pixelprep.CHMv2ImageProcessor(backend="pil")
    inputs = [str(fixture_path(name)) for name in BATCH[1:]]  # three sizes: each row keeps its own padded size
    run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=2, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    for entry, path in zip(entries, inputs):
        np.testing.assert_array_equal(read_row(tmp_path, entry)["pixel_values"], processor(path, return_tensors="np")["pixel_values"][0])
