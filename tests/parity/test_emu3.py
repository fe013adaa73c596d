"""Emu3 parity with transformers 5.23's legacy (pil-only) Emu3ImageProcessor; the torchvision backend has its geometry.

Ours reads the fixture files itself; transformers gets them decoded (EXIF applied) and, for 16-bit
images, scaled to 8 bits by value as pixelprep documents. transformers fails on a 1x1 image (it
cannot tell its channel axis), so that fixture is checked on our side only.
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
from transformers.models.emu3.processing_emu3 import Emu3Processor

import pixelprep
from pixelprep import InvalidImageError
from pixelprep.runner import read_row, run_job

ATOL = 1e-5
# transformers' pil class against our torchvision backend: only the resize filter differs (bicubic, antialiased)
TORCHVISION_ATOL = 0.1
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare_outputs(got: Any, expected: Any, compare, to_numpy, what: str, atol: float = ATOL) -> None:
    assert set(got) == set(expected) == {"pixel_values", "image_sizes"}, f"{what}: output keys {sorted(got)}"
    sizes = to_numpy(got["image_sizes"])
    assert sizes.dtype == np.int64 and np.array_equal(sizes, np.asarray(to_numpy(expected["image_sizes"]))), f"{what}: image_sizes"
    compare(to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"]), atol=atol, what=what)


@pytest.mark.parametrize("backend", ("pil", "torchvision"))
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, ...): exact on pil, same geometry on torchvision."""
    ours = pixelprep.Emu3ImageProcessor(backend=backend)
    if image_path.name.startswith("single_pixel"):
        out = ours(str(image_path), return_tensors="np")
        assert out["pixel_values"].shape == (1, 3, 512, 512) and out["image_sizes"].tolist() == [[512, 512]]
        return
    expected = transformers.Emu3ImageProcessor()(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    atol = ATOL if backend == "pil" else TORCHVISION_ATOL
    _compare_outputs(ours(str(image_path), return_tensors="np"), expected, compare, to_numpy, f"[{backend}] {image_path.name}", atol)


@pytest.mark.parametrize(
    "call",
    [{}, {"do_normalize": False}, {"resample": 2}, {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
     {"size": {"shortest_edge": 10, "longest_edge": 20}}],
    ids=repr,
)
def test_mixed_batch_nested_and_call_time_options(call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Five sizes padded to the largest (zeros after normalize), nested samples flattened; a call-time size is ignored as in transformers."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.Emu3ImageProcessor(), transformers.Emu3ImageProcessor()
    expected = theirs(images, return_tensors="np", **call)
    _compare_outputs(ours([str(fixture_path(n)) for n in MIXED], return_tensors="np", **call), expected, compare, to_numpy, f"{call}")
    nested = [images[:2], images[2:]]
    _compare_outputs(ours(nested, return_tensors="np", **call), theirs(nested, return_tensors="np", **call), compare, to_numpy, f"nested {call}")


def test_construction_settings_without_padding_and_return_types(fixture_path, load_image, compare, to_numpy) -> None:
    """min/max pixels and spatial_factor at construction; do_pad=False gives a list of unpadded images; "pt" types."""
    images = [load_image(fixture_path(name)) for name in MIXED[:3]]
    config = {"min_pixels": 64 * 64, "max_pixels": 256 * 256, "spatial_factor": 16}
    ours, theirs = pixelprep.Emu3ImageProcessor(**config), transformers.Emu3ImageProcessor(**config)
    _compare_outputs(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), compare, to_numpy, f"{config}")
    got, expected = ours(images, do_pad=False), theirs(images, do_pad=False)
    assert isinstance(got["pixel_values"], list)
    compare(got["pixel_values"], expected["pixel_values"], atol=ATOL, what="do_pad=False")
    got, expected = ours(images, return_tensors="pt"), theirs(images, return_tensors="pt")
    for key in expected:
        assert type(got[key]) is type(expected[key]) is torch.Tensor and got[key].dtype == expected[key].dtype, key


def test_number_of_image_tokens_matches_emu3_processor() -> None:
    """Emu3Processor's token count (its own method, with this image processor) for many sizes, and the real resized sizes."""
    ours, theirs = pixelprep.Emu3ImageProcessor(), transformers.Emu3ImageProcessor()
    processor = SimpleNamespace(image_processor=theirs, downsample_ratio=8)
    rng = np.random.default_rng(0)
    sizes = [(5, 7), (8, 8), (427, 640), (2200, 1700), (90, 1200), (1, 150), (3000, 20)] + [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(200)]
    sizes = [s for s in sizes if max(s) / min(s) <= 200]
    expected = Emu3Processor._get_num_multimodal_tokens(processor, image_sizes=sizes)["num_image_tokens"]
    assert [ours.get_number_of_image_tokens(h, w) for h, w in sizes] == expected
    out = ours(np.zeros((333, 517, 3), np.uint8))
    height, width = (int(v) for v in out["image_sizes"][0])
    assert ours.get_number_of_image_tokens(333, 517) == (height // 8) * (width // 8 + 1)


def test_bad_input_raises_our_errors() -> None:
    ours = pixelprep.Emu3ImageProcessor()
    with pytest.raises(InvalidImageError, match=r"30x7000 .*aspect ratio of 233.3, over the limit of 200"):
        ours(np.zeros((30, 7000, 3), np.uint8))
    with pytest.raises(pixelprep.InvalidArgumentError, match="spatial_factor must be a positive integer"):
        pixelprep.Emu3ImageProcessor(spatial_factor=0)


@pytest.mark.parametrize(("name", "model_type"), [("Emu3ImageProcessor", None), ("Emu3ImageProcessorPil", None), (None, "emu3")])
def test_resolves_by_class_name_and_model_type_on_pil(name, model_type) -> None:
    config: dict[str, Any] = {"spatial_factor": 8}
    config.update({"image_processor_type": name} if name else {"model_type": model_type})
    processor = pixelprep.AutoImageProcessor.from_config(config)
    assert type(processor) is pixelprep.Emu3ImageProcessor and processor.backend_name == "pil"
    assert pixelprep.AutoImageProcessor.from_config(config, backend="torchvision").backend_name == "torchvision"


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if "Emu3ImageProcessor" in classes.values()}
    assert set(pixelprep.Emu3ImageProcessor.model_types) == theirs


def test_repr_shows_the_rule_and_padding() -> None:
    text = repr(pixelprep.Emu3ImageProcessor())
    assert "backend='pil'" in text and "multiples of 8, 262144..1048576 pixels" in text
    assert "image_sizes: (height, width) after the resize" in text and "pad views bottom/right with 0 to the largest" in text


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    """Ours saves min/max_pixels; transformers' own saved form (size as {"min_pixels", "max_pixels"}) loads in ours too."""
    image = (np.arange(300 * 500 * 3) % 253).astype(np.uint8).reshape(300, 500, 3)
    pixelprep.Emu3ImageProcessor(max_pixels=300_000).save_pretrained(tmp_path / "ours")
    transformers.Emu3ImageProcessor(max_pixels=300_000, spatial_factor=16).save_pretrained(tmp_path / "theirs")
    for folder in ("ours", "theirs"):
        theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path / folder))
        again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path / folder))
        assert type(theirs).__name__ == "Emu3ImageProcessor" and again.max_pixels == 300_000
        expected, got = theirs(image, return_tensors="np"), again(image, return_tensors="np")
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
        assert np.array_equal(got["image_sizes"], expected["image_sizes"])


@pytest.mark.parametrize("backend", ("pil", "torchvision"))
def test_runner_rows_equal_each_image_alone(tmp_path, backend: str, fixture_path) -> None:
    """The batch pads to its largest image, so the runner processes images one at a time: read_row equals each alone."""
    processor = pixelprep.Emu3ImageProcessor(backend=backend, min_pixels=64 * 64, max_pixels=128 * 128)
    names = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png"]
    result = run_job(processor, [str(fixture_path(n)) for n in names], str(tmp_path), shard_size=2, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 3)
    for entry in map(json.loads, (tmp_path / "manifest.jsonl").read_text().splitlines()):
        alone, row = processor(entry["source"], return_tensors="np"), read_row(tmp_path, entry)
        assert row.keys() == {"pixel_values", "image_sizes"}
        for key in row:
            np.testing.assert_array_equal(row[key], alone[key])
