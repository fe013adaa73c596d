"""PP-DocLayout V2, V3 and V4: pages warped to 800x800 with bicubic interpolation and no antialiasing (as OpenCV), rescaled to [0, 1].

V2 and V3 resize the 8-bit page; V4 rescales first and resizes the floats, clipping the bicubic
overshoot to the input range (1, or 255 x ``rescale_factor``), so the page is rounded once, as in
Paddle. Post-processing turns the detections into boxes with a reading order: V2 and V3 rank queries
by pairwise order votes (V3 adds a polygon per box traced from its mask, with OpenCV); V4 regresses
quadrilaterals and decodes the order from a successor graph made acyclic, split into components and
sorted topologically.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..processor import ImageProcessor
from ..segmentation import output_field, to_torch
from .paddle_steps import InterpolateResize, apply_steps, fixed_size, load_images, opencv


@register_family
class PPDocLayoutV2ImageProcessor(ImageProcessor):
    """PP-DocLayoutV2: layout boxes with a reading order."""

    transformers_class = "PPDocLayoutV2ImageProcessor"
    model_types = ("pp_doclayout_v2",)
    defaults = {
        "do_resize": True,
        "size": {"height": 800, "width": 800},
        "resample": 3,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": (0.0, 0.0, 0.0),
        "image_std": (1.0, 1.0, 1.0),
    }

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """Warp to ``size`` (height and width) by interpolation, without antialiasing."""
        size = params["size"]
        if set(size) != {"height", "width"}:
            raise InvalidArgumentError(f"{type(self).__name__}'s size must give 'height' and 'width', got {size}")
        return [InterpolateResize(fixed_size(size["height"], size["width"]), params["resample"], f"to {size['height']}x{size['width']}")]

    def extract_custom_vertices(self, polygon: Any, sharp_angle_thresh: float = 45) -> list[tuple]:
        """V2 predicts no masks, so it has no polygons to refine (V3 does); kept so both classes share transformers' surface."""
        raise InvalidArgumentError("PP-DocLayoutV2 predicts no polygons; extract_custom_vertices is PP-DocLayoutV3's")

    def _get_order_seqs(self, order_logits: Any) -> Any:
        """Each query's reading-order rank from (batch, queries, queries) pairwise logits (votes of "i before j")."""
        import torch

        scores = torch.sigmoid(order_logits)
        batch, queries, _ = scores.shape
        votes = scores.triu(diagonal=1).sum(dim=1) + (1.0 - scores.transpose(1, 2)).tril(diagonal=-1).sum(dim=1)
        by_votes = torch.argsort(votes, dim=1)
        ranks = torch.empty_like(by_votes)
        ranks.scatter_(1, by_votes, torch.arange(queries, device=votes.device, dtype=by_votes.dtype).expand(batch, -1))
        return ranks

    def _top_detections(self, outputs: Any, target_sizes: Any) -> tuple[Any, ...]:
        """(scores, labels, corner boxes, order ranks, query indices) of the top queries x classes, boxes scaled to ``target_sizes``."""
        import torch

        logits, _ = to_torch(output_field(outputs, "logits"))
        boxes, _ = to_torch(output_field(outputs, "pred_boxes"))
        order = self._get_order_seqs(to_torch(output_field(outputs, "order_logits"))[0])
        centers, extents = boxes.split(2, dim=-1)
        boxes = torch.cat([centers - 0.5 * extents, centers + 0.5 * extents], dim=-1)
        if target_sizes is not None:
            if len(target_sizes) != len(logits):
                raise InvalidArgumentError(f"got {len(target_sizes)} target sizes for a batch of {len(logits)} logits")
            heights, widths = torch.as_tensor(target_sizes).unbind(1)
            boxes = boxes * torch.stack([widths, heights, widths, heights], dim=1).to(boxes.device)[:, None, :]
        queries, classes = logits.shape[1], logits.shape[2]
        scores, flat = torch.topk(torch.sigmoid(logits).flatten(1), queries, dim=-1)
        labels, query = flat % classes, flat // classes
        boxes = boxes.gather(dim=1, index=query.unsqueeze(-1).repeat(1, 1, boxes.shape[-1]))
        return scores, labels, boxes, order.gather(dim=1, index=query), query

    def post_process_object_detection(self, outputs: Any, threshold: float = 0.5, target_sizes: Any = None) -> list[dict[str, Any]]:
        """``[{"scores", "labels", "boxes" (x0, y0, x1, y1), "order_seq"}]`` per image, the detections over ``threshold`` in reading order."""
        import torch

        results = []
        for score, label, box, order, _ in zip(*self._top_detections(outputs, target_sizes)):
            keep = score >= threshold
            order, ranked = torch.sort(order[keep])
            results.append({"scores": score[keep][ranked], "labels": label[keep][ranked], "boxes": box[keep][ranked], "order_seq": order})
        return results


