"""Segmentation maps as a second input, label reduction, and post-processing shared by the segmentation families.

A segmentation map is one integer label per pixel. It goes through the same geometric steps as its
image (with nearest-neighbour resizing unless a family says otherwise) on the same backend, and comes
back as int64 ``labels``. Post-processing takes torch lazily: model outputs are torch tensors, and
NumPy arrays in give NumPy arrays out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .backends import Backend
from .backends.base import NEAREST
from .errors import InvalidArgumentError, InvalidImageError
from .features import BatchFeature
from .inputs import flatten_inputs
from .params import normalize_bool
from .processor import ImageProcessor

# Label maps with values in 0..255 travel as uint8 (Pillow's "L" mode); others as float32, exact below 2**24.
_FLOAT_EXACT_LIMIT = 2**24


# ------------------------------------------------------------------------------------------ label maps


def load_label_map(item: Any) -> np.ndarray:
    """One segmentation map (PIL image, NumPy array or torch tensor; HxW, 1xHxW or HxWx1) as an HxW array of its own dtype."""
    if hasattr(item, "getbands"):  # a PIL image: its palette indices or gray levels are the labels
        array = np.asarray(item)
    elif hasattr(item, "detach"):
        array = item.detach().cpu().numpy()
    else:
        array = np.asarray(item)
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[-1]):
        array = array.reshape(array.shape[1:] if array.shape[0] == 1 else array.shape[:2])
    if array.ndim != 2:
        raise InvalidImageError(
            f"a segmentation map holds one integer label per pixel as (height, width), (1, height, width) or "
            f"(height, width, 1); got shape {tuple(array.shape)}, which has no single label channel "
            "(a stack of maps for N images is (N, height, width))"
        )
    if array.dtype.kind not in "iub":
        if array.dtype.kind != "f" or not np.array_equal(array, np.round(array)):
            raise InvalidImageError(f"a segmentation map must hold integer labels, got dtype {array.dtype}")
    return array.astype(np.uint8) if array.dtype == np.bool_ else array


def split_label_maps(maps: Any, count: int) -> list[Any]:
    """The segmentation maps as one item per image: an (N, height, width) array or tensor given for N > 1 images is N maps."""
    shape = getattr(maps, "shape", None)
    if shape is not None and len(shape) == 3 and count > 1 and shape[0] == count:
        return list(maps)
    return flatten_inputs(maps)


def reduce_labels(label_map: np.ndarray) -> np.ndarray:
    """Shift labels down by one and make 0 (background) the ignored 255; 255 stays 255."""
    reduced = np.where(label_map == 0, 255, label_map - 1)
    return np.where(reduced == 254, 255, reduced)


def _travel_dtype(label_map: np.ndarray, eight_bit: bool) -> np.ndarray:
    # Filters other than nearest blend labels: 8-bit maps then round and clamp as uint8 images do, others as floats
    # (transformers' pil backend turns every map that fits into an 8-bit image, its torchvision backend keeps the dtype).
    if eight_bit and label_map.min() >= 0 and label_map.max() <= 255:
        return label_map.astype(np.uint8)
    if np.abs(label_map).max() >= _FLOAT_EXACT_LIMIT:
        raise InvalidImageError(f"segmentation labels must stay below {_FLOAT_EXACT_LIMIT} in magnitude to be resized exactly")
    return label_map.astype(np.float32)


def transform_label_maps(
    maps: Any,
    steps: list[Any],
    backend: Backend,
    reduce: bool = False,
    finish: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Run every map through ``steps`` on ``backend`` (optionally reduced first, ``finish``-ed after); int64 HxW arrays."""
    out = []
    for index, item in enumerate(flatten_inputs(maps)):
        try:
            label_map = load_label_map(item)
        except InvalidImageError as error:
            raise InvalidImageError(f"segmentation_maps[{index}]: {error}") from None
        eight_bit = label_map.dtype == np.uint8 or backend.name == "pil"
        if reduce:
            label_map = reduce_labels(label_map)
        image = backend.from_canonical(_travel_dtype(label_map, eight_bit)[:, :, None])
        for step in steps:
            image = step.apply(backend, image)
        result = np.rint(backend.to_numpy(backend.realize(image))[:, :, 0]).astype(np.int64)
        out.append(finish(result) if finish is not None else result)
    return out


