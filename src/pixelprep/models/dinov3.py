"""DINOv3 (ViT backbones): a bilinear resize to 224x224 computed on floats (transformers rescales first), then ImageNet normalisation."""

from typing import Any

from ..auto import register_family
from ..processor import ImageProcessor
from .classic_steps import FloatResize
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD


@register_family
class DINOv3ViTImageProcessor(ImageProcessor):
    """DINOv3 ViT (transformers has a torchvision class only; DINOv3 ConvNeXt checkpoints name this class in their configs)."""

    transformers_class = "DINOv3ViTImageProcessor"
    model_types = ("dinov3_vit",)
    defaults = {
        "do_resize": True,
        "size": {"height": 224, "width": 224},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
    }

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """With ``do_rescale`` the resize runs on floats: transformers resizes the rescaled image, whose values are not rounded to 8 bits."""
        steps = super().resize_steps(params)
        return [FloatResize(step.size, step.resample) for step in steps] if params.get("do_rescale") else steps
