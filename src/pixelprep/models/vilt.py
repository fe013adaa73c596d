"""ViLT: shorter side to 384 with the longer side capped at 639, sides floored to multiples of 32; batches padded with a pixel_mask."""

import functools
from typing import Any

from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..processor import ImageProcessor
from .classic_steps import LONGER_TO_SHORTER, RuleResize, capped_shorter_edge_size
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


class BatchPaddingProcessor(ImageProcessor):
    """Families whose ``size_divisor`` belongs to the resize and whose ``do_pad`` pads to the batch's largest image, always with a ``pixel_mask``."""

    model_input_names = ["pixel_values", "pixel_mask"]

    def capped_resize(self, params: dict[str, Any]) -> RuleResize:
        """The ViLT/BridgeTower resize for the resolved ``params``."""
        size = params["size"]
        if "shortest_edge" not in size:
            raise InvalidArgumentError(f"{type(self).__name__}'s size must have 'shortest_edge', got {size}")
        multiple = params.get("size_divisor")
        rule = functools.partial(capped_shorter_edge_size, shorter=size["shortest_edge"], multiple=multiple)
        longer = int(LONGER_TO_SHORTER * size["shortest_edge"])
        divisible = f", sides down to a multiple of {multiple}" if multiple else ""
        return RuleResize(rule, params["resample"], f"shorter edge {size['shortest_edge']}, longer edge at most {longer}{divisible}")

    def _assemble(self, images: list[Any], params: dict[str, Any], backend: Backend, scale, mean, std) -> BatchFeature:
        # pad_size and size_divisor do not shape the padding here; the mask comes with every padded batch
        padding = dict(params, pad_size=None, size_divisor=None, return_pixel_mask=True)
        return super()._assemble(images, padding, backend, scale, mean, std)

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        """The common lines, with the padding to the batch's largest image."""
        params = self._params if params is None else params
        lines = super().describe_pipeline(dict(params, do_pad=False))
        return lines + (["pad bottom/right to the largest image in the batch (pixel_mask marks the image)"] if params.get("do_pad") else [])


@register_family
class ViltImageProcessor(BatchPaddingProcessor):
    """ViLT."""

    transformers_class = "ViltImageProcessor"
    model_types = ("vilt",)
    class_aliases = ("ViltFeatureExtractor",)
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 384},
        "resample": 3,
        "default_to_square": False,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "size_divisor": 32,
        "do_pad": True,
    }

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """Shorter side to ``size["shortest_edge"]``, longer side capped at 1333/800 of it, sides floored to ``size_divisor``."""
        return [self.capped_resize(params)]
