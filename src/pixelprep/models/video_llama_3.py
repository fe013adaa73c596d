"""VideoLLaMA3: Qwen2-VL's smart_resize and patches with one frame, no merge blocks, 0.5 normalisation, plus ``image_merge_sizes``.

A declaration on :class:`~pixelprep.models.qwen2_vl.Qwen2VLImageProcessor`; its one addition is an
output giving each image's ``merge_size`` (the model merges patches itself, after the encoder).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..auto import register_family
from ..multiview import Views
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD
from .qwen2_vl import Qwen2VLImageProcessor

_MERGE_KEY = "image_merge_sizes"


@register_family
class VideoLlama3ImageProcessor(Qwen2VLImageProcessor):
    """VideoLLaMA3: smart_resize to multiples of 14, 14x14 patches concatenated with ``image_grid_thw`` and ``image_merge_sizes``."""

    transformers_class = "VideoLlama3ImageProcessor"
    class_aliases = ()
    model_types = ("video_llama_3",)
    defaults = {
        **Qwen2VLImageProcessor.defaults,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "temporal_patch_size": 1,
        "merge_size": 1,
    }
    model_input_names = ["pixel_values", "image_grid_thw", _MERGE_KEY]

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        """``image_merge_sizes``: the call's ``merge_size`` once per image (int64)."""
        return {_MERGE_KEY: np.full(len(views), params["merge_size"], dtype=np.int64)}

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        params = self._params if params is None else params
        return [*super().describe_pipeline(params), f"{_MERGE_KEY}: merge_size ({params['merge_size']}) once per image"]

    def split_batch(self, outputs: Any, count: int) -> list[dict[str, Any]]:
        """Per-image outputs: the patch rows and grid of each image, with its own ``image_merge_sizes`` entry."""
        if count == 1:
            return [dict(outputs)]
        rows = self.packer(self._params).split({k: v for k, v in outputs.items() if k != _MERGE_KEY}, count)
        return [dict(row, **{_MERGE_KEY: outputs[_MERGE_KEY][i : i + 1]}) for i, row in enumerate(rows)]
