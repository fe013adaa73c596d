"""EoMT (and EoMT-DINOv3): resize, optionally cut into overlapping square patches along the longer side
(``do_split_image``, with ``patch_offsets`` to stitch the predictions back), optionally zero-pad bottom/right to
``size`` before normalising, per-segment ``mask_labels`` / ``class_labels`` from segmentation maps, and
semantic (patches merged), instance and panoptic post-processing.

Reused from MaskFormer (the same algorithm there): :func:`~pixelprep.models.maskformer.binary_masks` (a map's
per-label masks, ``ignore_index`` making 0 the background) and its label normaliser; from the segmentation
module the semantic argmax. EoMT's panoptic and instance rules are its own (segment ids from 0, ``stuff_classes``
merged, queries kept in order rather than top-k).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import geometry
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..inputs import flatten_inputs, to_canonical
from ..params import normalize_bool
from ..processor import _map
from ..segmentation import MaskLabelsProcessor, back, nearest_steps, output_field, semantic_from_logits, size_list, to_torch
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from .maskformer import _normalize_label, binary_masks

DEFAULT_SIZE = {"shortest_edge": 640, "longest_edge": 640}


def patch_spans(height: int, width: int, patch_size: int) -> list[tuple[int, int]]:
    """(start, end) along the longer side (the width when square) of each ``patch_size`` patch, overlapping evenly to cover it.

    The last patch ends at the side's end; ``end`` can pass a side shorter than ``patch_size`` (the patch is then the whole side).
    """
    longer = max(height, width)
    count = math.ceil(longer / patch_size)
    # float overlap truncated per patch, as transformers computes it, so the offsets are the same integers
    overlap = (count * patch_size - longer) / (count - 1) if count > 1 else 0
    return [(int(i * (patch_size - overlap)), int(i * (patch_size - overlap)) + patch_size) for i in range(count)]


def padded_size(size: dict[str, int]) -> tuple[int, int]:
    """The (height, width) EoMT pads to and resizes mask logits to: ``shortest_edge`` by ``longest_edge`` (or square)."""
    if not size.get("shortest_edge"):
        raise InvalidArgumentError(f"EoMT's size must have 'shortest_edge' (the patch and padding size), got {size}")
    return size["shortest_edge"], size.get("longest_edge") or size["shortest_edge"]


@dataclass(frozen=True)
class SplitPatches:
    """Cut an image into overlapping ``patch_size`` patches along its longer side (one view per patch)."""

    patch_size: int

    def views(self, backend: Backend, image: Any) -> list[tuple[Any, tuple[int, int]]]:
        height, width = backend.size(image)
        tall = height > width
        views = []
        for start, end in patch_spans(height, width, self.patch_size):
            if tall:
                views.append((backend.crop(image, start, 0, min(end, height) - start, width), (start, end)))
            else:
                views.append((backend.crop(image, 0, start, height, min(end, width) - start), (start, end)))
        return views

    def describe(self) -> str:
        return f"split into overlapping {self.patch_size}-pixel patches along the longer side (patch_offsets)"


@dataclass(frozen=True)
class PadBottomRightTo:
    """Zero-pad bottom/right up to ``height`` x ``width`` (never cropping), before rescale and normalize."""

    height: int
    width: int

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        bottom, right = max(0, self.height - height), max(0, self.width - width)
        return backend.pad(image, 0, bottom, 0, right, 0) if bottom or right else image

    def describe(self) -> str:
        return f"pad bottom/right with 0 to {self.height}x{self.width} (before normalize)"


def _run_views(backend: Backend, image: Any, steps: list[Any]) -> list[tuple[Any, tuple[int, int] | None]]:
    """``image`` through ``steps``: each view with its patch span (None before a split)."""
    views: list[tuple[Any, tuple[int, int] | None]] = [(image, None)]
    for step in steps:
        if isinstance(step, SplitPatches):
            views = [item for view, _ in views for item in step.views(backend, view)]
        else:
            views = [(step.apply(backend, view), span) for view, span in views]
    return views


def _split_label_map(label_map: np.ndarray, params: dict[str, Any]) -> list[np.ndarray]:
    """A resized label map cut and padded as its image (zeros in the padding, as transformers pads maps)."""
    maps = [label_map]
    if params.get("do_split_image"):
        patch = padded_size(params["size"])[0]
        height, width = label_map.shape
        spans = patch_spans(height, width, patch)
        maps = [label_map[start:end] if height > width else label_map[:, start:end] for start, end in spans]
    if params.get("do_pad"):
        target = padded_size(params["size"])
        maps = [np.pad(m, ((0, max(0, target[0] - m.shape[0])), (0, max(0, target[1] - m.shape[1])))) for m in maps]
    return maps


def _offset_rows(patch_offsets: Any) -> list[list[int]]:
    """Patch offsets (a list of triples or tensors, or an (N, 3) array) as lists of three ints."""
    rows = patch_offsets.tolist() if hasattr(patch_offsets, "tolist") else list(patch_offsets)
    out = []
    for row in rows:
        values = row.tolist() if hasattr(row, "tolist") else list(row)
        if len(values) != 3:
            raise InvalidArgumentError(f"each patch offset must be [image_index, start, end], got {values}")
        out.append([int(v) for v in values])
    return out


def _target_sizes(target_sizes: Any, count: int | None = None) -> list[tuple[int, int]]:
    """Target sizes as (height, width) pairs, one per image (``count`` of them when given), positive and within the pixel limit."""
    try:
        sizes = size_list(target_sizes)
    except (TypeError, ValueError):
        sizes = [None]
    if sizes is None or (count is not None and len(sizes) != count) or any(s is None or len(s) != 2 for s in sizes):
        expected = f"each of the {count} images" if count is not None else "each image"
        raise InvalidArgumentError(f"target_sizes must give the (height, width) of {expected}, got {target_sizes!r}")
    for index, (height, width) in enumerate(sizes):
        if height < 1 or width < 1:
            raise InvalidArgumentError(f"target_sizes[{index}] must be a positive (height, width), got ({height}, {width})")
        geometry.check_output_size(height, width, f"target_sizes[{index}]")
    return sizes


@register_family
class EomtImageProcessor(MaskLabelsProcessor):
    """EoMT and EoMT-DINOv3: ``proc(images, segmentation_maps=..., instance_id_to_semantic_id=...)``."""

    transformers_class = "EomtImageProcessor"
    model_types = ("eomt", "eomt_dinov3")
    defaults = {
        "do_resize": True,
        "size": DEFAULT_SIZE,
        "resample": 2,
        "default_to_square": False,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
        "do_split_image": False,
        "do_pad": False,
        "ignore_index": None,
    }
    extra_params = {"do_split_image": normalize_bool, "ignore_index": _normalize_label}

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """Resize, then (optionally) split into patches, then (optionally) pad to ``size``."""
        steps = self.resize_steps(params) if params.get("do_resize") else []
        if params.get("do_split_image"):
            steps.append(SplitPatches(padded_size(params["size"])[0]))
        if params.get("do_pad"):
            steps.append(PadBottomRightTo(*padded_size(params["size"])))
        return steps

    def pads_batch(self, params: dict[str, Any]) -> bool:
        """Never: ``do_pad`` pads each image to ``size`` before normalising (a step), not the batch after."""
        return False

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """Every image's views (the image, or its patches) as ``pixel_values``; ``patch_offsets`` rows [image, start, end]."""
        items = flatten_inputs(images)
        if not items:
            raise InvalidArgumentError("images is empty: pass at least one image")
        steps = self.steps(params)
        options = self.load_options(params, backend)

        def transform(item: Any) -> list[tuple[Any, tuple[int, int] | None]]:
            views = _run_views(backend, backend.from_canonical(to_canonical(item, options)), steps)
            return [(backend.realize(view), span) for view, span in views]

        per_image = _map(transform, items, self.num_threads)
        views = [view for group in per_image for view, _ in group]
        features = self._assemble(views, params, backend, *self.affine_parts(params))
        features["patch_offsets"] = [[index, *span] for index, group in enumerate(per_image) for _, span in group if span is not None]
        return features

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """Tensors for ``return_tensors``; ``patch_offsets`` stays a list (one int64 triple per patch, empty without splitting)."""
        offsets = features.pop("patch_offsets", [])
        features = super().finalize(features, params, backend)
        convert = backend.to_torch if params.get("return_tensors") == "pt" else backend.from_canonical
        features["patch_offsets"] = [convert(np.array(row, dtype=np.int64)) for row in offsets]
        return features

    def mask_label_steps(self, params: dict[str, Any]) -> list[Any]:
        """The maps are resized (nearest-neighbour) like their images, then split and padded per view below."""
        return nearest_steps(self.resize_steps(params)) if params.get("do_resize") else []

    def view_mask_labels(self, label_map: np.ndarray, mapping: Any, params: dict[str, Any], features: BatchFeature) -> list[tuple[np.ndarray, np.ndarray]]:
        """One entry per view of the image (the image, or each of its patches), the image's mapping used for each."""
        ignore_index = params.get("ignore_index")
        return [binary_masks(view, mapping, ignore_index, ignore_index is not None) for view in _split_label_map(label_map, params)]

    def can_split_batch(self, params: dict[str, Any]) -> bool:
        """Always: an image's outputs never depend on its batch-mates (see :meth:`split_batch`)."""
        return True

    def split_batch(self, outputs: Any, count: int) -> list[dict[str, Any]]:
        """The outputs of a batch of ``count`` images, one dict per image as that image alone gives it (its patches stacked)."""
        pixels, offsets = outputs["pixel_values"], _offset_rows(outputs["patch_offsets"])
        if not offsets:
            return [{"pixel_values": pixels[i]} for i in range(count)]
        rows = []
        for index in range(count):
            picked = [k for k, row in enumerate(offsets) if row[0] == index]
            rows.append(
                {
                    "pixel_values": np.stack([np.asarray(pixels[k]) for k in picked]),
                    "patch_offsets": np.array([[0, *offsets[k][1:]] for k in picked], dtype=np.int64),
                }
            )
        return rows

    # -------------------------------------------------------------------------------- post-processing

    def _mask_logits(self, outputs: Any, size: Any) -> tuple[Any, Any, tuple[int, int], bool]:
        """(class logits, mask logits resized bilinearly to the padded size, that size, whether the input was NumPy)."""
        import torch.nn.functional as F

        size = self._post_size(size)
        classes, numpy_in = to_torch(output_field(outputs, "class_queries_logits"))
        masks, _ = to_torch(output_field(outputs, "masks_queries_logits"))
        if masks.ndim != 4 or classes.ndim != 3 or masks.shape[:2] != classes.shape[:2]:
            raise InvalidArgumentError(
                f"masks_queries_logits must be (batch, queries, height, width) and class_queries_logits (batch, queries, classes + 1) "
                f"with the same batch and queries, got {tuple(masks.shape)} and {tuple(classes.shape)}"
            )
        target = padded_size(size)
        return classes, F.interpolate(masks, size=target, mode="bilinear", align_corners=False), size, numpy_in

    def _post_size(self, size: Any) -> dict[str, int]:
        if size is None:
            return self._params["size"]
        return self._normalize({"size": size}, partial=True)["size"]

    def merge_image_patches(self, segmentation_logits: Any, patch_offsets: Any, target_sizes: Any, size: Any) -> list[Any]:
        """Per-image class scores stitched from patch scores (overlaps averaged), resized bilinearly to each target size."""
        import torch
        import torch.nn.functional as F

        logits, numpy_in = to_torch(segmentation_logits)
        size = self._post_size(size)
        offsets = _offset_rows(patch_offsets)
        if len(offsets) != len(logits):
            raise InvalidArgumentError(f"got {len(offsets)} patch offsets for {len(logits)} patch predictions")
        sizes = _target_sizes(target_sizes)
        if any(not 0 <= row[0] < len(sizes) for row in offsets):
            raise InvalidArgumentError(f"patch offsets name images up to {max(row[0] for row in offsets)}, but target_sizes has {len(sizes)} sizes")
        classes = logits.shape[1]
        canvases = [geometry.resize_output_size(h, w, size) for h, w in sizes]
        sums = [torch.zeros((classes, *canvas), dtype=logits.dtype) for canvas in canvases]
        counts = [torch.zeros((classes, *canvas), dtype=logits.dtype) for canvas in canvases]
        for patch, (index, start, end) in enumerate(offsets):
            height, width = sizes[index]
            # the patch direction follows the image's orientation, as the split did
            window = (slice(None), slice(start, end), slice(None)) if height > width else (slice(None), slice(None), slice(start, end))
            region = sums[index][window]
            if region.shape != logits[patch].shape:
                raise InvalidArgumentError(
                    f"patch {patch} ({tuple(logits[patch].shape[1:])} at {start}:{end}) does not fit image {index}'s "
                    f"{canvases[index][0]}x{canvases[index][1]} resized canvas: target_sizes must be the images' original sizes"
                )
            region += logits[patch]
            counts[index][window] += 1
        merged = [
            F.interpolate((total / count.clamp(min=1))[None], size=target, mode="bilinear", align_corners=False)[0]
            for total, count, target in zip(sums, counts, sizes)
        ]
        return [back(item, numpy_in) for item in merged]

    def unpad_image(self, segmentation_logits: Any, target_sizes: Any, size: Any) -> list[Any]:
        """Each image's logits cropped to its resized (unpadded) area and resized bilinearly to its target size."""
        import torch.nn.functional as F

        logits, numpy_in = to_torch(segmentation_logits)
        size = self._post_size(size)
        sizes = _target_sizes(target_sizes, len(logits))
        out = []
        for item, (height, width) in zip(logits, sizes):
            resized = geometry.resize_output_size(height, width, size)
            cropped = item[:, : resized[0], : resized[1]]
            out.append(back(F.interpolate(cropped[None], size=(height, width), mode="bilinear", align_corners=False)[0], numpy_in))
        return out

    def post_process_semantic_segmentation(self, outputs: Any, target_sizes: Any, size: Any = None, return_segmentation_scores: bool = False) -> list[Any]:
        """Per-pixel class ids (and, when asked, the class scores) at each target size; patches merged back where the outputs carry ``patch_offsets``."""
        import torch

        classes, masks, size, numpy_in = self._mask_logits(outputs, size)
        scores = torch.einsum("bqc,bqhw->bchw", classes.softmax(dim=-1)[..., :-1], masks.sigmoid())
        offsets = outputs.get("patch_offsets") if isinstance(outputs, dict) else getattr(outputs, "patch_offsets", None)
        if offsets is not None and len(offsets):
            merged = self.merge_image_patches(scores, offsets, target_sizes, size)
            results = [semantic_from_logits(item[None], None, return_segmentation_scores)[0] for item in merged]
        else:
            results = semantic_from_logits(scores, _target_sizes(target_sizes, len(scores)), return_segmentation_scores)
        return [BatchFeature({k: back(v, numpy_in) for k, v in item.items()}) if isinstance(item, BatchFeature) else back(item, numpy_in) for item in results]

    def post_process_panoptic_segmentation(
        self,
        outputs: Any,
        target_sizes: Any,
        threshold: float = 0.8,
        mask_threshold: float = 0.5,
        overlap_mask_area_threshold: float = 0.8,
        stuff_classes: list[int] | None = None,
        size: Any = None,
    ) -> list[dict[str, Any]]:
        """``[{"segmentation", "segments_info"}]`` per image: confident queries claim pixels; each of ``stuff_classes`` is one segment."""
        import torch

        classes, masks, size, numpy_in = self._mask_logits(outputs, size)
        per_image = self.unpad_image(masks, target_sizes, size)
        best_scores, best_labels = classes.softmax(dim=-1).max(-1)
        num_labels = classes.shape[-1] - 1
        results = []
        for index, logits in enumerate(per_image):
            keep = best_labels[index].ne(num_labels) & (best_scores[index] > threshold)
            if not bool(keep.any()):
                # transformers' empty result is a float map of -1
                results.append({"segmentation": back(torch.zeros(logits.shape[1:]) - 1, numpy_in), "segments_info": []})
                continue
            segmentation, segments = panoptic_segments(
                logits[keep].sigmoid(), best_scores[index][keep], best_labels[index][keep], mask_threshold, overlap_mask_area_threshold, set(stuff_classes or ())
            )
            results.append({"segmentation": back(segmentation, numpy_in), "segments_info": segments})
        return results

    def post_process_instance_segmentation(self, outputs: Any, target_sizes: Any, threshold: float = 0.8, size: Any = None) -> list[dict[str, Any]]:
        """``[{"segmentation", "segments_info"}]`` per image: each query, in order, whose mask is non-empty and whose
        class score times mean mask probability reaches ``threshold``, paints its mask (later queries over earlier)."""
        import torch

        classes, masks, size, numpy_in = self._mask_logits(outputs, size)
        per_image = self.unpad_image(masks, target_sizes, size)
        results = []
        for index, logits in enumerate(per_image):
            scores, labels = classes[index].softmax(dim=-1)[..., :-1].max(-1)
            binary = (logits > 0).float()
            mask_scores = (logits.sigmoid().flatten(1) * binary.flatten(1)).sum(1) / (binary.flatten(1).sum(1) + 1e-6)
            final = scores * mask_scores
            segmentation = torch.zeros(logits.shape[1:]) - 1
            segments: list[dict[str, Any]] = []
            for query in range(len(final)):
                score = final[query].item()
                if score >= threshold and bool(binary[query].any()):
                    segmentation[binary[query] == 1] = len(segments)
                    segments.append({"id": len(segments), "label_id": labels[query].item(), "score": round(score, 6)})
            results.append({"segmentation": back(segmentation, numpy_in), "segments_info": segments})
        return results


