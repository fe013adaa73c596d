"""MaskFormer and Mask2Former: resize (sides rounded up to ``size_divisor``), pad the batch with a pixel mask,
per-segment binary ``mask_labels`` / ``class_labels`` from segmentation maps, and universal post-processing.

The two families preprocess identically; Mask2Former's post-processing first upsamples the mask logits to
384x384 (its masks come out at 1/4 of that).
"""

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .. import geometry
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError, InvalidImageError
from ..features import BatchFeature
from ..params import COMMON_PARAMS, normalize_bool
from ..processor import ImageProcessor, Resize
from ..segmentation import MaskLabelsProcessor, back, output_field, semantic_from_logits, size_list, to_torch
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

DEFAULT_SIZE = {"shortest_edge": 800, "longest_edge": 1333}


@dataclass(frozen=True)
class DivisibleResize:
    """Resize by a size rule, then stretch each side up to the next multiple of ``divisor`` (when set)."""

    size: dict[str, int]
    resample: int
    divisor: int | None

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = geometry.resize_output_size(height, width, self.size)
        if self.divisor:
            target = geometry.pad_to_multiple(*target, self.divisor)
        if min(target) < 1:
            raise InvalidImageError(f"resizing a {height}x{width} image with size={self.size} gives an empty image")
        return image if target == (height, width) else backend.resize(image, target, self.resample)

    def describe(self) -> str:
        multiple = f", sides rounded up to multiples of {self.divisor}" if self.divisor else ""
        return Resize(self.size, self.resample).describe() + multiple


def binary_masks(label_map: np.ndarray, mapping: dict[int, int] | None, ignore_index: int | None, reduce: bool) -> tuple[np.ndarray, np.ndarray]:
    """One float mask per label present (sorted, ``ignore_index`` left out) and each mask's class id."""
    if reduce:
        if ignore_index is None:
            raise InvalidArgumentError("do_reduce_labels needs ignore_index (the label background becomes)")
        label_map = np.where(label_map == 0, ignore_index, label_map - 1)
    present = np.unique(label_map)
    if ignore_index is not None:
        present = present[present != ignore_index]
    masks = (label_map[None] == present[:, None, None]).astype(np.float32)
    if mapping is None:
        return masks, present.astype(np.int64)
    # with reduced labels the mapping is keyed by the original ids and gives original classes
    shift = 1 if reduce else 0
    try:
        classes = [mapping[int(label) + shift] - shift for label in present]
    except KeyError as missing:
        raise InvalidArgumentError(f"instance_id_to_semantic_id has no entry for instance id {missing}") from None
    return masks, np.array(classes, dtype=np.int64)


def normalize_size_divisor(value: Any, name: str = "size_divisor") -> int | None:
    """A non-negative integer; 0 means "no divisor", as in transformers' configs and checkpoints."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer)) or value != int(value) or value < 0:
        raise InvalidArgumentError(f"{name} must be a non-negative integer (0 for no rounding), got {value!r}")
    return int(value)


def _normalize_label(value: Any, name: str) -> int | None:
    """An integer label value (or None)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgumentError(f"{name} must be an integer label, got {value!r}")
    return int(value)


