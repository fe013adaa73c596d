"""SegGPT against transformers 5.23's SegGptImageProcessor (torchvision) and SegGptImageProcessorPil, run in the same process.

Every fixture image, images with prompt images and prompt masks (palette, no palette, RGB masks),
call-time options, ``get_palette``/``mask_to_rgb``, and semantic post-processing on seeded random
``pred_masks``. Tolerance 1e-5; class ids equal.
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
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.auto import family_for_config
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
BATCH = ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png")


def _theirs(backend: str, **config) -> object:
    return (transformers.SegGptImageProcessorPil if backend == "pil" else transformers.SegGptImageProcessor)(**config)


def _same(got, expected, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected), what
    for key in expected:
        assert len(got[key]) == len(expected[key]), f"{what} {key}"
        for index, (mine, theirs) in enumerate(zip(got[key], expected[key])):
            compare(mine, to_numpy(theirs), atol=ATOL, what=f"{what} {key} {index}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_matches(backend: str, image_path, load_image, compare, to_eight_bit) -> None:
    """Every mode (EXIF, gray, RGBA, palette, CMYK, 16-bit, 1x1, 7x5, 1200x90, 1023x768), as image and as prompt image."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)  # README: 16-bit scaled, RGB
    expected = _theirs(backend)(reference, prompt_images=reference, return_tensors="np")
    got = pixelprep.SegGptImageProcessor(backend=backend)(str(image_path), prompt_images=str(image_path), return_tensors="np")
    for key in ("pixel_values", "prompt_pixel_values"):
        compare(got[key], expected[key], atol=ATOL, what=f"SegGPT [{backend}] {image_path.name} {key}")


