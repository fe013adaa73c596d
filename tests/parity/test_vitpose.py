"""ViTPose against transformers 5.23's VitPoseImageProcessor (torchvision) and VitPoseImageProcessorPil.

Box crops of every fixture image, several boxes per image, call-time options, images without boxes, and
pose post-processing on seeded random heatmaps; tolerances 1e-5, integers equal.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError

ATOL = 1e-5
BACKENDS = ("torchvision", "pil")


def _theirs(backend: str, **config) -> object:
    return (transformers.VitPoseImageProcessor if backend == "torchvision" else transformers.VitPoseImageProcessorPil)(**config)


def _boxes(width: int, height: int) -> list[list[float]]:
    """A box inside, the whole image, a thin box near the edge, and one reaching past the image."""
    return [[0.1 * width, 0.2 * height, 0.5 * width + 1, 0.6 * height + 1], [0, 0, width, height], [width * 0.7, height * 0.5, 3.3, 7.1], [-5, -3, width + 9, 0.5 * height]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_matches(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Four box crops of each fixture file equal transformers' (its pil class fails on 1x1: the torchvision class is the reference)."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)
    boxes = [_boxes(*reference.size)]
    theirs = _theirs("torchvision" if image.size == (1, 1) else backend)
    expected = to_numpy(theirs(reference, boxes, return_tensors="np")["pixel_values"])
    got = pixelprep.VitPoseImageProcessor(backend=backend)(str(image_path), boxes=boxes, return_tensors="np")["pixel_values"]
    assert got.shape == (4, 3, 256, 192)
    compare(got, expected, atol=ATOL, what=f"ViTPose [{backend}] {image_path.name}")


CALLS = [
    {},
    {"size": {"height": 128, "width": 160}, "normalize_factor": 150.0},
    {"do_normalize": False, "rescale_factor": 0.5 / 255},
    {"do_affine_transform": False},
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=[str(sorted(c)) for c in CALLS])
def test_batches_and_call_options(backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """Images of several sizes with 2, 1 and 3 boxes: crops in order, or (without the affine step) each image as it is."""
    names = ("photo_rgb_640x427.jpg", "gray_l_257x257.jpg", "tall_rgb_90x1200.jpg")
    images = [convert_to_rgb(load_image(fixture_path(name))) for name in names]
    boxes = [_boxes(*images[0].size)[:2], _boxes(*images[1].size)[2:3], _boxes(*images[2].size)[1:]]
    expected = _theirs(backend)(images, boxes, **call)["pixel_values"]
    got = pixelprep.VitPoseImageProcessor(backend=backend)(images, boxes=boxes, **call)["pixel_values"]
    assert len(got) == len(expected) == (3 if call.get("do_affine_transform") is False else 6)
    for mine, ref in zip(got, expected):
        compare(mine, to_numpy(ref), atol=ATOL, what=f"ViTPose [{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_boxes_images_are_only_normalized(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    image = convert_to_rgb(load_image(fixture_path("photo_rgb_333x517.jpg")))
    expected = to_numpy(_theirs(backend)(image, None, return_tensors="np")["pixel_values"])
    compare(pixelprep.VitPoseImageProcessor(backend=backend)(image, return_tensors="np")["pixel_values"], expected, atol=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_affine_transform_method(backend: str, fixture_path, load_image, compare) -> None:
    image = np.ascontiguousarray(np.moveaxis(np.asarray(convert_to_rgb(load_image(fixture_path("photo_rgb_333x517.jpg")))), -1, 0))
    center, scale = np.array([150.0, 200.0], np.float32), np.array([1.1, 1.4], np.float32)
    size = {"height": 256, "width": 192}
    theirs = _theirs(backend)
    reference = theirs.affine_transform(torch.from_numpy(image) if backend == "torchvision" else image, center, scale, 0, transformers.image_utils.SizeDict(**size))
    got = pixelprep.VitPoseImageProcessor(backend=backend).affine_transform(torch.from_numpy(image) if backend == "torchvision" else image, center, scale, 0, size)
    assert type(got) is type(reference)
    compare(got, reference, atol=0, what=f"affine_transform [{backend}]")


@pytest.mark.parametrize(
    ("boxes", "message"),
    [
        ([[[0, 0, 10, 10]], [[0, 0, 5, 5]]], r"boxes for 2 image\(s\) but 1"),
        ([[[0, 0, 10]]], r"boxes\[0\]"),
        ([[[0, 0, 0, 10]]], "positive width and height"),
        ([[[0, 0, float("nan"), 10]]], "finite"),
        ([[["a", 0, 1, 1]]], r"boxes\[0\]"),
        ([[]], "no box"),
        ("boxes", "list per image"),
    ],
)
def test_bad_boxes_are_our_errors(boxes, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        pixelprep.VitPoseImageProcessor()(np.zeros((20, 30, 3), np.uint8), boxes=boxes)


# ------------------------------------------------------------------------------------ post-processing

BOXES = [[[10.0, 20.0, 100.0, 200.0], [50.5, 5.25, 30.0, 20.0]], [[0.0, 0.0, 300.0, 150.0]]]


def _heatmaps(seed: int, keypoints: int = 17) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(seed)
    heatmaps = torch.rand(3, keypoints, 64, 48, generator=generator) * 0.2 - 0.05
    heatmaps[:, :, 20:30, 10:20] += torch.rand(3, keypoints, 10, 10, generator=generator)  # a peak to refine
    heatmaps[0, 3] = -0.5  # no positive peak: transformers' -1 coordinates
    return SimpleNamespace(heatmaps=heatmaps)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("threshold", "kernel_size"), [(None, 11), (0.3, 11), (None, 5)])
def test_pose_estimation_matches(backend: str, threshold, kernel_size: int) -> None:
    outputs = _heatmaps(3)
    theirs = _theirs(backend).post_process_pose_estimation(outputs, BOXES, threshold=threshold, kernel_size=kernel_size)
    ours = pixelprep.VitPoseImageProcessor(backend=backend).post_process_pose_estimation(outputs, BOXES, threshold=threshold, kernel_size=kernel_size)
    _assert_same_poses(ours, theirs, [box for image_boxes in BOXES for box in image_boxes])


def _assert_same_poses(ours, theirs, boxes) -> None:
    assert [len(image) for image in ours] == [len(image) for image in theirs]
    flat_ours = [pose for image in ours for pose in image]
    flat_theirs = [pose for image in theirs for pose in image]
    for mine, ref, box in zip(flat_ours, flat_theirs, boxes):
        assert set(mine) == set(ref)
        for key in ("keypoints", "scores"):
            assert mine[key].dtype == ref[key].dtype
            torch.testing.assert_close(mine[key], ref[key], rtol=0, atol=ATOL)
        assert torch.equal(mine["labels"], ref["labels"])
        # the person box as corners (transformers 5.23 returns center and scale mixed up there: README)
        expected = torch.tensor([box[0], box[1], box[0] + box[2] - 1, box[1] + box[3] - 1], dtype=torch.float32)
        torch.testing.assert_close(mine["bbox"], expected)


def test_target_sizes_are_height_width() -> None:
    """Relative boxes scaled by (height, width) per box; transformers reads the pair as (width, height), so it is given them swapped."""
    relative = [[[0.1, 0.2, 0.3, 0.5], [0.5, 0.1, 0.2, 0.2]], [[0.0, 0.0, 1.0, 0.5]]]
    sizes = [(480, 640), (480, 640), (300, 200)]
    outputs = _heatmaps(4)
    theirs = transformers.VitPoseImageProcessor().post_process_pose_estimation(outputs, relative, target_sizes=[(w, h) for h, w in sizes])
    ours = pixelprep.VitPoseImageProcessor().post_process_pose_estimation(outputs, relative, target_sizes=sizes)
    absolute = [[b[0] * w, b[1] * h, b[2] * w, b[3] * h] for b, (h, w) in zip([b for image in relative for b in image], sizes)]
    _assert_same_poses(ours, theirs, absolute)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"boxes": BOXES[:1]}, "got 2 boxes for 3 heatmaps"), ({"boxes": BOXES, "target_sizes": [(1, 2)]}, "target_sizes"), ({"boxes": BOXES, "kernel_size": 0}, "kernel_size")],
)
def test_bad_post_processing_arguments_are_our_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        pixelprep.VitPoseImageProcessor().post_process_pose_estimation(_heatmaps(1), **kwargs)


def test_model_type_and_class_names_resolve(tmp_path) -> None:
    for name in ("VitPoseImageProcessor", "VitPoseImageProcessorPil", "VitPoseImageProcessorFast"):
        assert type(pixelprep.AutoImageProcessor.from_config({"image_processor_type": name})) is pixelprep.VitPoseImageProcessor
    (tmp_path / "config.json").write_text('{"model_type": "vitpose"}')
    (tmp_path / "preprocessor_config.json").write_text("{}")
    assert type(pixelprep.AutoImageProcessor.from_pretrained(tmp_path)) is pixelprep.VitPoseImageProcessor


def test_post_processing_maps_back_through_the_crop_of_any_normalize_factor() -> None:
    """With normalize_factor 150 the crop covers 200/150 of the padded box; keypoints map back through that region.

    transformers' post-processing always divides by 200, so its keypoints land elsewhere there (README); at 200 both agree.
    """
    outputs = _heatmaps(6)
    zoomed = pixelprep.VitPoseImageProcessor(normalize_factor=150.0).post_process_pose_estimation(outputs, BOXES)
    plain = pixelprep.VitPoseImageProcessor().post_process_pose_estimation(outputs, BOXES)
    box = BOXES[0][0]
    center = torch.tensor([box[0] + box[2] / 2, box[1] + box[3] / 2])
    # the same heatmap point lies 200/150 times farther from the box center
    offset_zoomed = zoomed[0][0]["keypoints"][0] - center
    offset_plain = plain[0][0]["keypoints"][0] - center
    torch.testing.assert_close(offset_zoomed, offset_plain * 200 / 150, rtol=1e-5, atol=1e-3)
