"""PP-LCNet (document orientation, table classification): shorter side to ``resize_short`` (rounded, sides up to ``size_divisor``), center crop, BGR."""

from __future__ import annotations

import functools
import math
from typing import Any

from .. import geometry
from ..auto import register_family
from ..backends import Backend
from ..features import BatchFeature
from ..params import _positive_int
from ..processor import ImageProcessor
from .classic_steps import RuleResize, flip_first_three_channels


def rounded_short_side_size(height: int, width: int, short_side: int, size_divisor: int | None) -> geometry.Size:
    """Scale so the shorter side is ``short_side``, each side rounded (half to even, as Paddle), then up to a multiple of ``size_divisor``."""
    scale = short_side / min(height, width)
    new_height, new_width = round(height * scale), round(width * scale)
    if size_divisor:
        new_height, new_width = math.ceil(new_height / size_divisor) * size_divisor, math.ceil(new_width / size_divisor) * size_divisor
    return geometry.check_output_size(new_height, new_width, f"resizing a {height}x{width} image gives an image")


@register_family
class PPLCNetImageProcessor(ImageProcessor):
    """PP-LCNet classifiers (document image orientation, table classification)."""

    transformers_class = "PPLCNetImageProcessor"
    model_types = ("pp_lcnet",)
    defaults = {
        "do_resize": True,
        "size": {"height": 256, "width": 256},  # kept for configs; resize_short decides the size
        "resample": 2,
        "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": (0.406, 0.456, 0.485),
        "image_std": (0.225, 0.224, 0.229),
        "resize_short": 256,
        "size_divisor": 1,
    }
    extra_params = {"resize_short": _positive_int}

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """Shorter side to ``resize_short``, sides rounded, then up to a multiple of ``size_divisor``."""
        short, divisor = params["resize_short"], params.get("size_divisor")
        rule = functools.partial(rounded_short_side_size, short_side=short, size_divisor=divisor)
        return [RuleResize(rule, params["resample"], f"shorter side to {short} (rounded), sides up to a multiple of {divisor or 1}")]

    def get_image_size(self, image: Any, target_short_edge: int, size_divisor: int | None) -> dict[str, int]:
        """{"height", "width"} a CHW image is resized to, as transformers' ``get_image_size``."""
        height, width = rounded_short_side_size(int(image.shape[-2]), int(image.shape[-1]), _positive_int(target_short_edge, "target_short_edge"), size_divisor)
        return {"height": height, "width": width}

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """Channels reversed to BGR after normalize, then converted to ``return_tensors``."""
        features["pixel_values"] = flip_first_three_channels(features["pixel_values"])
        return super().finalize(features, params, backend)

    def describe_finalize(self, params: dict[str, Any]) -> list[str]:
        return ["RGB to BGR"]
