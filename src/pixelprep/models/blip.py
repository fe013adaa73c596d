"""BLIP: a bicubic resize to 384x384 with CLIP statistics."""

from ..auto import register_family
from ..processor import ImageProcessor
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD


@register_family
class BlipImageProcessor(ImageProcessor):
    """BLIP, BLIP-2, InstructBLIP."""

    transformers_class = "BlipImageProcessor"
    model_types = ("blip", "blip-2", "blip_2", "instructblip")
    defaults = {
        "do_resize": True,
        "size": {"height": 384, "width": 384},
        "resample": 3,
        "default_to_square": True,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "do_convert_rgb": True,
    }
