"""from_timm and from_open_clip reproduce those libraries' own eval transforms on the fixture photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixelprep import from_open_clip, from_timm
from pixelprep.errors import InvalidArgumentError

timm = pytest.importorskip("timm")
open_clip = pytest.importorskip("open_clip")

ROOT = Path(__file__).resolve().parent.parent.parent
PHOTOS = [p for p in sorted((ROOT / "tests" / "fixtures" / "images").iterdir()) if Image.open(p).mode == "RGB"]


def _compare(ours, transform, paths):
    worst = 0.0
    for path in paths:
        image = Image.open(path).convert("RGB")
        expected = transform(image).numpy()
        actual = ours(image, return_tensors="np")["pixel_values"][0]
        assert actual.shape == expected.shape, path.name
        worst = max(worst, float(np.abs(actual - expected).max()))
    assert worst <= 1e-4, worst


@pytest.mark.parametrize(
    "cfg",
    [
        {"input_size": (3, 224, 224), "interpolation": "bicubic", "crop_pct": 0.875, "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)},
        {"input_size": (3, 256, 256), "interpolation": "bilinear", "crop_pct": 0.95, "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)},
        {"input_size": (3, 224, 224), "interpolation": "bicubic", "crop_pct": 1.0, "crop_mode": "squash", "mean": (0.5,) * 3, "std": (0.5,) * 3},
    ],
)
def test_from_timm_data_config(cfg):
    from timm.data import create_transform

    transform = create_transform(cfg["input_size"], is_training=False, interpolation=cfg["interpolation"], crop_pct=cfg["crop_pct"],
                                 crop_mode=cfg.get("crop_mode"), mean=cfg["mean"], std=cfg["std"])
    _compare(from_timm(cfg, backend="pil"), transform, PHOTOS)


def test_from_timm_model_name_offline():
    from timm.data import create_transform, resolve_data_config

    name = "resnet50.a1_in1k"
    config = resolve_data_config(pretrained_cfg=timm.models.get_pretrained_cfg(name).to_dict())
    _compare(from_timm(name, backend="pil"), create_transform(**config, is_training=False), PHOTOS)


@pytest.mark.parametrize("spec", [{"image_size": 224}, {"image_size": 240, "interpolation": "bilinear", "mean": (0.5,) * 3, "std": (0.5,) * 3}, {"image_size": 224, "resize_mode": "squash"}])
def test_from_open_clip_config(spec):
    from open_clip.transform import PreprocessCfg, image_transform_v2

    cfg = PreprocessCfg(size=spec["image_size"], **{k: v for k, v in spec.items() if k != "image_size"})
    _compare(from_open_clip(spec, backend="pil"), image_transform_v2(cfg, is_train=False), PHOTOS)


def test_from_open_clip_model_name_offline():
    from open_clip.transform import image_transform

    _compare(from_open_clip("ViT-B-32", backend="pil"), image_transform(224, is_train=False), PHOTOS)


def test_unsupported_modes_raise():
    with pytest.raises(InvalidArgumentError, match="border"):
        from_timm({"input_size": (3, 224, 224), "crop_mode": "border"})
    with pytest.raises(InvalidArgumentError, match="longest"):
        from_open_clip({"image_size": 224, "resize_mode": "longest"})
