"""EoMT against transformers 5.23's EomtImageProcessor (torchvision) and EomtImageProcessorPil, in the same process.

Every fixture image (padded to ``size``, and split into sliding-window patches), mixed-size batches with
segmentation maps and call-time options, and semantic (patches merged back), panoptic and instance
post-processing on seeded random model outputs. Tolerance 1e-5; offsets, labels, ids and segment info equal.
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
PADDED = {"size": {"shortest_edge": 112, "longest_edge": 112}, "do_pad": True}
SPLIT = {"size": {"shortest_edge": 64, "longest_edge": None}, "do_split_image": True}
BATCH = ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg")


def _theirs(backend: str, **config) -> object:
    return (transformers.EomtImageProcessorPil if backend == "pil" else transformers.EomtImageProcessor)(**config)


def _assert_outputs_equal(got, expected, to_numpy, compare, what: str) -> None:
    """Every key of transformers' output: pixel values within 1e-5, offsets and labels exactly."""
    assert set(got) == set(expected), what
    for key in expected:
        theirs, mine = to_numpy(expected[key]), to_numpy(got[key])
        theirs = list(theirs) if isinstance(theirs, np.ndarray) else theirs
        mine = list(mine) if isinstance(mine, np.ndarray) else mine
        assert len(mine) == len(theirs), f"{what} {key}: {len(mine)} items, transformers {len(theirs)}"
        for index, (a, b) in enumerate(zip(mine, theirs)):
            if key == "pixel_values":
                compare(a, b, atol=ATOL, what=f"{what} {key} {index}")
            else:
                assert a.shape == b.shape and np.array_equal(a, b), f"{what} {key} {index}"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("config", [PADDED, SPLIT], ids=["padded", "split"])