@register_family
class PPDocLayoutV3ImageProcessor(PPDocLayoutV2ImageProcessor):
    """PP-DocLayoutV3: V2's boxes and reading order, plus a polygon per box traced from its mask."""

    transformers_class = "PPDocLayoutV3ImageProcessor"
    model_types = ("pp_doclayout_v3",)

    def extract_custom_vertices(self, polygon: Any, sharp_angle_thresh: float = 45) -> list[tuple]:
        """The polygon's convex-turn vertices, each one whose angle is within 1 degree of ``sharp_angle_thresh`` pushed outwards along its bisector."""
        points = np.array(polygon)
        count = len(points)
        vertices = []
        for index in range(count):
            current = points[index]
            before, after = points[(index - 1) % count] - current, points[(index + 1) % count] - current
            if before[1] * after[0] - before[0] * after[1] >= 0:
                continue
            before_norm, after_norm = np.linalg.norm(before), np.linalg.norm(after)
            angle = np.degrees(np.arccos(np.clip((before @ after) / (before_norm * after_norm), -1.0, 1.0)))
            if abs(angle - sharp_angle_thresh) < 1:
                bisector = before / before_norm + after / after_norm
                vertices.append(tuple(current + bisector / np.linalg.norm(bisector) * ((before_norm + after_norm) / 2)))
            else:
                vertices.append(tuple(current))
        return vertices

    def _mask2polygon(self, mask: np.ndarray, epsilon_ratio: float = 0.004) -> list[tuple] | None:
        """The simplified outline of the largest region of a 0/1 mask (None when it has none)."""
        cv2 = opencv()
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if not contours:
            return None
        largest = max(contours, key=cv2.contourArea)
        outline = cv2.approxPolyDP(largest, epsilon_ratio * cv2.arcLength(largest, True), True)
        return self.extract_custom_vertices(np.atleast_2d(outline.squeeze()))

    def _extract_polygon_points_by_masks(self, boxes: np.ndarray, masks: np.ndarray, scale_ratio: list[float]) -> list[Any]:
        """One polygon per box from its mask (the mask is at a quarter of the processed size); the box's rectangle where the mask gives none."""
        cv2 = opencv()
        mask_height, mask_width = masks.shape[1:]
        to_mask_x, to_mask_y = scale_ratio[0] / 4, scale_ratio[1] / 4
        polygons: list[Any] = []
        for box, mask in zip(boxes, masks):
            x_min, y_min, x_max, y_max = box.astype(np.int32)
            rectangle = np.array([[x_min, y_min], [x_max, y_min], [x_max, y_max], [x_min, y_max]], dtype=np.float32)
            if x_max - x_min <= 0 or y_max - y_min <= 0:
                polygons.append(rectangle)
                continue
            x_start, x_end = np.clip([int(round((x_min * to_mask_x).item())), int(round((x_max * to_mask_x).item()))], 0, mask_width)
            y_start, y_end = np.clip([int(round((y_min * to_mask_y).item())), int(round((y_max * to_mask_y).item()))], 0, mask_height)
            region = mask[y_start:y_end, x_start:x_end]
            if region.size == 0 or np.sum(region) == 0:
                polygons.append(rectangle)
                continue
            polygon = self._mask2polygon(cv2.resize(region.astype(np.uint8), (x_max - x_min, y_max - y_min), interpolation=cv2.INTER_NEAREST))
            if polygon is not None and len(polygon) < 4:
                polygons.append(rectangle)
                continue
            polygons.append(polygon + np.array([x_min, y_min]) if polygon else polygon)
        return polygons

    def post_process_object_detection(self, outputs: Any, threshold: float = 0.5, target_sizes: Any = None) -> list[dict[str, Any]]:
        """V2's results plus ``polygon_points`` per detection (``target_sizes`` needed: the masks are mapped through the processed size)."""
        import torch

        if target_sizes is None:
            raise InvalidArgumentError("PP-DocLayoutV3 post-processing needs target_sizes: the (height, width) of each image")
        masks, _ = to_torch(output_field(outputs, "out_masks"))
        scores, labels, boxes, orders, query = self._top_detections(outputs, target_sizes)
        masks = (masks.gather(dim=1, index=query[..., None, None].repeat(1, 1, *masks.shape[-2:])).sigmoid() > threshold).int()
        size, results = self.size, []
        # target sizes as given (tensor rows or pairs): the mask scale is computed in their arithmetic, as transformers does
        for score, label, box, order, mask, target in zip(scores, labels, boxes, orders, masks, target_sizes):
            keep = score >= threshold
            order, ranked = torch.sort(order[keep])
            kept_boxes = box[keep][ranked]
            polygons = self._extract_polygon_points_by_masks(
                kept_boxes.detach().cpu().numpy(), mask[keep][ranked].detach().cpu().numpy(), [size["width"] / target[1], size["height"] / target[0]]
            )
            results.append({"scores": score[keep][ranked], "labels": label[keep][ranked], "boxes": kept_boxes, "polygon_points": polygons, "order_seq": order})
        return results


