"""LayoutLMv2 (and LayoutXLM): a 224x224 squash kept as 8-bit levels, channels flipped to BGR (Detectron2's order), plus OCR."""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..backends import Backend
from ..features import BatchFeature
from ..processor import _channels_last
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD
from .layoutlmv3 import OcrProcessor


def reverse_channels(values: Any) -> Any:
    """``(..., C, H, W)`` values (or a list of them) with the channel order reversed: RGB -> BGR."""
    if isinstance(values, list):
        return [reverse_channels(value) for value in values]
    return values[..., list(range(values.shape[-3] - 1, -1, -1)), :, :]


@register_family
class LayoutLMv2ImageProcessor(OcrProcessor):
    """LayoutLMv2 and LayoutXLM: uint8 BGR pixels, no rescale or normalisation (``do_rescale``/``do_normalize`` are ignored, as in transformers)."""

    transformers_class = "LayoutLMv2ImageProcessor"
    model_types = ("layoutlmv2", "layoutxlm")
    class_aliases = ("LayoutLMv2FeatureExtractor", "LayoutXLMImageProcessor")
    defaults = {
        "do_resize": True,
        "size": {"height": 224, "width": 224},
        "resample": 2,
        "rescale_factor": None,
        # Never applied (transformers' LayoutLMv2 neither rescales nor normalises); its 3 values say the model sees
        # RGB, so gray, RGBA, palette and CMYK pages are made RGB (transformers passes 1 and 4 channels through).
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
    }

    def affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        """None: the pixels stay 8-bit levels."""
        return None, None, None

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """The resize, then every channel reversed (RGB -> BGR)."""
        features = super().process_images(images, dict(params, data_format="channels_first"), backend)
        values = reverse_channels(features["pixel_values"])
        features["pixel_values"] = _channels_last(values) if params.get("data_format") == "channels_last" else values
        return features

    def describe_finalize(self, params: dict[str, Any]) -> list[str]:
        """The channel flip, then the OCR when on."""
        return ["reverse the channels RGB -> BGR (8-bit levels, no rescale)"] + super().describe_finalize(params)
