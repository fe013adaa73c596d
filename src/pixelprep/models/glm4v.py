"""GLM-4.1V / GLM-4.5V (Glm4v) and GLM-4.6V (Glm46V): Qwen2-VL's patches with GLM's own smart_resize.

The packing is Qwen2-VL's (:class:`~pixelprep.multiview.ConcatPatches`: ``(C, T, p, p)`` vectors in
merge blocks, ``image_grid_thw``); the size rule is :func:`~pixelprep.geometry_vlm.glm_smart_resize`,
which enlarges images with a side under patch x merge and counts the temporal frames in the pixel
budget (``size``'s shortest/longest edge). GLM takes no ``min_pixels``/``max_pixels`` keywords.
"""

from __future__ import annotations

import functools
from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..errors import InvalidArgumentError
from ..multiview import ConcatPatches, MultiViewProcessor, PatchLayout, RuleResize
from ..params import _positive_int
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from .qwen2_vl import Qwen2VLImageProcessor


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


@register_family
class Glm4vImageProcessor(MultiViewProcessor):
    """GLM-4.1V: resize to multiples of patch x merge within a budget of frames x pixels; patches concatenated with ``image_grid_thw``."""

    transformers_class = "Glm4vImageProcessor"
    model_types = ("glm4v",)
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 112 * 112, "longest_edge": 28 * 28 * 15000},
        "resample": 3,
        "default_to_square": False,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "do_convert_rgb": True,
        "patch_size": 14,
        "temporal_patch_size": 2,
        "merge_size": 2,
    }
    extra_params = {
        "patch_size": _optional_positive_int,
        "temporal_patch_size": _optional_positive_int,
        "merge_size": _optional_positive_int,
    }
    model_input_names = ["pixel_values", "image_grid_thw"]

    def layout(self, params: dict[str, Any]) -> PatchLayout:
        """Patch size, merge block and temporal repeat of the resolved ``params``."""
        return PatchLayout(params["patch_size"], params["merge_size"], params["temporal_patch_size"], channels_first=True)

    def pixel_budget(self, params: dict[str, Any]) -> tuple[int, int]:
        """(min, max) of frames x pixels: ``size``'s shortest and longest edge."""
        size = params.get("size") or {}
        if "shortest_edge" not in size or "longest_edge" not in size:
            raise InvalidArgumentError(
                f"size must give 'shortest_edge' and 'longest_edge' (the min and max pixel counts) for {type(self).__name__}, got {size}"
            )
        return size["shortest_edge"], size["longest_edge"]

    def resize_factor(self, params: dict[str, Any]) -> int:
        """What the resize makes both sides a multiple of: patch x merge."""
        return self.layout(params).factor

    def target_size(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """The size an image of ``height`` x ``width`` is resized to."""
        factor = self.resize_factor(params)
        return geometry_vlm.glm_smart_resize(height, width, factor, *self.pixel_budget(params), params["temporal_patch_size"])

    def steps(self, params: dict[str, Any]) -> list[Any]:
        if not params.get("do_resize"):
            return []
        (low, high), factor = self.pixel_budget(params), self.resize_factor(params)
        what = (
            f"to sides that are multiples of {factor}, {params['temporal_patch_size']} frames x {low}..{high} pixels, "
            f"sides under {factor} enlarged first, aspect kept (GLM smart_resize)"
        )
        return [RuleResize(functools.partial(self.target_size, params=params), params["resample"], what)]

    def packer(self, params: dict[str, Any]) -> ConcatPatches:
        return ConcatPatches(self.layout(params), grid_key="image_grid_thw")

    # transformers' GLM-4V patchify is Qwen2-VL's (same signature and layout): the one implementation, on write_patches
    patchify = Qwen2VLImageProcessor.patchify
    patch_layout = Qwen2VLImageProcessor.patch_layout

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Patches (rows of ``pixel_values``) an image of ``height`` x ``width`` gives; ``images_kwargs`` overrides settings as a call would.

        Like transformers, it always counts the resized image (``do_resize`` is not read). Unlike
        transformers, whose helper keeps the processor's own ``temporal_patch_size``, a
        ``temporal_patch_size`` given here counts in the budget, as it does when images are processed.
        """
        # Serving stacks pass their whole images_kwargs; read only what applies here.
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        rows, cols = self.layout(params).grid(*self.target_size(height, width, params))
        return rows * cols


@register_family
class Glm46VImageProcessor(Glm4vImageProcessor):
    """GLM-4.6V: transformers' copy of the GLM-4.1V processor under its own name."""

    transformers_class = "Glm46VImageProcessor"
    model_types = ("glm46v",)
