"""SegFormer (and UperNet): resize to 512x512, ImageNet normalisation, optional segmentation maps."""

from ..auto import register_family
from ..segmentation import SemanticSegmentationProcessor
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD


@register_family
class SegformerImageProcessor(SemanticSegmentationProcessor):
    """SegFormer and UperNet."""

    transformers_class = "SegformerImageProcessor"
    model_types = ("segformer", "upernet")
    class_aliases = ("SegformerFeatureExtractor",)
    defaults = {
        "do_resize": True,
        "size": {"height": 512, "width": 512},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
    }
