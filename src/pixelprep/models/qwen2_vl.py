"""Qwen2-VL (and Qwen2.5-VL, Qwen3-VL, the Omni models, ColQwen2, ...): smart_resize, then merge-ordered patches.

The whole family is a size rule (:class:`~pixelprep.multiview.SmartResize`) and a packer
(:class:`~pixelprep.multiview.ConcatPatches`); its own quirk is that ``min_pixels``/``max_pixels`` are
another spelling of ``size``'s shortest/longest edge, at construction and at call time.
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..errors import InvalidArgumentError
from ..multiview import ConcatPatches, MultiViewProcessor, PatchLayout, SmartResize, write_patches
from ..params import _positive_int
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

_PIXEL_KEYS = {"min_pixels": "shortest_edge", "max_pixels": "longest_edge"}


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


def _fold_pixels(size: Any, min_pixels: Any, max_pixels: Any, default: dict[str, int]) -> Any:
    """``size`` with ``min_pixels``/``max_pixels`` written into its shortest/longest edge (and legacy pixel keys renamed)."""
    if min_pixels is None and max_pixels is None and not (isinstance(size, dict) and set(size) & set(_PIXEL_KEYS)):
        return size
    folded = dict(size) if isinstance(size, dict) else dict(default)
    for key, edge in _PIXEL_KEYS.items():
        if key in folded:
            folded.setdefault(edge, folded.pop(key))
    if min_pixels is not None:
        folded["shortest_edge"] = _positive_int(min_pixels, "min_pixels")
    if max_pixels is not None:
        folded["longest_edge"] = _positive_int(max_pixels, "max_pixels")
    return folded


@register_family
class Qwen2VLImageProcessor(MultiViewProcessor):
    """Qwen2-VL: resize to multiples of patch x merge within a pixel budget; patches concatenated over the batch with ``image_grid_thw``."""

    transformers_class = "Qwen2VLImageProcessor"
    class_aliases = ("Qwen2_5_VLImageProcessor", "Qwen2_5VLImageProcessor", "Qwen3VLImageProcessor", "Qwen3_VLImageProcessor")
    model_types = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_5", "qwen3_5_moe", "qwen2_5_omni", "qwen3_omni_moe", "colqwen2",
                   "cosmos3_omni", "dots3_note", "exaone4_5", "hyperclovax_vision_v2", "lfm3_vl", "qwen4_exp")
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 56 * 56, "longest_edge": 28 * 28 * 1280},
        "resample": 3,
        "default_to_square": False,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "do_convert_rgb": True,
        "min_pixels": None,
        "max_pixels": None,
        "patch_size": 14,
        "temporal_patch_size": 2,
        "merge_size": 2,
    }
    extra_params = {
        "min_pixels": _optional_positive_int,
        "max_pixels": _optional_positive_int,
        "patch_size": _optional_positive_int,
        "temporal_patch_size": _optional_positive_int,
        "merge_size": _optional_positive_int,
    }
    model_input_names = ["pixel_values", "image_grid_thw"]

    def _setup(self, params: dict[str, Any], extra: dict[str, Any], backend: str | None, num_threads: int | None) -> None:
        # At construction min_pixels/max_pixels become size's edges and are not kept (nor saved), as in transformers.
        params = dict(params)
        min_pixels, max_pixels = params.pop("min_pixels", None), params.pop("max_pixels", None)
        params["size"] = _fold_pixels(params.get("size"), min_pixels, max_pixels, self.defaults["size"])
        super()._setup(params, extra, backend, num_threads)

    def resolve(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call-time ``min_pixels``/``max_pixels`` replace one edge of the call's ``size`` (or of the processor's)."""
        overrides = dict(overrides or {})
        min_pixels, max_pixels = overrides.pop("min_pixels", None), overrides.pop("max_pixels", None)
        params = super().resolve(overrides)
        if min_pixels is None and max_pixels is None:
            return params
        params = dict(params)
        params["size"] = _fold_pixels(params.get("size"), min_pixels, max_pixels, self.defaults["size"])
        return params

    def layout(self, params: dict[str, Any]) -> PatchLayout:
        """Patch size, merge block and temporal repeat of the resolved ``params``."""
        return self.patch_layout(params["patch_size"], params["merge_size"], params["temporal_patch_size"])

    def patch_layout(self, patch_size: int, merge_size: int, temporal_patch_size: int) -> PatchLayout:
        """How this family lays out patches (for the pipeline and :meth:`patchify`); Qwen: ``(C, T, p, p)`` vectors in merge blocks."""
        return PatchLayout(patch_size, merge_size, temporal_patch_size, channels_first=True)

    def smart_resize(self, params: dict[str, Any]) -> SmartResize:
        """The resize step for the resolved ``params``: ``size`` gives the pixel budget."""
        size = params.get("size") or {}
        if "shortest_edge" not in size or "longest_edge" not in size:
            raise InvalidArgumentError(
                f"size must give 'shortest_edge' and 'longest_edge' (the min and max pixel counts) for {type(self).__name__}, got {size}"
            )
        return SmartResize(self.layout(params).factor, size["shortest_edge"], size["longest_edge"], params["resample"])

    def steps(self, params: dict[str, Any]) -> list[Any]:
        return [self.smart_resize(params)] if params.get("do_resize") else []

    def packer(self, params: dict[str, Any]) -> ConcatPatches:
        return ConcatPatches(self.layout(params), grid_key="image_grid_thw")

    def patchify(self, images: Any, patch_size: int, merge_size: int, temporal_patch_size: int) -> tuple[Any, int, int]:
        """A CHW image (or a BCHW batch of one size) as float32 ``(patches, C*T*p*p)`` rows, with the patch grid, as transformers' ``patchify``."""
        import numpy as np

        from ..inputs import _array_to_hwc, _is_torch_tensor

        layout = self.patch_layout(_positive_int(patch_size, "patch_size"), _positive_int(merge_size, "merge_size"), _positive_int(temporal_patch_size, "temporal_patch_size"))
        backend = self._backend_for(None)
        is_torch = _is_torch_tensor(images)
        array = images if is_torch else np.asarray(images)
        if array.ndim not in (3, 4) or array.shape[0] == 0:
            raise InvalidArgumentError(f"patchify takes a CHW image or a non-empty BCHW batch, got shape {tuple(array.shape)}")
        rows = []
        for item in array if array.ndim == 4 else [array]:
            hwc = _array_to_hwc(item, "channels_first", "image")
            native = backend.from_canonical(hwc.contiguous() if is_torch else np.ascontiguousarray(hwc))
            height, width = backend.size(native)
            layout.check(height, width, "the image to patchify")
            grid_h, grid_w = layout.grid(height, width)
            out = backend.allocate((grid_h * grid_w, layout.vector_size(backend.channels(native))), "float32")
            write_patches(backend, native, out, layout, None)
            rows.append(backend.to_numpy(out))
        flat = np.stack(rows) if array.ndim == 4 else rows[0]
        if is_torch:
            import torch

            return torch.from_numpy(flat).to(images.device), grid_h, grid_w
        return flat, grid_h, grid_w

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Patches (rows of ``pixel_values``) an image of ``height`` x ``width`` gives; ``images_kwargs`` overrides settings as a call would."""
        # Serving stacks pass their whole images_kwargs; like transformers, read only what applies here.
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        rows, cols = self.layout(params).grid(*self.smart_resize(params).target(height, width))
        return rows * cols