def nearest_steps(steps: list[Any]) -> list[Any]:
    """The same geometric steps with every resize switched to nearest-neighbour (labels must not blend)."""
    return [dataclasses.replace(step, resample=NEAREST) if hasattr(step, "resample") else step for step in steps]


class LabelMapProcessor(ImageProcessor):
    """Base of families that take ``segmentation_maps=`` beside the images and return them as ``labels``."""

    #: Whether maps are resized with nearest-neighbour; BEiT and DPT resize them with the images' filter.
    nearest_labels: ClassVar[bool] = True

    def label_steps(self, params: dict[str, Any]) -> list[Any]:
        """Geometric steps for the maps: the images' steps (resized with nearest-neighbour where the family does)."""
        steps = self.steps(params)
        return nearest_steps(steps) if self.nearest_labels else steps

    def reduce_label(self, labels: Any) -> Any:
        """Labels shifted down by one, background 0 becoming the ignored 255 (255 stays 255), as transformers' ``reduce_label``.

        Takes one map or a list of maps (a list is updated in place and returned, as transformers' torchvision classes do);
        arrays stay NumPy, tensors stay tensors.
        """
        if isinstance(labels, list):
            labels[:] = [self.reduce_label(label) for label in labels]
            return labels
        array = labels.detach().cpu().numpy() if hasattr(labels, "detach") else np.asarray(labels)
        reduced = reduce_labels(array).astype(array.dtype, copy=False)
        if hasattr(labels, "detach"):
            import torch

            return torch.from_numpy(reduced).to(labels.device)
        return reduced

    def process_label_maps(self, maps: Any, params: dict[str, Any], backend: Backend) -> list[Any]:
        """The maps as int64 arrays, transformed like their images; native arrays of ``backend``."""
        arrays = transform_label_maps(maps, self.label_steps(params), backend, reduce=bool(params.get("do_reduce_labels")))
        return [backend.from_canonical(array) for array in arrays]

    def __call__(self, images: Any, segmentation_maps: Any = None, **kwargs: Any) -> BatchFeature:
        """Preprocess images (and optionally their segmentation maps, returned as ``labels``)."""
        return self.preprocess(images, segmentation_maps=segmentation_maps, **kwargs)

    def preprocess(self, images: Any, segmentation_maps: Any = None, **kwargs: Any) -> BatchFeature:
        """Same as calling the processor."""
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        features = self.process_images(images, params, backend)
        if segmentation_maps is not None:
            count = len(flatten_inputs(images))
            labels = self.process_label_maps(split_label_maps(segmentation_maps, count), params, backend)
            if len(labels) != count:
                raise InvalidArgumentError(f"got {len(labels)} segmentation maps for {count} images")
            features["labels"] = labels
        return self.finalize(features, params, backend)


class MaskLabelsProcessor(LabelMapProcessor):
    """Base of families that turn ``segmentation_maps`` (with ``instance_id_to_semantic_id``) into per-view
    ``mask_labels`` and ``class_labels`` lists (MaskFormer, Mask2Former, EoMT); a family says how one map gives its views'."""

    def mask_label_steps(self, params: dict[str, Any]) -> list[Any]:
        """Geometric steps the maps go through before :meth:`view_mask_labels` (the images' steps, nearest-neighbour)."""
        return self.label_steps(params)

    def view_mask_labels(self, label_map: np.ndarray, mapping: Any, params: dict[str, Any], features: BatchFeature) -> list[tuple[np.ndarray, np.ndarray]]:
        """(binary masks, class ids) of each view one transformed map gives, given its image's ``mapping`` of instance ids."""
        raise NotImplementedError

    def __call__(self, images: Any, segmentation_maps: Any = None, instance_id_to_semantic_id: Any = None, **kwargs: Any) -> BatchFeature:
        """Preprocess images; with segmentation maps also ``mask_labels`` and ``class_labels`` per view."""
        return self.preprocess(images, segmentation_maps=segmentation_maps, instance_id_to_semantic_id=instance_id_to_semantic_id, **kwargs)

    def preprocess(self, images: Any, segmentation_maps: Any = None, instance_id_to_semantic_id: Any = None, **kwargs: Any) -> BatchFeature:
        """Same as calling the processor."""
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        features = self.finalize(self.process_images(images, params, backend), params, backend)
        if segmentation_maps is None:
            return features
        count = len(flatten_inputs(images))
        maps = transform_label_maps(split_label_maps(segmentation_maps, count), self.mask_label_steps(params), backend)
        if len(maps) != count:
            raise InvalidArgumentError(f"got {len(maps)} segmentation maps for {count} images")
        if isinstance(instance_id_to_semantic_id, list) and len(instance_id_to_semantic_id) != count:
            raise InvalidArgumentError(f"instance_id_to_semantic_id has {len(instance_id_to_semantic_id)} mappings for {count} images")
        mask_labels, class_labels = [], []
        for index, label_map in enumerate(maps):
            mapping = instance_id_to_semantic_id[index] if isinstance(instance_id_to_semantic_id, list) else instance_id_to_semantic_id
            for masks, classes in self.view_mask_labels(label_map, mapping, params, features):
                mask_labels.append(masks)
                class_labels.append(classes)
        # these stay lists (views differ in segment count): torch where asked, else native to the backend
        convert = backend.to_torch if params.get("return_tensors") == "pt" else backend.from_canonical
        features["mask_labels"] = [convert(m) for m in mask_labels]
        features["class_labels"] = [convert(c) for c in class_labels]
        return features


