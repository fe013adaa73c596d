"""Chameleon: LANCZOS resize and crop to 512, scaled to about [-1, 1] (pil backend by default)."""

from ..auto import register_family
from ..processor import ImageProcessor


@register_family
class ChameleonImageProcessor(ImageProcessor):
    """Chameleon. Its LANCZOS filter makes ``pil`` the default backend (see ``ImageProcessor._backend_for``)."""

    transformers_class = "ChameleonImageProcessor"
    model_types = ("chameleon",)
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 512},
        "resample": 1,
        "default_to_square": False,
        "do_center_crop": True,
        "crop_size": {"height": 512, "width": 512},
        "do_rescale": True,
        "rescale_factor": 0.0078,
        "do_normalize": True,
        "image_mean": (1.0, 1.0, 1.0),
        "image_std": (1.0, 1.0, 1.0),
        "do_convert_rgb": True,
    }
