"""LeViT: resize the shortest edge to 256/224 of the target, then center crop to the target."""

from typing import Any

from .. import geometry
from ..auto import register_family
from ..errors import InvalidArgumentError
from ..processor import ImageProcessor, Resize
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD


@register_family
class LevitImageProcessor(ImageProcessor):
    """LeViT."""

    transformers_class = "LevitImageProcessor"
    model_types = ("levit",)
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 224},
        "resample": 3,
        "default_to_square": False,
        "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
    }

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """A shortest-edge size is enlarged by 256/224 before resizing (the crop then takes the centre)."""
        size = params["size"]
        if "shortest_edge" in size and "longest_edge" not in size:
            size = {"shortest_edge": geometry.scaled_shortest_edge(size["shortest_edge"], 256 / 224)}
        elif "height" not in size:
            raise InvalidArgumentError(f"LeViT's size must have 'shortest_edge' or 'height' and 'width', got {size}")
        return [Resize(size, params["resample"])]

