"""Kimi-K2.5: shrink to a patch budget, pad to whole merge blocks, then every image's patches concatenated.

Each image is shrunk (never enlarged) so its patches fit ``max_patches`` and each side fits
``size["max_height"]`` patches (:func:`~pixelprep.geometry_vlm.patch_budget_fit`), zero-padded
bottom/right (before normalize) to multiples of ``patch_size`` x ``merge_size``, and cut into
``patch_size`` squares row-major: ``pixel_values`` is ``(sum of patches, C, p, p)`` and
``image_grid_thw`` ``(images, 3)`` gives (1, rows, cols) of patches per image.

transformers has only a torchvision class; the pil backend runs the same geometry with Pillow's resize.
"""

from __future__ import annotations

import functools
from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..multiview import ConcatPatches, MultiViewProcessor, PadToMultiple, PatchLayout, RuleResize
from ..params import _positive_int
from .constants import STANDARD_RGB_NORMALIZE


@register_family
class Kimi_K25ImageProcessor(MultiViewProcessor):
    """Kimi-K2.5: a patch-budget shrink, zero pad to merge blocks, ``(patches, C, p, p)`` with ``image_grid_thw``."""

    transformers_class = "Kimi_K25ImageProcessor"
    model_types = ("kimi_k25",)
    defaults = {
        "do_resize": True,
        "size": {"max_height": 512, "max_width": 512},  # in patches per side, not pixels
        "resample": 3,
        **STANDARD_RGB_NORMALIZE,
        "max_patches": 16384,
        "patch_size": 14,
        "merge_size": 2,
    }
    extra_params = {"max_patches": _positive_int, "patch_size": _positive_int, "merge_size": _positive_int}
    model_input_names = ["pixel_values", "image_grid_thw"]

    def max_side_patches(self, params: dict[str, Any]) -> int:
        """Patches each side may have: ``size["max_height"]``, which must equal ``size["max_width"]`` (as transformers checks)."""
        size = params.get("size") or {}
        if size.get("max_height") is None or size.get("max_height") != size.get("max_width"):
            raise InvalidArgumentError(f"size must give 'max_height' and 'max_width' with the same value (patches per side), got {size}")
        return size["max_height"]

    def target(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """(height, width) an image of ``height`` x ``width`` is resized to, before its padding."""
        return geometry_vlm.patch_budget_fit(height, width, params["patch_size"], params["max_patches"], self.max_side_patches(params))

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Patches an image of ``height`` x ``width`` makes (padding included); ``images_kwargs`` as a call."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        new_height, new_width = self.target(height, width, params)
        factor, patch = params["patch_size"] * params["merge_size"], params["patch_size"]
        return (-(-new_height // factor) * factor // patch) * (-(-new_width // factor) * factor // patch)

    def steps(self, params: dict[str, Any]) -> list[Any]:
        if not params.get("do_resize"):
            return []
        max_side = self.max_side_patches(params)
        rule = functools.partial(geometry_vlm.patch_budget_fit, patch_size=params["patch_size"], max_patches=params["max_patches"], max_side_patches=max_side)
        what = f"to fit {params['max_patches']} patches of {params['patch_size']} and {max_side} per side (shrink only, aspect kept)"
        return [RuleResize(rule, params["resample"], what), PadToMultiple(params["patch_size"] * params["merge_size"])]

    def packer(self, params: dict[str, Any]) -> ConcatPatches:
        return ConcatPatches(PatchLayout(params["patch_size"]))

    def patchify(self, images: Any, patch_size: int) -> tuple[Any, int, int]:
        """A BCHW batch as ``(B, patches, C, p, p)`` row-major patches, with the patch grid, as transformers' ``patchify``."""
        batch, channels, height, width = images.shape
        rows, cols = height // patch_size, width // patch_size
        patches = images.reshape(batch, channels, rows, patch_size, cols, patch_size)
        patches = patches.permute(0, 2, 4, 1, 3, 5) if hasattr(patches, "permute") else patches.transpose(0, 2, 4, 1, 3, 5)
        return patches.reshape(batch, rows * cols, channels, patch_size, patch_size), rows, cols

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        values = features.data["pixel_values"]
        patch = params["patch_size"]
        # the packer writes (C, 1, p, p) vectors; transformers gives them as (C, p, p)
        features.data["pixel_values"] = values.reshape(values.shape[0], -1, patch, patch)
        return super().finalize(features, params, backend)

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        patch = (self._params if params is None else params)["patch_size"]
        return super().describe_pipeline(params) + [f"each patch vector as (C, {patch}, {patch}): pixel_values (patches, C, {patch}, {patch})"]