def test_every_fixture_matches(backend: str, config: dict, image_path, load_image, compare, to_eight_bit, to_numpy) -> None:
    """Every mode (EXIF, gray, RGBA, palette, CMYK, 16-bit, 1x1, 7x5, 1200x90, 1023x768): pixel values and patch offsets."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)  # README: 16-bit scaled, RGB
    expected = _theirs(backend, **config)(reference, return_tensors="pt")
    got = pixelprep.EomtImageProcessor(backend=backend, **config)(str(image_path), return_tensors="pt")
    _assert_outputs_equal(got, expected, to_numpy, compare, f"EoMT [{backend}] {image_path.name}")


def _maps(images, labels: int = 5) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [rng.integers(0, labels, (image.height, image.width)).astype(np.uint8) for image in images]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("config", "call"),
    [
        ({}, {}),
        (PADDED, {"ignore_index": 255, "return_tensors": "pt"}),
        (SPLIT, {"ignore_index": 255, "instance_id_to_semantic_id": {0: 3, 1: 3, 2: 1, 3: 2, 4: 0}}),
        ({"size": {"shortest_edge": 80, "longest_edge": 112}}, {"do_split_image": True, "do_pad": True, "ignore_index": 0}),
        # padded to 64x96 (height x width): the portrait image, 96 high, keeps its height (padding never crops)
        # without ignore_index the padding is label 0's
        ({"size": {"shortest_edge": 64, "longest_edge": 96}, "do_pad": True}, {}),
        ({}, {"do_split_image": True, "size": {"shortest_edge": 72}, "do_normalize": False, "resample": 3}),
    ],
    ids=["defaults", "padded-ignore-pt", "split-mapping", "split-pad-longest", "padded-portrait", "call-time-split"],
)
def test_mixed_size_batch_with_maps(backend: str, config: dict, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """Mixed sizes, segmentation maps, call-time options: pixel values, patch offsets, mask and class labels."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    kwargs = dict(call, segmentation_maps=_maps(images))
    expected = _theirs(backend, **config)(images, **kwargs)
    got = pixelprep.EomtImageProcessor(backend=backend, **config)(images, **kwargs)
    _assert_outputs_equal(got, expected, to_numpy, compare, f"EoMT [{backend}] {sorted(call)}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_per_image_mappings_apply_to_each_images_patches(backend: str, fixture_path, load_image, to_numpy) -> None:
    """A list of per-image instance mappings with do_split_image: each patch uses its image's mapping (transformers indexes the
    list by patch, so a patch takes another image's mapping or fails; README). The reference is each image processed alone."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH[:2]]
    maps = _maps(images, labels=3)
    mappings = [{0: 0, 1: 7, 2: 7}, {0: 0, 1: 4, 2: 9}]
    got = pixelprep.EomtImageProcessor(backend=backend, **SPLIT)(images, segmentation_maps=maps, instance_id_to_semantic_id=mappings)
    expected = []
    for image, label_map, mapping in zip(images, maps, mappings):
        expected += list(_theirs(backend, **SPLIT)(image, segmentation_maps=label_map, instance_id_to_semantic_id=mapping)["class_labels"])
    assert len(got["class_labels"]) == len(expected) > len(images)
    for mine, theirs in zip(got["class_labels"], expected):
        assert np.array_equal(to_numpy(mine), to_numpy(theirs))
    with pytest.raises((IndexError, KeyError)):  # transformers: the second patch of image 0 reads mapping 1, ..., then runs out
        _theirs(backend, **SPLIT)(images, segmentation_maps=maps, instance_id_to_semantic_id=mappings)


def _outputs(seed: int, batch: int = 2, offsets=None) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(seed)
    return SimpleNamespace(
        class_queries_logits=torch.randn(batch, 12, 5, generator=generator) * 4,
        masks_queries_logits=torch.randn(batch, 12, 24, 24, generator=generator) * 3,
        patch_offsets=offsets,
    )


POST = {"size": {"shortest_edge": 64, "longest_edge": 96}}
TARGETS = [(50, 70), (120, 40)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("size", [None, {"shortest_edge": 48, "longest_edge": 48}], ids=["own-size", "size-argument"])
def test_semantic_post_processing_matches(backend: str, size) -> None:
    ours, theirs = pixelprep.EomtImageProcessor(backend=backend, **POST), _theirs(backend, **POST)
    for scores in (False, True):
        mine = ours.post_process_semantic_segmentation(_outputs(1), TARGETS, size=size, return_segmentation_scores=scores)
        reference = theirs.post_process_semantic_segmentation(_outputs(1), TARGETS, size=size, return_segmentation_scores=scores)
        for a, b, target in zip(mine, reference, TARGETS):
            if scores:
                assert torch.equal(a["segmentation"], b["segmentation"]) and a["segmentation"].shape == target
                torch.testing.assert_close(a["segmentation_scores"], b["segmentation_scores"], rtol=0, atol=ATOL)
            else:
                assert torch.equal(a, b) and a.shape == target


@pytest.mark.parametrize("backend", BACKENDS)
def test_semantic_post_processing_merges_patches(backend: str, fixture_path, load_image) -> None:
    """Outputs of split images (patch_offsets from the processor itself): patches averaged back into each image."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    theirs = _theirs(backend, **SPLIT)
    offsets = theirs(images, return_tensors="pt")["patch_offsets"]
    ours = pixelprep.EomtImageProcessor(backend=backend, **SPLIT)
    assert [o.tolist() for o in ours(images, return_tensors="pt")["patch_offsets"]] == [o.tolist() for o in offsets]
    outputs = _outputs(2, batch=len(offsets), offsets=offsets)
    targets = [(image.height, image.width) for image in images]
    for scores in (False, True):
        mine = ours.post_process_semantic_segmentation(outputs, targets, return_segmentation_scores=scores)
        reference = theirs.post_process_semantic_segmentation(outputs, targets, return_segmentation_scores=scores)
        for a, b in zip(mine, reference):
            if scores:
                assert torch.equal(a["segmentation"], b["segmentation"])
                torch.testing.assert_close(a["segmentation_scores"], b["segmentation_scores"], rtol=0, atol=ATOL)
            else:
                assert torch.equal(a, b)
    # the public steps alone, on the class scores of the patches
    logits = torch.randn(len(offsets), 5, 64, 64, generator=torch.Generator().manual_seed(3))
    for a, b in zip(ours.merge_image_patches(logits, offsets, targets, SPLIT["size"]), theirs.merge_image_patches(logits, offsets, targets, {"shortest_edge": 64, "longest_edge": None})):
        torch.testing.assert_close(a, b, rtol=0, atol=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"threshold": 0.3, "overlap_mask_area_threshold": 0.3},
        {"threshold": 0.2, "mask_threshold": 0.7, "overlap_mask_area_threshold": 0.4, "stuff_classes": [0, 2]},
        {"threshold": 0.3, "overlap_mask_area_threshold": 0.3, "size": {"shortest_edge": 48, "longest_edge": 64}},
    ],
    ids=["defaults", "thresholds", "stuff-classes", "size-argument"],
)
def test_panoptic_post_processing_matches(backend: str, kwargs: dict) -> None:
    mine = pixelprep.EomtImageProcessor(backend=backend, **POST).post_process_panoptic_segmentation(_outputs(2), TARGETS, **kwargs)
    reference = _theirs(backend, **POST).post_process_panoptic_segmentation(_outputs(2), TARGETS, **kwargs)
    if kwargs:
        assert sum(len(r["segments_info"]) for r in reference) > 0
    for a, b in zip(mine, reference):
        assert a["segments_info"] == b["segments_info"]
        assert a["segmentation"].dtype == b["segmentation"].dtype and torch.equal(a["segmentation"], b["segmentation"])


