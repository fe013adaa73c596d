"""PP-OCRv5 and PP-OCRv6 text recognition parity with transformers 5.23 (torchvision classes only there).

torchvision: 1e-5 against transformers' class. pil, compared with the same torchvision class: PP-OCRv5
resizes float pixels (Pillow's float filter against torch's: under 1e-4 after normalising by 0.5);
PP-OCRv6 resizes 8-bit pixels without antialiasing, where our NumPy interpolation stays within 2 levels
of torch's fixed-point 8-bit kernel: 2 / 255 / 0.5 (std) = 0.0157.
"""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError

FAMILIES = ("PPOCRV5ServerRec", "PPOCRV6SmallRec")
BACKENDS = ("torchvision", "pil")
ATOL = {("PPOCRV5ServerRec", "torchvision"): 1e-5, ("PPOCRV6SmallRec", "torchvision"): 1e-5, ("PPOCRV5ServerRec", "pil"): 1e-4, ("PPOCRV6SmallRec", "pil"): 2 / 255 / 0.5 + 1e-6}
MIXED = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png", "photo_rgb_333x517.jpg"]
MODEL_TYPES = {"PPOCRV5ServerRec": ("pp_ocrv5_server_rec", "pp_ocrv5_mobile_rec"), "PPOCRV6SmallRec": ("pp_ocrv6_small_rec", "pp_ocrv6_tiny_rec")}


def _ours(family: str, backend: str, **config: Any) -> Any:
    return getattr(pixelprep, f"{family}ImageProcessor")(backend=backend, **config)


def _theirs(family: str, **config: Any) -> Any:
    return getattr(transformers, f"{family}ImageProcessor")(**config)


