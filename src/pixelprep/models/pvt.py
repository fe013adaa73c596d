"""PVT and PVTv2: a plain bicubic resize to 224x224 with ImageNet statistics."""

from ..auto import register_family
from ..processor import ImageProcessor
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD


@register_family
class PvtImageProcessor(ImageProcessor):
    """PVT and PVTv2."""

    transformers_class = "PvtImageProcessor"
    model_types = ("pvt", "pvt_v2")
    defaults = {
        "do_resize": True,
        "size": {"height": 224, "width": 224},
        "resample": 3,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
    }
