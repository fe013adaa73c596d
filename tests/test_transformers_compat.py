"""Drop-in mode: transformers' pipelines and Processor classes running on pixelprep (pixelprep.transformers_compat).

Every test builds its models and tokenizers offline from tiny random configs saved to a temporary folder,
then loads them the way user code does (``pipeline(task, model=folder)``, ``AutoProcessor.from_pretrained``),
once with transformers alone and once patched; results are compared in the same run.
"""

from __future__ import annotations

import copy
import json
import logging
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from PIL import Image
from transformers.image_processing_utils import BaseImageProcessor

import pixelprep
from pixelprep import InvalidArgumentError
from pixelprep.models import __all__ as FAMILY_NAMES
from pixelprep.transformers_compat import as_transformers, is_patched
from transformers_reference import extra_inputs as _extra_inputs
from transformers_reference import reference_class as _reference_class

PHOTOS = ("photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tall_rgb_90x1200.jpg")
LABELS = {0: "cat", 1: "dog", 2: "car"}
# small configs for families whose defaults are slow at test scale; the rule is the same at full size
SMALL_CONFIGS = {
    "SamImageProcessor": {"size": {"longest_edge": 256}, "pad_size": {"height": 256, "width": 256}},
    "Mask2FormerImageProcessor": {"size": {"shortest_edge": 200, "longest_edge": 300}},
    "MaskFormerImageProcessor": {"size": {"shortest_edge": 200, "longest_edge": 300}},
    # ImageGPT needs its colour clusters; 16 seeded ones in its [-1, 1] pixel range
    "ImageGPTImageProcessor": {"clusters": np.random.default_rng(0).uniform(-1, 1, (16, 3)).round(4).tolist(), "size": {"height": 16, "width": 16}},
    # a timm checkpoint's config.json; every setting differs from timm's defaults, so a config that is lost on the way shows
    "TimmWrapperImageProcessor": {
        "architecture": "resnet50", "num_classes": 3,
        "pretrained_cfg": {"input_size": [3, 192, 256], "interpolation": "bilinear", "crop_pct": 0.9, "mean": [0.5] * 3, "std": [0.4] * 3},
    },
}


@pytest.fixture(autouse=True)
def _always_unpatched():
    """Every test starts and ends with transformers as it was."""
    pixelprep.unpatch_transformers()
    yield
    pixelprep.unpatch_transformers()


@pytest.fixture(scope="module")
def photos(fixture_path, load_image) -> list[Image.Image]:
    return [load_image(fixture_path(name)).convert("RGB") for name in PHOTOS]


def _same(a: Any, b: Any) -> bool:
    return torch.equal(torch.as_tensor(a), torch.as_tensor(b))



# --------------------------------------------------------------------------------------- patching


def test_import_does_not_patch_and_unpatch_restores() -> None:
    original = transformers.AutoImageProcessor.__dict__["from_pretrained"]
    script = "import transformers, pixelprep, pixelprep.transformers_compat as c; print(c.is_patched(), 'pixelprep' in repr(transformers.AutoImageProcessor.from_pretrained))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
    pixelprep.patch_transformers()
    pixelprep.patch_transformers()  # twice is harmless
    assert is_patched() and transformers.AutoImageProcessor.__dict__["from_pretrained"] is not original
    pixelprep.unpatch_transformers()
    assert not is_patched() and transformers.AutoImageProcessor.__dict__["from_pretrained"] is original
    pixelprep.unpatch_transformers()  # and so is undoing it twice


def _family_pixelprep_lacks(monkeypatch: pytest.MonkeyPatch) -> type:
    """An image-processor class transformers loads but no pixelprep family reproduces: every class transformers maps has
    one now, so a user's own class under a new name, registered with transformers' AutoImageProcessor (undone after)."""
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING

    from pixelprep.transformers_compat import family_for_transformers_class

    lacking = type("InHouseImageProcessor", (transformers.ConvNextImageProcessor,), {})
    config = type("InHouseConfig", (transformers.PretrainedConfig,), {"model_type": "in_house"})
    monkeypatch.setattr(IMAGE_PROCESSOR_MAPPING, "_extra_content", dict(IMAGE_PROCESSOR_MAPPING._extra_content))
    transformers.AutoImageProcessor.register(config, image_processor_classes={"torchvision": lacking})
    assert family_for_transformers_class(lacking.__name__) is None
    return lacking


