"""BiT (also used by DINOv2 checkpoints): CLIP-style resize and crop with CLIP statistics."""

from ..auto import register_family
from ..processor import ImageProcessor
from .clip import CLIP_DEFAULTS


@register_family
class BitImageProcessor(ImageProcessor):
    """BiT, DINOv2, FocalNet, Hiera."""

    transformers_class = "BitImageProcessor"
    model_types = ("bit", "dinov2", "dinov2_with_registers", "focalnet", "hiera", "pixio")
    defaults = CLIP_DEFAULTS
