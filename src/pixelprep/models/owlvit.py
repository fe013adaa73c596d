"""OWL-ViT: a bicubic squash to 768x768 with CLIP normalisation, and open-vocabulary detection post-processing."""

from typing import Any

from .. import postprocess
from ..auto import register_family
from ..processor import ImageProcessor
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD


@register_family
class OwlViTImageProcessor(ImageProcessor):
    """OWL-ViT: resize to a square (no crop by default), CLIP mean and std."""

    transformers_class = "OwlViTImageProcessor"
    model_types = ("owlvit",)
    defaults = {
        "do_resize": True,
        "size": {"height": 768, "width": 768},
        "resample": 3,
        "default_to_square": True,
        "do_center_crop": False,
        "crop_size": {"height": 768, "width": 768},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "do_convert_rgb": True,
    }

    @classmethod
    def upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Old OWL-ViT configs say ``rescale`` for ``do_rescale``."""
        if "rescale" in config:
            config.setdefault("do_rescale", config.pop("rescale"))
        return config

    @staticmethod
    def box_scale_sizes(pairs: list[tuple[int, int]] | None) -> list[tuple[int, int]] | None:
        """The (height, width) each image's relative boxes are scaled by: its target size (OWLv2 overrides this)."""
        return pairs

    def post_process_object_detection(self, outputs: Any, threshold: float = 0.1, target_sizes: Any = None) -> list[dict[str, Any]]:
        """Per image: the best text query of each box (``labels``), its sigmoid score, corner boxes; scores above ``threshold``."""
        (logits, boxes), from_numpy = postprocess.model_outputs(outputs, "logits", "pred_boxes")
        pairs = self.box_scale_sizes(postprocess.target_size_pairs(target_sizes, len(logits)))
        return postprocess.to_numpy_like(postprocess.max_logit_detections(logits, boxes, threshold, pairs), from_numpy)

    def post_process_image_guided_detection(self, outputs: Any, threshold: float = 0.0, nms_threshold: float = 0.3, target_sizes: Any = None) -> list[dict[str, Any]]:
        """Boxes matching a query image: greedy NMS at ``nms_threshold``, then scores rescaled to [0, 1] relative to the best box.

        Returns one dict per image (``labels`` is None: one-shot detection has no classes). transformers 5.23
        leaves out images whose scores are all zero, which shifts every later result; here they get an
        empty result instead.
        """
        (logits, target_boxes), from_numpy = postprocess.model_outputs(outputs, "logits", "target_pred_boxes")
        pairs = self.box_scale_sizes(postprocess.target_size_pairs(target_sizes, len(logits)))
        scores = logits.max(-1).values.sigmoid()
        boxes = postprocess.center_to_corners(target_boxes)
        if nms_threshold < 1.0:
            for index in range(len(boxes)):
                _suppress_overlaps(scores[index], boxes[index], nms_threshold)
        if pairs is not None:
            boxes = postprocess.scale_boxes(boxes, pairs)
        results = []
        for image_scores, image_boxes in zip(scores, boxes):
            image_scores = image_scores.clone()
            image_scores[image_scores < threshold] = 0.0
            best = image_scores.max() + 1e-6
            alphas = ((image_scores - best * 0.1) / (best * 0.9)).clip(0.0, 1.0)
            keep = alphas > 0
            results.append({"scores": alphas[keep], "labels": None, "boxes": image_boxes[keep]})
        return postprocess.to_numpy_like(results, from_numpy)


def _suppress_overlaps(scores: Any, boxes: Any, iou_threshold: float) -> None:
    """Greedy NMS in place: from the best box down, zero the scores of boxes overlapping a kept one by more than ``iou_threshold``."""
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for i in scores.argsort(descending=True).tolist():
        if not scores[i]:
            continue
        top_left = boxes[:, :2].maximum(boxes[i, :2])
        bottom_right = boxes[:, 2:].minimum(boxes[i, 2:])
        overlap = (bottom_right - top_left).clamp(min=0).prod(-1)
        ious = overlap / (areas[i] + areas - overlap)
        ious[i] = -1.0
        scores[ious > iou_threshold] = 0.0
