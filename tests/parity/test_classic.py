"""The classic single-image families beyond one image at a time: mixed-size batches, segmentation maps,
post-processing, the pil backend where transformers has only a torchvision class, size rules, saved
configs, and the places where transformers fails and pixelprep answers (README).

Every reference is transformers 5.23 run in the same process; tolerances are 1e-5, integers equal.
(Single images of every fixture, every family and config: test_families.py.)
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import transformers
from PIL import Image
from transformers.image_transforms import convert_to_rgb
from transformers.models.bridgetower import image_processing_bridgetower as tf_bridgetower
from transformers.models.vilt import image_processing_pil_vilt as tf_vilt

import pixelprep
from pixelprep import ConfigError, InvalidImageError
from pixelprep.models.classic_steps import capped_shorter_edge_size, floor_to_multiple_size, shortest_edge_ceil_multiple_size, symmetric_indices

ATOL = 1e-5
BACKENDS = ("torchvision", "pil")
# families transformers has both classes for, by name prefix
BOTH_BACKENDS = ("BridgeTower", "EfficientNet", "GLPN", "MobileNetV1", "MobileViT", "Perceiver", "PoolFormer", "Pvt", "Swin2SR", "TextNet", "Vilt")
BATCH = ("photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tall_rgb_90x1200.jpg", "gray_l_257x257.jpg", "photo_rgb_301x200.png")


def _theirs(family: str, backend: str, **config) -> object:
    return getattr(transformers, f"{family}ImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _ours(family: str, backend: str, **config) -> pixelprep.ImageProcessor:
    return getattr(pixelprep, f"{family}ImageProcessor").from_dict(config, backend=backend)


def _rgb_reference(image: Image.Image, processor: pixelprep.ImageProcessor) -> Image.Image:
    """What transformers must be given for what pixelprep documents: RGB where the family's model sees RGB (README)."""
    mean = processor.image_mean
    return convert_to_rgb(image) if processor.do_convert_rgb or (mean is not None and len(mean) == 3) else image


