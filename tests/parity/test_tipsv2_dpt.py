"""TIPSv2-DPT against transformers 5.23's Tipsv2DptImageProcessor (torchvision; transformers has no pil class), in the same process.

Our torchvision backend is held to 1e-5 on every fixture image, mixed-size batches and call-time options. Our pil
backend runs the same steps with Pillow and is compared with that same torchvision class within 2/255: both resize
8-bit pixels (bilinear, antialiased) and round to 8 bits, and Pillow's fixed-point filter and torchvision's
float one land a few values one level apart (two at most); after the 1/255 rescale that is 2/255 (with a bicubic
resize 12/255: Pillow's cubic is a=-0.5, torchvision's a=-0.75; a normalisation divides either by its std).
Depth, normal and segmentation post-processing are compared on seeded random model outputs (1e-5).
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

ATOL = {"torchvision": 1e-5, "pil": 2 / 255 + 1e-6}  # pil: Pillow's resize against torchvision's (module docstring)
BATCH = ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg", "tiny_rgb_7x5.png")
TARGETS = {"none": None, "list": [(100, 150), (31, 1)], "tensor": torch.tensor([[100, 150], [31, 1]])}


@pytest.mark.parametrize("backend", ["torchvision", "pil"])
def test_every_fixture_matches(backend: str, image_path, load_image, compare, to_eight_bit) -> None:
    """Every mode (EXIF, gray, RGBA, palette, CMYK, 16-bit, 1x1, 7x5, 1200x90, 1023x768) at 448x448."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)  # README: 16-bit scaled
    expected = transformers.Tipsv2DptImageProcessor()(reference, return_tensors="np")["pixel_values"]
    got = pixelprep.Tipsv2DptImageProcessor(backend=backend)(str(image_path), return_tensors="np")["pixel_values"]
    compare(got, expected, atol=ATOL[backend], what=f"Tipsv2Dpt [{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", ["torchvision", "pil"])
@pytest.mark.parametrize(
    "call",
    [
        {"return_tensors": "pt"},
        {"size": {"height": 224, "width": 300}, "resample": 3, "return_tensors": "pt"},
        {"do_normalize": True, "image_mean": [0.5, 0.4, 0.3], "image_std": [0.2, 0.3, 0.25], "return_tensors": "pt"},
        {"rescale_factor": 0.5 / 255, "return_tensors": "np"},
        {"do_resize": False},
    ],
    ids=["default", "size-bicubic", "normalize", "factor-np", "no-resize"],
)
def test_mixed_size_batch_and_call_options(backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    images = [load_image(fixture_path(name)) for name in BATCH]
    expected = transformers.Tipsv2DptImageProcessor()([convert_to_rgb(image) for image in images], **call)
    got = pixelprep.Tipsv2DptImageProcessor(backend=backend)(images, **call)
    assert set(got) == set(expected) == {"pixel_values"}
    # without a resize there is no filter: the pil backend is exact too; Pillow's bicubic (a=-0.5) against torchvision's
    # (a=-0.75) lands up to 12 levels apart at sharp edges; a normalisation divides the level distance by the std
    atol = ATOL["torchvision"] if backend == "torchvision" or call.get("do_resize") is False else (12 if call.get("resample") == 3 else 2) / 255 + 1e-6
    atol /= min(call.get("image_std", [1.0])) if backend == "pil" else 1.0
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=atol, what=f"Tipsv2Dpt [{backend}] {call}")


def _dense_outputs(seed: int) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(seed)
    return SimpleNamespace(
        predicted_depth=torch.rand(2, 40, 56, generator=generator) * 10,
        normals=torch.randn(2, 3, 40, 56, generator=generator),
        segmentation_logits=torch.randn(2, 7, 40, 56, generator=generator),
    )


def _reference_targets(targets):
    # transformers hands tensor rows to interpolate and fails: its list form is the reference
    return targets.tolist() if isinstance(targets, torch.Tensor) else targets


def _assert_same(got, expected) -> None:
    assert type(got) is type(expected) or isinstance(got, dict) == isinstance(expected, dict)
    if isinstance(expected, torch.Tensor):
        assert got.shape == expected.shape and got.dtype == expected.dtype
        torch.testing.assert_close(got, expected, rtol=0, atol=0 if not expected.is_floating_point() else 1e-5)
    else:
        assert set(got) == set(expected)
        for key in expected:
            _assert_same(got[key], expected[key])


