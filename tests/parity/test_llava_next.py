"""LLaVA-NeXT and LLaVA-OneVision parity with transformers 5.23: every output key, both backends, against the class of the same backend.

Ours reads the fixture files itself; transformers gets them decoded (EXIF applied) and, for 16-bit
images, scaled to 8 bits by value as pixelprep documents.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import transformers
from transformers.image_processing_utils import select_best_resolution

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.errors import OutputShapeError
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
# llava-hf/llava-v1.6-*: 336 tiles; LLaVA-OneVision: the class defaults (384, no crop, 36 pinpoints)
FAMILIES = {
    "LlavaNextImageProcessor": {"size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 336}},
    "LlavaOnevisionImageProcessor": {},
}
KEYS = {"LlavaNextImageProcessor": {"pixel_values", "image_sizes"}, "LlavaOnevisionImageProcessor": {"pixel_values", "image_sizes", "batch_num_images"}}
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _pair(family: str, backend: str, **config: Any) -> tuple[Any, Any]:
    config = {**FAMILIES[family], **config}
    theirs = getattr(transformers, family + ("Pil" if backend == "pil" else ""))(**config)
    return getattr(pixelprep, family)(backend=backend, **config), theirs


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare(family: str, got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == KEYS[family], f"{what}: output keys {sorted(got)}"
    for key in KEYS[family] - {"pixel_values"}:
        assert np.array_equal(to_numpy(got[key]), to_numpy(expected[key])), f"{what}: {key} {to_numpy(got[key])} != {to_numpy(expected[key])}"
        assert to_numpy(got[key]).dtype == np.int64
    compare(to_numpy(got["pixel_values"])[None], to_numpy(expected["pixel_values"])[None], atol=ATOL, what=what)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(family: str, backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): base image + tiles, image_sizes."""
    ours, theirs = _pair(family, backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(family, ours(str(image_path), return_tensors="np"), expected, compare, to_numpy, f"[{backend}] {image_path.name}")


CALLS = [
    {},
    {"image_grid_pinpoints": [[224, 448], [448, 224], [448, 448], [224, 224]], "size": {"shortest_edge": 224}, "crop_size": 224},
    {"do_center_crop": False},
    {"size": {"height": 300, "width": 300}, "crop_size": 280},
    {"do_resize": False},
    {"do_normalize": False, "resample": 2},
    {"image_mean": [0.1, 0.2, 0.3], "image_std": [0.5, 0.5, 0.5]},
]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(family: str, backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A flat batch of five sizes (one image per sample), images with fewer tiles padded with zero tiles."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = _pair(family, backend)
    expected = theirs(images, return_tensors="np", **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare(family, got, expected, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs(family: str, backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]]: LLaVA-NeXT tiles every image; OneVision pads the images of the two-image sample to a square, no tiles."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = _pair(family, backend)
    got = ours(images, return_tensors="np")
    _compare(family, got, theirs(images, return_tensors="np"), compare, to_numpy, f"[{backend}] nested")
    if family == "LlavaOnevisionImageProcessor":
        assert got["batch_num_images"].tolist() == [2, 1]
        assert not got["pixel_values"][:2, 1:].any()  # multi-image samples: one view, the rest zero padding


@pytest.mark.parametrize("backend", BACKENDS)
def test_onevision_pads_multi_image_samples_with_the_processors_own_mean(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """transformers pads with self.image_mean even when the call gives another mean (which still normalises)."""
    images = [[load_image(fixture_path("photo_rgb_640x427.jpg")), load_image(fixture_path("tall_rgb_90x1200.jpg"))]]
    ours, theirs = _pair("LlavaOnevisionImageProcessor", backend, image_mean=[0.3, 0.6, 0.9])
    call = {"image_mean": [0.9, 0.1, 0.5]}
    _compare("LlavaOnevisionImageProcessor", ours(images, return_tensors="np", **call), theirs(images, return_tensors="np", **call),
             compare, to_numpy, f"[{backend}] call-time mean")
    assert "pad to a square, centred, with (76, 153, 229) (the processor's own mean" in repr(ours)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_and_arrays(family: str, backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = _pair(family, backend)
    got, expected = ours(image, return_tensors="pt"), theirs(image, return_tensors="pt")
    for key in expected:
        assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, key
    for value in (image, __import__("torch").from_numpy(image.copy()).permute(2, 0, 1)):
        _compare(family, ours(value, return_tensors="np"), theirs(value, return_tensors="np"), compare, to_numpy, f"[{backend}] {type(value)}")


@pytest.mark.parametrize("family", FAMILIES)
def test_number_of_image_patches_is_the_view_count(family: str) -> None:
    """Views per image (base + tiles) for many sizes and images_kwargs: the tile count transformers' select_best_resolution gives, and the real output's."""
    ours, _ = _pair(family, "pil")
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (336, 336), (427, 640), (2200, 1700), (3024, 4032), (90, 1200), (20, 2000)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(300)]
    for kwargs in (None, {"image_grid_pinpoints": [[448, 896], [896, 448]], "crop_size": 448, "other": 1}):
        params = ours.resolve({k: v for k, v in (kwargs or {}).items() if k != "other"})
        tile = ours.tile_size(params)
        for height, width in sizes:
            best = select_best_resolution((height, width), [list(p) for p in params["image_grid_pinpoints"]])
            if best is None:
                continue
            expected = 1 + -(-best[0] // tile) * -(-best[1] // tile)
            assert ours.get_number_of_image_patches(height, width, kwargs) == expected, (height, width, kwargs)
    image = np.zeros((333, 517, 3), np.uint8)
    assert ours(image)["pixel_values"].shape[1] == ours.get_number_of_image_patches(333, 517)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(family: str, backend: str) -> None:
    ours, _ = _pair(family, backend)
    # no pinpoint keeps a whole row of a 2x5000 image: the first one is used, as in transformers
    assert ours(np.zeros((2, 5000, 3), np.uint8))["image_sizes"].tolist() == [[2, 5000]]
    with pytest.raises(OutputShapeError, match=r"images make \[\d+, \d+\] views each.*do_pad=True"):
        ours([np.zeros((100, 100, 3), np.uint8), np.zeros((100, 1000, 3), np.uint8)], do_pad=False)
    with pytest.raises(InvalidArgumentError, match=r"image_grid_pinpoints\[1\] must be a \[height, width\] pair"):
        ours(np.zeros((10, 10, 3), np.uint8), image_grid_pinpoints=[[336, 672], [336]])
    with pytest.raises(InvalidArgumentError, match=r"image_grid_pinpoints\[0\]\[1\] must be a positive integer"):
        getattr(pixelprep, family)(image_grid_pinpoints=[[336, 0]])
    with pytest.raises(OutputShapeError, match="views of sizes"):
        ours(np.zeros((100, 300, 3), np.uint8), do_center_crop=False, size={"shortest_edge": 336}, image_grid_pinpoints=[[336, 500]])


@pytest.mark.parametrize(
    ("config", "family"),
    [({"image_processor_type": "LlavaNextImageProcessorFast"}, "LlavaNextImageProcessor"),
     ({"image_processor_type": "LlavaNextImageProcessorPil"}, "LlavaNextImageProcessor"),
     ({"model_type": "llava_next_video"}, "LlavaNextImageProcessor"), ({"model_type": "granite4_vision"}, "LlavaNextImageProcessor"),
     ({"model_type": "llava_next"}, "LlavaNextImageProcessor"),
     ({"image_processor_type": "LlavaOnevisionImageProcessorFast"}, "LlavaOnevisionImageProcessor"),
     ({"model_type": "llava_onevision"}, "LlavaOnevisionImageProcessor")],
)
def test_resolves_by_class_name_and_model_type(config: dict, family: str) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is getattr(pixelprep, family)


@pytest.mark.parametrize("family", FAMILIES)
def test_model_types_are_the_ones_transformers_maps(family: str) -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == family}
    assert set(getattr(pixelprep, family).model_types) == theirs


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.LlavaNextImageProcessor(backend="pil", **FAMILIES["LlavaNextImageProcessor"]))
    assert "the image squashed to 336x336 bicubic, then 336x336 tiles, row-major" in text
    assert "best of 5 resolutions (336x672, 672x336, 672x672, 1008x336, 336x1008)" in text
    assert "each view: resize shortest edge 336 bicubic" in text and "each view: center crop 336x336" in text
    assert "(images, views, C, H, W), images with fewer views padded with zero views" in text
    text = repr(pixelprep.LlavaOnevisionImageProcessor(backend="pil"))
    assert "384x384 tiles" in text and "best of 36 resolutions" in text and "images of multi-image samples: no tiles" in text
    assert "center crop" not in text and "batch_num_images" in text


@pytest.mark.parametrize("family", FAMILIES)
def test_saved_config_loads_in_transformers_and_back(family: str, tmp_path) -> None:
    ours = getattr(pixelprep, family)(backend="pil", image_grid_pinpoints=[[224, 448], [448, 224]], size={"shortest_edge": 224}, crop_size=224)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    assert type(theirs).__name__ == family + "Pil" and type(again) is type(ours)
    image = (np.arange(300 * 500 * 3) % 253).astype(np.uint8).reshape(300, 500, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        got = processor(image, return_tensors="np")
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
        assert np.array_equal(got["image_sizes"], expected["image_sizes"])


@pytest.mark.parametrize("family", FAMILIES)
def test_runner_rows_equal_each_image_alone(family: str, tmp_path, fixture_path) -> None:
    """Tile counts vary per image: the runner stores each image's views as its own tensor; read_row equals the image alone."""
    ours, _ = _pair(family, "pil")
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png"]]
    result = run_job(ours, inputs, str(tmp_path), shard_size=2, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 3)
    for line in (tmp_path / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        alone = ours(entry["source"], return_tensors="np")
        row = read_row(tmp_path, entry)
        assert row.keys() == alone.keys()
        for key in row:
            np.testing.assert_array_equal(row[key], alone[key])
