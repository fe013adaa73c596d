"""MuseGlimmer (and Muse Spark): the patch-merge grid nearest the image's aspect under a token cap, then row-major patches.

Each image is resized (Lanczos) to the grid of ``patch_size`` x ``merge_size`` blocks closest to its
aspect with at most ``max_image_tokens`` blocks (:func:`~pixelprep.geometry_vlm.token_capped_aspect_grid`),
and cut into ``patch_size`` squares in plain row-major order (not merge blocks), each vector
``(T, C, p, p)`` with the frame repeated ``temporal_patch_size`` times: ``pixel_values`` is
``(sum of patches, T*C*p*p)`` and ``image_grid_thw`` ``(images, 3)``.

transformers has only a torchvision class; the pil backend runs the same geometry with Pillow's resize.
"""

from __future__ import annotations

import functools
from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..multiview import CheckPatchMultiple, ConcatPatches, MultiViewProcessor, PatchLayout, RuleResize
from ..params import _positive_int
from .constants import STANDARD_RGB_NORMALIZE


@register_family
class MuseGlimmerImageProcessor(MultiViewProcessor):
    """MuseGlimmer: the aspect-closest merge-block grid under ``max_image_tokens``, row-major ``(T, C, p, p)`` patches with ``image_grid_thw``."""

    transformers_class = "MuseGlimmerImageProcessor"
    model_types = ("muse_glimmer", "muse_spark")
    defaults = {
        "do_resize": True,
        "size": None,  # unused: the token cap sets the size
        "resample": 1,
        "default_to_square": False,
        **STANDARD_RGB_NORMALIZE,
        "patch_size": 14,
        "temporal_patch_size": 2,
        "merge_size": 2,
        "max_image_tokens": 4096,
    }
    extra_params = {"patch_size": _positive_int, "temporal_patch_size": _positive_int, "merge_size": _positive_int, "max_image_tokens": _positive_int}
    model_input_names = ["pixel_values", "image_grid_thw"]

    def target(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """(height, width) an image of ``height`` x ``width`` is resized to under the resolved ``params``."""
        return geometry_vlm.token_capped_aspect_grid(height, width, params["patch_size"] * params["merge_size"], params["max_image_tokens"])

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Patches (rows of ``pixel_values``) an image of ``height`` x ``width`` makes; ``images_kwargs`` as a call."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        new_height, new_width = self.target(height, width, params)
        return (new_height // params["patch_size"]) * (new_width // params["patch_size"])

    def steps(self, params: dict[str, Any]) -> list[Any]:
        if not params.get("do_resize"):
            return [CheckPatchMultiple(params["patch_size"], params["patch_size"])]
        block, cap = params["patch_size"] * params["merge_size"], params["max_image_tokens"]
        what = f"to the {block}-pixel block grid nearest the aspect with at most {cap} blocks"
        return [RuleResize(functools.partial(self.target, params=params), params["resample"], what)]

    def packer(self, params: dict[str, Any]) -> ConcatPatches:
        return ConcatPatches(PatchLayout(params["patch_size"], temporal_patch_size=params["temporal_patch_size"], frames_first=True))

    def patchify(self, images: Any, patch_size: int, temporal_patch_size: int) -> tuple[Any, int, int]:
        """A BCHW batch as ``(B, patches, T*C*p*p)`` row-major patches, each frame repeated, with the patch grid, as transformers' ``patchify``."""
        batch, channels, height, width = images.shape
        rows, cols = height // patch_size, width // patch_size
        patches = images.reshape(batch, channels, rows, patch_size, cols, patch_size)
        patches = patches.permute(0, 2, 4, 1, 3, 5) if hasattr(patches, "permute") else patches.transpose(0, 2, 4, 1, 3, 5)
        patches = patches.reshape(batch, rows * cols, 1, channels * patch_size * patch_size)
        repeated = patches.expand(-1, -1, temporal_patch_size, -1) if hasattr(patches, "expand") else patches.repeat(temporal_patch_size, axis=2)
        return repeated.reshape(batch, rows * cols, -1), rows, cols
