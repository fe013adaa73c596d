"""DeepSeek-VL and Janus parity with transformers 5.23: long side to ``size`` with round, centred pad with the
init-time mean colour, both backends."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
FAMILIES = ("DeepseekVLImageProcessor", "JanusImageProcessor")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def read_manifest(out) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def _theirs(name: str, backend: str, **config: Any) -> Any:
    return getattr(transformers, name + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    """What transformers is given: 8-bit RGB (it does not convert gray, RGBA, palette or CMYK itself and raises)."""
    image = to_eight_bit(image) if image.mode.startswith("I") else image
    return image if image.mode == "RGB" else convert_to_rgb(image)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", FAMILIES)
def test_every_fixture_image(name: str, backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large) at the class defaults."""
    ours, theirs = getattr(pixelprep, name)(backend=backend), _theirs(name, backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = ours(str(image_path), return_tensors="np")
    assert set(got) == set(expected) == {"pixel_values"}
    assert got["pixel_values"].shape == (1, 3, 384, 384)
    compare(to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"]), atol=ATOL, what=f"[{backend}] {image_path.name}")


CALLS = [
    {},
    {"do_pad": False, "return_tensors": None},
    {"image_mean": [0.2, 0.9, 0.5]},
    {"size": {"height": 224, "width": 224}, "min_size": 30},
    {"size": 100, "resample": 2},
    {"do_normalize": False},
    {"do_rescale": False, "do_normalize": False},
    {"do_resize": False, "return_tensors": None},
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of five sizes; a call-time image_mean changes the normalisation but not the pad colour, as in transformers."""
    call = {"return_tensors": "np", **call}
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.DeepseekVLImageProcessor(backend=backend), _theirs("DeepseekVLImageProcessor", backend)
    expected = theirs(images, **call)
    got = ours([str(fixture_path(name)) for name in MIXED], **call)
    mine, reference = to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"])
    if isinstance(reference, list):
        assert isinstance(mine, list) and [m.shape for m in mine] == [r.shape for r in reference]
        for i, (m, r) in enumerate(zip(mine, reference)):
            compare(np.asarray(m, np.float32), np.asarray(r, np.float32), atol=ATOL, what=f"[{backend}] {call} image {i}")
    else:
        compare(mine, reference, atol=ATOL, what=f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_init_time_config_sets_the_pad_colour(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    config = {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "size": {"height": 256, "width": 256}, "resample": 1}
    ours, theirs = pixelprep.JanusImageProcessor(backend=backend, **config), _theirs("JanusImageProcessor", backend, **config)
    assert ours.background_color == tuple(theirs.background_color) == (127, 127, 127)
    image = load_image(fixture_path("tall_rgb_90x1200.jpg"))
    compare(to_numpy(ours(image, return_tensors="np")["pixel_values"]), to_numpy(theirs(image, return_tensors="np")["pixel_values"]), atol=ATOL, what=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_are_flattened(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    images = [[load_image(fixture_path("photo_rgb_640x427.jpg")), load_image(fixture_path("tall_rgb_90x1200.jpg"))], [load_image(fixture_path("tiny_rgb_7x5.png"))]]
    ours, theirs = pixelprep.JanusImageProcessor(backend=backend), _theirs("JanusImageProcessor", backend)
    got, expected = ours(images, return_tensors="np"), theirs(images, return_tensors="np")
    assert got["pixel_values"].shape == (3, 3, 384, 384)
    compare(to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"]), atol=ATOL, what=f"[{backend}] nested")


def test_pad_colour_is_the_init_mean_and_sits_centred() -> None:
    """Without normalisation the padding shows the colour: int(mean * 255) of the init mean, odd pixel bottom/right."""
    ours = pixelprep.DeepseekVLImageProcessor(backend="pil", do_resize=False, do_rescale=False, do_normalize=False)
    out = ours(np.full((5, 8, 3), 7, np.uint8), return_tensors="np", image_mean=[0.0, 0.0, 0.0])["pixel_values"][0]
    fill = [122, 116, 104]
    assert out.shape == (3, 8, 8)
    assert out[:, :1].reshape(3, -1).T.tolist() == [fill] * 8 and out[:, 6:].reshape(3, -1).T.tolist() == [fill] * 16
    assert (out[:, 1:6] == 7).all()


@pytest.mark.parametrize("size", [{"height": 384, "width": 200}, {"shortest_edge": 384}])
def test_non_square_size_is_our_error(size: dict) -> None:
    ours = pixelprep.DeepseekVLImageProcessor(backend="pil")
    with pytest.raises(pixelprep.InvalidArgumentError, match="size must be a square"):
        ours(np.zeros((20, 30, 3), np.uint8), size=size)


def test_resolves_and_repr(tmp_path) -> None:
    for name in FAMILIES:
        family = getattr(pixelprep, name)
        for config in ({"image_processor_type": name + "Fast"}, {"image_processor_type": name + "Pil"}, {"image_processor_type": name}, {"model_type": family.model_types[0]}):
            assert type(pixelprep.AutoImageProcessor.from_config(config)) is family
        ours = family(backend="pil")
        text = repr(ours)
        assert text.index("resize long side to 384 (round), each side at least 14") < text.index("pad to a square, centred, with (122, 116, 104)")
        assert "pad bottom/right" not in text
        folder = tmp_path / name
        ours.save_pretrained(folder)
        theirs = transformers.AutoImageProcessor.from_pretrained(str(folder), backend="pil")
        assert type(theirs).__name__ == name + "Pil" and theirs.min_size == 14


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_batches_and_rows_equal_each_alone(backend: str, tmp_path, fixture_path) -> None:
    ours = pixelprep.JanusImageProcessor(backend=backend)
    inputs = [str(fixture_path(name)) for name in MIXED]
    result = run_job(ours, inputs, str(tmp_path), shard_size=4, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 5)
    for entry in read_manifest(tmp_path):
        row = read_row(tmp_path, entry)
        np.testing.assert_array_equal(row["pixel_values"], ours(entry["source"], return_tensors="np")["pixel_values"][0])


# ------------------------------------------------------------------------------------ DeepSeek-VL-Hybrid

HYBRID = "DeepseekVLHybridImageProcessor"
HYBRID_KEYS = {"pixel_values", "high_res_pixel_values"}


def _compare_outputs(got, expected, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == HYBRID_KEYS
    for key in HYBRID_KEYS:
        mine, reference = to_numpy(got[key]), to_numpy(expected[key])
        if isinstance(reference, list):
            assert isinstance(mine, list) and [np.shape(m) for m in mine] == [np.shape(r) for r in reference], f"{what} {key}"
            for i, (m, r) in enumerate(zip(mine, reference)):
                compare(np.asarray(m, np.float32), np.asarray(r, np.float32), atol=ATOL, what=f"{what} {key} image {i}")
        else:
            compare(mine, reference, atol=ATOL, what=f"{what} {key}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_hybrid_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    ours, theirs = pixelprep.DeepseekVLHybridImageProcessor(backend=backend), _theirs(HYBRID, backend)
    got = ours(str(image_path), return_tensors="np")
    assert got["pixel_values"].shape == (1, 3, 384, 384) and got["high_res_pixel_values"].shape == (1, 3, 1024, 1024)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {image_path.name}")


HYBRID_CALLS = [
    {},
    {"image_mean": [0.2, 0.9, 0.5], "high_res_image_std": [0.3, 0.3, 0.3]},
    {"high_res_size": {"height": 512, "width": 512}, "size": {"height": 128, "width": 128}, "high_res_resample": 2, "min_size": 20},
    {"do_normalize": False},
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", HYBRID_CALLS, ids=repr)
def test_hybrid_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.DeepseekVLHybridImageProcessor(backend=backend), _theirs(HYBRID, backend)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare_outputs(got, theirs(images, return_tensors="np", **call), compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", [{"do_resize": False}, {"do_pad": False}], ids=repr)
def test_hybrid_where_transformers_torchvision_crashes(backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """transformers' torchvision class crashes without resize or pad; both our backends answer as its pil class."""
    images = [load_image(fixture_path(name)) for name in ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg")]
    with pytest.raises((NameError, KeyError, UnboundLocalError, IndexError, TypeError, RuntimeError)):
        _theirs(HYBRID, "torchvision")(images, **call)
    got = pixelprep.DeepseekVLHybridImageProcessor(backend=backend)(images, **call)
    if backend == "pil" or "do_resize" in call:
        expected = _theirs(HYBRID, "pil")(images, **call)
    else:  # the resize filter is the backend's: chain transformers' torchvision DeepSeek-VL resize, 1024 then 384
        plain = {"do_pad": False, "do_rescale": False, "do_normalize": False}
        high = _theirs("DeepseekVLImageProcessor", backend, size=1024, **plain)(images)["pixel_values"]
        low = _theirs("DeepseekVLImageProcessor", backend, **plain)(high)["pixel_values"]
        normalize = _theirs("DeepseekVLImageProcessor", backend, do_resize=False, do_pad=False)
        expected = {"high_res_pixel_values": normalize(high)["pixel_values"], "pixel_values": normalize(low)["pixel_values"]}
    _compare_outputs(got, expected, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_hybrid_nested_inputs_and_runner_rows(backend: str, tmp_path, fixture_path, load_image, compare, to_numpy) -> None:
    images = [[load_image(fixture_path("photo_rgb_640x427.jpg")), load_image(fixture_path("tall_rgb_90x1200.jpg"))], [load_image(fixture_path("tiny_rgb_7x5.png"))]]
    ours, theirs = pixelprep.DeepseekVLHybridImageProcessor(backend=backend), _theirs(HYBRID, backend)
    got = ours(images, return_tensors="np")
    assert got["high_res_pixel_values"].shape == (3, 3, 1024, 1024)
    _compare_outputs(got, theirs(images, return_tensors="np"), compare, to_numpy, f"[{backend}] nested")
    inputs = [str(fixture_path(name)) for name in MIXED]
    result = run_job(ours, inputs, str(tmp_path), shard_size=4, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 5)
    for entry in read_manifest(tmp_path):
        row, alone = read_row(tmp_path, entry), ours(entry["source"], return_tensors="np")
        assert set(row) == HYBRID_KEYS
        for key in HYBRID_KEYS:
            np.testing.assert_array_equal(row[key], alone[key][0])


def test_hybrid_resolves_repr_and_errors(tmp_path) -> None:
    family = pixelprep.DeepseekVLHybridImageProcessor
    for config in ({"image_processor_type": HYBRID + "Fast"}, {"image_processor_type": HYBRID + "Pil"}, {"model_type": "deepseek_vl_hybrid"}):
        assert type(pixelprep.AutoImageProcessor.from_config(config)) is family
    ours = family(backend="pil", high_res_image_mean=[0.5, 0.5, 0.5])
    assert ours.high_res_background_color == (127, 127, 127) and ours.background_color == (122, 116, 104)
    text = repr(ours)
    assert text.index("high_res_pixel_values: resize long side to 1024") < text.index("high_res_pixel_values: pad to a square, centred, with (127, 127, 127)")
    assert text.index("high_res_pixel_values: normalize") < text.index("pixel_values (from the high-res image before rescaling): resize long side to 384")
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    assert type(theirs).__name__ == HYBRID + "Pil" and tuple(theirs.high_res_background_color) == (127, 127, 127)
    with pytest.raises(pixelprep.InvalidArgumentError, match="high_res_size must be a square"):
        ours(np.zeros((20, 30, 3), np.uint8), high_res_size={"height": 1024, "width": 512})


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("colour", [0, 200, (10, 20, 30)], ids=repr)
@pytest.mark.parametrize("shape", [(3, 5, 8), (3, 9, 4), (3, 6, 6)], ids=repr)
def test_pad_to_square_method(backend: str, colour, shape: tuple, compare, to_numpy) -> None:
    """The single-step method: same output and type as transformers' ``pad_to_square`` (an int colours channel 0 only)."""
    import torch

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    ours, theirs = pixelprep.DeepseekVLImageProcessor(backend=backend), _theirs("DeepseekVLImageProcessor", backend)
    if backend == "pil":
        got, expected = ours.pad_to_square(image, background_color=colour), theirs.pad_to_square(image, background_color=colour)
    else:  # transformers' torchvision method takes a batch tensor
        batch = torch.from_numpy(image)[None]
        got, expected = ours.pad_to_square(batch, background_color=colour), theirs.pad_to_square(batch, background_color=colour)
    assert type(got) is type(expected)
    np.testing.assert_array_equal(to_numpy(got), to_numpy(expected))
    with pytest.raises(pixelprep.InvalidArgumentError, match="background_color has 2 values"):
        ours.pad_to_square(image, background_color=(1, 2))
