"""MobileViT (v1 and v2): resize the shortest edge to 224, center crop 256, rescale, channels flipped to BGR; optional segmentation maps."""

from typing import Any

from ..auto import register_family
from ..backends import Backend
from ..features import BatchFeature
from ..params import normalize_bool
from ..processor import _channels_last
from ..segmentation import SemanticSegmentationProcessor
from .classic_steps import flip_first_three_channels
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


@register_family
class MobileViTImageProcessor(SemanticSegmentationProcessor):
    """MobileViT and MobileViTV2 (classification and DeepLabV3 segmentation)."""

    transformers_class = "MobileViTImageProcessor"
    model_types = ("mobilevit", "mobilevitv2")
    class_aliases = ("MobileViTFeatureExtractor",)
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 224},
        "resample": 3,
        "default_to_square": False,
        "do_center_crop": True,
        "crop_size": {"height": 256, "width": 256},
        "do_rescale": True,
        # The mean is never applied (transformers' MobileViT does not normalize); its 3 values say the model sees RGB.
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_flip_channel_order": True,
    }
    extra_params = {"do_flip_channel_order": normalize_bool}

    def affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        """Rescale only: transformers' MobileViT ignores ``do_normalize``."""
        scale, _, _ = super().affine_parts(dict(params, do_normalize=False))
        return scale, None, None

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """The common pipeline, then RGB -> BGR (channels 0-2; gray images, made RGB or left 1-channel, are their own BGR)."""
        if not params.get("do_flip_channel_order"):
            return super().process_images(images, params, backend)
        features = super().process_images(images, dict(params, data_format="channels_first"), backend)
        values = flip_first_three_channels(features["pixel_values"])
        features["pixel_values"] = _channels_last(values) if params.get("data_format") == "channels_last" else values
        return features

    def flip_channel_order(self, images: Any) -> Any:
        """``images`` (CHW or a batch, channels first) with channels 0-2 reversed (RGB <-> BGR), as transformers' ``flip_channel_order``."""
        return flip_first_three_channels(images)

    def describe_finalize(self, params: dict[str, Any]) -> list[str]:
        """The channel flip, when on."""
        return ["flip channels RGB -> BGR"] if params.get("do_flip_channel_order") else []
