"""Parity of every family with transformers' class of the same backend, on every fixture image.

Both sides are built from the same config dict: ours with ``Family.from_dict(cfg, backend=...)``,
theirs with ``XImageProcessor(**cfg)`` (torchvision) or ``XImageProcessorPil(**cfg)`` (pil). Where
pixelprep differs on purpose (README, "Where pixelprep differs from transformers on purpose") the
reference is transformers run on the input pixelprep documents it uses instead (16-bit scaled to
8 bits, grayscale/palette/CMYK as RGB), never a pasted number.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from PIL import Image
from transformers_reference import documented_input

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.models import __all__ as FAMILY_NAMES
from pixelprep.multiview import MultiViewProcessor

BACKENDS = ("torchvision", "pil")
ATOL = 1e-4
# every built-in family by its name prefix ("CLIP", "ConvNext", ...); ImageGPT has its own module (test_imagegpt.py),
# and so has each multi-view family (test_qwen2_vl.py, ...): their outputs are not (N, C, H, W) images;
# ViTMatte takes a trimap beside each image (test_classic.py); transformers' IDEFICS returns the pixel values alone
# (test_idefics.py), Video-LLaVA names them pixel_values_images (test_video_llava.py)
FAMILIES = tuple(
    name.removesuffix("ImageProcessor")
    for name in FAMILY_NAMES
    # ViTMatte takes a trimap beside each image (test_classic.py); SegGPT's transformers classes never convert images to
    # RGB whatever do_convert_rgb says (README), so test_seggpt.py gives them RGB references; IDEFICS and Video-LLaVA
    # have their own modules
    if name not in ("ImageGPTImageProcessor", "VitMatteImageProcessor", "SegGptImageProcessor", "IdeficsImageProcessor", "VideoLlavaImageProcessor")
    and not issubclass(getattr(pixelprep, name), MultiViewProcessor)
    # the matching families take image pairs (test_superglue.py), ViTPose person boxes (test_vitpose.py); transformers'
    # TimmWrapper needs a timm pretrained_cfg (test_timm_wrapper.py); ViViT's only transformers class is a Pillow one
    # that crashes on a 1x1 image (test_vivit.py); TVP's crop pads most photos, where transformers' pil class puts the odd
    # pixel top/left (test_tvp.py compares it with that moved)
    and name not in ("VivitImageProcessor", "TvpImageProcessor")
    and not issubclass(getattr(pixelprep, name), (pixelprep.SuperGlueImageProcessor, pixelprep.VitPoseImageProcessor, pixelprep.TimmWrapperImageProcessor))
)


@dataclass(frozen=True)
class Case:
    """One config of one family; ``call`` holds call-time arguments, ``backends`` where it applies."""

    family: str
    name: str
    config: dict[str, Any] = field(default_factory=dict)
    call: dict[str, Any] = field(default_factory=lambda: {"return_tensors": "np"})
    backends: tuple[str, ...] = BACKENDS
    atol: float = ATOL
    #: fixture images too small for this config: ours raises InvalidImageError (transformers raises, or returns a blank image)
    too_small: tuple[str, ...] = ()
    #: fixture images transformers' torchvision class crashes on: its pil class gives the reference there (README)
    torchvision_crashes: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.family}-{self.name}"


def _square(edge: int) -> dict[str, int]:
    return {"height": edge, "width": edge}


LIST_OUTPUT = {"return_tensors": None}
CLASSIC_ATOL = 1e-5
TINY = ("single_pixel_rgb_1x1.png", "tiny_rgb_7x5.png")  # 1x1 and 7x5
ANIMATED_64X48 = ("animated_3frames_64x48.gif", "animated_3frames_64x48.webp")
# Settings of a family's default case beyond the common ones (the classic families are held to 1e-5).
DEFAULT_CASE_SETTINGS: dict[str, dict[str, Any]] = {
    "BridgeTower": {"atol": CLASSIC_ATOL},
    "DINOv3ViT": {"atol": CLASSIC_ATOL},
    "EfficientNet": {"atol": CLASSIC_ATOL},
    "Flava": {"atol": CLASSIC_ATOL},
    "GLPN": {"atol": CLASSIC_ATOL, "too_small": TINY},
    "MobileNetV1": {"atol": CLASSIC_ATOL},
    "MobileViT": {"atol": CLASSIC_ATOL},
    "Perceiver": {"atol": CLASSIC_ATOL, "too_small": TINY[:1]},
    "PoolFormer": {"atol": CLASSIC_ATOL},
    "Pvt": {"atol": CLASSIC_ATOL},
    "Swin2SR": {"atol": CLASSIC_ATOL, "torchvision_crashes": TINY[:1]},
    # transformers keeps gray images 1-channel: its reference converts to RGB, as ours does by default (README)
    "SuperPoint": {"atol": CLASSIC_ATOL, "config": {"do_convert_rgb": True}},
    "TextNet": {"atol": CLASSIC_ATOL},
    "Tipsv2": {"atol": CLASSIC_ATOL},
    # transformers' UVDoc fails on gray images (it reads channel 2): its reference converts to RGB, as ours does by default (README)
    "UVDoc": {"atol": CLASSIC_ATOL, "config": {"do_convert_rgb": True}},
    "Vilt": {"atol": CLASSIC_ATOL},
    "ZoeDepth": {"atol": CLASSIC_ATOL, "torchvision_crashes": TINY[:1]},
}


def transformers_backends(family: str) -> tuple[str, ...]:
    """The backends transformers has a class for (DINOv3 and TIPSv2 have no pil class: test_classic.py covers ours there)."""
    return tuple(b for b in BACKENDS if hasattr(transformers, f"{family}ImageProcessor" + ("Pil" if b == "pil" else "")))


CASES = [Case(family, "default", backends=transformers_backends(family), **DEFAULT_CASE_SETTINGS.get(family, {})) for family in FAMILIES] + [
    # CLIP exercises the generic pipeline: every size form, crop, resample, rescale/normalize and output switch
    Case("CLIP", "336", {"size": {"shortest_edge": 336}, "crop_size": _square(336)}),
    Case("CLIP", "size-height-width", {"size": {"height": 256, "width": 200}, "crop_size": {"height": 224, "width": 180}}),
    Case("CLIP", "int-sizes", {"size": 192, "crop_size": 160}),
    # the crop is 20 px larger than the short side: zero padding, split evenly (odd splits: test_crop_padding_*)
    Case("CLIP", "crop-larger", {"size": {"shortest_edge": 200}, "crop_size": _square(220)}),
    Case("CLIP", "crop-smaller-odd", {"size": {"shortest_edge": 225}, "crop_size": {"height": 200, "width": 151}}),
    Case("CLIP", "nearest", {"resample": 0}),
    Case("CLIP", "lanczos", {"resample": 1}),
    Case("CLIP", "bilinear", {"resample": 2}),
    Case("CLIP", "rescale-factor", {"rescale_factor": 0.5 / 255}),
    Case("CLIP", "no-normalize", {"do_normalize": False}),
    Case("CLIP", "no-rescale", {"do_rescale": False}),
    Case("CLIP", "no-crop-list", {"do_center_crop": False}, call=LIST_OUTPUT),
    Case("CLIP", "channels-last", {"data_format": "channels_last"}),
    Case("ChineseCLIP", "256", {"size": {"shortest_edge": 256}, "crop_size": _square(256)}),
    Case("ViT", "384", {"size": _square(384)}),
    Case("ViT", "int-size", {"size": 200}),
    Case("ViT", "bicubic", {"resample": 3}),
    Case("ViT", "nearest", {"resample": 0}),
    Case("ViT", "no-normalize", {"do_normalize": False}),
    Case("ViT", "no-resize-list", {"do_resize": False}, call=LIST_OUTPUT),
    Case("Siglip", "384", {"size": _square(384)}),
    Case("Siglip", "non-square", {"size": {"height": 256, "width": 320}}),
    Case("Siglip", "bilinear", {"resample": 2}),
    Case("Bit", "dinov2", {"size": {"shortest_edge": 256}, "crop_size": _square(224)}),
    Case("Bit", "no-crop-list", {"do_center_crop": False}, call=LIST_OUTPUT),
    # ConvNeXt: below 384 the shortest edge is enlarged by 1/crop_pct and cropped; at 384 and above it warps
    Case("ConvNext", "224", {"size": {"shortest_edge": 224}}),
    Case("ConvNext", "crop-pct-0.95", {"size": {"shortest_edge": 224}, "crop_pct": 0.95}),
    Case("ConvNext", "288-crop-pct-1", {"size": {"shortest_edge": 288}, "crop_pct": 1.0}),
    Case("ConvNext", "warp-512", {"size": {"shortest_edge": 512}}),
    Case("ConvNext", "no-rescale", {"size": {"shortest_edge": 224}, "do_rescale": False}),
    Case("DeiT", "384", {"size": _square(384), "crop_size": _square(384)}),
    Case("DeiT", "crop-rect", {"crop_size": {"height": 200, "width": 180}}),
    Case("DeiT", "no-rescale", {"do_rescale": False}),
    # LeViT enlarges a shortest edge by 256/224 before its crop; a height/width size is used as is
    Case("Levit", "160", {"size": {"shortest_edge": 160}, "crop_size": _square(160)}),
    Case("Levit", "256", {"size": {"shortest_edge": 256}, "crop_size": _square(256)}),
    Case("Levit", "height-width", {"size": _square(256)}),
    Case("Blip", "224", {"size": _square(224)}),
    Case("Blip", "non-square", {"size": {"height": 364, "width": 224}}),
    Case("Chameleon", "256", {"size": {"shortest_edge": 256}, "crop_size": _square(256)}),
    Case("OwlViT", "legacy-crop", {"size": 768, "crop_size": 768, "do_center_crop": True}),
    Case("OwlViT", "960-bilinear", {"size": _square(960), "resample": 2}),
    Case("Chameleon", "bicubic", {"size": {"shortest_edge": 256}, "crop_size": _square(256), "resample": 3}),
    # classic families (held to 1e-5): each family's own switches and size forms
    Case("EfficientNet", "no-top", {"include_top": False}, atol=CLASSIC_ATOL),
    Case("EfficientNet", "offset", {"rescale_offset": True, "rescale_factor": 1 / 127.5, "do_normalize": False, "include_top": False}, atol=CLASSIC_ATOL),
    Case("EfficientNet", "offset-normalize-top", {"rescale_offset": True, "rescale_factor": 1 / 127.5}, atol=CLASSIC_ATOL),
    Case("EfficientNet", "top-no-normalize", {"do_normalize": False}, atol=CLASSIC_ATOL),
    Case("EfficientNet", "crop-nearest", {"do_center_crop": True, "resample": 0, "image_std": [0.47853944, 0.4732864, 0.47434163]}, atol=CLASSIC_ATOL),
    Case("PoolFormer", "square-size", {"size": _square(224)}, atol=CLASSIC_ATOL),
    Case("PoolFormer", "rect-size", {"size": {"height": 224, "width": 256}, "crop_size": {"height": 200, "width": 230}}, atol=CLASSIC_ATOL),
    Case("PoolFormer", "crop-pct-0.95", {"crop_pct": 0.95}, atol=CLASSIC_ATOL),
    Case("MobileViT", "no-flip", {"do_flip_channel_order": False}, atol=CLASSIC_ATOL),
    Case("MobileViT", "288-256-bilinear", {"size": 288, "crop_size": 256, "resample": 2}, atol=CLASSIC_ATOL),
    Case("MobileViT", "channels-last", {"data_format": "channels_last"}, atol=CLASSIC_ATOL),
    Case("MobileViT", "no-crop-list", {"do_center_crop": False}, call=LIST_OUTPUT, atol=CLASSIC_ATOL),
    Case("MobileNetV1", "bicubic-crop-rect", {"resample": 3, "crop_size": {"height": 200, "width": 180}}, atol=CLASSIC_ATOL),
    Case("Pvt", "bilinear-256", {"resample": 2, "size": _square(256)}, atol=CLASSIC_ATOL),
    Case("DINOv3ViT", "bicubic-256", {"resample": 3, "size": _square(256)}, backends=("torchvision",), atol=CLASSIC_ATOL),
    Case("DINOv3ViT", "crop", {"size": _square(256), "do_center_crop": True, "crop_size": _square(224)}, backends=("torchvision",), atol=CLASSIC_ATOL),
    Case("DINOv3ViT", "no-rescale", {"do_rescale": False, "do_normalize": False}, backends=("torchvision",), atol=CLASSIC_ATOL),
    Case("Perceiver", "no-crop", {"do_center_crop": False}, atol=CLASSIC_ATOL),
    Case("Perceiver", "rect", {"size": {"height": 224, "width": 192}, "crop_size": _square(256)}, atol=CLASSIC_ATOL, too_small=TINY[:1]),
    # a crop larger than the shorter side pads; transformers' pil class puts the odd pixel top/left (README)
    Case("Perceiver", "crop-larger", {"size": _square(256), "crop_size": _square(224)}, backends=("torchvision",), atol=CLASSIC_ATOL),
    Case("GLPN", "divisor-64", {"size_divisor": 64}, atol=CLASSIC_ATOL, too_small=(*TINY, *ANIMATED_64X48)),
    Case("GLPN", "bicubic-normalize", {"resample": 3, "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}, atol=CLASSIC_ATOL, too_small=TINY),
    Case("GLPN", "no-resize-list", {"do_resize": False}, call=LIST_OUTPUT, atol=CLASSIC_ATOL),
    Case("Vilt", "320", {"size": {"shortest_edge": 320}}, atol=CLASSIC_ATOL),
    # the 1200x90 photos resize to 48 rows or columns: below 64, an empty image
    Case("Vilt", "divisor-64-no-pad", {"size_divisor": 64, "do_pad": False}, atol=CLASSIC_ATOL, too_small=("tall_rgb_90x1200.jpg", "wide_rgb_1200x90.jpg")),
    Case("BridgeTower", "no-crop", {"do_center_crop": False}, atol=CLASSIC_ATOL),
    Case("BridgeTower", "crop-256", {"crop_size": {"shortest_edge": 256}, "size": 320}, atol=CLASSIC_ATOL),
    Case("TextNet", "512-divisor-16", {"size": {"shortest_edge": 512}, "size_divisor": 16}, atol=CLASSIC_ATOL),
    Case("TextNet", "crop", {"do_center_crop": True}, atol=CLASSIC_ATOL),
    Case("Swin2SR", "divisor-16", {"size_divisor": 16}, atol=CLASSIC_ATOL, torchvision_crashes=TINY),
    Case("Swin2SR", "legacy-pad-size", {"pad_size": 8}, atol=CLASSIC_ATOL, torchvision_crashes=TINY[:1]),
    Case("Swin2SR", "no-pad", {"do_pad": False}, atol=CLASSIC_ATOL),
    Case("Flava", "288-bilinear", {"size": 288, "crop_size": 256, "resample": 2}, atol=CLASSIC_ATOL),
    Case("SuperPoint", "gray-240", {"do_convert_rgb": True, "do_grayscale": True, "size": {"height": 240, "width": 320}}, atol=CLASSIC_ATOL),
    Case("Tipsv2", "224-bicubic", {"size": _square(224), "resample": 3}, backends=("torchvision",), atol=CLASSIC_ATOL),
]
MATRIX = [(case, backend) for case in CASES for backend in case.backends]
_CASES_BY_ID = {case.id: case for case in CASES}
assert len(_CASES_BY_ID) == len(CASES), "case ids must be unique"


def transformers_class(family: str, backend: str) -> type:
    """transformers' class for a family on a backend (``XImageProcessor`` or ``XImageProcessorPil``)."""
    return getattr(transformers, f"{family}ImageProcessor" + ("Pil" if backend == "pil" else ""))


