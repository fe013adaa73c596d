"""transformers' public image-processor surface on pixelprep: every method and attribute exists, or is listed as not provided.

The single-step methods (resize, center_crop, rescale, normalize, pad, ...) are compared with transformers'
class of the same backend on the same array, at run time.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from torchvision.transforms.v2 import functional as tvF
from transformers.image_utils import SizeDict

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.models import __all__ as FAMILY_NAMES

README = Path(__file__).resolve().parents[1] / "README.md"
BACKENDS = ("torchvision", "pil")

# What transformers' processors have and pixelprep's do not, by name; the README lists the same names and why.
NOT_PROVIDED: dict[str, tuple[str, ...] | None] = {  # name -> the families (class-name prefixes) lacking it; None: every family
    "push_to_hub": None,
    "process_image": None,
    "valid_kwargs": None,
    "disable_grouping": None,
    "image_seq_length": None,
    "generate_crop_boxes": ("Sam",),
    "filter_masks": ("Sam",),
    "post_process_for_mask_generation": ("Sam",),
    "rescale_and_normalize_efficientnet": ("EfficientNet",),
    "masking_generator": ("Flava",),
    "postprocess": ("Janus", "DeepseekVL"),  # DeepSeek-VL's only raises in transformers
    "unnormalize": ("Janus", "DeepseekVL"),
    "get_image_patches": ("Aria",),
    "train_transforms": ("TimmWrapper",),  # timm's own transform objects
    "val_transforms": ("TimmWrapper",),
    "resize_and_split": ("Lfm2Vl",),
    "crop_image_to_patches": ("Lfm2Vl", "DeepseekOcr2", "UnlimitedOcr"),  # the tiles on a torch batch / an array; the call makes the same views
    "encode_inputs": ("OneFormer",),
    "get_semantic_annotations": ("OneFormer",),
    "get_instance_annotations": ("OneFormer",),
    "get_panoptic_annotations": ("OneFormer",),
}


def _listed(name: str, family_name: str) -> bool:
    """Whether NOT_PROVIDED lists ``name`` as missing from ``family_name``."""
    if name not in NOT_PROVIDED:
        return False
    families = NOT_PROVIDED[name]
    return families is None or family_name.startswith(families)


def _pair(family_name: str, backend: str) -> tuple[Any, Any]:
    """(ours, theirs) built with defaults for one family and backend; theirs is transformers' class of that backend,
    or the one class transformers has where it lacks one for the backend (DINOv3 and TIPSv2 are torchvision only)."""
    theirs = getattr(transformers, family_name + ("Pil" if backend == "pil" else ""), None) or getattr(transformers, family_name)
    # transformers' TimmWrapper needs a pretrained_cfg (timm refuses an empty one)
    theirs = theirs(pretrained_cfg={"input_size": (3, 224, 224)}) if family_name == "TimmWrapperImageProcessor" else theirs()
    return getattr(pixelprep, family_name)(backend=backend), theirs


def _as_float(value: Any) -> np.ndarray:
    return (value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)).astype(np.float64)


def _assert_same(ours: Any, theirs: Any, what: str) -> None:
    assert type(ours) is type(theirs), f"{what}: {type(ours).__name__} vs {type(theirs).__name__}"
    a, b = _as_float(ours), _as_float(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    assert a.size == 0 or np.abs(a - b).max() <= 1e-5, f"{what}: values differ by {np.abs(a - b).max()}"


@pytest.fixture(scope="module")
def photo_chw(fixture_path, load_image) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(np.asarray(load_image(fixture_path("photo_rgb_333x517.jpg")).convert("RGB")), -1, 0))


# ------------------------------------------------------------------------------------------ surface


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family_name", FAMILY_NAMES)
def test_every_public_name_exists_or_is_listed(family_name: str, backend: str) -> None:
    ours, theirs = _pair(family_name, backend)
    public = {name for name in dir(theirs) if not name.startswith("_")}
    missing = {name for name in public if not hasattr(ours, name)}
    unlisted = {name for name in missing if not _listed(name, family_name)}
    assert not unlisted, f"{family_name} ({backend}) lacks {sorted(unlisted)}: provide them or list them in NOT_PROVIDED and the README"
    # the list stays honest: a name pixelprep now provides is taken off it
    listed_but_present = {name for name in public if _listed(name, family_name) and hasattr(ours, name)}
    assert not listed_but_present


def test_readme_lists_every_name_not_provided() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Not provided", 1)[1].split("\n## ", 1)[0]
    for name in NOT_PROVIDED:
        assert re.search(rf"`{name}`", section), f"README's 'Not provided' section does not name {name}"


@pytest.mark.parametrize("family_name", FAMILY_NAMES)
def test_serialisation_helpers_round_trip(family_name: str, tmp_path: Path) -> None:
    ours, theirs = _pair(family_name, "pil")
    ours.to_json_file(tmp_path / "config.json")
    assert type(ours).from_json_file(tmp_path / "config.json").to_dict() == ours.to_dict()
    assert ours.to_json_string() == (tmp_path / "config.json").read_text(encoding="utf-8")
    config, unused = type(ours).get_image_processor_dict(tmp_path / "config.json", revision=None, crop_pct=1.0)
    assert config == ours.to_dict() and unused == {"crop_pct": 1.0}
    assert ours.model_input_names == theirs.model_input_names


def test_register_for_auto_class_makes_a_user_family_loadable() -> None:
    class PosterizeImageProcessor(pixelprep.ImageProcessor):
        defaults = {"do_resize": False, "do_rescale": True}

    PosterizeImageProcessor.register_for_auto_class()
    loaded = pixelprep.AutoImageProcessor.from_config({"image_processor_type": "PosterizeImageProcessor"})
    assert type(loaded) is PosterizeImageProcessor
    with pytest.raises(InvalidArgumentError, match="AutoImageProcessor"):
        PosterizeImageProcessor.register_for_auto_class("AutoTokenizer")


def test_fetch_images_decodes_paths_and_passes_images_through(fixture_path) -> None:
    processor = pixelprep.ViTImageProcessor()
    path = str(fixture_path("photo_rgb_333x517.jpg"))
    fetched = processor.fetch_images([path, [path]])
    assert fetched[0].size == (333, 517) and fetched[1][0].size == (333, 517)
    array = np.zeros((4, 4, 3), np.uint8)
    assert processor.fetch_images(array) is array


# ------------------------------------------------------------------------------------- single steps


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_steps_match_transformers(backend: str, photo_chw: np.ndarray) -> None:
    ours, theirs = _pair("CLIPImageProcessor", backend)
    image = torch.from_numpy(photo_chw) if backend == "torchvision" else photo_chw
    for size in ({"shortest_edge": 224}, {"height": 100, "width": 150}):
        _assert_same(ours.resize(image, size, resample=3), theirs.resize(image, SizeDict(**size), resample=3), f"resize {size}")
    # a crop larger than the image along one side pads it (an even split: both backends agree on where)
    for crop in ({"height": 200, "width": 300}, {"height": 521, "width": 300}):
        _assert_same(ours.center_crop(image, crop), theirs.center_crop(image, SizeDict(**crop)), f"center_crop {crop}")
    rescaled = theirs.rescale(image, 1 / 255)
    _assert_same(ours.rescale(image, 1 / 255), rescaled, "rescale")
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.3, 0.25]
    _assert_same(ours.normalize(rescaled, mean, std), theirs.normalize(rescaled, mean, std), "normalize")
    images = [image, image[:, :100, :200]]
    (padded, masks), (ref_padded, ref_masks) = ours.pad(images, return_mask=True), theirs.pad(images, return_mask=True)
    for index in range(2):
        _assert_same(padded[index], ref_padded[index], f"pad {index}")
        _assert_same(masks[index], ref_masks[index], f"pad mask {index}")
    _assert_same(ours.pad(images, pad_size={"height": 600, "width": 400}, fill_value=7)[1], theirs.pad(images, pad_size=SizeDict(height=600, width=400), fill_value=7)[1], "pad_size")
    with pytest.raises(InvalidArgumentError, match="smaller than an image"):
        ours.pad(images, pad_size={"height": 10, "width": 10})


def test_single_steps_keep_batches_layouts_and_types(photo_chw: np.ndarray) -> None:
    processor = pixelprep.CLIPImageProcessor(backend="pil")
    batch = torch.from_numpy(np.stack([photo_chw, photo_chw]))
    resized = processor.resize(batch, {"height": 20, "width": 30})
    assert isinstance(resized, torch.Tensor) and resized.shape == (2, 3, 20, 30) and resized.dtype == torch.uint8
    hwc = np.moveaxis(photo_chw, 0, -1)
    cropped = processor.center_crop(hwc, {"height": 10, "width": 12}, input_data_format="channels_last", data_format="channels_last")
    assert cropped.shape == (10, 12, 3)
    np.testing.assert_array_equal(cropped, hwc[253:263, 160:172])
    with pytest.raises(InvalidArgumentError, match="padding_mode"):
        processor.pad([photo_chw], padding_mode="reflect")


@pytest.mark.parametrize("backend", BACKENDS)
def test_rescale_and_normalize_in_one_pass(backend: str, photo_chw: np.ndarray) -> None:
    ours, theirs = _pair("ViTImageProcessor", backend)
    image = torch.from_numpy(photo_chw) if backend == "torchvision" else photo_chw
    fused = ours.rescale_and_normalize(image, True, 1 / 255, True, [0.5] * 3, [0.5] * 3)
    expected = theirs.normalize(theirs.rescale(image, 1 / 255), [0.5] * 3, [0.5] * 3)
    assert np.abs(_as_float(fused) - _as_float(expected)).max() <= 1e-5
    assert ours.rescale_and_normalize(image, False, 1 / 255, False, None, None) is image


@pytest.mark.parametrize("backend", BACKENDS)
def test_convert_to_rgb_of_rgba_and_gray(backend: str) -> None:
    ours, theirs = _pair("CLIPImageProcessor", backend)
    rgba = np.random.default_rng(0).integers(0, 256, (4, 20, 30)).astype(np.uint8)
    gray = rgba[:1]
    for image in (rgba, gray):
        given = torch.from_numpy(image) if backend == "torchvision" else image
        got, expected = ours.convert_to_rgb(given), theirs.convert_to_rgb(given, input_data_format="channels_first")
        assert type(got) is type(expected) and tuple(got.shape) == tuple(expected.shape) == (3, 20, 30)
        # transformers' torchvision backend truncates the alpha blend where pixelprep rounds (README: differences)
        assert np.abs(_as_float(got) - _as_float(expected)).max() <= (1 if backend == "torchvision" else 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_detr_annotation_steps_match_transformers(backend: str, photo_chw: np.ndarray) -> None:
    ours, theirs = _pair("DetrImageProcessor", backend)
    image = torch.from_numpy(photo_chw) if backend == "torchvision" else photo_chw
    annotation = {
        "image_id": 7,
        "annotations": [
            {"bbox": [10, 20, 100, 50], "category_id": 3, "area": 5000.0, "iscrowd": 0},
            {"bbox": [50, 60, 30, 40], "category_id": 1, "area": 1200.0, "iscrowd": 0},
        ],
    }

    def same_target(mine: dict[str, Any], reference: dict[str, Any], what: str) -> None:
        assert set(mine) == set(reference), what
        for key, value in reference.items():
            if isinstance(value, tuple):
                assert tuple(mine[key]) == value, f"{what} {key}"
            else:
                _assert_same(mine[key], value, f"{what} {key}")

    prepared, ref_prepared = ours.prepare_annotation(image, annotation), theirs.prepare_annotation(image, annotation)
    same_target(prepared, ref_prepared, "prepare_annotation")
    resized, ref_resized = ours.resize_annotation(prepared, (517, 333), (258, 166)), theirs.resize_annotation(ref_prepared, (517, 333), (258, 166))
    same_target(resized, ref_resized, "resize_annotation")
    normalized, ref_normalized = ours.normalize_annotation(resized, (258, 166)), theirs.normalize_annotation(ref_resized, (258, 166))
    same_target(normalized, ref_normalized, "normalize_annotation")
    padded, mask, padded_target = ours.pad(image, (600, 400), annotation=normalized)
    ref_padded, ref_mask, ref_target = theirs.pad(image, (600, 400), annotation=ref_normalized)
    _assert_same(padded, ref_padded, "pad image")
    _assert_same(mask, ref_mask, "pad mask")
    same_target(padded_target, ref_target, "pad annotation")
    _assert_same(
        ours.resize(image, {"shortest_edge": 200, "longest_edge": 300}),
        theirs.resize(image, SizeDict(shortest_edge=200, longest_edge=300)),
        "DETR resize",
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_dpt_pad_image_and_reduce_label_match_transformers(backend: str) -> None:
    ours, theirs = _pair("DPTImageProcessor", backend)
    image = np.random.default_rng(0).random((3, 37, 50)).astype(np.float32)  # 27 and 14 rows/columns to add: odd and even
    given = torch.from_numpy(image) if backend == "torchvision" else image
    _assert_same(ours.pad_image(given, size_divisor=32), theirs.pad_image(given, size_divisor=32), "pad_image")
    labels = np.random.default_rng(1).integers(0, 5, (10, 12)).astype(np.int64)
    labels[0, 0] = 255
    if backend == "torchvision":
        mine, reference = ours.reduce_label([torch.from_numpy(labels)]), theirs.reduce_label([torch.from_numpy(labels)])
        _assert_same(mine[0], reference[0], "reduce_label")
    else:
        _assert_same(ours.reduce_label(labels.copy()), theirs.reduce_label(labels.copy()), "reduce_label")


@pytest.mark.parametrize("backend", BACKENDS)
def test_maskformer_pad_matches_transformers(backend: str) -> None:
    ours, theirs = _pair("MaskFormerImageProcessor", backend)
    images = np.random.default_rng(0).random((2, 3, 37, 50)).astype(np.float32)
    maps = [np.random.default_rng(1).integers(0, 5, (1, 37, 50)).astype(np.int64)] * 2
    if backend == "torchvision":
        given, given_maps = torch.from_numpy(images), [torch.from_numpy(m) for m in maps]
    else:
        given, given_maps = list(images), maps
    mine, reference = ours.pad(given, (64, 64), segmentation_maps=given_maps, ignore_index=9), theirs.pad(given, (64, 64), segmentation_maps=given_maps, ignore_index=9)
    for what, a, b in zip(("images", "pixel masks", "maps"), mine, reference):
        a, b = (list(a), list(b)) if isinstance(b, list) else ([a], [b])
        for index, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{what} {index}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_pad_without_pad_size_fits_the_largest_image_even_when_the_family_configures_one(backend: str) -> None:
    ours, theirs = _pair("SamImageProcessor", backend)  # SAM's configured pad_size is 1024x1024
    images = [np.ones((3, 20, 30), np.float32), np.ones((3, 10, 40), np.float32)]
    if backend == "torchvision":
        images = [torch.from_numpy(image) for image in images]
    for mine, reference in zip(ours.pad(images), theirs.pad(images)):
        _assert_same(mine, reference, "pad")
        assert tuple(mine.shape) == (3, 20, 40)


@pytest.mark.parametrize("backend", BACKENDS)
def test_family_single_steps_match_transformers(backend: str, photo_chw: np.ndarray) -> None:
    """MobileViT's flip_channel_order, FLAVA's map_pixels and ViTMatte's pad_image against transformers' class of the backend."""
    image = torch.from_numpy(photo_chw) if backend == "torchvision" else photo_chw
    ours, theirs = _pair("MobileViTImageProcessor", backend)
    _assert_same(ours.flip_channel_order(image), theirs.flip_channel_order(image), "flip_channel_order")
    if backend == "torchvision":  # transformers' pil class takes one image at a time
        batch = torch.stack([image, image])
        _assert_same(ours.flip_channel_order(batch), theirs.flip_channel_order(batch), "flip_channel_order batch")
    ours, theirs = _pair("FlavaImageProcessor", backend)
    values = _pair("ViTImageProcessor", backend)[1].rescale(image, 1 / 255)
    _assert_same(ours.map_pixels(values), theirs.map_pixels(values), "map_pixels")
    ours, theirs = _pair("VitMatteImageProcessor", backend)
    if backend == "pil":  # transformers' torchvision class has pad_image only as a private step
        four = np.concatenate([values, values[:1]]).astype(np.float32)  # RGB and a trimap channel
        for divisor in (32, 7, 1):
            _assert_same(ours.pad_image(four, size_divisor=divisor), theirs.pad_image(four, size_divisor=divisor), f"pad_image {divisor}")
    with pytest.raises(InvalidArgumentError, match="size_divisor"):
        ours.pad_image(values, size_divisor=0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family_name", ["Qwen2VLImageProcessor", "Glm4vImageProcessor", "Glm46VImageProcessor"])
def test_patchify_matches_transformers(family_name: str, backend: str) -> None:
    ours, theirs = _pair(family_name, backend)
    image = np.random.default_rng(0).random((3, 56, 84)).astype(np.float32)
    if backend == "torchvision":  # transformers' torchvision class patchifies a batch of one size
        given = torch.from_numpy(np.stack([image, image[:, ::-1].copy()]))
    else:
        given = image
    for sizes in ((14, 2, 2), (7, 4, 1)):
        mine, reference = ours.patchify(given, *sizes), theirs.patchify(given, *sizes)
        _assert_same(mine[0], reference[0], f"patchify {sizes}")
        assert mine[1:] == reference[1:]
    with pytest.raises(InvalidImageError, match="blocks"):
        ours.patchify(image[:, :50], 14, 2, 2)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family_name", ["LlavaImageProcessor", "LlavaOnevisionImageProcessor", "DeepseekOcr2ImageProcessor"])
def test_pad_to_square_matches_transformers(family_name: str, backend: str) -> None:
    ours, theirs = _pair(family_name, backend)
    rng = np.random.default_rng(0)
    for shape in ((3, 20, 31), (3, 31, 20), (3, 16, 16)):
        image = rng.integers(0, 256, shape).astype(np.uint8)
        given = torch.from_numpy(image) if backend == "torchvision" else image
        for color in (0, 200, (10, 20, 30)):
            _assert_same(ours.pad_to_square(given, color), theirs.pad_to_square(given, color), f"pad_to_square {shape} {color}")
    with pytest.raises(InvalidArgumentError, match="background_color"):
        ours.pad_to_square(np.zeros((3, 4, 5), np.uint8), (1, 2))


@pytest.mark.parametrize("family_name", ["LlavaNextImageProcessor", "LlavaOnevisionImageProcessor"])
def test_get_image_patches_matches_transformers(family_name: str) -> None:
    """transformers has get_image_patches on its pil classes only."""
    ours, theirs = _pair(family_name, "pil")
    image = np.random.default_rng(0).integers(0, 256, (3, 300, 500)).astype(np.uint8)
    pinpoints = [[336, 672], [672, 336], [672, 672]]
    mine, reference = ours.get_image_patches(image, pinpoints, (336, 336), 336, 3), theirs.get_image_patches(image, pinpoints, (336, 336), 336, 3)
    assert len(mine) == len(reference)
    for index, (a, b) in enumerate(zip(mine, reference)):
        _assert_same(a, b, f"view {index}")


def test_emu3_postprocess_and_unnormalize_match_transformers() -> None:
    """transformers' Emu3 has one (pil) class; postprocess inverts preprocess back to images."""
    ours, theirs = _pair("Emu3ImageProcessor", "pil")
    values = np.random.default_rng(0).uniform(-2, 2, (2, 3, 16, 24)).astype(np.float32)
    _assert_same(ours.unnormalize(values[0], ours.image_mean, ours.image_std), theirs.unnormalize(values[0], theirs.image_mean, theirs.image_std), "unnormalize")
    mine, reference = ours.postprocess(values), theirs.postprocess(values)
    assert len(mine["pixel_values"]) == len(reference["pixel_values"]) == 2
    for a, b in zip(mine["pixel_values"], reference["pixel_values"]):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    mine, reference = ours.postprocess(values, return_tensors="np"), theirs.postprocess(values, return_tensors="np")
    _assert_same(mine["pixel_values"], reference["pixel_values"], "postprocess np")
    with pytest.raises(InvalidArgumentError, match="image_mean"):
        ours.unnormalize(values[0], (0.5, 0.5), 0.5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_idefics2_split_images_matches_transformers(backend: str) -> None:
    ours, theirs = _pair("Idefics2ImageProcessor", backend)
    image = np.random.default_rng(0).integers(0, 256, (3, 21, 30)).astype(np.uint8)
    if backend == "torchvision":  # transformers' torchvision class splits a batch: one list of views per image
        given = torch.from_numpy(np.stack([image, image[:, ::-1].copy()]))
        mine, reference = ours.split_images(given), theirs.split_images(given)
        pairs = [(a, b) for mine_views, their_views in zip(mine, reference) for a, b in zip(mine_views, their_views)]
        assert len(mine) == len(reference) == 2
    else:
        mine, reference = ours.split_images(image), theirs.split_images(image)
        pairs = list(zip(mine, reference))
    assert len(pairs) == (10 if backend == "torchvision" else 5)
    for index, (a, b) in enumerate(pairs):
        _assert_same(a, b, f"view {index}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family_name", ["Idefics3ImageProcessor", "SmolVLMImageProcessor"])
def test_resize_for_vision_encoder_matches_transformers(family_name: str, backend: str) -> None:
    ours, theirs = _pair(family_name, backend)
    for shape in ((3, 100, 230), (3, 230, 100), (3, 40, 40)):
        image = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
        given = torch.from_numpy(image) if backend == "torchvision" else image
        _assert_same(ours.resize_for_vision_encoder(given, 64, 3), theirs.resize_for_vision_encoder(given, 64, 3), f"resize {shape}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_gemma4_aspect_ratio_preserving_resize_matches_transformers(backend: str) -> None:
    ours, theirs = _pair("Gemma4ImageProcessor", backend)
    for shape in ((3, 100, 230), (3, 230, 100), (3, 48, 48)):
        image = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
        given = torch.from_numpy(image) if backend == "torchvision" else image
        resample = tvF.InterpolationMode.BICUBIC if backend == "torchvision" else 3
        _assert_same(ours.aspect_ratio_preserving_resize(given, 16, 64, 3, 3), theirs.aspect_ratio_preserving_resize(given, 16, 64, 3, resample), f"resize {shape}")


# transformers has Cohere2-Vision's torchvision class only
@pytest.mark.parametrize(
    ("family_name", "backend"),
    [("GotOcr2ImageProcessor", "pil"), ("GotOcr2ImageProcessor", "torchvision"), ("Cohere2VisionImageProcessor", "torchvision"),
     ("GraniteDoclingImageProcessor", "pil"), ("GraniteDoclingImageProcessor", "torchvision")],
)
def test_crop_image_to_patches_matches_transformers(family_name: str, backend: str) -> None:
    ours, theirs = _pair(family_name, backend)
    image = np.random.default_rng(0).integers(0, 256, (3, 90, 200)).astype(np.uint8)
    given = torch.from_numpy(np.stack([image, image[:, ::-1].copy()])) if backend == "torchvision" else image
    for thumbnail in (True, False):
        mine = ours.crop_image_to_patches(given, 1, 6, thumbnail, {"height": 32, "width": 32}, 3)
        reference = theirs.crop_image_to_patches(given, 1, 6, thumbnail, SizeDict(height=32, width=32), 3)
        if backend == "pil":
            assert len(mine) == len(reference) > 1
            for index, (a, b) in enumerate(zip(mine, reference)):
                _assert_same(a, b, f"view {index}")
        else:
            _assert_same(mine, reference, "views")


@pytest.mark.parametrize("backend", BACKENDS)
def test_gemma3_pan_and_scan_matches_transformers(backend: str) -> None:
    ours, theirs = _pair("Gemma3ImageProcessor", backend)
    for shape in ((3, 40, 130), (3, 130, 40), (3, 40, 44)):
        image = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
        if backend == "torchvision":  # transformers' torchvision class crops a batch of one size
            given = torch.from_numpy(np.stack([image, image]))
            mine, reference = ours.pan_and_scan_batched(given, 16, 4, 1.2), theirs.pan_and_scan_batched(given, 16, 4, 1.2)
        else:
            mine, reference = ours.pan_and_scan(image, 16, 4, 1.2), theirs.pan_and_scan(image, 16, 4, 1.2)
        assert len(mine) == len(reference)
        for index, (a, b) in enumerate(zip(mine, reference)):
            _assert_same(a, b, f"crop {index} of {shape}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family_name", ["Idefics3ImageProcessor", "SmolVLMImageProcessor"])
def test_idefics3_split_images_matches_transformers(family_name: str, backend: str) -> None:
    ours, theirs = _pair(family_name, backend)
    for shape in ((3, 64, 96), (3, 32, 32)):  # on the tile grid, as the pipeline's first resizes leave it; then within one tile
        image = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
        given = torch.from_numpy(np.stack([image, image])) if backend == "torchvision" else image
        mine, reference = ours.split_images(given, {"longest_edge": 32}, 3), theirs.split_images(given, {"longest_edge": 32}, 3)
        assert mine[1:] == tuple(reference[1:])
        if backend == "pil":
            assert len(mine[0]) == len(reference[0])
            for index, (a, b) in enumerate(zip(mine[0], reference[0])):
                _assert_same(a, b, f"view {index} of {shape}")
        else:
            _assert_same(mine[0], reference[0], f"views of {shape}")
