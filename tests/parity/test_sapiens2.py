"""Sapiens2 against transformers 5.23's Sapiens2ImageProcessor (a torchvision class; transformers has no pil class), in the same process.

torchvision: every output key within 1e-5 (labels and keypoint heatmaps equal) on every fixture photo, mixed-size
batches, person-box crops, label maps, keypoint targets and call-time options.
pil, against the same class: the box crops are torch's float ``grid_sample`` on both backends (1e-5 there too),
but the plain resize is Pillow's antialiased 8-bit bilinear where transformers uses torchvision's; the two round a
few values one level apart (2 levels at most, as PP-LCNet and TIPSv2), which normalising by the smallest std (0.225)
makes 2 / 255 / 0.225. Label maps resized that way move by at most 2 label levels on a few pixels, where labels blend.
Post-processing (pose, segmentation, normals, pointmaps, matting) runs the same torch arithmetic on both backends and
is compared exactly on seeded random outputs shaped like the models'.
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
ATOL = {"torchvision": 1e-5, "pil": 2 / 255 / 0.225 + 1e-6}
SMALL = {"size": {"height": 128, "width": 96}}
BATCH = ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg", "tiny_rgb_7x5.png")


def _theirs(**config) -> transformers.Sapiens2ImageProcessor:
    return transformers.Sapiens2ImageProcessor(**config)


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


def _boxes(width: int, height: int) -> list[list[float]]:
    """A box inside (shrinking: bilinear), the whole image, a thin box (growing: bicubic), and one reaching past the image."""
    return [[0.1 * width, 0.2 * height, 0.5 * width + 1, 0.6 * height + 1], [0, 0, width, height], [width * 0.7, height * 0.5, 3.3, 7.1], [-5, -3, width + 9, 0.5 * height]]


def _flat(value) -> list[np.ndarray]:
    return [np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v) for v in value]


def _assert_outputs(got, expected, atol: float, what: str, label_atol: float = 0) -> None:
    assert set(got) == set(expected), what
    for key in expected:
        theirs, ours = _flat(expected[key]), _flat(got[key])
        assert len(ours) == len(theirs), f"{what} {key}"
        for mine, ref in zip(ours, theirs):
            assert mine.shape == ref.shape, f"{what} {key}: {mine.shape} vs {ref.shape}"
            if key == "labels" and ref.dtype == np.int64:
                assert mine.dtype == np.int64, f"{what} {key}"
                assert np.abs(mine - ref).max(initial=0) <= label_atol, f"{what} {key}"
            else:
                diff = np.abs(mine.astype(np.float64) - ref).max(initial=0)
                assert diff <= (atol if key == "pixel_values" else 1e-5), f"{what} {key}: {diff}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_matches(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every mode (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, 1023x768), squashed to 128x96."""
    reference = _reference(load_image(image_path), to_eight_bit)
    expected = _theirs(**SMALL)(reference, return_tensors="np")["pixel_values"]
    got = pixelprep.Sapiens2ImageProcessor(backend=backend, **SMALL)(str(image_path), return_tensors="np")["pixel_values"]
    assert got.shape == (1, 3, 128, 96)
    compare(got, to_numpy(expected), atol=ATOL[backend], what=f"Sapiens2 [{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_box_crops_match(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Four box crops of each fixture file: torch's float sampling on both backends, so 1e-5 on pil too.

    transformers' crops of the 1x1 image are NaN (README): there the reference is its crop of the pixel with zeros beside it.
    """
    reference = _reference(load_image(image_path), to_eight_bit)
    boxes = [_boxes(*reference.size)]
    given = reference
    if reference.size == (1, 1):
        given = np.zeros((2, 2, 3), np.uint8)
        given[0, 0] = np.asarray(reference)[0, 0]
    expected = _theirs(**SMALL)(given, boxes=boxes, return_tensors="pt")["pixel_values"]
    got = pixelprep.Sapiens2ImageProcessor(backend=backend, **SMALL)(str(image_path), boxes=boxes, return_tensors="np")["pixel_values"]
    assert got.shape == (4, 3, 128, 96)
    compare(got, to_numpy(expected), atol=1e-5, what=f"Sapiens2 boxes [{backend}] {image_path.name}")


CALLS = [
    {},
    {"size": {"height": 96, "width": 64}, "resample": 3},
    {"do_pad": True},
    {"do_pad": True, "size": {"height": 100, "width": 100}},
    {"do_center_crop": True, "crop_size": {"height": 80, "width": 60}},
    {"image_mean": [0.5, 0.4, 0.3], "image_std": [0.2, 0.3, 0.25], "rescale_factor": 0.5 / 255},
    {"do_normalize": False},
    {"do_resize": False},
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_size_batch_and_call_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit) -> None:
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in BATCH]
    expected = _theirs(**SMALL)(images, **call)
    got = pixelprep.Sapiens2ImageProcessor(backend=backend, **SMALL)(images, **call)
    # rescale_factor 0.5/255 halves the pil bound
    _assert_outputs(got, expected, ATOL[backend], f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", [{}, {"do_center_crop": True, "crop_size": {"height": 100, "width": 80}}, {"do_normalize": False, "resample": 3}], ids=repr)
def test_box_batches_with_label_maps(backend: str, call: dict, fixture_path, load_image) -> None:
    """Images of several sizes with 2, 1, 0 and 3 boxes: crops in order; label maps cropped by the same boxes, reduced or not.

    transformers fails on an image without boxes (it unpacks an empty tensor: README); it is given the other three.
    """
    names = ("photo_rgb_640x427.jpg", "gray_l_257x257.jpg", "photo_rgb_301x200.png", "tall_rgb_90x1200.jpg")
    images = [convert_to_rgb(load_image(fixture_path(name))) for name in names]
    boxes = [_boxes(*images[0].size)[:2], _boxes(*images[1].size)[2:3], [], _boxes(*images[3].size)[1:]]
    rng = np.random.default_rng(5)
    maps = [rng.integers(0, 6, (image.size[1], image.size[0]), dtype=np.uint8) for image in images]
    for reduce in (False, True):
        keep = [0, 1, 3]
        pick = lambda values: [values[i] for i in keep]  # noqa: E731
        expected = _theirs(**SMALL)(pick(images), segmentation_maps=pick(maps), boxes=pick(boxes), do_reduce_labels=reduce, **call)
        got = pixelprep.Sapiens2ImageProcessor(backend=backend, **SMALL)(images, segmentation_maps=maps, boxes=boxes, do_reduce_labels=reduce, **call)
        assert len(got["pixel_values"]) == len(got["labels"]) == 6
        _assert_outputs(got, expected, 1e-5, f"[{backend}] boxes {call} reduce={reduce}")
    with pytest.raises(ValueError):
        _theirs(**SMALL)(images[2], boxes=[[]])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", [{}, {"do_reduce_labels": True}, {"do_pad": True}, {"size": {"height": 40, "width": 30}}], ids=repr)
def test_segmentation_maps(backend: str, call: dict) -> None:
    """Maps resized with the images' bilinear filter (labels blend, as in transformers); pil within 2 label levels (Pillow)."""
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (90, 70, 3), dtype=np.uint8), rng.integers(0, 256, (41, 130, 3), dtype=np.uint8)]
    maps = [rng.integers(0, 8, (90, 70), dtype=np.uint8), rng.integers(0, 8, (41, 130), dtype=np.uint8)]
    expected = _theirs(**SMALL)(images, segmentation_maps=maps, **call)
    got = pixelprep.Sapiens2ImageProcessor(backend=backend, **SMALL)(images, segmentation_maps=maps, **call)
    _assert_outputs(got, expected, ATOL[backend], f"[{backend}] maps {call}", label_atol=0 if backend == "torchvision" else 2)
    if backend == "pil":
        for mine, ref in zip(_flat(got["labels"]), _flat(expected["labels"])):
            assert np.mean(mine != ref) < 0.05


