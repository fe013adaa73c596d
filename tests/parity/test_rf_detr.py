"""RF-DETR against transformers 5.23's RfDetrImageProcessor (torchvision; transformers has no pil class), in the same process.

Both pixelprep backends against that class: every fixture image, mixed-size batches with COCO detection
annotations, call-time options, object detection and instance segmentation post-processing on seeded
random model outputs. Tolerance 1e-5; labels, ids and masks equal.
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
SMALL = {"size": {"shortest_edge": 200, "longest_edge": 333}}
BATCH = ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg")


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_matches(backend: str, image_path, load_image, compare, to_eight_bit) -> None:
    """Every mode (EXIF, gray, RGBA, palette, CMYK, 16-bit, 1x1, 7x5, 1200x90, 1023x768): pixel values and mask."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)  # README: 16-bit scaled, RGB
    expected = transformers.RfDetrImageProcessor(**SMALL)(reference, return_tensors="np")
    got = pixelprep.RfDetrImageProcessor(backend=backend, **SMALL)(str(image_path), return_tensors="np")
    compare(got["pixel_values"], expected["pixel_values"], atol=ATOL, what=f"RF-DETR [{backend}] {image_path.name}")
    assert np.array_equal(got["pixel_mask"], expected["pixel_mask"])


def _annotations(images) -> list[dict]:
    return [
        {"image_id": index, "annotations": [{"bbox": [2, 3, image.width / 2, image.height / 3], "category_id": 1 + index, "area": 50.0, "iscrowd": 0}]}
        for index, image in enumerate(images)
    ]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", [{}, {"do_normalize": False, "do_convert_annotations": False}, {"size": {"height": 160, "width": 200}, "resample": 3}, {"rescale_factor": 0.5 / 255}], ids=["default", "no-normalize", "height-width-bicubic", "rescale-factor"])
def test_mixed_size_batch_with_annotations(backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    expected = transformers.RfDetrImageProcessor(**SMALL)(images, annotations=_annotations(images), return_tensors="pt", **call)
    got = pixelprep.RfDetrImageProcessor(backend=backend, **SMALL)(images, annotations=_annotations(images), return_tensors="pt", **call)
    assert set(got) == set(expected)
    for key in expected:
        if key == "labels":
            for mine, theirs in zip(got[key], expected[key]):
                assert set(mine) == set(theirs)
                for name in theirs:
                    compare(mine[name], to_numpy(theirs[name]), atol=ATOL, what=f"RF-DETR [{backend}] labels {name}")
        else:
            compare(got[key], to_numpy(expected[key]), atol=ATOL, what=f"RF-DETR [{backend}] {call} {key}")


def _outputs(seed: int) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(seed)
    return SimpleNamespace(
        logits=torch.randn(2, 30, 4, generator=generator),
        pred_boxes=torch.rand(2, 30, 4, generator=generator),
        pred_masks=torch.randn(2, 30, 24, 32, generator=generator) * 3,
    )


@pytest.mark.parametrize("kwargs", [{}, {"target_sizes": [(100, 120), (50, 40)], "threshold": 0.3}, {"top_k": 10, "threshold": 0.1, "target_sizes": torch.tensor([[100, 120], [50, 40]])}], ids=["default", "targets", "top-k-tensor"])
def test_object_detection_matches(kwargs: dict) -> None:
    expected = transformers.RfDetrImageProcessor().post_process_object_detection(_outputs(1), **kwargs)
    got = pixelprep.RfDetrImageProcessor().post_process_object_detection(_outputs(1), **kwargs)
    assert sum(len(r["scores"]) for r in expected) > 0
    for mine, theirs in zip(got, expected):
        for key in theirs:
            assert mine[key].shape == theirs[key].shape
            torch.testing.assert_close(mine[key], theirs[key], rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"target_sizes": [(100, 120), (50, 40)], "threshold": 0.3}, {"return_binary_maps": True, "threshold": 0.3}, {"return_coco_annotation": True, "threshold": 0.3, "mask_threshold": 0.5}, {"threshold": 0.99}],
    ids=["default", "targets", "binary-maps", "rle", "nothing-kept"],
)
def test_instance_segmentation_matches(kwargs: dict) -> None:
    expected = transformers.RfDetrImageProcessor().post_process_instance_segmentation(_outputs(2), **kwargs)
    got = pixelprep.RfDetrImageProcessor().post_process_instance_segmentation(_outputs(2), **kwargs)
    for mine, theirs in zip(got, expected):
        assert mine["segments_info"] == theirs["segments_info"]
        if isinstance(theirs["segmentation"], list):
            assert mine["segmentation"] == theirs["segmentation"]
        else:
            assert mine["segmentation"].dtype == theirs["segmentation"].dtype and torch.equal(mine["segmentation"], theirs["segmentation"])


def test_bad_inputs_are_our_errors() -> None:
    processor = pixelprep.RfDetrImageProcessor()
    with pytest.raises(InvalidArgumentError, match="coco_detection"):
        processor(np.zeros((20, 30, 3), np.uint8), annotations={"image_id": 0, "segments_info": [], "file_name": "x.png"}, format="coco_panoptic")
    with pytest.raises(InvalidArgumentError, match="cannot both"):
        processor.post_process_instance_segmentation(_outputs(1), return_coco_annotation=True, return_binary_maps=True)
    with pytest.raises(InvalidArgumentError, match="target sizes"):
        processor.post_process_instance_segmentation(_outputs(1), target_sizes=[(4, 4)])


def test_resolves_by_name_and_model_type() -> None:
    for config in ({"image_processor_type": "RfDetrImageProcessor"}, {"image_processor_type": "RfDetrImageProcessorFast"}, {"model_type": "rf_detr"}):
        assert family_for_config(config) is pixelprep.RfDetrImageProcessor, config
    assert family_for_config({"image_processor_type": "DetrImageProcessor"}) is pixelprep.DetrImageProcessor


def test_runner_rows_equal_each_image_alone(tmp_path, fixture_path) -> None:
    processor = pixelprep.RfDetrImageProcessor(backend="pil", size={"shortest_edge": 48, "longest_edge": 80})
    inputs = [str(fixture_path(name)) for name in BATCH]
    run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=2, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    for entry, path in zip(entries, inputs):
        alone = processor(path, return_tensors="np")
        row = read_row(tmp_path, entry)
        for key in ("pixel_values", "pixel_mask"):
            np.testing.assert_array_equal(row[key], alone[key][0])
