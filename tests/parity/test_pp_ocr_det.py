"""PP-OCRv5/v6 text detection parity with transformers 5.23 (torchvision only there): every output key, post-processing.

The torchvision backend is held to 1e-5 against ``PPOCRV5ServerDetImageProcessor``. transformers has no
pil class: our pil backend runs the same geometry and is compared with the torchvision class at 5e-4,
the distance between Pillow's and torch's float resize filters (both resize the float pixels, 0..255;
they differ by under 0.03 levels, which normalisation by std 0.225/255 turns into under 5e-4).
"""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import BackendUnavailableError, InvalidArgumentError

BACKENDS = ("torchvision", "pil")
ATOL = {"torchvision": 1e-5, "pil": 5e-4}
MIXED = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png", "photo_rgb_1023x768.jpg"]
MODEL_TYPES = ("pp_ocrv5_server_det", "pp_ocrv5_mobile_det", "pp_ocrv6_medium_det", "pp_ocrv6_small_det")


def _reference(image, to_eight_bit):
    """The input transformers must get for what pixelprep documents: 16-bit scaled by value, then RGB."""
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


def _compare(got: Any, expected: Any, backend: str, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == {"pixel_values", "target_sizes"}, f"{what}: keys {sorted(got)}"
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL[backend], what=what)
    got_sizes, expected_sizes = to_numpy(got["target_sizes"]), to_numpy(expected["target_sizes"])
    assert np.array_equal(np.asarray(got_sizes), np.asarray(expected_sizes)) and np.asarray(got_sizes).dtype == np.float32, f"{what}: target_sizes"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): BGR pixel_values and target_sizes."""
    expected = transformers.PPOCRV5ServerDetImageProcessor()(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = pixelprep.PPOCRV5ServerDetImageProcessor(backend=backend)(str(image_path), return_tensors="np")
    _compare(got, expected, backend, compare, to_numpy, f"[{backend}] {image_path.name}")
    assert got["pixel_values"].shape[1] == 3


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"limit_type": "min", "limit_side_len": 64}, {"limit_type": "resize_long", "limit_side_len": 320}, {"limit_side_len": 200, "max_side_limit": 150},
     {"resample": 3}, {"do_normalize": False}, {"image_mean": [0.5, 0.4, 0.3], "image_std": 0.5}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of differently sized images (a list per key, as transformers returns it) under call-time options."""
    images = [load_image(fixture_path(name)) for name in MIXED]
    expected = transformers.PPOCRV5ServerDetImageProcessor()([_reference(image, to_eight_bit) for image in images], **call)
    got = pixelprep.PPOCRV5ServerDetImageProcessor(backend=backend)([str(fixture_path(name)) for name in MIXED], **call)
    assert isinstance(got["pixel_values"], list) and len(got["pixel_values"]) == len(images)
    _compare(got, expected, backend, compare, to_numpy, f"[{backend}] batch {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_size_batch_stacks_like_transformers(backend: str, compare, to_numpy) -> None:
    """Images that resize alike stack into one tensor with return_tensors="pt", target_sizes into (N, 2)."""
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (300, 500, 3), dtype=np.uint8) for _ in range(2)]
    config = {"limit_side_len": 256, "limit_type": "resize_long"}
    expected = transformers.PPOCRV5ServerDetImageProcessor(**config)(images, return_tensors="pt")
    got = pixelprep.PPOCRV5ServerDetImageProcessor(backend=backend, **config)(images, return_tensors="pt")
    assert got["pixel_values"].shape == expected["pixel_values"].shape == (2, 3, 160, 256)
    assert got["target_sizes"].shape == (2, 2) and torch.equal(got["target_sizes"], expected["target_sizes"])
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL[backend], what=f"[{backend}] stacked")