@functools.lru_cache(maxsize=None)
def _theirs(case_id: str, backend: str) -> Any:
    case = _CASES_BY_ID[case_id]
    return transformers_class(case.family, backend)(**case.config)


@functools.lru_cache(maxsize=None)
def _ours(case_id: str, backend: str) -> pixelprep.ImageProcessor:
    case = _CASES_BY_ID[case_id]
    return getattr(pixelprep, f"{case.family}ImageProcessor").from_dict(case.config, backend=backend)


def _channels_first_reference(case: Case, theirs: Any) -> Any:
    """transformers 5.23 ignores ``data_format``; ours honours it, so move the reference's channels last."""
    if case.config.get("data_format") == "channels_last":
        return [np.moveaxis(np.asarray(image), -3, -1) for image in theirs]
    return theirs


@pytest.mark.parametrize(("case", "backend"), MATRIX, ids=[f"{case.id}-{backend}" for case, backend in MATRIX])
def test_matches_transformers(case: Case, backend: str, image_path, load_image, compare, to_numpy, to_eight_bit) -> None:
    """Same shapes and max |ours - transformers| <= the case's atol on every fixture image, for every family, config and backend."""
    ours, theirs = _ours(case.id, backend), _theirs(case.id, backend)
    image = load_image(image_path)
    # the default configs read the file themselves (decode + EXIF); the others take the decoded PIL image
    source = str(image_path) if case.name == "default" else image
    if image_path.name in case.too_small:
        with pytest.raises(InvalidImageError, match="too small"):
            ours(source, **case.call)
        return
    if backend == "torchvision" and image_path.name in case.torchvision_crashes:
        theirs = _theirs(case.id, "pil")
    rgb_mean = ours.do_convert_rgb is None and ours.image_mean is not None and len(ours.image_mean) == 3
    reference = documented_input(image, bool(ours.do_convert_rgb), rgb_mean, to_eight_bit)
    what = f"{case.id} [{backend}] {image_path.name} ({image.mode})"
    expected = _channels_first_reference(case, to_numpy(theirs(reference, **case.call)["pixel_values"]))
    got = ours(source, **case.call)["pixel_values"]
    compare(got, expected, atol=case.atol, what=what)
    if rgb_mean or ours.do_convert_rgb:
        channel_axis = -1 if case.config.get("data_format") == "channels_last" else -3
        assert to_numpy(got)[0].shape[channel_axis] == 3, f"{what}: expected 3 channels"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", ["CLIP", "Bit"])
