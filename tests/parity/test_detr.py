"""Parity of the DETR-style families with transformers 5.23: padded batches, COCO labels, post-processing.

Both sides are built from the same config (ours with ``Family.from_dict(cfg, backend=...)``, theirs
with ``XImageProcessor(**cfg)`` / ``XImageProcessorPil(**cfg)``) and run on the same fixture photos;
post-processing runs on seeded random model outputs built so that some detections pass the threshold.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from PIL import Image

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.models import detr

BACKENDS = ("torchvision", "pil")
ATOL = 1e-4
PHOTOS = ("photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tall_rgb_90x1200.jpg", "photo_rgb_301x200.png")
SMALL = {"size": {"shortest_edge": 320, "longest_edge": 480}}  # keeps the tests fast; the rule is the same at 800/1333

FAMILY_CONFIGS = [
    ("Detr", SMALL),
    ("Detr", {"size": 288, "max_size": 400}),  # legacy int size + max_size
    ("Detr", {"size": {"height": 300, "width": 420}, "pad_size": {"height": 320, "width": 480}}),
    ("ConditionalDetr", SMALL),
    ("DeformableDetr", SMALL),
    ("GroundingDino", SMALL),
    ("Yolos", SMALL),
    ("Yolos", {"size": {"shortest_edge": 250, "longest_edge": 1333}}),
    ("RTDetr", {}),
    ("RTDetr", {"size": {"height": 320, "width": 320}, "do_normalize": True}),
]


def _theirs(family: str, config: dict[str, Any], backend: str) -> Any:
    name = f"{family}ImageProcessor" + ("Pil" if backend == "pil" else "")
    return getattr(transformers, name)(**config)


def _ours(family: str, config: dict[str, Any], backend: str) -> Any:
    return getattr(pixelprep.models, f"{family}ImageProcessor").from_dict(dict(config), backend=backend)


@pytest.fixture(scope="module")
def photos(fixture_path, load_image) -> list[Image.Image]:
    return [load_image(fixture_path(name)).convert("RGB") for name in PHOTOS]


def _assert_same(ours: Any, theirs: Any, what: str, atol: float = ATOL) -> None:
    a, b = np.asarray(torch.as_tensor(ours)), np.asarray(torch.as_tensor(theirs))
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} vs {b.dtype}"
    if a.size:
        assert np.abs(a.astype(np.float64) - b.astype(np.float64)).max() <= atol, f"{what}: values differ"


def _assert_same_labels(ours: list[Any], theirs: list[Any], what: str) -> None:
    assert len(ours) == len(theirs)
    for index, (mine, ref) in enumerate(zip(ours, theirs)):
        assert set(mine.keys()) == set(ref.keys()), f"{what} image {index}: keys {sorted(mine.keys())} vs {sorted(ref.keys())}"
        for key in ref.keys():
            # areas are hundreds to tens of thousands of pixels: compare them relatively
            atol = ATOL * max(1.0, float(torch.as_tensor(ref[key]).abs().max())) if key == "area" and len(ref[key]) else ATOL
            _assert_same(mine[key], ref[key], f"{what} image {index} {key}", atol=atol)


# ------------------------------------------------------------------------------------------ pixels


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("family", "config"), FAMILY_CONFIGS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(FAMILY_CONFIGS)])
def test_padded_batch_matches_transformers(family: str, config: dict[str, Any], backend: str, photos) -> None:
    """pixel_values and pixel_mask of one batch of differently sized photos equal transformers' same-backend class."""
    theirs = _theirs(family, config, backend)(photos, return_tensors="pt")
    ours = _ours(family, config, backend)(photos, return_tensors="pt")
    assert set(ours.keys()) == set(theirs.keys())
    _assert_same(ours["pixel_values"], theirs["pixel_values"], f"{family} pixel_values")
    if "pixel_mask" in theirs:
        _assert_same(ours["pixel_mask"], theirs["pixel_mask"], f"{family} pixel_mask")
        assert int(ours["pixel_mask"].sum()) < ours["pixel_mask"].numel(), "the batch should contain padding"


