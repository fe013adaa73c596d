"""LFM2-VL parity with transformers 5.23: every output key, both backends.

transformers has only a torchvision class (``Lfm2VlImageProcessor``). Our torchvision backend is
compared with it to 1e-5; our pil backend runs the same geometry (same views, sizes, grids, masks:
compared exactly) with Pillow's resize, whose uint8 result differs from torchvision's antialiased
resize by rounding: one level (2/255 after the 0.5 normalisation) with bilinear, two with bicubic, on
these photos and on noise. PIL_ATOL allows three levels. transformers' class never converts to RGB (a
gray or RGBA image fails there); pixelprep converts because the mean has 3 values, so transformers gets
the image converted with its own ``convert_to_rgb``.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.errors import OutputShapeError
from pixelprep.models.lfm2_vl import tile_grids
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
PIL_ATOL = 3 * 2 / 255
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_1023x768.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]
KEYS = {"pixel_values", "pixel_attention_mask", "spatial_shapes"}
ROW_COL_KEYS = {"image_rows", "image_cols", "image_sizes"}


@pytest.fixture(scope="module")
def theirs() -> Any:
    return transformers.Lfm2VlImageProcessor()


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


def _compare(got: Any, expected: Any, backend: str, to_numpy, what: str) -> None:
    assert set(got) == set(expected), f"{what}: output keys {sorted(got)} vs {sorted(expected)}"
    for key in expected:
        mine, ref = np.asarray(to_numpy(got[key])), np.asarray(to_numpy(expected[key]))
        assert mine.shape == ref.shape and mine.dtype == ref.dtype, f"{what} {key}: {mine.shape} {mine.dtype} vs {ref.shape} {ref.dtype}"
        if key == "pixel_values":
            worst = float(np.abs(mine.astype(np.float64) - ref).max()) if mine.size else 0.0
            assert worst <= (ATOL if backend == "torchvision" else PIL_ATOL), f"{what}: max |diff| {worst}"
        else:
            assert np.array_equal(mine, ref), f"{what} {key}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, theirs, load_image, to_eight_bit, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, the 1023x768 photo that is tiled): all outputs."""
    ours = pixelprep.Lfm2VlImageProcessor(backend=backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np", return_row_col_info=True)
    got = ours(str(image_path), return_tensors="np", return_row_col_info=True)
    _compare(got, expected, backend, to_numpy, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"do_image_splitting": False}, {"min_tiles": 1, "max_tiles": 4}, {"use_thumbnail": False}, {"max_image_tokens": 128, "min_image_tokens": 16},
     {"tile_size": 256}, {"resample": 3}, {"max_pixels_tolerance": 0.5}, {"do_normalize": False}, {"downsample_factor": 1}, {"encoder_patch_size": 14, "tile_size": 448},
     {"image_mean": [0.4, 0.5, 0.6], "image_std": [0.2, 0.3, 0.4]}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, theirs, fixture_path, load_image, to_eight_bit, to_numpy) -> None:
    """A batch of five sizes (a tiled photo, 7x5 and 1200x90 included) with the family's call-time options."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours = pixelprep.Lfm2VlImageProcessor(backend=backend)
    expected = theirs(images, return_tensors="np", return_row_col_info=True, **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", return_row_col_info=True, **call)
    _compare(got, expected, backend, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_and_unpadded_output(backend: str, theirs, fixture_path, load_image, to_numpy) -> None:
    """[[a, b], [c]]: transformers flattens the samples (views in image order); do_pad=False stacks views of one patch count."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_1023x768.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours = pixelprep.Lfm2VlImageProcessor(backend=backend)
    _compare(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), backend, to_numpy, f"[{backend}] nested")
    same_size = [load_image(fixture_path("photo_rgb_640x427.jpg"))] * 2
    _compare(ours(same_size, do_pad=False, return_tensors="np"), theirs(same_size, do_pad=False, return_tensors="np"), backend, to_numpy,
             f"[{backend}] do_pad=False")


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_match(backend: str, theirs, fixture_path, load_image) -> None:
    """return_tensors=None: tensors for the patches (a torch class), lists for the row/col info; "pt": tensors throughout."""
    image = load_image(fixture_path("photo_rgb_333x517.jpg"))
    ours = pixelprep.Lfm2VlImageProcessor(backend=backend)
    for tensors in (None, "pt"):
        got, expected = ours(image, return_tensors=tensors, return_row_col_info=True), theirs(image, return_tensors=tensors, return_row_col_info=True)
        for key in ROW_COL_KEYS:
            assert type(got[key]) is type(expected[key]), f"[{backend}] {tensors} {key}"
            assert np.array_equal(np.asarray(got[key]), np.asarray(expected[key]))
        if backend == "torchvision" or tensors == "pt":
            for key in KEYS:
                assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, f"[{backend}] {tensors} {key}"


def test_grid_order_and_smart_resize_match_transformers(theirs) -> None:
    """The candidate grids in transformers' order (ties of equal aspect depend on it), and smart_resize's (width, height) for many sizes."""
    ours = pixelprep.Lfm2VlImageProcessor(backend="pil")
    for min_tiles, max_tiles in [(2, 10), (1, 4), (1, 32), (4, 8)]:
        assert tile_grids(min_tiles, max_tiles) == theirs._target_ratios(min_tiles, max_tiles)
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (32, 32), (427, 640), (2200, 1700), (90, 1200), (1, 5000), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(300)]
    for height, width in sizes:
        for args in [(2, 64, 256, 16), (1, 16, 128, 14), (2, 32, 1024, 16)]:
            assert ours.smart_resize(height, width, *args) == theirs.smart_resize(height, width, *args), (height, width, args)