KEYPOINTS = [
    [[[15, 20, 1], [20, 30, 0], [600, 20, 1]], [[1, 2, 2], [50, 60, 1], [-400, 5, 1]]],
    [[[6, 7, 1], [100, 100, 1], [40, 41, 1]]],
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", [{}, {"keypoint_heatmap_downscale_factor": 2, "keypoint_heatmap_sigma": 2.5}, {"size": {"height": 64, "width": 64}}], ids=repr)
def test_keypoint_heatmaps(backend: str, call: dict) -> None:
    """UDP Gaussian targets and weights per person (unseen and out-of-reach keypoints weigh 0)."""
    rng = np.random.default_rng(4)
    images = [rng.integers(0, 256, (100, 80, 3), dtype=np.uint8), rng.integers(0, 256, (50, 120, 3), dtype=np.uint8)]
    boxes = [[[10, 10, 30, 40], [0, 0, 80, 100]], [[5, 5, 10, 10]]]
    expected = _theirs(**SMALL)(images, boxes=boxes, keypoints=KEYPOINTS, **call)
    got = pixelprep.Sapiens2ImageProcessor(backend=backend, **SMALL)(images, boxes=boxes, keypoints=KEYPOINTS, **call)
    assert set(got) == {"pixel_values", "labels", "label_weights"}
    _assert_outputs(got, expected, 1e-5, f"[{backend}] keypoints {call}")
    stacked = pixelprep.Sapiens2ImageProcessor(backend=backend, **SMALL)(images, boxes=boxes, keypoints=KEYPOINTS, return_tensors="pt", **call)
    assert stacked["labels"].shape[:2] == (3, 3) and stacked["label_weights"].shape == (3, 3)


def test_default_size_and_saved_config(tmp_path, fixture_path, load_image, compare, to_numpy) -> None:
    image = convert_to_rgb(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours = pixelprep.Sapiens2ImageProcessor()
    compare(ours(image, return_tensors="np")["pixel_values"], to_numpy(_theirs()(image, return_tensors="pt")["pixel_values"]), atol=1e-5)
    pixelprep.Sapiens2ImageProcessor(do_pad=True, size={"height": 64, "width": 48}, do_reduce_labels=True).save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    assert type(theirs).__name__ == "Sapiens2ImageProcessor" and theirs.do_pad and theirs.do_reduce_labels
    loaded = pixelprep.AutoImageProcessor.from_pretrained(tmp_path)
    compare(loaded(image, return_tensors="np")["pixel_values"], to_numpy(theirs(image, return_tensors="pt")["pixel_values"]), atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_pixel_side_crops(backend: str) -> None:
    """transformers' grid divides by (side - 1) = 0: its crops of a 1-pixel-wide image are NaN; ours sample it with zeros outside (README)."""
    column = np.arange(30, dtype=np.uint8).reshape(30, 1, 1).repeat(3, axis=2)
    boxes = [[[-2.0, 5.0, 4.0, 10.0]]]
    theirs = _theirs(**SMALL)(column, boxes=boxes, return_tensors="pt")["pixel_values"]
    assert torch.isnan(theirs).any()
    got = pixelprep.Sapiens2ImageProcessor(backend=backend, do_normalize=False, do_rescale=False, **SMALL)(column, boxes=boxes, return_tensors="np")["pixel_values"]
    assert np.isfinite(got).all() and got.max() > 0
    # the same crop of the column with a zero column beside it (which is what lies outside a 1-pixel image)
    padded = np.concatenate([column, np.zeros_like(column)], axis=1)
    reference = _theirs(do_normalize=False, do_rescale=False, **SMALL)(padded, boxes=boxes, return_tensors="pt")["pixel_values"]
    np.testing.assert_allclose(got, reference.numpy(), atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"boxes": [[[0, 0, 10, 10]], [[0, 0, 5, 5]]]}, InvalidArgumentError, r"boxes for 2 image\(s\) but 1"),
        ({"boxes": [[[0, 0, 0, 10]]]}, InvalidArgumentError, "positive width and height"),
        ({"boxes": [[]]}, InvalidArgumentError, "no box"),
        ({"keypoints": [[[[1, 2, 1]]]]}, InvalidArgumentError, "pass boxes"),
        ({"keypoints": [[[[1, 2, 1]]]], "boxes": [[[0, 0, 5, 5]]], "segmentation_maps": np.zeros((20, 30), np.uint8)}, InvalidArgumentError, "not both"),
        ({"keypoints": [[[[1, 2, 1]], [[3, 4, 1]]]], "boxes": [[[0, 0, 5, 5]]]}, InvalidArgumentError, r"keypoints\[0\] holds 2 person"),
        ({"keypoints": [[[[1, "a", 1]]]], "boxes": [[[0, 0, 5, 5]]]}, InvalidArgumentError, r"keypoints\[0\]\[0\]"),
        ({"keypoints": [[[[1, 2, 3, 4]]]], "boxes": [[[0, 0, 5, 5]]]}, InvalidArgumentError, r"keypoints\[0\]\[0\]"),
        ({"keypoints": "x", "boxes": [[[0, 0, 5, 5]]]}, InvalidArgumentError, "list per image"),
        ({"segmentation_maps": np.zeros((20, 30, 3), np.uint8)}, InvalidImageError, r"segmentation_maps\[0\]|label"),
        ({"segmentation_maps": np.zeros((20, 30, 3), np.uint8), "boxes": [[[0, 0, 5, 5]]]}, InvalidImageError, r"segmentation_maps\[0\]"),
        ({"size": {"shortest_edge": 20}}, InvalidArgumentError, "height"),
        ({"keypoint_heatmap_sigma": -1.0}, InvalidArgumentError, "keypoint_heatmap_sigma"),
        ({"keypoint_heatmap_downscale_factor": 0}, InvalidArgumentError, "keypoint_heatmap_downscale_factor"),
    ],
)
def test_bad_inputs_are_our_errors(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        pixelprep.Sapiens2ImageProcessor(**SMALL)(np.zeros((20, 30, 3), np.uint8), **kwargs)


# ------------------------------------------------------------------------------------ post-processing

BOXES = [[[10.0, 20.0, 100.0, 200.0], [50.5, 5.25, 30.0, 20.0]], [[0.0, 0.0, 300.0, 150.0]]]
SOURCES = [(400, 300), (200, 300)]


def _heatmaps(seed: int, keypoints: int = 308, height: int = 32, width: int = 24) -> SimpleNamespace:
    """Heatmaps shaped like Sapiens2's pose head (308 keypoints, a quarter of the input), scaled down; a peak to refine."""
    generator = torch.Generator().manual_seed(seed)
    heatmaps = torch.rand(3, keypoints, height, width, generator=generator) * 0.2 - 0.05
    heatmaps[:, :, 10:16, 4:11] += torch.rand(3, keypoints, 6, 7, generator=generator)
    heatmaps[0, 3] = -0.5  # no positive peak: -1 coordinates
    heatmaps[1, 5, 0, 0] = 5.0  # a peak in the corner: the replicated edge
    return SimpleNamespace(heatmaps=heatmaps)


def _assert_same_nested(ours, theirs) -> None:
    assert [len(image) for image in ours] == [len(image) for image in theirs]
    for image_ours, image_theirs in zip(ours, theirs):
        for mine, ref in zip(image_ours, image_theirs):
            assert set(mine) == set(ref)
            for key in ref:
                assert mine[key].dtype == ref[key].dtype and mine[key].shape == ref[key].shape, key
                torch.testing.assert_close(mine[key], ref[key], rtol=0, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"threshold": 0.3}, {"kernel_size": 5}, {"flipped": True}, {"source_sizes": SOURCES, "target_sizes": [(200, 150), (100, 600)]}, {"source_sizes": torch.tensor(SOURCES)}],
    ids=["plain", "threshold", "kernel5", "flipped", "target-sizes", "source-only"],
)
def test_pose_estimation_matches(backend: str, kwargs: dict) -> None:
    kwargs = dict(kwargs)
    if kwargs.pop("flipped", False):
        kwargs["outputs_flipped"] = _heatmaps(9)
    size = {"height": 128, "width": 96}
    theirs = _theirs(size=size).post_process_pose_estimation(_heatmaps(3), BOXES, **kwargs)
    ours = pixelprep.Sapiens2ImageProcessor(backend=backend, size=size).post_process_pose_estimation(_heatmaps(3), BOXES, **kwargs)
    _assert_same_nested(ours, theirs)