def _atol(family: str, backend: str, call: dict) -> float:
    """The pil 8-bit tolerance is 2 levels in normalised units: it grows as the std shrinks."""
    if (family, backend) == ("PPOCRV6SmallRec", "pil") and "image_std" in call:
        return 2 / 255 / min(call["image_std"]) + 1e-6
    return ATOL[family, backend]


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_every_fixture_image(family: str, backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    expected = _theirs(family)(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = _ours(family, backend)(str(image_path), return_tensors="np")
    assert set(got) == set(expected) == {"pixel_values"}
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL[family, backend], what=f"{family} [{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    "call",
    [{}, {"return_tensors": "pt"}, {"do_pad": False}, {"pad_size": {"height": 48, "width": 1600}}, {"resample": 3}, {"do_normalize": False},
     {"image_mean": [0.2, 0.4, 0.6], "image_std": [0.5, 0.3, 0.2]}, {"do_resize": False, "do_pad": False}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(family: str, backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Lines of every size resized to the widest one's width (then padded, or not): the whole batch stacks."""
    names = MIXED if not call.get("do_resize", True) is False else ["photo_rgb_640x427.jpg"] * 2
    images = [load_image(fixture_path(name)) for name in names]
    expected = _theirs(family)([_reference(image, to_eight_bit) for image in images], **call)
    got = _ours(family, backend)([str(fixture_path(name)) for name in names], **call)
    assert set(got) == {"pixel_values"}
    compare(to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"]), atol=_atol(family, backend, call), what=f"{family} [{backend}] {call}")


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("config", [{"max_image_width": 400}, {"size": {"height": 32, "width": 100}, "pad_size": {"height": 32, "width": 256}}, {"pad_size": 64}], ids=repr)
def test_configured_sizes_and_width_cap(family: str, config: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """A narrower cap, another line height, a square pad size: the same sizes as transformers built with them."""
    images = [load_image(fixture_path(name)) for name in ("wide_rgb_1200x90.jpg", "tiny_rgb_7x5.png")]
    for backend in BACKENDS:
        try:
            expected = _theirs(family, **config)(images, return_tensors="np")["pixel_values"]
        except ValueError:  # a pad size smaller than the lines: transformers' ValueError, ours names pad_size
            with pytest.raises(InvalidArgumentError, match="pad_size"):
                _ours(family, backend, **config)(images)
            continue
        got = _ours(family, backend, **config)(images, return_tensors="np")["pixel_values"]
        compare(got, to_numpy(expected), atol=ATOL[family, backend], what=f"{family} [{backend}] {config}")


def test_target_size_matches_transformers() -> None:
    """get_target_size (transformers' public helper) for many batches of shapes."""
    rng = np.random.default_rng(0)
    for config in ({}, {"max_image_width": 500}, {"size": {"height": 32, "width": 64}}):
        ours, theirs = _ours("PPOCRV5ServerRec", "pil", **config), _theirs("PPOCRV5ServerRec", **config)
        for _ in range(50):
            shapes = [tuple(int(v) for v in rng.integers(1, 2000, 2)) for _ in range(rng.integers(1, 5))]
            expected = theirs.get_target_size([torch.Size(shape) for shape in shapes])
            assert ours.get_target_size(shapes) == {"height": expected.height, "width": expected.width}, shapes


@pytest.mark.parametrize("backend", BACKENDS)
def test_call_time_size_is_honoured(backend: str, fixture_path, compare, to_numpy) -> None:
    """A call-time size sets the line height and minimum width; transformers sizes lines from the processor's own
    size whatever the call says (README): ours equals transformers built with that size."""
    image = str(fixture_path("photo_rgb_640x427.jpg"))
    call = {"size": {"height": 32, "width": 256}, "pad_size": {"height": 32, "width": 256}}
    got = _ours("PPOCRV5ServerRec", backend)(image, return_tensors="np", **call)["pixel_values"]
    assert got.shape == (1, 3, 32, 256)
    expected = _theirs("PPOCRV5ServerRec", **call)(pixelprep.inputs.open_image(image).convert("RGB"), return_tensors="np")["pixel_values"]
    compare(got, to_numpy(expected), atol=ATOL["PPOCRV5ServerRec", backend], what=f"[{backend}] call-time size")


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_post_process_text_recognition(family: str, seed: int) -> None:
    """CTC decoding of seeded random logits (blanks and repeats collapse): texts equal, scores within 1e-6."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(3, 40, 12, generator=generator) * 3
    logits[:, ::3, 0] += 6  # plenty of blanks, as a recognizer emits between characters
    characters = ["blank", *"abcdefghij", "ü"]
    expected = _theirs(family, character_list=characters).post_process_text_recognition(SimpleNamespace(last_hidden_state=logits))
    got = _ours(family, "pil", character_list=characters).post_process_text_recognition({"last_hidden_state": logits.numpy()})
    assert [item["text"] for item in got] == [item["text"] for item in expected]
    assert all(abs(a["score"] - b["score"]) <= 1e-6 for a, b in zip(got, expected))
    assert all(item["text"] for item in got)


def test_post_process_all_blank_and_bad_input() -> None:
    """All-blank rows decode to "" with a NaN score, as in transformers; a vocabulary too short is our error, not an IndexError."""
    logits = torch.zeros(1, 5, 4)
    logits[..., 0] = 1
    processor = _ours("PPOCRV5ServerRec", "pil", character_list="_abc")
    (result,) = processor.post_process_text_recognition(SimpleNamespace(last_hidden_state=logits))
    assert result["text"] == "" and np.isnan(result["score"])
    logits[0, 2, 3] = 5
    with pytest.raises(InvalidArgumentError, match="character 3 but character_list has 0 entries"):
        _ours("PPOCRV5ServerRec", "pil").post_process_text_recognition(SimpleNamespace(last_hidden_state=logits))
    with pytest.raises(InvalidArgumentError, match=r"\(batch, steps, vocabulary\)"):
        processor.post_process_text_recognition(SimpleNamespace(last_hidden_state=logits[0]))


@pytest.mark.parametrize("family", FAMILIES)
def test_bad_arguments_raise_our_errors(family: str) -> None:
    image = np.zeros((20, 40, 3), np.uint8)
    with pytest.raises(InvalidArgumentError, match="max_image_width must be a positive integer"):
        _ours(family, "pil", max_image_width=0)
    with pytest.raises(InvalidArgumentError, match="character_list must be a list of strings"):
        _ours(family, "pil", character_list=[1, 2])
    with pytest.raises(InvalidArgumentError, match="size must give 'height' and 'width'"):
        _ours(family, "pil")(image, size={"shortest_edge": 48})
    with pytest.raises(InvalidArgumentError, match="pad_size 32x320 is smaller than an image of 48x96"):
        _ours(family, "pil")(image, pad_size={"height": 32, "width": 320})


@pytest.mark.parametrize("family", FAMILIES)
def test_resolves_by_class_name_and_model_type(family: str) -> None:
    cls = getattr(pixelprep, f"{family}ImageProcessor")
    for name in (cls.__name__, cls.__name__ + "Fast"):
        assert type(pixelprep.AutoImageProcessor.from_config({"image_processor_type": name})) is cls
    for model_type in MODEL_TYPES[family]:
        assert type(pixelprep.AutoImageProcessor.from_config({"model_type": model_type})) is cls
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {t for t, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == cls.transformers_class}
    assert set(cls.model_types) == theirs == set(MODEL_TYPES[family])


def test_saved_config_loads_in_transformers(tmp_path) -> None:
    ours = _ours("PPOCRV6SmallRec", "torchvision", character_list=["_", "a"], max_image_width=1000)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    assert type(theirs).__name__ == "PPOCRV6SmallRecImageProcessor" and theirs.character_list == ["_", "a"] and theirs.max_image_width == 1000
    image = np.random.default_rng(2).integers(0, 256, (40, 900, 3), dtype=np.uint8)
    assert np.abs(ours(image, return_tensors="np")["pixel_values"] - np.asarray(theirs(image, return_tensors="np")["pixel_values"])).max() <= 1e-5


def test_repr_shows_the_line_rule() -> None:
    text = repr(_ours("PPOCRV6SmallRec", "pil"))
    assert "no antialiasing" in text and "RGB to BGR" in text and "the width of the call's widest line (at least 320, at most 3200)" in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """The line width depends on the batch, so pixelprep run processes one image at a time; read_row equals the image alone."""
    from pixelprep.runner import read_row, run_job

    processor = _ours("PPOCRV5ServerRec", backend)
    inputs = [str(fixture_path(name)) for name in ("photo_rgb_640x427.jpg", "wide_rgb_1200x90.jpg", "tiny_rgb_7x5.png")]
    run_job(processor, inputs, str(tmp_path), shard_size=4, batch_size=3, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    assert len(entries) == 3 and all("error" not in entry for entry in entries)
    for entry in entries:
        np.testing.assert_array_equal(read_row(tmp_path, entry)["pixel_values"], processor(entry["source"], return_tensors="np")["pixel_values"][0])
