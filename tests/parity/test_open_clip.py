"""from_open_clip reproduces open_clip's own eval preprocess (``image_transform_v2``) on the fixture images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixelprep import from_open_clip
from pixelprep.errors import ConfigNotFoundError, InvalidArgumentError

open_clip = pytest.importorskip("open_clip")
from open_clip.transform import PreprocessCfg, image_transform_v2, merge_preprocess_dict  # noqa: E402

IMAGES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "images"
# Every fixture's RGB pixels, without metadata (see test_transparency_is_composited_on_white for images with alpha).
IMAGES = {path.name: Image.fromarray(np.asarray(Image.open(path).convert("RGB"))) for path in sorted(IMAGES_DIR.iterdir())}
INCEPTION = {"mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)}


def assert_matches(ours, theirs, images=IMAGES) -> None:
    """max |ours - open_clip| <= 1e-4 on every image, same shapes."""
    worst = 0.0
    for name, image in images.items():
        expected = theirs(image).numpy()
        actual = ours(image, return_tensors="np")["pixel_values"][0]
        assert actual.shape == expected.shape, name
        worst = max(worst, float(np.abs(actual - expected).max()))
    assert worst <= 1e-4, worst


def open_clip_eval(cfg: dict):
    return image_transform_v2(PreprocessCfg(**cfg), is_train=False)


PREPROCESS_CONFIGS = {
    "shortest": {"size": 224},
    "shortest-bilinear-240": {"size": 240, "interpolation": "bilinear", **INCEPTION},
    "shortest-non-square": {"size": (224, 320), "interpolation": "bilinear"},  # open_clip resizes bicubic here regardless
    "squash": {"size": 224, "resize_mode": "squash"},
    "squash-non-square": {"size": (256, 192), "resize_mode": "squash", "interpolation": "bilinear"},
    "longest": {"size": 224, "resize_mode": "longest"},
    "longest-fill-non-square": {"size": (192, 256), "resize_mode": "longest", "fill_color": 200, **INCEPTION},
}


@pytest.mark.parametrize("cfg", PREPROCESS_CONFIGS.values(), ids=PREPROCESS_CONFIGS.keys())
def test_preprocess_config(cfg):
    assert_matches(from_open_clip(cfg, backend="pil"), open_clip_eval(cfg))


def test_default_backend_is_the_exact_one_and_torchvision_is_close():
    cfg = PREPROCESS_CONFIGS["longest-fill-non-square"]
    assert from_open_clip(cfg).backend_name == "pil"
    fast, theirs = from_open_clip(cfg, backend="torchvision"), open_clip_eval(cfg)
    for name, image in IMAGES.items():
        levels = np.abs(fast(image, return_tensors="np")["pixel_values"][0] - theirs(image).numpy()) * 0.5 * 255  # std 0.5
        assert levels.max() <= 4 and (levels > 0.5).mean() < 0.05, name


def test_preprocess_cfg_object_and_image_size_alias():
    cfg = PreprocessCfg(size=256, resize_mode="longest", fill_color=30)
    assert_matches(from_open_clip(cfg, backend="pil"), image_transform_v2(cfg, is_train=False))
    assert from_open_clip({"image_size": 256}).crop_size == {"height": 256, "width": 256}


def _tag_transform(name: str, tag: str):
    """The eval transform create_model_and_transforms(name, pretrained=tag) returns, without downloading weights:
    the tag's preprocess config merged over the defaults, sized by the model config (open_clip's own helpers)."""
    merged = merge_preprocess_dict(PreprocessCfg(), open_clip.get_pretrained_cfg(name, tag))
    return open_clip_eval(merge_preprocess_dict(merged, {"size": open_clip.get_model_config(name)["vision_cfg"]["image_size"]}))


@pytest.mark.parametrize(
    "name, tag",
    [
        ("ViT-L-14", "laion2b_s32b_b82k"),  # the seed article's example: mean/std 0.5, shortest edge 224, crop
        ("ViT-B-32", "openai"),
        ("ViT-B-16-SigLIP", "webli"),  # squash, inception mean
        ("ViT-L-14-CLIPA-336", "datacomp1b"),  # squash, bilinear, 336
    ],
)
def test_model_name_with_pretrained_tag(name, tag):
    ours = from_open_clip(name, pretrained=tag, backend="pil")
    assert_matches(ours, _tag_transform(name, tag))


def test_seed_article_pipeline():
    processor = from_open_clip("ViT-L-14", pretrained="laion2b_s32b_b82k")
    assert processor.describe_pipeline() == [
        "convert to RGB",
        "resize shortest edge 224 bicubic",
        "center crop 224x224",
        "rescale 1/255",
        "normalize mean=[0.5, 0.5, 0.5] std=[0.5, 0.5, 0.5]",
    ]


def test_name_resolution_equals_the_factory_config():
    """For a model built by open_clip's factory (on the meta device, no weights), our resolved config is the model's."""
    from pixelprep.integrations import open_clip_preprocess_config

    tag_cfg = open_clip.get_pretrained_cfg("MobileCLIP-S1", "datacompdr")
    force = {f"image_{key}": tag_cfg[key] for key in ("mean", "std", "interpolation", "resize_mode")}
    model, _, preprocess = open_clip.create_model_and_transforms("MobileCLIP-S1", pretrained=None, device="meta", **force)
    factory_cfg = dict(model.visual.preprocess_cfg)
    ours = open_clip_preprocess_config("MobileCLIP-S1", pretrained="datacompdr")
    assert {**ours, "size": tuple(np.broadcast_to(ours["size"], 2))} == {**factory_cfg, "size": tuple(np.broadcast_to(factory_cfg["size"], 2))}
    assert_matches(from_open_clip("MobileCLIP-S1", pretrained="datacompdr", backend="pil"), preprocess)


def _open_clip_config(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    config = {"model_cfg": {"embed_dim": 512, "vision_cfg": {"image_size": 256}}, "preprocess_cfg": {"resize_mode": "longest", **INCEPTION}}
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    return folder


def test_local_dir_and_whole_config_dict(tmp_path):
    folder = _open_clip_config(tmp_path)
    theirs = open_clip_eval({"size": 256, "resize_mode": "longest", **INCEPTION})
    assert_matches(from_open_clip(f"local-dir:{folder}", backend="pil"), theirs)
    assert_matches(from_open_clip(json.loads((folder / "open_clip_config.json").read_text()), backend="pil"), theirs)


def test_hf_hub_name_from_the_offline_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    folder = _open_clip_config(tmp_path)
    repo = tmp_path / "hub" / "models--someone--tiny-clip"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    (repo / "snapshots" / ("0" * 40)).mkdir(parents=True)
    (repo / "snapshots" / ("0" * 40) / "open_clip_config.json").write_text((folder / "open_clip_config.json").read_text())
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    processor = from_open_clip("hf-hub:someone/tiny-clip", backend="pil")
    assert_matches(processor, open_clip_eval({"size": 256, "resize_mode": "longest", **INCEPTION}))
    with pytest.raises(ConfigNotFoundError, match="local cache"):
        from_open_clip("hf-hub:someone/absent-model")


def test_transparency_is_composited_on_white():
    """A documented difference: open_clip converts to RGB after resizing and drops alpha; pixelprep's input layer
    composites transparency on white first (as transformers does). Ours equals open_clip run on the composited image."""
    rgba = Image.open(IMAGES_DIR / "rgba_alpha_radial_256x192.png")
    assert rgba.mode == "RGBA"
    composited = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    ours = from_open_clip({"size": 224}, backend="pil")
    theirs = open_clip_eval({"size": 224})
    assert_matches(ours, theirs, {"rgba": composited})
    assert np.abs(ours(rgba, return_tensors="np")["pixel_values"][0] - theirs(rgba).numpy()).max() > 0.1
    np.testing.assert_array_equal(ours(rgba, return_tensors="np")["pixel_values"], ours(composited, return_tensors="np")["pixel_values"])


def test_what_cannot_be_built_raises_our_errors():
    with pytest.raises(ConfigNotFoundError, match="no model config"):
        from_open_clip("ViT-Nonexistent-99")
    with pytest.raises(ConfigNotFoundError, match="known tags"):
        from_open_clip("ViT-B-32", pretrained="no-such-tag")
    with pytest.raises(InvalidArgumentError, match="resize_mode"):
        from_open_clip({"size": 224, "resize_mode": "crop"})
    with pytest.raises(InvalidArgumentError, match="interpolation"):
        from_open_clip({"size": 224, "interpolation": "lanczos"})
    with pytest.raises(InvalidArgumentError, match="crop_fill|fill"):
        from_open_clip({"size": 224, "resize_mode": "longest", "fill_color": 300})