def test_list_output_without_crop(family: str, backend: str, fixture_images, load_image, compare, to_numpy) -> None:
    """Without a crop, a batch of differently sized images comes back as a list, equal element by element."""
    images = [load_image(path) for path in fixture_images if load_image(path).mode == "RGB"]
    ours, theirs = _ours(f"{family}-no-crop-list", backend), _theirs(f"{family}-no-crop-list", backend)
    got = ours(images)["pixel_values"]
    assert isinstance(got, list) and len(got) == len(images)
    assert len({tuple(item.shape) for item in got}) > 1, "the batch should hold several sizes"
    compare(got, to_numpy(theirs(images)["pixel_values"]), atol=ATOL, what=f"{family} [{backend}] list batch")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", ["CLIP", "ViT", "ConvNext", "Levit"])
def test_batch_matches_transformers(family: str, backend: str, fixture_images, load_image, compare, to_numpy) -> None:
    """One call on a batch of RGB images equals transformers on the same batch (stacked output)."""
    images = [load_image(path) for path in fixture_images if load_image(path).mode == "RGB"]
    ours, theirs = _ours(f"{family}-default", backend), _theirs(f"{family}-default", backend)
    got = ours(images, return_tensors="np")["pixel_values"]
    assert got.shape[0] == len(images)
    compare(got, to_numpy(theirs(images, return_tensors="np")["pixel_values"]), atol=ATOL, what=f"{family} [{backend}] batch")


