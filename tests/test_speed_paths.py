"""The fast paths keep the output exact, and the opt-in approximations stay opt-in and bounded.

- decoded PIL images are read through Pillow's Arrow export (no copy) where Pillow allows it;
- the torchvision backend resizes RGB memory stored as 4 bytes per pixel as 4 channels;
- outputs without padding skip the zero fill;
- ``approximations=("jpeg_draft", "resize_crop_region")`` trade a little accuracy for speed.
"""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import pixelprep
from pixelprep.inputs import _jpeg_draft_scale, pil_array

PHOTO = Path(__file__).parent / "fixtures" / "images" / "photo_rgb_1023x768.jpg"


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    with Image.open(PHOTO) as image:
        return image.convert("RGB")


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_pil_array_views_pillow_memory_without_a_copy(photo: Image.Image, mode: str) -> None:
    image = photo.convert(mode)
    expected = np.asarray(image).reshape(image.height, image.width, -1)
    array = pil_array(image)
    np.testing.assert_array_equal(array, expected)
    assert not array.flags.writeable
    assert array.strides[1] == (1 if mode == "L" else 4)  # Pillow's own layout: RGB pixels are 4 bytes apart
    del image
    gc.collect()
    np.testing.assert_array_equal(array, expected)  # the view keeps Pillow's memory alive


def test_pil_array_copies_images_spread_over_several_memory_blocks(photo: Image.Image) -> None:
    big = photo.resize((2200, 2000))  # 17.6 MB in Pillow's layout: more than one 16 MB block
    array = pil_array(big)
    assert array.strides == (2200 * 3, 3, 1)
    np.testing.assert_array_equal(array, np.asarray(big))


@pytest.mark.parametrize("resample", [1, 2, 3])
def test_torchvision_resizes_four_byte_rgb_exactly_like_packed_rgb(photo: Image.Image, resample: int) -> None:
    processor = pixelprep.CLIPImageProcessor(backend="torchvision", resample=resample)
    from_view = processor(photo, return_tensors="np")["pixel_values"]
    from_copy = processor(np.array(photo), return_tensors="np")["pixel_values"]
    np.testing.assert_array_equal(from_view, from_copy)
    rgba = np.array(photo.convert("RGBA"))
    from_rgba_colours = processor(rgba[:, :, :3], return_tensors="np")["pixel_values"]  # a 3-channel view of 4-byte pixels
    np.testing.assert_array_equal(from_rgba_colours, from_copy)


def test_four_byte_view_is_used_only_when_the_fourth_byte_exists() -> None:
    from pixelprep.backends.torchvision import _four_byte_pixels, _tensor_from_numpy

    rgbx = np.arange(5 * 6 * 4, dtype=np.uint8).reshape(5, 6, 4).copy()  # owns its memory
    tensor = _tensor_from_numpy(rgbx[:, :, :3])
    assert tensor.shape == (5, 6, 3)
    padded = _four_byte_pixels(tensor)
    assert padded is not None and torch.equal(padded, torch.from_numpy(rgbx))
    # the same strides without the last pixel's 4th byte in the tensor's storage: no padded view
    assert _four_byte_pixels(torch.from_numpy(rgbx[:, :, :3])) is None
    assert _four_byte_pixels(torch.from_numpy(np.ascontiguousarray(rgbx[:, :, :3]))) is None


def test_padded_outputs_are_still_zero_outside_the_images() -> None:
    processor = pixelprep.CLIPImageProcessor(backend="torchvision", do_resize=False, do_center_crop=False, do_pad=True)
    images = [np.full((5, 7, 3), 255, np.uint8), np.full((2, 3, 3), 255, np.uint8)]
    values = processor(images, do_normalize=False, return_tensors="np")["pixel_values"]
    assert values.shape == (2, 3, 5, 7)
    assert np.all(values[1, :, 2:, :] == 0) and np.all(values[1, :, :, 3:] == 0) and np.all(values[1, :, :2, :3] == 1)


