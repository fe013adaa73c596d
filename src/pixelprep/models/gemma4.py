"""Gemma4 (and EmbeddingGemma2): resize to a soft-token budget in whole pooling blocks, patches padded to the budget.

``max_soft_tokens`` (one of 70, 140, 280, 560, 1120) soft tokens each pool ``pooling_kernel_size``²
patches, so an image may use ``max_soft_tokens * pooling_kernel_size**2`` patches. The size rule is
:func:`~pixelprep.geometry_vlm.pooled_patch_fit`; the packer is
:class:`~pixelprep.multiview.PaddedPatches` with ``(p, p, C)`` vectors and each patch's (column, row)
in ``image_position_ids`` (-1 on padding). ``num_soft_tokens_per_image`` is an image's patches over
the pooling area. Pixels are only rescaled to [0, 1] by default (no normalisation).
"""

from __future__ import annotations

import functools
from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..errors import InvalidArgumentError
from ..multiview import MultiViewProcessor, PaddedPatches, PatchLayout, RuleResize, Views
from ..params import _positive_int

#: The soft-token budgets Gemma4 was trained with; transformers refuses any other.
SUPPORTED_SOFT_TOKENS = (70, 140, 280, 560, 1120)


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


def _soft_tokens(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or value not in SUPPORTED_SOFT_TOKENS:
        raise InvalidArgumentError(f"{name} must be one of {', '.join(map(str, SUPPORTED_SOFT_TOKENS))}, got {value!r}")
    return int(value)


@register_family
class Gemma4ImageProcessor(MultiViewProcessor):
    """Gemma4: every image as at most ``max_soft_tokens`` pooled blocks of patches, padded to the budget, with patch positions."""

    transformers_class = "Gemma4ImageProcessor"
    model_types = ("gemma4", "embedding_gemma2")
    defaults = {
        "do_resize": True,
        "resample": 3,
        "do_rescale": True,
        "do_normalize": False,
        "image_mean": (0.0, 0.0, 0.0),
        "image_std": (1.0, 1.0, 1.0),
        "do_convert_rgb": True,
        "patch_size": 16,
        "max_soft_tokens": 280,
        "pooling_kernel_size": 3,
    }
    extra_params = {"patch_size": _optional_positive_int, "max_soft_tokens": _soft_tokens, "pooling_kernel_size": _optional_positive_int}
    model_input_names = ["pixel_values", "image_position_ids", "num_soft_tokens_per_image"]

    @staticmethod
    def max_patches(params: dict[str, Any]) -> int:
        """Patch rows an image may use: every soft token pools ``pooling_kernel_size``² patches."""
        return params["max_soft_tokens"] * params["pooling_kernel_size"] ** 2

    def layout(self, params: dict[str, Any]) -> PatchLayout:
        """Square patches of ``patch_size``, vectors (p, p, C)."""
        return PatchLayout(params["patch_size"], channels_first=False)

    def target_size(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """The size an image of ``height`` x ``width`` is resized to (sides in whole pooling blocks of patches)."""
        return geometry_vlm.pooled_patch_fit(height, width, params["patch_size"], self.max_patches(params), params["pooling_kernel_size"])

    def steps(self, params: dict[str, Any]) -> list[Any]:
        if not params.get("do_resize"):
            return []
        block = params["patch_size"] * params["pooling_kernel_size"]
        what = (
            f"to the most {params['patch_size']}x{params['patch_size']} patches within {self.max_patches(params)} "
            f"({params['max_soft_tokens']} soft tokens of {params['pooling_kernel_size']}x{params['pooling_kernel_size']} patches), "
            f"sides multiples of {block}, aspect kept"
        )
        return [RuleResize(functools.partial(self.target_size, params=params), params["resample"], what)]

    def aspect_ratio_preserving_resize(self, image: Any, patch_size: int, max_patches: int, pooling_kernel_size: int, resample: Any) -> Any:
        """A CHW image resized by the pipeline's pooled-patch fit (at most ``max_patches`` patches, sides in whole pooling blocks),
        as transformers' ``aspect_ratio_preserving_resize``."""
        patch = _positive_int(patch_size, "patch_size")
        budget = _positive_int(max_patches, "max_patches")
        kernel = _positive_int(pooling_kernel_size, "pooling_kernel_size")
        params = self._step_params({"resample": resample})
        rule = RuleResize(lambda height, width: geometry_vlm.pooled_patch_fit(height, width, patch, budget, kernel), params["resample"], "pooled-patch fit")
        return self._run_steps(image, params, [rule])

    def _soft_token_count(self, height: int, width: int, params: dict[str, Any]) -> int:
        rows, cols = self.layout(params).grid(height, width)
        return rows * cols // params["pooling_kernel_size"] ** 2

    def split_views(self, backend: Any, image: Any, params: dict[str, Any]) -> Views:
        return Views([image], meta={"num_soft_tokens_per_image": self._soft_token_count(*backend.size(image), params)})

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        k = params["pooling_kernel_size"]
        return [f"num_soft_tokens_per_image: patches / {k * k} ({k}x{k} pooling)"]

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ("num_soft_tokens_per_image",)

    def can_split_batch(self, params: dict[str, Any]) -> bool:
        # Its one metadata output holds one value per image, which the packer's split cuts like the rest.
        return True

    def packer(self, params: dict[str, Any]) -> PaddedPatches:
        k = params["pooling_kernel_size"]
        limit = f"max_soft_tokens {params['max_soft_tokens']} x pooling_kernel_size {k}x{k}"
        return PaddedPatches(self.layout(params), self.max_patches(params), mask_key=None, shapes_key=None,
                             positions_key="image_position_ids", limit_name=limit)

    def _call_params(self, images_kwargs: dict[str, Any] | None) -> dict[str, Any]:
        # Serving stacks pass their whole images_kwargs; read only what applies here.
        return self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Real (unpadded) patch rows an image of ``height`` x ``width`` gives; ``images_kwargs`` overrides settings as a call would."""
        params = self._call_params(images_kwargs)
        size = self.target_size(height, width, params) if params.get("do_resize") else (height, width)
        rows, cols = self.layout(params).grid(*size)
        return rows * cols

    def get_number_of_soft_tokens(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Soft tokens (``num_soft_tokens_per_image``) an image of ``height`` x ``width`` gives, as Gemma4Processor counts them."""
        params = self._call_params(images_kwargs)
        size = self.target_size(height, width, params) if params.get("do_resize") else (height, width)
        return self._soft_token_count(*size, params)