def test_pose_estimation_without_people_and_errors() -> None:
    empty = SimpleNamespace(heatmaps=torch.zeros(0, 17, 16, 12))
    assert pixelprep.Sapiens2ImageProcessor().post_process_pose_estimation(empty, [[], []]) == _theirs().post_process_pose_estimation(empty, [[], []])
    processor = pixelprep.Sapiens2ImageProcessor()
    for kwargs, message in [
        ({"boxes": BOXES[:1]}, "got 2 boxes for 3 heatmaps"),
        ({"boxes": BOXES, "target_sizes": SOURCES}, "needs source_sizes"),
        ({"boxes": BOXES, "source_sizes": SOURCES[:1]}, "source_sizes"),
        ({"boxes": BOXES, "kernel_size": 4}, "kernel_size"),
    ]:
        with pytest.raises(InvalidArgumentError, match=message):
            processor.post_process_pose_estimation(_heatmaps(1, keypoints=8), **kwargs)


@pytest.mark.parametrize("targets", [None, [(30, 20), (60, 90)], torch.tensor([[30, 20], [30, 20]])], ids=["none", "list", "tensor"])
@pytest.mark.parametrize("scores", [False, True])
def test_semantic_segmentation_matches(targets, scores: bool) -> None:
    logits = torch.randn(2, 29, 32, 24, generator=torch.Generator().manual_seed(2))  # Sapiens2's 29 body-part classes
    # transformers fails on a tensor of target sizes (it hands NumPy rows to interpolate: README): its list form is the reference
    reference_targets = targets.tolist() if isinstance(targets, torch.Tensor) else targets
    theirs = _theirs().post_process_semantic_segmentation(SimpleNamespace(logits=logits), target_sizes=reference_targets, return_segmentation_scores=scores)
    ours = pixelprep.Sapiens2ImageProcessor().post_process_semantic_segmentation(SimpleNamespace(logits=logits), target_sizes=targets, return_segmentation_scores=scores)
    for mine, ref in zip(ours, theirs):
        if scores:
            assert torch.equal(mine["segmentation"], ref["segmentation"])
            torch.testing.assert_close(mine["segmentation_scores"], ref["segmentation_scores"], rtol=0, atol=1e-5)
        else:
            assert torch.equal(mine, ref)