# ----------------------------------------------------------------------------------- approximations


def test_approximations_are_checked_and_never_saved() -> None:
    with pytest.raises(pixelprep.InvalidArgumentError, match="unknown approximation"):
        pixelprep.CLIPImageProcessor(approximations=["fast"])
    processor = pixelprep.CLIPImageProcessor(approximations="jpeg_draft")
    assert processor.approximations == ("jpeg_draft",)
    assert "approximations" not in processor.to_dict()
    assert "approximation jpeg_draft" in repr(processor)
    assert "approximation" not in repr(pixelprep.CLIPImageProcessor())


def test_jpeg_draft_scale_keeps_the_resize_output_size() -> None:
    def shortest_224(height: int, width: int) -> tuple[int, int]:
        return (224, int(224 * width / height)) if height <= width else (int(224 * height / width), 224)

    assert _jpeg_draft_scale(3024, 4032, 1, shortest_224) == 4  # 756x1008 still resizes to 224x298
    assert _jpeg_draft_scale(4032, 3024, 6, shortest_224) == 4  # stored sideways: same answer
    assert _jpeg_draft_scale(768, 1023, 1, shortest_224) == 1  # 384 px would be under twice 224
    assert _jpeg_draft_scale(1000, 1000, 1, lambda h, w: (h // 3, w // 3)) == 1  # output size would change


@pytest.mark.parametrize("backend", ["torchvision", "pil"])
def test_jpeg_draft_decodes_smaller_with_the_same_output_shape(photo: Image.Image, tmp_path: Path, backend: str) -> None:
    path = tmp_path / "big.jpg"
    photo.resize((2046, 1536)).save(path, quality=90)
    exact = pixelprep.CLIPImageProcessor(backend=backend)(str(path), return_tensors="np")["pixel_values"]
    draft = pixelprep.CLIPImageProcessor(backend=backend, approximations="jpeg_draft")(str(path), return_tensors="np")["pixel_values"]
    assert draft.shape == exact.shape
    difference = np.abs(draft - exact)
    assert 0 < difference.max() < 0.15 and difference.mean() < 0.01  # a decode at half size: close, not equal


def test_jpeg_draft_follows_exif_orientation(tmp_path: Path, photo: Image.Image) -> None:
    path = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: shown 1536 wide, 2046 tall
    photo.resize((2046, 1536)).save(path, quality=90, exif=exif)
    processor = pixelprep.CLIPImageProcessor(backend="pil", do_center_crop=False)
    exact = processor(str(path), return_tensors="np")["pixel_values"]
    draft = processor(str(path), approximations="jpeg_draft", return_tensors="np")["pixel_values"]
    assert draft.shape == exact.shape == (1, 3, 298, 224)
    assert np.abs(draft - exact).mean() < 0.01


def test_resize_crop_region_moves_values_by_about_one_level_on_the_pil_backend(photo: Image.Image) -> None:
    exact = pixelprep.CLIPImageProcessor(backend="pil")(photo, return_tensors="np")["pixel_values"]
    region = pixelprep.CLIPImageProcessor(backend="pil", approximations="resize_crop_region")(photo, return_tensors="np")["pixel_values"]
    one_level = 1 / 255 / min(pixelprep.CLIPImageProcessor().image_std)
    difference = np.abs(region - exact)
    assert region.shape == exact.shape
    assert difference.max() <= one_level * 1.01 and (difference > 0).mean() < 0.01


def test_resize_crop_region_is_exact_where_it_cannot_apply(photo: Image.Image) -> None:
    # torchvision cannot resize a region: the exact path runs
    exact = pixelprep.CLIPImageProcessor(backend="torchvision")(photo, return_tensors="np")["pixel_values"]
    region = pixelprep.CLIPImageProcessor(backend="torchvision", approximations="resize_crop_region")(photo, return_tensors="np")
    np.testing.assert_array_equal(region["pixel_values"], exact)
    # a crop larger than the resized image needs padding: the exact path runs on the pil backend too
    small = photo.resize((100, 80))
    kwargs = {"size": {"shortest_edge": 40}, "crop_size": {"height": 48, "width": 48}}
    exact = pixelprep.CLIPImageProcessor(backend="pil", **kwargs)(small, return_tensors="np")["pixel_values"]
    region = pixelprep.CLIPImageProcessor(backend="pil", approximations="resize_crop_region", **kwargs)(small, return_tensors="np")
    np.testing.assert_array_equal(region["pixel_values"], exact)


# ---------------------------------------------------------------------------- big PIL images in bands


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
@pytest.mark.parametrize(
    "config",
    [{}, {"resample": 2}, {"resample": 1}, {"size": {"shortest_edge": 700}, "do_center_crop": False}, {"resample": 0}, {"do_resize": False}],
    ids=["bicubic", "bilinear", "lanczos", "upscale-no-crop", "nearest", "no-resize"],
)
def test_big_pil_images_resized_in_bands_equal_a_whole_resize(photo: Image.Image, mode: str, config: dict) -> None:
    """A PIL image in several Pillow memory blocks is read a band at a time on the torchvision backend: same output."""
    from pixelprep.inputs import pil_memory_view

    big = photo.resize((5000, 3400) if mode == "L" else (2900, 2100)).convert(mode)  # 17 and 24 MB: several 16 MB blocks
    assert pil_memory_view(big) is None
    processor = pixelprep.CLIPImageProcessor(
        backend="torchvision", do_convert_rgb=False, image_mean=[0.5] * len(mode), image_std=[0.5] * len(mode), **config
    )
    assert isinstance(processor.backend.from_canonical(big), Image.Image)  # kept as PIL until resized
    from_pil = processor(big, return_tensors="np")["pixel_values"]
    from_array = processor(np.array(big), return_tensors="np")["pixel_values"]
    np.testing.assert_array_equal(from_pil, from_array)


@pytest.mark.parametrize(("backend", "decoded_to_an_array"), [("torchvision", True), ("pil", False)])
def test_jpeg_files_decode_into_arrays_only_for_array_backends(backend: str, decoded_to_an_array: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision takes JPEG files through simplejpeg into arrays; pil decodes with Pillow and resizes the PIL image."""
    import pixelprep.inputs

    calls = []
    real = pixelprep.inputs._decode_jpeg_to_array
    monkeypatch.setattr(pixelprep.inputs, "_decode_jpeg_to_array", lambda *args: calls.append(args[1]) or real(*args))
    pixelprep.CLIPImageProcessor(backend=backend)(str(PHOTO))
    assert bool(calls) == decoded_to_an_array


@pytest.mark.parametrize("formula", ["torch", "numpy"])
def test_affine_planes_equal_the_reference_table_for_every_value(formula: str) -> None:
    """write_plane (ufuncs for the torch arithmetic, into strided slots) gives the table's value for all 256 levels."""
    from pixelprep.backends.base import Affine

    rng = np.random.default_rng(7)
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    for _ in range(20):
        scale = [None, 1 / 255, float(rng.uniform(0.001, 0.01))][int(rng.integers(3))]
        mean = None if rng.random() < 0.2 else tuple(rng.uniform(-1, 200, 3))
        std = None if mean is None else tuple(rng.uniform(0.01, 90, 3))
        if scale is None and mean is None:
            continue
        affine = Affine(scale, mean, std, 3, formula)
        padded = np.full((3, 20, 24), np.nan, np.float32)
        for c in range(3):
            affine.write_plane(levels, padded[c, :16, :16], c)  # a strided slot, as in a padded batch
            np.testing.assert_array_equal(padded[c, :16, :16], affine.lut[c][levels])
        assert np.isnan(padded[:, 16:, :]).all() and np.isnan(padded[:, :, 16:]).all()  # nothing written outside the slot
