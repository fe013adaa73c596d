"""MiniCPM-V 4.6 / 4.7 and MiniCPM-OCR: a source view and, for large images, slices, as strips of patches.

Each image gives a *source* view: the image scaled to about ``scale_resolution``² pixels (aspect kept;
only shrunk when it is sliced or, for MiniCPM-OCR with ``small_image_upsize="never"``, when it is small)
with sides rounded to whole merge blocks (``patch_size`` x 4, or x 2 with ``downsample_mode="4x"``). With
``slice_mode``, an image over ``scale_resolution``² is also cut into the grid of up to ``max_slice_nums``
slices closest to its aspect ratio, each scaled the same way (:func:`~pixelprep.geometry_vlm.slice_grid`,
:func:`~pixelprep.geometry_vlm.sliced_canvas_size`). Every view's patches go side by side into
``pixel_values`` ``(1, C, patch_size, ...)``; ``target_sizes`` (int32) gives each view's patch grid,
``grids`` each image's slice grid ([0, 0] unsliced) and ``num_patches_per_image`` its view count, both
plain lists as in transformers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError, InvalidImageError
from ..features import BatchFeature
from ..multiview import MultiViewProcessor, PatchStrip, Views
from ..params import _positive_int, normalize_bool
from .constants import STANDARD_RGB_NORMALIZE
from .perception_lm import string_param

#: Outputs transformers leaves as Python lists whatever ``return_tensors`` is.
LIST_OUTPUTS = ("grids", "num_patches_per_image")


@register_family
class MiniCPMV4_6ImageProcessor(MultiViewProcessor):
    """MiniCPM-V 4.6 / 4.7: a source view plus slices of large images, each scaled to about ``scale_resolution``², as patch strips."""

    transformers_class = "MiniCPMV4_6ImageProcessor"
    model_types = ("minicpmv4_6", "minicpmv4_7")
    defaults = {
        "do_resize": True,
        "resample": 3,
        **STANDARD_RGB_NORMALIZE,
        "max_slice_nums": 9,
        "scale_resolution": 448,
        "patch_size": 14,
        "slice_mode": True,
        "downsample_mode": "16x",
        "use_image_id": True,  # read by the processor's prompt, not by the pixels
    }
    extra_params = {
        "max_slice_nums": _positive_int,
        "scale_resolution": _positive_int,
        "patch_size": _positive_int,
        "slice_mode": normalize_bool,
        "downsample_mode": string_param("'16x' or '4x'"),
        "use_image_id": normalize_bool,
    }
    model_input_names = ["pixel_values", "target_sizes"]

    # ---------------------------------------------------------------------------------- geometry

    def block(self, params: dict[str, Any]) -> int:
        """Pixels each view side is a multiple of: ``patch_size`` times the merge (2 for ``"4x"``, else 4)."""
        return params["patch_size"] * (2 if params["downsample_mode"] == "4x" else 4)

    def upscales_source(self, params: dict[str, Any]) -> bool:
        """Whether an unsliced image's source view is scaled up to about ``scale_resolution``² (always here)."""
        return True

    def geometry(self, height: int, width: int, params: dict[str, Any]) -> tuple[tuple[int, int], tuple[int, int] | None, tuple[int, int] | None]:
        """(source size, slice grid or None, size the slices are cut from or None) for an image of ``height`` x ``width``."""
        resolution, block = params["scale_resolution"], self.block(params)
        grid = geometry_vlm.slice_grid(height, width, params["max_slice_nums"], resolution) if params.get("slice_mode") else None
        if not params.get("do_resize"):
            return (height, width), grid, (height, width) if grid else None
        source = geometry_vlm.slice_source_size(height, width, resolution, block, allow_upscale=grid is None and self.upscales_source(params))
        canvas = geometry_vlm.sliced_canvas_size(height, width, grid, resolution, block) if grid else None
        return source, grid, canvas

    def get_sliced_grid(self, image_size: tuple[int, int], max_slice_nums: int, scale_resolution: int) -> list[int] | None:
        """[rows, cols] of slices for an image of ``image_size`` (height, width), or None when it is not sliced."""
        grid = geometry_vlm.slice_grid(int(image_size[0]), int(image_size[1]), max_slice_nums, scale_resolution)
        return None if grid is None else list(grid)

    def find_best_resize(self, image_size: tuple[float, float], scale_resolution: int, patch_size: int, downsample_mode: str, allow_upscale: bool = False) -> tuple[int, int]:
        """(height, width) of a view of ``image_size``, as transformers' ``find_best_resize``."""
        block = self.block({"patch_size": patch_size, "downsample_mode": downsample_mode})
        return geometry_vlm.slice_source_size(image_size[0], image_size[1], scale_resolution, block, allow_upscale)

    def get_refine_size(
        self, image_size: tuple[int, int], grid: list[int], scale_resolution: int, patch_size: int, downsample_mode: str, allow_upscale: bool = False
    ) -> tuple[int, int]:
        """(height, width) the slices of ``grid`` are cut from, as transformers' ``get_refine_size`` (the pipeline upscales)."""
        block = self.block({"patch_size": patch_size, "downsample_mode": downsample_mode})
        return geometry_vlm.sliced_canvas_size(int(image_size[0]), int(image_size[1]), tuple(grid), scale_resolution, block, allow_upscale)

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Views (the source, plus the slices) an image of ``height`` x ``width`` makes; ``images_kwargs`` as a call."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        _, grid, _ = self.geometry(height, width, params)
        return 1 + (grid[0] * grid[1] if grid else 0)

    def reshape_by_patch(self, image: Any, patch_size: int) -> Any:
        """A CHW image as transformers' NaViT strip ``(C, patch_size, patches * patch_size)``, same array type."""
        channels, height, width = image.shape
        rows, cols = height // patch_size, width // patch_size
        patches = image.reshape(channels, rows, patch_size, cols, patch_size)
        patches = patches.permute(0, 2, 1, 3, 4) if hasattr(patches, "permute") else patches.transpose(0, 2, 1, 3, 4)
        return patches.reshape(channels, patch_size, -1)

    # ------------------------------------------------------------------------------------- views

    def steps(self, params: dict[str, Any]) -> list[Any]:
        return []  # the source and the slices are both resized from the original image in split_views

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        height, width = backend.size(image)
        source, grid, canvas = self.geometry(height, width, params)
        resample = params["resample"]

        def resized(size: tuple[int, int]) -> Any:
            target = geometry.check_output_size(*size, f"resizing a {height}x{width} image gives an image")
            return image if target == (height, width) else backend.resize(image, target, resample)

        views = [resized(source)]
        sizes = [source]
        if grid:
            rows, cols = grid
            if canvas[0] % rows or canvas[1] % cols:
                raise InvalidImageError(f"an image of {height}x{width} does not split into {rows}x{cols} equal slices; resize it (do_resize=True)")
            slice_size = (canvas[0] // rows, canvas[1] // cols)
            whole = resized(canvas)
            views += [backend.crop(whole, top, left, h, w) for top, left, h, w in geometry_vlm.tile_boxes(*canvas, *slice_size)]
            sizes += [slice_size] * (rows * cols)
        p = params["patch_size"]
        return Views(views, meta={"target_sizes": [[h // p, w // p] for h, w in sizes], "grids": list(grid) if grid else [0, 0]})

    def packer(self, params: dict[str, Any]) -> PatchStrip:
        return PatchStrip(params["patch_size"])

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ("target_sizes", *LIST_OUTPUTS)

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        return {
            "target_sizes": np.array([size for group in views for size in group.meta["target_sizes"]], dtype=np.int32).reshape(-1, 2),
            "grids": [group.meta["grids"] for group in views],
            "num_patches_per_image": [len(group.images) for group in views],
        }

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        lists = {key: features.data.pop(key) for key in LIST_OUTPUTS if key in features.data}
        features = super().finalize(features, params, backend)
        features.data.update(lists)
        return features

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        block, resolution = self.block(params), params["scale_resolution"]
        resample = RESAMPLE_NAMES[params["resample"]]
        lines = [f"views: the source, about {resolution}x{resolution} pixels (aspect kept), sides multiples of {block} ({resample})"]
        if params.get("slice_mode"):
            lines.append(
                f"then, for an image over {resolution}x{resolution}, slices: the grid of up to {params['max_slice_nums']} closest to its "
                f"aspect, each about {resolution}x{resolution}, sides multiples of {block}, row-major"
            )
        lines.append("target_sizes: each view's patch grid; grids: slices per image ([0, 0] unsliced); num_patches_per_image: views per image")
        return lines


def _small_image_upsize(value: Any, name: str) -> str | None:
    if value is None or value in ("always", "never"):
        return value
    if value == "adaptive":
        raise InvalidArgumentError(f"{name}='adaptive' (OpenCV glyph detection) is not supported by pixelprep; use 'always' or 'never'")
    raise InvalidArgumentError(f"{name} must be 'always' or 'never', got {value!r}")


@register_family
class MiniCPMOcrImageProcessor(MiniCPMV4_6ImageProcessor):
    """MiniCPM-OCR: MiniCPM-V's views at ``"4x"``; ``small_image_upsize="never"`` keeps small unsliced images near their own size."""

    transformers_class = "MiniCPMOcrImageProcessor"
    model_types = ("minicpm_ocr",)
    defaults = {"downsample_mode": "4x", "small_image_upsize": "always"}
    extra_params = {"small_image_upsize": _small_image_upsize}

    def upscales_source(self, params: dict[str, Any]) -> bool:
        return params["small_image_upsize"] == "always"

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        if not params.get("do_resize"):
            raise InvalidArgumentError("do_resize=False is not supported by MiniCPM-OCR, which always aligns images to its patch grid (as transformers)")
        return super().split_views(backend, image, params)
