"""Checks shared by the parity tests of the vision-language families (imported by their test modules)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from pixelprep import InvalidImageError
from pixelprep.runner import read_row, run_job

#: Ours on pil against transformers' torchvision-only class: Pillow's bicubic against torchvision's differs by a
#: few levels on some pixels (as transformers' own two backends do, FAMILIES-SPEC A.1): at most 6 levels after a
#: 0.5/0.5 normalize anywhere, 0.002 on average.
PIL_MAX, PIL_MEAN = 6 / 255 / 0.5, 0.002


def assert_pil_close(ours: Any, theirs: Any, what: str) -> None:
    """Ours (pil backend) within PIL_MAX anywhere and PIL_MEAN on average of transformers' torchvision class."""
    diff = np.abs(np.asarray(ours, dtype=np.float64) - np.asarray(theirs, dtype=np.float64))
    assert diff.max() <= PIL_MAX and diff.mean() <= PIL_MEAN, f"{what}: max {diff.max()}, mean {diff.mean()}"


def assert_runner_rows_equal_each_image_alone(
    processor: Any, inputs: list[str], out: Path, *, keys: set[str] | None = None, shard_size: int = 3, batch_size: int = 4
) -> None:
    """``pixelprep run`` over ``inputs`` processes them all, and every stored row reads back as that image alone gives it
    (with ``keys``: exactly those outputs)."""
    result = run_job(processor, inputs, str(out), shard_size=shard_size, batch_size=batch_size, log=io.StringIO())
    assert (result.failed, result.processed) == (0, len(inputs))
    for line in (out / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        alone = processor(entry["source"], return_tensors="np")
        row = read_row(out, entry)
        assert row.keys() == alone.keys()
        if keys is not None:
            assert row.keys() == keys
        for key in row:
            np.testing.assert_array_equal(np.asarray(row[key]), np.asarray(alone[key]))


def assert_views_and_counts_equal(got: Any, expected: Any, count_key: str, compare: Any, to_numpy: Any, atol: float, what: str) -> None:
    """Both outputs hold exactly ``pixel_values`` and ``count_key``: the int64 counts equal, the pixel values within ``atol``
    (``compare`` and ``to_numpy`` are the conftest fixtures)."""
    assert set(got) == set(expected) == {"pixel_values", count_key}, f"{what}: output keys {sorted(got)}"
    assert np.array_equal(to_numpy(got[count_key]), to_numpy(expected[count_key])), f"{what}: {count_key}"
    assert to_numpy(got[count_key]).dtype == np.int64
    compare(to_numpy(got["pixel_values"])[None], to_numpy(expected["pixel_values"])[None], atol=atol, what=what)


def assert_return_types_and_array_inputs(
    ours: Any,
    theirs: Any,
    image: np.ndarray,
    compare_outputs: Callable[[Any, Any, str], None],
    what: str,
    *,
    return_tensors: tuple[str | None, ...] = (None, "pt"),
) -> None:
    """With each of ``return_tensors`` (none where transformers has no class on ours' backend), every output of ours has the
    type and dtype of transformers' (same backend); an HWC uint8 array and a CHW tensor of ``image`` give ``theirs``' outputs
    by ``compare_outputs(got, expected, what)``."""
    for tensors in return_tensors:
        got, expected = ours(image, return_tensors=tensors), theirs(image, return_tensors=tensors)
        for key in expected:
            assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, f"{what} {tensors} {key}"
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        compare_outputs(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), f"{what} {type(value)} {tuple(value.shape)}")


def assert_runner_skips_a_broken_file_and_rows_equal_each_image_alone(processor: Any, fixture_path: Any, out: Path, keys: set[str]) -> None:
    """``pixelprep run`` over three fixture images and a broken file: one failure, three rows in input order, each exactly
    ``keys`` and equal to what that image alone gives."""
    broken = str(fixture_path("tiny_rgb_7x5.png").parent.parent / "broken" / "garbage.jpg")
    inputs = [str(fixture_path(n)) for n in ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg")] + [broken, str(fixture_path("tiny_rgb_7x5.png"))]
    result = run_job(processor, inputs, str(out), shard_size=4, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (1, 4)
    entries = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    entries = [entry for entry in entries if "error" not in entry]
    assert [entry["source"] for entry in entries] == [p for p in inputs if p != broken]
    for entry in entries:
        alone, row = processor(entry["source"], return_tensors="np"), read_row(out, entry)
        assert row.keys() == keys
        for key in row:
            np.testing.assert_array_equal(row[key], alone[key])


def ramp_image(height: int, width: int) -> np.ndarray:
    """A deterministic uint8 HWC test image: 0, 1, ..., 252, 0, 1, ... through its values in memory order."""
    return (np.arange(height * width * 3) % 253).astype(np.uint8).reshape(height, width, 3)


def saved_and_reloaded(ours: Any, folder: Path, backend: str) -> tuple[Any, Any]:
    """``ours`` saved to ``folder``, then read back by transformers' AutoImageProcessor and by ours, both on ``backend``:
    (transformers' processor, ours again, checked to be the same family)."""
    ours.save_pretrained(folder)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(folder), backend=backend)
    again = pixelprep.AutoImageProcessor.from_pretrained(str(folder), backend=backend)
    assert type(again) is type(ours)
    return theirs, again


def assert_outputs_match_transformers(processors: tuple[Any, ...], theirs: Any, image: np.ndarray, grid_key: str, atol: float) -> None:
    """Each of ``processors`` gives ``theirs``' pixel_values for ``image`` (same shape, within ``atol``) and exactly its ``grid_key``."""
    expected = theirs(image, return_tensors="np")
    for processor in processors:
        got = processor(image, return_tensors="np")
        assert got["pixel_values"].shape == expected["pixel_values"].shape and np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= atol
        assert np.array_equal(got[grid_key], expected[grid_key])


def assert_patch_counts_match_transformers(ours: Any, theirs: Any, sizes: list[tuple[int, int]], kwargs_list: list[dict | None]) -> None:
    """``get_number_of_image_patches`` gives transformers' count for every size and images_kwargs (where transformers refuses
    an aspect ratio over 200 with a ValueError, ours raises InvalidImageError saying so), and the rows of a real output."""
    for height, width in sizes:
        for kwargs in kwargs_list:
            try:
                expected = theirs.get_number_of_image_patches(height, width, kwargs)
            except ValueError:  # aspect ratio over 200 (after enlarging a side under the block size)
                with pytest.raises(InvalidImageError, match="aspect ratio"):
                    ours.get_number_of_image_patches(height, width, kwargs)
                continue
            assert ours.get_number_of_image_patches(height, width, kwargs) == expected, (height, width, kwargs)
    image = np.zeros((333, 517, 3), np.uint8)
    assert ours(image)["pixel_values"].shape[0] == ours.get_number_of_image_patches(333, 517)


def transformers_model_types(class_name: str) -> set[str]:
    """The model types transformers 5.23 maps to its torchvision image-processor class ``class_name``."""
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    return {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == class_name}
