"""DPT (and Depth Anything): resize towards a target keeping multiples of ``ensure_multiple_of``, optional centre padding."""

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import geometry
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError, InvalidImageError
from ..features import BatchFeature
from ..params import COMMON_PARAMS, normalize_bool
from ..processor import _channels_last
from ..segmentation import SemanticSegmentationProcessor, back, output_field, size_list, to_torch, transform_label_maps
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


@dataclass(frozen=True)
class MultipleOfResize:
    """Resize towards ``height`` x ``width`` (see :func:`geometry.multiple_of_size`)."""

    height: int
    width: int
    keep_aspect_ratio: bool
    multiple: int
    resample: int

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = geometry.multiple_of_size(height, width, self.height, self.width, self.keep_aspect_ratio, self.multiple)
        if min(target) < 1:
            raise InvalidImageError(f"resizing a {height}x{width} image towards {self.height}x{self.width} gives an empty image")
        return image if target == (height, width) else backend.resize(image, target, self.resample)

    def describe(self) -> str:
        ratio = ", keeping the aspect ratio" if self.keep_aspect_ratio else ""
        multiple = f", sides multiples of {self.multiple}" if self.multiple > 1 else ""
        return f"resize towards {self.height}x{self.width}{ratio}{multiple} {RESAMPLE_NAMES[self.resample]}"


@dataclass(frozen=True)
class CenterPadToMultiple:
    """Pad with zeros, evenly on each side (the odd pixel bottom/right), to sides that are multiples of ``divisor``."""

    divisor: int

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        window = geometry.center_crop_window(height, width, *geometry.pad_to_multiple(height, width, self.divisor))
        if not window.needs_padding:
            return image
        return backend.pad(image, window.pad_top, window.pad_bottom, window.pad_left, window.pad_right, 0)


def _center_pad(array: Any, divisor: int, allocate: Any) -> Any:
    """``array`` (..., H, W) centred on a zero canvas whose sides are multiples of ``divisor``."""
    height, width = array.shape[-2:]
    window = geometry.center_crop_window(height, width, *geometry.pad_to_multiple(height, width, divisor))
    out = allocate(tuple(array.shape[:-2]) + (height + window.pad_top + window.pad_bottom, width + window.pad_left + window.pad_right))
    out[..., window.pad_top : window.pad_top + height, window.pad_left : window.pad_left + width] = array
    return out


@register_family
class DPTImageProcessor(SemanticSegmentationProcessor):
    """DPT, DPT-hybrid and Depth Anything."""

    transformers_class = "DPTImageProcessor"
    model_types = ("dpt", "depth_anything")
    class_aliases = ("DPTFeatureExtractor",)
    nearest_labels = False  # transformers resizes DPT's maps with the images' filter
    defaults = {
        "do_resize": True,
        "size": {"height": 384, "width": 384},
        "resample": 3,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_pad": False,
        "ensure_multiple_of": 1,
        "keep_aspect_ratio": False,
    }
    extra_params = {"ensure_multiple_of": COMMON_PARAMS["size_divisor"], "keep_aspect_ratio": normalize_bool}

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """One resize towards the target size (a height/width size is required)."""
        size = params.get("size") or {}
        if "height" not in size:
            raise InvalidArgumentError(f"DPT's size must have 'height' and 'width', got {size}")
        multiple = params.get("ensure_multiple_of") or 1
        return [MultipleOfResize(size["height"], size["width"], bool(params.get("keep_aspect_ratio")), multiple, params["resample"])]

    def _divisor(self, params: dict[str, Any]) -> int | None:
        if not params.get("do_pad"):
            return None
        if not params.get("size_divisor"):
            raise InvalidArgumentError("do_pad is True but size_divisor is not set")
        return params["size_divisor"]

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """The common pipeline, then (with ``do_pad``) each image centred on a canvas of multiples of ``size_divisor``."""
        divisor = self._divisor(params)
        if divisor is None:
            return super().process_images(images, params, backend)
        # padding comes after normalisation, so the border is 0 in normalised units
        features = super().process_images(images, dict(params, do_pad=False, data_format="channels_first"), backend)
        values = features["pixel_values"]

        def allocate(shape: tuple[int, ...]) -> Any:
            return backend.allocate(shape, "float32" if str(values[0].dtype).endswith("float32") else "uint8")

        values = [_center_pad(v, divisor, allocate) for v in values] if isinstance(values, list) else _center_pad(values, divisor, allocate)
        features["pixel_values"] = _channels_last(values) if params.get("data_format") == "channels_last" else values
        return features

    def process_label_maps(self, maps: Any, params: dict[str, Any], backend: Backend) -> list[Any]:
        """Maps transformed like their images, centre-padded with 0 like them when ``do_pad``."""
        divisor = self._divisor(params)
        finish = None if divisor is None else (lambda array: _center_pad(array, divisor, lambda shape: np.zeros(shape, np.int64)))
        arrays = transform_label_maps(maps, self.label_steps(params), backend, reduce=bool(params.get("do_reduce_labels")), finish=finish)
        return [backend.from_canonical(array) for array in arrays]

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        """The common lines, with DPT's centre padding in place of the bottom/right one."""
        params = self._params if params is None else params
        divisor = self._divisor(params)
        lines = super().describe_pipeline(dict(params, do_pad=False))
        return lines if divisor is None else lines + [f"pad each side evenly to a multiple of {divisor}"]

    def pad_image(self, image: Any, size_divisor: int = 1, **kwargs: Any) -> Any:
        """``image`` (CHW, or a batch) centred on a zero canvas whose sides are multiples of ``size_divisor``, as transformers' ``pad_image``."""
        params = self._step_params(dict(kwargs, size_divisor=size_divisor))
        return self._run_steps(image, dict(params, input_data_format="channels_first"), [CenterPadToMultiple(params["size_divisor"])])

    def post_process_depth_estimation(self, outputs: Any, target_sizes: Any = None) -> list[dict[str, Any]]:
        """``[{"predicted_depth": (H, W)}]`` per image, bicubically resized to each target size when given."""
        import torch.nn.functional as F

        depth, numpy_in = to_torch(output_field(outputs, "predicted_depth"))
        sizes = size_list(target_sizes)
        if sizes is not None and len(sizes) != len(depth):
            raise InvalidArgumentError(f"got {len(sizes)} target sizes for a batch of {len(depth)} depth maps")
        results = []
        for index, prediction in enumerate(depth):
            if sizes is not None and sizes[index] is not None:
                prediction = F.interpolate(prediction[None, None], size=sizes[index], mode="bicubic", align_corners=False).squeeze()
            results.append({"predicted_depth": back(prediction, numpy_in)})
        return results
