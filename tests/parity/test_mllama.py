"""Mllama parity with transformers 5.23: every output key, both backends, against the class of the same backend."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.models.mllama.image_processing_mllama import get_optimal_tiled_canvas

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
KEYS = {"pixel_values", "aspect_ratio_ids", "aspect_ratio_mask", "num_tiles"}
# Llama-3.2-Vision's preprocessor_config.json values
LLAMA = {"size": {"height": 560, "width": 560}, "max_image_tiles": 4, "image_mean": [0.48145466, 0.4578275, 0.40821073],
         "image_std": [0.26862954, 0.26130258, 0.27577711]}
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _theirs(backend: str, **config: Any) -> Any:
    return getattr(transformers, "MllamaImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == KEYS, f"{what}: output keys {sorted(got)}"
    assert got["num_tiles"] == expected["num_tiles"] and isinstance(got["num_tiles"], list), f"{what}: num_tiles"
    for key in ("aspect_ratio_ids", "aspect_ratio_mask"):
        ours, theirs = to_numpy(got[key]), to_numpy(expected[key])
        assert ours.dtype == theirs.dtype == np.int64 and np.array_equal(ours, theirs), f"{what}: {key}"
    compare(to_numpy(got["pixel_values"])[None], to_numpy(expected["pixel_values"])[None], atol=ATOL, what=what)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large) with Llama-3.2-Vision's config."""
    ours, theirs = pixelprep.MllamaImageProcessor(backend=backend, **LLAMA), _theirs(backend, **LLAMA)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, compare, to_numpy, f"[{backend}] {image_path.name}")


