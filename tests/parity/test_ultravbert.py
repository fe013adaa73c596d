"""UltraVBert parity with transformers 5.23: every output key, both backends.

A declaration on Idefics3 with its own rule: the first resize's long side is lowered in steps of one tile
until the page fits ``max_image_tiles``. transformers has only a torchvision class (``UltraVBertImageProcessor``):
our torchvision backend is compared with it to 1e-5; our pil backend runs the same geometry (views, masks,
rows/cols compared exactly) with Pillow's LANCZOS, where torchvision resizes LANCZOS as bicubic: pixels within
``multiview_checks.assert_pil_close`` (6 levels after the 0.5 normalisation anywhere, 0.002 on average; 3 levels
are seen on these photos).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import transformers
from multiview_checks import assert_pil_close, assert_runner_rows_equal_each_image_alone
from transformers.models.ultravbert.image_processing_ultravbert import get_capped_longest_edge

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.geometry_vlm import capped_long_side

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


@pytest.fixture(scope="module")
def theirs() -> Any:
    transformers.logging.set_verbosity_error()
    return transformers.UltraVBertImageProcessor()


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare(got: Any, expected: Any, backend: str, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected), f"{what}: output keys {sorted(got)} vs {sorted(expected)}"
    for key in ("rows", "cols"):
        if key in expected:
            assert got[key] == expected[key] and isinstance(got[key], list), f"{what}: {key} {got[key]} vs {expected[key]}"
    if "pixel_attention_mask" in expected:
        mask = to_numpy(got["pixel_attention_mask"])
        assert mask.dtype == np.int64 and np.array_equal(mask, to_numpy(expected["pixel_attention_mask"])), f"{what}: pixel_attention_mask"
    mine, ref = to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"])
    assert mine.shape == ref.shape and mine.dtype == ref.dtype, f"{what}: {mine.shape} vs {ref.shape}"
    if backend == "pil":
        assert_pil_close(mine, ref, what)
    else:
        compare(mine[None], ref[None], atol=ATOL, what=what)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, theirs, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): all outputs with rows/cols."""
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np", return_row_col_info=True)
    got = pixelprep.UltraVBertImageProcessor(backend=backend)(str(image_path), return_tensors="np", return_row_col_info=True)
    _compare(got, expected, backend, compare, to_numpy, f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"max_image_tiles": 4, "return_row_col_info": True}, {"max_image_tiles": 1, "return_row_col_info": True},
     {"max_image_size": {"longest_edge": 384}, "size": {"longest_edge": 2048}, "max_image_tiles": 6},
     {"do_image_splitting": False, "return_row_col_info": True}, {"do_resize": False, "return_row_col_info": True}, {"do_normalize": False}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, theirs, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Five sizes (7x5 and 1200x90 included) as one sample each, with call-time overrides (the tile cap included)."""
    images = [[_reference(load_image(fixture_path(name)), to_eight_bit)] for name in MIXED]
    got = pixelprep.UltraVBertImageProcessor(backend=backend)([[str(fixture_path(name))] for name in MIXED], return_tensors="np", **call)
    _compare(got, theirs(images, return_tensors="np", **call), backend, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs(backend: str, theirs, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]]: views padded per sample, as transformers does."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_1023x768.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)).convert("RGB") for n in sample] for sample in names]
    ours = pixelprep.UltraVBertImageProcessor(backend=backend)
    _compare(ours(images, return_tensors="np", return_row_col_info=True), theirs(images, return_tensors="np", return_row_col_info=True),
             backend, compare, to_numpy, f"[{backend}] nested")


def test_cap_and_number_of_image_patches_match_transformers(theirs) -> None:
    """The capped long side and (views, rows, cols) as transformers' helpers give them, for many sizes and settings."""
    ours = pixelprep.UltraVBertImageProcessor(backend="pil")
    rng = np.random.default_rng(0)
    sizes = [(5, 7), (512, 512), (513, 300), (427, 640), (3000, 4000), (90, 1200), (10_000, 60), (8000, 8000)]
    sizes += [tuple(int(v) for v in rng.integers(2, 9000, 2)) for _ in range(300)]
    for height, width in sizes:
        for edge, tile, tiles in [(3072, 512, 27), (3072, 512, 4), (2048, 384, 10)]:
            assert capped_long_side(height, width, edge, tile, tiles) == get_capped_longest_edge(height, width, edge, tile, tiles)
        for kwargs in (None, {"max_image_tiles": 6, "other": 1}, {"size": {"longest_edge": 2048}, "max_image_size": {"longest_edge": 384}},
                       {"do_image_splitting": False}):
            assert ours.get_number_of_image_patches(height, width, kwargs) == tuple(theirs.get_number_of_image_patches(height, width, kwargs))


@pytest.mark.parametrize("backend", BACKENDS)
def test_rows_cols_helper_equals_the_pipeline(backend: str) -> None:
    ours = pixelprep.UltraVBertImageProcessor(backend=backend)
    for height, width in [(3000, 4000), (427, 640), (5, 7), (40, 3000)]:
        for call in ({}, {"max_image_tiles": 3}):
            got = ours(np.full((height, width, 3), 100, np.uint8), return_row_col_info=True, return_tensors="np", **call)
            views, rows, cols = ours.get_number_of_image_patches(height, width, call)
            assert (got["rows"], got["cols"]) == ([[rows]], [[cols]]) and (rows * cols <= call.get("max_image_tiles", 27))
            assert views == (got["pixel_values"].shape[1] if rows else 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_arguments_raise_our_errors(backend: str) -> None:
    ours = pixelprep.UltraVBertImageProcessor(backend=backend)
    image = np.zeros((50, 60, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match="max_image_tiles must be a positive integer"):
        ours(image, max_image_tiles=0)
    with pytest.raises(InvalidArgumentError, match=r"size must be \{'longest_edge': n\}"):
        ours(image, size={"shortest_edge": 100})
    with pytest.raises(pixelprep.InvalidImageError, match=r"49x1 is too narrow for 49x49 tiles"):
        ours(np.zeros((5000, 1, 3), np.uint8), size={"longest_edge": 49}, max_image_size={"longest_edge": 49})


@pytest.mark.parametrize("config", [{"image_processor_type": "UltraVBertImageProcessor"}, {"image_processor_type": "UltraVBertImageProcessorFast"},
                                    {"image_processor_type": "UltraVBertImageProcessorPil"}, {"model_type": "ultravbert"}], ids=repr)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.UltraVBertImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    mapped = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "UltraVBertImageProcessor"}
    assert set(pixelprep.UltraVBertImageProcessor.model_types) == mapped


def test_repr_shows_the_cap_and_tiles() -> None:
    text = repr(pixelprep.UltraVBertImageProcessor(backend="pil"))
    assert "resize the long side to 3072" in text and "lowered in steps of 512 until at most 27 tiles" in text
    assert "the 512x512 tiles row-major, then the whole image resized to 512x512" in text
    assert "lowered" not in repr(pixelprep.UltraVBertImageProcessor(backend="pil", do_image_splitting=False))


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.UltraVBertImageProcessor(backend="torchvision", max_image_tiles=6)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    assert theirs.max_image_tiles == 6
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="torchvision")
    image = (np.arange(700 * 1300 * 3) % 253).astype(np.uint8).reshape(700, 1300, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        assert got["pixel_values"].shape == expected["pixel_values"].shape
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    ours = pixelprep.UltraVBertImageProcessor(backend=backend, max_image_tiles=4)
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_1023x768.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png"]]
    assert_runner_rows_equal_each_image_alone(ours, inputs, tmp_path)
