"""Perceiver: center crop a square of size/crop_size (224/256) of the shorter side first, then resize to 224x224."""

from dataclasses import dataclass
from typing import Any

from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError, InvalidImageError
from ..processor import CenterCrop, ImageProcessor, Resize
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD


@dataclass(frozen=True)
class ShorterSideFractionCrop:
    """Center crop ``int(height_fraction * s)`` x ``int(width_fraction * s)``, s the image's shorter side."""

    height_fraction: float
    width_fraction: float

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        shorter = min(height, width)
        crop_height, crop_width = int(self.height_fraction * shorter), int(self.width_fraction * shorter)
        if min(crop_height, crop_width) < 1:
            raise InvalidImageError(f"a {height}x{width} image is too small: its center crop would be {crop_height}x{crop_width}")
        return CenterCrop(crop_height, crop_width).apply(backend, image)

    def describe(self) -> str:
        if self.height_fraction == self.width_fraction:
            return f"center crop a square of {self.height_fraction:.4g} x the shorter side"
        return f"center crop {self.height_fraction:.4g} x {self.width_fraction:.4g} times the shorter side"


@register_family
class PerceiverImageProcessor(ImageProcessor):
    """Perceiver (image classification)."""

    transformers_class = "PerceiverImageProcessor"
    model_types = ("perceiver",)
    class_aliases = ("PerceiverFeatureExtractor",)
    defaults = {
        "do_resize": True,
        "size": {"height": 224, "width": 224},
        "resample": 3,
        "do_center_crop": True,
        "crop_size": {"height": 256, "width": 256},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
    }

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """The crop comes before the resize, and its size is a fraction of each image's shorter side."""
        size, crop = params.get("size"), params.get("crop_size")
        steps: list[Any] = []
        if params.get("do_center_crop"):
            if size is None or "height" not in size or crop is None:
                raise InvalidArgumentError(f"Perceiver's center crop needs size and crop_size with 'height' and 'width', got size={size}, crop_size={crop}")
            steps.append(ShorterSideFractionCrop(size["height"] / crop["height"], size["width"] / crop["width"]))
        if params.get("do_resize"):
            if size is None:
                raise InvalidArgumentError("do_resize is True but size is not set")
            steps.append(Resize(size, params["resample"]))
        return steps
