"""GLPN: each side rounded down to a multiple of 32 (bilinear), rescaled to [0, 1]; depth post-processing."""

import functools
from typing import Any

from ..auto import register_family
from ..errors import InvalidArgumentError
from ..processor import ImageProcessor
from ..segmentation import back, output_field, size_list, to_torch
from .classic_steps import RuleResize, floor_to_multiple_size


@register_family
class GLPNImageProcessor(ImageProcessor):
    """GLPN (monocular depth)."""

    transformers_class = "GLPNImageProcessor"
    model_types = ("glpn",)
    class_aliases = ("GLPNFeatureExtractor",)
    defaults = {
        "do_resize": True,
        "resample": 2,
        "do_rescale": True,
        "size_divisor": 32,
    }

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """Round each side down to a multiple of ``size_divisor`` (``size`` is not used); images smaller than it are an error."""
        multiple = params.get("size_divisor") or self.defaults["size_divisor"]
        rule = functools.partial(floor_to_multiple_size, multiple=multiple)
        return [RuleResize(rule, params["resample"], f"each side down to a multiple of {multiple}")]

    def post_process_depth_estimation(self, outputs: Any, target_sizes: Any = None) -> list[dict[str, Any]]:
        """``[{"predicted_depth": (H, W)}]`` per image, bicubically resized to each target size when given."""
        import torch.nn.functional as F

        depth, numpy_in = to_torch(output_field(outputs, "predicted_depth"))
        sizes = size_list(target_sizes)
        if sizes is not None and len(sizes) != len(depth):
            raise InvalidArgumentError(f"got {len(sizes)} target sizes for a batch of {len(depth)} depth maps")
        results = []
        for index, prediction in enumerate(depth):
            if sizes is not None and sizes[index] is not None:
                prediction = F.interpolate(prediction[None, None], size=sizes[index], mode="bicubic", align_corners=False)[0, 0]
            results.append({"predicted_depth": back(prediction, numpy_in)})
        return results
