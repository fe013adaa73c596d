"""PP-OCRv5 / PP-OCRv6 text detection: sides limited and rounded to multiples of 32, BGR, ``target_sizes``; boxes from the probability map.

The image is resized as floats so that its longer (``limit_type="max"``) or shorter (``"min"``) side
meets ``limit_side_len``, or its longer side is set to it (``"resize_long"``), capped at
``max_side_limit``, each side then rounded to a multiple of 32 (at least 32). It is rescaled and
normalised, then its channels are reversed (the model reads BGR). ``target_sizes`` holds each input's
(height, width) for :meth:`PPOCRV5ServerDetImageProcessor.post_process_object_detection`, which traces
text regions in the probability map with OpenCV (``pip install 'pixelprep[ocr]'``).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .. import geometry
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..params import _positive_int
from ..processor import ImageProcessor
from ..segmentation import output_field, size_list, to_torch
from .classic_steps import flip_first_three_channels
from .paddle_steps import FloatRuleResize, apply_steps, load_images, opencv

LIMIT_TYPES = ("max", "min", "resize_long")
SIDE_MULTIPLE = 32


def normalize_limit_type(value: Any, name: str) -> str | None:
    """One of ``"max"``, ``"min"``, ``"resize_long"``."""
    if value is None:
        return None
    if value not in LIMIT_TYPES:
        raise InvalidArgumentError(f"{name} must be one of {list(LIMIT_TYPES)}, got {value!r}")
    return value


def limit_side_size(height: int, width: int, limit_side_len: int, limit_type: str, max_side_limit: int | None) -> geometry.Size:
    """PP-OCR's detection size: the side limit applied (see the module docstring), then each side rounded to a multiple of 32, at least 32."""
    if limit_type == "max":
        ratio = limit_side_len / max(height, width) if max(height, width) > limit_side_len else 1.0
    elif limit_type == "min":
        ratio = limit_side_len / min(height, width) if min(height, width) < limit_side_len else 1.0
    else:
        ratio = limit_side_len / max(height, width)
    new_height, new_width = int(height * ratio), int(width * ratio)
    if max_side_limit is not None and max(new_height, new_width) > max_side_limit:
        ratio = max_side_limit / max(new_height, new_width)
        new_height, new_width = int(new_height * ratio), int(new_width * ratio)
    # round() is Python's (half to even), as in PaddleOCR
    return max(round(new_height / SIDE_MULTIPLE) * SIDE_MULTIPLE, SIDE_MULTIPLE), max(round(new_width / SIDE_MULTIPLE) * SIDE_MULTIPLE, SIDE_MULTIPLE)


