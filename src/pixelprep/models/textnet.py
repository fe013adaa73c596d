"""TextNet: RGB, shortest edge to 640 with each side rounded up to a multiple of 32, ImageNet statistics."""

import functools
from typing import Any

from ..auto import register_family
from ..errors import InvalidArgumentError
from ..processor import ImageProcessor
from .classic_steps import RuleResize, shortest_edge_ceil_multiple_size
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD


@register_family
class TextNetImageProcessor(ImageProcessor):
    """TextNet."""

    transformers_class = "TextNetImageProcessor"
    model_types = ("textnet",)
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 640},
        "resample": 2,
        "default_to_square": False,
        "do_center_crop": False,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
        "do_convert_rgb": True,
        "size_divisor": 32,
    }

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """Shortest edge to ``size["shortest_edge"]``, then each side up to a multiple of ``size_divisor``."""
        size = params["size"]
        if "shortest_edge" not in size or "longest_edge" in size:
            raise InvalidArgumentError(f"TextNet's size must have 'shortest_edge' only, got {size}")
        multiple = params.get("size_divisor") or self.defaults["size_divisor"]
        rule = functools.partial(shortest_edge_ceil_multiple_size, shortest_edge=size["shortest_edge"], multiple=multiple)
        return [RuleResize(rule, params["resample"], f"shortest edge {size['shortest_edge']}, sides up to a multiple of {multiple}")]
