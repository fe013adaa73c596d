"""DETR-style detectors: resize by shortest/longest edge, pad the batch with a ``pixel_mask``, COCO targets.

One family serves DETR (and Table Transformer); Conditional DETR, Deformable DETR, YOLOS, Grounding
DINO and RT-DETR are subclasses that change defaults, YOLOS's size rounding, or how detections are
scored. Images go through the core pipeline; COCO annotations (``annotations=``) follow them through
the same resize and padding and come back as ``labels``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .. import geometry, postprocess
from ..auto import register_family
from ..backends import Backend
from ..backends.base import NEAREST
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..inputs import flatten_inputs, to_canonical
from ..params import normalize_bool, normalize_resample
from ..processor import ImageProcessor, Resize, _like, _map
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

COCO_DETECTION, COCO_PANOPTIC = "coco_detection", "coco_panoptic"
DEFAULT_LONGEST_EDGE = 1333  # the longest edge a legacy int ``size`` gets when the config names no ``max_size``


def normalize_format(value: Any, name: str = "format") -> str | None:
    """An annotation format as text (transformers' AnnotationFormat enum accepted); checked when a call uses it.

    An unknown format is reported by :func:`check_format` at call time, as transformers does, so a config
    with a format only some future version knows still loads.
    """
    if value is None:
        return None
    return str(getattr(value, "value", value))


def check_format(value: str | None, name: str = "format") -> str:
    """``value`` if it is "coco_detection" or "coco_panoptic" (None: "coco_detection"), else our error naming it."""
    if value is None:
        return COCO_DETECTION
    if value not in (COCO_DETECTION, COCO_PANOPTIC):
        raise InvalidArgumentError(f"{name} must be {COCO_DETECTION!r} or {COCO_PANOPTIC!r}, got {value!r}")
    return value


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


def _resize_masks(masks: np.ndarray, size: tuple[int, int], backend: Backend, resample: int = NEAREST, threshold: float = 0.5) -> np.ndarray:
    """Binary masks resized with the images' backend (so both agree with its reference), then cut at ``threshold``.

    Nearest-neighbour resizes them as 8-bit images; other filters blend, so they resize float masks.
    """
    out = np.zeros((len(masks), *size), dtype=bool)
    dtype = np.uint8 if resample == NEAREST else np.float32
    for index, mask in enumerate(masks):
        native = backend.from_canonical(np.ascontiguousarray(np.asarray(mask).astype(dtype)[:, :, None]))
        out[index] = backend.to_numpy(backend.resize(native, size, resample))[:, :, 0] > threshold
    return out


def _numpy_target(annotation: dict[str, Any]) -> dict[str, Any]:
    """A target dict with every tensor value as a NumPy array (lists and numbers kept)."""
    return {k: v.detach().cpu().numpy() if hasattr(v, "detach") else v for k, v in annotation.items()}


def _image_size(image: Any, input_data_format: str | None) -> tuple[int, int]:
    """(height, width) of a CHW (default) or HWC image."""
    shape = tuple(int(v) for v in image.shape)
    fmt = str(getattr(input_data_format, "value", input_data_format))
    return shape[-3:-1] if fmt == "channels_last" else shape[-2:]


def _stack_like(images: list[Any]) -> Any:
    import torch

    return torch.stack(images)


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
    #: Whether the last class column is DETR's "no object" one, which semantic segmentation leaves out.
    semantic_drops_last_class: ClassVar[bool] = True
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

    #: Override names that take part in the legacy upgrade, so an int ``size`` override gets its ``longest_edge``.
    _UPGRADED_OVERRIDES = ("size", "max_size", "pad_and_return_pixel_mask")

    @classmethod
    def from_dict(cls, config: dict[str, Any], **kwargs: Any) -> Any:
        """Build from a config dict; ``size``/``max_size`` overrides are upgraded together with the config.

        ``from_dict({}, size=42)`` has size ``{"shortest_edge": 42, "longest_edge": 1333}`` (the config's
        ``max_size`` when it has one), as the constructor and transformers give.
        """
        merged = dict(config)
        for name in cls._UPGRADED_OVERRIDES:
            if kwargs.get(name) is not None:
                merged[name] = kwargs.pop(name)
        return super().from_dict(merged, **kwargs)

    # ----------------------------------------------------------------------------------- pipeline

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """Only a resize: DETR-style families never crop."""
        return self.resize_steps(params) if params.get("do_resize") else []

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """The resize; the size must bound both edges (a call-time int ``size`` is a shortest edge alone, which DETR refuses)."""
        size = params.get("size")
        if size is not None and set(size) not in ({"shortest_edge", "longest_edge"}, {"height", "width"}, {"max_height", "max_width"}):
            raise InvalidArgumentError(
                f"{type(self).__name__} needs a size with 'shortest_edge' and 'longest_edge', 'height' and 'width', "
                f"or 'max_height' and 'max_width'; got {size}"
            )
        return super().resize_steps(params)

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
        fmt = check_format(params.get("format"))
        backend = self._backend_for(params.get("device"))
        if annotations is None:
            return self.finalize(self.process_images(images, params, backend), params, backend)
        annotations = [annotations] if isinstance(annotations, dict) else list(annotations)
        features, originals, resized = self._process_with_sizes(images, params, backend)
        if len(annotations) != len(originals):
            raise InvalidArgumentError(f"got {len(originals)} images but {len(annotations)} annotations")
        labels = self._targets(annotations, originals, resized, features, dict(params, format=fmt), backend, return_segmentation_masks, masks_path)
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

    # ------------------------------------------------------- single steps (transformers' public methods)

    def _native_target(self, target: dict[str, Any]) -> dict[str, Any]:
        """A target's arrays as this backend's type (torch tensors for torchvision, NumPy for pil), as transformers returns them."""
        if self.backend_name != "torchvision":
            return target
        import torch

        return {k: torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v for k, v in target.items()}

    def prepare_annotation(
        self,
        image: Any,
        target: dict[str, Any],
        format: str | None = None,
        return_segmentation_masks: bool | None = None,
        masks_path: str | os.PathLike | None = None,
        input_data_format: str | None = None,
    ) -> dict[str, Any]:
        """One COCO annotation as a DETR target for ``image`` (CHW, or HWC with ``input_data_format``), in pixel corner boxes."""
        height, width = _image_size(image, input_data_format)
        fmt = check_format(normalize_format(format) if format is not None else self.format)
        if fmt == COCO_DETECTION:
            built = coco_detection_target(target, height, width, with_masks=bool(return_segmentation_masks))
        else:
            with_masks = True if return_segmentation_masks is None else bool(return_segmentation_masks)
            built = coco_panoptic_target(target, height, width, masks_path, with_masks=with_masks)
        return self._native_target(built)

    def resize_annotation(self, annotation: dict[str, Any], orig_size: tuple[int, int], target_size: tuple[int, int], threshold: float = 0.5, resample: Any = NEAREST) -> dict[str, Any]:
        """A target following its image from ``orig_size`` to ``target_size``: boxes and areas scaled, masks resized and re-binarised."""
        target = _numpy_target(annotation)
        masks = target.pop("masks", None)
        resized = transform_target(target, tuple(orig_size), tuple(target_size), None, False, self.backend)
        if masks is not None:
            resized["masks"] = _resize_masks(masks, tuple(target_size), self.backend, normalize_resample(resample), threshold)
        resized["size"] = tuple(target_size)
        return self._native_target(resized)

    def normalize_annotation(self, annotation: dict[str, Any], image_size: tuple[int, int]) -> dict[str, Any]:
        """A target's corner boxes as (center x, center y, width, height) relative to ``image_size`` (height, width)."""
        target = _numpy_target(annotation)
        if "boxes" in target:
            height, width = image_size
            target["boxes"] = postprocess.corners_to_center(target["boxes"]) / np.asarray([width, height, width, height], dtype=np.float32)
        return self._native_target(target)

    def pad(self, image: Any, padded_size: tuple[int, int], annotation: dict[str, Any] | None = None, update_bboxes: bool = True, fill: float = 0) -> tuple[Any, Any, Any]:
        """``image`` (CHW, or a batch) padded bottom/right to ``padded_size`` with ``fill``, its pixel mask, and ``annotation`` following it.

        Normalised boxes are rescaled to the larger canvas when ``update_bboxes``; masks are padded with 0.
        """
        height, width = (int(v) for v in image.shape[-2:])
        padded_height, padded_width = (int(v) for v in padded_size)
        if padded_height < height or padded_width < width:
            raise InvalidArgumentError(f"padded_size {padded_height}x{padded_width} is smaller than the image, {height}x{width}")
        padded = super().pad(list(image) if image.ndim == 4 else image, pad_size={"height": padded_height, "width": padded_width}, fill_value=fill)
        if image.ndim == 4:
            padded = _stack_like(padded) if hasattr(image, "detach") else np.stack(padded)
        mask = np.zeros((*image.shape[:-3], padded_height, padded_width), np.int64)
        mask[..., :height, :width] = 1
        mask = _like(mask, image)
        if annotation is not None and (height, width) != (padded_height, padded_width):
            target = transform_target(_numpy_target(annotation), (height, width), None, (padded_height, padded_width), False, self.backend)
            if update_bboxes and "boxes" in target:
                ratio_h, ratio_w = height / padded_height, width / padded_width
                target["boxes"] = target["boxes"] * np.asarray([ratio_w, ratio_h, ratio_w, ratio_h], dtype=np.float32)
            target["size"] = (padded_height, padded_width)
            annotation = self._native_target(target)
        return padded, mask, annotation

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
        probabilities = logits.softmax(-1)
        if self.semantic_drops_last_class:
            probabilities = probabilities[..., :-1]
        scores = torch.einsum("bqc,bqhw->bchw", probabilities, masks.sigmoid())
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
    semantic_drops_last_class = False  # sigmoid classification: every column is a real class

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