class _MaskFormerBase(MaskLabelsProcessor):
    """Preprocessing and post-processing shared by MaskFormer and Mask2Former."""

    #: Size the mask logits are bilinearly resized to before any post-processing (None: as they come).
    mask_logits_size: ClassVar[tuple[int, int] | None] = None
    #: Whether segment maps resized to a target size are antialiased (OneFormer resizes with torchvision's default, on).
    segments_antialias: ClassVar[bool] = False
    defaults = {
        "do_resize": True,
        "size": DEFAULT_SIZE,
        "resample": 2,
        "default_to_square": False,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
        "size_divisor": 32,
        "ignore_index": None,
        "do_reduce_labels": False,
        "num_labels": None,
    }
    extra_params = {
        "size_divisor": normalize_size_divisor,
        "ignore_index": _normalize_label,
        "do_reduce_labels": normalize_bool,
        "num_labels": lambda value, name: None if value is None else COMMON_PARAMS["size_divisor"](value, name),
    }
    model_input_names = ["pixel_values", "pixel_mask"]

    @classmethod
    def upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Legacy ``max_size`` becomes the size's ``longest_edge`` (an int size is then the shortest edge)."""
        max_size = config.pop("max_size", None)
        config.pop("_max_size", None)
        if max_size is not None:
            size = config.get("size")
            if size is None:
                config["size"] = dict(DEFAULT_SIZE, longest_edge=max_size)
            elif isinstance(size, int):
                config["size"] = {"shortest_edge": size, "longest_edge": max_size}
        return config

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """One resize whose sides are rounded up to ``size_divisor``."""
        if params.get("size") is None:
            raise InvalidArgumentError("do_resize is True but size is not set")
        return [DivisibleResize(params["size"], params["resample"], params.get("size_divisor"))]

    def _assemble(self, images: list[Any], params: dict[str, Any], backend: Backend, scale, mean, std) -> BatchFeature:
        # always padded bottom/right (to the largest image or pad_size) with a pixel mask; size_divisor acted in the resize
        return super()._assemble(images, dict(params, do_pad=True, return_pixel_mask=True, size_divisor=None), backend, scale, mean, std)

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        """The common lines; padding is always on (the resize already makes sides multiples of ``size_divisor``)."""
        params = self._params if params is None else params
        target = params.get("pad_size")
        where = f"{target['height']}x{target['width']}" if target else "the largest image in the batch"
        return super().describe_pipeline(dict(params, do_pad=False)) + [f"pad bottom/right to {where}, with a pixel mask"]

    def view_mask_labels(self, label_map: np.ndarray, mapping: Any, params: dict[str, Any], features: BatchFeature) -> list[tuple[np.ndarray, np.ndarray]]:
        """One view per image: its masks padded to the batch canvas with ``ignore_index``, as transformers fills them."""
        canvas = tuple(int(v) for v in features["pixel_mask"][0].shape)
        ignore_index = params.get("ignore_index")
        masks, classes = binary_masks(label_map, mapping, ignore_index, bool(params.get("do_reduce_labels")))
        padded = np.full((len(masks), *canvas), 0 if ignore_index is None else ignore_index, np.float32)
        padded[:, : masks.shape[1], : masks.shape[2]] = masks
        return [(padded, classes)]

    def pad(self, images: Any, padded_size: tuple[int, int], segmentation_maps: Any = None, fill: float = 0, ignore_index: int = 255) -> tuple[Any, Any, Any]:
        """Images (a list, or a stacked batch) padded bottom/right to ``padded_size`` with ``fill``, their pixel masks, and
        ``segmentation_maps`` padded with ``ignore_index``, as transformers' MaskFormer ``pad``."""
        target = {"height": int(padded_size[0]), "width": int(padded_size[1])}
        stacked = not isinstance(images, (list, tuple))
        padded, masks = ImageProcessor.pad(self, list(images), pad_size=target, fill_value=fill, return_mask=True)
        if stacked:
            padded, masks = _stack(padded), _stack(masks)
        if segmentation_maps is not None:
            segmentation_maps = [ImageProcessor.pad(self, label_map, pad_size=target, fill_value=ignore_index) for label_map in segmentation_maps]
        return padded, masks, segmentation_maps

    # -------------------------------------------------------------------------------- post-processing

    def _queries(self, outputs: Any) -> tuple[Any, Any, bool]:
        """(class logits, mask logits resized per the family, whether the input was NumPy)."""
        import torch.nn.functional as F

        classes, numpy_in = to_torch(output_field(outputs, "class_queries_logits"))
        masks, _ = to_torch(output_field(outputs, "masks_queries_logits"))
        if self.mask_logits_size is not None:
            masks = F.interpolate(masks, size=self.mask_logits_size, mode="bilinear", align_corners=False)
        return classes, masks, numpy_in

    def post_process_semantic_segmentation(self, outputs: Any, target_sizes: Any = None, return_segmentation_scores: bool = False) -> list[Any]:
        """Per-pixel class ids from class-weighted mask probabilities (resized to each target size when given)."""
        import torch

        classes, masks, numpy_in = self._queries(outputs)
        scores = torch.einsum("bqc,bqhw->bchw", classes.softmax(dim=-1)[..., :-1], masks.sigmoid())
        results = semantic_from_logits(scores, target_sizes, return_segmentation_scores)
        return [_back_all(item, numpy_in) for item in results]

    def post_process_instance_segmentation(
        self,
        outputs: Any,
        threshold: float = 0.5,
        mask_threshold: float = 0.5,
        overlap_mask_area_threshold: float = 0.8,
        target_sizes: Any = None,
        return_coco_annotation: bool | None = False,
        return_binary_maps: bool | None = False,
    ) -> list[dict[str, Any]]:
        """``[{"segmentation", "segments_info"}]`` per image from the top (query, class) pairs scoring at least ``threshold``."""
        import torch
        import torch.nn.functional as F

        if return_coco_annotation and return_binary_maps:
            raise InvalidArgumentError("return_coco_annotation and return_binary_maps cannot both be True")
        classes, masks, numpy_in = self._queries(outputs)
        sizes = size_list(target_sizes)
        num_queries, num_classes = classes.shape[-2], classes.shape[-1] - 1
        results = []
        for index in range(len(classes)):
            class_scores = classes[index].softmax(dim=-1)[:, :-1].flatten()
            top_scores, top = class_scores.topk(num_queries, sorted=False)
            labels = top % num_classes
            logits = masks[index][torch.div(top, num_classes, rounding_mode="floor")]
            binary = (logits > 0).float()
            mask_scores = (logits.sigmoid().flatten(1) * binary.flatten(1)).sum(1) / (binary.flatten(1).sum(1) + 1e-6)
            scores = top_scores * mask_scores
            shape = masks.shape[2:] if sizes is None else sizes[index]
            segmentation = torch.zeros(shape) - 1
            if sizes is not None:
                binary = F.interpolate(binary[None], size=sizes[index], mode="nearest")[0]
            instances, segments = [], []
            for query in range(num_queries):
                score = scores[query].item()
                if score >= threshold and bool(binary[query].any()):
                    segmentation[binary[query] == 1] = len(segments)
                    segments.append({"id": len(segments), "label_id": labels[query].item(), "was_fused": False, "score": round(score, 6)})
                    instances.append(binary[query])
            if return_coco_annotation:
                segmentation = segmentation_to_rle(segmentation)
            elif return_binary_maps and instances:
                segmentation = torch.stack(instances)
            results.append({"segmentation": _back_all(segmentation, numpy_in), "segments_info": segments})
        return results

    def post_process_panoptic_segmentation(
        self,
        outputs: Any,
        threshold: float = 0.5,
        mask_threshold: float = 0.5,
        overlap_mask_area_threshold: float = 0.8,
        label_ids_to_fuse: set[int] | None = None,
        target_sizes: Any = None,
    ) -> list[dict[str, Any]]:
        """``[{"segmentation", "segments_info"}]`` per image: confident queries claim pixels; ``label_ids_to_fuse`` merge per class."""
        import torch

        fuse = set(label_ids_to_fuse or ())
        classes, masks, numpy_in = self._queries(outputs)
        sizes = size_list(target_sizes)
        num_labels = classes.shape[-1] - 1
        probabilities = masks.sigmoid()
        best_scores, best_labels = classes.softmax(dim=-1).max(-1)
        results = []
        for index in range(len(classes)):
            keep = best_labels[index].ne(num_labels) & (best_scores[index] > threshold)
            target = None if sizes is None else sizes[index]
            if not bool(keep.any()):
                shape = tuple(probabilities.shape[2:]) if target is None else target
                results.append({"segmentation": back(torch.zeros(shape) - 1, numpy_in), "segments_info": []})
                continue
            segmentation, segments = panoptic_segments(
                probabilities[index][keep], best_scores[index][keep], best_labels[index][keep], mask_threshold, overlap_mask_area_threshold, fuse, target,
                self.segments_antialias,
            )
            results.append({"segmentation": back(segmentation, numpy_in), "segments_info": segments})
        return results