# ------------------------------------------------------------------------------------- mixed-size batches


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", BOTH_BACKENDS)
def test_mixed_size_batch(family: str, backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """A batch of differently sized photos (and a gray one): every output (pixel_mask too) equals transformers', list or stacked."""
    ours, theirs = _ours(family, backend), _theirs(family, backend)
    images = [load_image(fixture_path(name)) for name in BATCH]
    # transformers' ViltImageProcessor (torchvision) raises on mixed sizes unless return_tensors="pt" (see test_vilt_mixed_sizes_*)
    reference_call = {"return_tensors": "pt"} if (family, backend) == ("Vilt", "torchvision") else {}
    expected = theirs([_rgb_reference(image, ours) for image in images], **reference_call)
    # families without a crop or padding keep each image's own size: a list; the others stack too
    for call in [{}] if family in ("GLPN", "Swin2SR", "TextNet") else [{}, {"return_tensors": "pt"}]:
        got = ours(images, **call)
        assert set(got) == set(expected), f"{family} [{backend}] output keys"
        for key in expected:
            compare(got[key], to_numpy(expected[key]), atol=ATOL, what=f"{family} [{backend}] batch {key} {call}")
            if key == "pixel_mask":
                assert all(np.array_equal(a, b) for a, b in zip(to_numpy(got[key]), to_numpy(expected[key]))), "pixel_mask differs"


@pytest.mark.parametrize("backend", BACKENDS)
def test_padded_batch_marks_each_image(backend: str, fixture_path, load_image, to_numpy) -> None:
    """ViLT pads to the largest image with zeros (in normalised units: 0 after normalising), and pixel_mask is 1 exactly on each image."""
    images = [load_image(fixture_path(name)) for name in ("photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg")]
    batch = _ours("Vilt", backend)(images, return_tensors="np")
    values, mask = batch["pixel_values"], batch["pixel_mask"]
    assert values.shape == (2, 3, 608, 576) and mask.shape == (2, 608, 576) and mask.dtype == np.int64
    for index, (height, width) in enumerate([(384, 576), (608, 32)]):  # each image's own resized size
        assert mask[index, :height, :width].all() and mask[index].sum() == height * width
        assert not values[index, :, height:, :].any() and not values[index, :, :, width:].any()


def test_vilt_mixed_sizes_without_return_tensors(fixture_path, load_image, compare, to_numpy) -> None:
    """transformers' torchvision ViLT raises UnboundLocalError on mixed sizes without return_tensors="pt"; ours answers, equal to its "pt" output."""
    images = [load_image(fixture_path(name)) for name in BATCH[:3]]
    theirs = transformers.ViltImageProcessor()
    with pytest.raises(UnboundLocalError):
        theirs(images)
    expected = theirs(images, return_tensors="pt")
    got = _ours("Vilt", "torchvision")(images)
    for key in ("pixel_values", "pixel_mask"):
        compare(got[key], to_numpy(expected[key]), atol=0, what=f"ViLT {key}")


# ------------------------------------------------------------------------------ families with no pil class


@pytest.mark.parametrize(("family", "atol"), [("DINOv3ViT", 1e-4), ("Tipsv2", 2 / 255 + 1e-6)])
def test_pil_backend_where_transformers_has_no_pil_class(family: str, atol: float, image_path, load_image, compare, to_numpy, to_eight_bit) -> None:
    """Our pil backend stays within Pillow-vs-torch resize distance of transformers' torchvision class.

    DINOv3 resizes float images (Pillow's float filter against torch's: under 1e-4); TIPSv2 resizes
    8-bit images, where Pillow and torch round a few values one level apart (2/255 at most).
    """
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)  # 16-bit scaled by value (README)
    ours = _ours(family, "pil")
    expected = to_numpy(_theirs(family, "torchvision")(reference, return_tensors="np")["pixel_values"])
    compare(ours(str(image_path), return_tensors="np")["pixel_values"], expected, atol=atol, what=f"{family} [pil] {image_path.name}")


# --------------------------------------------------------------------------------- segmentation maps


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduce", [False, True])
def test_mobilevit_segmentation_maps(backend: str, reduce: bool, fixture_path, load_image, compare, to_numpy) -> None:
    """Label maps go through the images' resize (nearest) and crop, optionally reduced; equal to transformers, int64."""
    images = [load_image(fixture_path(name)) for name in ("photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "wide_rgb_1200x90.jpg")]
    rng = np.random.default_rng(3)
    maps = [Image.fromarray(rng.integers(0, 21, size=(image.height, image.width), dtype=np.uint8)) for image in images]
    maps[1] = np.array(maps[1])  # arrays and PIL images alike (writable: transformers' pil class reduces labels in place)
    config = {"do_reduce_labels": reduce}
    expected = _theirs("MobileViT", backend, **config)(images, segmentation_maps=maps, return_tensors="np")
    got = _ours("MobileViT", backend, **config)(images, segmentation_maps=maps, return_tensors="np")
    assert got["labels"].dtype == np.int64
    assert np.array_equal(got["labels"], to_numpy(expected["labels"])), f"labels [{backend}] reduce={reduce}"
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), atol=ATOL, what=f"MobileViT [{backend}] pixel_values with maps")


# ----------------------------------------------------------------------------------- post-processing


