"""Idefics3 and SmolVLM parity with transformers 5.23: every output key, both backends, against the class of the same backend.

Ours reads the fixture files itself; transformers gets them decoded (EXIF applied) and, for 16-bit
images, scaled to 8 bits by value as pixelprep documents. Both families convert to RGB. LANCZOS runs
natively on torchvision 0.29's CPU kernels, which transformers' torchvision class uses as well.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from pixelprep import InvalidArgumentError, OutputShapeError
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
FAMILIES = ("Idefics3", "SmolVLM")
ATOL = 1e-5
KEYS = {"pixel_values", "pixel_attention_mask"}
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]
# SmolVLM-Instruct's settings (the small SmolVLM checkpoints use 2048 / 512)
SMOLVLM = {"size": {"longest_edge": 1536}, "max_image_size": {"longest_edge": 384}, "resample": 1, "do_image_splitting": True}


def _theirs(family: str, backend: str, **config: Any) -> Any:
    transformers.logging.set_verbosity_error()
    return getattr(transformers, f"{family}ImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _ours(family: str, backend: str, **config: Any) -> Any:
    return getattr(pixelprep, f"{family}ImageProcessor")(backend=backend, **config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare_outputs(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected), f"{what}: output keys {sorted(got)} vs {sorted(expected)}"
    for key in ("rows", "cols"):
        if key in expected:
            assert got[key] == expected[key] and isinstance(got[key], list), f"{what}: {key} {got[key]} vs {expected[key]}"
    mask = to_numpy(got["pixel_attention_mask"])
    assert mask.dtype == np.int64 and np.array_equal(mask, to_numpy(expected["pixel_attention_mask"])), f"{what}: pixel_attention_mask"
    compare(to_numpy(got["pixel_values"])[None], to_numpy(expected["pixel_values"])[None], atol=ATOL, what=what)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large), Idefics3 defaults and SmolVLM's settings."""
    reference = _reference(load_image(image_path), to_eight_bit)
    for family, config in (("Idefics3", {}), ("SmolVLM", SMOLVLM)):
        expected = _theirs(family, backend, **config)(reference, return_tensors="np", return_row_col_info=True)
        got = _ours(family, backend, **config)(str(image_path), return_tensors="np", return_row_col_info=True)
        _compare_outputs(got, expected, compare, to_numpy, f"{family} [{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"return_row_col_info": True}, {"max_image_size": {"longest_edge": 512}, "size": {"longest_edge": 2048}},
     {"size": {"longest_edge": 1000}, "return_row_col_info": True}, {"do_image_splitting": False, "return_row_col_info": True},
     {"do_resize": False, "return_row_col_info": True}, {"size": {"height": 500, "width": 700}}, {"do_normalize": False},
     {"resample": 3, "image_mean": [0.4, 0.5, 0.6], "image_std": [0.2, 0.3, 0.4]}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """Five sizes (7x5 and 1200x90 included) as one sample each, with call-time overrides."""
    images = [[load_image(fixture_path(name))] for name in MIXED]
    expected = _theirs("Idefics3", backend)(images, return_tensors="np", **call)
    got = _ours("Idefics3", backend)([[str(fixture_path(name))] for name in MIXED], return_tensors="np", **call)
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_nested_and_flat_inputs(family: str, backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]] is two samples padded to the larger view count; a flat list is one sample holding every image."""
    names = [["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg"], ["photo_rgb_333x517.jpg"]]
    ours, theirs = _ours(family, backend), _theirs(family, backend)
    nested = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    for images in (nested, nested[0] + nested[1]):
        expected = theirs(images, return_tensors="np", return_row_col_info=True)
        got = ours(images, return_tensors="np", return_row_col_info=True)
        _compare_outputs(got, expected, compare, to_numpy, f"{family} [{backend}] {len(images)} samples")


@pytest.mark.parametrize("backend", BACKENDS)
def test_unpadded_outputs(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """do_pad=False: no mask; nested lists of each sample's views, stacked by return_tensors where the view counts agree."""
    ours, theirs = _ours("Idefics3", backend), _theirs("Idefics3", backend)
    a, b = load_image(fixture_path("photo_rgb_640x427.jpg")), load_image(fixture_path("photo_rgb_333x517.jpg"))
    got, expected = ours([[a], [b, a]], do_pad=False), theirs([[a], [b, a]], do_pad=False)
    assert set(got) == set(expected) == {"pixel_values"}
    assert [len(s) for s in got["pixel_values"]] == [len(s) for s in expected["pixel_values"]] == [13, 26]
    for got_sample, expected_sample in zip(got["pixel_values"], expected["pixel_values"]):
        for view, reference in zip(got_sample, expected_sample):
            assert type(view) is type(reference)
            compare(to_numpy(view)[None], to_numpy(reference)[None], atol=ATOL, what=f"[{backend}] unpadded view")
    stacked, reference = ours([[a], [a]], do_pad=False, return_tensors="pt"), theirs([[a], [a]], do_pad=False, return_tensors="pt")
    assert isinstance(stacked["pixel_values"], torch.Tensor) and stacked["pixel_values"].shape == reference["pixel_values"].shape
    compare(stacked["pixel_values"].numpy()[None], reference["pixel_values"].numpy()[None], atol=ATOL, what="stacked")
    with pytest.raises(OutputShapeError, match="different shapes"):  # transformers: a RuntimeError/ValueError from stacking
        ours([[a], [b, a]], do_pad=False, return_tensors="pt")


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_match(backend: str, fixture_path, load_image) -> None:
    """return_tensors=None leaves the backend's arrays, "pt" gives tensors; rows/cols stay nested lists either way."""
    image = load_image(fixture_path("photo_rgb_333x517.jpg"))
    ours, theirs = _ours("Idefics3", backend), _theirs("Idefics3", backend)
    for tensors in (None, "pt"):
        got, expected = ours(image, return_tensors=tensors, return_row_col_info=True), theirs(image, return_tensors=tensors, return_row_col_info=True)
        for key in expected:
            assert type(got[key]) is type(expected[key]), f"[{backend}] {tensors} {key}"
            if key in ("rows", "cols"):
                assert got[key] == expected[key]
            else:
                assert got[key].dtype == expected[key].dtype


