"""DINOv3 (ViT backbones): rescale to [0, 1] first, then a bilinear resize of the float image to 224x224, then ImageNet normalisation."""

from typing import Any

from ..auto import register_family
from ..processor import ImageProcessor
from .classic_steps import RescaleFirst
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

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """Rescale before the geometric steps: the resize runs on floats, so its output is not rounded to 8 bits."""
        rescale = [RescaleFirst(params["rescale_factor"])] if params.get("do_rescale") else []
        return rescale + super().steps(params)

    def affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        """Normalize only: the rescale already ran as the first step."""
        return super().affine_parts(dict(params, do_rescale=False))
