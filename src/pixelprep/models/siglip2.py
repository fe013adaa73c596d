"""SigLIP2 NaFlex: resize to the largest patch grid within a patch budget, aspect kept; patches padded to the budget.

The size rule is :func:`~pixelprep.geometry_vlm.naflex_size` (transformers' bisection of the scale);
the packer is :class:`~pixelprep.multiview.PaddedPatches` with ``(p, p, C)`` vectors, an int32 mask of
the real rows and each image's ``spatial_shapes``. ``patch_size`` and ``max_num_patches`` may be set
per call.
"""

from __future__ import annotations

import functools
from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..multiview import MultiViewProcessor, PaddedPatches, PatchLayout, RuleResize
from ..params import _positive_int
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


@register_family
class Siglip2ImageProcessor(MultiViewProcessor):
    """SigLIP2 (NaFlex): every image as at most ``max_num_patches`` patches of ``patch_size``, padded to that many rows."""

    transformers_class = "Siglip2ImageProcessor"
    model_types = ("siglip2", "siglip2_vision_model")
    defaults = {
        "do_resize": True,
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "patch_size": 16,
        "max_num_patches": 256,
    }
    extra_params = {"patch_size": _optional_positive_int, "max_num_patches": _optional_positive_int}
    model_input_names = ["pixel_values", "pixel_attention_mask", "spatial_shapes"]

    def layout(self, params: dict[str, Any]) -> PatchLayout:
        """Square patches of ``patch_size``, vectors (p, p, C)."""
        return PatchLayout(params["patch_size"], channels_first=False)

    def target_size(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """The size an image of ``height`` x ``width`` is resized to (its sides are whole patches)."""
        return geometry_vlm.naflex_size(height, width, params["patch_size"], params["max_num_patches"])

    def steps(self, params: dict[str, Any]) -> list[Any]:
        if not params.get("do_resize"):
            return []
        rule = functools.partial(self.target_size, params=params)
        what = f"to the most {params['patch_size']}x{params['patch_size']} patches within {params['max_num_patches']}, aspect kept (NaFlex)"
        return [RuleResize(rule, params["resample"], what)]

    def packer(self, params: dict[str, Any]) -> PaddedPatches:
        return PaddedPatches(self.layout(params), params["max_num_patches"])

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Real (unpadded) patch rows an image of ``height`` x ``width`` gives; ``images_kwargs`` overrides settings as a call would."""
        # Serving stacks pass their whole images_kwargs; read only what applies here.
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        size = self.target_size(height, width, params) if params.get("do_resize") else (height, width)
        rows, cols = self.layout(params).grid(*size)
        return rows * cols
