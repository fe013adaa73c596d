"""MobileNetV1: resize the shortest edge to 256, center crop 224, normalised to [-1, 1]."""

from ..auto import register_family
from ..processor import ImageProcessor
from .mobilenet_v2 import MOBILENET_DEFAULTS


@register_family
class MobileNetV1ImageProcessor(ImageProcessor):
    """MobileNetV1."""

    transformers_class = "MobileNetV1ImageProcessor"
    model_types = ("mobilenet_v1",)
    class_aliases = ("MobileNetV1FeatureExtractor",)
    defaults = MOBILENET_DEFAULTS