def test_table_transformer_and_legacy_names_load_detr(tmp_path) -> None:
    """table-transformer checkpoints and DETR's legacy keys load the DETR family with the same settings."""
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "table-transformer"}))
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"max_size": 1000, "size": 600, "pad_and_return_pixel_mask": False}))
    loaded = pixelprep.AutoImageProcessor.from_pretrained(tmp_path)
    assert type(loaded) is detr.DetrImageProcessor
    assert loaded.size == {"shortest_edge": 600, "longest_edge": 1000} and loaded.do_pad is False
    reference = transformers.DetrImageProcessor(max_size=1000, size=600, pad_and_return_pixel_mask=False)
    assert dict(reference.size) == loaded.size and reference.do_pad is False


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("GroundingDINOImageProcessor", "GroundingDino"),
        ("groundingdinoimageprocessorfast", "GroundingDino"),
        ("RTDETRImageProcessor", "RTDetr"),
        ("YOLOSImageProcessorPil", "Yolos"),
        ("DeformableDETRImageProcessor", "DeformableDetr"),
        ("DetrFeatureExtractor", "Detr"),
    ],
)
def test_class_names_resolve_case_insensitively(tmp_path, name: str, family: str) -> None:
    """A config naming the class in any letter case loads that family (transformers 5.23 refuses these spellings)."""
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"image_processor_type": name}))
    loaded = pixelprep.AutoImageProcessor.from_pretrained(tmp_path)
    assert type(loaded).__name__ == f"{family}ImageProcessor"


def test_yolos_size_rounds_to_multiples_of_16() -> None:
    """YOLOS cuts both sides to multiples of 16 and takes the portrait branch before the "already sized" check."""
    from transformers.models.yolos.image_processing_yolos import get_size_with_aspect_ratio_yolos

    from pixelprep.geometry import yolos_size

    for height, width in [(427, 640), (517, 333), (1200, 90), (800, 800), (800, 1200), (1200, 800), (801, 799), (5, 7)]:
        for shortest, longest in [(800, 1333), (512, 864), (250, 300)]:
            assert yolos_size(height, width, shortest, longest) == get_size_with_aspect_ratio_yolos((height, width), shortest, longest)


# ------------------------------------------------------------------------------------- annotations


def _detection_annotations(photos: list[Image.Image], with_crowd: bool, with_polygons: bool) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    annotations = []
    for image_id, photo in enumerate(photos):
        width, height = photo.size
        objects = []
        for index in range(4):
            x, y = float(rng.uniform(0, width * 0.6)), float(rng.uniform(0, height * 0.6))
            w, h = float(rng.uniform(4, width * 0.5)), float(rng.uniform(4, height * 0.5))
            obj = {"bbox": [x, y, w, h], "category_id": int(rng.integers(1, 91)), "area": w * h * 0.7, "id": index}
            if with_crowd:
                obj["iscrowd"] = int(index == 1)
            if with_polygons:
                obj["segmentation"] = [[x, y, x + w, y, x + w * 0.6, y + h, x, y + h * 0.8]]
            objects.append(obj)
        # a box lying outside the image is clipped to nothing and dropped
        objects.append({"bbox": [width + 5.0, 2.0, 10.0, 10.0], "category_id": 5, "area": 100.0, "segmentation": [[1, 1, 2, 1, 2, 2]]})
        annotations.append({"image_id": 100 + image_id, "annotations": objects})
    return annotations


DETECTION_CASES = [
    ("Detr", SMALL, {}),
    ("Detr", SMALL, {"do_convert_annotations": False}),
    ("Detr", {**SMALL, "do_pad": True, "pad_size": {"height": 500, "width": 500}}, {}),
    ("Detr", {**SMALL, "do_resize": False}, {}),
    ("Yolos", SMALL, {}),
    ("ConditionalDetr", SMALL, {}),
    ("RTDetr", {}, {}),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("family", "config", "call"), DETECTION_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(DETECTION_CASES)])
