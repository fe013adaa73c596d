"""MobileNetV2: resize the shortest edge to 256, center crop 224, optional segmentation maps (DeepLabV3 heads)."""

from ..auto import register_family
from ..segmentation import SemanticSegmentationProcessor
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD

# MobileNetV1 and V2 preprocess alike: shortest edge 256, crop 224, normalised to [-1, 1].
MOBILENET_DEFAULTS = {
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


@register_family
class MobileNetV2ImageProcessor(SemanticSegmentationProcessor):
    """MobileNetV2 (classification and DeepLabV3 segmentation)."""

    transformers_class = "MobileNetV2ImageProcessor"
    model_types = ("mobilenet_v2",)
    class_aliases = ("MobileNetV2FeatureExtractor",)
    defaults = MOBILENET_DEFAULTS