class SemanticSegmentationProcessor(LabelMapProcessor):
    """Families whose models predict per-pixel class logits: ``do_reduce_labels`` and semantic post-processing."""

    defaults = {"do_reduce_labels": False}
    extra_params = {"do_reduce_labels": normalize_bool}

    def post_process_semantic_segmentation(
        self, outputs: Any, target_sizes: Any = None, return_segmentation_scores: bool = False
    ) -> list[Any]:
        """Per-pixel class ids (argmax of the logits, bilinearly resized to each target size first when given)."""
        return semantic_from_logits(output_field(outputs, "logits"), target_sizes, return_segmentation_scores)


# ---------------------------------------------------------------------------------- post-processing


def output_field(outputs: Any, name: str) -> Any:
    """A field of a model output given as an object with attributes, a dict, or the tensor itself."""
    if isinstance(outputs, dict):
        if name not in outputs:
            raise InvalidArgumentError(f"the model outputs have no {name!r}; got keys {sorted(outputs)}")
        return outputs[name]
    value = getattr(outputs, name, None)
    if value is None:
        if not _is_array(outputs):
            raise InvalidArgumentError(f"the model outputs have no {name!r} (pass the output object, a dict or the tensor itself)")
        return outputs
    return value


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) or hasattr(value, "detach")


def to_torch(value: Any) -> tuple[Any, bool]:
    """``value`` as a torch tensor, and whether it came as NumPy (so results go back as NumPy)."""
    import torch

    if isinstance(value, np.ndarray):
        return torch.from_numpy(value), True
    return (value if isinstance(value, torch.Tensor) else torch.as_tensor(value)), False


def back(value: Any, as_numpy: bool) -> Any:
    """A torch result as NumPy when the input was NumPy."""
    return value.detach().cpu().numpy() if as_numpy else value


def size_list(sizes: Any) -> list[Any] | None:
    """Target sizes (a tensor, an array, or a list of pairs) as a list of (height, width) pairs; None stays None."""
    if sizes is None:
        return None
    if hasattr(sizes, "tolist"):
        sizes = sizes.tolist()
    return [None if s is None else tuple(int(v) for v in s) for s in sizes]


def semantic_from_logits(logits: Any, target_sizes: Any = None, return_scores: bool = False) -> list[Any]:
    """Argmax class maps of ``(batch, classes, height, width)`` logits, each resized bilinearly to its target size first."""
    import torch.nn.functional as F

    logits, numpy_in = to_torch(logits)
    sizes = size_list(target_sizes)
    if sizes is not None and len(sizes) != len(logits):
        raise InvalidArgumentError(f"got {len(sizes)} target sizes for a batch of {len(logits)} logits")
    results = []
    for index in range(len(logits)):
        scores = logits[index]
        if sizes is not None:
            scores = F.interpolate(scores[None], size=sizes[index], mode="bilinear", align_corners=False)[0]
        segmentation = scores.argmax(dim=0)
        if return_scores:
            results.append(BatchFeature({"segmentation": back(segmentation, numpy_in), "segmentation_scores": back(scores, numpy_in)}))
        else:
            results.append(back(segmentation, numpy_in))
    return results
