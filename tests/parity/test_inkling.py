"""Inkling parity with transformers 5.23, whose only class is the torchvision one.

Both backends are compared with it to 1e-5 wherever no resize runs (the default: patches are cut from
the image as it is). With ``rescale_image_frac`` the torchvision backend still matches to 1e-5 (the
same LANCZOS kernel); the pil backend runs Pillow's LANCZOS, within 3 uint8 levels of torchvision's
(0.045 after CLIP's std) anywhere and 1e-3 on average.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import transformers

import pixelprep
from multiview_checks import assert_return_types_and_array_inputs, assert_runner_rows_equal_each_image_alone
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.models.inkling import patch_grid, rescaled_size

NAME = "InklingImageProcessor"
BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
#: ours on pil against torchvision's LANCZOS (only where rescale_image_frac resizes): 3 levels after CLIP's smallest std
PIL_LANCZOS_MAX, PIL_LANCZOS_MEAN = 3 / 255 / 0.26130258, 1e-3
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _ours(backend: str, **config: Any) -> Any:
    return getattr(pixelprep, NAME)(backend=backend, **config)


def _theirs(**config: Any) -> Any:
    transformers.logging.set_verbosity_error()
    return getattr(transformers, NAME)(**config)


def reference_image(image, to_eight_bit):
    """A decoded fixture as transformers gets it: 16-bit images scaled to 8 bits, as pixelprep documents."""
    return to_eight_bit(image) if image.mode.startswith("I") else image


def compare_outputs(got: Any, expected: Any, to_numpy, what: str, resized_on_pil: bool = False, count_key: str = "num_patches") -> None:
    """``pixel_values`` and the integer ``count_key`` output (Inkling2: ``image_grid_thw``) against transformers'."""
    assert set(got) == set(expected) == {"pixel_values", count_key}, f"{what}: output keys {sorted(got)}"
    counts, expected_counts = to_numpy(got[count_key]), to_numpy(expected[count_key])
    assert counts.dtype == expected_counts.dtype == np.int64 and np.array_equal(counts, expected_counts), f"{what}: {count_key}"
    ours, theirs = to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"])
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, f"{what}: {ours.shape} {ours.dtype} vs {theirs.shape} {theirs.dtype}"
    diff = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
    if resized_on_pil:
        assert diff.max() <= PIL_LANCZOS_MAX and diff.mean() <= PIL_LANCZOS_MEAN, f"{what}: max {diff.max()}, mean {diff.mean()}"
    else:
        assert diff.max() <= ATOL, f"{what}: max |diff| {diff.max()}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): patches and num_patches, 1e-5 on both backends."""
    expected = _theirs()(reference_image(load_image(image_path), to_eight_bit), return_tensors="np")
    compare_outputs(_ours(backend)(str(image_path), return_tensors="np"), expected, to_numpy, f"[{backend}] {image_path.name}")


CALLS = [
    {},
    {"rescale_image_frac": 1.5},
    {"rescale_image_frac": 0.37},
    {"rescale_image_frac": 3.0, "rescale_image_max_upscaled_long_edge": 700},
    {"rescale_image_frac": 2.0, "rescale_image_max_upscaled_long_edge": 100},  # the cap never shrinks an image past it
    {"rescale_image_frac": 1.5, "resample": 3},
    {"size": {"height": 32, "width": 32}},
    {"do_normalize": False},
    {"do_rescale": False, "do_normalize": False},
    {"image_mean": [0.1, 0.2, 0.3], "image_std": [0.9, 0.8, 0.7]},
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, to_numpy) -> None:
    """Five sizes in one batch (7x5 and 1200x90 included) with each call-time option."""
    expected = _theirs()([reference_image(load_image(fixture_path(n)), to_eight_bit) for n in MIXED], return_tensors="np", **call)
    got = _ours(backend)([str(fixture_path(n)) for n in MIXED], return_tensors="np", **call)
    compare_outputs(got, expected, to_numpy, f"[{backend}] {call}", resized_on_pil=backend == "pil" and "rescale_image_frac" in call)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_arrays_and_return_types(backend: str, fixture_path, load_image, to_numpy) -> None:
    """[[a, b], [c]] (both concatenate every image's patches), a uint8 array, a CHW tensor, an RGBA array; return types."""
    nested = [[load_image(fixture_path(n)) for n in ("photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg")], [load_image(fixture_path("photo_rgb_301x200.png"))]]
    ours, theirs = _ours(backend), _theirs()
    for call in ({}, {"rescale_image_frac": 0.5}):
        compare_outputs(ours(nested, return_tensors="np", **call), theirs(nested, return_tensors="np", **call), to_numpy, f"[{backend}] nested {call}",
                 resized_on_pil=backend == "pil" and bool(call))
    image = np.asarray(load_image(fixture_path("photo_rgb_333x517.jpg")))
    rgba = np.asarray(load_image(fixture_path("rgba_alpha_radial_256x192.png")))
    # transformers has no pil class to compare pil's types with
    assert_return_types_and_array_inputs(
        ours, theirs, image, lambda got, expected, what: compare_outputs(got, expected, to_numpy, what), f"[{backend}]",
        return_tensors=(None, "pt") if backend == "torchvision" else (),
    )
    # an RGBA array is blended onto white with rounding; transformers truncates (README): one level apart at most
    got, expected = ours(rgba, return_tensors="np"), theirs(rgba, return_tensors="np")
    assert np.array_equal(got["num_patches"], expected["num_patches"])
    assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= 1 / 255 / 0.26130258 + 1e-5