@pytest.mark.parametrize("scores", [False, True])
@pytest.mark.parametrize("sizes", [None, "list", "tensor"])
def test_mobilevit_semantic_post_processing(scores: bool, sizes: str | None) -> None:
    """Argmax class maps (and scores) of random logits, resized to target sizes when given: equal to transformers."""
    logits = torch.randn(2, 5, 32, 32, generator=torch.Generator().manual_seed(0))
    target_sizes = {None: None, "list": [(64, 48), (17, 100)], "tensor": torch.tensor([[64, 48], [17, 100]])}[sizes]
    outputs = SimpleNamespace(logits=logits)
    kwargs = {"target_sizes": target_sizes, "return_segmentation_scores": scores}
    for backend in BACKENDS:
        expected = _theirs("MobileViT", backend).post_process_semantic_segmentation(outputs, **kwargs)
        got = _ours("MobileViT", backend).post_process_semantic_segmentation(outputs, **kwargs)
        assert len(got) == len(expected) == 2
        for ours_item, theirs_item in zip(got, expected):
            if scores:
                assert torch.equal(ours_item["segmentation"], theirs_item["segmentation"])
                assert torch.allclose(ours_item["segmentation_scores"], theirs_item["segmentation_scores"], atol=ATOL, rtol=0)
            else:
                assert ours_item.dtype == theirs_item.dtype and torch.equal(ours_item, theirs_item)


@pytest.mark.parametrize("sizes", [None, "list", "tensor"])
def test_glpn_depth_post_processing(sizes: str | None) -> None:
    """Depth maps bicubically resized to each target size: within 1e-5 (relative to the depth range) of transformers; NumPy in gives NumPy out.

    transformers crashes on target sizes given as a tensor; ours takes them (README), compared with its answer for the list.
    """
    depth = torch.rand(2, 30, 40, generator=torch.Generator().manual_seed(1)) * 80
    listed = None if sizes is None else [(60, 80), (17, 23)]
    target_sizes = torch.tensor(listed) if sizes == "tensor" else listed
    for backend in BACKENDS:
        expected = _theirs("GLPN", backend).post_process_depth_estimation(SimpleNamespace(predicted_depth=depth), target_sizes=listed)
        got = _ours("GLPN", backend).post_process_depth_estimation(SimpleNamespace(predicted_depth=depth), target_sizes=target_sizes)
        for ours_item, theirs_item in zip(got, expected, strict=True):
            assert ours_item["predicted_depth"].shape == theirs_item["predicted_depth"].shape
            assert torch.allclose(ours_item["predicted_depth"], theirs_item["predicted_depth"], atol=ATOL * 80, rtol=0)
    as_numpy = _ours("GLPN", "pil").post_process_depth_estimation({"predicted_depth": depth.numpy()}, target_sizes=[(10, 10), None])
    assert isinstance(as_numpy[0]["predicted_depth"], np.ndarray) and as_numpy[0]["predicted_depth"].shape == (10, 10)
    assert as_numpy[1]["predicted_depth"].shape == (30, 40)


# ------------------------------------------------------------------------------- where transformers fails


@pytest.mark.parametrize("backend", BACKENDS)
def test_mobilevit_gray_without_rgb_conversion(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """Gray images with do_convert_rgb=False stay 1-channel and unflipped (a gray image is its own BGR).

    transformers' torchvision class crashes on them: the reference there is one channel of its output
    for the same pixels as RGB; its pil class takes them and must agree with ours.
    """
    gray = load_image(fixture_path("gray_l_200x131.png"))
    with pytest.raises(IndexError):
        transformers.MobileViTImageProcessor(do_convert_rgb=False)(gray)
    if backend == "torchvision":
        expected = to_numpy(transformers.MobileViTImageProcessor()(gray.convert("RGB"), return_tensors="np")["pixel_values"])[:, :1]
    else:
        expected = to_numpy(transformers.MobileViTImageProcessorPil(do_convert_rgb=False)(gray, return_tensors="np")["pixel_values"])
    got = _ours("MobileViT", backend, do_convert_rgb=False)(gray, return_tensors="np")["pixel_values"]
    assert got.shape == (1, 1, 256, 256)
    compare(got, expected, atol=ATOL, what=f"MobileViT gray [{backend}]")


def test_mobilevit_flips_to_bgr(fixture_path, load_image, to_numpy) -> None:
    """The flip is exactly the reversed channels of the unflipped output."""
    image = load_image(fixture_path("photo_rgb_640x427.jpg"))
    flipped = _ours("MobileViT", "pil")(image, return_tensors="np")["pixel_values"]
    plain = _ours("MobileViT", "pil", do_flip_channel_order=False)(image, return_tensors="np")["pixel_values"]
    assert np.array_equal(flipped, plain[:, ::-1])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("family", "name"), [("GLPN", "tiny_rgb_7x5.png"), ("Perceiver", "single_pixel_rgb_1x1.png")])