# ------------------------------------------------------------------------------- arrays and tensors

ARRAY_IMAGES = ("photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg")


def _array_inputs(image: Image.Image) -> dict[str, Any]:
    hwc = np.asarray(image)
    chw = np.ascontiguousarray(np.moveaxis(hwc, -1, 0))
    return {"numpy-hwc": hwc, "numpy-chw": chw, "torch-chw": torch.from_numpy(chw)}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", ["CLIP", "ViT", "ConvNext", "Chameleon"])
@pytest.mark.parametrize("name", ARRAY_IMAGES)
def test_uint8_arrays_and_tensors(family: str, backend: str, name: str, fixture_path, load_image, compare, to_numpy) -> None:
    """uint8 numpy HWC / CHW and torch CHW inputs match transformers given the same array."""
    ours, theirs = _ours(f"{family}-default", backend), _theirs(f"{family}-default", backend)
    for kind, array in _array_inputs(load_image(fixture_path(name))).items():
        expected = to_numpy(theirs(array, return_tensors="np")["pixel_values"])
        compare(ours(array, return_tensors="np")["pixel_values"], expected, atol=ATOL, what=f"{family} [{backend}] {name} {kind}")


@pytest.mark.parametrize("family", ["CLIP", "ViT", "ConvNext", "Chameleon"])
@pytest.mark.parametrize("name", ARRAY_IMAGES)
def test_float_arrays(family: str, name: str, fixture_path, load_image, compare, to_numpy) -> None:
    """float32 [0, 1] arrays with do_rescale=False: torchvision matches transformers' torchvision class to 1e-4.

    transformers' pil class rounds float images through uint8 before resizing, so we claim no parity
    with it; our pil backend resizes in float and stays within 1/255 of the torchvision reference.
    """
    array = np.asarray(load_image(fixture_path(name)), dtype=np.float32) / 255.0
    expected = to_numpy(transformers_class(family, "torchvision")()(array, do_rescale=False, return_tensors="np")["pixel_values"])
    for backend, atol in (("torchvision", ATOL), ("pil", 1 / 255)):
        got = _ours(f"{family}-default", backend)(array, do_rescale=False, return_tensors="np")["pixel_values"]
        assert got.dtype == np.float32
        compare(got, expected, atol=atol, what=f"{family} [{backend}] {name} float32")