def test_coco_detection_labels_match(family: str, config: dict[str, Any], call: dict[str, Any], backend: str, photos) -> None:
    """Every field of ``labels`` (boxes, areas, class labels, crowd flags, sizes, ids) equals transformers'."""
    photos = photos[:3]
    annotations = _detection_annotations(photos, with_crowd=True, with_polygons=False)
    theirs = _theirs(family, config, backend)(photos, annotations=annotations, return_tensors="pt", **call)
    ours = _ours(family, config, backend)(photos, annotations=annotations, return_tensors="pt", **call)
    _assert_same(ours["pixel_values"], theirs["pixel_values"], "pixel_values")
    _assert_same_labels(ours["labels"], theirs["labels"], family)
    assert len(ours["labels"][0]["boxes"]) == 3, "the crowd object and the empty box are dropped"


@pytest.mark.parametrize("backend", BACKENDS)
def test_coco_detection_segmentation_masks_match(backend: str, photos) -> None:
    """With return_segmentation_masks, polygons become masks resized and padded with the image."""
    pytest.importorskip("pycocotools", reason="transformers needs pycocotools to rasterise COCO polygons")
    photos = photos[:3]
    annotations = _detection_annotations(photos, with_crowd=False, with_polygons=True)
    theirs = _theirs("Detr", SMALL, backend)(photos, annotations=annotations, return_segmentation_masks=True, return_tensors="pt")
    ours = _ours("Detr", SMALL, backend)(photos, annotations=annotations, return_segmentation_masks=True, return_tensors="pt")
    _assert_same_labels(ours["labels"], theirs["labels"], "masks")
    assert ours["labels"][0]["masks"].shape[-2:] == ours["pixel_values"].shape[-2:]
    assert bool(ours["labels"][0]["masks"].any())


