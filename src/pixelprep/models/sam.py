"""SAM: longest edge to 1024, pad to 1024x1024; prompt points and boxes rescaled with the image; mask post-processing."""

from typing import Any

import numpy as np

from .. import geometry
from ..auto import register_family
from ..backends import Backend
from ..backends.base import NEAREST
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..inputs import flatten_inputs, to_canonical
from ..params import normalize_size, normalize_square_size
from ..processor import Resize
from ..segmentation import LabelMapProcessor, back, size_list, to_torch, transform_label_maps
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

# The coordinate transformers' SamProcessor gives the points it adds so every image has as many.
POINT_PAD_VALUE = -10


def _longest_edge(size: dict[str, int] | None, name: str) -> int:
    if not size or set(size) != {"longest_edge"}:
        raise InvalidArgumentError(f"SAM's {name} must be {{'longest_edge': int}}, got {size}")
    return size["longest_edge"]


def _nested_arrays(value: Any, name: str, depth: int) -> list[np.ndarray]:
    """Per-image arrays of a nested list (or tensor/array) of prompts, ``depth`` list levels deep."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    probe = value
    for _ in range(depth):
        if not isinstance(probe, list) or not probe:
            raise InvalidArgumentError(f"{name} must be a list nested {depth} levels deep (one entry per image), got {value!r}")
        probe = probe[0]
    return [np.array(item) for item in value]


@register_family
class SamImageProcessor(LabelMapProcessor):
    """SAM and SAM-HQ."""

    transformers_class = "SamImageProcessor"
    model_types = ("sam", "sam_hq", "sam_vision_model")
    defaults = {
        "do_resize": True,
        "size": {"longest_edge": 1024},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
        "do_convert_rgb": True,
        "do_pad": True,
        "pad_size": {"height": 1024, "width": 1024},
        "mask_size": {"longest_edge": 256},
        "mask_pad_size": {"height": 256, "width": 256},
    }
    extra_params = {"mask_size": normalize_size, "mask_pad_size": normalize_square_size}
    model_input_names = ["pixel_values"]  # as transformers: the sizes it returns are for post-processing, not the model

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """Longest edge to ``size['longest_edge']``, the other side rounded to nearest."""
        return [Resize({"longest_edge": _longest_edge(params.get("size"), "size")}, params["resample"])]

    def label_steps(self, params: dict[str, Any]) -> list[Any]:
        """Masks resize (nearest) by ``mask_size`` instead of ``size``."""
        if not params.get("do_resize"):
            return []
        return [Resize({"longest_edge": _longest_edge(params.get("mask_size"), "mask_size")}, NEAREST)]

    def process_label_maps(self, maps: Any, params: dict[str, Any], backend: Backend) -> list[Any]:
        """Masks resized by ``mask_size`` and zero-padded bottom/right to ``mask_pad_size``."""
        pad = params.get("mask_pad_size") if params.get("do_pad") else None

        def finish(array: np.ndarray) -> np.ndarray:
            if pad is None:
                return array
            height, width = array.shape
            if height > pad["height"] or width > pad["width"]:
                raise InvalidArgumentError(f"mask_pad_size {pad['height']}x{pad['width']} is smaller than a mask of {height}x{width}")
            out = np.zeros((pad["height"], pad["width"]), np.int64)
            out[:height, :width] = array
            return out

        arrays = transform_label_maps(maps, self.label_steps(params), backend, finish=finish)
        return [backend.from_canonical(array) for array in arrays]

    def __call__(self, images: Any, segmentation_maps: Any = None, **kwargs: Any) -> BatchFeature:
        """Preprocess images (with optional masks, and ``input_points`` / ``input_labels`` / ``input_boxes`` prompts)."""
        return self.preprocess(images, segmentation_maps=segmentation_maps, **kwargs)

    def preprocess(
        self,
        images: Any,
        segmentation_maps: Any = None,
        input_points: Any = None,
        input_labels: Any = None,
        input_boxes: Any = None,
        point_pad_value: float = POINT_PAD_VALUE,
        **kwargs: Any,
    ) -> BatchFeature:
        """Same as calling the processor; also returns ``original_sizes`` and ``reshaped_input_sizes``."""
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        options = self.load_options(params, backend)
        # decoded once here for the sizes; the pipeline then takes the decoded (channels-last) images as they are
        loaded = [to_canonical(item, options) for item in flatten_inputs(images)]
        original = [backend.size(backend.from_canonical(image)) for image in loaded]
        features = self.process_images(loaded, dict(params, input_data_format="channels_last"), backend)
        if segmentation_maps is not None:
            features["labels"] = self.process_label_maps(segmentation_maps, params, backend)
        target = _longest_edge(params.get("size"), "size")
        features["original_sizes"] = original
        features["reshaped_input_sizes"] = [geometry.longest_edge_size(h, w, target) if params.get("do_resize") else (h, w) for h, w in original]
        features.update(self._prompts(original, target, input_points, input_labels, input_boxes, point_pad_value, params.get("return_tensors")))
        return self.finalize(features, params, backend)

    @staticmethod
    def _rescale(coords: np.ndarray, original: tuple[int, int], target: int, boxes: bool) -> np.ndarray:
        """Coordinates (x, y last) from the original image into the resized one."""
        new_h, new_w = geometry.longest_edge_size(*original, target)
        coords = np.array(coords, dtype=float).reshape(-1, 2, 2) if boxes else np.array(coords, dtype=float)
        coords[..., 0] *= new_w / original[1]
        coords[..., 1] *= new_h / original[0]
        return coords.reshape(-1, 4) if boxes else coords

    def _prompts(self, original, target, points, labels, boxes, pad_value, return_tensors) -> dict[str, Any]:
        """Prompt points and boxes in resized-image coordinates (one image's prompts apply to all when only one is given)."""
        out: dict[str, Any] = {}

        def sizes_for(items: list[Any]) -> list[tuple[int, int]]:
            return original if len(items) == len(original) else [original[0]] * len(items)

        label_arrays = None if labels is None else _nested_arrays(labels, "input_labels", 2)
        if points is not None:
            arrays = _nested_arrays(points, "input_points", 2)
            arrays = [self._rescale(a, s, target, boxes=False) for a, s in zip(arrays, sizes_for(arrays))]
            if label_arrays is not None and len({a.shape for a in arrays}) > 1:
                most = max(a.shape[0] for a in arrays)
                for i, a in enumerate(arrays):
                    if a.shape[0] != most:
                        arrays[i] = np.concatenate([a, np.full((most - a.shape[0], 2), float(pad_value))])
                        label_arrays[i] = np.append(label_arrays[i], [pad_value])
            out["input_points"] = np.array(arrays)
        if label_arrays is not None:
            out["input_labels"] = np.array(label_arrays)
        if boxes is not None:
            arrays = [a.astype(np.float32) for a in _nested_arrays(boxes, "input_boxes", 3)]
            out["input_boxes"] = np.array([self._rescale(a, s, target, boxes=True) for a, s in zip(arrays, sizes_for(arrays))])
        if return_tensors == "pt":
            # one prompt group per image gains its own axis, as transformers' SamProcessor does for tensors
            for name, ndim in (("input_boxes", 3), ("input_points", 4), ("input_labels", 3)):
                if name in out and out[name].ndim != ndim:
                    out[name] = out[name][:, None]
        return out

    def post_process_masks(
        self,
        masks: Any,
        original_sizes: Any,
        reshaped_input_sizes: Any,
        mask_threshold: float = 0.0,
        binarize: bool = True,
        pad_size: dict[str, int] | None = None,
    ) -> list[Any]:
        """Upscale low-resolution masks to the padded input, drop the padding, resize to each original size (and threshold)."""
        import torch.nn.functional as F

        pad = self.pad_size if pad_size is None else normalize_square_size(pad_size, "pad_size")
        originals, reshaped = size_list(original_sizes), size_list(reshaped_input_sizes)
        results = []
        for index, original in enumerate(originals):
            mask, numpy_in = to_torch(masks[index])
            mask = F.interpolate(mask, (pad["height"], pad["width"]), mode="bilinear", align_corners=False)
            mask = mask[..., : reshaped[index][0], : reshaped[index][1]]
            mask = F.interpolate(mask, original, mode="bilinear", align_corners=False)
            results.append(back(mask > mask_threshold if binarize else mask, numpy_in))
        return results