def panoptic_segments(probabilities: Any, scores: Any, labels: Any, mask_threshold: float, overlap_threshold: float, stuff: set[int]) -> tuple[Any, list[dict[str, Any]]]:
    """Segment map (int64, -1 = nothing, ids from 0) and segment info from kept queries' mask probabilities.

    Each pixel goes to its highest score-weighted query; a query keeps the pixels it claims that are also
    confident (probability >= ``mask_threshold``) when the claim covers more than ``overlap_threshold`` of its
    confident area. A class in ``stuff`` is one segment: later queries of it add to the first one's id.
    """
    import torch

    segmentation = torch.zeros(probabilities.shape[1:], dtype=torch.long) - 1
    owner = (scores[:, None, None] * probabilities).argmax(0)
    segments: list[dict[str, Any]] = []
    stuff_ids: dict[int, int] = {}
    for query in range(len(labels)):
        label = labels[query].item()
        claimed = owner == query
        confident = probabilities[query] >= mask_threshold
        final = claimed & confident
        claimed_area, confident_area = claimed.sum(), confident.sum()
        if not (claimed_area > 0 and confident_area > 0 and final.sum() > 0) or not (claimed_area / confident_area).item() > overlap_threshold:
            continue
        if label in stuff_ids:
            segmentation[final] = stuff_ids[label]
            continue
        if label in stuff:
            stuff_ids[label] = len(segments)
        segmentation[final] = len(segments)
        segments.append({"id": len(segments), "label_id": label, "score": round(scores[query].item(), 6)})
    return segmentation, segments
