"""NeoMME: native resolution by default (optional area and long-side limits), zero pad to whole patches, row-major patches.

Each image keeps its size unless ``max_side`` or ``size`` (``{"min_pixels", "max_pixels"}``) is set; then
one scale, aspect kept, brings it within them (:func:`~pixelprep.geometry_vlm.area_and_side_fit`,
bilinear). It is zero-padded bottom/right (before normalize, so padding becomes -1) to multiples of
``patch_size`` (32) and cut row-major into ``(p, p, C)`` vectors: ``pixel_values`` is
``(sum of patches, p*p*C)`` and ``image_grid_hw`` ``(images, 2)`` the (rows, cols) of patches.

transformers has only a torchvision class; the pil backend runs the same geometry with Pillow's resize.
"""

from __future__ import annotations

import functools
from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..errors import InvalidArgumentError
from ..multiview import ConcatPatches, MultiViewProcessor, PadToMultiple, PatchLayout, RuleResize
from ..params import _positive_int
from .constants import STANDARD_RGB_NORMALIZE
from .qwen2_vl import _optional_positive_int


@register_family
class NeoMMEImageProcessor(MultiViewProcessor):
    """NeoMME: optional area/long-side resize, zero pad to ``patch_size``, ``(patches, p*p*C)`` with ``image_grid_hw``."""

    transformers_class = "NeoMMEImageProcessor"
    model_types = ("neomme",)
    defaults = {
        "do_resize": True,
        "size": None,  # {"min_pixels", "max_pixels"}; unset keeps the native resolution
        "resample": 2,
        **STANDARD_RGB_NORMALIZE,
        "patch_size": 32,
        "max_side": None,
    }
    extra_params = {"patch_size": _positive_int, "max_side": _optional_positive_int}
    model_input_names = ["pixel_values", "image_grid_hw"]

    def target(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """(height, width) an image of ``height`` x ``width`` is resized to (before padding) under the resolved ``params``."""
        if not params.get("do_resize"):
            return height, width
        size = params.get("size")
        if size is not None and set(size) != {"min_pixels", "max_pixels"}:
            raise InvalidArgumentError(f"size must give exactly 'min_pixels' and 'max_pixels' for {type(self).__name__}, got {size}")
        size = size or {}
        return geometry_vlm.area_and_side_fit(height, width, params.get("max_side"), size.get("min_pixels"), size.get("max_pixels"))

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Patches an image of ``height`` x ``width`` makes (padding included, no row markers); ``images_kwargs`` as a call."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        new_height, new_width = self.target(height, width, params)
        patch = params["patch_size"]
        return -(-new_height // patch) * -(-new_width // patch)

    def steps(self, params: dict[str, Any]) -> list[Any]:
        self.target(1, 1, params)  # refuses a malformed size up front, as transformers does
        pad = PadToMultiple(params["patch_size"])
        size = params.get("size") or {}
        if not params.get("do_resize") or (params.get("max_side") is None and not size):
            return [pad]
        rule = functools.partial(self.target, params=params)
        limits = [f"area {size['min_pixels']}..{size['max_pixels']} pixels" if size else "", f"long side <= {params['max_side']}" if params.get("max_side") else ""]
        return [RuleResize(rule, params["resample"], f"within {', '.join(filter(None, limits))} (aspect kept)"), pad]

    def packer(self, params: dict[str, Any]) -> ConcatPatches:
        return ConcatPatches(PatchLayout(params["patch_size"], channels_first=False), grid_key="image_grid_hw", grid_frames=False)