def _stack(arrays: list[Any]) -> Any:
    """One batch from same-shaped arrays or tensors."""
    if hasattr(arrays[0], "detach"):
        import torch

        return torch.stack(arrays)
    return np.stack(arrays)


def _back_all(value: Any, numpy_in: bool) -> Any:
    """``back`` through a BatchFeature or list (RLE) result."""
    if isinstance(value, BatchFeature):
        return BatchFeature({k: back(v, numpy_in) for k, v in value.items()})
    return value if isinstance(value, list) else back(value, numpy_in)


def panoptic_segments(
    probabilities: Any, scores: Any, labels: Any, mask_threshold: float, overlap_threshold: float, fuse: set[int], target: tuple[int, int] | None, antialias: bool = False
) -> tuple[Any, list[dict[str, Any]]]:
    """Segment map (int32, 0 = nothing) and segment info: each pixel goes to its highest score-weighted query,
    and a query keeps its segment only when it holds more than ``overlap_threshold`` of its own confident area."""
    import torch
    import torch.nn.functional as F

    if target is not None:
        probabilities = F.interpolate(probabilities[None], size=target, mode="bilinear", align_corners=False, antialias=antialias)[0]
    height, width = probabilities.shape[1:]
    segmentation = torch.zeros((height, width), dtype=torch.int32, device=probabilities.device)
    weighted = probabilities * scores.view(-1, 1, 1)
    owner = weighted.argmax(0)
    segments: list[dict[str, Any]] = []
    fused_ids: dict[int, int] = {}
    # a fused segment's id becomes the running id, so the next new segment counts on from it (transformers' numbering,
    # which can repeat an id; kept so segment ids match the reference)
    segment_id = 0
    for query in range(len(labels)):
        label = labels[query].item()
        claimed = owner == query
        claimed_area = claimed.sum()
        confident_area = (weighted[query] >= mask_threshold).sum()
        if not (claimed_area > 0 and confident_area > 0) or not (claimed_area / confident_area).item() > overlap_threshold:
            continue
        segment_id = fused_ids[label] if label in fused_ids else segment_id + 1
        segmentation[claimed] = segment_id
        segments.append({"id": segment_id, "label_id": label, "was_fused": label in fuse, "score": round(scores[query].item(), 6)})
        if label in fuse:
            fused_ids[label] = segment_id
    return segmentation, segments


def segmentation_to_rle(segmentation: Any) -> list[list[int]]:
    """Run-length encoding (alternating start, length over the row-major pixels) of each segment id's mask, ids ascending."""
    import torch

    out = []
    for segment_id in torch.unique(segmentation):
        pixels = torch.cat([torch.zeros(1), (segmentation == segment_id).flatten().float(), torch.zeros(1)])
        starts = (torch.where(pixels[1:] != pixels[:-1])[0] + 1).tolist()
        out.append([value if i % 2 == 0 else value - starts[i - 1] for i, value in enumerate(starts)])
    return out


@register_family
class MaskFormerImageProcessor(_MaskFormerBase):
    """MaskFormer."""

    transformers_class = "MaskFormerImageProcessor"
    model_types = ("maskformer",)
    class_aliases = ("MaskFormerFeatureExtractor",)


@register_family
class Mask2FormerImageProcessor(_MaskFormerBase):
    """Mask2Former."""

    transformers_class = "Mask2FormerImageProcessor"
    model_types = ("mask2former",)
    mask_logits_size = (384, 384)
