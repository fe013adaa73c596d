"""DETR-style detectors: resize by shortest/longest edge, pad the batch with a ``pixel_mask``, COCO targets.

One family serves DETR (and Table Transformer); Conditional DETR, Deformable DETR, YOLOS, Grounding
DINO and RT-DETR are subclasses that change defaults, YOLOS's size rounding, or how detections are
scored. Images go through the core pipeline; COCO annotations (``annotations=``) follow them through
the same resize and padding and come back as ``labels``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import geometry, postprocess
from ..auto import register_family
from ..backends import Backend
from ..backends.base import NEAREST
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..inputs import flatten_inputs, to_canonical
from ..params import normalize_bool
from ..processor import ImageProcessor, Resize, _map
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

COCO_DETECTION, COCO_PANOPTIC = "coco_detection", "coco_panoptic"
DEFAULT_LONGEST_EDGE = 1333  # the longest edge a legacy int ``size`` gets when the config names no ``max_size``


def normalize_format(value: Any, name: str = "format") -> str | None:
    """An annotation format: "coco_detection" or "coco_panoptic" (transformers' AnnotationFormat enum accepted)."""
    if value is None:
        return None
    text = str(getattr(value, "value", value))
    if text not in (COCO_DETECTION, COCO_PANOPTIC):
        raise InvalidArgumentError(f"{name} must be {COCO_DETECTION!r} or {COCO_PANOPTIC!r}, got {value!r}")
    return text


@dataclass(frozen=True)
class YolosResize(Resize):
    """DETR's shortest/longest edge resize with YOLOS's rounding (sides cut to multiples of 16)."""

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = geometry.yolos_size(height, width, self.size["shortest_edge"], self.size["longest_edge"])
        if min(target) < 1:
            raise InvalidArgumentError(f"resizing a {height}x{width} image with size={self.size} gives an empty {target[0]}x{target[1]} image")
        return image if target == (height, width) else backend.resize(image, target, self.resample)

    def describe(self) -> str:
        return super().describe() + ", sides cut to multiples of 16"


# ------------------------------------------------------------------------------------ annotations


def _polygons_to_masks(segmentations: list[Any], height: int, width: int) -> np.ndarray:
    """COCO polygons (one list of polygons per object) rasterised to binary masks, as COCO's own tools do."""
    try:
        from pycocotools import mask as coco_mask
    except ImportError:
        raise InvalidArgumentError("return_segmentation_masks with COCO polygons needs pycocotools: pip install pycocotools") from None
    masks = np.zeros((len(segmentations), height, width), dtype=bool)
    for index, polygons in enumerate(segmentations):
        decoded = coco_mask.decode(coco_mask.frPyObjects(polygons, height, width))
        masks[index] = (decoded if decoded.ndim == 2 else decoded.any(axis=2)) > 0
    return masks


def coco_detection_target(annotation: dict[str, Any], height: int, width: int, with_masks: bool) -> dict[str, np.ndarray]:
    """A COCO detection annotation ({"image_id", "annotations": [...]}) as a DETR target in pixel corner boxes.

    Crowd objects are dropped, boxes clipped to the image, and empty boxes removed.
    """
    objects = annotation["annotations"]
    kept = [obj for obj in objects if not obj.get("iscrowd", 0)]
    boxes = np.asarray([obj["bbox"] for obj in kept], dtype=np.float32).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    keep = (boxes[:, 3] > boxes[:, 1]) & (boxes[:, 2] > boxes[:, 0])
    target = {
        "image_id": np.asarray([annotation["image_id"]], dtype=np.int64),
        "class_labels": np.asarray([obj["category_id"] for obj in kept], dtype=np.int64).reshape(-1)[keep],
        "boxes": boxes[keep],
        "area": np.asarray([obj["area"] for obj in kept], dtype=np.float32).reshape(-1)[keep],
        "iscrowd": np.zeros(int(keep.sum()), dtype=np.int64),
        "orig_size": np.asarray([height, width], dtype=np.int64),
    }
    keypoints = [obj["keypoints"] for obj in kept if "keypoints" in obj]
    if keypoints:
        points = np.asarray(keypoints, dtype=np.float32)[keep]
        target["keypoints"] = points.reshape(-1, 3) if len(points) else points
    if with_masks:
        # crowd objects lose their masks along with their boxes (transformers rasterises all objects and
        # then indexes them with the non-crowd filter, which fails when crowds are present)
        masks = _polygons_to_masks([obj["segmentation"] for obj in objects], height, width)
        non_crowd = np.asarray([not obj.get("iscrowd", 0) for obj in objects], dtype=bool)
        target["masks"] = masks[non_crowd][keep] if len(objects) else masks
    return target


def coco_panoptic_target(annotation: dict[str, Any], height: int, width: int, masks_path: str | os.PathLike | None, with_masks: bool) -> dict[str, np.ndarray]:
    """A COCO panoptic annotation (segments_info + a PNG whose RGB colours encode segment ids) as a DETR target."""
    target = {
        "image_id": np.asarray([annotation["image_id"] if "image_id" in annotation else annotation["id"]], dtype=np.int64),
        "size": np.asarray([height, width], dtype=np.int64),
        "orig_size": np.asarray([height, width], dtype=np.int64),
    }
    if "segments_info" not in annotation:
        return target
    if masks_path is None:
        raise InvalidArgumentError("coco_panoptic annotations need masks_path, the folder of the segment PNG files")
    from PIL import Image

    with Image.open(os.path.join(os.fspath(masks_path), annotation["file_name"])) as png:
        rgb = np.asarray(png.convert("RGB"), dtype=np.int64)
    ids = rgb[:, :, 0] + 256 * rgb[:, :, 1] + 65536 * rgb[:, :, 2]  # COCO panoptic colour -> segment id
    segments = annotation["segments_info"]
    masks = ids[None] == np.asarray([s["id"] for s in segments], dtype=np.int64).reshape(-1, 1, 1)
    if with_masks:
        target["masks"] = masks
    target["boxes"] = postprocess.masks_to_boxes(masks)
    target["class_labels"] = np.asarray([s["category_id"] for s in segments], dtype=np.int64)
    target["iscrowd"] = np.asarray([s["iscrowd"] for s in segments], dtype=np.int64)
    target["area"] = np.asarray([s["area"] for s in segments], dtype=np.float32)
    return target


def _resize_masks(masks: np.ndarray, size: tuple[int, int], backend: Backend) -> np.ndarray:
    """Binary masks resized nearest-neighbour with the images' backend (so both agree with its reference)."""
    out = np.zeros((len(masks), *size), dtype=bool)
    for index, mask in enumerate(masks):
        native = backend.from_canonical(np.ascontiguousarray(mask.astype(np.uint8)[:, :, None]))
        out[index] = backend.to_numpy(backend.resize(native, size, NEAREST))[:, :, 0] > 0.5
    return out


def transform_target(
    target: dict[str, np.ndarray],
    original: tuple[int, int],
    resized: tuple[int, int] | None,
    padded: tuple[int, int] | None,
    normalize_boxes: bool,
    backend: Backend,
) -> dict[str, np.ndarray]:
    """Follow the image through resize (boxes, areas, masks scaled), box normalisation and bottom/right padding."""
    target = dict(target)
    size = original
    if resized is not None:
        ratio_h, ratio_w = resized[0] / original[0], resized[1] / original[1]
        if "boxes" in target:
            target["boxes"] = target["boxes"] * np.asarray([ratio_w, ratio_h, ratio_w, ratio_h], dtype=np.float32)
        if "area" in target:
            target["area"] = target["area"] * np.float32(ratio_w * ratio_h)
        if "masks" in target:
            target["masks"] = _resize_masks(target["masks"], resized, backend)
        size = resized
        target["size"] = np.asarray(size, dtype=np.int64)
    if normalize_boxes and "boxes" in target:
        target["boxes"] = postprocess.corners_to_center(target["boxes"]) / np.asarray([size[1], size[0], size[1], size[0]], dtype=np.float32)
    if padded is not None and padded != size:
        if "masks" in target:
            masks = np.zeros((len(target["masks"]), *padded), dtype=bool)
            masks[:, : size[0], : size[1]] = target["masks"]
            target["masks"] = masks
        if normalize_boxes and "boxes" in target:
            # normalised boxes are relative to the padded canvas, which the image only partly fills
            ratio_h, ratio_w = size[0] / padded[0], size[1] / padded[1]
            target["boxes"] = target["boxes"] * np.asarray([ratio_w, ratio_h, ratio_w, ratio_h], dtype=np.float32)
        target["size"] = np.asarray(padded, dtype=np.int64)
    return target


def _canvas_size(pixel_values: Any, params: dict[str, Any]) -> tuple[int, int]:
    """(height, width) of the padded batch, whatever its layout."""
    first = pixel_values[0]
    return tuple(first.shape[:2] if params.get("data_format") == "channels_last" else first.shape[-2:])


# ---------------------------------------------------------------------------------------- families


@register_family
class DetrImageProcessor(ImageProcessor):
    """DETR and Table Transformer: shortest edge 800 / longest 1333, ImageNet normalisation, padded batch with a mask."""

    transformers_class = "DetrImageProcessor"
    model_types = ("detr", "table-transformer", "omdet-turbo")
    model_input_names = ["pixel_values", "pixel_mask"]
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 800, "longest_edge": DEFAULT_LONGEST_EDGE},
        "resample": 2,
        "default_to_square": False,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
        "do_pad": True,
        "return_pixel_mask": True,
        "format": COCO_DETECTION,
        "do_convert_annotations": None,  # None: follow do_normalize, as transformers does
    }
    extra_params = {"format": normalize_format, "do_convert_annotations": normalize_bool}

    @classmethod
    def upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Legacy keys: ``max_size`` is the longest edge of an int ``size``; ``pad_and_return_pixel_mask`` is ``do_pad``."""
        if "pad_and_return_pixel_mask" in config:
            config.setdefault("do_pad", config.pop("pad_and_return_pixel_mask"))
        max_size = config.pop("max_size", None)
        size = config.get("size")
        if isinstance(size, (int, float)) and not isinstance(size, bool):
            # None only: a max_size of 0, [] or {} is a mistake for the size check to report, not a request for the default.
            config["size"] = {"shortest_edge": size, "longest_edge": DEFAULT_LONGEST_EDGE if max_size is None else max_size}
        elif size is None and max_size is not None:
            config["size"] = {"shortest_edge": 800, "longest_edge": max_size}
        return config

    def __init__(self, *, backend: str | None = None, num_threads: int | None = None, **params: Any) -> None:
        """Build from parameters; the legacy ``max_size`` / ``pad_and_return_pixel_mask`` are accepted too."""
        params = self.upgrade_config(dict(params))
        super().__init__(backend=backend, num_threads=num_threads, **params)

    # ----------------------------------------------------------------------------------- pipeline

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """Only a resize: DETR-style families never crop."""
        return self.resize_steps(params) if params.get("do_resize") else []

    def resize_target_size(self, height: int, width: int, size: dict[str, int]) -> tuple[int, int]:
        """Where the resize step sends a ``height`` x ``width`` image (annotations are scaled by the same ratio)."""
        return geometry.resize_output_size(height, width, size)

    def preprocess(
        self,
        images: Any,
        annotations: dict[str, Any] | list[dict[str, Any]] | None = None,
        return_segmentation_masks: bool | None = None,
        masks_path: str | os.PathLike | None = None,
        **kwargs: Any,
    ) -> BatchFeature:
        """Preprocess images, and COCO ``annotations`` (one dict per image) into ``labels`` when given."""
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        if annotations is None:
            return self.finalize(self.process_images(images, params, backend), params, backend)
        annotations = [annotations] if isinstance(annotations, dict) else list(annotations)
        features, originals, resized = self._process_with_sizes(images, params, backend)
        if len(annotations) != len(originals):
            raise InvalidArgumentError(f"got {len(originals)} images but {len(annotations)} annotations")
        labels = self._targets(annotations, originals, resized, features, params, backend, return_segmentation_masks, masks_path)
        features = self.finalize(features, params, backend)
        tensor_type = params.get("return_tensors") or ("pt" if backend.name == "torchvision" else None)
        features["labels"] = [BatchFeature(label, tensor_type=tensor_type) for label in labels]
        return features

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """The core pipeline (pixel_values, and pixel_mask when padding)."""
        return self._process_with_sizes(images, params, backend)[0]

    def _process_with_sizes(self, images: Any, params: dict[str, Any], backend: Backend) -> tuple[BatchFeature, list, list]:
        """Run the core pipeline, also returning each image's size before and after resizing."""
        items = flatten_inputs(images)
        if not items:
            raise InvalidArgumentError("images is empty: pass at least one image")
        options = self.load_options(params, backend)
        steps = self.steps(params)

        def transform(item: Any) -> tuple[Any, tuple[int, int]]:
            image = backend.from_canonical(to_canonical(item, options))
            original = backend.size(image)
            for step in steps:
                image = step.apply(backend, image)
            return backend.realize(image), original

        results = _map(transform, items, self.num_threads)
        transformed = [image for image, _ in results]
        features = self._assemble(transformed, params, backend, *self.affine_parts(params))
        return features, [original for _, original in results], [backend.size(image) for image in transformed]

    def _targets(self, annotations, originals, resized, features, params, backend, with_masks, masks_path) -> list[dict[str, np.ndarray]]:
        fmt = params.get("format") or COCO_DETECTION
        convert = params.get("do_convert_annotations")
        if convert is None:
            convert = bool(params.get("do_normalize"))
        padded = _canvas_size(features["pixel_values"], params) if params.get("do_pad") else None
        labels = []
        for annotation, original, size in zip(annotations, originals, resized):
            if not isinstance(annotation, dict):
                raise InvalidArgumentError(f"each annotation must be a dict, got {type(annotation).__name__}")
            if fmt == COCO_DETECTION:
                if "image_id" not in annotation or "annotations" not in annotation:
                    raise InvalidArgumentError('coco_detection annotations need "image_id" and "annotations" keys')
                target = coco_detection_target(annotation, *original, with_masks=bool(with_masks))
            else:
                if "file_name" not in annotation or not ("image_id" in annotation or "id" in annotation):
                    raise InvalidArgumentError('coco_panoptic annotations need "file_name", "image_id" and "segments_info" keys')
                target = coco_panoptic_target(annotation, *original, masks_path, with_masks=True if with_masks is None else bool(with_masks))
            labels.append(transform_target(target, original, size if params.get("do_resize") else None, padded, convert, backend))
        return labels

    # ---------------------------------------------------------------------------- post-processing

    def post_process_object_detection(self, outputs: Any, threshold: float = 0.5, target_sizes: Any = None) -> list[dict[str, Any]]:
        """Scores, labels and (x0, y0, x1, y1) boxes per image: softmax over classes, the "no object" class dropped."""
        (logits, boxes), from_numpy = postprocess.model_outputs(outputs, "logits", "pred_boxes")
        pairs = postprocess.target_size_pairs(target_sizes, len(logits))
        return postprocess.to_numpy_like(postprocess.softmax_detections(logits, boxes, threshold, pairs), from_numpy)

    def post_process_semantic_segmentation(self, outputs: Any, target_sizes: Any = None, return_segmentation_scores: bool = False) -> list[Any]:
        """A class-id map per image, from class logits and query masks.

        With ``return_segmentation_scores`` each item has ``segmentation`` and ``segmentation_scores`` (per class).
        """
        import torch

        (logits, masks), from_numpy = postprocess.model_outputs(outputs, "logits", "pred_masks")
        scores = torch.einsum("bqc,bqhw->bchw", logits.softmax(-1)[..., :-1], masks.sigmoid())
        pairs = postprocess.target_size_pairs(target_sizes, len(logits))
        results = []
        for index in range(len(logits)):
            maps = scores[index] if pairs is None else postprocess.resize_logits(scores[index], pairs[index])
            segmentation = maps.argmax(0)
            results.append(BatchFeature({"segmentation": segmentation, "segmentation_scores": maps}) if return_segmentation_scores else segmentation)
        return postprocess.to_numpy_like(results, from_numpy)

    def _segments(self, outputs: Any, threshold: float, mask_threshold: float, overlap: float, fuse: Any, target_sizes: Any) -> tuple[list[dict[str, Any]], bool]:
        import torch

        (logits, masks), from_numpy = postprocess.model_outputs(outputs, "logits", "pred_masks")
        no_object = logits.shape[-1] - 1
        probs = masks.sigmoid()
        scores, labels = logits.softmax(-1).max(-1)
        pairs = postprocess.target_size_pairs(target_sizes, len(logits))
        results = []
        for index in range(len(logits)):
            keep = (labels[index] != no_object) & (scores[index] > threshold)
            size = None if pairs is None else pairs[index]
            if not keep.any():
                height, width = size if size is not None else probs.shape[-2:]
                results.append({"segmentation": torch.full((height, width), -1.0), "segments_info": []})
                continue
            segmentation, segments = postprocess.segments_from_mask_probs(
                probs[index][keep], scores[index][keep], labels[index][keep], mask_threshold, overlap, fuse, size
            )
            results.append({"segmentation": segmentation, "segments_info": segments})
        return results, from_numpy

    def post_process_instance_segmentation(
        self,
        outputs: Any,
        threshold: float = 0.5,
        mask_threshold: float = 0.5,
        overlap_mask_area_threshold: float = 0.8,
        target_sizes: Any = None,
        return_coco_annotation: bool | None = False,
    ) -> list[dict[str, Any]]:
        """A segment-id map (COCO run lengths per segment with ``return_coco_annotation``) and ``segments_info`` per image."""
        results, from_numpy = self._segments(outputs, threshold, mask_threshold, overlap_mask_area_threshold, (), target_sizes)
        if return_coco_annotation:
            for result in results:
                if result["segments_info"]:  # as in transformers, an image without segments keeps its -1 map
                    result["segmentation"] = postprocess.segmentation_to_rle(result["segmentation"])
        return postprocess.to_numpy_like(results, from_numpy)

    def post_process_panoptic_segmentation(
        self,
        outputs: Any,
        threshold: float = 0.5,
        mask_threshold: float = 0.5,
        overlap_mask_area_threshold: float = 0.8,
        label_ids_to_fuse: set[int] | None = None,
        target_sizes: Any = None,
    ) -> list[dict[str, Any]]:
        """A segment-id map and ``segments_info`` per image; queries of a label in ``label_ids_to_fuse`` share one segment."""
        results, from_numpy = self._segments(outputs, threshold, mask_threshold, overlap_mask_area_threshold, label_ids_to_fuse or (), target_sizes)
        return postprocess.to_numpy_like(results, from_numpy)


