"""TimmWrapper against transformers 5.23's TimmWrapperImageProcessor (pil only: timm's eval transform on PIL images).

Built from timm's own pretrained configs (center, squash and border crops, non-square), on every fixture
image and mixed batches, max |diff| <= 1e-5; loaded from a timm checkpoint's config.json by both
AutoImageProcessors; our torchvision backend stays within torch's resize rounding of it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError

timm = pytest.importorskip("timm")

ATOL = 1e-5
MODELS = {
    "resnet50.a1_in1k": None,  # center crop, crop_pct 0.95
    "coat_lite_medium_384.in1k": None,  # squash
    "vit_base_patch16_sapiens2.fb": None,  # squash to a non-square 1024x768
    "deepseek_vit_412m.deepseek_v4_flash_vision_exp": None,  # border, padded with the mean colour
}
CONFIGS = {name: timm.models.get_pretrained_cfg(name).to_dict() for name in MODELS}
CONFIGS["center-non-square-bilinear"] = {"input_size": [3, 192, 256], "interpolation": "bilinear", "crop_pct": 0.9, "mean": [0.5] * 3, "std": [0.5] * 3}


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_fixture_matches(name: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    ours = pixelprep.TimmWrapperImageProcessor(CONFIGS[name], architecture=name.split(".")[0])
    theirs = transformers.TimmWrapperImageProcessor(CONFIGS[name], architecture=name.split(".")[0])
    expected = to_numpy(theirs(_reference(load_image(image_path), to_eight_bit))["pixel_values"])
    got = ours(str(image_path), return_tensors="np")["pixel_values"]
    compare(got, expected, atol=ATOL, what=f"TimmWrapper {name} {image_path.name}")


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_mixed_batch_and_torchvision_backend(name: str, fixture_path, load_image, compare, to_numpy) -> None:
    """A batch of several sizes and modes equals transformers; the torchvision backend stays within resize rounding."""
    images = [convert_to_rgb(load_image(fixture_path(f))) for f in ("photo_rgb_640x427.jpg", "gray_l_257x257.jpg", "tall_rgb_90x1200.jpg")]
    expected = to_numpy(transformers.TimmWrapperImageProcessor(CONFIGS[name])(images)["pixel_values"])
    got = pixelprep.TimmWrapperImageProcessor(CONFIGS[name])(images, return_tensors="pt")["pixel_values"]
    compare(got, expected, atol=ATOL, what=f"TimmWrapper {name} batch")
    on_torch = pixelprep.TimmWrapperImageProcessor(CONFIGS[name], backend="torchvision")(images, return_tensors="np")["pixel_values"]
    assert np.mean(np.abs(on_torch - expected) > 1e-4) < 0.05
    compare(on_torch, expected, atol=6 / 255 / 0.2)


def test_data_config_is_timms(tmp_path) -> None:
    for config in CONFIGS.values():
        theirs = transformers.TimmWrapperImageProcessor(config)
        assert pixelprep.TimmWrapperImageProcessor(config).data_config == theirs.data_config
        # transformers' to_dict keeps only the resolved data_config (what the drop-in mode builds from): the same transform
        rebuilt = pixelprep.TimmWrapperImageProcessor.from_dict(theirs.to_dict())
        assert rebuilt.data_config == theirs.data_config and "data_config" not in rebuilt.to_dict()


def test_timm_checkpoint_folder_loads_in_both(tmp_path, fixture_path, load_image, compare, to_numpy) -> None:
    """A timm checkpoint ships only config.json (architecture, pretrained_cfg, no model_type): both loaders read it."""
    checkpoint = {"architecture": "resnet50", "num_classes": 1000, "num_features": 2048, "global_pool": "avg", "pretrained_cfg": CONFIGS["resnet50.a1_in1k"]}
    (tmp_path / "config.json").write_text(json.dumps(checkpoint))
    theirs = transformers.AutoImageProcessor.from_pretrained(str(tmp_path))
    ours = pixelprep.AutoImageProcessor.from_pretrained(tmp_path)
    assert type(theirs).__name__ == type(ours).__name__ == "TimmWrapperImageProcessor"
    assert ours.architecture == "resnet50" and ours.backend_name == "pil"
    image = load_image(fixture_path("photo_rgb_333x517.jpg"))
    compare(ours(image, return_tensors="np")["pixel_values"], to_numpy(theirs(image)["pixel_values"]), atol=ATOL)


def test_wrapped_model_config_and_our_saved_config_load(tmp_path) -> None:
    """transformers' saved TimmWrapper model config (model_type timm_wrapper) loads; ours round-trips through save_pretrained."""
    (tmp_path / "wrapped").mkdir()
    config = {"model_type": "timm_wrapper", "architecture": "vit_base_patch16_sapiens2", "pretrained_cfg": CONFIGS["vit_base_patch16_sapiens2.fb"], "do_pooling": True}
    (tmp_path / "wrapped" / "config.json").write_text(json.dumps(config))
    loaded = pixelprep.AutoImageProcessor.from_pretrained(tmp_path / "wrapped")
    assert type(loaded) is pixelprep.TimmWrapperImageProcessor and loaded.crop_size == {"height": 1024, "width": 768}
    loaded.save_pretrained(tmp_path / "ours")
    again = pixelprep.AutoImageProcessor.from_pretrained(tmp_path / "ours")
    assert again.to_dict() == loaded.to_dict()


def test_model_type_and_class_names_resolve(tmp_path) -> None:
    for name in ("TimmWrapperImageProcessor", "TimmWrapperImageProcessorFast", "TimmWrapperImageProcessorPil"):
        assert type(pixelprep.AutoImageProcessor.from_config({"image_processor_type": name})) is pixelprep.TimmWrapperImageProcessor


@pytest.mark.parametrize(("kwargs", "message"), [({"pretrained_cfg": "resnet50"}, "pretrained_cfg must be a dict"), ({"pretrained_cfg": {"crop_mode": "zoom"}}, "crop_mode"), ({"architecture": 3}, "architecture")])
def test_bad_settings_are_our_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        pixelprep.TimmWrapperImageProcessor(**kwargs)
