"""IDEFICS (v1) parity with transformers 5.23, both backends; transformers returns the pixel values alone, ours a BatchFeature."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _theirs(backend: str, **config: Any) -> Any:
    return getattr(transformers, "IdeficsImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


def _array(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare) -> None:
    ours, theirs = pixelprep.IdeficsImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = ours(str(image_path), return_tensors="np")
    assert set(got) == {"pixel_values"}
    compare(got["pixel_values"], expected, atol=ATOL, what=f"[{backend}] {image_path.name}")


CALLS = [{}, {"image_size": 100}, {"size": {"height": 96, "width": 128}}, {"resample": 2}, {"do_normalize": False},
         {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_options(backend: str, call: dict, fixture_path, load_image, compare) -> None:
    """Options at construction (transformers ignores a call-time image_size, see below); nested inputs are flattened."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in MIXED]
    ours, theirs = pixelprep.IdeficsImageProcessor(backend=backend, **call), _theirs(backend, **call)
    expected = theirs(images, return_tensors="pt")
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="pt")
    assert type(got["pixel_values"]) is type(expected) is torch.Tensor
    compare(got["pixel_values"], expected, atol=ATOL, what=f"[{backend}] {call}")
    nested = ours([[images[0], images[1]], images[2:]], return_tensors="np")["pixel_values"]
    compare(nested, theirs([[images[0], images[1]], images[2:]], return_tensors="np"), atol=ATOL, what=f"[{backend}] nested")
    # without return_tensors transformers gives a list of per-image tensors, ours one batch (as every family): same values
    compare(ours(images)["pixel_values"], theirs(images), atol=ATOL, what=f"[{backend}] {call} no return_tensors")


def test_image_size_is_size() -> None:
    """image_size folds into size at construction (both ways round), is saved, and at call time overrides size as
    transformers documents it (its classes ignore it there)."""
    ours = pixelprep.IdeficsImageProcessor(image_size=300, size={"height": 10, "width": 10})
    theirs = transformers.IdeficsImageProcessor(image_size=300, size={"height": 10, "width": 10})
    assert ours.size == {"height": 300, "width": 300} and ours.image_size == theirs.image_size == 300
    assert ours.to_dict()["image_size"] == theirs.to_dict()["image_size"] == 300
    assert pixelprep.IdeficsImageProcessor(size={"height": 64, "width": 64}).image_size == 64
    image = np.zeros((50, 70, 3), np.uint8)
    assert ours(image, image_size=32, return_tensors="np")["pixel_values"].shape == (1, 3, 32, 32)
    with pytest.raises(InvalidArgumentError, match="image_size must be a positive integer"):
        ours(image, image_size=0)


def test_transform_is_a_call_time_hook(fixture_path, load_image) -> None:
    """A transform given at call time replaces the pipeline (images as loaded, stacked); a config never carries one."""
    import torchvision.transforms as T

    transform = T.Compose([T.Resize((32, 32)), T.ToTensor()])
    images = [load_image(fixture_path(name)) for name in ("photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg")]
    for backend in BACKENDS:
        got = pixelprep.IdeficsImageProcessor(backend=backend)(images, transform=transform)["pixel_values"]
        assert torch.equal(got, _theirs(backend)(images, transform=transform))
    processor = pixelprep.IdeficsImageProcessor.from_dict({"image_processor_type": "IdeficsImageProcessor", "transform": "os.system"})
    assert processor.transform is None and processor(images[0], return_tensors="np")["pixel_values"].shape == (1, 3, 224, 224)
    with pytest.raises(InvalidArgumentError, match="transform must be a callable"):
        processor(images, transform="os.system")


@pytest.mark.parametrize(
    "config",
    [{"image_processor_type": "IdeficsImageProcessor"}, {"image_processor_type": "IdeficsImageProcessorFast"},
     {"image_processor_type": "IdeficsImageProcessorPil"}, {"model_type": "idefics"}],
)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.IdeficsImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {t for t, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "IdeficsImageProcessor"}
    assert set(pixelprep.IdeficsImageProcessor.model_types) == theirs


def test_repr_and_saved_config(tmp_path) -> None:
    ours = pixelprep.IdeficsImageProcessor(backend="pil", image_size=112)
    assert "resize to 112x112 bicubic" in repr(ours)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    assert type(theirs).__name__ == "IdeficsImageProcessorPil" and type(again) is type(ours) and theirs.image_size == 112
    image = (np.arange(300 * 700 * 3) % 253).astype(np.uint8).reshape(300, 700, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        assert np.abs(processor(image, return_tensors="np")["pixel_values"] - expected).max() <= ATOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    ours = pixelprep.IdeficsImageProcessor(backend=backend, image_size=64)
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png"]]
    result = run_job(ours, inputs, str(tmp_path), shard_size=2, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 3)
    for line in (tmp_path / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        np.testing.assert_array_equal(np.asarray(read_row(tmp_path, entry)["pixel_values"]), ours(entry["source"], return_tensors="np")["pixel_values"][0])