@register_family
class ConditionalDetrImageProcessor(DetrImageProcessor):
    """Conditional DETR: DETR's preprocessing; detections are the top-k (query, class) pairs by sigmoid score."""

    transformers_class = "ConditionalDetrImageProcessor"
    model_types = ("conditional_detr",)

    def post_process_object_detection(self, outputs: Any, threshold: float = 0.5, target_sizes: Any = None, top_k: int = 100) -> list[dict[str, Any]]:
        """Scores, labels and corner boxes of the ``top_k`` best (query, class) pairs above ``threshold``."""
        (logits, boxes), from_numpy = postprocess.model_outputs(outputs, "logits", "pred_boxes")
        pairs = postprocess.target_size_pairs(target_sizes, len(logits))
        return postprocess.to_numpy_like(postprocess.sigmoid_topk_detections(logits, boxes, threshold, pairs, top_k), from_numpy)


@register_family
class DeformableDetrImageProcessor(ConditionalDetrImageProcessor):
    """Deformable DETR: as Conditional DETR (sigmoid top-k detections)."""

    transformers_class = "DeformableDetrImageProcessor"
    model_types = ("deformable_detr", "lw_detr")


@register_family
class GroundingDinoImageProcessor(DetrImageProcessor):
    """Grounding DINO: DETR's preprocessing; logits are per text token, scored by the sigmoid of the best one."""

    transformers_class = "GroundingDinoImageProcessor"
    model_types = ("grounding-dino", "mm-grounding-dino")

    def post_process_object_detection(self, outputs: Any, threshold: float = 0.1, target_sizes: Any = None) -> list[dict[str, Any]]:
        """Scores, best-token indices (``labels``) and corner boxes per image above ``threshold``."""
        (logits, boxes), from_numpy = postprocess.model_outputs(outputs, "logits", "pred_boxes")
        pairs = postprocess.target_size_pairs(target_sizes, len(logits))
        return postprocess.to_numpy_like(postprocess.max_logit_detections(logits, boxes, threshold, pairs), from_numpy)

    def post_process_grounded_object_detection(
        self,
        outputs: Any,
        input_ids: Any = None,
        threshold: float = 0.25,
        text_threshold: float = 0.25,
        target_sizes: Any = None,
        text_labels: list[list[str]] | None = None,
        tokenizer: Any = None,
    ) -> list[dict[str, Any]]:
        """Boxes scoring above ``threshold`` and, for each, the prompt tokens scoring above ``text_threshold``.

        Each result has ``scores``, ``boxes`` and ``token_ids`` (one list of prompt token ids per box); with a
        ``tokenizer`` (anything with ``batch_decode``) also ``text_labels`` and ``labels``, the decoded phrases,
        as transformers' GroundingDinoProcessor returns them. ``input_ids`` default to ``outputs.input_ids``;
        ``text_labels`` is accepted for pipeline compatibility and not used, as in transformers.
        """
        (logits, boxes), from_numpy = postprocess.model_outputs(outputs, "logits", "pred_boxes")
        if input_ids is None:
            (input_ids,), _ = postprocess.model_outputs(outputs, "input_ids")
        pairs = postprocess.target_size_pairs(target_sizes, len(logits))
        probs = logits.sigmoid()
        scores = probs.max(-1).values
        boxes = postprocess.center_to_corners(boxes)
        if pairs is not None:
            boxes = postprocess.scale_boxes(boxes, pairs)
        results = []
        for index in range(len(logits)):
            keep = scores[index] > threshold
            token_map = probs[index][keep] > text_threshold
            # the first position ([CLS]) and the last of the logits' token axis never name a phrase
            token_map[:, 0] = False
            token_map[:, -1] = False
            ids = [int(t) for t in input_ids[index].tolist()]
            token_ids = [[ids[i] for i in row.nonzero().flatten().tolist()] for row in token_map]
            result: dict[str, Any] = {"scores": scores[index][keep], "boxes": boxes[index][keep], "token_ids": token_ids}
            if tokenizer is not None:
                result["text_labels"] = result["labels"] = tokenizer.batch_decode(token_ids)
            results.append(result)
        return postprocess.to_numpy_like(results, from_numpy)