@register_family
class PPOCRV5ServerDetImageProcessor(ImageProcessor):
    """PP-OCRv5 server/mobile and PP-OCRv6 medium/small text detection."""

    transformers_class = "PPOCRV5ServerDetImageProcessor"
    model_types = ("pp_ocrv5_server_det", "pp_ocrv5_mobile_det", "pp_ocrv6_medium_det", "pp_ocrv6_small_det")
    defaults = {
        "do_resize": True,
        "size": {"height": 960, "width": 960},  # kept for configs; the size comes from the side limits
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": (0.406, 0.456, 0.485),
        "image_std": (0.225, 0.224, 0.229),
        "limit_side_len": 960,
        "limit_type": "max",
        "max_side_limit": 4000,
    }
    extra_params = {"limit_side_len": _positive_int, "limit_type": normalize_limit_type, "max_side_limit": lambda v, n: None if v is None else _positive_int(v, n)}

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """Resize (as floats) to :func:`limit_side_size`."""
        rule = functools.partial(
            limit_side_size, limit_side_len=params["limit_side_len"], limit_type=params["limit_type"], max_side_limit=params.get("max_side_limit")
        )
        label = f"sides limited ({params['limit_type']} {params['limit_side_len']}, at most {params.get('max_side_limit')}) and rounded to multiples of {SIDE_MULTIPLE}"
        return [FloatRuleResize(rule, params["resample"], label)]

    def get_image_size(self, image: Any, limit_side_len: int, limit_type: str, max_side_limit: int | None) -> tuple[dict[str, int], Any]:
        """({"height", "width"} the model gets, the input's (height, width) as float32) for a CHW image, as transformers' ``get_image_size``."""
        height, width = int(image.shape[-2]), int(image.shape[-1])
        limit_type = normalize_limit_type(limit_type, "limit_type")
        target = limit_side_size(height, width, _positive_int(limit_side_len, "limit_side_len"), limit_type, max_side_limit)
        original = np.array([height, width], np.float32)
        if hasattr(image, "detach"):
            import torch

            original = torch.from_numpy(original).to(image.device)
        return {"height": target[0], "width": target[1]}, original

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """The common pipeline, plus each input's (height, width) as ``target_sizes``."""
        loaded = load_images(self, images, params, backend)
        sizes = [backend.size(image) for image in loaded]
        features = self._assemble(apply_steps(self, loaded, self.steps(params), backend), params, backend, *self.affine_parts(params))
        features["target_sizes"] = [backend.from_numpy(np.array(size, np.float32)) for size in sizes]
        return features

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """Channels reversed to BGR after normalize, then converted to ``return_tensors``."""
        features["pixel_values"] = flip_first_three_channels(features["pixel_values"])
        return super().finalize(features, params, backend)

    def describe_finalize(self, params: dict[str, Any]) -> list[str]:
        return ["RGB to BGR", "target_sizes = each input's (height, width)"]

    def post_process_object_detection(
        self,
        predictions: Any,
        threshold: float = 0.3,
        target_sizes: Any = None,
        box_threshold: float = 0.6,
        max_candidates: int = 1000,
        min_size: int = 3,
        unclip_ratio: float = 1.5,
    ) -> list[dict[str, Any]]:
        """Text boxes per image: ``{"boxes": (N, 4, 2) int16 corners, "scores", "labels"}`` in each target size's pixels (``boxes`` is empty, shape (0,), where none is found).

        The probability map (``last_hidden_state``, (batch, 1, H, W)) is binarised at ``threshold``;
        each traced region's minimum-area rectangle is kept when at least ``min_size`` on its short side
        and scoring ``box_threshold`` (mean probability inside it), grown by ``unclip_ratio`` and scaled
        to its image's target size.
        """
        import torch

        maps, _ = to_torch(output_field(predictions, "last_hidden_state"))
        sizes = size_list(target_sizes)
        if sizes is None:
            raise InvalidArgumentError("post_process_object_detection needs target_sizes: the (height, width) of each image (the processor's target_sizes)")
        if len(sizes) != len(maps):
            raise InvalidArgumentError(f"got {len(sizes)} target sizes for a batch of {len(maps)} probability maps")
        if maps.ndim != 4:
            raise InvalidArgumentError(f"last_hidden_state must be (batch, 1, height, width) probability maps, got shape {tuple(maps.shape)}")
        results = []
        for probability, (height, width) in zip(maps, sizes):
            probability = probability[0].detach().cpu().numpy()
            boxes, scores = text_boxes(probability, probability > threshold, width, height, box_threshold, unclip_ratio, min_size, max_candidates)
            results.append(
                {
                    "boxes": torch.from_numpy(boxes).to(maps.device),
                    "scores": torch.tensor(scores, dtype=torch.float32, device=maps.device),
                    "labels": torch.zeros(len(scores), dtype=torch.long, device=maps.device),
                }
            )
        return results


# ------------------------------------------------------------------------------------ post-processing


def _ordered_rectangle(cv2: Any, points: np.ndarray) -> tuple[list[np.ndarray], float]:
    """The minimum-area rectangle around ``points`` as its corners (top-left, top-right, bottom-right, bottom-left by x then y), and its short side."""
    rectangle = cv2.minAreaRect(points)
    corners = sorted(cv2.boxPoints(rectangle), key=lambda corner: corner[0])
    left = (corners[0], corners[1]) if corners[1][1] > corners[0][1] else (corners[1], corners[0])  # (upper, lower)
    right = (corners[2], corners[3]) if corners[3][1] > corners[2][1] else (corners[3], corners[2])
    return [left[0], right[0], right[1], left[1]], min(rectangle[1])


