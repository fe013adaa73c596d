"""Fuyu parity with transformers 5.23: every output key, both backends, against the class of the same backend."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.image_utils import SizeDict

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.geometry_vlm import shrink_to_fit
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
KEYS = {"images", "image_unpadded_heights", "image_unpadded_widths", "image_scale_factors", "image_sizes"}
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "photo_rgb_1023x768.jpg"]


@pytest.fixture(autouse=True, scope="module")
def _quiet() -> None:
    transformers.logging.set_verbosity_error()  # preprocess_with_tokenizer_info logs a deprecation on every call


def _theirs(backend: str, **config: Any) -> Any:
    return getattr(transformers, "FuyuImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    """What transformers gets: Fuyu never converts, so 16-bit, palette, CMYK and 1-bit files are given as pixelprep decodes them (README)."""
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I"):
        return to_eight_bit(image)
    if image.mode == "P":
        return image.convert("RGBA" if image.info.get("transparency") is not None else "RGB")
    return image.convert("RGB") if image.mode == "CMYK" else image


def _array(value: Any) -> np.ndarray:
    """An output as one NumPy array; transformers' pil class returns nested lists of per-image arrays."""
    if isinstance(value, list) and value and isinstance(value[0], list) and hasattr(value[0][0], "shape"):
        return np.stack([np.stack([_array(v) for v in sample]) for sample in value])
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


def _compare(got: Any, expected: Any, what: str) -> None:
    assert set(got) == set(expected) == KEYS, f"{what}: output keys {sorted(got)}"
    for key in KEYS - {"images"}:
        ours, theirs = _array(got[key]), _array(expected[key])
        assert ours.shape == theirs.shape and np.array_equal(ours, theirs), f"{what}: {key} {ours.tolist()} vs {theirs.tolist()}"
    ours, theirs = _array(got["images"]), _array(expected["images"])
    assert ours.shape == theirs.shape, f"{what}: images {ours.shape} vs {theirs.shape}"
    assert np.abs(ours - theirs).max() <= ATOL, f"{what}: images differ by {np.abs(ours - theirs).max()}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large): gray stays 1 channel, RGBA 4, as in transformers."""
    ours, theirs = pixelprep.FuyuImageProcessor(backend=backend), _theirs(backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, f"[{backend}] {image_path.name}")


def test_a_large_photo_is_shrunk_with_its_scale_factor(fixture_path, load_image) -> None:
    """A 3000x2000 photo is shrunk to 1620x1080 (scale 0.54) on both backends, padded with 1 before normalize."""
    image = np.asarray(load_image(fixture_path("photo_rgb_1023x768.jpg")).resize((3000, 2000)))
    for backend in BACKENDS:
        got = pixelprep.FuyuImageProcessor(backend=backend)(image, return_tensors="np")
        _compare(got, _theirs(backend)(image, return_tensors="np"), f"[{backend}] 3000x2000")
        assert got["image_unpadded_widths"].tolist() == [[1620]] and got["image_scale_factors"].tolist() == [[0.54]]
        assert np.allclose(got["images"][0, 0, :, 1080 - 1, 1620:], (1 / 255 - 0.5) / 0.5)


