"""Gemma3 parity with transformers 5.23: every output key, both backends, against the class of the same backend.

Ours reads the fixture files itself; transformers gets them decoded (EXIF applied) and, for 16-bit
images, scaled to 8 bits by value as pixelprep documents. Gemma3 converts to RGB on both sides.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from multiview_checks import (
    assert_runner_skips_a_broken_file_and_rows_equal_each_image_alone,
    ramp_image,
    saved_and_reloaded,
)
from pixelprep import InvalidArgumentError, InvalidImageError, OutputShapeError

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png", "tall_rgb_90x1200.jpg"]
# Pan-and-scan small enough that most fixtures are cut (the checkpoints' 256 would leave the small ones whole).
PAS = {"do_pan_and_scan": True, "pan_and_scan_min_crop_size": 64, "pan_and_scan_max_num_crops": 4, "pan_and_scan_min_ratio_to_activate": 1.2}


def _theirs(backend: str, **config: Any) -> Any:
    return getattr(transformers, "Gemma3ImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare_outputs(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == {"pixel_values", "num_crops"}, f"{what}: output keys {sorted(got)}"
    assert np.array_equal(to_numpy(got["num_crops"]), np.asarray(to_numpy(expected["num_crops"]))), f"{what}: num_crops"
    assert to_numpy(got["num_crops"]).dtype == np.int64
    compare(to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"]), atol=ATOL, what=what)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", [{}, PAS], ids=["plain", "pan_and_scan"])
def test_every_fixture_image(backend: str, call: dict, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large), with and without pan-and-scan."""
    ours, theirs = pixelprep.Gemma3ImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np", **call)
    got = ours(str(image_path), return_tensors="np", **call)
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {image_path.name} {call}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, PAS, dict(PAS, pan_and_scan_max_num_crops=2), dict(PAS, pan_and_scan_min_ratio_to_activate=3.0), dict(PAS, pan_and_scan_min_crop_size=300),
     dict(PAS, size={"height": 96, "width": 128}), dict(PAS, resample=3), dict(PAS, do_normalize=False), {"size": 336}, {"image_mean": [0.4, 0.5, 0.6]}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of six sizes (7x5, 1200x90 and 90x1200 included) with every pan-and-scan knob at call time."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.Gemma3ImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(images, return_tensors="np", **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_and_construction_settings(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]] gives the views of a, b, c in order (transformers flattens samples); pan-and-scan set at construction."""
    names = [["photo_rgb_640x427.jpg", "wide_rgb_1200x90.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    config = dict(PAS, size={"height": 160, "width": 160})
    ours, theirs = pixelprep.Gemma3ImageProcessor(backend=backend, **config), _theirs(backend, **config)
    got, expected = ours(images, return_tensors="np"), theirs(images, return_tensors="np")
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] nested")
    assert got["num_crops"].tolist() == [2, 4, 4] and got["pixel_values"].shape == (13, 3, 160, 160)


@pytest.mark.parametrize("backend", BACKENDS)
def test_do_resize_false(backend: str, compare, to_numpy) -> None:
    """Without do_resize the torchvision class still resizes every view when pan-and-scan is on; the pil class does not, so
    its views differ in size and cannot be stacked (ours: OutputShapeError naming do_resize; theirs: a list that will not convert)."""
    rng = np.random.default_rng(1)
    wide = rng.integers(0, 256, (100, 200, 3), dtype=np.uint8)
    ours, theirs = pixelprep.Gemma3ImageProcessor(backend=backend, size=64), _theirs(backend, size=64)
    # same-size images without pan-and-scan: nothing is resized on either backend
    _compare_outputs(ours([wide, wide], do_resize=False, return_tensors="np"), theirs([wide, wide], do_resize=False, return_tensors="np"),
                     compare, to_numpy, f"[{backend}] do_resize=False")
    call = dict(PAS, do_resize=False)
    if backend == "torchvision":
        got, expected = ours(wide, return_tensors="np", **call), theirs(wide, return_tensors="np", **call)
        _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] do_resize=False + pan and scan")
        assert got["pixel_values"].shape == (3, 3, 64, 64)
    else:
        expected = theirs(wide, return_tensors=None, **call)
        assert [tuple(v.shape) for v in expected["pixel_values"]] == [(3, 100, 200), (3, 100, 100), (3, 100, 100)]
        with pytest.raises(OutputShapeError, match=r"\(100, 100\), \(100, 200\).*do_resize=True"):
            ours(wide, return_tensors="np", **call)


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_match(backend: str, fixture_path, load_image) -> None:
    image = load_image(fixture_path("wide_rgb_1200x90.jpg"))
    ours, theirs = pixelprep.Gemma3ImageProcessor(backend=backend), _theirs(backend)
    got, expected = ours(image, return_tensors="pt", **PAS), theirs(image, return_tensors="pt", **PAS)
    for key in expected:
        assert type(got[key]) is type(expected[key]) is torch.Tensor and got[key].dtype == expected[key].dtype, key


