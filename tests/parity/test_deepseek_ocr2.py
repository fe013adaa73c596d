"""DeepSeek-OCR2 parity with transformers 5.23: every output key, both backends, against the class of the same backend.

Ours reads the fixture files itself; transformers gets them decoded (EXIF applied), 16-bit images scaled to
8 bits by value, and converted to RGB with its own ``convert_to_rgb`` (both sides convert: do_convert_rgb).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_1023x768.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _theirs(backend: str, **config: Any) -> Any:
    return getattr(transformers, "DeepseekOcr2ImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


def _compare(got: Any, expected: Any, to_numpy, what: str) -> None:
    assert set(got) == set(expected), f"{what}: output keys {sorted(got)} vs {sorted(expected)}"
    for key in expected:
        mine, ref = np.asarray(to_numpy(got[key])), np.asarray(to_numpy(expected[key]))
        assert mine.shape == ref.shape and mine.dtype == ref.dtype, f"{what} {key}: {mine.shape} {mine.dtype} vs {ref.shape} {ref.dtype}"
        if key.startswith("pixel_values"):
            assert np.abs(mine - ref).max() <= ATOL, f"{what} {key}: max |diff| {np.abs(mine - ref).max()}"
        else:
            assert np.array_equal(mine, ref), f"{what} {key}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, the 1023x768 photo that gets local tiles)."""
    ours, theirs = pixelprep.DeepseekOcr2ImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, to_numpy, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"crop_to_patches": False}, {"min_patches": 1, "max_patches": 12}, {"tile_size": 512}, {"size": {"height": 640, "width": 640}},
     {"background_color": [0, 50, 100]}, {"resample": 2, "do_normalize": False}, {"image_mean": [0.4, 0.5, 0.6], "image_std": [0.2, 0.3, 0.4]}],
    ids=repr,
)
def test_batches_nested_inputs_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, to_numpy) -> None:
    """A flat batch and [[a, b], [c]] (transformers flattens both), with the family's call-time options. A call-time
    background_color is ignored by transformers' torchvision class and used by its pil class: ours does the same per backend."""
    ours, theirs = pixelprep.DeepseekOcr2ImageProcessor(backend=backend), _theirs(backend)
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    paths = [str(fixture_path(name)) for name in MIXED]
    for mine, reference, what in [(paths, images, "flat"), ([paths[:2], paths[2:]], [images[:2], images[2:]], "nested")]:
        _compare(ours(mine, return_tensors="np", **call), theirs(reference, return_tensors="np", **call), to_numpy, f"[{backend}] {what} {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_constructed_background_color_and_return_types(backend: str, fixture_path, load_image, to_numpy) -> None:
    """A constructed background_color pads on both backends; return_tensors=None gives lists as transformers does."""
    image = load_image(fixture_path("photo_rgb_1023x768.jpg"))
    ours, theirs = pixelprep.DeepseekOcr2ImageProcessor(backend=backend, background_color=[255, 0, 0]), _theirs(backend, background_color=[255, 0, 0])
    _compare(ours(image, return_tensors="np"), theirs(image, return_tensors="np"), to_numpy, f"[{backend}] background")
    for tensors in (None, "pt"):
        got, expected = ours([image, image], return_tensors=tensors), theirs([image, image], return_tensors=tensors)
        for key in expected:
            assert type(got[key]) is type(expected[key]), f"[{backend}] {tensors} {key}"
            if isinstance(expected[key], list):
                assert len(got[key]) == len(expected[key]) and type(got[key][0]) is type(expected[key][0])


def test_number_of_image_patches_matches_transformers() -> None:
    """Global view plus local tiles, for many sizes and images_kwargs: transformers' torchvision class's answer, and the pipeline's count."""
    ours, theirs = pixelprep.DeepseekOcr2ImageProcessor(backend="pil"), _theirs("torchvision")
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (768, 768), (769, 300), (427, 640), (2200, 1700), (3024, 4032), (90, 1200), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(200)]
    kwargs_list = [None, {"max_patches": 12, "min_patches": 1}, {"crop_to_patches": False}, {"tile_size": 512, "other": 1}]
    for height, width in sizes:
        for kwargs in kwargs_list:
            assert ours.get_number_of_image_patches(height, width, kwargs) == theirs.get_number_of_image_patches(height, width, kwargs), (height, width, kwargs)
    for height, width in [(333, 517), (1000, 3000), (800, 700)]:
        got = ours(np.zeros((height, width, 3), np.uint8), return_tensors="np")
        assert 1 + int(got["num_local_patches"][0]) == ours.get_number_of_image_patches(height, width)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.DeepseekOcr2ImageProcessor(backend=backend)
    # transformers resizes the global view to 0 rows here and fails inside the resize
    with pytest.raises(InvalidImageError, match=r"an image of 5x20000 resized to a long side of 1024 keeps no pixel on its short side"):
        ours(np.zeros((5, 20000, 3), np.uint8))
    with pytest.raises(InvalidArgumentError, match="size must give 'height' and 'width'"):
        ours(np.zeros((56, 56, 3), np.uint8), size={"shortest_edge": 448})
    with pytest.raises(InvalidArgumentError, match="background_color must be an int or a list of ints in 0..255"):
        pixelprep.DeepseekOcr2ImageProcessor(background_color=[300, 0, 0])
    with pytest.raises(InvalidArgumentError, match="tile_size must be a positive integer"):
        ours(np.zeros((56, 56, 3), np.uint8), tile_size=0)


@pytest.mark.parametrize(
    "config", [{"image_processor_type": "DeepseekOcr2ImageProcessor"}, {"image_processor_type": "DeepseekOcr2ImageProcessorFast"},
               {"image_processor_type": "DeepseekOcr2ImageProcessorPil"}, {"model_type": "deepseek_ocr2"}], ids=repr,
)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.DeepseekOcr2ImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    mapped = {t for t, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "DeepseekOcr2ImageProcessor"}
    assert set(pixelprep.DeepseekOcr2ImageProcessor.model_types) == mapped


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.DeepseekOcr2ImageProcessor(backend="pil"))
    assert "local views (images with a side over 768): 768x768 tiles, row-major, of the image resized (bicubic) to the grid of 2..6 tiles" in text
    assert "global view: long side resized (bicubic) to 1024, then centred on a 1024x1024 square of (127, 127, 127)" in text
    assert "every local tile into pixel_values_local (tiles, C, T, T), + num_local_patches" in text
    assert "local views" not in repr(pixelprep.DeepseekOcr2ImageProcessor(backend="pil", crop_to_patches=False))


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.DeepseekOcr2ImageProcessor(backend="pil", max_patches=9, background_color=[0, 0, 0])
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    assert type(theirs).__name__ == "DeepseekOcr2ImageProcessorPil" and type(again) is type(ours)
    image = (np.arange(500 * 1900 * 3) % 253).astype(np.uint8).reshape(500, 1900, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        for key in ("pixel_values", "pixel_values_local"):
            assert np.abs(got[key] - expected[key]).max() <= ATOL
        assert np.array_equal(got["num_local_patches"], expected["num_local_patches"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """Local tiles of a batch share one output: the runner processes images one at a time; read_row equals the image alone."""
    ours = pixelprep.DeepseekOcr2ImageProcessor(backend=backend, size={"height": 256, "width": 256}, tile_size=128)
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