@register_family
class YolosImageProcessor(DetrImageProcessor):
    """YOLOS: DETR's pipeline with sides rounded down to multiples of 16."""

    transformers_class = "YolosImageProcessor"
    model_types = ("yolos",)

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """YOLOS's own rounding for shortest/longest edge sizes; other size forms resize as usual."""
        size = params.get("size")
        if size is not None and set(size) == {"shortest_edge", "longest_edge"}:
            return [YolosResize(size, params["resample"])]
        return super().resize_steps(params)


@register_family
class RTDetrImageProcessor(DetrImageProcessor):
    """RT-DETR: a plain 640x640 resize and rescale, no normalisation and no padding."""

    transformers_class = "RTDetrImageProcessor"
    model_types = ("rt_detr", "rt_detr_v2", "deimv2")
    defaults = {"size": {"height": 640, "width": 640}, "do_normalize": False, "do_pad": False, "do_convert_annotations": True}

    @classmethod
    def upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """RT-DETR configs have no legacy DETR keys to rewrite."""
        return config

    def post_process_object_detection(
        self, outputs: Any, threshold: float = 0.5, target_sizes: Any = None, use_focal_loss: bool = True
    ) -> list[dict[str, Any]]:
        """Top (query, class) pairs by sigmoid with ``use_focal_loss``; otherwise the best class per query by softmax."""
        (logits, boxes), from_numpy = postprocess.model_outputs(outputs, "logits", "pred_boxes")
        pairs = postprocess.target_size_pairs(target_sizes, len(logits))
        if use_focal_loss:
            found = postprocess.sigmoid_topk_detections(logits, boxes, threshold, pairs, top_k=logits.shape[1])
        else:
            found = postprocess.softmax_detections(logits, boxes, threshold, pairs)
        return postprocess.to_numpy_like(found, from_numpy)
