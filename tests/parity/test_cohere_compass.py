"""Cohere-Compass parity with transformers 5.23: both backends, against the class of the same backend.

transformers' Cohere-Compass classes are Qwen2-VL's under another name; ours is a declaration on Qwen2-VL.
"""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

import numpy as np
import pytest
import transformers

import pixelprep
from pixelprep import InvalidImageError
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _theirs(backend: str, **config: Any) -> Any:
    return getattr(transformers, "CohereCompassImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == {"pixel_values", "image_grid_thw"}, f"{what}: output keys {sorted(got)}"
    assert np.array_equal(to_numpy(got["image_grid_thw"]), to_numpy(expected["image_grid_thw"])), f"{what}: image_grid_thw"
    compare(to_numpy(got["pixel_values"])[None], to_numpy(expected["pixel_values"])[None], atol=ATOL, what=what)


def _call(processor: Any, images: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers' deprecation of call-time min/max_pixels
        return processor(images, **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    ours, theirs = pixelprep.CohereCompassImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, compare, to_numpy, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", [{}, {"max_pixels": 100_000}, {"min_pixels": 20_000, "max_pixels": 60_000}, {"patch_size": 16, "merge_size": 1}], ids=repr)
def test_batches_nested_inputs_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    paths = [str(fixture_path(name)) for name in MIXED]
    ours, theirs = pixelprep.CohereCompassImageProcessor(backend=backend), _theirs(backend)
    for mine, reference, what in [(paths, images, "flat"), ([paths[:2], paths[2:]], [images[:2], images[2:]], "nested")]:
        _compare(_call(ours, mine, return_tensors="np", **call), _call(theirs, reference, return_tensors="np", **call), compare, to_numpy, f"[{backend}] {what} {call}")


def test_number_of_image_patches_matches_transformers() -> None:
    ours = pixelprep.CohereCompassImageProcessor(backend="pil", min_pixels=10_000, max_pixels=500_000)
    theirs = _theirs("pil", min_pixels=10_000, max_pixels=500_000)
    rng = np.random.default_rng(0)
    for height, width in [(1, 1), (5, 7), (427, 640), (3024, 4032)] + [tuple(int(v) for v in rng.integers(1, 4000, 2)) for _ in range(100)]:
        for kwargs in (None, {"max_pixels": 100_000}, {"patch_size": 16, "merge_size": 2, "other": 1}):
            try:
                expected = theirs.get_number_of_image_patches(height, width, kwargs)
            except ValueError:  # aspect ratio over 200
                with pytest.raises(InvalidImageError, match="aspect ratio"):
                    ours.get_number_of_image_patches(height, width, kwargs)
                continue
            assert ours.get_number_of_image_patches(height, width, kwargs) == expected, (height, width, kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.CohereCompassImageProcessor(backend=backend)
    with pytest.raises(InvalidImageError, match=r"30x7000 .*aspect ratio of 233.3, over the limit of 200"):
        ours(np.zeros((30, 7000, 3), np.uint8))
    with pytest.raises(InvalidImageError, match=r"image 1 is 30x50, .*28x28-pixel blocks"):
        ours([np.zeros((56, 56, 3), np.uint8), np.zeros((30, 50, 3), np.uint8)], do_resize=False)


@pytest.mark.parametrize("config", [{"image_processor_type": "CohereCompassImageProcessor"}, {"image_processor_type": "CohereCompassImageProcessorFast"},
                                    {"image_processor_type": "CohereCompassImageProcessorPil"}, {"model_type": "cohere_compass"}], ids=repr)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.CohereCompassImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    mapped = {t for t, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "CohereCompassImageProcessor"}
    assert set(pixelprep.CohereCompassImageProcessor.model_types) == mapped


def test_repr_and_saved_config(tmp_path) -> None:
    ours = pixelprep.CohereCompassImageProcessor(backend="pil", max_pixels=200_000)
    assert "smart_resize" in repr(ours) and "14x14 patches in 2x2 blocks" in repr(ours)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    assert type(theirs).__name__ == "CohereCompassImageProcessorPil" and type(again) is type(ours)
    image = (np.arange(300 * 500 * 3) % 253).astype(np.uint8).reshape(300, 500, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        assert np.abs(processor(image, return_tensors="np")["pixel_values"] - expected["pixel_values"]).max() <= ATOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    ours = pixelprep.CohereCompassImageProcessor(backend=backend, max_pixels=100_000)
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png"]]
    result = run_job(ours, inputs, str(tmp_path), shard_size=2, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 3)
    for line in (tmp_path / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        alone = ours(entry["source"], return_tensors="np")
        row = read_row(tmp_path, entry)
        assert row.keys() == alone.keys()
        for key in row:
            np.testing.assert_array_equal(np.asarray(row[key]), np.asarray(alone[key]))