def test_too_small_images_are_our_error(family: str, name: str, backend: str, fixture_path) -> None:
    """GLPN below 32 px and Perceiver's zero-pixel crop raise InvalidImageError naming the image size."""
    with pytest.raises(InvalidImageError, match=r"too small"):
        _ours(family, backend)(str(fixture_path(name)))


# ------------------------------------------------------------------------------------ size rules


def test_capped_shorter_edge_rule_matches_transformers() -> None:
    """ViLT's and BridgeTower's size rule equals both transformers implementations on many sizes, shorter sides and divisors."""
    rng = np.random.default_rng(0)
    sizes = [(int(h), int(w)) for h, w in rng.integers(1, 3000, size=(300, 2))] + [(384, 384), (5, 7), (7, 5), (90, 1200), (1200, 90)]
    for shorter in (288, 384, 320, 800):
        for multiple in (32, 1, 64):
            longer = int(1333 / 800 * shorter)
            for height, width in sizes:
                ours = capped_shorter_edge_size(height, width, shorter, multiple)
                vilt = tf_vilt.get_resize_output_image_size(np.zeros((3, height, width)), shorter, longer, multiple, input_data_format="channels_first")
                bridgetower = tf_bridgetower.get_resize_output_image_size(np.zeros((3, height, width)), shorter, longer, multiple)
                assert ours == tuple(vilt) == tuple(bridgetower), (height, width, shorter, multiple)


def test_other_rules() -> None:
    """GLPN floors, TextNet rounds up, Swin2SR mirrors like NumPy's "symmetric" pad (even past the axis length)."""
    assert floor_to_multiple_size(479, 640, 32) == (448, 640) and floor_to_multiple_size(31, 64, 32) == (0, 64)
    assert shortest_edge_ceil_multiple_size(427, 640, 640, 32) == (640, 960)
    assert shortest_edge_ceil_multiple_size(517, 333, 640, 32) == (1024, 640)
    for length in (1, 2, 5, 8):
        for pad in (0, 1, 3, 7, 20):
            axis = np.arange(length)
            assert np.array_equal(axis[symmetric_indices(length, pad)], np.pad(axis, (0, pad), mode="symmetric")), (length, pad)


# -------------------------------------------------------------------------------- configs and describe


@pytest.mark.parametrize(
    ("family", "config"),
    [
        ("BridgeTower", {"crop_size": {"shortest_edge": 256}}),
        ("Swin2SR", {"pad_size": 16}),
        ("EfficientNet", {"rescale_offset": True, "include_top": False, "rescale_factor": 1 / 127.5}),
        ("MobileViT", {"do_flip_channel_order": False}),
        ("PoolFormer", {"crop_pct": 0.95}),
        ("GLPN", {"size_divisor": 64}),
        ("Vilt", {"size_divisor": 64}),
    ],
)
def test_saved_config_loads_in_transformers(family: str, config: dict, tmp_path, fixture_path, load_image, compare, to_numpy) -> None:
    """Our saved config reloads in transformers (AutoImageProcessor) to a processor that gives our output."""
    ours = _ours(family, "torchvision", **config)
    ours.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert "pad_size" not in saved if family == "Swin2SR" else True, "the legacy pad_size is saved as size_divisor"
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend="torchvision")
    assert type(theirs).__name__ == f"{family}ImageProcessor"
    image = load_image(fixture_path("photo_rgb_640x427.jpg"))
    expected = to_numpy(theirs(image, return_tensors="np")["pixel_values"])
    compare(ours(image, return_tensors="np")["pixel_values"], expected, atol=ATOL, what=f"{family} saved config")


