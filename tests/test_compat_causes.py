"""Where pixelprep's classes behaved differently from transformers' class of the same name (issue 14), each pinned here.

Every expectation is transformers' own behaviour, computed in the same run.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from pixelprep import ArgumentTypeError, BatchFeature, InvalidArgumentError, InvalidImageError

DETR_FAMILIES = ("Detr", "ConditionalDetr", "DeformableDetr", "Yolos", "GroundingDino")
BACKENDS = ("torchvision", "pil")


def _classes(family: str, backend: str) -> tuple[type, type]:
    suffix = "Pil" if backend == "pil" else ""
    return getattr(pixelprep, f"{family}ImageProcessor"), getattr(transformers, f"{family}ImageProcessor{suffix}")


# 1. an int size override keeps DETR's longest edge ---------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", DETR_FAMILIES)
def test_int_size_override_keeps_the_longest_edge(family: str, backend: str, tmp_path) -> None:
    ours_class, theirs_class = _classes(family, backend)
    wide = np.full((30, 1050, 3), 128, np.uint8)  # 35:1, so the longest edge decides (and YOLOS keeps 16 rows at 600)
    for config in ({}, {"max_size": 600}, {"size": {"shortest_edge": 800, "longest_edge": 1000}}):
        ours = ours_class.from_dict(dict(config), size=42, backend=backend)
        theirs = theirs_class.from_dict(dict(config), size=42)
        assert ours.size == {k: v for k, v in dict(theirs.size).items() if v is not None}, config
        ours_shape = tuple(ours(wide, return_tensors="pt")["pixel_values"].shape)
        assert ours_shape == tuple(theirs(wide, return_tensors="pt")["pixel_values"].shape), config
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"image_processor_type": f"{family}ImageProcessor"}))
    loaded = ours_class.from_pretrained(tmp_path, size=42)
    assert loaded.size == {"shortest_edge": 42, "longest_edge": 1333}


@pytest.mark.parametrize("family", DETR_FAMILIES)
def test_call_time_shortest_edge_alone_is_refused_like_transformers(family: str) -> None:
    ours_class, theirs_class = _classes(family, "torchvision")
    image = np.zeros((10, 1000, 3), np.uint8)
    with pytest.raises(ValueError):
        theirs_class()(image, size=42)
    with pytest.raises(InvalidArgumentError, match="shortest_edge.*longest_edge"):
        ours_class()(image, size=42)


# 2. Conditional DETR's semantic maps keep every class ------------------------------------------------------------


@pytest.mark.parametrize(("family", "classes_out"), [("ConditionalDetr", 6), ("Detr", 5)])
def test_semantic_segmentation_class_columns(family: str, classes_out: int) -> None:
    ours_class, theirs_class = _classes(family, "torchvision")
    generator = torch.Generator().manual_seed(0)
    outputs = SimpleNamespace(logits=torch.randn(2, 7, 6, generator=generator), pred_masks=torch.randn(2, 7, 12, 16, generator=generator))
    ours = ours_class().post_process_semantic_segmentation(outputs, target_sizes=[(24, 30), (12, 16)], return_segmentation_scores=True)
    theirs = theirs_class().post_process_semantic_segmentation(outputs, target_sizes=[(24, 30), (12, 16)], return_segmentation_scores=True)
    for mine, reference in zip(ours, theirs):
        assert mine["segmentation_scores"].shape[0] == classes_out
        assert torch.equal(mine["segmentation"], reference["segmentation"])
        assert torch.allclose(mine["segmentation_scores"], reference["segmentation_scores"], atol=1e-6)


# 3. size_divisor=0 is "no divisor" for MaskFormer and Mask2Former --------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", ["MaskFormer", "Mask2Former"])
def test_size_divisor_zero_means_no_divisor(family: str, backend: str) -> None:
    ours_class, theirs_class = _classes(family, backend)
    config = {"size_divisor": 0, "size": {"shortest_edge": 33, "longest_edge": 100}}
    image = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    ours = ours_class.from_dict(config, backend=backend)
    expected = theirs_class(**config)(image, return_tensors="pt")
    got = ours(image, return_tensors="pt")
    assert got["pixel_values"].shape == expected["pixel_values"].shape == (1, 3, 33, 41)
    assert torch.allclose(got["pixel_values"], expected["pixel_values"], atol=1e-4)
    assert ours.to_dict()["size_divisor"] == 0 and ours_class.from_dict(ours.to_dict()).size_divisor == 0
    with pytest.raises(InvalidArgumentError, match="size_divisor"):
        ours_class(size_divisor=-32)


# 4. single-step methods: see tests/test_transformers_surface.py (center_crop, DPT pad_image, ...) ---------------


def test_center_crop_and_pad_image_exist() -> None:
    assert callable(pixelprep.CLIPImageProcessor().center_crop)
    assert callable(pixelprep.DPTImageProcessor().pad_image)


# 5. BatchFeature.to takes the device before the dtype --------------------------------------------------------------


def test_batch_feature_to_refuses_dtype_before_device() -> None:
    data = {"pixel_values": torch.zeros(1, 3, 2, 2), "labels": [torch.zeros(2), torch.zeros(2, dtype=torch.long)]}
    with pytest.raises(TypeError):
        transformers.BatchFeature(dict(data)).to(torch.bfloat16, "cpu")
    with pytest.raises(ArgumentTypeError, match=r"\(device, dtype\)") as info:
        BatchFeature(dict(data)).to(torch.bfloat16, "cpu")
    assert isinstance(info.value, TypeError)
    with pytest.raises(ValueError):
        transformers.BatchFeature(dict(data)).to(3.5)
    with pytest.raises(InvalidArgumentError, match="device or a torch dtype"):
        BatchFeature(dict(data)).to(3.5)
    # (device, dtype) works, and tensors inside lists (per-image labels) are cast like transformers casts them
    ours = BatchFeature(dict(data)).to("cpu", torch.bfloat16)
    theirs = transformers.BatchFeature(dict(data)).to("cpu", torch.bfloat16)
    assert ours["pixel_values"].dtype == theirs["pixel_values"].dtype == torch.bfloat16
    assert [t.dtype for t in ours["labels"]] == [t.dtype for t in theirs["labels"]] == [torch.bfloat16, torch.long]


# 6. an unknown annotation format is an error at call time, as in transformers ----------------------------------------


@pytest.mark.parametrize("family", ["Detr", "Yolos", "RTDetr"])
def test_unknown_format_fails_at_call_time(family: str) -> None:
    ours_class, theirs_class = _classes(family, "torchvision")
    image = np.zeros((20, 30, 3), np.uint8)
    theirs = theirs_class(format="coco_bogus")  # constructs ...
    with pytest.raises(ValueError):
        theirs(image)  # ... and fails when called
    ours = ours_class(format="coco_bogus")
    assert ours.to_dict()["format"] == "coco_bogus"
    with pytest.raises(InvalidArgumentError, match="format must be 'coco_detection' or 'coco_panoptic', got 'coco_bogus'"):
        ours(image)
    with pytest.raises(InvalidArgumentError, match="format"):
        ours_class()(image, format="coco_bogus")
    assert ours(image, format="coco_detection")["pixel_values"].shape[0] == 1


# 7. to_dict keeps a return_tensors given at construction ---------------------------------------------------------------


@pytest.mark.parametrize("family", ["ViT", "CLIP", "Detr"])
def test_to_dict_keeps_constructor_return_tensors(family: str, tmp_path) -> None:
    ours_class, theirs_class = _classes(family, "torchvision")
    ours = ours_class(return_tensors="pt")
    assert ours.to_dict()["return_tensors"] == theirs_class(return_tensors="pt").to_dict()["return_tensors"] == "pt"
    assert "return_tensors" not in ours_class().to_dict()
    ours.save_pretrained(tmp_path)
    reloaded = transformers.AutoImageProcessor.from_pretrained(tmp_path)
    assert reloaded.return_tensors == "pt" and ours_class.from_pretrained(tmp_path).return_tensors == "pt"


# 8. segmentation maps of an unusable layout say what was wrong --------------------------------------------------------


@pytest.mark.parametrize("family", ["Mask2Former", "MaskFormer", "Segformer"])
def test_segmentation_map_layouts(family: str) -> None:
    ours_class, theirs_class = _classes(family, "torchvision")
    config = {"size": {"shortest_edge": 32, "longest_edge": 64}} if "Former" in family else {}
    image = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    maps = np.random.default_rng(1).integers(0, 3, (2, 30, 40))
    # a stack of maps, one per image, as transformers takes it
    ours, theirs = ours_class(**config)([image, image], segmentation_maps=maps), theirs_class(**config)([image, image], segmentation_maps=maps)
    key = "mask_labels" if "Former" in family else "labels"
    for mine, reference in zip(ours[key], theirs[key]):
        assert np.array_equal(np.asarray(mine), np.asarray(reference))
    with pytest.raises(InvalidImageError) as info:
        ours_class(**config)(image, segmentation_maps=np.zeros((30, 40, 3), np.int64))
    message = str(info.value)
    assert "segmentation_maps[0]" in message and "(30, 40, 3)" in message and "(height, width)" in message
