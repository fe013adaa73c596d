"""PoolFormer: enlarge the target by 1/crop_pct (224 -> 248), resize the shortest edge to it, center crop 224."""

from typing import Any

from .. import geometry
from ..auto import register_family
from ..errors import InvalidArgumentError
from ..params import normalize_positive_float
from ..processor import ImageProcessor, Resize
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD


@register_family
class PoolFormerImageProcessor(ImageProcessor):
    """PoolFormer."""

    transformers_class = "PoolFormerImageProcessor"
    model_types = ("poolformer",)
    class_aliases = ("PoolFormerFeatureExtractor",)
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
        "crop_pct": 0.9,
    }
    extra_params = {"crop_pct": normalize_positive_float}

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """The size divided by ``crop_pct``: a shortest edge, or a square size, becomes a shortest edge; another height/width stays a warp."""
        size, crop_pct = params["size"], params.get("crop_pct") or self.defaults["crop_pct"]
        if "shortest_edge" in size and "longest_edge" not in size:
            target = {"shortest_edge": geometry.crop_pct_shortest_edge(size["shortest_edge"], crop_pct)}
        elif "height" in size and size["height"] == size["width"]:
            target = {"shortest_edge": geometry.crop_pct_shortest_edge(size["height"], crop_pct)}
        elif "height" in size:
            target = {key: geometry.crop_pct_shortest_edge(size[key], crop_pct) for key in ("height", "width")}
        else:
            raise InvalidArgumentError(f"PoolFormer's size must have 'shortest_edge' or 'height' and 'width', got {size}")
        return [Resize(target, params["resample"])]