def test_dinov3_convnext_model_type_does_not_resolve(tmp_path) -> None:
    """transformers 5.23 maps no image processor to dinov3_convnext (its checkpoints name DINOv3ViTImageProcessorFast); neither do we."""
    (tmp_path / "config.json").write_text('{"model_type": "dinov3_convnext"}')
    (tmp_path / "preprocessor_config.json").write_text("{}")
    with pytest.raises(ConfigError):
        pixelprep.AutoImageProcessor.from_pretrained(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text('{"image_processor_type": "DINOv3ViTImageProcessorFast"}')
    assert type(pixelprep.AutoImageProcessor.from_pretrained(tmp_path)).__name__ == "DINOv3ViTImageProcessor"


def test_describe_pipelines() -> None:
    """print(processor) lists each family's own steps, in the order they run."""
    assert repr(pixelprep.DINOv3ViTImageProcessor()).splitlines()[2].endswith("resize to 224x224 bilinear (on floats, not rounded to 8 bits)")
    assert repr(pixelprep.MobileViTImageProcessor()).splitlines()[-1].endswith("flip channels RGB -> BGR")
    assert "normalize" not in repr(pixelprep.MobileViTImageProcessor(do_normalize=True))
    swin2sr = repr(pixelprep.Swin2SRImageProcessor()).splitlines()
    assert swin2sr[-1].endswith("pad bottom/right by mirroring to the next multiple of 8 (always at least 1)") and not any("largest" in line for line in swin2sr)
    vilt = repr(pixelprep.ViltImageProcessor()).splitlines()
    assert "longer edge at most 639, sides down to a multiple of 32" in vilt[2] and "pixel_mask" in vilt[-1]
    assert "center crop a square of 0.875 x the shorter side" in repr(pixelprep.PerceiverImageProcessor()).splitlines()[2]


# ------------------------------------------------------------------------------------------------ FLAVA


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "config",
    [
        {},
        {"codebook_do_map_pixels": False, "codebook_size": 96, "codebook_crop_size": 80, "codebook_resample": 3},
        {"input_size_patches": 16, "total_mask_patches": 98, "mask_group_min_patches": 8, "mask_group_max_patches": 30, "mask_group_max_aspect_ratio": 2.0},
    ],
    ids=["default", "codebook-variant", "mask-variant"],
)
def test_flava_codebook_pixels_and_seeded_masks(backend: str, config: dict, fixture_path, load_image, compare, to_numpy) -> None:
    """With the same random.seed, FLAVA's masks equal transformers' (int32, exactly), and codebook pixels match to 1e-5."""
    import random

    images = [load_image(fixture_path(name)) for name in BATCH]
    references = [convert_to_rgb(image) for image in images]
    theirs, ours = _theirs("Flava", backend, **config), _ours("Flava", backend, **config)
    call = {"return_codebook_pixels": True, "return_image_mask": True}
    for seed in range(3):
        for return_tensors in (None, "pt"):
            random.seed(seed)
            expected = theirs(references, return_tensors=return_tensors, **call)
            random.seed(seed)
            got = ours(images, return_tensors=return_tensors, **call)
            assert set(got) == set(expected) == {"pixel_values", "codebook_pixel_values", "bool_masked_pos"}
            for key in ("pixel_values", "codebook_pixel_values"):
                compare(got[key], to_numpy(expected[key]), atol=ATOL, what=f"FLAVA [{backend}] {key}")
            masks, expected_masks = to_numpy(got["bool_masked_pos"]), to_numpy(expected["bool_masked_pos"])
            assert len(masks) == len(images)
            for mask, expected_mask in zip(masks, expected_masks):
                assert mask.dtype == np.int32 and np.array_equal(mask, expected_mask), f"FLAVA [{backend}] mask, seed {seed}"
    assert 0 < masks[0].sum() <= ours.total_mask_patches  # each rectangle adds at most what is still missing


