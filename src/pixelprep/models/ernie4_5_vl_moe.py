"""ERNIE-4.5-VL-MoE: Qwen2-VL's smart_resize and merge-ordered patches with one frame and a larger pixel budget.

Qwen2-VL's pipeline (:class:`~pixelprep.models.qwen2_vl.Qwen2VLImageProcessor`'s methods) with other constants. Unlike Qwen, the
processor takes no ``min_pixels``/``max_pixels``: in a config file they are kept but not read (as
transformers keeps them), as arguments they are refused. transformers' token-count helper still
reads them from ``images_kwargs``, and so does ours.
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..multiview import MultiViewProcessor
from .qwen2_vl import Qwen2VLImageProcessor, _fold_pixels, _PIXEL_KEYS


@register_family
class Ernie4_5_VLMoeImageProcessor(MultiViewProcessor):
    """ERNIE-4.5-VL-MoE: smart_resize to multiples of 28 within 3136..4842768 pixels; patches concatenated with ``image_grid_thw``."""

    transformers_class = "Ernie4_5_VLMoeImageProcessor"
    class_aliases = ("Ernie4_5_VL_MoeImageProcessor",)
    model_types = ("ernie4_5_vl_moe",)
    defaults = {
        **{key: value for key, value in Qwen2VLImageProcessor.defaults.items() if key not in _PIXEL_KEYS},
        "size": {"shortest_edge": 56 * 56, "longest_edge": 28 * 28 * 6177},
        "temporal_patch_size": 1,
    }
    extra_params = {key: check for key, check in Qwen2VLImageProcessor.extra_params.items() if key not in _PIXEL_KEYS}
    model_input_names = ["pixel_values", "image_grid_thw"]

    # Qwen2-VL's pipeline, method for method; not a subclass because parameters are inherited and
    # this family must not take Qwen's min_pixels/max_pixels.
    layout = Qwen2VLImageProcessor.layout
    patch_layout = Qwen2VLImageProcessor.patch_layout
    smart_resize = Qwen2VLImageProcessor.smart_resize
    steps = Qwen2VLImageProcessor.steps
    packer = Qwen2VLImageProcessor.packer
    patchify = Qwen2VLImageProcessor.patchify
    _count_patches = Qwen2VLImageProcessor.get_number_of_image_patches

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Patches an image of ``height`` x ``width`` gives; ``images_kwargs`` may give ``min_pixels``/``max_pixels`` as transformers' helper reads them."""
        kwargs = dict(images_kwargs or {})
        pixels = {key: kwargs.pop(key) for key in _PIXEL_KEYS if key in kwargs}
        if pixels:
            kwargs["size"] = _fold_pixels(kwargs.get("size", self.size), pixels.get("min_pixels"), pixels.get("max_pixels"), self.defaults["size"])
        return self._count_patches(height, width, kwargs)