def test_pan_and_scan_windows_match_transformers() -> None:
    """geometry_vlm.pan_and_scan cuts the windows transformers' pan_and_scan cuts, for many sizes and knobs."""
    theirs = _theirs("pil")
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (100, 100), (100, 119), (100, 120), (427, 640), (90, 1200), (1200, 90), (3024, 4032), (256, 1000), (255, 1000)]
    sizes += [tuple(int(v) for v in rng.integers(1, 3000, 2)) for _ in range(150)]
    sizes += [(2, 9), (9, 2), (3, 40), (2, 31)]  # tiny min crops: windows that run past the end
    knobs = [(256, 4, 1.2), (64, 4, 1.2), (10, 8, 1.0), (1, 3, 2.5), (1, 4, 1.0), (300, 2, 1.5)]
    for (height, width), (min_crop, max_crops, ratio) in itertools.product(sizes, knobs):
        image = np.zeros((1, height, width), np.uint8)  # channels first, as the pil class holds images
        expected = [crop.shape[1:] for crop in theirs.pan_and_scan(image, min_crop, max_crops, ratio)]
        if any(0 in shape for shape in expected):  # an empty last crop, which transformers' resize then fails on
            with pytest.raises(InvalidImageError, match="leaving the last one empty"):
                pixelprep.geometry_vlm.pan_and_scan(height, width, min_crop, max_crops, ratio)
            continue
        boxes = pixelprep.geometry_vlm.pan_and_scan(height, width, min_crop, max_crops, ratio)
        assert [(h, w) for _, _, h, w in boxes] == [tuple(s) for s in expected], (height, width, min_crop, max_crops, ratio)


