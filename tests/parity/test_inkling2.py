"""Inkling2 parity with transformers 5.23, whose only class is the torchvision one.

No resize runs, so both backends are compared with it to 1e-5 (integer outputs equal). transformers gets
the fixture images decoded (EXIF applied, 16-bit scaled to 8 bits as pixelprep documents) and not
converted: its class composites transparency onto its checkerboard itself, as ours does.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from multiview_checks import assert_return_types_and_array_inputs, assert_runner_rows_equal_each_image_alone
from test_inkling import compare_outputs, reference_image
from pixelprep import InvalidArgumentError
from pixelprep.models.inkling2 import ceil_grid, checkerboard, composite_on_checkerboard

NAME = "Inkling2ImageProcessor"
BACKENDS = ("torchvision", "pil")
MIXED = ["photo_rgb_640x427.jpg", "rgba_alpha_radial_256x192.png", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png",
         "la_alpha_ramp_200x150.png", "palette_p_trns_240x160.png"]


def _ours(backend: str, **config: Any) -> Any:
    return getattr(pixelprep, NAME)(backend=backend, **config)


def _theirs(**config: Any) -> Any:
    return getattr(transformers, NAME)(**config)


def _compare(got: Any, expected: Any, to_numpy, what: str) -> None:
    compare_outputs(got, expected, to_numpy, what, count_key="image_grid_thw")


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, to_numpy) -> None:
    """Every fixture (EXIF, gray, gray+alpha, RGBA, palette with transparency, CMYK, 16-bit, 7x5, 1200x90, large)."""
    expected = _theirs()(reference_image(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(_ours(backend)(str(image_path), return_tensors="np"), expected, to_numpy, f"[{backend}] {image_path.name}")


CALLS = [
    {},
    {"size": {"height": 32, "width": 32}},
    {"size": 16},
    {"size": {"height": 20, "width": 30}},  # non-square patches, as transformers' class cuts them
    {"size": {"height": 48, "width": 8}},
    {"do_normalize": False},
    {"do_rescale": False, "do_normalize": False},
    {"image_mean": [0.1, 0.2, 0.3], "image_std": [0.9, 0.8, 0.7]},
    {"do_resize": False},  # transformers' class ignores it; so does ours
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, to_numpy) -> None:
    """Seven images in one batch (RGBA, gray+alpha, palette with transparency, 7x5 and 1200x90 among them) with each call-time option."""
    expected = _theirs()([reference_image(load_image(fixture_path(n)), to_eight_bit) for n in MIXED], return_tensors="np", **call)
    got = _ours(backend)([str(fixture_path(n)) for n in MIXED], return_tensors="np", **call)
    _compare(got, expected, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_arrays_and_return_types(backend: str, fixture_path, load_image, to_numpy) -> None:
    """[[a, b], [c]] (both concatenate every image's patches), uint8 RGB and RGBA arrays, a CHW tensor; return types."""
    nested = [[load_image(fixture_path(n)) for n in ("photo_rgb_640x427.jpg", "rgba_alpha_radial_256x192.png")], [load_image(fixture_path("photo_rgb_301x200.png"))]]
    ours, theirs = _ours(backend), _theirs()
    _compare(ours(nested, return_tensors="np"), theirs(nested, return_tensors="np"), to_numpy, f"[{backend}] nested")
    image = np.asarray(load_image(fixture_path("photo_rgb_333x517.jpg")))
    rgba = np.asarray(load_image(fixture_path("rgba_alpha_radial_256x192.png")))
    for value in (rgba, torch.from_numpy(rgba.copy()).permute(2, 0, 1)):
        _compare(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), to_numpy, f"[{backend}] {type(value)} {tuple(value.shape)}")
    # transformers has no pil class to compare pil's types with
    assert_return_types_and_array_inputs(
        ours, theirs, image, lambda got, expected, what: _compare(got, expected, to_numpy, what), f"[{backend}]",
        return_tensors=(None, "pt") if backend == "torchvision" else (),
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_whole_patch_images_without_rescale_or_normalize_stay_float(backend: str, to_numpy) -> None:
    """Images needing no padding, with do_rescale and do_normalize off: float32 0..255 patches, as transformers' (it pads floats)."""
    images = [np.random.default_rng(0).integers(0, 256, (40, 80, 3), dtype=np.uint8), np.full((80, 40, 3), 7, np.uint8)]
    call = {"do_rescale": False, "do_normalize": False, "return_tensors": "np"}
    _compare(_ours(backend)(images, **call), _theirs()(images, **call), to_numpy, f"[{backend}] uint8 levels")


def test_checkerboard_composite_and_convert_to_rgb_match_transformers() -> None:
    """The composite equals transformers' convert_to_rgb on random RGBA pixels (every alpha level, odd sizes); ours' convert_to_rgb too."""
    rng = np.random.default_rng(0)
    theirs, ours = _theirs(), _ours("torchvision")
    for height, width in ((1, 1), (7, 5), (17, 33), (64, 48)):
        rgba = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
        chw = torch.from_numpy(np.ascontiguousarray(rgba.transpose(2, 0, 1)))
        expected = theirs.convert_to_rgb(chw).numpy().transpose(1, 2, 0)
        assert np.array_equal(composite_on_checkerboard(rgba), expected), (height, width)
        assert np.array_equal(ours.convert_to_rgb(chw).numpy(), theirs.convert_to_rgb(chw).numpy()), (height, width)
        assert np.array_equal(_ours("pil").convert_to_rgb(rgba, input_data_format="channels_last"), expected), (height, width)
    board = checkerboard(17, 17)[:, :, 0]
    assert board[0, 0] == board[7, 7] == board[8, 8] == 204 and board[0, 8] == board[8, 0] == 153
    # a float image with alpha (values in [0, 1]) blends with the background's levels / 255
    floats = np.full((2, 2, 4), 0.5, np.float32)
    np.testing.assert_allclose(composite_on_checkerboard(floats), 0.25 + 0.5 * 204 / 255, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_checkpoint_config_and_saved_config(backend: str, fixture_path, load_image, to_numpy, tmp_path) -> None:
    """A checkpoint-shaped config loads as in transformers; our saved config loads in both."""
    images = [load_image(fixture_path(n)) for n in MIXED[:3]]
    config = {"image_processor_type": NAME, "processor_class": "Inkling2Processor", "do_convert_rgb": True, "do_normalize": True, "do_rescale": True,
              "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "rescale_factor": 0.00392156862745098, "size": {"height": 40, "width": 40}}
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    ours = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend=backend)
    assert type(ours) is getattr(pixelprep, NAME)
    _compare(ours(images, return_tensors="np"), theirs(images, return_tensors="np"), to_numpy, f"[{backend}] checkpoint")
    ours.save_pretrained(tmp_path / "saved")
    saved = json.loads((tmp_path / "saved" / "preprocessor_config.json").read_text())
    assert not {"rescale_image_frac", "rescale_image_max_upscaled_long_edge", "resample"} & set(saved), "Inkling's settings are not Inkling2's"
    again = transformers.AutoImageProcessor.from_pretrained(str(tmp_path / "saved"))
    _compare(ours(images, return_tensors="np"), again(images, return_tensors="np"), to_numpy, f"[{backend}] saved")


def test_grid_and_patch_count_match_transformers() -> None:
    """The grid rule gives transformers' image_grid_thw for many sizes and square or non-square patches; get_number_of_image_patches
    equals the real output (transformers' class has no such method)."""
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (40, 40), (39, 80), (80, 41), (1, 200), (427, 640), (90, 1200)]
    sizes += [tuple(int(v) for v in rng.integers(1, 700, 2)) for _ in range(20)]
    theirs, ours = _theirs(), _ours("pil")
    for height, width in sizes:
        for call in ({}, {"size": {"height": 16, "width": 16}}, {"size": {"height": 20, "width": 30}}, {"size": {"height": 7, "width": 3}}):
            image, layout = np.zeros((height, width, 3), np.uint8), {"input_data_format": "channels_last"}  # (1, 200, 3) is HWC here
            grid = theirs(image, return_tensors="np", **layout, **call)["image_grid_thw"][0]
            size = call.get("size", {"height": 40, "width": 40})
            assert list(grid) == [1, *ceil_grid(height, width, size["height"], size["width"])], (height, width, call)
            assert ours.get_number_of_image_patches(height, width, call) == grid[1] * grid[2], (height, width, call)
            assert np.array_equal(ours(image, return_tensors="np", **layout, **call)["image_grid_thw"][0], grid), (height, width, call)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    """A size without both sides, Inkling's rescale setting, bad sizes: our errors."""
    ours, image = _ours(backend), np.zeros((50, 60, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match=r"size must be \{'height': h, 'width': w\} \(the patch sides\) for Inkling2ImageProcessor"):
        ours(image, size={"shortest_edge": 20})
    with pytest.raises(InvalidArgumentError, match="rescale_image_frac is not a setting of Inkling2ImageProcessor"):
        ours(image, rescale_image_frac=1.5)
    with pytest.raises(InvalidArgumentError, match="size"):
        ours(image, size={"height": 0, "width": 0})
    with pytest.raises(InvalidArgumentError, match="MAX_OUTPUT_PIXELS"):
        ours(image, size=2**20)


def test_names_print_and_runner(tmp_path, fixture_path) -> None:
    """Resolves by class name (with Fast/Pil suffixes) and model type; print shows the checkerboard, padding and patches; run rows equal each image alone."""
    for name in (NAME, NAME + "Fast", NAME + "Pil", "inkling2"):
        config = {"image_processor_type": name} if name[0].isupper() else {"model_type": name}
        assert type(pixelprep.AutoImageProcessor.from_config(config)) is getattr(pixelprep, NAME), name
    text = str(_ours("pil"))
    assert "composited onto a 204/153 checkerboard of 8x8 squares" in text and "convert to RGB" not in text
    assert "pad bottom/right with -1 (0..255 scale) to whole 40x40 patches" in text
    assert "pixel_values (patches, 40, 40, C)" in text and "image_grid_thw (1, rows, cols)" in text
    text = str(_ours("pil", size={"height": 20, "width": 30}))
    assert "to whole 20x30 patches" in text and "patchify: 20x30 patches" in text and "pixel_values (patches, 20, 30, C)" in text
    inputs = [str(fixture_path(n)) for n in MIXED]
    assert_runner_rows_equal_each_image_alone(_ours("torchvision"), inputs, tmp_path / "run")


def _colour_key_pngs(folder) -> dict[str, bytes]:
    """A gray and an RGB PNG whose transparency is a tRNS colour key (a level / colour every few pixels take), saved in ``folder``."""
    from PIL import Image

    rng = np.random.default_rng(0)
    images = {"l_trns": (rng.integers(0, 4, (37, 45), dtype=np.uint8) * 60, 60),
              "rgb_trns": (rng.integers(0, 3, (37, 45, 3), dtype=np.uint8) * 100, (100, 0, 200))}
    files = {}
    for name, (pixels, key) in images.items():
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG", transparency=key)
        files[name] = buffer.getvalue()
        (folder / f"{name}.png").write_bytes(files[name])
    return files


@pytest.mark.parametrize("backend", BACKENDS)
def test_colour_key_transparency_reaches_the_checkerboard(backend: str, tmp_path, to_numpy) -> None:
    """Gray and RGB PNGs with a tRNS colour key, as paths, bytes and PIL images: the keyed pixels lie on the checkerboard, as in
    transformers (which reads Pillow's info["transparency"]); with do_convert_rgb=False both keep the plain channels."""
    from PIL import Image

    ours, theirs = _ours(backend), _theirs()
    for name, data in _colour_key_pngs(tmp_path).items():
        expected = theirs(Image.open(io.BytesIO(data)), return_tensors="np")
        values = to_numpy(expected["pixel_values"])
        keyless = Image.fromarray(np.asarray(Image.open(io.BytesIO(data))))  # the same pixels without the colour key
        assert not np.allclose(values, to_numpy(theirs(keyless, return_tensors="np")["pixel_values"])), f"{name}: the key changes transformers' output"
        for value in (str(tmp_path / f"{name}.png"), data, Image.open(io.BytesIO(data))):
            _compare(ours(value, return_tensors="np"), expected, to_numpy, f"[{backend}] {name} {type(value).__name__}")
        plain = {"do_convert_rgb": False, "image_mean": 0.5, "image_std": 0.5, "return_tensors": "np"}
        _compare(ours(data, **plain), theirs(Image.open(io.BytesIO(data)), **plain), to_numpy, f"[{backend}] {name} do_convert_rgb=False")


@pytest.mark.parametrize("name", ["CLIPImageProcessor", "Qwen2VLImageProcessor"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_colour_key_pngs_unchanged_for_other_families(name: str, backend: str, tmp_path, to_numpy) -> None:
    """Inkling2's alpha from a colour key is its own: CLIP and Qwen2-VL still equal transformers on these files (paths, bytes, PIL)."""
    from PIL import Image

    ours = getattr(pixelprep, name)(backend=backend)
    theirs = getattr(transformers, name + ("Pil" if backend == "pil" else ""))()
    for key, data in _colour_key_pngs(tmp_path).items():
        expected = to_numpy(theirs(Image.open(io.BytesIO(data)), return_tensors="np")["pixel_values"])
        for value in (str(tmp_path / f"{key}.png"), data, Image.open(io.BytesIO(data))):
            assert np.array_equal(to_numpy(ours(value, return_tensors="np")["pixel_values"]), expected), (key, type(value).__name__)
