"""TIPSv2-DPT (dense prediction heads on TIPSv2): TIPSv2's pipeline (RGB, bilinear 448x448, rescale, no normalisation),
with depth, surface-normal and semantic-segmentation post-processing.

transformers has only a torchvision class; the pil backend runs TIPSv2's steps with Pillow (see TIPSv2).
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..errors import InvalidArgumentError
from ..segmentation import back, output_field, semantic_from_logits, size_list, to_torch
from .tipsv2 import Tipsv2ImageProcessor


def resized_maps(maps: Any, target_sizes: Any, what: str, mode: str, align_corners: bool) -> list[Any]:
    """Each ``(C, H, W)`` map of a batch (torch) resized with ``interpolate(mode, align_corners)`` to its target size
    when there is one, else as it is; the target sizes are checked against the batch."""
    import torch.nn.functional as F

    sizes = size_list(target_sizes)
    if sizes is not None and len(sizes) != len(maps):
        raise InvalidArgumentError(f"got {len(sizes)} target sizes for a batch of {len(maps)} {what}")
    results = []
    for index, item in enumerate(maps):
        if sizes is not None and sizes[index] is not None:
            item = F.interpolate(item[None], size=sizes[index], mode=mode, align_corners=align_corners)[0]
        results.append(item)
    return results


def depth_results(outputs: Any, target_sizes: Any, mode: str, align_corners: bool) -> list[dict[str, Any]]:
    """``[{"predicted_depth": ...}]``: each (H, W) depth map, resized to its target size (then squeezed, as transformers does)."""
    depth, numpy_in = to_torch(output_field(outputs, "predicted_depth"))
    if depth.ndim != 3:
        raise InvalidArgumentError(f"predicted_depth must be (batch, height, width) depth maps, got shape {tuple(depth.shape)}")
    sizes = size_list(target_sizes)
    resized = resized_maps(depth[:, None], sizes, "depth maps", mode, align_corners)
    return [
        {"predicted_depth": back(item.squeeze() if sizes is not None and sizes[index] is not None else item[0], numpy_in)}
        for index, item in enumerate(resized)
    ]


@register_family
class Tipsv2DptImageProcessor(Tipsv2ImageProcessor):
    """TIPSv2-DPT: depth, surface normals and semantic segmentation (transformers has a torchvision class only)."""

    transformers_class = "Tipsv2DptImageProcessor"
    model_types = ("tipsv2_dpt",)

    def post_process_depth_estimation(self, outputs: Any, target_sizes: Any = None) -> list[dict[str, Any]]:
        """``[{"predicted_depth": (H, W)}]`` per image, bilinearly resized (corners not aligned) to each target size when given."""
        return depth_results(outputs, target_sizes, "bilinear", False)

    def post_process_normal_estimation(self, outputs: Any, target_sizes: Any = None) -> list[dict[str, Any]]:
        """``[{"normals": (3, H, W)}]`` per image: unit vectors (L2 over the channels), then bilinearly resized to each target size."""
        import torch.nn.functional as F

        normals, numpy_in = to_torch(output_field(outputs, "normals"))
        if normals.ndim != 4:
            raise InvalidArgumentError(f"normals must be (batch, 3, height, width) maps, got shape {tuple(normals.shape)}")
        unit = F.normalize(normals, p=2, dim=1)
        return [{"normals": back(item, numpy_in)} for item in resized_maps(unit, target_sizes, "normal maps", "bilinear", False)]

    def post_process_semantic_segmentation(self, outputs: Any, target_sizes: Any = None, return_segmentation_scores: bool = False) -> list[Any]:
        """Per-pixel class ids (argmax of ``segmentation_logits``, or ``logits``, bilinearly resized to each target size first)."""
        has_dense = (isinstance(outputs, dict) and "segmentation_logits" in outputs) or getattr(outputs, "segmentation_logits", None) is not None
        logits = output_field(outputs, "segmentation_logits" if has_dense else "logits")
        return semantic_from_logits(logits, target_sizes, return_segmentation_scores)