# ------------------------------------------------------------------------ deliberate differences


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("height", "width"), [(5, 7), (5, 6), (1, 1)])
def test_crop_padding_puts_the_odd_pixel_bottom_right(backend: str, height: int, width: int, compare, to_numpy) -> None:
    """A crop larger than the image pads with zeros, the odd pixel at the bottom/right on both backends.

    That is transformers' torchvision rounding; its pil class puts the odd pixel top/left (a documented difference).
    """
    image = np.random.default_rng(height * 100 + width).integers(1, 256, size=(height, width, 3), dtype=np.uint8)
    config = {"do_resize": False, "crop_size": {"height": 8, "width": 11}, "do_normalize": False}
    call = {"return_tensors": "np", "input_data_format": "channels_last"}  # a 1x1x3 array is ambiguous otherwise
    got = to_numpy(pixelprep.CLIPImageProcessor.from_dict(config, backend=backend)(image, **call)["pixel_values"])[0]
    top, left = (8 - height) // 2, (11 - width) // 2
    expected = np.zeros((3, 8, 11), dtype=np.float32)
    expected[:, top : top + height, left : left + width] = np.moveaxis(image, -1, 0) / np.float32(255)
    compare(got, expected, atol=1e-7, what=f"padded crop [{backend}]")
    reference = to_numpy(transformers.CLIPImageProcessor(**config)(image, **call)["pixel_values"])[0]
    compare(got, reference, atol=ATOL, what=f"padded crop [{backend}] vs transformers' torchvision class")


@pytest.mark.parametrize("resample", [4, 5])
def test_box_and_hamming(resample: int, fixture_path, load_image, compare, to_numpy) -> None:
    """BOX and HAMMING match transformers' pil class; torchvision cannot run them on tensors, and we say so."""
    image = load_image(fixture_path("photo_rgb_333x517.jpg"))
    config = {"resample": resample}
    expected = to_numpy(transformers.SiglipImageProcessorPil(**config)(image, return_tensors="np")["pixel_values"])
    compare(pixelprep.SiglipImageProcessor.from_dict(config, backend="pil")(image, return_tensors="np")["pixel_values"], expected)
    with pytest.raises(InvalidArgumentError, match="backend='pil'"):
        pixelprep.SiglipImageProcessor.from_dict(config, backend="torchvision")(image)
