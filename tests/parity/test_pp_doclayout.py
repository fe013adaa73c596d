"""PP-DocLayout V2/V3/V4 parity with transformers 5.23 (torchvision classes only there), post-processing on seeded random outputs.

torchvision: 1e-5 against transformers. pil, against the same classes: V2 and V3 resize 8-bit pages
without antialiasing, where our NumPy interpolation stays within 2 levels of torch's 8-bit bicubic
kernel (2 / 255 with std 1); V4 resizes floats in [0, 1] (float32 rounding: 1e-4).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.models.pp_doclayout import reading_order_ranks

VERSIONS = ("V2", "V3", "V4")
BACKENDS = ("torchvision", "pil")
PIL_ATOL = {"V2": 2 / 255 + 1e-6, "V3": 2 / 255 + 1e-6, "V4": 1e-4}
MIXED = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png", "palette_p_trns_240x160.png"]


def _atol(version: str, backend: str, call: dict) -> float:
    if backend == "torchvision":
        return 1e-5
    # without the rescale, 8-bit levels are the unit: the 2-level rounding of the 8-bit kernel is 2 there
    atol = 2.0 + 1e-6 if call.get("do_rescale") is False else PIL_ATOL[version]
    return atol / min(call.get("image_std", [1.0]))


def _ours(version: str, backend: str, **config: Any) -> Any:
    return getattr(pixelprep, f"PPDocLayout{version}ImageProcessor")(backend=backend, **config)


def _theirs(version: str, **config: Any) -> Any:
    return getattr(transformers, f"PPDocLayout{version}ImageProcessor")(**config)


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("version", VERSIONS)
def test_every_fixture_image(version: str, backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    expected = _theirs(version)(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = _ours(version, backend)(str(image_path), return_tensors="np")
    assert set(got) == set(expected) == {"pixel_values"} and got["pixel_values"].shape == (1, 3, 800, 800)
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=_atol(version, backend, {}), what=f"{version} [{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "call",
    [{}, {"size": {"height": 640, "width": 480}}, {"do_rescale": False}, {"resample": 2}, {"image_mean": [0.5, 0.4, 0.3], "image_std": [0.5, 1.0, 2.0]},
     {"do_resize": False, "do_pad": True}, {"do_resize": False, "do_pad": True, "pad_size": {"height": 1300, "width": 1300}},
     {"do_center_crop": True, "crop_size": {"height": 600, "width": 700}}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(version: str, backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    images = [load_image(fixture_path(name)) for name in MIXED]
    expected = _theirs(version)([_reference(image, to_eight_bit) for image in images], return_tensors="np", **call)
    got = _ours(version, backend)([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    assert set(got) == {"pixel_values"}
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=_atol(version, backend, call), what=f"{version} [{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("scale", [1.0, 255.0], ids=["unit-floats", "level-floats"])
def test_v4_float_inputs_clip_to_their_range(backend: str, scale: float, compare, to_numpy) -> None:
    """V4 bounds the bicubic overshoot by 1 for float images in [0, 1] (with do_rescale=False), else by 255 x rescale_factor."""
    rng = np.random.default_rng(5)
    images = [(rng.random((120, 90, 3)) * scale).astype(np.float32) for _ in range(2)]
    call = {"do_rescale": scale == 255.0, "return_tensors": "np", "input_data_format": "channels_last"}
    expected = to_numpy(_theirs("V4")(images, **call)["pixel_values"])
    got = _ours("V4", backend)(images, **call)["pixel_values"]
    assert got.max() <= 1.0
    compare(got, expected, atol=1e-4, what=f"V4 [{backend}] floats x{scale}")


def _detr_outputs(seed: int, batch: int = 2, queries: int = 30, classes: int = 6, masks: bool = False) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(seed)
    outputs = SimpleNamespace(
        logits=torch.randn(batch, queries, classes, generator=generator) * 2,
        pred_boxes=torch.rand(batch, queries, 4, generator=generator) * 0.5 + 0.25,
        order_logits=torch.randn(batch, queries, queries, generator=generator) * 3,
    )
    if masks:
        low = torch.randn(batch, queries, 20, 20, generator=generator) * 4
        outputs.out_masks = torch.nn.functional.interpolate(low, size=(200, 200), mode="bilinear")
    return outputs


def _assert_same_results(got: list, expected: list) -> None:
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected):
        assert set(ours) == set(theirs)
        for key, value in theirs.items():
            if key == "polygon_points":
                assert len(ours[key]) == len(value)
                for a, b in zip(ours[key], value):
                    assert (a is None and b is None) or np.array_equal(np.asarray(a), np.asarray(b)), key
            else:
                assert ours[key].dtype == value.dtype and torch.allclose(ours[key], value, atol=1e-5, rtol=0) and ours[key].shape == value.shape, key


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("sizes", [None, "list", "tensor"])
@pytest.mark.parametrize("threshold", [0.5, 0.8])
def test_v2_post_process_matches_transformers(seed: int, sizes: str | None, threshold: float) -> None:
    outputs = _detr_outputs(seed)
    target_sizes = {None: None, "list": [(800, 600), (1200, 90)], "tensor": torch.tensor([[800, 600], [1200, 90]])}[sizes]
    expected = _theirs("V2").post_process_object_detection(outputs, threshold=threshold, target_sizes=target_sizes)
    got = _ours("V2", "pil").post_process_object_detection(outputs, threshold=threshold, target_sizes=target_sizes)
    _assert_same_results(got, expected)
    assert sum(len(result["scores"]) for result in got) > 0


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("sizes", ["list", "tensor"])
def test_v3_post_process_polygons_match_transformers(seed: int, sizes: str) -> None:
    outputs = _detr_outputs(seed, masks=True)
    target_sizes = [(800, 600), (517, 333)] if sizes == "list" else torch.tensor([[800, 600], [517, 333]])
    expected = _theirs("V3").post_process_object_detection(outputs, threshold=0.5, target_sizes=target_sizes)
    got = _ours("V3", "pil").post_process_object_detection(outputs, threshold=0.5, target_sizes=target_sizes)
    _assert_same_results(got, expected)
    assert any(len(polygon) > 4 for result in got for polygon in result["polygon_points"] if polygon is not None)


def test_v3_custom_vertices_match_transformers() -> None:
    rng = np.random.default_rng(0)
    square_with_notch = np.array([[0, 0], [10, 0], [10, 10], [5, 5], [0, 10]])
    for polygon in [square_with_notch, rng.integers(0, 50, (7, 2)), np.array([[0, 0], [10, 0], [0, 10]])]:
        for angle in (45, 90, 30):
            expected = _theirs("V3").extract_custom_vertices(polygon, angle)
            assert np.array_equal(np.asarray(_ours("V3", "pil").extract_custom_vertices(polygon, angle)), np.asarray(expected))


def _v4_outputs(seed: int, batch: int = 2, queries: int = 25, classes: int = 5) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(seed)
    successor = torch.randn(batch, queries, queries, generator=generator) * 3 - 2
    successor[:, torch.arange(queries), torch.arange(queries)] = -1e4  # the head masks its diagonal
    return SimpleNamespace(
        logits=torch.randn(batch, queries, classes, generator=generator) * 2,
        pred_boxes=torch.rand(batch, queries, 10, generator=generator),
        relative_order_logits=torch.randn(batch, queries, queries, generator=generator) * 3,
        successor_order_logits=successor,
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threshold", [0.3, 0.6])
def test_v4_post_process_matches_transformers(seed: int, threshold: float) -> None:
    outputs = _v4_outputs(seed)
    for target_sizes in ([(800, 600), (1200, 90)], torch.tensor([[800.0, 600.0], [1200.0, 90.0]])):
        expected = _theirs("V4").post_process_object_detection(outputs, threshold=threshold, target_sizes=target_sizes)
        got = _ours("V4", "pil").post_process_object_detection(outputs, threshold=threshold, target_sizes=target_sizes)
        _assert_same_results(got, expected)


@pytest.mark.parametrize("seed", range(20))
def test_v4_reading_order_matches_transformers_decoder(seed: int) -> None:
    """The graph decoding alone (cycles dropped, components, Borda ties) on dense random graphs, small and larger."""
    rng = np.random.default_rng(seed)
    count = int(rng.integers(0, 40))
    relative, successor = rng.normal(0, 3, (count, count)), rng.normal(0, 2, (count, count)) - (seed % 3)
    expected = _theirs("V4")._decode_reading_order(relative, successor)
    assert np.array_equal(reading_order_ranks(relative, successor), expected)


def test_post_process_bad_input_raises_our_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="got 1 target sizes for a batch of 2"):
        _ours("V2", "pil").post_process_object_detection(_detr_outputs(0), target_sizes=[(10, 10)])
    with pytest.raises(InvalidArgumentError, match="needs target_sizes"):
        _ours("V3", "pil").post_process_object_detection(_detr_outputs(0, masks=True))
    with pytest.raises(InvalidArgumentError, match="needs target_sizes"):
        _ours("V4", "pil").post_process_object_detection(_v4_outputs(0))
    outputs = _v4_outputs(0)
    outputs.pred_boxes = outputs.pred_boxes[..., :4]
    with pytest.raises(InvalidArgumentError, match="10 values"):
        _ours("V4", "pil").post_process_object_detection(outputs, target_sizes=[(10, 10)] * 2)
    with pytest.raises(InvalidArgumentError, match="the model outputs have no 'order_logits'"):
        _ours("V2", "pil").post_process_object_detection({"logits": torch.zeros(1, 2, 3), "pred_boxes": torch.zeros(1, 2, 4)})
    with pytest.raises(InvalidArgumentError, match="size must give 'height' and 'width'"):
        _ours("V2", "pil")(np.zeros((10, 10, 3), np.uint8), size={"shortest_edge": 800})


@pytest.mark.parametrize("version", VERSIONS)
def test_resolves_by_class_name_and_model_type(version: str) -> None:
    cls = getattr(pixelprep, f"PPDocLayout{version}ImageProcessor")
    for config in ({"model_type": f"pp_doclayout_{version.lower()}"}, {"image_processor_type": cls.__name__}, {"image_processor_type": cls.__name__ + "Fast"}):
        assert type(pixelprep.AutoImageProcessor.from_config(config)) is cls
