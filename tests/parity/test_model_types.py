"""Every model type pixelprep resolves uses the family transformers 5.23 maps it to (an error beats a wrong answer)."""

from __future__ import annotations

import pytest
from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

import pixelprep  # noqa: F401 - registers the built-in families
from pixelprep.auto import _BY_MODEL_TYPE

# Model types transformers 5.23 no longer maps, kept because checkpoints still name them: the sub-model
# configs of a mapped type and renamed types. Each maps to the family of the type named beside it.
UNMAPPED_SPELLINGS = {
    "clip_vision_model": "clip",
    "chinese_clip_vision_model": "chinese_clip",
    "siglip_vision_model": "siglip",
    "siglip2_vision_model": "siglip2",
    "sam_vision_model": "sam",
    "dinov2_with_registers": "dinov2",
    "blip_2": "blip-2",
    "rt_detr_v2": "rt_detr",
    "vit_hybrid": "vit",
    "nat": "dinat",
}
RESOLVED = sorted(_BY_MODEL_TYPE)


@pytest.mark.parametrize("model_type", RESOLVED)
def test_family_is_the_one_transformers_maps(model_type: str) -> None:
    """Our family's transformers class is transformers' torchvision class for the model type (or for the type it spells)."""
    family = _BY_MODEL_TYPE[model_type][None]
    mapped_as = model_type if model_type in IMAGE_PROCESSOR_MAPPING_NAMES else UNMAPPED_SPELLINGS.get(model_type)
    assert mapped_as is not None, f"{model_type} is not in transformers' mapping: map it as transformers does or not at all"
    classes = IMAGE_PROCESSOR_MAPPING_NAMES[mapped_as]
    # legacy classes transformers has only on pil (Emu3) are named without a backend suffix
    assert (classes.get("torchvision") or classes["pil"]) == family.transformers_class


def test_donut_swin_resolves_to_donut(tmp_path) -> None:
    """donut-swin (once taken for ViT's) loads Donut's processor, as transformers maps it."""
    (tmp_path / "config.json").write_text('{"model_type": "donut-swin"}')
    (tmp_path / "preprocessor_config.json").write_text("{}")
    assert type(pixelprep.AutoImageProcessor.from_pretrained(tmp_path)) is pixelprep.DonutImageProcessor


def test_every_mapped_model_type_resolves() -> None:
    """Every model type transformers maps to an image processor has a pixelprep family (none left to fall back on)."""
    assert sorted(set(IMAGE_PROCESSOR_MAPPING_NAMES) - set(_BY_MODEL_TYPE)) == []
