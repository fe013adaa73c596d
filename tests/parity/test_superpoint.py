"""SuperPoint against transformers 5.23's SuperPointImageProcessor (torchvision) and SuperPointImageProcessorPil.

Every fixture image, gray on and off, mixed batches, call-time options and keypoint post-processing on
seeded random model outputs; tolerances 1e-5, integers equal. transformers keeps gray images 1-channel
and RGBA 4-channel; ours makes them RGB (README), so transformers is given the RGB image as reference.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError

ATOL = 1e-5
BACKENDS = ("torchvision", "pil")
BATCH = ("photo_rgb_640x427.jpg", "gray_l_257x257.jpg", "tall_rgb_90x1200.jpg", "rgba_alpha_radial_256x192.png")


def _theirs(backend: str, **config) -> object:
    return (transformers.SuperPointImageProcessor if backend == "torchvision" else transformers.SuperPointImageProcessorPil)(**config)


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("gray", [False, True])
def test_every_fixture_matches(backend: str, gray: bool, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Each fixture file (EXIF, gray, RGBA, palette, CMYK, 16-bit, tiny, elongated, large) equals transformers' class of the backend."""
    ours = pixelprep.SuperPointImageProcessor(backend=backend, do_grayscale=gray)
    expected = to_numpy(_theirs(backend, do_grayscale=gray)(_reference(load_image(image_path), to_eight_bit), return_tensors="np")["pixel_values"])
    got = ours(str(image_path), return_tensors="np")["pixel_values"]
    assert got.shape == (1, 3, 480, 640)
    compare(got, expected, atol=ATOL, what=f"SuperPoint [{backend}] gray={gray} {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [
        {},
        {"do_grayscale": True},
        {"do_grayscale": True, "size": {"height": 240, "width": 320}, "resample": 3},
        {"size": {"height": 100, "width": 50}, "rescale_factor": 0.5 / 255},
        {"do_resize": False, "do_grayscale": True},
        {"do_rescale": False},
    ],
)
def test_mixed_batch_and_call_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of photos of several sizes and modes, with options given at call time: every image equal, list or stacked."""
    images = [load_image(fixture_path(name)) for name in BATCH]
    expected = _theirs(backend)([_reference(image, to_eight_bit) for image in images], **call)["pixel_values"]
    got = pixelprep.SuperPointImageProcessor(backend=backend)(images, **call)["pixel_values"]
    assert len(got) == len(expected)
    for mine, ref in zip(got, expected):
        ref = to_numpy(ref)
        assert to_numpy(mine).dtype == ref.dtype
        compare(mine, ref, atol=ATOL, what=f"SuperPoint [{backend}] batch {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_gray_images_have_three_channels(backend: str, fixture_path) -> None:
    """The model reads channel 0 of 3: a gray file gives 3 equal channels (transformers: 1 channel)."""
    got = pixelprep.SuperPointImageProcessor(backend=backend)(str(fixture_path("gray_l_257x257.jpg")), return_tensors="np")["pixel_values"]
    assert got.shape == (1, 3, 480, 640)
    assert np.array_equal(got[0, 0], got[0, 1]) and np.array_equal(got[0, 1], got[0, 2])


def test_torchvision_grays_before_resizing_and_pil_after(fixture_path) -> None:
    """The two backends follow their transformers class: 8-bit gray then resize, or resize, rescale then float gray."""
    early = repr(pixelprep.SuperPointImageProcessor(do_grayscale=True, backend="torchvision")).splitlines()
    late = repr(pixelprep.SuperPointImageProcessor(do_grayscale=True, backend="pil")).splitlines()
    assert "grayscale" in early[2] and "resize" in early[3]
    assert "grayscale" in late[-1]
    path = str(fixture_path("photo_rgb_640x427.jpg"))
    a = pixelprep.SuperPointImageProcessor(do_grayscale=True, backend="torchvision")(path, return_tensors="np")["pixel_values"]
    b = pixelprep.SuperPointImageProcessor(do_grayscale=True, backend="pil")(path, return_tensors="np")["pixel_values"]
    assert 0 < np.abs(a - b).max() < 0.05  # the same picture, rounded at different points


# ------------------------------------------------------------------------------------ post-processing


def _outputs(seed: int, batch: int = 3, keypoints: int = 50, dim: int = 256) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(seed)
    mask = (torch.rand(batch, keypoints, generator=generator) > 0.4).to(torch.int32)
    return SimpleNamespace(
        mask=mask,
        keypoints=torch.rand(batch, keypoints, 2, generator=generator),
        scores=torch.rand(batch, keypoints, generator=generator),
        descriptors=torch.randn(batch, keypoints, dim, generator=generator),
    )


TARGETS = [[(480, 640), (333, 517), (90, 1200)], torch.tensor([[480, 640], [333, 517], [90, 1200]])]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("target_index", range(len(TARGETS)))
def test_keypoint_detection_matches(backend: str, target_index: int) -> None:
    outputs = _outputs(4)
    theirs = _theirs(backend).post_process_keypoint_detection(outputs, TARGETS[target_index])
    ours = pixelprep.SuperPointImageProcessor(backend=backend).post_process_keypoint_detection(outputs, TARGETS[target_index])
    assert len(ours) == len(theirs) == 3
    for mine, ref in zip(ours, theirs):
        assert set(mine) == set(ref)
        assert mine["keypoints"].dtype == torch.int32 and torch.equal(mine["keypoints"], ref["keypoints"])
        for key in ("scores", "descriptors"):
            torch.testing.assert_close(mine[key], ref[key], rtol=0, atol=0)


def test_keypoint_detection_takes_numpy_and_dicts() -> None:
    outputs = _outputs(5)
    theirs = transformers.SuperPointImageProcessor().post_process_keypoint_detection(outputs, TARGETS[0])
    as_numpy = {key: value.numpy() for key, value in vars(outputs).items()}
    ours = pixelprep.SuperPointImageProcessor().post_process_keypoint_detection(as_numpy, np.array(TARGETS[0]))
    for mine, ref in zip(ours, theirs):
        assert isinstance(mine["keypoints"], np.ndarray)
        assert np.array_equal(mine["keypoints"], ref["keypoints"].numpy())


@pytest.mark.parametrize(
    ("target_sizes", "message"),
    [([(480, 640)], r"shape \(1, 2\)"), ([(480, 640, 3)] * 3, r"shape \(3, 3\)"), (None, "target_sizes is required"), ([("a", 1)] * 3, "target_sizes")],
)
def test_bad_target_sizes_are_our_errors(target_sizes, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        pixelprep.SuperPointImageProcessor().post_process_keypoint_detection(_outputs(1), target_sizes)


def test_model_type_and_class_names_resolve(tmp_path) -> None:
    for name in ("SuperPointImageProcessor", "SuperPointImageProcessorPil", "SuperPointImageProcessorFast"):
        assert type(pixelprep.AutoImageProcessor.from_config({"image_processor_type": name})) is pixelprep.SuperPointImageProcessor
    (tmp_path / "config.json").write_text('{"model_type": "superpoint"}')
    (tmp_path / "preprocessor_config.json").write_text("{}")
    assert type(pixelprep.AutoImageProcessor.from_pretrained(tmp_path)) is pixelprep.SuperPointImageProcessor


def test_runner_rows_equal_each_image_alone(tmp_path, fixture_path) -> None:
    import io

    import json

    from pixelprep.runner import MANIFEST, read_row, run_job

    processor = pixelprep.SuperPointImageProcessor(do_grayscale=True, size={"height": 48, "width": 64})
    inputs = [str(fixture_path(name)) for name in BATCH]
    run_job(processor, inputs, str(tmp_path), shard_size=3, batch_size=2, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / MANIFEST).read_text().splitlines()]
    assert len(entries) == len(inputs) and not any("error" in entry for entry in entries)
    for entry in entries:
        np.testing.assert_array_equal(read_row(tmp_path, entry)["pixel_values"], processor(entry["source"], return_tensors="np")["pixel_values"][0])
