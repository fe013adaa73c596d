"""Parity of the segmentation and depth families with transformers' class of the same backend.

Pixel values on several fixture photos, ``labels`` from seeded random segmentation maps, and every
post-processing method on seeded random model outputs. Both sides are built from the same config.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from pixelprep.auto import family_for_config
from pixelprep.models.beit import BeitImageProcessor
from pixelprep.models.dpt import DPTImageProcessor
from pixelprep.models.maskformer import Mask2FormerImageProcessor, MaskFormerImageProcessor
from pixelprep.models.mobilenet_v2 import MobileNetV2ImageProcessor
from pixelprep.models.segformer import SegformerImageProcessor

BACKENDS = ("torchvision", "pil")
PHOTOS = ("photo_rgb_333x517.jpg", "photo_rgb_640x427.jpg", "photo_rgb_301x200.png", "tall_rgb_90x1200.jpg")
OURS = {
    "Segformer": SegformerImageProcessor,
    "Beit": BeitImageProcessor,
    "MobileNetV2": MobileNetV2ImageProcessor,
    "DPT": DPTImageProcessor,
}
CASES = [
    ("Segformer", {}),
    ("Segformer", {"do_reduce_labels": True, "size": {"height": 256, "width": 320}}),
    ("Beit", {}),
    ("Beit", {"do_center_crop": True, "size": 256, "do_reduce_labels": True}),
    ("MobileNetV2", {}),
    ("MobileNetV2", {"do_reduce_labels": True, "size": {"shortest_edge": 300}, "crop_size": 256}),
    ("DPT", {}),
    ("DPT", {"do_reduce_labels": True, "keep_aspect_ratio": True, "ensure_multiple_of": 14, "size": 518}),
    ("DPT", {"keep_aspect_ratio": True, "ensure_multiple_of": 32, "do_pad": True, "size_divisor": 64}),
]


def _theirs(family: str, backend: str, config: dict[str, Any]) -> Any:
    return getattr(transformers, f"{family}ImageProcessor{'Pil' if backend == 'pil' else ''}")(**config)


def _label_map(height: int, width: int, dtype: Any, seed: int) -> np.ndarray:
    """Seeded random labels including 0 (background) and 255 (ignored), so label reduction has work to do."""
    labels = np.random.default_rng(seed).integers(0, 30, (height, width))
    labels[labels == 29] = 255
    return labels.astype(dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("family", "config"), CASES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(CASES)])
def test_pixels_and_labels_match_transformers(family: str, config: dict, backend: str, load_image, fixture_path, compare, to_numpy) -> None:
    ours = OURS[family].from_dict(config, backend=backend)
    theirs = _theirs(family, backend, config)
    for index, name in enumerate(PHOTOS):
        image = load_image(fixture_path(name))
        # uint8 maps (PNG label files) and int64 maps (arrays) take different paths through some backends
        label_map = _label_map(image.height, image.width, np.uint8 if index % 2 == 0 else np.int64, seed=index)
        expected = theirs(image, segmentation_maps=label_map, return_tensors="np")
        got = ours(image, segmentation_maps=label_map, return_tensors="np")
        compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=1e-4, what=f"{family} [{backend}] {name}")
        assert got["labels"].dtype == np.int64
        np.testing.assert_array_equal(got["labels"], to_numpy(expected["labels"]), err_msg=f"{family} [{backend}] {name} labels")


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_of_maps_as_torch_tensors(backend: str, load_image, fixture_path) -> None:
    images = [load_image(fixture_path(name)) for name in PHOTOS[:2]]
    maps = [torch.from_numpy(_label_map(i.height, i.width, np.int64, seed=7 + n)) for n, i in enumerate(images)]
    config = {"do_reduce_labels": True}
    expected = _theirs("Segformer", backend, config)(images, segmentation_maps=maps, return_tensors="pt")
    got = SegformerImageProcessor.from_dict(config, backend=backend)(images, segmentation_maps=maps, return_tensors="pt")
    assert isinstance(got["labels"], torch.Tensor) and got["labels"].shape == (2, 512, 512)
    assert torch.equal(got["labels"], expected["labels"])


def test_reduce_labels_rule() -> None:
    from pixelprep.segmentation import reduce_labels

    np.testing.assert_array_equal(reduce_labels(np.array([0, 1, 2, 254, 255, 256])), [255, 0, 1, 253, 255, 255])


def test_maps_must_match_images(load_image, fixture_path) -> None:
    image = load_image(fixture_path(PHOTOS[0]))
    with pytest.raises(pixelprep.InvalidArgumentError):
        SegformerImageProcessor()([image, image], segmentation_maps=[_label_map(image.height, image.width, np.uint8, 0)])


def test_auto_resolves_the_families() -> None:
    for name, family in [("SegformerImageProcessor", SegformerImageProcessor), ("BeitImageProcessorPil", BeitImageProcessor),
                         ("MobileNetV2ImageProcessor", MobileNetV2ImageProcessor), ("DPTImageProcessor", DPTImageProcessor)]:
        assert family_for_config({"image_processor_type": name}) is family
    for model_type, family in [("upernet", SegformerImageProcessor), ("data2vec-vision", BeitImageProcessor), ("depth_anything", DPTImageProcessor)]:
        assert family_for_config({}, model_config={"model_type": model_type}) is family


# ---------------------------------------------------------------------------------- post-processing

SEMANTIC_FAMILIES = ("Segformer", "Beit", "MobileNetV2", "DPT")


@pytest.mark.parametrize("family", SEMANTIC_FAMILIES)
@pytest.mark.parametrize("target_sizes", [None, [(60, 45), (33, 70)], "tensor"])
@pytest.mark.parametrize("scores", [False, True])
def test_semantic_post_processing(family: str, target_sizes: Any, scores: bool) -> None:
    logits = torch.from_numpy(np.random.default_rng(3).standard_normal((2, 7, 24, 32)).astype(np.float32))
    reference_sizes = target_sizes
    if target_sizes == "tensor":
        # a tensor of sizes is documented, but SegFormer's and DPT's methods crash on it: the reference gets a list
        target_sizes = torch.tensor([(50, 41), (24, 32)])
        reference_sizes = target_sizes.tolist()
    expected = _theirs(family, "torchvision", {}).post_process_semantic_segmentation(
        SimpleNamespace(logits=logits), target_sizes=reference_sizes, return_segmentation_scores=scores
    )
    ours = OURS[family]()
    for outputs in (SimpleNamespace(logits=logits), {"logits": logits}, logits):
        got = ours.post_process_semantic_segmentation(outputs, target_sizes=target_sizes, return_segmentation_scores=scores)
        assert len(got) == len(expected)
        for mine, theirs in zip(got, expected):
            if scores:
                assert torch.equal(mine.segmentation, theirs.segmentation)
                assert torch.equal(mine["segmentation_scores"], theirs.segmentation_scores)
            else:
                assert torch.equal(mine, theirs)


def test_semantic_post_processing_numpy_in_numpy_out() -> None:
    logits = np.random.default_rng(4).standard_normal((1, 5, 10, 12)).astype(np.float32)
    got = SegformerImageProcessor().post_process_semantic_segmentation({"logits": logits}, target_sizes=[(20, 24)])
    expected = transformers.SegformerImageProcessor().post_process_semantic_segmentation(
        SimpleNamespace(logits=torch.from_numpy(logits)), target_sizes=[(20, 24)]
    )
    assert isinstance(got[0], np.ndarray)
    np.testing.assert_array_equal(got[0], expected[0].numpy())


@pytest.mark.parametrize("target_sizes", [None, [(60, 45), (24, 33)], torch.tensor([(17, 90), (48, 64)])])
def test_depth_post_processing(target_sizes: Any) -> None:
    depth = torch.from_numpy(np.random.default_rng(5).standard_normal((2, 24, 32)).astype(np.float32))
    # a tensor of sizes is documented, but transformers' method crashes on it: the reference gets a list
    reference_sizes = target_sizes.tolist() if isinstance(target_sizes, torch.Tensor) else target_sizes
    expected = transformers.DPTImageProcessor().post_process_depth_estimation(SimpleNamespace(predicted_depth=depth), target_sizes=reference_sizes)
    got = DPTImageProcessor().post_process_depth_estimation({"predicted_depth": depth}, target_sizes=target_sizes)
    assert [set(item) for item in got] == [{"predicted_depth"}] * 2
    for mine, theirs in zip(got, expected):
        assert torch.equal(mine["predicted_depth"], theirs["predicted_depth"])


def test_dpt_describes_centre_padding() -> None:
    lines = DPTImageProcessor(do_pad=True, size_divisor=32, keep_aspect_ratio=True, ensure_multiple_of=14).describe_pipeline()
    assert lines[0] == "convert to RGB"  # implied by the 3-value mean (README, deliberate differences)
    assert lines[1].startswith("resize towards 384x384, keeping the aspect ratio, sides multiples of 14")
    assert lines[-1] == "pad each side evenly to a multiple of 32"
    assert not any("bottom/right" in line for line in lines)


# ------------------------------------------------------------------------------ MaskFormer / Mask2Former

UNIVERSAL = {"MaskFormer": MaskFormerImageProcessor, "Mask2Former": Mask2FormerImageProcessor}
# the two families share their preprocessing (here and in transformers): MaskFormer takes the variations
UNIVERSAL_CASES = [
    # transformers' pil backend cannot pad masks without an ignore_index, so every case names one
    ("Mask2Former", {"ignore_index": 255}, {}, "pt"),
    ("MaskFormer", {"ignore_index": 255}, {}, "np"),
    ("MaskFormer", {"do_reduce_labels": True, "ignore_index": 255, "size": {"shortest_edge": 384, "longest_edge": 600}}, {}, "pt"),
    ("MaskFormer", {"ignore_index": 0, "size_divisor": 64, "size": {"shortest_edge": 320, "longest_edge": 640}},
     {"instance_id_to_semantic_id": {i: 10 + i for i in (*range(30), 255)}}, "pt"),
    ("MaskFormer", {"ignore_index": 255, "size": {"height": 300, "width": 200}, "pad_size": {"height": 320, "width": 256}}, {}, "np"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("family", "config", "call", "return_tensors"), UNIVERSAL_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(UNIVERSAL_CASES)])
def test_universal_preprocessing(family: str, backend: str, config: dict, call: dict, return_tensors: str, load_image, fixture_path, compare, to_numpy) -> None:
    images = [load_image(fixture_path(name)) for name in PHOTOS[:3]]
    maps = [_label_map(image.height, image.width, np.uint8, seed=20 + n) for n, image in enumerate(images)]
    expected = _theirs(family, backend, config)(images, segmentation_maps=maps, return_tensors=return_tensors, **call)
    got = UNIVERSAL[family].from_dict(config, backend=backend)(images, segmentation_maps=maps, return_tensors=return_tensors, **call)
    assert sorted(got) == sorted(expected)
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=1e-4, what=f"{family} [{backend}]")
    np.testing.assert_array_equal(to_numpy(got["pixel_mask"]), to_numpy(expected["pixel_mask"]))
    for key in ("mask_labels", "class_labels"):
        assert len(got[key]) == len(expected[key])
        for mine, theirs in zip(got[key], expected[key]):
            assert type(mine) is type(theirs) and mine.dtype == theirs.dtype, key
            np.testing.assert_array_equal(to_numpy(mine), to_numpy(theirs), err_msg=key)


def _query_outputs(seed: int) -> SimpleNamespace:
    """Seeded random outputs with blobby masks and confident classes, so every method finds segments."""
    rng = np.random.default_rng(seed)
    # each query is confident about one class (some about the null class 5) and owns random cells of a coarse grid
    classes = rng.standard_normal((2, 12, 6)) + 6 * np.eye(6)[rng.integers(0, 6, (2, 12))]
    owner = rng.integers(0, 12, (2, 1, 4, 5))
    coarse = np.where(owner == np.arange(12)[None, :, None, None], 6.0, -6.0) + rng.standard_normal((2, 12, 4, 5))
    classes = torch.from_numpy(classes.astype(np.float32))
    masks = torch.nn.functional.interpolate(torch.from_numpy(coarse.astype(np.float32)), size=(24, 30), mode="bilinear", align_corners=False)
    return SimpleNamespace(class_queries_logits=classes, masks_queries_logits=masks)


def _assert_same_results(got: list[dict], expected: list[dict]) -> None:
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected):
        assert mine["segments_info"] == theirs["segments_info"]
        if isinstance(theirs["segmentation"], list):
            assert mine["segmentation"] == theirs["segmentation"]
        else:
            assert mine["segmentation"].dtype == theirs["segmentation"].dtype
            assert torch.equal(mine["segmentation"], theirs["segmentation"])


@pytest.mark.parametrize("family", sorted(UNIVERSAL))
@pytest.mark.parametrize("target_sizes", [None, [(50, 61), (31, 40)]])
def test_universal_semantic_post_processing(family: str, target_sizes: Any) -> None:
    outputs = _query_outputs(1)
    expected = _theirs(family, "torchvision", {}).post_process_semantic_segmentation(outputs, target_sizes=target_sizes, return_segmentation_scores=True)
    got = UNIVERSAL[family]().post_process_semantic_segmentation(vars(outputs), target_sizes=target_sizes, return_segmentation_scores=True)
    for mine, theirs in zip(got, expected):
        assert torch.equal(mine.segmentation, theirs.segmentation)
        torch.testing.assert_close(mine.segmentation_scores, theirs.segmentation_scores, rtol=0, atol=1e-6)


@pytest.mark.parametrize("family", sorted(UNIVERSAL))
@pytest.mark.parametrize("target_sizes", [None, [(50, 61), (31, 40)]])
@pytest.mark.parametrize("mode", ["map", "coco", "binary"])
def test_universal_instance_post_processing(family: str, target_sizes: Any, mode: str) -> None:
    outputs = _query_outputs(2)
    kwargs = {"threshold": 0.3, "target_sizes": target_sizes, "return_coco_annotation": mode == "coco", "return_binary_maps": mode == "binary"}
    expected = _theirs(family, "torchvision", {}).post_process_instance_segmentation(outputs, **kwargs)
    got = UNIVERSAL[family]().post_process_instance_segmentation(outputs, **kwargs)
    assert any(item["segments_info"] for item in expected)
    _assert_same_results(got, expected)


@pytest.mark.parametrize("family", sorted(UNIVERSAL))
@pytest.mark.parametrize("target_sizes", [None, [(50, 61), (31, 40)]])
@pytest.mark.parametrize(("fuse", "overlap"), [(None, 0.8), ({1, 3}, 0.5)])
def test_universal_panoptic_post_processing(family: str, target_sizes: Any, fuse: Any, overlap: float) -> None:
    outputs = _query_outputs(3)
    kwargs = {"threshold": 0.6, "overlap_mask_area_threshold": overlap, "label_ids_to_fuse": fuse, "target_sizes": target_sizes}
    expected = _theirs(family, "torchvision", {}).post_process_panoptic_segmentation(outputs, **kwargs)
    got = UNIVERSAL[family]().post_process_panoptic_segmentation({"class_queries_logits": outputs.class_queries_logits, "masks_queries_logits": outputs.masks_queries_logits}, **kwargs)
    assert any(item["segments_info"] for item in expected)
    _assert_same_results(got, expected)


@pytest.mark.parametrize("family", sorted(UNIVERSAL))
def test_universal_panoptic_without_segments(family: str) -> None:
    outputs = _query_outputs(4)
    expected = _theirs(family, "torchvision", {}).post_process_panoptic_segmentation(outputs, threshold=1.0, target_sizes=[(9, 7), (5, 6)])
    _assert_same_results(UNIVERSAL[family]().post_process_panoptic_segmentation(outputs, threshold=1.0, target_sizes=[(9, 7), (5, 6)]), expected)


@pytest.mark.parametrize("family", sorted(UNIVERSAL))
def test_universal_maps_and_mappings_must_match_images(family: str, load_image, fixture_path) -> None:
    """One map and one instance mapping per image (a short list was an IndexError from inside, a long one ignored)."""
    image = load_image(fixture_path(PHOTOS[0]))
    label_map = _label_map(image.height, image.width, np.uint8, 0)
    processor = UNIVERSAL[family](ignore_index=255)
    with pytest.raises(pixelprep.InvalidArgumentError, match="got 1 segmentation maps for 2 images"):
        processor([image, image], segmentation_maps=[label_map])
    for mappings in ([{}], [{}, {}, {}]):
        with pytest.raises(pixelprep.InvalidArgumentError, match=f"instance_id_to_semantic_id has {len(mappings)} mappings for 2 images"):
            processor([image, image], segmentation_maps=[label_map, label_map], instance_id_to_semantic_id=mappings)


def test_multiple_of_size_matches_dpt_rule() -> None:
    from transformers.models.dpt.image_processing_dpt import get_resize_output_image_size

    from pixelprep import geometry

    for height, width in [(517, 333), (427, 640), (90, 1200), (1, 1), (384, 384), (255, 257)]:
        for keep in (False, True):
            for multiple in (1, 14, 32):
                for target in [(384, 384), (518, 518), (480, 640)]:
                    expected = get_resize_output_image_size(torch.zeros(3, height, width), target, keep, multiple)
                    assert geometry.multiple_of_size(height, width, *target, keep, multiple) == (expected.height, expected.width)


def test_universal_describes_its_resize() -> None:
    lines = MaskFormerImageProcessor().describe_pipeline()
    assert lines[0] == "convert to RGB"
    assert lines[1] == "resize shortest edge 800, longest edge at most 1333 bilinear, sides rounded up to multiples of 32"
    assert lines[-1] == "pad bottom/right to the largest image in the batch, with a pixel mask"


def test_bad_outputs_and_parameters_raise_our_errors() -> None:
    with pytest.raises(pixelprep.InvalidArgumentError):
        SegformerImageProcessor().post_process_semantic_segmentation({"pred_masks": torch.zeros(1, 2, 3, 3)})
    with pytest.raises(pixelprep.InvalidArgumentError):
        MaskFormerImageProcessor(ignore_index="255")
    with pytest.raises(pixelprep.InvalidArgumentError):
        MaskFormerImageProcessor().post_process_instance_segmentation(_query_outputs(0), return_coco_annotation=True, return_binary_maps=True)
