"""ConvNeXT: below 384 px resize to ``shortest_edge / crop_pct`` and crop; at 384 and above warp to a square."""

from typing import Any

from .. import geometry
from ..auto import register_family
from ..errors import InvalidArgumentError
from ..params import normalize_positive_float
from ..processor import CenterCrop, ImageProcessor, Resize
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD

WARP_THRESHOLD = 384


@register_family
class ConvNextImageProcessor(ImageProcessor):
    """ConvNeXT, ConvNeXT V2, CvT, RegNet, ResNet."""

    transformers_class = "ConvNextImageProcessor"
    model_types = ("convnext", "convnextv2", "cvt", "regnet", "resnet")
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 384},
        "resample": 3,
        "default_to_square": False,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "crop_pct": 224 / 256,
    }
    extra_params = {"crop_pct": normalize_positive_float}

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """Resize (and crop) by ``crop_pct`` below 384 px; warp to a square otherwise."""
        size = params["size"]
        if "shortest_edge" not in size:
            raise InvalidArgumentError(f"ConvNeXT's size must have 'shortest_edge', got {size}")
        edge = size["shortest_edge"]
        if edge >= WARP_THRESHOLD:
            return [Resize({"height": edge, "width": edge}, params["resample"])]
        crop_pct = params.get("crop_pct") or self.defaults["crop_pct"]
        enlarged = geometry.crop_pct_shortest_edge(edge, crop_pct)
        return [Resize({"shortest_edge": enlarged}, params["resample"]), CenterCrop(edge, edge)]
