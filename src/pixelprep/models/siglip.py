"""SigLIP: a bicubic resize to a square, normalised to [-1, 1]."""

from ..auto import register_family
from ..processor import ImageProcessor
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


@register_family
class SiglipImageProcessor(ImageProcessor):
    """SigLIP and the models that reuse it (PaliGemma, ColPali, Gemma 3n)."""

    transformers_class = "SiglipImageProcessor"
    model_types = ("siglip", "siglip_vision_model", "colpali", "gemma3n", "paligemma")
    defaults = {
        "do_resize": True,
        "size": {"height": 224, "width": 224},
        "resample": 3,
        "default_to_square": False,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_convert_rgb": True,
    }
