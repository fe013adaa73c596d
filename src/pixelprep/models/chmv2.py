"""CHMv2 (canopy height from aerial images): DPT's pipeline with its own statistics, no resize by default, and each
image centred on a zero canvas of multiples of 16; depth resized bilinearly with aligned corners.

transformers has only a torchvision class (DPT's code with these defaults); the pil backend runs DPT's steps with
Pillow where a resize is asked for, and the same arithmetic otherwise.
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from .dpt import DPTImageProcessor
from .tipsv2_dpt import depth_results


@register_family
class CHMv2ImageProcessor(DPTImageProcessor):
    """CHMv2 canopy-height estimation and segmentation (transformers has a torchvision class only)."""

    transformers_class = "CHMv2ImageProcessor"
    model_types = ("chmv2",)
    class_aliases = ()
    defaults = {
        "do_resize": False,
        "size": {"height": 384, "width": 384},
        "resample": 3,
        "image_mean": (0.420, 0.411, 0.296),
        "image_std": (0.213, 0.156, 0.143),
        "do_pad": True,
        "size_divisor": 16,
        "ensure_multiple_of": 16,
        "keep_aspect_ratio": True,
    }

    def post_process_depth_estimation(self, outputs: Any, target_sizes: Any = None) -> list[dict[str, Any]]:
        """``[{"predicted_depth": (H, W)}]`` per image (canopy height), bilinearly resized with aligned corners to each target size when given."""
        return depth_results(outputs, target_sizes, "bilinear", True)