def _panoptic(tmp_path, photos: list[Image.Image]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(1)
    annotations = []
    for image_id, photo in enumerate(photos):
        width, height = photo.size
        ids = np.zeros((height, width), dtype=np.int64)
        segments = []
        for index in range(3):
            segment_id = int(rng.integers(1, 2**24 - 1))
            top, left = int(rng.integers(0, height // 2)), int(rng.integers(0, width // 2))
            ids[top : top + height // 3, left : left + width // 3] = segment_id
            segments.append({"id": segment_id, "category_id": int(rng.integers(1, 200)), "iscrowd": index % 2, "area": float(height * width // 9)})
        rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], axis=-1).astype(np.uint8)
        Image.fromarray(rgb).save(tmp_path / f"{image_id}.png")
        annotations.append({"image_id": image_id, "file_name": f"{image_id}.png", "segments_info": segments})
    return annotations


@pytest.mark.parametrize("masks", [None, False])
@pytest.mark.parametrize("backend", BACKENDS)
def test_coco_panoptic_labels_match(tmp_path, backend: str, masks: bool | None, photos) -> None:
    """Panoptic PNGs become per-segment masks, boxes, labels and areas exactly as transformers makes them."""
    photos = photos[:3]
    annotations = _panoptic(tmp_path, photos)
    kwargs = {"annotations": annotations, "masks_path": tmp_path, "format": "coco_panoptic", "return_tensors": "pt", "return_segmentation_masks": masks}
    theirs = _theirs("Detr", SMALL, backend)(photos, **kwargs)
    ours = _ours("Detr", SMALL, backend)(photos, **kwargs)
    _assert_same_labels(ours["labels"], theirs["labels"], "panoptic")
    assert ("masks" in ours["labels"][0]) is (masks is None)


def test_annotation_errors(photos) -> None:
    """Mismatched counts, missing keys and unknown formats are our errors."""
    processor = _ours("Detr", SMALL, "pil")
    with pytest.raises(InvalidArgumentError, match="annotations"):
        processor(photos[:2], annotations=[{"image_id": 1, "annotations": []}])
    with pytest.raises(InvalidArgumentError, match="image_id"):
        processor(photos[:1], annotations=[{"annotations": []}])
    with pytest.raises(InvalidArgumentError, match="format"):
        processor(photos[:1], annotations=[{"image_id": 1, "annotations": []}], format="pascal_voc")
    with pytest.raises(InvalidArgumentError, match="masks_path"):
        processor(photos[:1], annotations=[{"image_id": 1, "file_name": "x.png", "segments_info": []}], format="coco_panoptic")


# --------------------------------------------------------------------------------- post-processing


def _detection_outputs(seed: int, classes: int, queries: int = 30, batch: int = 2) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, queries, classes, generator=generator) * 3
    boxes = torch.rand(batch, queries, 4, generator=generator) * 0.5 + 0.2
    return SimpleNamespace(logits=logits, pred_boxes=boxes)


def _assert_same_detections(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    assert len(ours) == len(theirs)
    assert sum(len(r["scores"]) for r in theirs) > 0, "the outputs should produce detections"
    for mine, ref in zip(ours, theirs):
        assert set(mine) == {"scores", "labels", "boxes"}
        for key in ("scores", "labels", "boxes"):
            _assert_same(mine[key], ref[key], key)


TARGETS = [None, [(480, 640), (333, 517)], torch.tensor([[480, 640], [333, 517]])]
DETECTION_POSTPROCESS = [
    ("Detr", {"threshold": 0.5}),
    ("Yolos", {"threshold": 0.3}),
    ("ConditionalDetr", {"threshold": 0.5, "top_k": 20}),
    ("DeformableDetr", {"threshold": 0.4}),
    ("GroundingDino", {"threshold": 0.3}),
    ("RTDetr", {"threshold": 0.5}),
]


@pytest.mark.parametrize("target_index", range(len(TARGETS)))
@pytest.mark.parametrize(("family", "kwargs"), DETECTION_POSTPROCESS, ids=[c[0] for c in DETECTION_POSTPROCESS])
def test_post_process_object_detection_matches(family: str, kwargs: dict[str, Any], target_index: int) -> None:
    """Same scores, labels and boxes, in the same order, for every detection family and target_sizes form."""
    outputs = _detection_outputs(7, classes=12)
    target_sizes = TARGETS[target_index]
    theirs = _theirs(family, {}, "torchvision").post_process_object_detection(outputs, target_sizes=target_sizes, **kwargs)
    ours = _ours(family, {}, "pil").post_process_object_detection(outputs, target_sizes=target_sizes, **kwargs)
    _assert_same_detections(ours, theirs)


def test_post_process_accepts_dicts_tuples_and_numpy() -> None:
    """A dict or a (logits, boxes) tuple gives the same result; NumPy in gives NumPy out."""
    outputs = _detection_outputs(3, classes=8)
    processor = _ours("Detr", {}, "pil")
    expected = processor.post_process_object_detection(outputs, threshold=0.4)
    as_dict = processor.post_process_object_detection({"logits": outputs.logits, "pred_boxes": outputs.pred_boxes}, threshold=0.4)
    as_tuple = processor.post_process_object_detection((outputs.logits, outputs.pred_boxes), threshold=0.4)
    as_numpy = processor.post_process_object_detection({"logits": outputs.logits.numpy(), "pred_boxes": outputs.pred_boxes.numpy()}, threshold=0.4)
    for other in (as_dict, as_tuple):
        _assert_same_detections(other, expected)
    assert isinstance(as_numpy[0]["boxes"], np.ndarray)
    _assert_same_detections([{k: torch.from_numpy(v) for k, v in r.items()} for r in as_numpy], expected)
    with pytest.raises(InvalidArgumentError, match="target sizes"):
        processor.post_process_object_detection(outputs, target_sizes=[(10, 10)])
    with pytest.raises(InvalidArgumentError, match="pred_boxes"):
        processor.post_process_object_detection(SimpleNamespace(logits=outputs.logits))


def test_rt_detr_softmax_scores_classes() -> None:
    """Without focal loss, RT-DETR scores each query by softmax over its classes, the last dropped.

    transformers 5.23 calls softmax without a dim, which normalises over the batch for 3-D logits; we
    follow DETR's definition instead, so the reference here is DETR's own post-processing.
    """
    outputs = _detection_outputs(5, classes=6)
    ours = _ours("RTDetr", {}, "pil").post_process_object_detection(outputs, threshold=0.4, use_focal_loss=False)
    reference = transformers.DetrImageProcessor().post_process_object_detection(outputs, threshold=0.4)
    _assert_same_detections(ours, reference)


def _segmentation_outputs(seed: int, classes: int = 6, queries: int = 12, batch: int = 2, size: int = 24) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, queries, classes + 1, generator=generator) * 4
    # confident queries: a few get a clear class so they pass the threshold
    logits[:, : queries // 2, 0:classes] += torch.eye(classes)[torch.randint(0, classes, (queries // 2,), generator=generator)] * 8
    # each query's mask logits are high on one random rectangle, so segments are coherent regions
    masks = torch.randn(batch, queries, size, size, generator=generator) - 6
    corners = torch.randint(0, size // 2, (batch, queries, 2), generator=generator)
    for b in range(batch):
        for q in range(queries):
            top, left = corners[b, q].tolist()
            masks[b, q, top : top + size // 2, left : left + size // 2] += 12
    return SimpleNamespace(logits=logits, pred_masks=masks, pred_boxes=torch.rand(batch, queries, 4, generator=generator))


def _assert_same_segments(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    assert len(ours) == len(theirs)
    assert any(r["segments_info"] for r in theirs), "the outputs should produce segments"
    for mine, ref in zip(ours, theirs):
        _assert_same(mine["segmentation"], ref["segmentation"], "segmentation")
        assert mine["segments_info"] == ref["segments_info"]


@pytest.mark.parametrize("target_sizes", [None, [(40, 30), (17, 50)]])
def test_post_process_segmentation_matches(target_sizes: Any) -> None:
    """Semantic (with and without scores), instance and panoptic (with fusing) results equal transformers'."""
    outputs = _segmentation_outputs(11)
    theirs, ours = transformers.DetrImageProcessor(), _ours("Detr", {}, "pil")
    for got, expected in zip(
        ours.post_process_semantic_segmentation(outputs, target_sizes=target_sizes),
        theirs.post_process_semantic_segmentation(outputs, target_sizes=target_sizes),
    ):
        _assert_same(got, expected, "semantic")
    for got, expected in zip(
        ours.post_process_semantic_segmentation(outputs, target_sizes=target_sizes, return_segmentation_scores=True),
        theirs.post_process_semantic_segmentation(outputs, target_sizes=target_sizes, return_segmentation_scores=True),
    ):
        _assert_same(got.segmentation, expected.segmentation, "semantic")
        _assert_same(got["segmentation_scores"], expected.segmentation_scores, "semantic scores")
    _assert_same_segments(
        ours.post_process_instance_segmentation(outputs, threshold=0.6, overlap_mask_area_threshold=0.5, target_sizes=target_sizes),
        theirs.post_process_instance_segmentation(outputs, threshold=0.6, overlap_mask_area_threshold=0.5, target_sizes=target_sizes),
    )
    ours_rle = ours.post_process_instance_segmentation(outputs, threshold=0.6, target_sizes=target_sizes, return_coco_annotation=True)
    theirs_rle = theirs.post_process_instance_segmentation(outputs, threshold=0.6, target_sizes=target_sizes, return_coco_annotation=True)
    assert [[list(map(int, rle)) for rle in r["segmentation"]] for r in ours_rle] == [
        [list(map(int, rle)) for rle in r["segmentation"]] for r in theirs_rle
    ]
    fuse = {0, 1, 2}
    _assert_same_segments(
        ours.post_process_panoptic_segmentation(outputs, threshold=0.6, overlap_mask_area_threshold=0.5, label_ids_to_fuse=fuse, target_sizes=target_sizes),
        theirs.post_process_panoptic_segmentation(outputs, threshold=0.6, overlap_mask_area_threshold=0.5, label_ids_to_fuse=fuse, target_sizes=target_sizes),
    )


def test_post_process_segmentation_without_detections() -> None:
    """When nothing passes the threshold, the map is all -1 and there are no segments, as in transformers."""
    outputs = _segmentation_outputs(2)
    theirs = transformers.DetrImageProcessor().post_process_panoptic_segmentation(outputs, threshold=0.9999, target_sizes=[(9, 8), (9, 8)])
    ours = _ours("Detr", {}, "pil").post_process_panoptic_segmentation(outputs, threshold=0.9999, target_sizes=[(9, 8), (9, 8)])
    for mine, ref in zip(ours, theirs):
        _assert_same(mine["segmentation"], ref["segmentation"], "empty")
        assert mine["segments_info"] == ref["segments_info"] == []


def test_grounded_object_detection_matches_grounding_dino_processor(tmp_path) -> None:
    """Scores, boxes and decoded phrases equal transformers' GroundingDinoProcessor (a local word-piece tokenizer)."""
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "a", "cat", "remote", "control", "dog", "on", "the", "couch"]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
    tokenizer = transformers.BertTokenizer(str(tmp_path / "vocab.txt"))
    reference = transformers.GroundingDinoProcessor(image_processor=transformers.GroundingDinoImageProcessor(), tokenizer=tokenizer)
    input_ids = tokenizer(["a cat. a remote control.", "a dog on the couch."], padding=True, return_tensors="pt")["input_ids"]
    generator = torch.Generator().manual_seed(4)
    logits = torch.full((2, 25, 256), -float("inf"))
    logits[:, :, : input_ids.shape[1]] = torch.randn(2, 25, input_ids.shape[1], generator=generator) * 2
    outputs = SimpleNamespace(logits=logits, pred_boxes=torch.rand(2, 25, 4, generator=generator) * 0.5 + 0.2, input_ids=input_ids)
    for target_sizes in (None, [(480, 640), (300, 200)]):
        theirs = reference.post_process_grounded_object_detection(outputs, threshold=0.6, text_threshold=0.5, target_sizes=target_sizes)
        ours = _ours("GroundingDino", {}, "pil").post_process_grounded_object_detection(
            outputs, threshold=0.6, text_threshold=0.5, target_sizes=target_sizes, tokenizer=tokenizer
        )
        assert sum(len(r["scores"]) for r in theirs) > 0
        for mine, ref in zip(ours, theirs):
            _assert_same(mine["scores"], ref["scores"], "scores")
            _assert_same(mine["boxes"], ref["boxes"], "boxes")
            assert mine["text_labels"] == ref["text_labels"] and mine["labels"] == ref["text_labels"]
            assert any(mine["text_labels"]), "some boxes should name a phrase"
            assert len(mine["token_ids"]) == len(mine["scores"])


def test_channels_last_and_numpy_segmentation(photos) -> None:
    """Labels do not depend on the output layout; NumPy model outputs give NumPy segmentation maps."""
    annotations = _detection_annotations(photos[:2], with_crowd=False, with_polygons=False)
    processor = _ours("Detr", SMALL, "pil")
    first = processor(photos[:2], annotations=annotations, return_tensors="np")
    last = processor(photos[:2], annotations=annotations, return_tensors="np", data_format="channels_last")
    assert last["pixel_values"].shape[-1] == 3
    _assert_same_labels(last["labels"], first["labels"], "channels_last")
    outputs = _segmentation_outputs(11)
    as_numpy = {"logits": outputs.logits.numpy(), "pred_masks": outputs.pred_masks.numpy()}
    maps = processor.post_process_panoptic_segmentation(as_numpy, threshold=0.6, overlap_mask_area_threshold=0.5)
    expected = processor.post_process_panoptic_segmentation(outputs, threshold=0.6, overlap_mask_area_threshold=0.5)
    assert isinstance(maps[0]["segmentation"], np.ndarray)
    _assert_same(maps[0]["segmentation"], expected[0]["segmentation"], "numpy")
