"""TIPSv2: RGB, a bilinear resize to 448x448 and a rescale to [0, 1], no normalisation."""

from ..auto import register_family
from ..processor import ImageProcessor


@register_family
class Tipsv2ImageProcessor(ImageProcessor):
    """TIPSv2 (transformers has a torchvision class only)."""

    transformers_class = "Tipsv2ImageProcessor"
    model_types = ("tipsv2",)
    defaults = {
        "do_resize": True,
        "size": {"height": 448, "width": 448},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": False,
        "do_convert_rgb": True,
    }