MAP_CASES = [
    {},
    {"source_sizes": [(100, 80), (50, 120)]},
    {"source_sizes": torch.tensor([[100, 80], [50, 120]]), "target_sizes": [(30, 20), (30, 20)]},
    {"target_sizes": [(30, 20), (10, 90)]},
    {"source_sizes": [(100, 80), (50, 120)], "do_remove_padding": False},
    {"source_sizes": [(64, 48), (16, 12)]},
]


@pytest.mark.parametrize("kwargs", MAP_CASES, ids=range(len(MAP_CASES)))
def test_normal_and_pointmap_estimation_match(kwargs: dict) -> None:
    """Normals and pointmaps (3 channels at the model's input size), letterbox padding removed and resized as transformers does."""
    generator = torch.Generator().manual_seed(7)
    size = {"height": 64, "width": 48}
    maps = torch.randn(2, 3, 64, 48, generator=generator)
    scales = torch.rand(2, 1, generator=generator) + 0.5
    ours, theirs = pixelprep.Sapiens2ImageProcessor(size=size), _theirs(size=size)
    for method, key, outputs in (
        ("post_process_normal_estimation", "normals", SimpleNamespace(normals=maps)),
        ("post_process_pointmap_estimation", "pointmap", SimpleNamespace(pointmaps=maps, scales=scales)),
        ("post_process_pointmap_estimation", "pointmap", SimpleNamespace(pointmaps=maps, scales=None)),
    ):
        expected = getattr(theirs, method)(outputs, **kwargs)
        got = getattr(ours, method)(outputs, **kwargs)
        assert [set(item) for item in got] == [{key}] * 2
        for mine, ref in zip(got, expected):
            assert mine[key].shape == ref[key].shape
            torch.testing.assert_close(mine[key], ref[key], rtol=0, atol=1e-5)
    as_numpy = ours.post_process_normal_estimation({"normals": maps.numpy()}, **kwargs)
    assert isinstance(as_numpy[0]["normals"], np.ndarray)


