"""SAM3 (and SAM3 lite-text, tracker and video): SAM2's image processor at 1008x1008 with 0.5 normalisation;
semantic, detection and instance post-processing of the concept-segmentation outputs.
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..postprocess import model_outputs, scale_boxes
from ..segmentation import output_field
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD
from .sam2 import Sam2ImageProcessor


@register_family
class Sam3ImageProcessor(Sam2ImageProcessor):
    """SAM3, SAM3 lite-text, SAM3 tracker and SAM3 video."""

    transformers_class = "Sam3ImageProcessor"
    model_types = ("sam3", "sam3_lite_text", "sam3_tracker", "sam3_tracker_video", "sam3_video")
    defaults = {
        "size": {"height": 1008, "width": 1008},
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "mask_size": {"height": 288, "width": 288},
    }

    def post_process_semantic_segmentation(
        self, outputs: Any, target_sizes: Any = None, threshold: float = 0.5, return_segmentation_scores: bool = False
    ) -> list[Any]:
        """Per image, the (height, width) map of 1 where the sigmoid of ``semantic_seg`` is above ``threshold`` (resized bilinearly first)."""
        import torch.nn.functional as F

        probabilities = _tensor(output_field(outputs, "semantic_seg"), "semantic_seg").sigmoid()
        sizes = _checked_sizes(target_sizes, len(probabilities))
        results = []
        for index, scores in enumerate(probabilities):
            if sizes is not None:
                scores = F.interpolate(scores[None], size=sizes[index], mode="bilinear", align_corners=False)[0]
            segmentation = (scores[0] > threshold).long()
            results.append(BatchFeature({"segmentation": segmentation, "segmentation_scores": scores}) if return_segmentation_scores else segmentation)
        return results

    def post_process_object_detection(self, outputs: Any, threshold: float = 0.3, target_sizes: Any = None) -> list[dict[str, Any]]:
        """Per image, the ``scores`` above ``threshold`` (query sigmoid x presence sigmoid) and their corner ``boxes`` (in pixels with ``target_sizes``)."""
        scores, boxes = self._scored_boxes(outputs, target_sizes)
        return [{"scores": s[s > threshold], "boxes": b[s > threshold]} for s, b in zip(scores, boxes)]

    def post_process_instance_segmentation(
        self, outputs: Any, threshold: float = 0.3, mask_threshold: float = 0.5, target_sizes: Any = None
    ) -> list[dict[str, Any]]:
        """Detections as above, with each kept query's mask (sigmoid, resized bilinearly to the target size, above ``mask_threshold``)."""
        import torch.nn.functional as F

        scores, boxes = self._scored_boxes(outputs, target_sizes)
        masks = _tensor(output_field(outputs, "pred_masks"), "pred_masks").sigmoid()
        sizes = _checked_sizes(target_sizes, len(scores))
        results = []
        for index, (image_scores, image_boxes, image_masks) in enumerate(zip(scores, boxes, masks)):
            keep = image_scores > threshold
            kept = image_masks[keep]
            if sizes is not None and len(kept) > 0:
                kept = F.interpolate(kept[None], size=sizes[index], mode="bilinear", align_corners=False)[0]
            results.append({"scores": image_scores[keep], "boxes": image_boxes[keep], "masks": (kept > mask_threshold).long()})
        return results

    @staticmethod
    def _scored_boxes(outputs: Any, target_sizes: Any) -> tuple[Any, Any]:
        """(scores, corner boxes) of every query: query sigmoid times the image's presence sigmoid when the model gives one."""
        (logits, boxes), _ = model_outputs(outputs, "pred_logits", "pred_boxes")
        presence = outputs.get("presence_logits") if isinstance(outputs, dict) else getattr(outputs, "presence_logits", None)
        scores = logits.sigmoid()
        if presence is not None:
            scores = scores * _tensor(presence, "presence_logits").sigmoid()
        sizes = _checked_sizes(target_sizes, len(scores))
        return scores, (scale_boxes(boxes, sizes) if sizes is not None else boxes)


def _tensor(value: Any, name: str) -> Any:
    import torch

    if value is None:
        raise InvalidArgumentError(f"the model outputs have no {name}")
    return torch.as_tensor(value)


def _checked_sizes(target_sizes: Any, count: int) -> list[tuple[int, int]] | None:
    if target_sizes is None:
        return None
    sizes = [tuple(int(v) for v in size) for size in (target_sizes.tolist() if hasattr(target_sizes, "tolist") else target_sizes)]
    if len(sizes) != count or any(len(size) != 2 for size in sizes):
        raise InvalidArgumentError(f"target_sizes must hold one (height, width) per image ({count}), got {target_sizes!r}")
    return sizes