@pytest.mark.parametrize("backend", BACKENDS)
def test_number_of_views_is_the_pipeline_geometry(backend: str, theirs) -> None:
    """get_number_of_image_patches (views per image) is what the pipeline makes; tiled images match transformers' rows x cols + thumbnail."""
    ours = pixelprep.Lfm2VlImageProcessor(backend=backend)
    rng = np.random.default_rng(1)
    sizes = [(5, 7), (427, 640), (768, 1023), (1000, 1500), (90, 1200), (700, 2000)] + [tuple(int(v) for v in rng.integers(8, 1600, 2)) for _ in range(6)]
    for kwargs in (None, {"do_image_splitting": False}, {"use_thumbnail": False, "other": 1}, {"max_tiles": 4, "min_tiles": 1}):
        call = {k: v for k, v in (kwargs or {}).items() if k != "other"}
        for height, width in sizes:
            image = np.full((height, width, 3), 128, np.uint8)
            expected = theirs(image, return_tensors="np", return_row_col_info=True, **call)
            count = ours.get_number_of_image_patches(height, width, kwargs)
            assert count == expected["pixel_values"].shape[0], (height, width, kwargs)
            rows, cols = expected["image_rows"][0], expected["image_cols"][0]
            assert ours.grid(height, width, ours.resolve(call)) == (rows, cols)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    """An aspect ratio whose budget-sized view overflows max_num_patches, do_pad=False with different view sizes, bad settings."""
    ours = pixelprep.Lfm2VlImageProcessor(backend=backend)
    # transformers' class makes a 32x32352 view of 4044 patches here, past the 1024 it pads to: alone, its pixel_values has
    # 4044 rows and its mask 1024; in a batch, stacking fails
    with pytest.raises(InvalidImageError, match=r"an image of 5x20000 is resized to 32x32352: 4044 patches, over max_num_patches=1024"):
        ours(np.zeros((5, 20000, 3), np.uint8))
    with pytest.raises(OutputShapeError, match=r"views of \[988, 1024\] patches cannot be stacked into pixel_values without padding"):
        ours(np.zeros((1000, 1500, 3), np.uint8), do_pad=False)
    with pytest.raises(InvalidArgumentError, match=r"min_tiles \(5\) must be at most max_tiles \(3\)"):
        ours(np.zeros((64, 64, 3), np.uint8), min_tiles=5, max_tiles=3)
    # transformers fails with a reshape error deep inside
    with pytest.raises(InvalidArgumentError, match=r"tile_size \(512\) must be a multiple of encoder_patch_size \(14\) to tile an image of 1000x1500"):
        ours(np.zeros((1000, 1500, 3), np.uint8), encoder_patch_size=14)
    with pytest.raises(InvalidArgumentError, match="max_pixels_tolerance must be a positive number"):
        ours(np.zeros((64, 64, 3), np.uint8), max_pixels_tolerance=0)
    with pytest.raises(InvalidArgumentError, match="tile_size must be a positive integer"):
        pixelprep.Lfm2VlImageProcessor(tile_size=-1)


@pytest.mark.parametrize("config", [{"image_processor_type": "Lfm2VlImageProcessor"}, {"image_processor_type": "Lfm2VlImageProcessorFast"},
                                    {"image_processor_type": "Lfm2VlImageProcessorPil"}, {"model_type": "lfm2_vl"}], ids=repr)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.Lfm2VlImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    mapped = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "Lfm2VlImageProcessor"}
    assert set(pixelprep.Lfm2VlImageProcessor.model_types) == mapped


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.Lfm2VlImageProcessor(backend="pil"))
    assert "small image: one view, resized (bilinear) to sides of whole tokens within 64..256 tokens of 32x32 pixels" in text
    assert "image over 2x the 256-token budget: resized (bilinear) to the grid of 2..10 512x512 tiles closest to its aspect ratio" in text
    assert "then a thumbnail of the whole image at that budget size (last)" in text
    assert "16x16 patches, vectors (p, p, C)" in text and "pad each image's patches with 0 to 1024 rows" in text
    assert "tiles" not in repr(pixelprep.Lfm2VlImageProcessor(backend="pil", do_image_splitting=False))


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    """Saved with transformers' derived max_num_patches; both loaders read it back to the same outputs."""
    ours = pixelprep.Lfm2VlImageProcessor(backend="torchvision", max_image_tokens=128, tile_size=384)
    ours.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    assert saved["max_num_patches"] == theirs.max_num_patches == 576
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="torchvision")
    image = (np.arange(700 * 1300 * 3) % 253).astype(np.uint8).reshape(700, 1300, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
        assert np.array_equal(got["spatial_shapes"], expected["spatial_shapes"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """Views per image vary: the runner processes images one at a time; read_row equals the image alone."""
    ours = pixelprep.Lfm2VlImageProcessor(backend=backend)
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_1023x768.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png"]]
    result = run_job(ours, inputs, str(tmp_path), shard_size=2, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 3)
    for line in (tmp_path / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        alone = ours(entry["source"], return_tensors="np")
        row = read_row(tmp_path, entry)
        assert row.keys() == alone.keys()
        for key in row:
            np.testing.assert_array_equal(row[key], alone[key])


def test_torch_input_on_torchvision(theirs, fixture_path, load_image, to_numpy) -> None:
    image = torch.from_numpy(np.asarray(load_image(fixture_path("photo_rgb_1023x768.jpg"))).copy()).permute(2, 0, 1)
    ours = pixelprep.Lfm2VlImageProcessor(backend="torchvision")
    _compare(ours(image, return_tensors="np"), theirs(image, return_tensors="np"), "torchvision", to_numpy, "torch input")
