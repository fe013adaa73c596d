"""RF-DETR: DETR's pipeline (COCO detection annotations, padded batch with a mask) with the rescale before the resize,
sigmoid top-k detections, and instance masks painted best-first.

transformers has only a torchvision class; the pil backend resizes the rescaled float image with Pillow's float mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import geometry, postprocess
from ..auto import register_family
from ..errors import InvalidArgumentError, InvalidImageError
from ..segmentation import back, output_field, size_list, to_torch
from ..backends import Backend
from .dense_steps import AffineFirst, FloatResize
from .detr import COCO_DETECTION, DetrImageProcessor
from .maskformer import segmentation_to_rle


@dataclass(frozen=True)
class SizeRuleFloatResize:
    """DETR's size rule, then a float resize without antialiasing (transformers' RF-DETR passes ``antialias=False``)."""

    size: dict[str, int]
    resample: int

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = geometry.resize_output_size(height, width, self.size)
        if min(target) < 1:
            raise InvalidImageError(f"resizing a {height}x{width} image with size={self.size} gives an empty image")
        return FloatResize(*target, self.resample).apply(backend, image)

    def describe(self) -> str:
        return f"resize by {self.size} (float, no antialiasing)"


@register_family
class RfDetrImageProcessor(DetrImageProcessor):
    """RF-DETR (object detection and instance segmentation)."""

    transformers_class = "RfDetrImageProcessor"
    model_types = ("rf_detr",)
    class_aliases = ()

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """Rescale first, then DETR's size rule on the float image, without antialiasing (as transformers' RF-DETR)."""
        resize = [SizeRuleFloatResize(step.size, step.resample) for step in super().steps(params)]
        return [AffineFirst(params["rescale_factor"] if params.get("do_rescale") else None), *resize]

    def affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        """Only the normalisation is left for the end: the rescale happened first."""
        return (None, *super().affine_parts(params)[1:])

    def preprocess(self, images: Any, annotations: Any = None, return_segmentation_masks: bool | None = None, masks_path: Any = None, **kwargs: Any) -> Any:
        """DETR's preprocessing; RF-DETR takes COCO detection annotations only."""
        if annotations is not None and (kwargs.get("format") or self.format) != COCO_DETECTION:
            raise InvalidArgumentError(f"RF-DETR takes annotations in format {COCO_DETECTION!r} only, got {kwargs.get('format') or self.format!r}")
        return super().preprocess(images, annotations, return_segmentation_masks, masks_path, **kwargs)

    def post_process_object_detection(self, outputs: Any, threshold: float = 0.5, target_sizes: Any = None, top_k: int | None = None) -> list[dict[str, Any]]:
        """Scores, labels and corner boxes of the ``top_k`` (default: as many as queries) best (query, class) pairs above ``threshold``."""
        (logits, boxes), from_numpy = postprocess.model_outputs(outputs, "logits", "pred_boxes")
        pairs = postprocess.target_size_pairs(target_sizes, len(logits))
        top_k = logits.shape[1] if top_k is None else top_k
        return postprocess.to_numpy_like(postprocess.sigmoid_topk_detections(logits, boxes, threshold, pairs, top_k), from_numpy)

    def post_process_instance_segmentation(
        self,
        outputs: Any,
        threshold: float = 0.5,
        mask_threshold: float = 0.0,
        target_sizes: Any = None,
        return_coco_annotation: bool = False,
        return_binary_maps: bool = False,
        top_k: int | None = None,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """``[{"segmentation", "segments_info"}]`` per image: the top-k (query, class) pairs above ``threshold``, each mask
        (resized bilinearly to the target size) painting the pixels no better one holds (int32 ids, -1 background)."""
        import torch
        import torch.nn.functional as F

        if return_coco_annotation and return_binary_maps:
            raise InvalidArgumentError("return_coco_annotation and return_binary_maps cannot both be True")
        logits, numpy_in = to_torch(output_field(outputs, "logits"))
        masks, _ = to_torch(output_field(outputs, "pred_masks"))
        sizes = size_list(target_sizes)
        if sizes is not None and len(sizes) != len(logits):
            raise InvalidArgumentError(f"got {len(sizes)} target sizes for a batch of {len(logits)}")
        batch, queries, classes = logits.shape
        top_k = min(queries if top_k is None else top_k, queries * classes)
        scores, flat_index = torch.topk(logits.sigmoid().reshape(batch, -1), top_k, dim=1)
        labels = flat_index % classes
        chosen = torch.div(flat_index, classes, rounding_mode="floor")
        results = []
        for index in range(batch):
            keep = scores[index] > threshold
            image_scores, image_labels, image_masks = scores[index][keep], labels[index][keep], masks[index][chosen[index][keep]]
            height, width = (int(masks.shape[-2]), int(masks.shape[-1])) if sizes is None else sizes[index]
            segmentation = torch.full((height, width), -1, dtype=torch.int32)
            segments: list[dict[str, Any]] = []
            maps: list[Any] = []
            if len(image_scores):
                resized = F.interpolate(image_masks[:, None].float(), size=(height, width), mode="bilinear", align_corners=False)[:, 0]
                for query in range(len(image_scores)):
                    binary = resized[query] > mask_threshold
                    if not binary.any():
                        continue
                    if return_binary_maps:
                        maps.append(binary)
                    else:
                        binary = binary & (segmentation == -1)
                        if not binary.any():
                            continue
                        segmentation[binary] = len(segments) + 1
                    segments.append({"id": len(segments) + 1, "label_id": int(image_labels[query]), "score": round(image_scores[query].item(), 6)})
            if return_coco_annotation:
                result: Any = segmentation_to_rle(segmentation)
            elif return_binary_maps:
                result = back(torch.stack(maps) if maps else torch.zeros(0, height, width, dtype=torch.bool), numpy_in)
            else:
                result = back(segmentation, numpy_in)
            results.append({"segmentation": result, "segments_info": segments})
        return results