CALLS = [{}, {"size": {"height": 300, "width": 400}}, {"size": {"height": 300, "width": 400}, "resample": 3}, {"padding_value": 0.0},
         {"do_normalize": False}, {"do_rescale": False, "do_normalize": False}, {"image_mean": [0.4, 0.5, 0.6], "image_std": [0.2, 0.3, 0.4]},
         {"do_pad": False, "size": {"height": 500, "width": 500}}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image) -> None:
    """A flat list is one image per sample, as in transformers; without padding the images stay a list per sample."""
    images = [load_image(fixture_path(name)) for name in MIXED]
    ours, theirs = pixelprep.FuyuImageProcessor(backend=backend), _theirs(backend)
    unpadded = call.get("do_pad") is False
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors=None if unpadded else "np", **call)
    if unpadded:
        # sizes differ: a list per sample of (C, H, W) arrays; transformers' torchvision class cannot stack them and
        # raises, so each image is compared with transformers' output for that image alone
        assert [len(sample) for sample in got["images"]] == [1] * len(MIXED)
        for index, image in enumerate(images):
            alone = theirs(image, return_tensors="np", **call)
            assert _array(got["images"][index][0]).shape == alone["images"][0, 0].shape, f"[{backend}] {call} image {index}"
            assert np.abs(_array(got["images"][index][0]) - alone["images"][0, 0]).max() <= ATOL, f"[{backend}] {call} image {index}"
        return
    _compare(got, theirs(images, return_tensors="np", **call), f"[{backend}] {call}")
    assert _array(got["image_sizes"]).tolist() == [list(load_image(fixture_path(name)).size[::-1]) for name in MIXED]


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_give_per_sample_metadata_of_the_first_image(backend: str, fixture_path, load_image) -> None:
    """[[a, b], [c, d]] stacks as (2, 2, C, H, W); the metadata is each sample's first image, as transformers gives it."""
    names = [["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg"], ["photo_rgb_1023x768.jpg", "tiny_rgb_7x5.png"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = pixelprep.FuyuImageProcessor(backend=backend), _theirs(backend)
    got = ours([[str(fixture_path(n)) for n in sample] for sample in names], return_tensors="pt")
    _compare(got, theirs(images, return_tensors="pt"), f"[{backend}] nested")
    assert got["images"].shape == (2, 2, 3, 1080, 1920) and got["image_unpadded_heights"].tolist() == [[427], [768]]
    # samples of different image counts cannot stack: transformers' torchvision class raises, its pil class gives lists,
    # ours lists on both backends (compared with each sample alone)
    uneven = [images[0], images[1][:1]]
    got = ours(uneven)
    assert [len(sample) for sample in got["images"]] == [2, 1]
    for sample, given in zip(got["images"], uneven):
        expected = _array(theirs([given], return_tensors="np")["images"])[0]
        assert np.stack([_array(image) for image in sample]).shape == expected.shape
        assert np.abs(np.stack([_array(image) for image in sample]) - expected).max() <= ATOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types(backend: str, fixture_path, load_image) -> None:
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = pixelprep.FuyuImageProcessor(backend=backend), _theirs(backend)
    for tensors in ("pt", "np"):
        got, expected = ours(image, return_tensors=tensors), theirs(image, return_tensors=tensors)
        for key in KEYS:
            assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, f"{tensors} {key}"
    got = ours(image)
    assert got["image_scale_factors"] == [[1.0]] and isinstance(got["image_scale_factors"][0][0], float)
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare(ours(value, return_tensors="np"), theirs(value, return_tensors="np"), f"[{backend}] {type(value)}")


# ----------------------------------------------------------------------------------- model patching


@pytest.mark.parametrize("backend", BACKENDS)
def test_patch_helpers_match_transformers(backend: str) -> None:
    """get_num_patches and patchify_image, default and explicit patch sizes, against the class of the same backend."""
    ours, theirs = pixelprep.FuyuImageProcessor(backend=backend), _theirs(backend)
    for height, width, patch in [(1080, 1920, None), (60, 90, {"height": 30, "width": 30}), (32, 48, {"height": 16, "width": 8})]:
        size = SizeDict(**patch) if patch else None
        assert ours.get_num_patches(height, width, patch) == theirs.get_num_patches(height, width, size)
    batch = torch.from_numpy(np.random.default_rng(0).random((2, 3, 60, 90)).astype(np.float32))
    given = batch if backend == "torchvision" else batch.numpy()
    for patch in (None, {"height": 30, "width": 15}):
        got, expected = ours.patchify_image(given, patch), theirs.patchify_image(given, SizeDict(**patch) if patch else None)
        assert type(got) is type(expected) and got.shape == expected.shape and np.array_equal(_array(got), _array(expected))
    if backend == "pil":  # transformers' pil class also takes one (C, H, W) image
        assert np.array_equal(ours.patchify_image(given[0]), theirs.patchify_image(given[0]))
    with pytest.raises(InvalidImageError, match="61x90 does not split into 30x30 patches"):
        ours.get_num_patches(61, 90)
    with pytest.raises(InvalidImageError, match="does not split into 30x30 patches"):
        ours.patchify_image(given[:, :, :59])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("variable_sized", [True, False])
def test_preprocess_with_tokenizer_info_matches_transformers(backend: str, variable_sized: bool, fixture_path) -> None:
    """The processor's patch and id streams from our own outputs: two samples, an absent image, a cropped (variable) size."""
    ours, theirs = pixelprep.FuyuImageProcessor(backend=backend), _theirs(backend)
    paths = [[str(fixture_path("photo_rgb_333x517.jpg"))], [str(fixture_path("wide_rgb_1200x90.jpg"))]]
    batch = ours(paths, return_tensors="pt", size={"height": 240, "width": 360})
    images = torch.cat([batch["images"], batch["images"][:, :1]], dim=1)  # a second subsequence per sample
    present = torch.tensor([[1, 0], [1, 1]])
    heights = torch.cat([batch["image_unpadded_heights"]] * 2, dim=1)
    widths = torch.cat([batch["image_unpadded_widths"]] * 2, dim=1)
    args = (images, present, heights, widths, 71011, 71019, variable_sized)
    got, expected = ours.preprocess_with_tokenizer_info(*args), theirs.preprocess_with_tokenizer_info(*args)
    assert set(got) == set(expected)
    for key in got:
        flat_got = [v for sample in got[key] for v in sample]
        flat_expected = [v for sample in expected[key] for v in sample]
        assert len(flat_got) == len(flat_expected), key
        for a, b in zip(flat_got, flat_expected):
            assert np.array_equal(_array(a), _array(b)) and _array(a).dtype == _array(b).dtype, key
    if variable_sized:
        ids = got["image_input_ids"][1][0]
        # 1200x90 fitted into 240x360 is 27x360: one row of 12 patches, closed by a newline id
        assert ids.tolist() == [71011] * 12 + [71019]
    assert got["image_input_ids"][0][1].numel() == 0


# ----------------------------------------------------------------------------------------- geometry


def test_shrink_to_fit_is_transformers_resize_target() -> None:
    """The resize target agrees with transformers' resize for many sizes, including ones that already fit."""
    theirs = _theirs("torchvision")
    rng = np.random.default_rng(0)
    sizes = [(1080, 1920), (1081, 1920), (2000, 3000), (427, 640), (5000, 7), (3, 1921)]
    sizes += [tuple(int(v) for v in rng.integers(1, 4000, 2)) for _ in range(60)]
    for height, width in sizes:
        image = torch.zeros((1, height, width), dtype=torch.uint8)
        expected = tuple(theirs.resize(image, SizeDict(height=1080, width=1920)).shape[-2:])
        assert shrink_to_fit(height, width, 1080, 1920) == expected, (height, width)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.FuyuImageProcessor(backend=backend)
    with pytest.raises(InvalidImageError, match=r"an image of 2x5000 fitted into 1080x1920 becomes 0x1920"):
        ours(np.zeros((2, 5000, 3), np.uint8))  # transformers: a resize to a 0-pixel side fails deep inside
    with pytest.raises(InvalidImageError, match=r"an image of 1200x90 is larger than size 1080x1920"):
        ours(np.zeros((1200, 90, 3), np.uint8), do_resize=False)
    with pytest.raises(InvalidArgumentError, match="padding_mode 'reflect' is not supported"):
        ours(np.zeros((10, 10, 3), np.uint8), padding_mode="reflect")
    with pytest.raises(InvalidArgumentError, match="size must give 'height' and 'width'"):
        ours(np.zeros((10, 10, 3), np.uint8), size={"shortest_edge": 10})
    with pytest.raises(InvalidArgumentError, match=r"sample\(s\) \[1\] hold no image"):
        ours([[np.zeros((10, 10, 3), np.uint8)], []])


# --------------------------------------------------------------------------------- loading, tools


@pytest.mark.parametrize(
    "config",
    [{"image_processor_type": "FuyuImageProcessor"}, {"image_processor_type": "FuyuImageProcessorFast"},
     {"image_processor_type": "FuyuImageProcessorPil"}, {"model_type": "fuyu"}],
)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.FuyuImageProcessor


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == "FuyuImageProcessor"}
    assert set(pixelprep.FuyuImageProcessor.model_types) == theirs


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.FuyuImageProcessor(backend="pil"))
    assert "resize to fit 1080x1920 (shrink only, aspect kept, truncated) bilinear" in text
    assert "pad bottom/right to 1080x1920 with 1 (before rescale)" in text and "convert to RGB" not in text
    assert "stack into images (samples, images, C, H, W)" in text and "image_unpadded_heights/widths, image_scale_factors, image_sizes" in text


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.FuyuImageProcessor(backend="pil", size={"height": 540, "width": 960})
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    again = pixelprep.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    assert type(theirs).__name__ == "FuyuImageProcessorPil" and type(again) is type(ours)
    image = (np.arange(700 * 1300 * 3) % 253).astype(np.uint8).reshape(700, 1300, 3)
    expected = theirs(image, return_tensors="np")
    for processor in (ours, again):
        _compare(processor(image, return_tensors="np"), expected, "saved config")


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """Outputs carry per-sample metadata: the runner goes one image at a time; read_row equals the image alone."""
    ours = pixelprep.FuyuImageProcessor(backend=backend, size={"height": 300, "width": 400})
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png"]]
    result = run_job(ours, inputs, str(tmp_path), shard_size=3, batch_size=4, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 4)
    for line in (tmp_path / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        alone = ours(entry["source"], return_tensors="np")
        row = read_row(tmp_path, entry)
        assert row.keys() == alone.keys()
        for key in row:
            np.testing.assert_array_equal(np.asarray(row[key]), np.asarray(alone[key]))
