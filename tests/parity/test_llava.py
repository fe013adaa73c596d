"""LLaVA parity with transformers 5.23: CLIP's pipeline plus an optional pad to a square with the mean colour, both backends."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import transformers

import pixelprep
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
CKPT = {"size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 336}, "do_pad": True}
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def read_manifest(out) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def _theirs(backend: str, **config: Any) -> Any:
    return getattr(transformers, "LlavaImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large), padded to a square (LLaVA-1.5's setting)."""
    ours, theirs = pixelprep.LlavaImageProcessor(backend=backend, **CKPT), _theirs(backend, **CKPT)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = ours(str(image_path), return_tensors="np")
    assert set(got) == set(expected) == {"pixel_values"}
    compare(to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"]), atol=ATOL, what=f"[{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [{}, {"do_pad": False}, {"image_mean": [0.2, 0.9, 0.5]}, {"do_center_crop": False, "size": {"height": 200, "width": 300}},
     {"do_normalize": False}, {"resample": 2, "crop_size": 200}],
    ids=repr,
)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of five sizes; the pad colour follows the call's image_mean, as in transformers."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.LlavaImageProcessor(backend=backend, **CKPT), _theirs(backend, **CKPT)
    expected = theirs(images, return_tensors="np", **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    compare(to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"]), atol=ATOL, what=f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_are_flattened(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    images = [[load_image(fixture_path("photo_rgb_640x427.jpg")), load_image(fixture_path("tall_rgb_90x1200.jpg"))], [load_image(fixture_path("tiny_rgb_7x5.png"))]]
    ours, theirs = pixelprep.LlavaImageProcessor(backend=backend, **CKPT), _theirs(backend, **CKPT)
    got, expected = ours(images, return_tensors="np"), theirs(images, return_tensors="np")
    assert got["pixel_values"].shape == (3, 3, 336, 336)
    compare(to_numpy(got["pixel_values"]), to_numpy(expected["pixel_values"]), atol=ATOL, what=f"[{backend}] nested")


def test_pad_colour_is_the_truncated_mean_and_sits_centred() -> None:
    """Without normalisation the padding shows the pad colour: int(mean * 255) per channel, odd pixel bottom/right."""
    ours = pixelprep.LlavaImageProcessor(backend="pil", do_pad=True, do_resize=False, do_center_crop=False, do_rescale=False, do_normalize=False)
    out = ours(np.full((5, 8, 3), 7, np.uint8), return_tensors="np")["pixel_values"][0]
    assert out.shape == (3, 8, 8)
    fill = [int(m * 255) for m in pixelprep.models.constants.OPENAI_CLIP_MEAN]  # 122, 116, 104
    assert out[:, :1].reshape(3, -1).T.tolist() == [fill] * 8 and out[:, 6:].reshape(3, -1).T.tolist() == [fill] * 16
    assert (out[:, 1:6] == 7).all()


def test_resolves_and_repr(tmp_path) -> None:
    for config in ({"image_processor_type": "LlavaImageProcessorFast"}, {"image_processor_type": "LlavaImageProcessorPil"}, {"model_type": "llava"}):
        assert type(pixelprep.AutoImageProcessor.from_config(config)) is pixelprep.LlavaImageProcessor
    text = repr(pixelprep.LlavaImageProcessor(backend="pil", **CKPT))
    assert "pad to a square, centred, with (122, 116, 104)" in text and "pad bottom/right" not in text
    assert text.index("pad to a square") < text.index("resize shortest edge 336") < text.index("center crop 336x336")
    ours = pixelprep.LlavaImageProcessor(backend="pil", **CKPT)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="pil")
    assert type(theirs).__name__ == "LlavaImageProcessorPil" and theirs.do_pad is True


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_batches_padded_images_and_rows_equal_each_alone(backend: str, tmp_path, fixture_path) -> None:
    """do_pad pads each image, not the batch: the runner keeps batching, and every row equals the image alone."""
    ours = pixelprep.LlavaImageProcessor(backend=backend, **CKPT)
    inputs = [str(fixture_path(name)) for name in MIXED]
    result = run_job(ours, inputs, str(tmp_path), shard_size=4, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 5)
    for entry in read_manifest(tmp_path):
        row = read_row(tmp_path, entry)
        np.testing.assert_array_equal(row["pixel_values"], ours(entry["source"], return_tensors="np")["pixel_values"][0])