def _masks(images, labels: int, dtype=np.uint8) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.integers(0, labels + 1, (image.height, image.width)).astype(dtype) for image in images]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("call", "labels", "dtype"),
    [
        ({}, 3, np.uint8),
        ({"num_labels": 3}, 3, np.uint8),
        ({"num_labels": 30, "size": {"height": 224, "width": 320}}, 30, np.int64),
        ({"resample": 2, "do_normalize": False}, 5, np.uint8),
        ({"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "return_tensors": "pt"}, 2, np.uint8),
    ],
    ids=["no-palette", "palette-3", "palette-30-int64-size", "bilinear-no-normalize", "mean-std-pt"],
)
def test_images_prompts_and_masks_match(backend: str, call: dict, labels: int, dtype, fixture_path, load_image, compare, to_numpy) -> None:
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    inputs = {"images": images, "prompt_images": images[::-1], "prompt_masks": _masks(images, labels, dtype)}
    expected = _theirs(backend)(**inputs, **call)
    got = pixelprep.SegGptImageProcessor(backend=backend)(**inputs, **call)
    _same(got, expected, compare, to_numpy, f"SegGPT [{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_only_masks_and_rgb_masks(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """Masks alone; and with ``do_convert_rgb=False`` masks that are RGB images already (HWC arrays)."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH[:2]]
    masks = _masks(images, 4)
    _same(pixelprep.SegGptImageProcessor(backend=backend)(prompt_masks=masks, num_labels=4), _theirs(backend)(images=None, prompt_masks=masks, num_labels=4), compare, to_numpy, "masks only")
    rgb = [np.asarray(image) for image in images]
    expected = _theirs(backend, do_convert_rgb=False)(images=None, prompt_masks=rgb)
    got = pixelprep.SegGptImageProcessor(backend=backend, do_convert_rgb=False)(prompt_masks=rgb)
    _same(got, expected, compare, to_numpy, "RGB masks")


@pytest.mark.parametrize("backend", BACKENDS)
def test_palette_and_mask_to_rgb_match(backend: str) -> None:
    ours, theirs = pixelprep.SegGptImageProcessor(backend=backend), _theirs(backend)
    for labels in (1, 3, 8, 30, 200):
        assert ours.get_palette(labels) == theirs.get_palette(labels)
    mask = np.random.default_rng(2).integers(0, 9, (1, 12, 17)).astype(np.uint8)
    for palette in (None, theirs.get_palette(8)):
        expected, got = theirs.mask_to_rgb(mask, palette), ours.mask_to_rgb(mask, palette)
        assert got.dtype == expected.dtype and np.array_equal(got, expected)


def _pred_masks(seed: int) -> SimpleNamespace:
    return SimpleNamespace(pred_masks=torch.from_numpy(np.random.default_rng(seed).normal(size=(2, 3, 64, 32)).astype(np.float32)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("num_labels", [None, 3, 20])
@pytest.mark.parametrize("targets", [None, [(100, 120), (15, 9)]], ids=["no-target", "targets"])
@pytest.mark.parametrize("scores", [False, True])
def test_post_process_semantic_segmentation_matches(backend: str, num_labels, targets, scores: bool) -> None:
    kwargs = {"num_labels": num_labels, "target_sizes": targets, "return_segmentation_scores": scores}
    expected = _theirs(backend).post_process_semantic_segmentation(_pred_masks(1), **kwargs)
    got = pixelprep.SegGptImageProcessor(backend=backend).post_process_semantic_segmentation(_pred_masks(1), **kwargs)
    assert len(got) == len(expected) == 2
    for mine, theirs in zip(got, expected):
        if not scores:
            assert mine.dtype == theirs.dtype and torch.equal(mine, theirs)
            continue
        assert set(mine) == set(theirs) == {"segmentation", "segmentation_scores"}
        assert torch.equal(mine["segmentation"], theirs["segmentation"])
        if theirs["segmentation_scores"] is None:
            assert mine["segmentation_scores"] is None
        else:
            torch.testing.assert_close(mine["segmentation_scores"], theirs["segmentation_scores"], rtol=0, atol=1e-3)  # squared distances of 0-255 levels


def test_post_process_numpy_in_numpy_out() -> None:
    outputs = _pred_masks(1)
    got = pixelprep.SegGptImageProcessor().post_process_semantic_segmentation({"pred_masks": outputs.pred_masks.numpy()}, num_labels=3)
    expected = _theirs("torchvision").post_process_semantic_segmentation(outputs, num_labels=3)
    assert isinstance(got[0], np.ndarray) and np.array_equal(got[1], expected[1].numpy())


def test_bad_inputs_are_our_errors() -> None:
    processor = pixelprep.SegGptImageProcessor()
    with pytest.raises(InvalidArgumentError, match="at least one"):
        processor()
    with pytest.raises(InvalidImageError, match="prompt mask 0 has label 9"):
        processor(prompt_masks=np.full((10, 10), 9, np.uint8), num_labels=3)
    with pytest.raises(InvalidArgumentError, match="num_labels"):
        pixelprep.SegGptImageProcessor(num_labels=0)
    with pytest.raises(InvalidArgumentError, match="target sizes"):
        processor.post_process_semantic_segmentation(_pred_masks(1), target_sizes=[(4, 4)])


def test_resolves_by_name_and_model_type() -> None:
    for config in ({"image_processor_type": "SegGptImageProcessor"}, {"image_processor_type": "SegGptImageProcessorFast"}, {"image_processor_type": "SegGptImageProcessorPil"}, {"model_type": "seggpt"}):
        assert family_for_config(config) is pixelprep.SegGptImageProcessor, config


def test_runner_rows_equal_each_image_alone(tmp_path, fixture_path) -> None:
    """``pixelprep run`` processes the images (no prompts): each row equals the image processed alone."""
    processor = pixelprep.SegGptImageProcessor(backend="pil", size={"height": 64, "width": 64})
    inputs = [str(fixture_path(name)) for name in BATCH]
    run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=2, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    for entry, path in zip(entries, inputs):
        np.testing.assert_array_equal(read_row(tmp_path, entry)["pixel_values"], processor(path, return_tensors="np")["pixel_values"][0])