# ------------------------------------------------------------------------------------ V4 reading order


def _reachability(count: int, edges: list[tuple[int, int]]) -> np.ndarray:
    """``reach[i, j]``: whether a directed path (of one edge or more) leads from node ``i`` to node ``j``."""
    reach = np.zeros((count, count), dtype=bool)
    for start, end in edges:
        reach[start, end] = True
    for middle in range(count):  # Warshall's closure, a row at a time
        reach |= reach[:, middle : middle + 1] & reach[middle : middle + 1, :]
    return reach


def drop_cycles(count: int, edges: dict[tuple[int, int], float]) -> list[tuple[int, int]]:
    """The edges left once the weakest edge of every cycle-carrying component is dropped, repeatedly, until none has a cycle.

    Two nodes share a strongly connected component when each reaches the other; every edge inside such a
    component lies on a cycle. Ties keep the first edge in ``edges``' order, as Paddle's decoder does.
    """
    edges = dict(edges)
    while True:
        reach = _reachability(count, list(edges))
        weakest: dict[int, tuple[int, int]] = {}
        for edge, confidence in edges.items():
            start, end = edge
            if not (reach[start, end] and reach[end, start]):
                continue
            component = int(np.flatnonzero(reach[start] & reach[:, start]).min())  # its smallest node names it
            if component not in weakest or confidence < edges[weakest[component]]:
                weakest[component] = edge
        if not weakest:
            return list(edges)
        for edge in weakest.values():
            del edges[edge]


