"""PI0 (PaliGemma-based robot policy): resize to fit 224x224 with the aspect kept, pad bottom/right to 224x224, 0.5 normalisation.

A declaration on the base processor (transformers' class is its torchvision backend with these defaults);
the pil backend runs the same geometry with Pillow's resize.
"""

from ..auto import register_family
from ..processor import ImageProcessor
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


@register_family
class PI0ImageProcessor(ImageProcessor):
    """PI0: fit within 224x224 (bicubic, aspect kept), zero pad bottom/right to 224x224, normalise to [-1, 1]."""

    transformers_class = "PI0ImageProcessor"
    model_types = ("pi0",)
    defaults = {
        "do_resize": True,
        "size": {"max_height": 224, "max_width": 224},
        "resample": 3,
        "default_to_square": False,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_convert_rgb": True,
        "do_pad": True,
        "pad_size": {"height": 224, "width": 224},
    }
