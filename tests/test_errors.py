"""Every failure is one of our errors (also the matching builtin), with a message naming what was wrong."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
import torch

from pixelprep import (
    AutoImageProcessor,
    CLIPImageProcessor,
    DecompressionBombError,
    ImageDecodeError,
    ImageNotFoundError,
    InvalidArgumentError,
    InvalidImageError,
    PixelprepError,
    UnknownArgumentError,
    UnsupportedInputError,
    ViTImageProcessor,
)

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
BROKEN = sorted((FIXTURES / "broken").iterdir())
PHOTO = FIXTURES / "images" / "photo_rgb_301x200.png"
BACKENDS = ["pil", "torchvision"]


@pytest.fixture(scope="module", params=BACKENDS)
def clip(request: pytest.FixtureRequest) -> CLIPImageProcessor:
    return CLIPImageProcessor(backend=request.param)


def test_the_broken_fixture_set_is_there() -> None:
    assert {p.name for p in BROKEN} >= {
        "corrupt_idat.png",
        "decompression_bomb_30000x30000.png",
        "empty.jpg",
        "garbage.jpg",
        "not_an_image.png",
        "truncated_half.jpg",
    }


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.name)
def test_broken_file_raises_a_decode_error_naming_it(clip: CLIPImageProcessor, path: pathlib.Path) -> None:
    expected = DecompressionBombError if "bomb" in path.name else ImageDecodeError
    for image in (str(path), path):
        with pytest.raises(expected) as info:
            clip(image)
        assert isinstance(info.value, PixelprepError) and isinstance(info.value, OSError)
        assert str(path) in str(info.value)
    # Bytes carry no name: the message names the input as the byte string it was.
    data = path.read_bytes()
    with pytest.raises(expected) as info:
        clip(data)
    assert f"<{len(data)} bytes>" in str(info.value)


def test_a_broken_file_in_a_batch_is_named(clip: CLIPImageProcessor) -> None:
    broken = FIXTURES / "broken" / "truncated_half.jpg"
    with pytest.raises(ImageDecodeError, match="truncated_half.jpg"):
        clip([str(PHOTO), str(broken), str(PHOTO)])


def test_missing_path_is_image_not_found(clip: CLIPImageProcessor, tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nope.jpg"
    for image in (str(missing), missing):
        with pytest.raises(ImageNotFoundError) as info:
            clip(image)
        assert isinstance(info.value, FileNotFoundError)
        assert str(missing) in str(info.value)


@pytest.mark.parametrize("image", [None, 3, 2.5, {"pixels": 1}, object(), [PHOTO, 7]], ids=lambda v: type(v).__name__)
def test_unsupported_objects_are_type_errors(clip: CLIPImageProcessor, image: object) -> None:
    with pytest.raises(UnsupportedInputError) as info:
        clip(image)
    assert isinstance(info.value, TypeError)
    assert "as an image" in str(info.value)


# -------------------------------------------------------------------------------------------- kwargs


def test_unknown_call_kwarg_lists_the_valid_names(clip: CLIPImageProcessor) -> None:
    with pytest.raises(UnknownArgumentError) as info:
        clip(str(PHOTO), resmaple=0)  # a typo of resample must not be swallowed
    error = info.value
    assert isinstance(error, TypeError)
    assert error.names == ["resmaple"]
    assert "resample" in error.valid and "size" in error.valid
    assert "'resmaple'" in str(error) and "resample" in str(error)


def test_unknown_constructor_kwargs_are_errors(tmp_path: pathlib.Path) -> None:
    with pytest.raises(UnknownArgumentError, match="resmaple"):
        CLIPImageProcessor(resmaple=0)
    with pytest.raises(UnknownArgumentError, match="resmaple"):
        CLIPImageProcessor.from_dict({"crop_size": 224}, resmaple=0)
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"image_processor_type": "CLIPImageProcessor"}))
    with pytest.raises(UnknownArgumentError, match="resmaple"):
        AutoImageProcessor.from_pretrained(tmp_path, resmaple=0)
    # ViT has no crop_pct (ConvNeXT does): a family's own parameters are not valid for another.
    with pytest.raises(UnknownArgumentError, match="crop_pct"):
        ViTImageProcessor(crop_pct=0.9)


def test_none_kwarg_means_the_default(clip: CLIPImageProcessor) -> None:
    expected = clip(str(PHOTO), return_tensors="np")["pixel_values"]
    nones = dict.fromkeys(["size", "resample", "do_center_crop", "crop_size", "image_mean", "image_std", "do_normalize",
                           "do_rescale", "rescale_factor", "do_convert_rgb", "data_format"])
    np.testing.assert_array_equal(clip(str(PHOTO), return_tensors="np", **nones)["pixel_values"], expected)
    rebuilt = CLIPImageProcessor(backend=clip.backend_name, **nones)
    np.testing.assert_array_equal(rebuilt(str(PHOTO), return_tensors="np")["pixel_values"], expected)


# Each impossible value, and the argument name its error message must contain.
IMPOSSIBLE_ARGUMENTS = [
    ({"size": 0}, "size"),
    ({"size": -5}, "size"),
    ({"size": {"height": 0, "width": 10}}, "size"),
    ({"size": {"shortest": 10}}, "size"),
    ({"size": float("nan")}, "size"),
    ({"size": {"height": float("inf"), "width": 10}}, "size"),
    ({"crop_size": -3}, "crop_size"),
    ({"crop_size": {"shortest_edge": 10}}, "crop_size"),
    ({"image_mean": [0.5, 0.5]}, "image_mean"),
    ({"image_mean": [0.5, float("nan"), 0.5]}, "image_mean"),
    ({"image_std": [0.5, 0.0, 0.5]}, "image_std"),
    ({"image_std": 0}, "image_std"),
    ({"rescale_factor": 0}, "rescale_factor"),
    ({"rescale_factor": -1 / 255}, "rescale_factor"),
    ({"resample": 9}, "resample"),
    ({"resample": "bicubik"}, "resample"),
    ({"resample": 2.5}, "resample"),
    ({"data_format": "channels_middle"}, "data_format"),
    ({"input_data_format": "hwc"}, "input_data_format"),
    ({"return_tensors": "tf"}, "return_tensors"),
    ({"do_resize": "yes"}, "do_resize"),
    ({"device": 3.5}, "device"),
]


@pytest.mark.parametrize(("kwargs", "name"), IMPOSSIBLE_ARGUMENTS, ids=lambda v: repr(v) if isinstance(v, dict) else "")
def test_impossible_argument_values(clip: CLIPImageProcessor, kwargs: dict, name: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        clip(str(PHOTO), **kwargs)
    assert isinstance(info.value, ValueError)
    assert name in str(info.value)


# A mean's length is checked against the image, so only at call time.
CONSTRUCTOR_IMPOSSIBLE = [case for case in IMPOSSIBLE_ARGUMENTS if case[0] != {"image_mean": [0.5, 0.5]}]


@pytest.mark.parametrize(("kwargs", "name"), CONSTRUCTOR_IMPOSSIBLE, ids=lambda v: repr(v) if isinstance(v, dict) else "")
def test_impossible_constructor_values(kwargs: dict, name: str) -> None:
    with pytest.raises(InvalidArgumentError, match=name):
        CLIPImageProcessor(backend="pil", **kwargs)


def test_a_mean_of_the_wrong_length_for_the_image(clip: CLIPImageProcessor) -> None:
    """A 4-value mean suits RGBA, not the RGB image CLIP converts to; a 1-value mean broadcasts."""
    with pytest.raises(InvalidArgumentError, match="image_mean has 4 values"):
        clip(str(PHOTO), image_mean=[0.5] * 4, image_std=[0.5] * 4)
    with pytest.raises(InvalidArgumentError, match="image_std has 2 values"):
        clip(str(PHOTO), image_std=[0.5, 0.5])
    single = clip(str(PHOTO), image_mean=0.5, image_std=0.5, return_tensors="np")["pixel_values"]
    triple = clip(str(PHOTO), image_mean=[0.5] * 3, image_std=[0.5] * 3, return_tensors="np")["pixel_values"]
    np.testing.assert_array_equal(single, triple)


# Each impossible image, and words its error message must contain.
IMPOSSIBLE_IMAGES = [
    (np.zeros((20, 30, 5), np.uint8), "channel"),
    (np.zeros((5, 20, 30), np.uint8), "channel"),
    (np.zeros((20, 0), np.uint8), "empty"),
    (np.zeros((0, 20, 3), np.uint8), "empty"),
    (np.full((20, 30, 3), np.nan, np.float32), "NaN"),
    (torch.full((3, 20, 30), float("nan")), "NaN"),
    (np.full((20, 30, 3), np.inf, np.float32), "infinite"),
    (np.full((20, 30, 3), 300, np.int64), "[0, 255]"),
    (np.full((20, 30, 3), -1, np.int16), "[0, 255]"),
    (np.zeros((20, 30, 3), np.complex64), "dtype"),
    (np.zeros(7, np.uint8), "dimensions"),
    (np.zeros((1, 2, 3, 4, 3), np.uint8), "dimensions"),
    (torch.zeros((1, 2, 3, 4, 3)), "dimensions"),
]


@pytest.mark.parametrize(("image", "words"), IMPOSSIBLE_IMAGES, ids=lambda v: f"{tuple(v.shape)}-{v.dtype}" if hasattr(v, "shape") else "")
def test_impossible_images(clip: CLIPImageProcessor, image: object, words: str) -> None:
    with pytest.raises(InvalidImageError) as info:
        clip(image)
    assert isinstance(info.value, ValueError)
    assert words in str(info.value)
    assert str(tuple(image.shape)) in str(info.value)  # names the offending input by its shape


def test_five_channels_declared_channels_last(clip: CLIPImageProcessor) -> None:
    image = np.zeros((20, 30, 5), np.uint8)
    with pytest.raises(InvalidImageError, match="5 channels"):
        clip(image, input_data_format="channels_last")
    with pytest.raises(PixelprepError, match="5"):
        ViTImageProcessor(backend=clip.backend_name)(image, input_data_format="channels_last")


def test_empty_image_list(clip: CLIPImageProcessor) -> None:
    for images in ([], [[]], np.zeros((0, 10, 10, 3), np.uint8)):
        with pytest.raises(InvalidArgumentError, match="images is empty"):
            clip(images)


def test_steps_switched_on_without_their_settings() -> None:
    processor = ViTImageProcessor(backend="pil")
    with pytest.raises(InvalidArgumentError, match="crop_size"):
        processor(str(PHOTO), do_center_crop=True)


def test_pillow_bomb_rule_warns_over_the_limit_and_refuses_over_twice(clip: CLIPImageProcessor, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow's own rule, which transformers inherits: a photo just over MAX_IMAGE_PIXELS loads with a warning."""
    from PIL import Image

    for suffix in ("png", "jpg"):
        path = tmp_path / f"big.{suffix}"
        Image.new("RGB", (100, 60), (200, 10, 10)).save(path)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 4000)  # 6000 pixels: over the limit, under twice it
        with pytest.warns(Image.DecompressionBombWarning):
            assert clip(str(path), return_tensors="np")["pixel_values"].shape == (1, 3, 224, 224)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2999)  # over twice the limit
        with pytest.raises(DecompressionBombError, match=f"big.{suffix}.*decompression bomb"):
            clip(str(path))
        monkeypatch.undo()
