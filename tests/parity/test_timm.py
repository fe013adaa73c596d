"""from_timm reproduces timm's own eval transform (``create_transform(..., is_training=False)``) on the fixture images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixelprep import AutoImageProcessor, from_timm
from pixelprep.errors import ConfigNotFoundError, InvalidArgumentError

timm = pytest.importorskip("timm")
from timm.data import create_transform, resolve_data_config  # noqa: E402

IMAGES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "images"
# timm's transforms take RGB PIL images (its datasets convert on load). Every fixture's RGB pixels, without
# metadata (a converted palette PNG keeps its transparency key, which pixelprep's input layer composites on
# white like transformers; see test_open_clip), exercise odd sizes.
IMAGES = {path.name: Image.fromarray(np.asarray(Image.open(path).convert("RGB"))) for path in sorted(IMAGES_DIR.iterdir())}
IMAGENET = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}
HALF = {"mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)}


def assert_matches(ours, theirs) -> None:
    """max |ours - timm| <= 1e-4 on every fixture image, same shapes."""
    worst = 0.0
    for name, image in IMAGES.items():
        expected = theirs(image).numpy()
        actual = ours(image, return_tensors="np")["pixel_values"][0]
        assert actual.shape == expected.shape, name
        worst = max(worst, float(np.abs(actual - expected).max()))
    assert worst <= 1e-4, worst


DATA_CONFIGS = {
    "center-bicubic": {"input_size": (3, 224, 224), "interpolation": "bicubic", "crop_pct": 0.875, **IMAGENET},
    "center-bilinear-256": {"input_size": (3, 256, 256), "interpolation": "bilinear", "crop_pct": 0.95, **HALF},
    "center-nearest": {"input_size": (3, 160, 160), "interpolation": "nearest", "crop_pct": 0.9, **IMAGENET},
    "center-non-square": {"input_size": (3, 224, 288), "interpolation": "bicubic", "crop_pct": 0.9, **IMAGENET},
    "squash": {"input_size": (3, 224, 224), "interpolation": "bicubic", "crop_pct": 1.0, "crop_mode": "squash", **HALF},
    "squash-crop-non-square": {"input_size": (3, 256, 192), "interpolation": "bilinear", "crop_pct": 0.9, "crop_mode": "squash", **IMAGENET},
    "border": {"input_size": (3, 224, 224), "interpolation": "bicubic", "crop_pct": 1.0, "crop_mode": "border", **IMAGENET},
    "border-crop-non-square": {"input_size": (3, 192, 256), "interpolation": "bilinear", "crop_pct": 0.9, "crop_mode": "border", **HALF},
}


@pytest.mark.parametrize("config", DATA_CONFIGS.values(), ids=DATA_CONFIGS.keys())
def test_data_config(config):
    assert_matches(from_timm(config, backend="pil"), create_transform(**config, is_training=False))


MODELS = [
    "resnet50.a1_in1k",  # center, crop_pct 0.95
    "cspdarknet53.ra_in1k",  # center, bilinear, 256 px
    "coat_lite_medium_384.in1k",  # squash
    "vit_base_patch16_sapiens2.fb",  # squash to a non-square 1024x768
    "deepseek_vit_412m.deepseek_v4_flash_vision_exp",  # border, padded with the mean colour
]


@pytest.mark.parametrize("name", MODELS)
def test_model_name_resolves_offline(name):
    pretrained_cfg = timm.models.get_pretrained_cfg(name).to_dict()
    theirs = create_transform(**resolve_data_config(pretrained_cfg=pretrained_cfg), is_training=False)
    assert_matches(from_timm(name, backend="pil"), theirs)


def test_test_size_and_config_objects():
    cfg = timm.models.get_pretrained_cfg("resnet50.a1_in1k")  # test_input_size 288, test_crop_pct 1.0
    theirs = create_transform(**resolve_data_config(pretrained_cfg=cfg.to_dict(), use_test_size=True), is_training=False)
    ours = from_timm(cfg, backend="pil", use_test_size=True)
    assert ours.crop_size == {"height": 288, "width": 288}
    assert_matches(ours, theirs)

    model = timm.create_model("resnet10t", pretrained=False)
    assert_matches(from_timm(model, backend="pil"), create_transform(**resolve_data_config(model=model), is_training=False))


def test_border_pipeline_saves_and_reloads(tmp_path):
    processor = from_timm(DATA_CONFIGS["border-crop-non-square"], backend="pil")
    processor.save_pretrained(tmp_path)
    reloaded = AutoImageProcessor.from_pretrained(tmp_path, backend="pil")
    assert reloaded.to_dict() == processor.to_dict() and reloaded.crop_fill == (128, 128, 128)
    image = IMAGES["wide_rgb_1200x90.jpg"]
    np.testing.assert_array_equal(reloaded(image, return_tensors="np")["pixel_values"], processor(image, return_tensors="np")["pixel_values"])


def test_what_cannot_be_built_raises_our_errors():
    with pytest.raises(ConfigNotFoundError, match="no pretrained config"):
        from_timm("not_a_timm_model.nope")
    with pytest.raises(InvalidArgumentError, match="crop_mode"):
        from_timm({"input_size": (3, 224, 224), "crop_mode": "diagonal"})
    with pytest.raises(InvalidArgumentError, match="crop_border_pixels"):
        from_timm({"input_size": (3, 224, 224), "crop_border_pixels": 2})
    with pytest.raises(InvalidArgumentError, match="resample|interpolation"):
        from_timm({"input_size": (3, 224, 224), "interpolation": "spline"})
