"""Step3p7 parity with transformers 5.23, whose only class is the torchvision one.

The torchvision backend is compared with it to 1e-5. The pil backend runs the same geometry (view counts,
crop grids and masks equal exactly) with Pillow's bilinear instead of torchvision's; the two round 8-bit
results differently and each view is resized twice, so pil is held to 3 uint8 levels anywhere and 0.2 on
average.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from multiview_checks import assert_runner_rows_equal_each_image_alone
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.explain import explain_steps
from pixelprep.geometry_vlm import sliding_window_plan

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
#: pil's bound in uint8 levels; one level is 1/255/std (about 0.015) after rescale and CLIP normalize
PIL_LEVELS_MAX, PIL_LEVELS_MEAN = 3.0, 0.2
_LEVEL = 1 / 255 / min(transformers.Step3p7ImageProcessor.image_std)
PIXELS = ("pixel_values", "pixel_values_local")
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png", "photo_rgb_1023x768.jpg"]


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare(got: Any, expected: Any, backend: str, compare, to_numpy, what: str, level: float = _LEVEL) -> None:
    assert set(got) == set(expected), f"{what}: output keys {sorted(got)} vs {sorted(expected)}"
    assert np.array_equal(to_numpy(got["num_local_patches"]), to_numpy(expected["num_local_patches"])), f"{what}: num_local_patches"
    assert got.get("patch_newline_masks") == expected.get("patch_newline_masks"), f"{what}: patch_newline_masks"
    for key in set(PIXELS) & set(expected):
        ours, theirs = to_numpy(got[key]), to_numpy(expected[key])
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, f"{what}: {key} {ours.shape} vs {theirs.shape}"
        if backend == "torchvision":
            compare(ours[None], theirs[None], atol=ATOL, what=f"{what} {key}")
        else:
            diff = np.abs(ours.astype(np.float64) - theirs) / level
            assert diff.max() <= PIL_LEVELS_MAX and diff.mean() <= PIL_LEVELS_MEAN, f"{what} {key}: max {diff.max()}, mean {diff.mean()}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5 (squared), 1200x90 (elongated), large (capped)): every output."""
    expected = transformers.Step3p7ImageProcessor()(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = pixelprep.Step3p7ImageProcessor(backend=backend)(str(image_path), return_tensors="np")
    _compare(got, expected, backend, compare, to_numpy, f"[{backend}] {image_path.name}")


CALLS = [{}, {"patch_size": 300}, {"max_image_size": 900}, {"size": {"height": 448, "width": 448}},
         {"do_normalize": False, "do_rescale": False}, {"resample": 3}, {"image_mean": [0.5] * 3, "image_std": [0.5] * 3}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Six sizes in one batch (no crops, elongated, windowed, capped) with each call-time option; masks padded to the most crops.

    transformers' class reads max_image_size from the instance only (a call-time value is accepted and unused): ours
    honours it at call time, and is compared with transformers' class built with it."""
    theirs = transformers.Step3p7ImageProcessor(max_image_size=call.get("max_image_size", 3024))
    expected = theirs([_reference(load_image(fixture_path(n)), to_eight_bit) for n in MIXED], return_tensors="np", **call)
    got = pixelprep.Step3p7ImageProcessor(backend=backend)([str(fixture_path(n)) for n in MIXED], return_tensors="np", **call)
    _compare(got, expected, backend, compare, to_numpy, f"[{backend}] {call}", level=_LEVEL if call.get("do_rescale", True) else 1.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_arrays_and_return_types(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]] (flattened by both), a uint8 array, a CHW tensor; "pt" gives transformers' types; masks stay lists."""
    ours, theirs = pixelprep.Step3p7ImageProcessor(backend=backend), transformers.Step3p7ImageProcessor()
    image = np.asarray(load_image(fixture_path("photo_rgb_1023x768.jpg")))
    inputs = {
        "nested": [[load_image(fixture_path(n)) for n in ("photo_rgb_640x427.jpg", "photo_rgb_1023x768.jpg")], [load_image(fixture_path("photo_rgb_301x200.png"))]],
        "array": image,
        "CHW tensor": torch.from_numpy(image.copy()).permute(2, 0, 1),
    }
    for what, value in inputs.items():
        _compare(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] {what}")
    got, expected = ours(image, return_tensors="pt"), theirs(image, return_tensors="pt")
    for key in expected:
        assert type(got[key]) is type(expected[key]), key
    assert isinstance(got["patch_newline_masks"], list) and isinstance(got["patch_newline_masks"][0][0], bool)
    # "np" gives NumPy arrays for every pixel output (transformers' class leaves pixel_values_local a torch tensor: README)
    assert all(isinstance(value, np.ndarray) for key, value in ours(image, return_tensors="np").items() if key != "patch_newline_masks")
    got, expected = ours(image), theirs(image)  # no return_tensors: the counts a list of ints, as transformers leaves them
    assert got["num_local_patches"] == expected["num_local_patches"] and got["patch_newline_masks"] == expected["patch_newline_masks"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_near_degenerate_images_are_squared(backend: str, compare, to_numpy) -> None:
    """A side under 32 and a ratio over 4 (both orientations): zero-padded bottom/right to a square first, as transformers does."""
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((20, 200, 3), (200, 20, 3), (1, 1000, 3), (31, 140, 3))]
    ours, theirs = pixelprep.Step3p7ImageProcessor(backend=backend), transformers.Step3p7ImageProcessor()
    for image in images:
        _compare(ours(image, return_tensors="np"), theirs(image, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] {image.shape}")
    _compare(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] batch")


def test_plan_and_patch_count_match_transformers() -> None:
    """The crop plan equals transformers' _plan_patches for many sizes and settings; the count equals the real output."""
    theirs = transformers.Step3p7ImageProcessor()
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (7, 5), (20, 200), (31, 140), (90, 1200), (500, 700), (728, 728), (729, 1100), (3024, 4032), (10, 5000)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(300)]
    for height, width in sizes:
        for image_size, window, cap in ((728, 504, 3024), (448, 300, 900), (728, 504, 20_000)):
            theirs.max_image_size = cap
            (gw, gh), (cw, ch), side, nx, ny, pad = theirs._plan_patches(width, height, image_size, window)
            assert sliding_window_plan(height, width, image_size, window, cap) == ((gh, gw), (ch, cw), side, (ny, nx), pad), (height, width)
    theirs.max_image_size = 3024
    ours = pixelprep.Step3p7ImageProcessor()
    for height, width in sizes[:60]:
        for kwargs in (None, {"patch_size": 300}, {"size": {"height": 448, "width": 448}, "other": 1}):
            assert ours.get_number_of_image_patches(height, width, kwargs) == theirs.get_number_of_image_patches(height, width, kwargs), (height, width, kwargs)
        # a max_image_size in images_kwargs is honoured, as in a call (transformers reads the instance's)
        assert ours.get_number_of_image_patches(height, width, {"max_image_size": 900}) == transformers.Step3p7ImageProcessor(
            max_image_size=900).get_number_of_image_patches(height, width), (height, width)
    assert ours.get_number_of_image_patches(768, 1023) == int(ours(np.zeros((768, 1023, 3), np.uint8), return_tensors="np")["num_local_patches"][0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_settings_and_images_raise_our_errors(backend: str) -> None:
    """An empty sample, a size without height, a zero window, do_resize=False (ignored by transformers: the views are always resized), an
    image whose short side the cap truncates to 0 (transformers divides by zero), and a stack of crops over the output
    limit raise ours, naming the argument or the image and the limit."""
    ours = pixelprep.Step3p7ImageProcessor(backend=backend)
    with pytest.raises(InvalidArgumentError, match=r"sample\(s\) \[1\] hold no image"):
        ours([[np.zeros((9, 9, 3), np.uint8)], []])
    with pytest.raises(InvalidArgumentError, match="do_resize=False is not supported"):
        ours(np.zeros((64, 64, 3), np.uint8), do_resize=False)
    with pytest.raises(InvalidImageError, match="33x100000 .* max_image_size=3024"):
        ours(np.zeros((33, 100_000, 3), np.uint8))
    with pytest.raises(InvalidImageError, match="max_image_size=3024"):
        ours.get_number_of_image_patches(33, 100_000)
    with pytest.raises(InvalidArgumentError, match=r"the 1x3024 crops of the 40x100000 image.*MAX_OUTPUT_PIXELS"):
        ours(np.zeros((40, 100_000, 3), np.uint8))
    assert ours.get_number_of_image_patches(40, 100_000) == 3024  # the count is still answered, as transformers does
    with pytest.raises(InvalidArgumentError, match="size must give 'height'"):
        ours(np.zeros((64, 64, 3), np.uint8), size={"shortest_edge": 64})
    with pytest.raises(InvalidArgumentError, match="patch_size"):
        ours(np.zeros((64, 64, 3), np.uint8), patch_size=0)
    with pytest.raises(InvalidArgumentError, match="MAX_OUTPUT_PIXELS"):
        ours(np.zeros((64, 64, 3), np.uint8), size={"height": 100_000, "width": 100_000})


@pytest.mark.parametrize("backend", BACKENDS)
def test_saved_config_loads_in_both(backend: str, fixture_path, load_image, compare, to_numpy, tmp_path) -> None:
    images = [load_image(fixture_path(n)) for n in MIXED[:4]]
    ours = pixelprep.Step3p7ImageProcessor(backend=backend, patch_size=336, max_image_size=2000)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    assert type(theirs).__name__ == "Step3p7ImageProcessor" and json.loads((tmp_path / "preprocessor_config.json").read_text())["patch_size"] == 336
    _compare(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] saved")


def test_names_print_and_runner(tmp_path, fixture_path) -> None:
    """Resolves by class name (with Fast/Pil suffixes) and model type; print shows both views; explain shows each view;
    run rows equal each image alone."""
    for name in ("Step3p7ImageProcessor", "Step3p7ImageProcessorFast", "Step3p7ImageProcessorPil", "step3p7"):
        config = {"image_processor_type": name} if name[0].isupper() else {"model_type": name}
        assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.Step3p7ImageProcessor, name
    text = str(pixelprep.Step3p7ImageProcessor())
    assert "global view" in text and "resize to 728x728" in text and "504-pixel windows" in text and "pixel_values_local" in text
    # explain: one panel per view, the global view then each crop, as the outputs hold them
    small = str(fixture_path("photo_rgb_251x167.bmp"))
    for backend in BACKENDS:
        processor = pixelprep.Step3p7ImageProcessor(backend=backend)
        panels, output = explain_steps(processor, small), processor(small, return_tensors="np")
        views = [output["pixel_values"][0], *output["pixel_values_local"]]
        assert [panel.shape[:2] for _, panel in panels[1:]] == [view.shape[-2:] for view in views] == [(728, 728), (504, 504), (504, 504)]
        assert "pixel_values_local" in panels[-1][0]
    # batches of four cut back per image (crops and masks only for the images that have them), shards of three
    assert pixelprep.Step3p7ImageProcessor().can_split_batch({})
    for backend in BACKENDS:
        assert_runner_rows_equal_each_image_alone(pixelprep.Step3p7ImageProcessor(backend=backend), [str(fixture_path(n)) for n in MIXED], tmp_path / backend)
