"""OneFormer against transformers 5.23's OneFormerImageProcessor (torchvision) and OneFormerImageProcessorPil, in the same process.

Every fixture image, mixed-size batches with task inputs and segmentation maps (mask/class labels and text
prompts from a class-metadata file written here), and semantic/instance/panoptic post-processing on seeded
random model outputs. Tolerance 1e-5; ids, labels and texts equal.
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
from pixelprep import ConfigError, InvalidArgumentError
from pixelprep.auto import family_for_config
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
SMALL = {"size": {"shortest_edge": 128, "longest_edge": 200}}
BATCH = ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg")
CLASSES = {"0": {"name": "wall", "isthing": 0}, "1": {"name": "person", "isthing": 1}, "2": {"name": "car", "isthing": 1}, "3": {"name": "sky", "isthing": 0}}


@pytest.fixture(scope="module")
def metadata(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("oneformer_demo")
    (folder / "tiny_panoptic.json").write_text(json.dumps(CLASSES))
    return {"repo_path": str(folder), "class_info_file": "tiny_panoptic.json", "num_text": 5}


def _theirs(backend: str, **config) -> object:
    return (transformers.OneFormerImageProcessorPil if backend == "pil" else transformers.OneFormerImageProcessor)(**config)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_matches(backend: str, image_path, load_image, compare, to_eight_bit, to_numpy) -> None:
    """Every mode (EXIF, gray, RGBA, palette, CMYK, 16-bit, 1x1, 7x5, 1200x90, 1023x768): pixel values and mask, within 1e-5."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)  # README: 16-bit scaled, RGB
    expected = _theirs(backend, **SMALL)(reference, return_tensors="np")
    got = pixelprep.OneFormerImageProcessor(backend=backend, **SMALL)(str(image_path), return_tensors="np")
    assert set(got) == set(expected) == {"pixel_values", "pixel_mask", "task_inputs"}
    compare(got["pixel_values"], expected["pixel_values"], atol=ATOL, what=f"OneFormer [{backend}] {image_path.name}")
    assert np.array_equal(to_numpy(got["pixel_mask"]), expected["pixel_mask"]) and got["task_inputs"] == expected["task_inputs"]