def weak_components(count: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    """The connected components of the undirected graph, each sorted, ordered by their smallest node."""
    reach = _reachability(count, edges + [(end, start) for start, end in edges]) | np.eye(count, dtype=bool)
    components, seen = [], np.zeros(count, dtype=bool)
    for node in range(count):
        if not seen[node]:
            members = np.flatnonzero(reach[node])
            seen[members] = True
            components.append([int(member) for member in members])
    return components


def borda_topological_order(count: int, edges: list[tuple[int, int]], relative_scores: np.ndarray) -> list[int]:
    """Nodes in an order every edge respects; among the nodes free at a step, the one with the highest summed score over the others first (ties: the smaller index)."""
    in_degree = [0] * count
    successors = defaultdict(list)
    for start, end in edges:
        successors[start].append(end)
        in_degree[end] += 1
    free = [node for node in range(count) if in_degree[node] == 0]
    order = []
    while free:
        best, best_score = free[0], -1.0
        if len(free) > 1:
            best = None
            for candidate in free:
                score = sum(relative_scores[candidate][other] for other in free if other != candidate)
                if score > best_score or (score == best_score and (best is None or candidate < best)):
                    best, best_score = candidate, score
        free.remove(best)
        order.append(best)
        for successor in successors[best]:
            in_degree[successor] -= 1
            if in_degree[successor] == 0:
                free.append(successor)
    placed = set(order)
    return order + [node for node in range(count) if node not in placed]


def reading_order_ranks(relative_logits: np.ndarray, successor_logits: np.ndarray) -> np.ndarray:
    """Each box's 0-based reading rank from its pairwise relative-order and successor logits (PP-DocLayoutV4)."""
    count = successor_logits.shape[0]
    if count <= 1:
        return np.zeros(count, dtype=np.int64)
    edges = {(i, j): float(successor_logits[i][j]) for i in range(count) for j in range(count) if i != j and successor_logits[i][j] > 0}
    kept = drop_cycles(count, edges)
    magnitude = np.exp(-np.abs(relative_logits))  # a sigmoid that cannot overflow (the heads mask with -1e4)
    relative = np.where(relative_logits >= 0, 1.0 / (1.0 + magnitude), magnitude / (1.0 + magnitude))
    np.fill_diagonal(relative, 0.0)
    votes = relative.sum(axis=0)
    orders = []
    for component in weak_components(count, kept):
        if len(component) == 1:
            orders.append(component)
            continue
        local = {node: index for index, node in enumerate(component)}
        local_edges = [(local[i], local[j]) for i, j in kept if i in local and j in local]
        orders.append([component[index] for index in borda_topological_order(len(component), local_edges, relative[np.ix_(component, component)])])
    orders.sort(key=lambda nodes: float(np.mean(votes[nodes])))  # earliest-read component first
    ranks = np.zeros(count, dtype=np.int64)
    for rank, node in enumerate(node for nodes in orders for node in nodes):
        ranks[node] = rank
    return ranks


@dataclass(frozen=True)
class _Rescale:
    """Multiply by ``factor`` into float32 (V4 rescales before it resizes)."""

    factor: float

    def apply(self, backend: Backend, image: Any) -> Any:
        # a float32 scalar keeps the product float32 on NumPy arrays and torch tensors alike
        return backend.realize(image) * np.float32(1) * np.float32(self.factor)

    def describe(self) -> str:
        return f"rescale by {self.factor:.6g} (before the resize)"


@dataclass(frozen=True)
class _Clip:
    """Clip to [0, ``upper``]: the bicubic overshoot, bounded by the range the pixels came in."""

    upper: float

    def apply(self, backend: Backend, image: Any) -> Any:
        return backend.realize(image).clip(0, self.upper)

    def describe(self) -> str:
        return f"clip to [0, {self.upper:.6g}]"


@register_family
class PPDocLayoutV4ImageProcessor(PPDocLayoutV2ImageProcessor):
    """PP-DocLayoutV4: rescaled, then resized as floats; quadrilaterals and a reading order decoded from a successor graph."""

    transformers_class = "PPDocLayoutV4ImageProcessor"
    model_types = ("pp_doclayout_v4",)

    def steps(self, params: dict[str, Any], upper: float | None = None) -> list[Any]:
        """Rescale, resize, clip to ``upper`` (255 x rescale_factor unless the call's images are floats in [0, 1]), crop."""
        scale = params["rescale_factor"] if params.get("do_rescale") else None
        steps: list[Any] = [_Rescale(scale)] if scale is not None else []
        if params.get("do_resize"):
            bound = upper if upper is not None else 255.0 * (scale if scale is not None else 1.0)
            steps += [*self.resize_steps(params), _Clip(bound)]
        return steps + super().steps(dict(params, do_resize=False))

    def affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        # the rescale is a step before the resize: only the normalisation is left for the output pass
        _, mean, std = super().affine_parts(params)
        return None, mean, std

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """The steps with the clip bound of this call's images, then the common assembly (normalize, optional padding)."""
        loaded = load_images(self, images, params, backend)
        unit = all(not backend.is_uint8(image) for image in loaded) and max(float(backend.to_numpy(image).max()) for image in loaded) <= 1.0
        scale = params["rescale_factor"] if params.get("do_rescale") else 1.0
        steps = self.steps(params, (1.0 if unit else 255.0) * scale)
        return self._assemble(apply_steps(self, loaded, steps, backend), params, backend, *self.affine_parts(params))

    def post_process_object_detection(self, outputs: Any, threshold: float = 0.5, target_sizes: Any = None) -> list[dict[str, Any]]:
        """``[{"scores", "labels", "boxes", "polygon_points" (4 corners), "order_seq"}]`` per image, over ``threshold``, in reading order.

        A query kept under several labels appears once per label and keeps one rank.
        """
        import torch

        if target_sizes is None:
            raise InvalidArgumentError("PP-DocLayoutV4 post-processing needs target_sizes: the (height, width) of each image")
        logits, _ = to_torch(output_field(outputs, "logits"))
        quads, _ = to_torch(output_field(outputs, "pred_boxes"))
        relative_logits, _ = to_torch(output_field(outputs, "relative_order_logits"))
        successor_logits, _ = to_torch(output_field(outputs, "successor_order_logits"))
        if quads.shape[-1] != 10:
            raise InvalidArgumentError(f"pred_boxes must hold a centre and 4 corner offsets (10 values) per query, got {quads.shape[-1]}")
        if len(target_sizes) != len(logits):
            raise InvalidArgumentError(f"got {len(target_sizes)} target sizes for a batch of {len(logits)} logits")
        corners = quads[..., :2].unsqueeze(-2) + (quads[..., 2:].reshape(*quads.shape[:-1], 4, 2) - 0.5)
        heights, widths = torch.as_tensor(target_sizes, device=logits.device).unbind(1)
        corners = corners * torch.stack([widths, heights], dim=1).to(corners.dtype)[:, None, None, :]
        queries, classes = logits.shape[1], logits.shape[2]
        scores, flat = torch.topk(logits.sigmoid().flatten(1), queries, dim=-1)
        labels, query = flat % classes, flat // classes
        corners = corners.gather(dim=1, index=query[..., None, None].expand(-1, -1, *corners.shape[-2:]))
        results = []
        for score, label, quad, picked, relative, successor in zip(scores, labels, corners, query, relative_logits, successor_logits):
            keep = score >= threshold
            unique, inverse = torch.unique(picked[keep], return_inverse=True)
            rows = np.ix_(unique.cpu().numpy(), unique.cpu().numpy())
            ranks = reading_order_ranks(relative.detach().float().cpu().numpy()[rows], successor.detach().float().cpu().numpy()[rows])
            order, ranked = torch.sort(torch.as_tensor(ranks, device=score.device)[inverse], stable=True)
            quad = quad[keep][ranked]
            results.append(
                {
                    "scores": score[keep][ranked],
                    "labels": label[keep][ranked],
                    "boxes": torch.cat([quad.amin(dim=-2), quad.amax(dim=-2)], dim=-1),
                    "polygon_points": quad,
                    "order_seq": order,
                }
            )
        return results
