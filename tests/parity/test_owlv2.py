"""OWLv2 against transformers 5.23's Owlv2ImageProcessor (torchvision) and Owlv2ImageProcessorPil, run in the same process.

Every fixture image, mixed-size batches, call-time options, the single-step ``resize``/``pad``, and both
post-processings on seeded random model outputs. Tolerance 1e-5.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb
from transformers.image_utils import SizeDict

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.auto import family_for_config

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
BATCH = ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg", "tiny_rgb_7x5.png")
TARGETS = [None, [(480, 640), (333, 517)], torch.tensor([[480, 640], [517, 333]])]


def _theirs(backend: str, **config) -> object:
    return (transformers.Owlv2ImageProcessorPil if backend == "pil" else transformers.Owlv2ImageProcessor)(**config)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_matches(backend: str, image_path, load_image, compare, to_numpy, to_eight_bit) -> None:
    """Every mode (EXIF, gray, RGBA, palette, CMYK, 16-bit, 1x1, 7x5, 1200x90, 1023x768): pixel values within 1e-5."""
    image = load_image(image_path)
    reference = to_eight_bit(image) if image.mode.startswith("I") else image  # 16-bit: scaled to 8 bits (README)
    expected = _theirs(backend)(convert_to_rgb(reference), return_tensors="np")["pixel_values"]  # alpha onto white, as ours
    got = pixelprep.Owlv2ImageProcessor(backend=backend)(str(image_path), return_tensors="np")["pixel_values"]
    compare(got, expected, atol=ATOL, what=f"OWLv2 [{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [
        {},
        {"size": {"height": 768, "width": 768}},
        {"size": 320, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.5, 0.75]},
        {"do_normalize": False},
        {"rescale_factor": 0.5 / 255},
        {"do_pad": False, "size": {"height": 300, "width": 200}},
    ],
    ids=["default", "768", "320-mean-std", "no-normalize", "rescale-factor", "no-pad-rect"],
)
def test_mixed_size_batch_and_call_options(backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """A batch of differently sized images (a gray one, a 7x5 one that is enlarged) with call-time options."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    expected = _theirs(backend)(images, return_tensors="pt", **call)
    got = pixelprep.Owlv2ImageProcessor(backend=backend)(images, return_tensors="pt", **call)
    assert set(got) == set(expected) == {"pixel_values"}
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL, what=f"OWLv2 [{backend}] {call}")