def test_stuff_classes_merge_queries_of_one_class() -> None:
    """With every class a stuff class, each class is at most one segment, and fewer segments than without."""
    processor = pixelprep.EomtImageProcessor(**POST)
    kwargs = {"threshold": 0.2, "mask_threshold": 0.7, "overlap_mask_area_threshold": 0.4}
    plain = processor.post_process_panoptic_segmentation(_outputs(2), TARGETS, **kwargs)
    merged = processor.post_process_panoptic_segmentation(_outputs(2), TARGETS, stuff_classes=[0, 1, 2, 3], **kwargs)
    assert sum(len(r["segments_info"]) for r in merged) < sum(len(r["segments_info"]) for r in plain)
    for result in merged:
        labels = [segment["label_id"] for segment in result["segments_info"]]
        assert len(labels) == len(set(labels))
        assert set(torch.unique(result["segmentation"]).tolist()) <= {-1, *range(len(labels))}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kwargs", [{}, {"threshold": 0.1}, {"threshold": 0.3, "size": {"shortest_edge": 48, "longest_edge": 64}}], ids=["defaults", "low", "size-argument"])
def test_instance_post_processing_matches(backend: str, kwargs: dict) -> None:
    mine = pixelprep.EomtImageProcessor(backend=backend, **POST).post_process_instance_segmentation(_outputs(3), TARGETS, **kwargs)
    reference = _theirs(backend, **POST).post_process_instance_segmentation(_outputs(3), TARGETS, **kwargs)
    if kwargs:
        assert sum(len(r["segments_info"]) for r in reference) > 0
    for a, b in zip(mine, reference):
        assert a["segments_info"] == b["segments_info"]
        assert a["segmentation"].dtype == b["segmentation"].dtype and torch.equal(a["segmentation"], b["segmentation"])


def test_unpad_image_matches() -> None:
    logits = torch.randn(2, 4, 64, 96, generator=torch.Generator().manual_seed(4))
    mine = pixelprep.EomtImageProcessor().unpad_image(logits, TARGETS, POST["size"])
    for a, b in zip(mine, _theirs("torchvision").unpad_image(logits, TARGETS, POST["size"])):
        torch.testing.assert_close(a, b, rtol=0, atol=ATOL)


def test_numpy_outputs_give_numpy_results() -> None:
    outputs = {"class_queries_logits": _outputs(3).class_queries_logits.numpy(), "masks_queries_logits": _outputs(3).masks_queries_logits.numpy()}
    processor = pixelprep.EomtImageProcessor(**POST)
    semantic = processor.post_process_semantic_segmentation(outputs, TARGETS)
    instance = processor.post_process_instance_segmentation(outputs, TARGETS, threshold=0.1)
    reference = processor.post_process_instance_segmentation(_outputs(3), TARGETS, threshold=0.1)
    assert all(isinstance(item, np.ndarray) for item in semantic)
    assert isinstance(instance[0]["segmentation"], np.ndarray) and np.array_equal(instance[0]["segmentation"], reference[0]["segmentation"].numpy())