@pytest.mark.parametrize("backend", BACKENDS)
def test_checkpoint_config_and_saved_config(backend: str, fixture_path, load_image, to_numpy, tmp_path) -> None:
    """A checkpoint-shaped config (nulls, LANCZOS, a rescale) loads as in transformers; our saved config loads in both."""
    images = [load_image(fixture_path(n)) for n in MIXED[:3]]
    config = {"image_processor_type": NAME, "processor_class": "InklingProcessor", "do_convert_rgb": True, "do_normalize": True, "do_rescale": True,
              "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 1,
              "rescale_factor": 0.00392156862745098, "rescale_image_frac": 1.25, "rescale_image_max_upscaled_long_edge": 2048,
              "size": {"height": 40, "width": 40}, "do_resize": None}
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    ours = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend=backend)
    assert type(ours) is getattr(pixelprep, NAME) and ours.rescale_image_frac == 1.25
    compare_outputs(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), to_numpy, f"[{backend}] checkpoint", resized_on_pil=backend == "pil")
    ours.save_pretrained(tmp_path / "saved")
    again = transformers.AutoImageProcessor.from_pretrained(str(tmp_path / "saved"))
    assert again.rescale_image_frac == 1.25 and again.size.height == 40
    compare_outputs(ours(images, return_tensors="np"), again(images, return_tensors="np"), to_numpy, f"[{backend}] saved", resized_on_pil=backend == "pil")


def test_geometry_and_patch_count_match_transformers() -> None:
    """Our rescale rule and patch grid give transformers' patch count for many sizes and settings; the count helper equals the output."""
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (40, 40), (39, 80), (80, 41), (1, 200), (427, 640), (90, 1200)]
    sizes += [tuple(int(v) for v in rng.integers(1, 700, 2)) for _ in range(20)]
    theirs, ours = _theirs(), _ours("pil")
    for height, width in sizes:
        for call in ({}, {"rescale_image_frac": 1.7}, {"rescale_image_frac": 0.6, "rescale_image_max_upscaled_long_edge": 300},
                     {"rescale_image_frac": 4.0, "rescale_image_max_upscaled_long_edge": 500}, {"size": {"height": 16, "width": 16}}):
            image, layout = np.zeros((height, width, 3), np.uint8), {"input_data_format": "channels_last"}  # (1, 200, 3) is HWC here
            try:
                expected = int(theirs(image, return_tensors="np", **layout, **call)["num_patches"][0])
            except ValueError:  # rescaled to a side of no pixel: transformers refuses a size with a 0 side
                with pytest.raises(InvalidImageError, match="a side of no pixel"):
                    ours(image, **layout, **call)
                continue
            assert ours.get_number_of_image_patches(height, width, call) == expected, (height, width, call)
            assert int(ours(image, return_tensors="np", **layout, **call)["num_patches"][0]) == expected, (height, width, call)
    # the pure rules: the grid always holds the (rescaled) image and adds a column, as transformers' patch cutter does
    for height, width in sizes:
        rows, cols = patch_grid(height, width, 40, 40)
        assert (rows - 1) * 40 < height <= rows * 40 and (cols - 1) * 40 <= width < cols * 40
        new_h, new_w = rescaled_size(max(height, 10), max(width, 10), 2.0, 600)
        assert max(new_h, new_w) <= max(600, max(height, width, 10)) + 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    """do_resize=False and a non-square size (transformers: ValueError), a side rescaled to nothing (transformers: a ValueError about its size dict), bad settings."""
    ours, image = _ours(backend), np.zeros((50, 60, 3), np.uint8)
    with pytest.raises(ValueError, match="do_resize"):
        _theirs()(image, do_resize=False)
    with pytest.raises(InvalidArgumentError, match="do_resize cannot be False for InklingImageProcessor"):
        ours(image, do_resize=False)
    with pytest.raises(InvalidArgumentError, match=r"size must be a square .* got \{'height': 40, 'width': 30\}"):
        ours(image, size={"height": 40, "width": 30})
    with pytest.raises(ValueError, match="Size must contain"):
        _theirs()(np.zeros((5, 5000, 3), np.uint8), rescale_image_frac=0.05)
    with pytest.raises(InvalidImageError, match=r"a 5x5000 image rescaled by rescale_image_frac=0.05 becomes 0x250, a side of no pixel"):
        ours(np.zeros((5, 5000, 3), np.uint8), rescale_image_frac=0.05)
    with pytest.raises(InvalidArgumentError, match="rescale_image_frac must be a finite number greater than 0"):
        ours(image, rescale_image_frac=0)
    with pytest.raises(InvalidArgumentError, match="rescale_image_max_upscaled_long_edge must be a positive integer"):
        ours(image, rescale_image_max_upscaled_long_edge=-5)
    with pytest.raises(InvalidArgumentError, match="MAX_OUTPUT_PIXELS"):
        ours(image, rescale_image_frac=1e6, rescale_image_max_upscaled_long_edge=10**7)


def test_names_print_and_runner(tmp_path, fixture_path) -> None:
    """Resolves by class name (with Fast/Pil suffixes) and model type; print shows the rescale, padding and patches; run rows equal each image alone."""
    for name in (NAME, NAME + "Fast", NAME + "Pil", "inkling_mm_model"):
        config = {"image_processor_type": name} if name[0].isupper() else {"model_type": name}
        assert type(pixelprep.AutoImageProcessor.from_config(config)) is getattr(pixelprep, NAME), name
    text = str(_ours("pil", rescale_image_frac=1.5))
    assert "long edge times 1.5 (growth capped at 2048)" in text and "lanczos" in text
    assert "pad bottom/right with -1 (0..255 scale) to ceil(height / 40) rows and width // 40 + 1 columns of 40x40 patches" in text
    assert "pixel_values (patches, 2, 40, 40, C)" in text
    inputs = [str(fixture_path(n)) for n in MIXED]
    assert_runner_rows_equal_each_image_alone(_ours("torchvision"), inputs, tmp_path / "run")