def test_sizes_match_transformers_get_image_size() -> None:
    """get_image_size (the public helper) gives transformers' answer for every limit type, as a dict and a float32 tensor."""
    ours, theirs = pixelprep.PPOCRV5ServerDetImageProcessor(), transformers.PPOCRV5ServerDetImageProcessor()
    for height, width in [(5, 7), (427, 640), (1200, 90), (3000, 4000), (50, 9000), (16, 16)]:
        image = torch.zeros(3, height, width)
        for args in [(960, "max", 4000), (64, "min", 4000), (736, "resize_long", 4000), (2000, "max", 1000), (960, "min", None)]:
            size, original = ours.get_image_size(image, *args)
            expected_size, expected_original = theirs.get_image_size(image, *args)
            assert (size["height"], size["width"]) == (expected_size.height, expected_size.width), (height, width, args)
            assert torch.equal(original, expected_original)


def _probability_maps(batch: int, height: int, width: int, seed: int) -> torch.Tensor:
    """Seeded smooth random maps (blobs of text-like probability), as a detection head gives."""
    low = torch.rand(batch, 1, max(2, height // 8), max(2, width // 8), generator=torch.Generator().manual_seed(seed))
    smooth = torch.nn.functional.interpolate(low, size=(height, width), mode="bilinear")
    return torch.sigmoid((smooth - 0.55) * 15)  # sharpened: confident regions on a low background


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"threshold": 0.6, "box_threshold": 0.7}, {"unclip_ratio": 2.0, "min_size": 1}, {"max_candidates": 3, "box_threshold": 0.5},
     {"threshold": 0.2, "box_threshold": 0.3, "min_size": 0}],
    ids=repr,
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_post_process_matches_transformers(kwargs: dict, seed: int) -> None:
    """Boxes (int16 corners), scores and labels of seeded random probability maps equal transformers' for every image."""
    maps = _probability_maps(3, 96, 128, seed)
    sizes = torch.tensor([[400.0, 500.0], [96.0, 128.0], [1200.0, 90.0]])
    expected = transformers.PPOCRV5ServerDetImageProcessor().post_process_object_detection(SimpleNamespace(last_hidden_state=maps), target_sizes=sizes, **kwargs)
    got = pixelprep.PPOCRV5ServerDetImageProcessor().post_process_object_detection(SimpleNamespace(last_hidden_state=maps), target_sizes=sizes, **kwargs)
    assert len(got) == len(expected) == 3
    for ours, theirs in zip(got, expected):
        assert set(ours) == set(theirs) == {"boxes", "scores", "labels"}
        for key in ours:
            assert ours[key].dtype == theirs[key].dtype and torch.equal(ours[key], theirs[key]), f"{key} {kwargs}"
    assert sum(len(result["scores"]) for result in got) > 0, "the maps should hold text regions"


def test_post_process_takes_the_processor_outputs_and_numpy(fixture_path) -> None:
    """target_sizes straight from the processor, a dict of NumPy maps, and a list of (height, width) pairs all work."""
    processor = pixelprep.PPOCRV5ServerDetImageProcessor(limit_side_len=128)
    batch = processor([str(fixture_path("photo_rgb_640x427.jpg"))], return_tensors="pt")
    maps = _probability_maps(1, *batch["pixel_values"].shape[-2:], seed=4)
    from_batch = processor.post_process_object_detection({"last_hidden_state": maps.numpy()}, target_sizes=batch["target_sizes"])
    from_pairs = processor.post_process_object_detection(SimpleNamespace(last_hidden_state=maps), target_sizes=[(427, 640)])
    assert torch.equal(from_batch[0]["boxes"], from_pairs[0]["boxes"]) and len(from_pairs[0]["boxes"]) > 0
    assert int(from_pairs[0]["boxes"][..., 0].max()) <= 640 and int(from_pairs[0]["boxes"][..., 1].max()) <= 427


