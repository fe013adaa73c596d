"""DeiT: resize to 256x256, center crop 224x224."""

from ..auto import register_family
from ..processor import ImageProcessor
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


@register_family
class DeiTImageProcessor(ImageProcessor):
    """DeiT."""

    transformers_class = "DeiTImageProcessor"
    model_types = ("deit",)
    defaults = {
        "do_resize": True,
        "size": {"height": 256, "width": 256},
        "resample": 3,
        "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
    }