def _maps(images, labels: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [rng.integers(0, labels, (image.height, image.width)).astype(np.uint8) for image in images]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("tasks", "extra"),
    [
        (None, {}),
        (["semantic", "panoptic", "instance"], {"maps": True}),
        (["instance", "semantic", "semantic"], {"maps": True, "mapping": {0: 0, 1: 1, 2: 1, 3: 3}, "call": {"return_tensors": "pt"}}),
        (["panoptic", "panoptic", "semantic"], {"maps": True, "call": {"do_reduce_labels": True, "size": {"shortest_edge": 96, "longest_edge": 160}}}),
    ],
    ids=["images-only", "three-tasks", "instance-mapping-pt", "reduce-labels-size"],
)
def test_mixed_size_batch_with_tasks_and_maps(backend: str, tasks, extra: dict, metadata: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """Every output key; masks padded with ignore_index (255 here: transformers' pil class pads with NaN without one, README)."""
    config = dict(SMALL, **metadata, ignore_index=255)
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    kwargs = dict(extra.get("call", {}))
    if extra.get("maps"):
        kwargs.update(segmentation_maps=_maps(images), instance_id_to_semantic_id=extra.get("mapping"))
    expected = _theirs(backend, **config)(images, tasks, **kwargs)
    got = pixelprep.OneFormerImageProcessor.from_dict(config, backend=backend)(images, tasks, **kwargs)
    assert set(got) == set(expected)
    for key in expected:
        if key in ("task_inputs", "text_inputs"):
            assert got[key] == expected[key], key
            continue
        assert len(got[key]) == len(expected[key]), key
        for index, (mine, theirs) in enumerate(zip(got[key], expected[key])):
            compare(mine, to_numpy(theirs), atol=ATOL, what=f"OneFormer [{backend}] {key} {index}")


def test_mask_padding_without_ignore_index_is_zero(metadata: dict, fixture_path, load_image, to_numpy) -> None:
    """Without ignore_index the masks' padding is 0 on both backends, as transformers' torchvision class pads (its pil class: NaN)."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH[:2]]
    config = dict(SMALL, **metadata)
    for backend in BACKENDS:
        expected = _theirs(backend, **config)(images, ["semantic", "panoptic"], segmentation_maps=_maps(images))["mask_labels"]
        got = pixelprep.OneFormerImageProcessor.from_dict(config, backend=backend)(images, ["semantic", "panoptic"], segmentation_maps=_maps(images))["mask_labels"]
        for mine, theirs in zip(got, expected):
            reference = to_numpy(theirs)
            assert backend == "torchvision" or np.isnan(reference).any()  # the pil class's NaN padding
            assert np.array_equal(to_numpy(mine), np.nan_to_num(reference, nan=0.0))


def _outputs(seed: int) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(seed)
    return SimpleNamespace(class_queries_logits=torch.randn(2, 12, 5, generator=generator) * 4, masks_queries_logits=torch.randn(2, 12, 24, 32, generator=generator) * 3)


TARGETS = [None, [(50, 60), (30, 20)]]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("targets", TARGETS, ids=["no-target", "targets"])
def test_semantic_and_panoptic_post_processing_match(backend: str, targets, metadata: dict) -> None:
    ours, theirs = pixelprep.OneFormerImageProcessor(backend=backend, **metadata), _theirs(backend, **metadata)
    for scores in (False, True):
        mine = ours.post_process_semantic_segmentation(_outputs(1), target_sizes=targets, return_segmentation_scores=scores)
        reference = theirs.post_process_semantic_segmentation(_outputs(1), target_sizes=targets, return_segmentation_scores=scores)
        for a, b in zip(mine, reference):
            if scores:
                assert torch.equal(a["segmentation"], b["segmentation"])
                torch.testing.assert_close(a["segmentation_scores"], b["segmentation_scores"], rtol=0, atol=1e-5)
            else:
                assert torch.equal(a, b)
    for kwargs in ({"threshold": 0.3, "overlap_mask_area_threshold": 0.3}, {"threshold": 0.2, "label_ids_to_fuse": {0, 3}, "overlap_mask_area_threshold": 0.3}):
        mine = ours.post_process_panoptic_segmentation(_outputs(2), target_sizes=targets, **kwargs)
        reference = theirs.post_process_panoptic_segmentation(_outputs(2), target_sizes=targets, **kwargs)
        assert sum(len(r["segments_info"]) for r in reference) > 0
        for a, b in zip(mine, reference):
            assert torch.equal(a["segmentation"].float(), b["segmentation"].float()) and a["segments_info"] == b["segments_info"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("targets", TARGETS, ids=["no-target", "targets"])
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"task_type": "panoptic"}, {"is_demo": False, "threshold": 0.1}, {"threshold": 0.2, "overlap_mask_area_threshold": 0.5}, {"return_coco_annotation": True}],
    ids=["default", "panoptic-things", "not-demo", "overlap", "rle"],
)
def test_instance_post_processing_matches(backend: str, targets, kwargs: dict, metadata: dict) -> None:
    mine = pixelprep.OneFormerImageProcessor(backend=backend, **metadata).post_process_instance_segmentation(_outputs(3), target_sizes=targets, **kwargs)
    reference = _theirs(backend, **metadata).post_process_instance_segmentation(_outputs(3), target_sizes=targets, **kwargs)
    assert len(mine) == len(reference) == 2
    for a, b in zip(mine, reference):
        assert a["segments_info"] == b["segments_info"]
        if kwargs.get("return_coco_annotation"):
            assert a["segmentation"] == b["segmentation"]
        else:
            assert torch.equal(a["segmentation"].float(), b["segmentation"].float())


def test_metadata_and_task_errors_are_ours(metadata: dict, tmp_path) -> None:
    image, label_map = np.zeros((40, 50, 3), np.uint8), np.zeros((40, 50), np.uint8)
    with pytest.raises(ConfigError, match="class_info_file"):
        pixelprep.OneFormerImageProcessor(num_text=3)(image, ["semantic"], segmentation_maps=label_map)
    with pytest.raises(ConfigError, match="missing.json"):
        pixelprep.OneFormerImageProcessor(repo_path=str(tmp_path), class_info_file="missing.json", num_text=3)(image, ["semantic"], segmentation_maps=label_map)
    processor = pixelprep.OneFormerImageProcessor(**metadata)
    with pytest.raises(InvalidArgumentError, match="expected one of"):
        processor(image, ["depth"], segmentation_maps=label_map)
    with pytest.raises(InvalidArgumentError, match="task_inputs for 2 images"):
        processor([image, image], ["semantic"], segmentation_maps=[label_map, label_map])
    with pytest.raises(InvalidArgumentError, match="does not name"):
        processor(image, ["semantic"], segmentation_maps=np.full((40, 50), 9, np.uint8))
    assert processor.metadata["thing_ids"] == [1, 2] and processor.metadata["class_names"] == ["wall", "person", "car", "sky"]


def test_resolves_by_name_and_model_type() -> None:
    for config in ({"image_processor_type": "OneFormerImageProcessor"}, {"image_processor_type": "OneFormerImageProcessorFast"}, {"image_processor_type": "OneFormerImageProcessorPil"}, {"model_type": "oneformer"}):
        assert family_for_config(config) is pixelprep.OneFormerImageProcessor, config


def test_runner_rows_equal_each_image_alone(tmp_path, fixture_path) -> None:
    """``pixelprep run`` (no tasks or maps): each row, pixel mask included, equals the image processed alone (task_inputs, text, is not stored)."""
    processor = pixelprep.OneFormerImageProcessor(backend="pil", size={"shortest_edge": 48, "longest_edge": 80})
    inputs = [str(fixture_path(name)) for name in BATCH]
    run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=2, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    for entry, path in zip(entries, inputs):
        alone = processor(path, return_tensors="np")
        row = read_row(tmp_path, entry)
        for key in ("pixel_values", "pixel_mask"):
            np.testing.assert_array_equal(row[key], alone[key][0])
    assert set(read_row(tmp_path, entries[0])) == {"pixel_values", "pixel_mask"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_convert_segmentation_map_to_binary_masks_matches(backend: str) -> None:
    label_map = np.random.default_rng(1).integers(0, 5, (12, 17)).astype(np.int64)
    given = torch.from_numpy(label_map) if backend == "torchvision" else label_map
    for kwargs in ({}, {"ignore_index": 255, "do_reduce_labels": True}, {"instance_id_to_semantic_id": {0: 3, 1: 3, 2: 1, 3: 2, 4: 0}}):
        mine = pixelprep.OneFormerImageProcessor(backend=backend).convert_segmentation_map_to_binary_masks(given, **kwargs)
        reference = _theirs(backend).convert_segmentation_map_to_binary_masks(given, **kwargs)
        for a, b in zip(mine, reference):
            assert type(a) is type(b) and np.array_equal(np.asarray(a), np.asarray(b)), kwargs
