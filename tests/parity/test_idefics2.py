"""Idefics2 parity with transformers 5.23: every output key, both backends, against the class of the same backend.

Ours reads the fixture files itself; transformers gets them decoded (EXIF applied) and, for 16-bit
images, scaled to 8 bits by value as pixelprep documents. Idefics2 converts to RGB on both sides.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from PIL import Image

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError, OutputShapeError
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _theirs(backend: str, **config: Any) -> Any:
    transformers.logging.set_verbosity_error()
    return getattr(transformers, "Idefics2ImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare_outputs(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == {"pixel_values", "pixel_attention_mask"}, f"{what}: output keys {sorted(got)}"
    mask = to_numpy(got["pixel_attention_mask"])
    assert mask.dtype == np.int64 and np.array_equal(mask, to_numpy(expected["pixel_attention_mask"])), f"{what}: pixel_attention_mask"
    compare(to_numpy(got["pixel_values"])[None], to_numpy(expected["pixel_values"])[None], atol=ATOL, what=what)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large), without and with the 4-quadrant split."""
    reference = _reference(load_image(image_path), to_eight_bit)
    ours, theirs = pixelprep.Idefics2ImageProcessor(backend=backend), _theirs(backend)
    for call in ({}, {"do_image_splitting": True}):
        if call and min(reference.size) < 2:
            continue  # a 1x1 image has no quadrants (see test_bad_input_raises_our_errors)
        expected = theirs(reference, return_tensors="np", **call)
        got = ours(str(image_path), return_tensors="np", **call)
        _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {image_path.name} {call}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"do_image_splitting": True}, {"size": {"shortest_edge": 200, "longest_edge": 500}}, {"size": {"height": 300, "width": 420}},
     {"do_resize": False}, {"do_image_splitting": True, "do_resize": False}, {"do_normalize": False}, {"resample": 3},
     {"image_mean": [0.4, 0.5, 0.6], "image_std": [0.2, 0.3, 0.4], "rescale_factor": 1 / 127.5}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """Five sizes (7x5 and 1200x90 included) as one sample each, with call-time overrides."""
    images = [[load_image(fixture_path(name))] for name in MIXED]
    ours, theirs = pixelprep.Idefics2ImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(images, return_tensors="np", **call)
    got = ours([[str(fixture_path(name))] for name in MIXED], return_tensors="np", **call)
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_and_flat_inputs(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]] is two samples padded to the larger view count; a flat list is one sample holding every image."""
    names = [["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg"], ["photo_rgb_333x517.jpg"]]
    nested = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = pixelprep.Idefics2ImageProcessor(backend=backend), _theirs(backend)
    for images in (nested, nested[0] + nested[1]):
        for call in ({}, {"do_image_splitting": True}):
            _compare_outputs(ours(images, return_tensors="np", **call), theirs(images, return_tensors="np", **call), compare, to_numpy,
                             f"[{backend}] {len(images)} samples {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_unpadded_outputs(backend: str, compare, to_numpy) -> None:
    """do_pad=False: no mask, nested lists of views (tensors on torchvision), stacked by "pt" only where shapes agree."""
    rng = np.random.default_rng(0)
    a, b = (Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)) for shape in ((40, 50, 3), (60, 50, 3)))
    ours, theirs = pixelprep.Idefics2ImageProcessor(backend=backend), _theirs(backend)
    got, expected = ours([[a], [b, a]], do_pad=False, do_resize=False), theirs([[a], [b, a]], do_pad=False, do_resize=False)
    assert set(got) == set(expected) == {"pixel_values"}
    assert [len(s) for s in got["pixel_values"]] == [len(s) for s in expected["pixel_values"]] == [1, 2]
    for got_sample, expected_sample in zip(got["pixel_values"], expected["pixel_values"]):
        for view, reference in zip(got_sample, expected_sample):
            assert type(view) is type(reference)
            compare(to_numpy(view)[None], to_numpy(reference)[None], atol=ATOL, what=f"[{backend}] unpadded view")
    stacked, reference = ours([[a], [a]], do_pad=False, return_tensors="pt"), theirs([[a], [a]], do_pad=False, return_tensors="pt")
    assert isinstance(stacked["pixel_values"], torch.Tensor) and stacked["pixel_values"].shape == reference["pixel_values"].shape == (2, 1, 3, 378, 378)
    compare(stacked["pixel_values"].numpy()[None], reference["pixel_values"].numpy()[None], atol=ATOL, what="stacked")
    with pytest.raises(OutputShapeError, match="different shapes"):  # transformers: a RuntimeError/ValueError from stacking
        ours([[a], [b]], do_pad=False, do_resize=False, return_tensors="pt")


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_match(backend: str, fixture_path, load_image) -> None:
    image = load_image(fixture_path("photo_rgb_333x517.jpg"))
    ours, theirs = pixelprep.Idefics2ImageProcessor(backend=backend), _theirs(backend)
    for tensors in (None, "pt"):
        got, expected = ours(image, return_tensors=tensors), theirs(image, return_tensors=tensors)
        for key in expected:
            assert type(got[key]) is type(expected[key]), f"[{backend}] {tensors} {key}"
            assert got[key].dtype == expected[key].dtype


@pytest.mark.parametrize("backend", BACKENDS)
def test_uint8_arrays_and_tensors(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = pixelprep.Idefics2ImageProcessor(backend=backend), _theirs(backend)
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        got, expected = ours(value, return_tensors="np", do_image_splitting=True), theirs(value, return_tensors="np", do_image_splitting=True)
        _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {type(value)}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    """Where transformers divides by zero, fails a reshape, or pads empty quadrants, ours names the image and the limit."""
    ours = pixelprep.Idefics2ImageProcessor(backend=backend)
    for shape in ((1, 5, 3), (5, 1, 3)):
        with pytest.raises(InvalidImageError, match=rf"{shape[0]}x{shape[1]} cannot be split into 4 quadrants .*at least 2x2"):
            ours(Image.fromarray(np.zeros(shape, np.uint8)), do_image_splitting=True)
    assert ours(Image.fromarray(np.zeros((1, 5, 3), np.uint8)), return_tensors="np")["pixel_values"].shape == (1, 1, 3, 378, 378)
    with pytest.raises(InvalidArgumentError, match="size must give 'shortest_edge' and 'longest_edge', or 'height' and 'width'"):
        ours(np.zeros((50, 60, 3), np.uint8), size={"longest_edge": 500})
    with pytest.raises(InvalidArgumentError, match="longest_edge 100 is smaller than shortest_edge 378"):
        pixelprep.Idefics2ImageProcessor(size={"shortest_edge": 378, "longest_edge": 100})


def test_resolves_names_and_model_types() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    for name in ("Idefics2ImageProcessor", "Idefics2ImageProcessorFast", "Idefics2ImageProcessorPil"):
        assert type(pixelprep.AutoImageProcessor.from_config({"image_processor_type": name})) is pixelprep.Idefics2ImageProcessor
    assert type(pixelprep.AutoImageProcessor.from_config({"model_type": "idefics2"})) is pixelprep.Idefics2ImageProcessor
    theirs = {t for t, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "Idefics2ImageProcessor"}
    assert set(pixelprep.Idefics2ImageProcessor.model_types) == theirs


def test_repr_shows_the_views() -> None:
    plain = repr(pixelprep.Idefics2ImageProcessor(backend="pil"))
    assert "resize: long side at most 980 (aspect kept), then each side at least 378 bilinear" in plain and "quadrants" not in plain
    split = repr(pixelprep.Idefics2ImageProcessor(backend="pil", do_image_splitting=True))
    assert "views: the 4 quadrants (h//2, w//2) row-major, then the whole image" in split
    assert "each view: resize" in split and "(samples, views, C, H, W) + pixel_attention_mask" in split


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.Idefics2ImageProcessor(backend="pil", do_image_splitting=True)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    assert theirs.do_image_splitting is True
    image = (np.arange(300 * 900 * 3) % 253).astype(np.uint8).reshape(300, 900, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
        assert np.array_equal(got["pixel_attention_mask"], expected["pixel_attention_mask"])


def test_run_stores_each_image_as_it_comes_alone(tmp_path, fixture_path) -> None:
    """pixelprep run: outputs of varying sizes; read_row equals the image processed alone."""
    ours = pixelprep.Idefics2ImageProcessor(backend="torchvision", do_image_splitting=True)
    inputs = [str(fixture_path(n)) for n in ("photo_rgb_640x427.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg")]
    run_job(ours, inputs, str(tmp_path / "out"), shard_size=2, batch_size=3)
    entries = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert [e["source"] for e in entries] == inputs and not any("error" in e for e in entries)
    for path, entry in zip(inputs, entries):
        alone, row = ours(path, return_tensors="np"), read_row(tmp_path / "out", entry)
        assert set(row) == set(alone)
        for key in alone:
            assert np.array_equal(row[key], alone[key]), (path, key)
