"""UVDoc against transformers 5.23's UVDocImageProcessor (torchvision; transformers has no pil class), in the same process.

Both pixelprep backends are compared with that one class, on every output (``pixel_values`` and the per-image
``original_images``): every fixture image, mixed-size batches, call-time options, and document rectification
on seeded random meshes. The bound is 1e-5 on both backends: UVDoc rescales before it resizes and resizes the
floats with torch's ``interpolate`` on both (no Pillow filter is involved), so the pil backend differs only by
NumPy's float64 rescale rounded to float32 against torch's float32 product (one float32 step at most).
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.auto import family_for_config
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
BATCH = ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg", "tiny_rgb_7x5.png")


def _compare_outputs(got, expected, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == {"pixel_values", "original_images"}, what
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL, what=f"{what} pixel_values")
    assert isinstance(got["original_images"], list) and len(got["original_images"]) == len(expected["original_images"])
    compare(got["original_images"], to_numpy(expected["original_images"]), atol=ATOL, what=f"{what} original_images")


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_matches(backend: str, image_path, load_image, compare, to_numpy, to_eight_bit) -> None:
    """Every mode (EXIF, gray, RGBA, palette, CMYK, 16-bit, 1x1, 7x5, 1200x90, 1023x768): both outputs within 1e-5."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)  # README: 16-bit scaled, RGB
    expected = transformers.UVDocImageProcessor()(reference, return_tensors="np")
    got = pixelprep.UVDocImageProcessor(backend=backend)(str(image_path), return_tensors="np")
    _compare_outputs(got, expected, compare, to_numpy, f"UVDoc [{backend}] {image_path.name}")
    assert got["pixel_values"].shape == (1, 3, 712, 488)


