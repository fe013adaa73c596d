"""ViT: a plain resize to 224x224, bilinear, normalised to [-1, 1]."""

from ..auto import register_family
from ..processor import ImageProcessor
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


@register_family
class ViTImageProcessor(ImageProcessor):
    """ViT and the models that reuse its preprocessing (Swin, DINAT, TrOCR, ViT-MAE, ...)."""

    transformers_class = "ViTImageProcessor"
    model_types = ("vit", "vit_hybrid", "clipseg", "dinat", "ijepa", "mgp-str", "swiftformer", "swin", "swinv2", "trocr",
                   "vit_mae", "vit_msn", "nat")
    defaults = {
        "do_resize": True,
        "size": {"height": 224, "width": 224},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
    }
