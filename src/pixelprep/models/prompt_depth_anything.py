"""Prompt Depth Anything: DPT's pipeline for the images, plus a low-resolution prompt depth map per image scaled to metres."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError, InvalidImageError
from ..features import BatchFeature
from ..inputs import flatten_inputs
from ..params import normalize_positive_float
from ..segmentation import split_label_maps
from .dpt import DPTImageProcessor

# transformers nudges a constant prompt (min == max) by this much, on its first row, so the model can normalise it
CONSTANT_PROMPT_NUDGE = 1e-6


def load_prompt_depth(item: Any, index: int) -> np.ndarray:
    """One prompt depth map (path, PIL image, NumPy array or torch tensor; HxW, 1xHxW or HxWx1) as an HxW array of its own dtype."""
    if isinstance(item, (str, os.PathLike)):
        from PIL import Image

        try:
            with Image.open(item) as image:
                array = np.asarray(image)
        except OSError as error:
            raise InvalidImageError(f"prompt depth {index} ({item}): cannot read it as an image: {error}") from error
    elif hasattr(item, "detach"):
        array = item.detach().cpu().numpy()
    else:
        array = np.asarray(item)
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[-1]):
        array = array.reshape(array.shape[1:] if array.shape[0] == 1 else array.shape[:2])
    if array.ndim != 2 or min(array.shape) < 1:
        raise InvalidImageError(f"prompt depth {index} must be one depth value per pixel, (height, width); got shape {tuple(array.shape)}")
    if array.dtype.kind not in "iuf":
        raise InvalidImageError(f"prompt depth {index} must hold numbers, got dtype {array.dtype}")
    return array


def scale_prompt_depth(depth: np.ndarray, scale: float, formula: str) -> np.ndarray:
    """``depth * scale`` as float32, in the precision of the backend's transformers class, nudged when constant.

    torch (torchvision) multiplies integers and float32 in float32; NumPy (pil) multiplies integers in float64.
    """
    wide = depth.dtype == np.float64 or (formula == "numpy" and depth.dtype.kind in "iu")
    work = np.float64 if wide else np.float32
    scaled = depth.astype(work) * work(scale)
    if scaled.min() == scaled.max():
        scaled[0] += work(CONSTANT_PROMPT_NUDGE)
    return scaled.astype(np.float32)[None]


@register_family
class PromptDepthAnythingImageProcessor(DPTImageProcessor):
    """Prompt Depth Anything: ``proc(images, prompt_depth=...)`` (the prompt is optional)."""

    transformers_class = "PromptDepthAnythingImageProcessor"
    model_types = ("prompt_depth_anything",)
    class_aliases = ()
    defaults = {"prompt_scale_to_meter": 0.001}
    extra_params = {"prompt_scale_to_meter": normalize_positive_float}
    model_input_names = ["pixel_values", "prompt_depth"]

    def __call__(self, images: Any, prompt_depth: Any = None, **kwargs: Any) -> BatchFeature:
        """Preprocess images and (optionally) one prompt depth map per image, returned as ``prompt_depth`` (1, H, W) in metres."""
        return self.preprocess(images, prompt_depth, **kwargs)

    def preprocess(self, images: Any, prompt_depth: Any = None, **kwargs: Any) -> BatchFeature:
        """Same as calling the processor."""
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        features = self.process_images(images, params, backend)
        if prompt_depth is not None:
            features["prompt_depth"] = self.process_prompt_depth(prompt_depth, len(flatten_inputs(images)), params, backend)
        return self.finalize(features, params, backend)

    def process_prompt_depth(self, prompt_depth: Any, count: int, params: dict[str, Any], backend: Backend) -> list[Any]:
        """Each prompt depth map times ``prompt_scale_to_meter``, as a (1, H, W) float32 array of the backend."""
        maps = [load_prompt_depth(item, index) for index, item in enumerate(split_label_maps(prompt_depth, count))]
        if len(maps) != count:
            raise InvalidArgumentError(f"got {len(maps)} prompt depth maps for {count} images: pass one per image")
        scale = params.get("prompt_scale_to_meter") or self.defaults["prompt_scale_to_meter"]
        return [backend.from_numpy(scale_prompt_depth(depth, scale, backend.formula)) for depth in maps]

    def resize_with_aspect_ratio(self, image: Any, size: Any, keep_aspect_ratio: bool = False, ensure_multiple_of: int = 1, resample: Any = None, **kwargs: Any) -> Any:
        """One image (CHW, or a batch) resized towards ``size`` by DPT's rule, as transformers' ``resize_with_aspect_ratio`` (bicubic by default)."""
        params = self._step_params(dict(kwargs, size=size, resample=3 if resample is None else resample, keep_aspect_ratio=keep_aspect_ratio, ensure_multiple_of=ensure_multiple_of))
        return self._run_steps(image, dict(params, input_data_format=params.get("input_data_format") or "channels_first"), self.resize_steps(params))

    def describe_finalize(self, params: dict[str, Any]) -> list[str]:
        """The prompt depth line."""
        return [f"prompt_depth: each map x {params.get('prompt_scale_to_meter')} (to metres), as (1, H, W) float32"]