def test_gray_image_is_answered_in_three_channels(fixture_path, load_image, compare, to_numpy) -> None:
    """transformers' class indexes channel 2 of a 1-channel gray image (IndexError); ours makes it RGB first (README)."""
    gray = load_image(fixture_path("gray_l_257x257.jpg"))
    with pytest.raises(IndexError):
        transformers.UVDocImageProcessor()(gray)
    got = pixelprep.UVDocImageProcessor()(gray, return_tensors="pt")
    _compare_outputs(got, transformers.UVDocImageProcessor()(gray.convert("RGB"), return_tensors="pt"), compare, to_numpy, "UVDoc gray")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call",
    [
        {},
        {"size": {"height": 200, "width": 150}, "resample": 3},  # transformers resizes bilinearly whatever resample says; so do we
        {"do_normalize": True, "image_mean": [0.5, 0.4, 0.3], "image_std": [0.2, 0.3, 0.25]},
        {"rescale_factor": 0.5 / 255},
        {"do_rescale": False},
        {"do_resize": False},
        {"return_tensors": "np"},
    ],
    ids=["default", "size-resample", "normalize", "factor", "no-rescale", "no-resize", "np"],
)
def test_mixed_size_batch_and_call_options(backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    call = {"return_tensors": "pt", **call} if call.get("do_resize", True) else call
    expected = transformers.UVDocImageProcessor()(images, **call)
    got = pixelprep.UVDocImageProcessor(backend=backend)(images, **call)
    _compare_outputs(got, expected, compare, to_numpy, f"UVDoc [{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_config_settings_and_tensor_types(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """Settings given at construction act as at call time; original_images is a list of return_tensors' type."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH[:2]]
    config = {"size": {"height": 96, "width": 64}, "do_normalize": True, "image_mean": [0.4, 0.4, 0.4], "image_std": [0.2, 0.2, 0.2]}
    expected = transformers.UVDocImageProcessor(**config)(images, return_tensors="pt")
    ours = pixelprep.UVDocImageProcessor(backend=backend, **config)
    _compare_outputs(ours(images, return_tensors="pt"), expected, compare, to_numpy, f"UVDoc [{backend}] config")
    as_pt, as_np = ours(images, return_tensors="pt"), ours(images, return_tensors="np")
    assert all(isinstance(image, torch.Tensor) for image in as_pt["original_images"])
    assert all(isinstance(image, np.ndarray) and image.dtype == np.float32 for image in as_np["original_images"])
    assert [image.shape for image in as_np["original_images"]] == [(3, 427, 640), (3, 1200, 90)]


def _mesh(seed: int, batch: int, height: int = 45, width: int = 31) -> torch.Tensor:
    # sampling positions a little beyond [-1, 1] too, where grid_sample reads zeros
    return torch.rand(batch, 2, height, width, generator=torch.Generator().manual_seed(seed)) * 2.2 - 1.1


@pytest.mark.parametrize("scale", [255.0, 100.0])
def test_post_process_document_rectification_matches(scale: float, fixture_path, load_image) -> None:
    """Each original image unwarped by its upsampled mesh: uint8 (H, W, 3), equal to transformers' on the same inputs."""
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH]
    originals = transformers.UVDocImageProcessor()(images, return_tensors="pt")["original_images"]
    mesh = _mesh(0, len(images))
    expected = transformers.UVDocImageProcessor().post_process_document_rectification(mesh, originals, scale=scale)
    for backend in BACKENDS:
        got = pixelprep.UVDocImageProcessor(backend=backend).post_process_document_rectification(mesh, originals, scale=scale)
        assert len(got) == len(expected)
        for mine, theirs in zip(got, expected):
            assert set(mine) == set(theirs) == {"images"}
            assert mine["images"].dtype == torch.uint8 and mine["images"].shape == theirs["images"].shape
            assert torch.equal(mine["images"], theirs["images"])


def test_post_process_takes_our_outputs_numpy_and_model_outputs(fixture_path, load_image) -> None:
    images = [load_image(fixture_path(name)).convert("RGB") for name in BATCH[:2]]
    mesh = _mesh(1, 2)
    reference = transformers.UVDocImageProcessor()
    expected = reference.post_process_document_rectification(mesh, reference(images, return_tensors="pt")["original_images"])
    ours = pixelprep.UVDocImageProcessor(backend="torchvision")
    originals = ours(images, return_tensors="np")["original_images"]
    as_numpy = ours.post_process_document_rectification(mesh.numpy(), originals)
    assert isinstance(as_numpy[0]["images"], np.ndarray)
    as_output = ours.post_process_document_rectification({"last_hidden_state": mesh}, ours(images)["original_images"])
    for numpy_result, output_result, theirs in zip(as_numpy, as_output, expected):
        np.testing.assert_array_equal(numpy_result["images"], theirs["images"].numpy())
        assert torch.equal(output_result["images"], theirs["images"])


def test_post_process_errors_are_ours() -> None:
    ours = pixelprep.UVDocImageProcessor()
    originals = [torch.zeros(3, 20, 10), torch.zeros(3, 8, 8)]
    with pytest.raises(InvalidArgumentError, match="original images for a batch of 1"):
        ours.post_process_document_rectification(_mesh(0, 1), originals)
    with pytest.raises(InvalidArgumentError, match=r"\(batch, 2, height, width\)"):
        ours.post_process_document_rectification(torch.zeros(2, 3, 4, 4), originals)
    with pytest.raises(InvalidArgumentError, match=r"original_images\[1\]"):
        ours.post_process_document_rectification(_mesh(0, 2), [torch.zeros(3, 20, 10), torch.zeros(2, 3, 8, 8)])
    with pytest.raises(InvalidArgumentError, match="last_hidden_state"):
        ours.post_process_document_rectification({"logits": _mesh(0, 2)}, originals)


def test_bad_inputs_are_our_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="size must have 'height' and 'width'"):
        pixelprep.UVDocImageProcessor(size={"shortest_edge": 100})(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InvalidImageError):
        pixelprep.UVDocImageProcessor()(np.zeros((0, 8, 3), np.uint8))
    with pytest.raises(InvalidArgumentError, match="images is empty"):
        pixelprep.UVDocImageProcessor()([])


def test_describes_its_pipeline() -> None:
    lines = repr(pixelprep.UVDocImageProcessor()).splitlines()
    assert lines[2:] == [
        "  → rescale 0.00392157 (before resizing)",
        "  → RGB to BGR",
        "  → resize to 712x488 bilinear (on floats, align corners)",
        "  → original_images = each image before the resize",
    ]


def test_resolves_by_name_and_model_type() -> None:
    for config in ({"image_processor_type": "UVDocImageProcessor"}, {"image_processor_type": "UVDocImageProcessorFast"}, {"model_type": "uvdoc"}):
        assert family_for_config(config) is pixelprep.UVDocImageProcessor, config


def test_runner_rows_equal_each_image_alone(tmp_path, fixture_path) -> None:
    processor = pixelprep.UVDocImageProcessor(backend="pil", size={"height": 64, "width": 48})
    inputs = [str(fixture_path(name)) for name in BATCH[:3]]
    run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=2, log=io.StringIO())
    entries = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    for entry, path in zip(entries, inputs):
        row, alone = read_row(tmp_path, entry), processor(path, return_tensors="np")
        np.testing.assert_array_equal(row["pixel_values"], alone["pixel_values"][0])
        np.testing.assert_array_equal(row["original_images"], alone["original_images"][0])