def test_bad_arguments_raise_our_errors(monkeypatch) -> None:
    processor = pixelprep.PPOCRV5ServerDetImageProcessor()
    image = np.zeros((40, 50, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match=r"limit_type must be one of \['max', 'min', 'resize_long'\], got 'long'"):
        processor(image, limit_type="long")
    with pytest.raises(InvalidArgumentError, match="limit_side_len must be a positive integer"):
        pixelprep.PPOCRV5ServerDetImageProcessor(limit_side_len=0)
    maps = SimpleNamespace(last_hidden_state=torch.rand(2, 1, 32, 32))
    with pytest.raises(InvalidArgumentError, match="needs target_sizes"):
        processor.post_process_object_detection(maps)
    with pytest.raises(InvalidArgumentError, match="got 1 target sizes for a batch of 2"):
        processor.post_process_object_detection(maps, target_sizes=[(32, 32)])
    with pytest.raises(InvalidArgumentError, match=r"\(batch, 1, height, width\)"):
        processor.post_process_object_detection(SimpleNamespace(last_hidden_state=torch.rand(2, 32, 32)), target_sizes=[(32, 32)] * 2)
    monkeypatch.setitem(__import__("sys").modules, "cv2", None)  # OpenCV missing: our error says what to install
    with pytest.raises(BackendUnavailableError, match=r"pixelprep\[ocr\]"):
        processor.post_process_object_detection(maps, target_sizes=[(32, 32)] * 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_target_sizes_without_resize(backend: str, compare, to_numpy) -> None:
    """do_resize=False: transformers returns an empty target_sizes (its post-processing then has nothing to scale to);
    ours still gives each input's size (README), and pixel_values equal transformers'."""
    image = np.random.default_rng(1).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    expected = transformers.PPOCRV5ServerDetImageProcessor()(image, do_resize=False)
    assert expected["target_sizes"] == []
    got = pixelprep.PPOCRV5ServerDetImageProcessor(backend=backend)(image, do_resize=False)
    assert np.array_equal(to_numpy(got["target_sizes"]), [[50.0, 70.0]])
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL[backend], what="no resize")


@pytest.mark.parametrize("name", ["PPOCRV5ServerDetImageProcessor", "PPOCRV5ServerDetImageProcessorFast", *MODEL_TYPES])
def test_resolves_by_class_name_and_model_type(name: str) -> None:
    key = "model_type" if name in MODEL_TYPES else "image_processor_type"
    assert type(pixelprep.AutoImageProcessor.from_config({key: name})) is pixelprep.PPOCRV5ServerDetImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "PPOCRV5ServerDetImageProcessor"}
    assert set(pixelprep.PPOCRV5ServerDetImageProcessor.model_types) == theirs == set(MODEL_TYPES)


def test_saved_config_loads_in_transformers(tmp_path) -> None:
    ours = pixelprep.PPOCRV5ServerDetImageProcessor(limit_side_len=64, limit_type="min")
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    assert (theirs.limit_side_len, theirs.limit_type, theirs.max_side_limit) == (64, "min", 4000)
    image = np.random.default_rng(2).integers(0, 256, (40, 90, 3), dtype=np.uint8)
    assert np.abs(ours(image, return_tensors="np")["pixel_values"] - np.asarray(theirs(image, return_tensors="np")["pixel_values"])).max() <= 1e-5


def test_repr_shows_the_limits_and_bgr() -> None:
    text = repr(pixelprep.PPOCRV5ServerDetImageProcessor(backend="pil"))
    assert "sides limited (max 960, at most 4000) and rounded to multiples of 32" in text and "RGB to BGR" in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    from pixelprep.runner import read_row, run_job

    processor = pixelprep.PPOCRV5ServerDetImageProcessor(backend=backend, limit_side_len=256)
    inputs = [str(fixture_path(name)) for name in ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png")]
    result = run_job(processor, inputs, str(tmp_path), shard_size=4, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 3)
    for line in (tmp_path / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        alone, row = processor(entry["source"], return_tensors="np"), read_row(tmp_path, entry)
        assert row.keys() == {"pixel_values", "target_sizes"}
        for key in row:
            np.testing.assert_array_equal(row[key], alone[key][0])
