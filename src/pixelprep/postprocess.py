"""Shared post-processing of model outputs: box formats, scaling to image sizes, thresholding, segments.

Everything here works on torch tensors (torch is imported on first use, never at import time).
Model outputs may come as the model's output object, a dict, or tensors; NumPy inputs give NumPy
results (see :func:`model_outputs` and :func:`to_numpy_like`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidArgumentError


def _torch() -> Any:
    import torch

    return torch


# ----------------------------------------------------------------------------------------- inputs


def model_outputs(outputs: Any, *names: str) -> tuple[list[Any], bool]:
    """The named fields of ``outputs`` (an object with attributes, a dict, or a tuple in ``names`` order) as torch tensors.

    Returns the tensors and whether the inputs were NumPy arrays (so results can be given back as NumPy).
    """
    torch = _torch()
    if isinstance(outputs, dict) or hasattr(outputs, "keys"):
        missing = [name for name in names if name not in outputs]
        if missing:
            raise InvalidArgumentError(f"model outputs have no {missing}; got keys {list(outputs.keys())}")
        values = [outputs[name] for name in names]
    elif isinstance(outputs, (tuple, list)) and not hasattr(outputs, names[0]):
        if len(outputs) < len(names):
            raise InvalidArgumentError(f"expected model outputs ({', '.join(names)}), got {len(outputs)} values")
        values = list(outputs[: len(names)])
    else:
        missing = [name for name in names if getattr(outputs, name, None) is None]
        if missing:
            raise InvalidArgumentError(f"{type(outputs).__name__} has no {missing}: pass the model's output, a dict or tensors")
        values = [getattr(outputs, name) for name in names]
    from_numpy = all(isinstance(v, np.ndarray) for v in values)
    return [torch.as_tensor(v) for v in values], from_numpy


def to_numpy_like(value: Any, from_numpy: bool) -> Any:
    """``value`` (tensors, possibly nested in lists and dicts) as NumPy when the inputs were NumPy."""
    if not from_numpy:
        return value
    if isinstance(value, list):
        return [to_numpy_like(v, True) for v in value]
    if hasattr(value, "items"):  # dicts and BatchFeature results keep their type
        return type(value)({k: to_numpy_like(v, True) for k, v in value.items()})
    return value.detach().cpu().numpy() if hasattr(value, "detach") else value


def target_size_pairs(target_sizes: Any, batch_size: int) -> list[tuple[int, int]] | None:
    """``target_sizes`` (tensor or array of shape (batch, 2), or a list of (height, width)) as a list of int pairs."""
    if target_sizes is None:
        return None
    if len(target_sizes) != batch_size:
        raise InvalidArgumentError(f"got {len(target_sizes)} target sizes for a batch of {batch_size}: pass one (height, width) per image")
    return [(int(h), int(w)) for h, w in (tuple(size) for size in target_sizes)]


# ------------------------------------------------------------------------------------------ boxes


def _stack(columns: list[Any], like: Any) -> Any:
    if isinstance(like, np.ndarray):
        return np.stack(columns, axis=-1)
    return _torch().stack(columns, dim=-1)


def center_to_corners(boxes: Any) -> Any:
    """(center_x, center_y, width, height) boxes as (x0, y0, x1, y1); NumPy or torch, any leading shape."""
    cx, cy, w, h = (boxes[..., i] for i in range(4))
    return _stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], boxes)


def corners_to_center(boxes: Any) -> Any:
    """(x0, y0, x1, y1) boxes as (center_x, center_y, width, height); NumPy or torch, any leading shape."""
    x0, y0, x1, y1 = (boxes[..., i] for i in range(4))
    return _stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], boxes)


def scale_boxes(boxes: Any, target_sizes: Any) -> Any:
    """Relative (batch, boxes, 4) corner boxes scaled to absolute pixels of each image's (height, width)."""
    torch = _torch()
    if isinstance(target_sizes, (list, tuple)):
        heights = torch.tensor([float(size[0]) for size in target_sizes])
        widths = torch.tensor([float(size[1]) for size in target_sizes])
    else:
        heights, widths = torch.as_tensor(target_sizes).unbind(1)
    factors = torch.stack([widths, heights, widths, heights], dim=1).to(boxes.device)
    return boxes * factors[:, None, :]


def masks_to_boxes(masks: np.ndarray) -> np.ndarray:
    """Tight (x0, y0, x1, y1) boxes around binary masks (n, height, width); x1/y1 are the last set pixel's index."""
    boxes = np.zeros((len(masks), 4), dtype=np.float32)
    for index, mask in enumerate(masks):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if rows.size:
            boxes[index] = (cols[0], rows[0], cols[-1], rows[-1])
        else:
            # an empty mask: the reference's "min over nothing" sentinel and "max of zeros"
            boxes[index] = (1e8, 1e8, 0, 0)
    return boxes


# ------------------------------------------------------------------------------------- detections


def _keep_above(scores: Any, labels: Any, boxes: Any, threshold: float) -> list[dict[str, Any]]:
    results = []
    for score, label, box in zip(scores, labels, boxes):
        keep = score > threshold
        results.append({"scores": score[keep], "labels": label[keep], "boxes": box[keep]})
    return results