def test_letterbox_then_remove_padding_round_trips() -> None:
    """The image ``do_pad`` placed in the canvas is what ``source_sizes`` cuts back out."""
    rng = np.random.default_rng(8)
    image = rng.integers(0, 256, (50, 120, 3), dtype=np.uint8)
    processor = pixelprep.Sapiens2ImageProcessor(size={"height": 64, "width": 48}, do_pad=True, do_normalize=False)
    canvas = torch.from_numpy(processor(image, return_tensors="np")["pixel_values"])
    rows = torch.nonzero(canvas[0].abs().sum(dim=(0, 2)) > 0)[:, 0]
    assert rows.tolist() == list(range(22, 42))  # 50x120 fitted to 20x48, centred in 64 rows
    (bare,) = processor.post_process_maps(canvas, source_sizes=[(50, 120)], target_sizes=[(20, 48)])
    assert torch.equal(bare, canvas[0, :, 22:42])


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"target_sizes": [(30, 20), (30, 20)]}, {"target_sizes": torch.tensor([[30, 20], [10, 90]])}, {"backgrounds": "two"}, {"backgrounds": "one", "target_sizes": [(30, 20), (30, 20)]}, {"backgrounds": "two", "target_sizes": [(30, 20), (10, 90)]}],
    ids=["plain", "same-targets", "targets", "backgrounds", "one-background", "all"],
)
def test_image_matting_matches(kwargs: dict) -> None:
    generator = torch.Generator().manual_seed(11)
    outputs = SimpleNamespace(foregrounds=torch.rand(2, 3, 64, 48, generator=generator), alphas=torch.rand(2, 1, 64, 48, generator=generator))
    rng = np.random.default_rng(1)
    layers = [rng.integers(0, 256, (40, 30, 3), dtype=np.uint8), torch.rand(3, 64, 48, generator=generator)]
    kwargs = dict(kwargs)
    if kwargs.get("backgrounds") == "two":
        kwargs["backgrounds"] = layers
    elif kwargs.get("backgrounds") == "one":
        kwargs["backgrounds"] = layers[0]
    expected = _theirs().post_process_image_matting(outputs, **kwargs)
    got = pixelprep.Sapiens2ImageProcessor().post_process_image_matting(outputs, **kwargs)
    for mine, ref in zip(got, expected):
        assert set(mine) == set(ref) == {"foreground", "alpha", "composite"}
        for key, value in ref.items():
            if value is None:
                assert mine[key] is None
            else:
                assert mine[key].dtype == value.dtype and mine[key].shape == value.shape, key
                torch.testing.assert_close(mine[key], value, rtol=0, atol=0 if value.dtype == torch.uint8 else 1e-5)


