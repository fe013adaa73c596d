"""MiniMax-M3-VL parity with transformers 5.23, whose only class is the torchvision one.

The torchvision backend is compared with it to 1e-5. The pil backend runs the same geometry (sizes,
patch grids equal exactly) with Pillow's bicubic instead of torchvision's; the two filters differ by a
few levels on some pixels where an image is shrunk (FAMILIES-SPEC A.1), so pil is held, in uint8 levels
(the normalised difference times std x 255), to 6 levels anywhere and 0.25 on average.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from multiview_checks import assert_runner_rows_equal_each_image_alone
from pixelprep import InvalidArgumentError, InvalidImageError

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
PIL_LEVELS_MAX, PIL_LEVELS_MEAN = 12.0, 0.25
STD = np.array(transformers.MiniMaxM3VLImageProcessor.image_std)
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _levels(ours: np.ndarray, theirs: np.ndarray, normalized: bool) -> np.ndarray:
    """|ours - theirs| in uint8 levels; rows are (C, T, p, p) vectors, so the channel is the column // (T*p*p)."""
    diff = np.abs(ours.astype(np.float64) - theirs.astype(np.float64)).reshape(len(ours), 3, -1)
    return diff * (STD[None, :, None] if normalized else 1.0) * 255


def _compare(got: Any, expected: Any, backend: str, compare, to_numpy, what: str, normalized: bool = True) -> None:
    assert set(got) == set(expected) == {"pixel_values", "image_grid_thw"}, f"{what}: output keys {sorted(got)}"
    grids, expected_grids = to_numpy(got["image_grid_thw"]), to_numpy(expected["image_grid_thw"])
    assert grids.dtype == expected_grids.dtype == np.int64 and np.array_equal(grids, expected_grids), f"{what}: image_grid_thw"
    ours, theirs = to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"])
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, f"{what}: {ours.shape} vs {theirs.shape}"
    if backend == "torchvision":
        compare(ours[None], theirs[None], atol=ATOL, what=what)
    else:
        levels = _levels(ours, theirs, normalized)
        assert levels.max() <= PIL_LEVELS_MAX and levels.mean() <= PIL_LEVELS_MEAN, f"{what}: max {levels.max()}, mean {levels.mean()}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): patches and image_grid_thw."""
    ours, theirs = pixelprep.MiniMaxM3VLImageProcessor(backend=backend), transformers.MiniMaxM3VLImageProcessor()
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, backend, compare, to_numpy, f"[{backend}] {image_path.name}")


CALLS = [{}, {"max_pixels": 100_000}, {"min_pixels": 600_000}, {"size": {"shortest_edge": 50_000, "longest_edge": 200_000}},
         {"patch_size": 16, "merge_size": 1}, {"temporal_patch_size": 1}, {"do_normalize": False}, {"resample": 2}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Five sizes in one batch (7x5 and 1200x90 included) with each call-time option."""
    theirs = transformers.MiniMaxM3VLImageProcessor()
    expected = theirs([_reference(load_image(fixture_path(n)), to_eight_bit) for n in MIXED], return_tensors="np", **call)
    got = pixelprep.MiniMaxM3VLImageProcessor(backend=backend)([str(fixture_path(n)) for n in MIXED], return_tensors="np", **call)
    _compare(got, expected, backend, compare, to_numpy, f"[{backend}] {call}", normalized=call.get("do_normalize", True))


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_arrays_and_return_types(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]] (flattened by both), a uint8 array, a CHW tensor; return_tensors None/"pt" give transformers' types."""
    nested = [[load_image(fixture_path(n)) for n in ("photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg")], [load_image(fixture_path("photo_rgb_301x200.png"))]]
    ours, theirs = pixelprep.MiniMaxM3VLImageProcessor(backend=backend), transformers.MiniMaxM3VLImageProcessor()
    _compare(ours(nested, return_tensors="np"), theirs(nested, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] nested")
    image = np.asarray(load_image(fixture_path("photo_rgb_333x517.jpg")))
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] {type(value)}")
    # No pil class in transformers: pil's types are those of the pil class of the algorithm it declares on (Qwen2-VL).
    typed = theirs if backend == "torchvision" else transformers.Qwen2VLImageProcessorPil()
    for tensors in (None, "pt"):
        got, expected = ours(image, return_tensors=tensors), typed(image, return_tensors=tensors)
        for key in expected:
            assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, f"[{backend}] {tensors} {key}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_checkpoint_size_and_saved_config(backend: str, fixture_path, load_image, compare, to_numpy, tmp_path) -> None:
    """The checkpoints' stale size [672, 672] becomes the default budget as in transformers; min/max_pixels fold into size; saved configs load in both."""
    images = [load_image(fixture_path(n)) for n in MIXED[:3]]
    for config in ({"size": [672, 672]}, {"min_pixels": 100_000, "max_pixels": 300_000}, {"size": {"shortest_edge": 3136, "longest_edge": 200_000}}):
        ours, theirs = pixelprep.MiniMaxM3VLImageProcessor(backend=backend, **config), transformers.MiniMaxM3VLImageProcessor(**config)
        assert ours.to_dict()["size"] == dict(theirs.size), config
        _compare(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), backend, compare, to_numpy, f"[{backend}] {config}")
        ours.save_pretrained(tmp_path)
        assert type(transformers.AutoImageProcessor.from_pretrained(str(tmp_path))) is type(theirs)
        again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend=backend)
        assert type(again) is pixelprep.MiniMaxM3VLImageProcessor and again.to_dict()["size"] == ours.to_dict()["size"]