# do_pad/do_resize False at call time are ignored by transformers (it refuses them only at construction)
CALLS = [{}, {"max_image_tiles": 2}, {"max_image_tiles": 1}, {"max_image_tiles": 6}, {"size": {"height": 224, "width": 224}},
         {"resample": 3, "do_normalize": False}, {"do_rescale": False, "do_normalize": False}, {"do_pad": False, "do_resize": False}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A flat list of five sizes is one sample of five images, as in transformers; canvases of 1, 2 and 3 tiles."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.MllamaImageProcessor(backend=backend, **LLAMA), _theirs(backend, **LLAMA)
    expected = theirs(images, return_tensors="np", **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare(got, expected, compare, to_numpy, f"[{backend}] {call}")
    assert len(got["num_tiles"]) == 1 and len(got["num_tiles"][0]) == len(MIXED)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]]: two samples; the second's missing image is zero pixels, id 0 and a mask with only its first tile set."""
    names = [["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg"], ["photo_rgb_1023x768.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = pixelprep.MllamaImageProcessor(backend=backend, **LLAMA), _theirs(backend, **LLAMA)
    got = ours(images, return_tensors="np")
    _compare(got, theirs(images, return_tensors="np"), compare, to_numpy, f"[{backend}] nested")
    assert got["pixel_values"].shape == (2, 2, 4, 3, 560, 560) and not got["pixel_values"][1, 1].any()
    assert got["aspect_ratio_ids"][1, 1] == 0 and got["aspect_ratio_mask"][1, 1].tolist() == [1, 0, 0, 0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_and_arrays(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = pixelprep.MllamaImageProcessor(backend=backend, **LLAMA), _theirs(backend, **LLAMA)
    got, expected = ours(image, return_tensors="pt"), theirs(image, return_tensors="pt")
    for key in ("pixel_values", "aspect_ratio_ids", "aspect_ratio_mask"):
        assert type(got[key]) is type(expected[key]) is torch.Tensor and got[key].dtype == expected[key].dtype, key
    assert got["num_tiles"] == expected["num_tiles"] == [[2]]
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), compare, to_numpy, f"[{backend}] {type(value)}")


def test_number_of_tiles_is_the_pipeline_geometry() -> None:
    """get_number_of_tiles agrees with transformers' canvas for many sizes and options, and with num_tiles from a call."""
    ours = pixelprep.MllamaImageProcessor(backend="pil", **LLAMA)
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (560, 560), (427, 640), (3024, 4032), (90, 1200), (1, 5000), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(200)]
    for height, width in sizes:
        for kwargs, tiles, tile in ((None, 4, 560), ({"max_image_tiles": 8}, 8, 560), ({"size": {"height": 336, "width": 336}, "other": 1}, 4, 336)):
            canvas_h, canvas_w = get_optimal_tiled_canvas(height, width, tiles, tile)
            assert ours.get_number_of_tiles(height, width, kwargs) == (canvas_h // tile) * (canvas_w // tile), (height, width, kwargs)
    for height, width in [(333, 517), (90, 1200), (1500, 1500)]:
        assert ours(np.zeros((height, width, 3), np.uint8))["num_tiles"] == [[ours.get_number_of_tiles(height, width)]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    """What transformers refuses at construction, and what would give a malformed output at call time, are our errors."""
    with pytest.raises(InvalidArgumentError, match="do_pad=False is not supported"):
        pixelprep.MllamaImageProcessor(backend=backend, do_pad=False)
    with pytest.raises(InvalidArgumentError, match="do_resize=False is not supported"):
        pixelprep.MllamaImageProcessor(backend=backend, do_resize=False)
    with pytest.raises(InvalidArgumentError, match=r"size must be a square \{'height': t, 'width': t\}"):
        pixelprep.MllamaImageProcessor(backend=backend, size={"height": 100, "width": 200})
    with pytest.raises(InvalidArgumentError, match="max_image_tiles must be a positive integer"):
        pixelprep.MllamaImageProcessor(backend=backend, max_image_tiles=0)
    ours = pixelprep.MllamaImageProcessor(backend=backend, **LLAMA)
    image = np.zeros((56, 56, 3), np.uint8)
    # transformers tiles a non-square size into tiles of another shape; we refuse it
    with pytest.raises(InvalidArgumentError, match=r"size must be a square .* got \{'height': 100, 'width': 200\}"):
        ours(image, size={"height": 100, "width": 200})
    with pytest.raises(InvalidArgumentError, match="max_image_tiles must be a positive integer"):
        ours(image, max_image_tiles=0)  # transformers: "not enough values to unpack"
    with pytest.raises(InvalidArgumentError, match=r"sample\(s\) \[1\] hold no image"):
        ours([[image], []])
    # a 5x5000 sliver is one row of 4 tiles, its height floored to 1 before the zero padding, as in transformers
    sliver = np.full((5, 5000, 3), 200, np.uint8)
    out = ours(sliver, return_tensors="np")
    assert out["num_tiles"] == [[4]] and out["aspect_ratio_ids"].tolist() == [[4]]
    expected = _theirs(backend, **LLAMA)(sliver, return_tensors="np")
    assert np.abs(out["pixel_values"] - expected["pixel_values"]).max() <= ATOL


@pytest.mark.parametrize(
    "config",
    [{"image_processor_type": "MllamaImageProcessor"}, {"image_processor_type": "MllamaImageProcessorFast"},
     {"image_processor_type": "MllamaImageProcessorPil"}, {"model_type": "mllama"}],
)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config({**config, "size": {"height": 560, "width": 560}})) is pixelprep.MllamaImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "MllamaImageProcessor"}
    assert set(pixelprep.MllamaImageProcessor.model_types) == theirs


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.MllamaImageProcessor(backend="pil", **LLAMA))
    assert "choose the canvas of up to 4 560x560 tiles that scales the image least" in text
    assert "pad bottom/right with 0 to the canvas" in text and "views: the canvas's 560x560 tiles, row-major" in text
    assert "stack into pixel_values (samples, images, 4 views, C, H, W)" in text and "also output aspect_ratio_ids (1 + the grid" in text


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.MllamaImageProcessor(backend="pil", **LLAMA)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    assert type(theirs).__name__ == "MllamaImageProcessorPil" and type(again) is type(ours)
    image = (np.arange(300 * 700 * 3) % 253).astype(np.uint8).reshape(300, 700, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
        assert np.array_equal(got["aspect_ratio_ids"], expected["aspect_ratio_ids"]) and got["num_tiles"] == expected["num_tiles"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """Outputs vary in tiles per image and carry metadata: the runner goes one image at a time; read_row equals the image alone."""
    ours = pixelprep.MllamaImageProcessor(backend=backend, **LLAMA)
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "photo_rgb_333x517.jpg"]]
    result = run_job(ours, inputs, str(tmp_path), shard_size=3, batch_size=4, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 4)
    for line in (tmp_path / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        alone = ours(entry["source"], return_tensors="np")
        row = read_row(tmp_path, entry)
        assert row.keys() == alone.keys()
        for key in row:
            np.testing.assert_array_equal(np.asarray(row[key]), np.asarray(alone[key]))
