"""MobileNetV1: resize the shortest edge to 256, center crop 224, normalised to [-1, 1]."""

from ..auto import register_family
from ..processor import ImageProcessor
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


@register_family
class MobileNetV1ImageProcessor(ImageProcessor):
    """MobileNetV1."""

    transformers_class = "MobileNetV1ImageProcessor"
    model_types = ("mobilenet_v1",)
    class_aliases = ("MobileNetV1FeatureExtractor",)
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 256},
        "resample": 2,
        "default_to_square": False,
        "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
    }