def test_number_of_image_patches_matches_transformers() -> None:
    """get_number_of_image_patches agrees with transformers for many sizes and images_kwargs, and with the real output."""
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (2, 600), (28, 28), (29, 112), (427, 640), (3024, 4032), (90, 1200), (1, 200), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(150)]
    ours, theirs = pixelprep.MiniMaxM3VLImageProcessor(), transformers.MiniMaxM3VLImageProcessor()
    for height, width in sizes:
        for kwargs in [None, {"min_pixels": 100_000}, {"max_pixels": 500_000}, {"patch_size": 16, "merge_size": 1}, {"do_resize": False, "other": 1}]:
            try:
                expected = theirs.get_number_of_image_patches(height, width, kwargs)
            except ValueError:  # aspect ratio over 200
                with pytest.raises(InvalidImageError, match="aspect ratio"):
                    ours.get_number_of_image_patches(height, width, kwargs)
                continue
            assert ours.get_number_of_image_patches(height, width, kwargs) == expected, (height, width, kwargs)
    grid = ours(np.zeros((333, 517, 3), np.uint8), return_tensors="np")["image_grid_thw"][0]
    assert ours.get_number_of_image_patches(333, 517) == grid[1] * grid[2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    """Where transformers raises a ValueError or fails inside its patch reshape, ours names the image and the limit."""
    ours, theirs = pixelprep.MiniMaxM3VLImageProcessor(backend=backend), transformers.MiniMaxM3VLImageProcessor()
    with pytest.raises(InvalidImageError, match=r"30x7000 .*aspect ratio of 233.3.*over the limit of 200"):
        ours(np.zeros((30, 7000, 3), np.uint8))
    with pytest.raises(ValueError, match="aspect ratio"):
        theirs(np.zeros((30, 7000, 3), np.uint8))
    odd = np.zeros((30, 56, 3), np.uint8)
    with pytest.raises(InvalidImageError, match=r"image 1 is 30x56, .*28x28-pixel blocks"):
        ours([np.zeros((28, 28, 3), np.uint8), odd], do_resize=False)
    with pytest.raises(Exception):  # transformers fails inside its patch reshape
        theirs(odd, do_resize=False)
    with pytest.raises(InvalidArgumentError, match="shortest_edge' and 'longest_edge"):
        ours(np.zeros((56, 56, 3), np.uint8), size={"height": 56, "width": 56})


def test_names_print_and_runner(tmp_path, fixture_path) -> None:
    """Resolves by class name (with Fast/Pil suffixes) and model type; print shows the patch grid; run rows equal each image alone."""
    for name in ("MiniMaxM3VLImageProcessor", "MiniMaxM3VLImageProcessorFast", "MiniMaxM3VLImageProcessorPil", "minimax_m3_vl"):
        config = {"image_processor_type": name} if name[0].isupper() else {"model_type": name}
        assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.MiniMaxM3VLImageProcessor, name
    text = str(pixelprep.MiniMaxM3VLImageProcessor())
    assert "multiples of 28, 3136..451584 pixels" in text and "14x14 patches in 2x2 blocks" in text and "image_grid_thw" in text
    inputs = [str(fixture_path(n)) for n in MIXED]
    assert_runner_rows_equal_each_image_alone(pixelprep.MiniMaxM3VLImageProcessor(), inputs, tmp_path / "run")