@pytest.mark.parametrize("backend", BACKENDS)
def test_uint8_arrays_and_tensors(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = _ours("SmolVLM", backend, **SMOLVLM), _theirs("SmolVLM", backend, **SMOLVLM)
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare_outputs(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), compare, to_numpy, f"[{backend}] {type(value)}")


def _sizes(count: int) -> list[tuple[int, int]]:
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (364, 364), (365, 364), (427, 640), (768, 1023), (2200, 1700), (3024, 4032), (90, 1200), (1, 5000), (9000, 40)]
    return sizes + [tuple(int(v) for v in rng.integers(1, 6000, 2)) for _ in range(count)]


@pytest.mark.parametrize("family", FAMILIES)
def test_number_of_image_patches_matches_transformers(family: str) -> None:
    """(views, rows, cols) as transformers' helper gives them, for many sizes and every checkpoint's settings."""
    ours, theirs = _ours(family, "pil"), _theirs(family, "pil")
    kwargs_list = [None, {"size": {"longest_edge": 1536}, "max_image_size": {"longest_edge": 384}},
                   {"size": {"longest_edge": 2048}, "max_image_size": {"longest_edge": 512}, "other": 1}, {"do_image_splitting": False}]
    for height, width in _sizes(300):
        for kwargs in kwargs_list:
            expected = theirs.get_number_of_image_patches(height, width, kwargs)
            assert ours.get_number_of_image_patches(height, width, kwargs) == expected, (height, width, kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rows_cols_helper_equals_the_pipeline(backend: str) -> None:
    """get_rows_cols and get_number_of_image_patches agree with what a call makes, also where transformers' helper does not:
    with a longest_edge that is not a multiple of the tile, transformers' helper reads the short side before the tile
    rounding and under-counts (it is the pipeline that the model sees)."""
    ours, theirs = _ours("Idefics3", backend), _theirs("Idefics3", backend)
    rng = np.random.default_rng(1)
    for height, width in [(2190, 799), (2088, 2974), (427, 640), (5, 7), (40, 3000)]:
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        for call in ({}, {"size": {"longest_edge": 1000}}, {"do_resize": False}, {"do_image_splitting": False}):
            expected = theirs(image, return_row_col_info=True, **call)
            rows, cols = ours.get_rows_cols(height, width, call)
            assert ([[rows]], [[cols]]) == (expected["rows"], expected["cols"]), (height, width, call)
            views, _, _ = ours.get_number_of_image_patches(height, width, call)
            assert views == (expected["pixel_values"].shape[1] if rows else 0), (height, width, call)
    assert ours.get_number_of_image_patches(2190, 799, {"size": {"longest_edge": 1000}}) == (7, 3, 2)
    assert theirs.get_number_of_image_patches(2190, 799, {"size": {"longest_edge": 1000}}) == (4, 3, 1)  # transformers' slip


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_arguments_raise_our_errors(backend: str) -> None:
    ours = _ours("Idefics3", backend)
    image = np.zeros((50, 60, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match=r"size must be \{'longest_edge': n\}"):
        ours(image, size={"shortest_edge": 100})
    with pytest.raises(InvalidArgumentError, match="max_image_size must be"):
        ours(image, max_image_size={"height": 10, "width": 10})
    with pytest.raises(InvalidArgumentError, match=r"max_image_size\['longest_edge'\] must be a positive integer"):
        pixelprep.SmolVLMImageProcessor(max_image_size={"longest_edge": 0})
    with pytest.raises(pixelprep.UnknownArgumentError, match="do_image_spliting"):
        ours(image, do_image_spliting=False)
    # a 1-pixel side that truncates to 0 at tile scale: transformers resizes to a 0-pixel side and fails inside torch/PIL
    with pytest.raises(pixelprep.InvalidImageError, match=r"49x1 is too narrow for 49x49 tiles"):
        ours(np.zeros((5000, 1, 3), np.uint8), size={"longest_edge": 49}, max_image_size={"longest_edge": 49})


def test_defaults_to_pil_for_lanczos_and_resolves_names(tmp_path) -> None:
    """LANCZOS configs default to the pil backend; every spelling of the classes and model types loads the right family."""
    assert pixelprep.Idefics3ImageProcessor().backend_name == "pil"
    assert pixelprep.Idefics3ImageProcessor(resample=2).backend_name == "torchvision"
    for name, family in [("Idefics3ImageProcessorFast", "Idefics3"), ("Idefics3ImageProcessorPil", "Idefics3"),
                         ("SmolVLMImageProcessor", "SmolVLM"), ("SmolVLMImageProcessorFast", "SmolVLM")]:
        assert type(pixelprep.AutoImageProcessor.from_config({"image_processor_type": name})).__name__ == f"{family}ImageProcessor"
    for model_type, family in [("idefics3", "Idefics3"), ("smolvlm", "SmolVLM")]:
        assert type(pixelprep.AutoImageProcessor.from_config({"model_type": model_type})).__name__ == f"{family}ImageProcessor"


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    for family in FAMILIES:
        cls = getattr(pixelprep, f"{family}ImageProcessor")
        theirs = {t for t, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == cls.transformers_class}
        assert set(cls.model_types) == theirs


def test_repr_shows_the_tiles() -> None:
    text = repr(pixelprep.SmolVLMImageProcessor(**SMOLVLM))
    assert "resize the long side to 1536" in text and "lanczos" in text
    assert "whole 384x384 tiles" in text and "tiles row-major, then the whole image resized to 384x384 (global view, last)" in text
    assert "(samples, views, C, H, W) + pixel_attention_mask" in text
    assert "resize to 384x384 (one view per image, no splitting)" in repr(pixelprep.SmolVLMImageProcessor(**{**SMOLVLM, "do_image_splitting": False}))


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.SmolVLMImageProcessor(backend="pil", **SMOLVLM)
    ours.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["image_processor_type"] == "SmolVLMImageProcessor" and "return_row_col_info" not in saved
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    image = (np.arange(300 * 900 * 3) % 253).astype(np.uint8).reshape(300, 900, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
        assert np.array_equal(got["pixel_attention_mask"], expected["pixel_attention_mask"])


def test_run_stores_each_image_as_it_comes_alone(tmp_path, fixture_path) -> None:
    """pixelprep run: outputs of varying view counts per image; read_row equals the image processed alone."""
    ours = pixelprep.Idefics3ImageProcessor(backend="pil")
    names = ["photo_rgb_640x427.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg"]
    inputs = [str(fixture_path(n)) for n in names]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_job(ours, inputs, str(tmp_path / "out"), shard_size=2, batch_size=3)
    entries = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert [e["source"] for e in entries] == inputs and not any("error" in e for e in entries)
    for path, entry in zip(inputs, entries):
        alone = ours(path, return_tensors="np")
        row = read_row(tmp_path / "out", entry)
        assert set(row) == set(alone)
        for key in alone:
            assert np.array_equal(row[key], alone[key]), (path, key)
