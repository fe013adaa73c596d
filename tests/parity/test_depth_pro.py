"""DepthPro against transformers 5.23's DepthProImageProcessor (torchvision; transformers has no pil class), in the same process.

Both pixelprep backends are compared with that one class: every fixture image, mixed-size batches,
call-time options, and depth post-processing with and without a field of view. Tolerance 1e-5.
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
SMALL = {"size": {"height": 384, "width": 384}}
BATCH = ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg", "tiny_rgb_7x5.png")


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_matches(backend: str, image_path, load_image, compare, to_eight_bit) -> None:
    """Every mode (EXIF, gray, RGBA, palette, CMYK, 16-bit, 1x1, 7x5, 1200x90, 1023x768), at 384x384: within 1e-5."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)  # README: 16-bit scaled, RGB
    expected = transformers.DepthProImageProcessor(**SMALL)(reference, return_tensors="np")["pixel_values"]
    got = pixelprep.DepthProImageProcessor(backend=backend, **SMALL)(str(image_path), return_tensors="np")["pixel_values"]
    compare(got, expected, atol=ATOL, what=f"DepthPro [{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [
        {},
        {"size": {"height": 200, "width": 300}, "resample": 3},
        {"size": {"height": 200, "width": 300}, "resample": 0},
        {"image_mean": [0.5, 0.4, 0.3], "image_std": [0.2, 0.3, 0.25], "rescale_factor": 0.5 / 255},
        {"do_normalize": False},
        {"do_rescale": False},
    ],
    ids=["1536", "bicubic", "nearest", "mean-std-factor", "no-normalize", "no-rescale"],
)
def test_mixed_size_batch_and_call_options(backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    expected = transformers.DepthProImageProcessor()(images, return_tensors="pt", **call)
    got = pixelprep.DepthProImageProcessor(backend=backend)(images, return_tensors="pt", **call)
    assert set(got) == set(expected) == {"pixel_values"}
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL, what=f"DepthPro [{backend}] {call}")


def test_no_resize_keeps_sizes(fixture_path, load_image, compare, to_numpy) -> None:
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH[:2]]
    expected = transformers.DepthProImageProcessor()(images, do_resize=False)["pixel_values"]
    for backend in BACKENDS:
        got = pixelprep.DepthProImageProcessor(backend=backend)(images, do_resize=False)["pixel_values"]
        for mine, theirs in zip(got, expected):
            compare(mine, to_numpy(theirs), atol=ATOL, what=f"DepthPro [{backend}] no resize")


def _outputs(seed: int, fov: bool = True) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    depth = torch.from_numpy(rng.random((2, 48, 64)).astype(np.float32) * 20 - 1)  # some below the 1e-4 clamp
    field_of_view = torch.from_numpy(rng.uniform(30, 90, 2).astype(np.float32)) if fov else None
    return SimpleNamespace(predicted_depth=depth, field_of_view=field_of_view)


@pytest.mark.parametrize("fov", [True, False])
@pytest.mark.parametrize("targets", [None, [(100, 150), (31, 20)], torch.tensor([[100, 150], [31, 20]])], ids=["none", "list", "tensor"])
@pytest.mark.parametrize("resample", [2, 3])
def test_post_process_depth_estimation_matches(fov: bool, targets, resample: int) -> None:
    # transformers crashes on a tensor of target sizes (it hands tensor rows to interpolate): its list form is the reference
    reference_targets = targets.tolist() if isinstance(targets, torch.Tensor) else targets
    expected = transformers.DepthProImageProcessor(resample=resample).post_process_depth_estimation(_outputs(1, fov), target_sizes=reference_targets)
    got = pixelprep.DepthProImageProcessor(resample=resample).post_process_depth_estimation(_outputs(1, fov), target_sizes=targets)
    assert len(got) == len(expected) == 2
    for mine, theirs in zip(got, expected):
        assert set(mine) == set(theirs)
        for key, value in theirs.items():
            if value is None:
                assert mine[key] is None, key
            else:
                assert mine[key].shape == value.shape, key
                torch.testing.assert_close(mine[key], value, rtol=1e-6, atol=1e-5)


def test_post_process_numpy_and_errors() -> None:
    outputs = _outputs(1)
    as_numpy = {"predicted_depth": outputs.predicted_depth.numpy(), "field_of_view": outputs.field_of_view.numpy()}
    got = pixelprep.DepthProImageProcessor().post_process_depth_estimation(as_numpy, target_sizes=[(100, 150), (31, 20)])
    expected = transformers.DepthProImageProcessor().post_process_depth_estimation(outputs, target_sizes=[(100, 150), (31, 20)])
    assert isinstance(got[0]["predicted_depth"], np.ndarray) and isinstance(got[0]["focal_length"], np.ndarray)
    np.testing.assert_allclose(got[1]["predicted_depth"], expected[1]["predicted_depth"].numpy(), rtol=1e-6, atol=1e-5)
    with pytest.raises(InvalidArgumentError, match="target sizes"):
        pixelprep.DepthProImageProcessor().post_process_depth_estimation(outputs, target_sizes=[(1, 1)])
    with pytest.raises(InvalidArgumentError, match="resample"):
        pixelprep.DepthProImageProcessor(resample=4)(np.zeros((8, 8, 3), np.uint8))


def test_resolves_by_name_and_model_type() -> None:
    for config in ({"image_processor_type": "DepthProImageProcessor"}, {"image_processor_type": "DepthProImageProcessorFast"}, {"model_type": "depth_pro"}):
        assert family_for_config(config) is pixelprep.DepthProImageProcessor, config


def test_runner_rows_equal_each_image_alone(tmp_path, fixture_path) -> None:
    processor = pixelprep.DepthProImageProcessor(backend="pil", size={"height": 64, "width": 64})
    inputs = [str(fixture_path(name)) for name in BATCH[:3]]
    run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=2, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    for entry, path in zip(entries, inputs):
        np.testing.assert_array_equal(read_row(tmp_path, entry)["pixel_values"], processor(path, return_tensors="np")["pixel_values"][0])