def test_no_resize_keeps_each_padded_square(fixture_path, load_image, compare, to_numpy) -> None:
    """``do_resize=False``: each image padded to its own square (a list); transformers' torchvision class crashes here, its pil class is the reference."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH[:2]]
    expected = _theirs("pil")(images, do_resize=False)["pixel_values"]
    for backend in BACKENDS:
        got = pixelprep.Owlv2ImageProcessor(backend=backend)(images, do_resize=False)["pixel_values"]
        assert [tuple(g.shape) for g in got] == [(3, 640, 640), (3, 1200, 1200)]
        for mine, theirs in zip(got, expected):
            compare(mine, to_numpy(theirs), atol=ATOL, what=f"OWLv2 [{backend}] no resize")


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_step_resize_and_pad_match(backend: str) -> None:
    rng = np.random.default_rng(0)
    image = rng.random((3, 150, 230)).astype(np.float32)
    # transformers' torchvision resize takes a batch (N, C, H, W): it reads the sides from shape[2:]
    batch = torch.from_numpy(image)[None] if backend == "torchvision" else image
    ours, theirs = pixelprep.Owlv2ImageProcessor(backend=backend), _theirs(backend)
    for size, anti_aliasing in (({"height": 64, "width": 80}, True), ({"height": 64, "width": 80}, False), ({"height": 300, "width": 400}, True)):
        expected = theirs.resize(batch, SizeDict(**size) if backend == "torchvision" else size, anti_aliasing=anti_aliasing)
        got = ours.resize(batch, size, anti_aliasing=anti_aliasing)
        assert type(got) is type(expected) and tuple(got.shape) == tuple(expected.shape)
        assert np.abs(np.asarray(got, np.float64) - np.asarray(expected, np.float64)).max() <= ATOL, size
    given = torch.from_numpy(image) if backend == "torchvision" else image
    if backend == "torchvision":
        expected, got = theirs.pad([given], disable_grouping=None, constant_value=0.5)[0], ours.pad([given], constant_value=0.5)[0]
    else:
        expected, got = theirs.pad(given, constant_value=0.5), ours.pad(given, constant_value=0.5)
    assert tuple(got.shape) == (3, 230, 230) and np.array_equal(np.asarray(got), np.asarray(expected))
    with pytest.raises(InvalidArgumentError, match="anti_aliasing_sigma"):
        ours.resize(given, {"height": 10, "width": 10}, anti_aliasing_sigma=2.0)


def _outputs(seed: int, queries: int = 60, texts: int = 3) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, queries, texts, generator=generator) * 3
    boxes = torch.rand(2, queries, 4, generator=generator) * 0.4 + 0.3  # overlapping boxes: NMS has work
    return SimpleNamespace(logits=logits, pred_boxes=boxes, target_pred_boxes=boxes)


def _same(ours: list[dict], theirs: list[dict]) -> None:
    assert len(ours) == len(theirs) and sum(len(r["scores"]) for r in theirs) > 0
    for mine, ref in zip(ours, theirs):
        assert set(mine) == set(ref)
        for key, value in ref.items():
            if value is None:
                assert mine[key] is None
            else:
                torch.testing.assert_close(mine[key], value, rtol=0, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("target_index", range(len(TARGETS)))
@pytest.mark.parametrize("threshold", [0.1, 0.6])
def test_object_detection_matches(backend: str, target_index: int, threshold: float) -> None:
    """Boxes scaled by the longer side of each target size (the image was padded to a square)."""
    outputs = _outputs(3)
    kwargs = {"threshold": threshold, "target_sizes": TARGETS[target_index]}
    _same(pixelprep.Owlv2ImageProcessor(backend=backend).post_process_object_detection(outputs, **kwargs), _theirs(backend).post_process_object_detection(outputs, **kwargs))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("target_index", [0, 2])
@pytest.mark.parametrize(("threshold", "nms_threshold"), [(0.0, 0.3), (0.5, 0.3), (0.2, 1.0)])
def test_image_guided_detection_matches(backend: str, target_index: int, threshold: float, nms_threshold: float) -> None:
    outputs = _outputs(5)
    kwargs = {"threshold": threshold, "nms_threshold": nms_threshold, "target_sizes": TARGETS[target_index]}
    theirs = _theirs(backend).post_process_image_guided_detection(_outputs(5), **kwargs)  # transformers zeroes scores in place
    _same(pixelprep.Owlv2ImageProcessor(backend=backend).post_process_image_guided_detection(outputs, **kwargs), theirs)


def test_numpy_outputs_give_numpy_results() -> None:
    outputs = _outputs(3)
    as_numpy = SimpleNamespace(logits=outputs.logits.numpy(), pred_boxes=outputs.pred_boxes.numpy())
    got = pixelprep.Owlv2ImageProcessor().post_process_object_detection(as_numpy, target_sizes=[(480, 640), (333, 517)])
    expected = _theirs("torchvision").post_process_object_detection(outputs, target_sizes=[(480, 640), (333, 517)])
    assert isinstance(got[0]["boxes"], np.ndarray)
    np.testing.assert_allclose(got[1]["boxes"], expected[1]["boxes"].numpy(), atol=1e-5)


def test_resolves_by_name_and_model_type() -> None:
    for config in ({"image_processor_type": "Owlv2ImageProcessor"}, {"image_processor_type": "Owlv2ImageProcessorFast"}, {"image_processor_type": "Owlv2ImageProcessorPil"}, {"model_type": "owlv2"}):
        assert family_for_config(config) is pixelprep.Owlv2ImageProcessor, config
    assert pixelprep.Owlv2ImageProcessor.from_dict({"rescale": False}).do_rescale is False


def test_bad_inputs_are_our_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="size"):
        pixelprep.Owlv2ImageProcessor(size={"shortest_edge": 300})(np.zeros((20, 30, 3), np.uint8))
    with pytest.raises(InvalidArgumentError, match="target sizes"):
        pixelprep.Owlv2ImageProcessor().post_process_object_detection(_outputs(1), target_sizes=[(10, 10)])


def test_runner_rows_equal_each_image_alone(tmp_path, fixture_path) -> None:
    """``pixelprep run``: each stored row equals the image processed alone."""
    import io

    from pixelprep.runner import read_row, run_job

    processor = pixelprep.Owlv2ImageProcessor(backend="pil", size=64)
    inputs = [str(fixture_path(name)) for name in BATCH[:3]]
    run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=2, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    for entry, path in zip(entries, inputs):
        np.testing.assert_array_equal(read_row(tmp_path, entry)["pixel_values"], processor(path, return_tensors="np")["pixel_values"][0])
