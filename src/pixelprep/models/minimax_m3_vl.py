"""MiniMax-M3-VL: Qwen2-VL's smart_resize and merge-ordered patches with a 451584-pixel budget.

A declaration on :class:`~pixelprep.models.qwen2_vl.Qwen2VLImageProcessor`. Its one quirk: the released
checkpoints save ``size`` as ``[672, 672]``, which transformers never used and replaces by the default
pixel budget at construction; ours does the same. transformers 5.23 has only a torchvision class.
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from .qwen2_vl import Qwen2VLImageProcessor

#: the ``size`` MiniMax-M3-VL checkpoints ship; the model never read it.
_STALE_CHECKPOINT_SIZE = [672, 672]


@register_family
class MiniMaxM3VLImageProcessor(Qwen2VLImageProcessor):
    """MiniMax-M3-VL: smart_resize to multiples of 28 within 3136..451584 pixels; patches concatenated with ``image_grid_thw``."""

    transformers_class = "MiniMaxM3VLImageProcessor"
    class_aliases = ()
    model_types = ("minimax_m3_vl",)
    defaults = {**Qwen2VLImageProcessor.defaults, "size": {"shortest_edge": 4 * 28 * 28, "longest_edge": 451584}}

    def _setup(self, params: dict[str, Any], extra: dict[str, Any], backend: str | None, num_threads: int | None) -> None:
        size = params.get("size")
        if isinstance(size, (list, tuple)) and list(size) == _STALE_CHECKPOINT_SIZE:
            params = {**params, "size": dict(self.defaults["size"])}
        super()._setup(params, extra, backend, num_threads)