def test_patched_auto_falls_back_to_transformers_for_other_families(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    lacking = _family_pixelprep_lacks(monkeypatch)
    transformers.ConvNextImageProcessor().save_pretrained(tmp_path / "ours")
    lacking().save_pretrained(tmp_path / "other")
    pixelprep.patch_transformers()
    with caplog.at_level(logging.INFO, logger="pixelprep.transformers_compat"):
        ours = transformers.AutoImageProcessor.from_pretrained(tmp_path / "ours")
        other = transformers.AutoImageProcessor.from_pretrained(tmp_path / "other")
    assert isinstance(ours, BaseImageProcessor) and ours.pixelprep_processor.__class__ is pixelprep.ConvNextImageProcessor
    assert type(other) is lacking
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert "pixelprep's ConvNextImageProcessor" in lines[0] and f"transformers' {lacking.__name__} (no pixelprep family)" in lines[1]


def _families_and_backends() -> list[tuple[str, str]]:
    """Every (family, backend) transformers has a class for."""
    return [
        (name, backend)
        for name in FAMILY_NAMES
        for backend in ("torchvision", "pil")
        if _reference_class(name, backend)
    ]


def _inputs_for(reference: Any, photos: list[Image.Image]) -> tuple[list[Image.Image], dict[str, Any]]:
    """Two photos of different sizes (the same photo twice where transformers cannot stack its outputs for mixed sizes),
    plus the extra per-image inputs the family's preprocess requires (ViTMatte's trimaps, ViTPose's person boxes)."""
    images = photos[:2]
    try:
        reference(images, return_tensors="pt", **_extra_inputs(reference, images))
    except ValueError as error:
        if "inhomogeneous" not in str(error) and "Unable to convert" not in str(error):
            raise
        images = [photos[0], photos[0].transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return images, _extra_inputs(reference, images)


@pytest.mark.parametrize(("family_name", "backend"), _families_and_backends())
def test_every_family_loads_patched_and_matches_transformers(family_name: str, backend: str, tmp_path: Path, photos) -> None:
    reference_class = _reference_class(family_name, backend)
    config = SMALL_CONFIGS.get(family_name, {})
    if family_name == "TimmWrapperImageProcessor":
        # its save_pretrained writes nothing: a timm checkpoint's config.json (architecture, pretrained_cfg) is the config
        (tmp_path / "config.json").write_text(json.dumps(config))
    else:
        reference_class(**config).save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(tmp_path, backend=backend)
    pixelprep.patch_transformers()
    ours = transformers.AutoImageProcessor.from_pretrained(tmp_path, backend=backend)
    assert isinstance(ours, BaseImageProcessor) and type(ours).__name__ == family_name
    # Emu3's class predates backends (it has no backend attribute): it runs on PIL/NumPy
    assert ours.backend == getattr(theirs, "backend", "pil") == backend
    assert type(ours.pixelprep_processor).__name__ == family_name
    images, extras = _inputs_for(theirs, photos)
    expected, got = theirs(images, return_tensors="pt", **extras), ours(images, return_tensors="pt", **extras)
    if isinstance(expected, torch.Tensor):  # IDEFICS' class returns the pixel values alone, and its Processor reads them so
        expected, got = {"pixel_values": expected}, {"pixel_values": got}
        assert isinstance(got["pixel_values"], torch.Tensor)
    else:
        assert isinstance(got, transformers.BatchFeature)
    assert set(got) == set(expected)
    for key in expected:
        if isinstance(expected[key], list) and all(isinstance(item, str) for item in expected[key]):
            assert got[key] == expected[key], key  # text (OneFormer's task prompts)
            continue
        if isinstance(expected[key], list) and all(isinstance(item, torch.Tensor) for item in expected[key]):
            # per-image tensors of different sizes (UVDoc's original_images): compared one by one
            assert len(got[key]) == len(expected[key]), key
            assert all(torch.allclose(torch.as_tensor(a).double(), b.double(), atol=1e-4) for a, b in zip(got[key], expected[key])), key
            continue
        assert torch.allclose(torch.as_tensor(got[key]).double(), torch.as_tensor(expected[key]).double(), atol=1e-4), key
    # attributes read by code that drives processors: the same values as transformers' class
    assert ours.model_input_names == theirs.model_input_names
    assert ours.rescale_factor == theirs.rescale_factor
    if family_name == "TimmWrapperImageProcessor":  # its class holds timm's data config, not the usual settings
        assert ours.data_config == theirs.data_config and ours.architecture == theirs.architecture
        return
    assert ours.do_resize == theirs.do_resize
    if theirs.size is None:  # families that never resize by a size (GLPN, Swin2SR, ViTMatte)
        assert ours.size is None
    else:
        assert dict(ours.size) == {k: v for k, v in dict(theirs.size).items() if v is not None}


# ------------------------------------------------------------------------------------------ wrapper


def test_wrapper_delegates_and_round_trips(tmp_path: Path, photos) -> None:
    processor = pixelprep.DetrImageProcessor(size={"shortest_edge": 200, "longest_edge": 300}, backend="pil")
    wrapped = as_transformers(processor)
    assert isinstance(wrapped, BaseImageProcessor) and wrapped.pixelprep_processor is processor
    wrapped.do_normalize = False  # writes through to the pixelprep processor
    assert processor.do_normalize is False
    outputs = wrapped(photos[:2], return_tensors="pt", disable_grouping=True)  # transformers-only knobs are accepted
    assert outputs["pixel_values"].shape[0] == 2 and outputs["pixel_mask"].dtype == torch.int64
    assert callable(wrapped.post_process_object_detection)  # family methods come through
    assert wrapped.backend == "pil" and wrapped.disable_grouping is None and wrapped.image_seq_length is None
    assert as_transformers(pixelprep.ViTImageProcessor.from_dict({"image_seq_length": 196})).image_seq_length == 196
    wrapped.save_pretrained(tmp_path)
    reloaded = transformers.AutoImageProcessor.from_pretrained(tmp_path)  # transformers reads what the wrapper saved
    assert type(reloaded) is transformers.DetrImageProcessor and reloaded.do_normalize is False
    rebuilt = type(wrapped)(**wrapped.to_dict())  # transformers builds sub-processors from their config dicts
    assert rebuilt.to_dict() == wrapped.to_dict() and rebuilt.backend in ("pil", "torchvision")
    for clone in (copy.deepcopy(wrapped), pickle.loads(pickle.dumps(wrapped))):
        assert type(clone) is type(wrapped) and clone.pixelprep_processor is not processor
        assert clone.to_dict() == wrapped.to_dict()
    with pytest.raises(InvalidArgumentError, match="pixelprep ImageProcessor"):
        as_transformers(transformers.DetrImageProcessor())


def test_wrapper_returns_detr_labels_as_transformers_batch_features(photos) -> None:
    wrapped = as_transformers(pixelprep.DetrImageProcessor(size={"shortest_edge": 200, "longest_edge": 300}))
    annotation = {"image_id": 1, "annotations": [{"bbox": [10, 20, 100, 50], "category_id": 3, "area": 5000, "iscrowd": 0}]}
    outputs = wrapped(photos[0], annotations=annotation, return_tensors="pt")
    assert isinstance(outputs["labels"][0], transformers.BatchFeature)
    assert outputs["labels"][0]["class_labels"].tolist() == [3]


# ---------------------------------------------------------------------------------------- pipelines


def _classifier(folder: Path) -> Path:
    torch.manual_seed(0)
    config = transformers.ViTConfig(
        image_size=224, patch_size=32, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37,
        num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()},
    )
    transformers.ViTForImageClassification(config).save_pretrained(folder)
    transformers.ViTImageProcessor().save_pretrained(folder)
    return folder


def _detector(folder: Path) -> Path:
    torch.manual_seed(0)
    backbone = transformers.ResNetConfig(embedding_size=8, hidden_sizes=[8, 8, 8, 8], depths=[1, 1, 1, 1], out_features=["stage4"])
    config = transformers.DetrConfig(
        use_timm_backbone=False, backbone_config=backbone, use_pretrained_backbone=False, d_model=16, encoder_layers=1,
        decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=16, decoder_ffn_dim=16,
        num_queries=8, num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()},
    )
    transformers.DetrForObjectDetection(config).save_pretrained(folder)
    transformers.DetrImageProcessor(size={"shortest_edge": 320, "longest_edge": 480}).save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_image_classification_pipeline_same_patched(tmp_path: Path, photos) -> None:
    folder = _classifier(tmp_path)
    plain = transformers.pipeline("image-classification", model=str(folder))
    expected = plain(photos)
    pixelprep.patch_transformers()
    patched = transformers.pipeline("image-classification", model=str(folder))
    assert type(patched.image_processor).__module__ == "pixelprep.transformers_compat"
    assert patched(photos) == expected