def test_flava_outputs_only_what_is_asked(fixture_path) -> None:
    """By default FLAVA returns pixel_values alone, like transformers."""
    assert set(_ours("Flava", "pil")(str(fixture_path("photo_rgb_640x427.jpg")))) == {"pixel_values"}


# --------------------------------------------------------------------------------------------- ViTMatte


def _trimap(image: Image.Image, seed: int) -> np.ndarray:
    """A random trimap (0 background, 128 unknown, 255 foreground) of the image's size."""
    return np.random.default_rng(seed).choice(np.array([0, 128, 255], dtype=np.uint8), size=(image.height, image.width))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("config", [{}, {"do_pad": False}, {"size_divisor": 64}, {"do_normalize": False}, {"size_divisibility": 16}], ids=str)
def test_vitmatte_matches_transformers(backend: str, config: dict, image_path, load_image, compare, to_numpy, to_eight_bit) -> None:
    """RGB normalised, the trimap rescaled as a 4th channel, padded to the multiple: equal to transformers on every fixture image."""
    image = load_image(image_path)
    reference = convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)
    trimap = _trimap(image, 0)
    pil_trimap = Image.fromarray(trimap)  # transformers takes PIL trimaps as well as arrays
    expected = to_numpy(_theirs("VitMatte", backend, **config)(reference, trimaps=pil_trimap, return_tensors="np")["pixel_values"])
    got = _ours("VitMatte", backend, **config)(str(image_path), trimaps=trimap, return_tensors="np")["pixel_values"]
    assert got.shape[1] == 4
    compare(got, expected, atol=ATOL, what=f"ViTMatte [{backend}] {image_path.name} {config}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_vitmatte_hub_config_and_batch(backend: str, tmp_path, fixture_path, load_image, compare, to_numpy) -> None:
    """A config shaped like hustvl/vitmatte-small-composition-1k's (legacy size_divisibility) loads in both AutoImageProcessors; a mixed batch matches."""
    config = {
        "do_normalize": True, "do_pad": True, "do_rescale": True, "image_processor_type": "VitMatteImageProcessor",
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "rescale_factor": 0.00392156862745098, "size_divisibility": 32,
    }
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    ours = pixelprep.AutoImageProcessor.from_pretrained(tmp_path, backend=backend)
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path), backend=backend)
    assert type(ours).__name__ == type(theirs).__name__.removesuffix("Pil") == "VitMatteImageProcessor"
    images = [load_image(fixture_path(name)) for name in BATCH]
    trimaps = [_trimap(image, seed) for seed, image in enumerate(images)]
    expected = theirs([convert_to_rgb(image) for image in images], trimaps=trimaps)["pixel_values"]
    got = ours(images, trimaps=trimaps)["pixel_values"]
    compare(got, to_numpy(expected), atol=ATOL, what=f"ViTMatte [{backend}] batch")
    saved = tmp_path / "saved"
    ours.save_pretrained(saved)
    assert json.loads((saved / "preprocessor_config.json").read_text())["size_divisor"] == 32
    reloaded = transformers.AutoImageProcessor.from_pretrained(str(saved), backend=backend)
    compare(got, to_numpy(reloaded([convert_to_rgb(image) for image in images], trimaps=trimaps)["pixel_values"]), atol=ATOL, what="saved config")


def test_vitmatte_argument_errors(fixture_path, load_image) -> None:
    """Missing trimaps, a wrong count or a wrong size are our errors naming the trimaps."""
    processor = _ours("VitMatte", "pil")
    image = load_image(fixture_path("photo_rgb_301x200.png"))
    with pytest.raises(pixelprep.InvalidArgumentError, match="trimaps"):
        processor(image)
    with pytest.raises(pixelprep.InvalidArgumentError, match="2 trimaps for 1 images"):
        processor(image, trimaps=[_trimap(image, 0), _trimap(image, 1)])
    with pytest.raises(pixelprep.InvalidArgumentError, match="trimap 0 is 10x10 but its image is 200x301"):
        processor(image, trimaps=np.zeros((10, 10), np.uint8))