def test_bad_arguments_raise_our_errors() -> None:
    processor = pixelprep.EomtImageProcessor(**POST)
    image, label_map = np.zeros((40, 50, 3), np.uint8), np.zeros((40, 50), np.uint8)
    with pytest.raises(InvalidArgumentError, match="target_sizes"):
        processor.post_process_semantic_segmentation(_outputs(1), [(10, 10)])
    with pytest.raises(InvalidArgumentError, match="target_sizes"):
        processor.post_process_panoptic_segmentation(_outputs(1), None)
    with pytest.raises(InvalidArgumentError, match="masks_queries_logits"):
        processor.post_process_instance_segmentation({"class_queries_logits": torch.zeros(2, 3, 4), "masks_queries_logits": torch.zeros(2, 3, 8)}, TARGETS)
    with pytest.raises(InvalidArgumentError, match="does not fit"):  # transformers: a raw shape error from torch
        processor.merge_image_patches(torch.zeros(2, 3, 64, 64), [[0, 0, 64], [0, 36, 100]], [(50, 60)], {"shortest_edge": 64})
    with pytest.raises(InvalidArgumentError, match="shortest_edge"):
        processor(image, do_split_image=True, size={"height": 64, "width": 64})
    with pytest.raises(InvalidArgumentError, match="2 segmentation maps for 1 images"):
        processor(image, segmentation_maps=[label_map, label_map])
    with pytest.raises(InvalidArgumentError, match="instance_id_to_semantic_id has no entry for instance id 0"):
        processor(image, segmentation_maps=label_map, instance_id_to_semantic_id={1: 2})
    with pytest.raises(InvalidArgumentError, match="ignore_index"):
        pixelprep.EomtImageProcessor(ignore_index="255")


def test_resolves_by_name_and_model_type() -> None:
    names = ("EomtImageProcessor", "EomtImageProcessorFast", "EomtImageProcessorPil")
    configs = [{"image_processor_type": name} for name in names] + [{"model_type": "eomt"}, {"model_type": "eomt_dinov3"}]
    for config in configs:
        assert family_for_config(config) is pixelprep.EomtImageProcessor, config


def test_pipeline_description_names_every_step() -> None:
    lines = pixelprep.EomtImageProcessor(do_split_image=True, do_pad=True, size={"shortest_edge": 512}).describe_pipeline()
    assert [line.split()[0] for line in lines] == ["convert", "resize", "split", "pad", "rescale", "normalize"]


@pytest.mark.parametrize("config", [PADDED, SPLIT], ids=["padded", "split"])
def test_runner_rows_equal_each_image_alone(config: dict, tmp_path, fixture_path) -> None:
    """``pixelprep run``: each row equals the image processed alone (split images: all its patches and their offsets)."""
    processor = pixelprep.EomtImageProcessor(backend="pil", **config)
    inputs = [str(fixture_path(name)) for name in BATCH]
    run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=3, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    for entry, path in zip(entries, inputs):
        alone = processor(path, return_tensors="np")
        row = read_row(tmp_path, entry)
        if config is SPLIT:
            np.testing.assert_array_equal(row["pixel_values"], alone["pixel_values"])
            np.testing.assert_array_equal(row["patch_offsets"], np.stack(alone["patch_offsets"]))
        else:
            assert set(row) == {"pixel_values"} and alone["patch_offsets"] == []
            np.testing.assert_array_equal(row["pixel_values"], alone["pixel_values"][0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_post_processing_size_without_longest_edge_is_square(backend: str) -> None:
    """``size={"shortest_edge": n}`` means n x n (transformers raises a KeyError for the missing longest_edge; README)."""
    ours, theirs = pixelprep.EomtImageProcessor(backend=backend), _theirs(backend)
    with pytest.raises(KeyError):
        theirs.post_process_instance_segmentation(_outputs(3), TARGETS, threshold=0.1, size={"shortest_edge": 48})
    mine = ours.post_process_instance_segmentation(_outputs(3), TARGETS, threshold=0.1, size={"shortest_edge": 48})
    reference = theirs.post_process_instance_segmentation(_outputs(3), TARGETS, threshold=0.1, size={"shortest_edge": 48, "longest_edge": None})
    for a, b in zip(mine, reference):
        assert a["segments_info"] == b["segments_info"] and torch.equal(a["segmentation"], b["segmentation"])


@pytest.mark.parametrize("targets", [[(0, 10), (5, 5)], [(10, 10, 3), (5, 5)], [(200_000, 200_000), (5, 5)], "big"], ids=["zero", "triple", "huge", "text"])
def test_bad_target_sizes_raise_our_errors(targets) -> None:
    processor = pixelprep.EomtImageProcessor(**POST)
    for post_process in (processor.post_process_semantic_segmentation, processor.post_process_panoptic_segmentation, processor.post_process_instance_segmentation):
        with pytest.raises(InvalidArgumentError, match="target_sizes"):
            post_process(_outputs(1), targets)