def softmax_detections(logits: Any, pred_boxes: Any, threshold: float, target_sizes: Any, drop_last_class: bool = True) -> list[dict[str, Any]]:
    """Best class per query by softmax (the last, "no object" class dropped), boxes as corners, scores above ``threshold``."""
    probs = logits.softmax(-1)
    scores, labels = (probs[..., :-1] if drop_last_class else probs).max(-1)
    boxes = center_to_corners(pred_boxes)
    if target_sizes is not None:
        boxes = scale_boxes(boxes, target_sizes)
    return _keep_above(scores, labels, boxes, threshold)


def sigmoid_topk_detections(logits: Any, pred_boxes: Any, threshold: float, target_sizes: Any, top_k: int) -> list[dict[str, Any]]:
    """The ``top_k`` best (query, class) pairs by sigmoid score over all queries and classes, above ``threshold``."""
    torch = _torch()
    batch, _, classes = logits.shape
    probs = logits.sigmoid().reshape(batch, -1)
    scores, flat_index = torch.topk(probs, min(top_k, probs.shape[1]), dim=1)
    labels = flat_index % classes
    query = torch.div(flat_index, classes, rounding_mode="floor")
    boxes = center_to_corners(pred_boxes)
    if target_sizes is not None:
        boxes = scale_boxes(boxes, target_sizes)
    boxes = torch.gather(boxes, 1, query.unsqueeze(-1).expand(-1, -1, 4))
    return _keep_above(scores, labels, boxes, threshold)


def max_logit_detections(logits: Any, pred_boxes: Any, threshold: float, target_sizes: Any) -> list[dict[str, Any]]:
    """Best class (or text token) per query by raw logit, scored by its sigmoid (Grounding DINO)."""
    best = logits.max(-1)
    boxes = center_to_corners(pred_boxes)
    if target_sizes is not None:
        boxes = scale_boxes(boxes, target_sizes)
    return _keep_above(best.values.sigmoid(), best.indices, boxes, threshold)


# --------------------------------------------------------------------------------------- segments


def resize_logits(maps: Any, size: tuple[int, int]) -> Any:
    """(channels, height, width) maps resized bilinearly (half-pixel centres) to ``size``."""
    torch = _torch()
    return torch.nn.functional.interpolate(maps[None], size=size, mode="bilinear", align_corners=False)[0]


def segments_from_mask_probs(
    mask_probs: Any,
    scores: Any,
    labels: Any,
    mask_threshold: float,
    overlap_mask_area_threshold: float,
    label_ids_to_fuse: Any,
    target_size: tuple[int, int] | None,
) -> tuple[Any, list[dict[str, Any]]]:
    """A segment-id map and its segments from per-query mask probabilities (queries, h, w), scores and labels.

    Each pixel goes to the query with the highest score-weighted probability; a query becomes a segment
    when it owns some pixels and those are more than ``overlap_mask_area_threshold`` of its own
    ``mask_threshold`` area. Queries of a label in ``label_ids_to_fuse`` share one segment id.
    """
    torch = _torch()
    if target_size is not None:
        mask_probs = resize_logits(mask_probs, target_size)
    height, width = mask_probs.shape[1:]
    segmentation = torch.zeros((height, width), dtype=torch.int32, device=mask_probs.device)
    weighted = mask_probs * scores.view(-1, 1, 1)
    owner = weighted.argmax(0)
    fuse = set(label_ids_to_fuse or ())
    segments: list[dict[str, Any]] = []
    fused_ids: dict[int, int] = {}
    segment_id = 0
    for query in range(labels.shape[0]):
        label = int(labels[query].item())
        owned = owner == query
        owned_area = owned.sum()
        own_area = (weighted[query] >= mask_threshold).sum()
        if not (owned_area > 0 and own_area > 0 and (owned_area / own_area).item() > overlap_mask_area_threshold):
            continue
        if label in fused_ids:
            segment_id = fused_ids[label]
        else:
            segment_id += 1
        segmentation[owned] = segment_id
        segments.append({"id": segment_id, "label_id": label, "was_fused": label in fuse, "score": round(scores[query].item(), 6)})
        if label in fuse:
            fused_ids[label] = segment_id
    return segmentation, segments


def mask_to_rle(mask: Any) -> list[int]:
    """COCO-style uncompressed run lengths of a binary (height, width) mask, read row by row: start, length, ..."""
    pixels = np.concatenate([[0], np.asarray(mask).reshape(-1), [0]])
    runs = np.flatnonzero(pixels[1:] != pixels[:-1]) + 1
    runs[1::2] -= runs[::2]
    return list(runs)


def segmentation_to_rle(segmentation: Any) -> list[list[int]]:
    """One run-length encoding per segment id present in a (height, width) map, in increasing id order."""
    values = np.asarray(segmentation.cpu() if hasattr(segmentation, "cpu") else segmentation)
    return [mask_to_rle((values == segment).astype(np.int64)) for segment in np.unique(values)]