def test_post_processing_errors() -> None:
    processor = pixelprep.Sapiens2ImageProcessor()
    maps = SimpleNamespace(normals=torch.zeros(2, 3, 8, 8))
    with pytest.raises(InvalidArgumentError, match="source_sizes"):
        processor.post_process_normal_estimation(maps, do_remove_padding=True)
    with pytest.raises(InvalidArgumentError, match="target_sizes"):
        processor.post_process_normal_estimation(maps, target_sizes=[(4, 4)])
    with pytest.raises(InvalidArgumentError, match="scales"):
        processor.post_process_pointmap_estimation(SimpleNamespace(pointmaps=torch.zeros(2, 3, 8, 8), scales=torch.ones(3)))
    matting = SimpleNamespace(foregrounds=torch.zeros(2, 3, 8, 8), alphas=torch.zeros(2, 1, 8, 8))
    with pytest.raises(InvalidArgumentError, match="backgrounds"):
        processor.post_process_image_matting(matting, backgrounds=[np.zeros((8, 8, 3), np.uint8)] * 3)
    with pytest.raises(InvalidArgumentError, match="alphas"):
        processor.post_process_image_matting(SimpleNamespace(foregrounds=torch.zeros(2, 3, 8, 8), alphas=torch.zeros(2, 1, 4, 4)))
    with pytest.raises(InvalidArgumentError, match="heatmaps"):
        processor.post_process_semantic_segmentation({"heatmaps": torch.zeros(1)})


def test_resolves_by_name_and_model_type() -> None:
    for config in ({"image_processor_type": "Sapiens2ImageProcessor"}, {"image_processor_type": "Sapiens2ImageProcessorFast"}, {"image_processor_type": "Sapiens2ImageProcessorPil"}, {"model_type": "sapiens2"}):
        assert family_for_config(config) is pixelprep.Sapiens2ImageProcessor, config


def test_runner_rows_equal_each_image_alone(tmp_path, fixture_path) -> None:
    processor = pixelprep.Sapiens2ImageProcessor(backend="pil", size={"height": 64, "width": 48}, do_pad=True)
    inputs = [str(fixture_path(name)) for name in BATCH[:3]]
    run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=2, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    for entry, path in zip(entries, inputs):
        np.testing.assert_array_equal(read_row(tmp_path, entry)["pixel_values"], processor(path, return_tensors="np")["pixel_values"][0])