def test_number_of_image_patches_matches_the_output() -> None:
    """get_number_of_image_patches (1 + crops) equals the views transformers makes for that size, with and without pan-and-scan."""
    ours, theirs = pixelprep.Gemma3ImageProcessor(backend="pil", size=32), _theirs("pil", size=32)
    for height, width in [(427, 640), (90, 1200), (1200, 90), (300, 300), (200, 1000), (5, 7)]:
        image = np.zeros((height, width, 3), np.uint8)
        for kwargs in (None, PAS, dict(PAS, pan_and_scan_max_num_crops=2, other_setting=1)):
            call = {k: v for k, v in (kwargs or {}).items() if k != "other_setting"}
            expected = theirs(image, return_tensors="np", **call)["pixel_values"].shape[0]
            assert ours.get_number_of_image_patches(height, width, kwargs) == expected, (height, width, kwargs)
    # the checkpoints leave the knobs null: pan-and-scan then uses Gemma3Processor's 256 / 4 / 1.2
    assert ours.get_number_of_image_patches(768, 3000, {"do_pan_and_scan": True}) == 5
    assert ours.get_number_of_image_patches(768, 1000, {"do_pan_and_scan": True}) == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_unset_knobs_use_the_processor_defaults(backend: str, compare, to_numpy) -> None:
    """transformers' image processor fails with a TypeError on do_pan_and_scan=True and null knobs (as checkpoints ship them);
    ours uses the values Gemma3Processor fills in, so the output is the one the full processor gives."""
    image = (np.arange(300 * 800 * 3) % 251).astype(np.uint8).reshape(300, 800, 3)
    ours, theirs = pixelprep.Gemma3ImageProcessor(backend=backend, size=64), _theirs(backend, size=64)
    with pytest.raises(TypeError):
        theirs(image, do_pan_and_scan=True)
    defaults = {"pan_and_scan_min_crop_size": 256, "pan_and_scan_max_num_crops": 4, "pan_and_scan_min_ratio_to_activate": 1.2}
    _compare_outputs(ours(image, do_pan_and_scan=True, return_tensors="np"), theirs(image, do_pan_and_scan=True, return_tensors="np", **defaults),
                     compare, to_numpy, f"[{backend}] processor defaults")


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.Gemma3ImageProcessor(backend=backend)
    image = np.zeros((20, 100, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match="pan_and_scan_max_num_crops must be a positive integer"):
        ours(image, do_pan_and_scan=True, pan_and_scan_max_num_crops=0)
    with pytest.raises(InvalidArgumentError, match="pan_and_scan_min_crop_size must be a positive integer"):
        pixelprep.Gemma3ImageProcessor(pan_and_scan_min_crop_size=-3)
    with pytest.raises(InvalidArgumentError, match="pan_and_scan_min_ratio_to_activate must be a finite number greater than 0"):
        ours(image, do_pan_and_scan=True, pan_and_scan_min_ratio_to_activate=float("nan"))
    with pytest.raises(InvalidArgumentError, match="size must give 'height' and 'width'"):
        ours(image, size={"shortest_edge": 224})
    # tiny crops that overrun the image: transformers hands an empty crop to its resize; ours names the image and the knobs
    with pytest.raises(InvalidImageError, match=r"2x9 into 4 crops of 3 pixels.*pan_and_scan_min_crop_size \(now 1\)"):
        ours(np.zeros((2, 9, 3), np.uint8), do_pan_and_scan=True, pan_and_scan_min_crop_size=1, pan_and_scan_max_num_crops=4)


@pytest.mark.parametrize(
    ("name", "model_type"),
    [("Gemma3ImageProcessorFast", None), ("Gemma3ImageProcessorPil", None), ("Gemma3ImageProcessor", None),
     (None, "gemma3"), (None, "shieldgemma2"), (None, "t5gemma2"), (None, "t5gemma2_encoder")],
)
def test_resolves_by_class_name_and_model_type(name, model_type) -> None:
    config: dict[str, Any] = {"size": {"height": 896, "width": 896}}
    if name:
        config["image_processor_type"] = name
    else:
        config["model_type"] = model_type
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.Gemma3ImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if "Gemma3ImageProcessor" in str(classes)}
    assert set(pixelprep.Gemma3ImageProcessor.model_types) == theirs


def test_repr_shows_the_views() -> None:
    plain = repr(pixelprep.Gemma3ImageProcessor(backend="pil", size=896))
    assert "resize every view to 896x896 bilinear" in plain and "pan and scan" not in plain and "stack every view" in plain
    scanned = repr(pixelprep.Gemma3ImageProcessor(backend="pil", **PAS))
    assert "at least 1.2 times longer than wide" in scanned and "2..4 crops of at least 64 pixels" in scanned
    assert "views = the image, then its crops" in scanned and "num_crops" in scanned


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.Gemma3ImageProcessor(backend="pil", size=96, **PAS)
    theirs, again = saved_and_reloaded(ours, tmp_path, "pil")
    image = ramp_image(120, 500)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
        assert got["num_crops"].tolist() == list(expected["num_crops"]) == [4]


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """pixelprep run stores each image's views (a varying count) as its own tensor; read_row equals the image processed alone."""
    processor = pixelprep.Gemma3ImageProcessor(backend=backend, size=64, **PAS)
    assert_runner_skips_a_broken_file_and_rows_equal_each_image_alone(processor, fixture_path, tmp_path, {"pixel_values", "num_crops"})