def _mean_inside(cv2: Any, probability: np.ndarray, polygon: np.ndarray) -> float:
    """Mean probability over the pixels of ``polygon`` (filled), within its bounding box clipped to the map."""
    height, width = probability.shape
    x_min = max(0, min(math.floor(polygon[:, 0].min()), width - 1))
    x_max = max(0, min(math.ceil(polygon[:, 0].max()), width - 1))
    y_min = max(0, min(math.floor(polygon[:, 1].min()), height - 1))
    y_max = max(0, min(math.ceil(polygon[:, 1].max()), height - 1))
    mask = np.zeros((y_max - y_min + 1, x_max - x_min + 1), dtype=np.uint8)
    shifted = polygon - np.array([x_min, y_min], dtype=polygon.dtype)
    cv2.fillPoly(mask, shifted.reshape(1, -1, 2).astype(np.int32), 1)
    return cv2.mean(probability[y_min : y_max + 1, x_min : x_max + 1], mask)[0]


def unclip(polygon: np.ndarray, ratio: float) -> np.ndarray:
    """``polygon`` (N, 2) with every edge moved outwards by area * ratio / perimeter; vertices where the moved edges meet (N, 2) float32.

    Where two neighbouring edges are parallel the vertex moves along the mean of their normals by half the distance.
    """
    cv2 = opencv()
    polygon = polygon.reshape(-1, 2).astype(np.float32)
    distance = cv2.contourArea(polygon) * ratio / cv2.arcLength(polygon, True)
    x, y = polygon[:, 0], polygon[:, 1]
    counter_clockwise = (x @ np.roll(y, -1) - y @ np.roll(x, -1)) > 0.0
    edges = np.roll(polygon, -1, axis=0) - polygon
    directions = edges / np.maximum(np.linalg.norm(edges, axis=1, keepdims=True), 1e-6)
    outward = np.stack([directions[:, 1], -directions[:, 0]], axis=1) * (1 if counter_clockwise else -1)
    moved = polygon + distance * outward
    previous_moved, previous_directions = np.roll(moved, 1, axis=0), np.roll(directions, 1, axis=0)
    cross = previous_directions[:, 0] * directions[:, 1] - previous_directions[:, 1] * directions[:, 0]
    parallel = np.abs(cross) < 1e-6
    step = moved - previous_moved
    along = (step[:, 0] * directions[:, 1] - step[:, 1] * directions[:, 0]) / np.where(parallel, 1.0, cross)
    vertices = previous_moved + previous_directions * along[:, None]
    if parallel.any():
        fallback = polygon + 0.5 * distance * (np.roll(outward, 1, axis=0) + outward)
        vertices[parallel] = fallback[parallel]
    return vertices.astype(np.float32)


def text_boxes(
    probability: np.ndarray, bitmap: np.ndarray, width: int, height: int, box_threshold: float, unclip_ratio: float, min_size: int, max_candidates: int
) -> tuple[np.ndarray, list[float]]:
    """(boxes (N, 4, 2) int16 in a ``width`` x ``height`` image, scores) of the regions of ``bitmap`` (see ``post_process_object_detection``)."""
    cv2 = opencv()
    map_height, map_width = bitmap.shape
    contours = cv2.findContours((bitmap * 255).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)[-2]
    boxes, scores = [], []
    for contour in contours[:max_candidates]:
        corners, short_side = _ordered_rectangle(cv2, contour)
        if short_side < min_size:
            continue
        corners = np.array(corners)
        score = _mean_inside(cv2, probability, corners.reshape(-1, 2))
        if score < box_threshold:
            continue
        grown, short_side = _ordered_rectangle(cv2, unclip(corners, unclip_ratio).reshape(-1, 1, 2))
        if short_side < min_size + 2:
            continue
        box = np.array(grown)
        # float32 scales, as the processor's float32 target_sizes give them
        box[:, 0] = np.clip(np.round(box[:, 0] * (np.float32(width) / map_width)), 0, width)
        box[:, 1] = np.clip(np.round(box[:, 1] * (np.float32(height) / map_height)), 0, height)
        boxes.append(box.astype(np.int16))
        scores.append(score)
    return np.array(boxes, dtype=np.int16), scores