@pytest.mark.parametrize("targets", list(TARGETS), ids=list(TARGETS))
def test_post_process_depth_and_normals_match(targets: str) -> None:
    outputs, sizes = _dense_outputs(0), TARGETS[targets]
    theirs, ours = transformers.Tipsv2DptImageProcessor(), pixelprep.Tipsv2DptImageProcessor()
    for method in ("post_process_depth_estimation", "post_process_normal_estimation"):
        expected = getattr(theirs, method)(outputs, target_sizes=_reference_targets(sizes))
        got = getattr(ours, method)(outputs, target_sizes=sizes)
        assert len(got) == len(expected) == 2
        for mine, reference in zip(got, expected):
            _assert_same(mine, reference)


@pytest.mark.parametrize("scores", [False, True])
@pytest.mark.parametrize("targets", list(TARGETS), ids=list(TARGETS))
@pytest.mark.parametrize("field", ["segmentation_logits", "logits"])
def test_post_process_semantic_segmentation_matches(field: str, targets: str, scores: bool) -> None:
    """The dense predictor's ``segmentation_logits`` or a segmenter's ``logits``: class maps (and scores) equal."""
    outputs = SimpleNamespace(**{field: _dense_outputs(1).segmentation_logits})
    kwargs = {"return_segmentation_scores": scores}
    expected = transformers.Tipsv2DptImageProcessor().post_process_semantic_segmentation(outputs, target_sizes=_reference_targets(TARGETS[targets]), **kwargs)
    got = pixelprep.Tipsv2DptImageProcessor().post_process_semantic_segmentation(outputs, target_sizes=TARGETS[targets], **kwargs)
    assert len(got) == len(expected) == 2
    for mine, reference in zip(got, expected):
        _assert_same(mine if not scores else dict(mine), reference if not scores else dict(reference))


def test_post_process_numpy_and_errors() -> None:
    outputs = _dense_outputs(2)
    as_numpy = {name: value.numpy() for name, value in vars(outputs).items()}
    ours, theirs = pixelprep.Tipsv2DptImageProcessor(), transformers.Tipsv2DptImageProcessor()
    depth = ours.post_process_depth_estimation(as_numpy, target_sizes=[(20, 30), (9, 9)])
    normals = ours.post_process_normal_estimation(as_numpy)
    assert isinstance(depth[0]["predicted_depth"], np.ndarray) and isinstance(normals[0]["normals"], np.ndarray)
    np.testing.assert_allclose(depth[1]["predicted_depth"], theirs.post_process_depth_estimation(outputs, [(20, 30), (9, 9)])[1]["predicted_depth"].numpy(), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(normals[0]["normals"], axis=0), 1, atol=1e-5)
    with pytest.raises(InvalidArgumentError, match="target sizes for a batch of 2 depth maps"):
        ours.post_process_depth_estimation(outputs, target_sizes=[(1, 1)])
    with pytest.raises(InvalidArgumentError, match="target sizes for a batch of 2 normal maps"):
        ours.post_process_normal_estimation(outputs, target_sizes=[(1, 1)])
    with pytest.raises(InvalidArgumentError, match="predicted_depth must be"):
        ours.post_process_depth_estimation({"predicted_depth": torch.zeros(2, 1, 4, 4)})
    with pytest.raises(InvalidArgumentError, match="normals must be"):
        ours.post_process_normal_estimation({"normals": torch.zeros(3, 4, 4)})
    with pytest.raises(InvalidArgumentError, match="'normals'"):
        ours.post_process_normal_estimation({"logits": torch.zeros(1, 3, 4, 4)})


def test_resolves_by_name_and_model_type() -> None:
    for config in (
        {"image_processor_type": "Tipsv2DptImageProcessor"},
        {"image_processor_type": "Tipsv2DptImageProcessorFast"},
        {"image_processor_type": "Tipsv2DptImageProcessorPil"},
        {"model_type": "tipsv2_dpt"},
    ):
        assert family_for_config(config) is pixelprep.Tipsv2DptImageProcessor, config
    assert family_for_config({"model_type": "tipsv2"}) is pixelprep.Tipsv2ImageProcessor


def test_runner_rows_equal_each_image_alone(tmp_path, fixture_path) -> None:
    processor = pixelprep.Tipsv2DptImageProcessor(backend="pil", size={"height": 64, "width": 64})
    inputs = [str(fixture_path(name)) for name in BATCH[:3]]
    run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=2, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    for entry, path in zip(entries, inputs):
        np.testing.assert_array_equal(read_row(tmp_path, entry)["pixel_values"], processor(path, return_tensors="np")["pixel_values"][0])