@pytest.mark.slow
def test_object_detection_pipeline_same_patched(tmp_path: Path, photos) -> None:
    folder = _detector(tmp_path)
    plain = transformers.pipeline("object-detection", model=str(folder), threshold=0.0)
    expected = plain(photos)
    assert sum(len(found) for found in expected) > 0
    pixelprep.patch_transformers()
    patched = transformers.pipeline("object-detection", model=str(folder), threshold=0.0)
    assert type(patched.image_processor).__module__ == "pixelprep.transformers_compat"
    got = patched(photos)
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected):
        assert [d["label"] for d in mine] == [d["label"] for d in theirs] and [d["box"] for d in mine] == [d["box"] for d in theirs]
        assert np.allclose([d["score"] for d in mine], [d["score"] for d in theirs], atol=1e-5)


def _clip_processor_folder(folder: Path) -> Path:
    """A CLIPProcessor saved offline: CLIP's image processor and a word-level tokenizer made here."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["<|startoftext|>", "<|endoftext|>", "a", "photo", "of", "cat", "dog"]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<|endoftext|>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<|startoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    transformers.CLIPProcessor(image_processor=transformers.CLIPImageProcessor(), tokenizer=fast).save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_clip_processor_with_tokenizer_same_patched(tmp_path: Path, photos) -> None:
    folder = _clip_processor_folder(tmp_path)
    texts = ["a photo of a cat", "a dog", "a cat"]
    plain = transformers.AutoProcessor.from_pretrained(folder)
    expected = plain(text=texts, images=photos, return_tensors="pt", padding=True)
    pixelprep.patch_transformers()
    patched = transformers.AutoProcessor.from_pretrained(folder)
    assert type(patched) is transformers.CLIPProcessor and isinstance(patched.image_processor, BaseImageProcessor)
    assert type(patched.image_processor).__module__ == "pixelprep.transformers_compat"
    got = patched(text=texts, images=photos, return_tensors="pt", padding=True)
    assert set(got) == set(expected) == {"input_ids", "attention_mask", "pixel_values"}
    for key in expected:
        assert _same(got[key], expected[key]), key
    # the processor saves and reloads through transformers alone
    patched.save_pretrained(tmp_path / "saved")
    pixelprep.unpatch_transformers()
    reloaded = transformers.AutoProcessor.from_pretrained(tmp_path / "saved")
    assert type(reloaded.image_processor) is transformers.CLIPImageProcessor
    assert _same(reloaded(images=photos, return_tensors="pt")["pixel_values"], expected["pixel_values"])


@pytest.mark.parametrize("backend", ["torchvision", "pil"])
def test_patched_multiview_family_takes_nested_inputs_as_transformers(backend: str, tmp_path: Path, photos) -> None:
    """Qwen2-VL through the drop-in: nested per-sample images, per-call pixel budgets, image_grid_thw and patch counts."""
    reference_class = getattr(transformers, "Qwen2VLImageProcessor" + ("Pil" if backend == "pil" else ""))
    reference_class(size={"shortest_edge": 28 * 28 * 4, "longest_edge": 28 * 28 * 64}).save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(tmp_path, backend=backend)
    pixelprep.patch_transformers()
    ours = transformers.AutoImageProcessor.from_pretrained(tmp_path, backend=backend)
    assert type(ours.pixelprep_processor) is pixelprep.Qwen2VLImageProcessor and ours.backend == backend
    nested = [[photos[0], photos[2]], [photos[1]]]
    for kwargs in ({}, {"size": {"shortest_edge": 28 * 28 * 4, "longest_edge": 28 * 28 * 16}}):  # transformers' spelling of a per-call budget
        expected, got = theirs(nested, return_tensors="pt", **kwargs), ours(nested, return_tensors="pt", **kwargs)
        assert isinstance(got, transformers.BatchFeature) and set(got) == set(expected) == {"pixel_values", "image_grid_thw"}
        assert torch.equal(got["image_grid_thw"], expected["image_grid_thw"])
        assert torch.allclose(got["pixel_values"].double(), expected["pixel_values"].double(), atol=1e-4)
    for height, width in ((2200, 1700), (90, 1200), (28, 28)):
        assert ours.get_number_of_image_patches(height, width, {}) == theirs.get_number_of_image_patches(height, width, {})
        budget = {"max_pixels": 28 * 28 * 16}
        assert ours.get_number_of_image_patches(height, width, budget) == theirs.get_number_of_image_patches(height, width, budget)
    assert ours.model_input_names == theirs.model_input_names
    assert dict(ours.size) == {k: v for k, v in dict(theirs.size).items() if v is not None}
    assert (ours.patch_size, ours.merge_size, ours.temporal_patch_size) == (theirs.patch_size, theirs.merge_size, theirs.temporal_patch_size)
