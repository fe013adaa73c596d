"""EfficientNet (and ALIGN): warp to 346x346, optional offset rescale to [-1, 1], and a second division by std for classification."""

from typing import Any

from ..auto import register_family
from ..params import normalize_bool
from ..processor import ImageProcessor
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


@register_family
class EfficientNetImageProcessor(ImageProcessor):
    """EfficientNet and ALIGN."""

    transformers_class = "EfficientNetImageProcessor"
    model_types = ("efficientnet", "align")
    defaults = {
        "do_resize": True,
        "size": {"height": 346, "width": 346},
        "resample": 3,
        "do_center_crop": False,
        "crop_size": {"height": 289, "width": 289},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "rescale_offset": False,
        "include_top": True,
    }
    extra_params = {"rescale_offset": normalize_bool, "include_top": normalize_bool}

    def affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        """The common map, folded into one affine: ``rescale_offset`` subtracts 1 after rescaling, ``include_top`` divides by std again.

        (x * scale - 1 - mean) / std / std is the same map as (x * scale - (mean + 1)) / std**2, so one
        rescale+normalize pass reproduces transformers' three to float32 rounding.
        """
        scale, mean, std = super().affine_parts(params)
        if params.get("rescale_offset") and scale is not None:
            mean = (1.0,) if mean is None else tuple(m + 1.0 for m in mean)
            std = (1.0,) if std is None else std
        if params.get("include_top"):
            top_std = params.get("image_std") or self.defaults["image_std"]
            if std is None:
                mean, std = (0.0,), top_std
            else:
                std = tuple(a * b for a, b in zip(*_broadcast(std, top_std)))
        return scale, mean, std


def _broadcast(first: tuple[float, ...], second: tuple[float, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Two per-channel tuples at a common length (a 1-value tuple repeats)."""
    length = max(len(first), len(second))
    return tuple(first) * (length // len(first)), tuple(second) * (length // len(second))
