"""NemotronH-Omni: each image resized to a patch grid picked within a patch budget, then its 16x16 patches row-major.

The grid (:func:`~pixelprep.geometry_vlm.patch_count_grid`) is near the image's own, scaled into
``[min_num_patches, budget]`` with sides in whole ``1 / downsample_ratio`` blocks; the budget is the
call's: the language model's context (``max_model_len - 4`` tokens, times the pixel-shuffle block)
or ``min_num_patches`` per image if more, capped by ``max_num_patches`` (0: no cap). The resize runs on
float32 pixels, keeping the bicubic overshoot, as transformers' class does. Outputs: ``pixel_values``
``(sum of patches, C*p*p)`` and ``image_grid_hw`` ``(images, 2)``. transformers has only a torchvision
class; the pil backend runs the same geometry with Pillow's resize.
"""

from __future__ import annotations

from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..multiview import ConcatPatches, MultiViewProcessor, PatchLayout, RuleResize
from ..params import _positive_int
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

#: tokens of the context the processor keeps for the text around the images (transformers' ``max_model_len - 4``)
_RESERVED_TOKENS = 4


def _non_negative_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{name} must be a non-negative integer (0: no cap), got {value!r}")
    return value


def _downsample_ratio(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1 or round(1 / value) < 1:
        raise InvalidArgumentError(f"{name} must be a number in (0, 1] (the pixel-shuffle ratio, e.g. 0.5), got {value!r}")
    return float(value)


@register_family
class NemotronH_Omni_Reasoning_V3ImageProcessor(MultiViewProcessor):
    """NemotronH-Omni: resize to a budgeted patch grid (float32 bicubic); row-major 16x16 patches with ``image_grid_hw``."""

    transformers_class = "NemotronH_Omni_Reasoning_V3ImageProcessor"
    model_types = ("nemotron_h_omni",)
    defaults = {
        "resample": 3,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "do_convert_rgb": True,
        "patch_size": 16,
        "downsample_ratio": 0.5,
        "min_num_patches": 1024,
        "max_num_patches": 13312,
        "max_model_len": 16384,
    }
    extra_params = {
        "patch_size": _positive_int,
        "downsample_ratio": _downsample_ratio,
        "min_num_patches": _positive_int,
        "max_num_patches": _non_negative_int,
        "max_model_len": _positive_int,
    }
    model_input_names = ["pixel_values", "image_grid_hw"]

    @classmethod
    def upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Released checkpoints spell the statistics ``norm_mean``/``norm_std`` and carry an unused ``_downsample_factor``."""
        config = dict(config)
        for legacy, current in (("norm_mean", "image_mean"), ("norm_std", "image_std")):
            if legacy in config:
                value = config.pop(legacy)
                if config.get(current) is None:
                    config[current] = value
        config.pop("_downsample_factor", None)
        return config

    def merge_size(self, params: dict[str, Any]) -> int:
        """Patches per side of one pixel-shuffle block: ``round(1 / downsample_ratio)``."""
        return round(1 / params["downsample_ratio"])

    def patch_budget(self, params: dict[str, Any], images: int) -> int:
        """Patches each image of a call with ``images`` images may have (the same for all of them)."""
        budget = max((params["max_model_len"] - _RESERVED_TOKENS) * self.merge_size(params) ** 2, params["min_num_patches"] * images)
        if params["max_num_patches"]:
            budget = min(budget, params["max_num_patches"])
        return max(budget, params["min_num_patches"])

    def grid(self, height: int, width: int, params: dict[str, Any], images: int = 1) -> tuple[int, int]:
        """The ``(rows, cols)`` patch grid an image of ``height`` x ``width`` gets in a call of ``images`` images."""
        return geometry_vlm.patch_count_grid(
            height, width, params["patch_size"], self.merge_size(params), params["min_num_patches"], self.patch_budget(params, images)
        )

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Patches (rows of ``pixel_values``) an image of ``height`` x ``width`` gives alone; ``images_kwargs`` as a call."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        rows, cols = self.grid(height, width, params)
        return rows * cols

    def steps(self, params: dict[str, Any]) -> list[Any]:
        # process_images puts the call's budget in "_budget" (it depends on the call's image count); one image's otherwise
        budget = params.get("_budget") or self.patch_budget(params, 1)
        patch = params["patch_size"]

        def rule(height: int, width: int) -> tuple[int, int]:
            rows, cols = geometry_vlm.patch_count_grid(height, width, patch, self.merge_size(params), params["min_num_patches"], budget)
            return rows * patch, cols * patch

        what = (
            f"to a grid of {patch}x{patch} patches near the image's own, {params['min_num_patches']}..budget patches, sides whole "
            f"{self.merge_size(params)}-patch blocks (budget: {params['max_model_len']} - {_RESERVED_TOKENS} tokens x "
            f"{self.merge_size(params) ** 2}, or {params['min_num_patches']} per image, capped at {params['max_num_patches'] or 'no cap'}), in float32"
        )
        return [RuleResize(rule, params["resample"], what, in_float=True)]

    def packer(self, params: dict[str, Any]) -> ConcatPatches:
        return ConcatPatches(PatchLayout(params["patch_size"]), grid_key="image_grid_hw", grid_frames=False)

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """Every image of the call gets the same patch budget, from how many images the call holds."""
        count = sum(len(sample) for sample in self.nest(images))
        return super().process_images(images, {**params, "_budget": self.patch_budget(params, count)}, backend)
