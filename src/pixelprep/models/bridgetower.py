"""BridgeTower: ViLT's capped resize (shorter side 288), a square center crop, CLIP statistics, batch padding with a pixel_mask."""

from typing import Any

from ..auto import register_family
from ..errors import InvalidArgumentError
from ..params import normalize_size
from ..processor import CenterCrop
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from .vilt import BatchPaddingProcessor


def normalize_crop_size(value: Any, name: str) -> dict[str, int] | None:
    """BridgeTower's crop size: ``{"shortest_edge": n}`` (a square of n; an int means that too) or ``{"height", "width"}``."""
    size = normalize_size(value, name, default_to_square=False)
    if size is not None and set(size) not in ({"shortest_edge"}, {"height", "width"}):
        raise InvalidArgumentError(f"{name} must give 'shortest_edge' or 'height' and 'width', got {size}")
    return size


@register_family
class BridgeTowerImageProcessor(BatchPaddingProcessor):
    """BridgeTower."""

    transformers_class = "BridgeTowerImageProcessor"
    model_types = ("bridgetower",)
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 288},
        "resample": 3,
        "default_to_square": False,
        "do_center_crop": True,
        "crop_size": {"shortest_edge": 288},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "size_divisor": 32,
        "do_pad": True,
    }
    extra_params = {"crop_size": normalize_crop_size}

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """The capped resize, then a center crop to a ``crop_size["shortest_edge"]`` square."""
        steps: list[Any] = [self.capped_resize(params)] if params.get("do_resize") else []
        if params.get("do_center_crop"):
            crop = params.get("crop_size")
            if crop is None:
                raise InvalidArgumentError("do_center_crop is True but crop_size is not set")
            height, width = (crop["shortest_edge"],) * 2 if "shortest_edge" in crop else (crop["height"], crop["width"])
            steps.append(CenterCrop(height, width))
        return steps
