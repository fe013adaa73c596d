"""Molmo2: a global view of the whole image plus overlapping square crops of a resized canvas, as patch rows, with pooling indices.

Every image gives one ``size`` square of the whole image, then the crops of a canvas chosen by
:func:`~pixelprep.geometry_vlm.overlap_crop_geometry`: crops step by the window left after
``overlap_margins`` so neighbours share their margins. Both resizes are bilinear on float pixels without
antialiasing, rounded back to 0-255 (as transformers does). Each view becomes ``(p, p, C)`` patch rows;
``image_token_pooling`` groups the patch indices into ``pooling_size`` windows (-1 for padding), each
patch of the canvas counted once. transformers has only a torchvision class; the pil backend runs the
same geometry with the NumPy interpolation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..multiview import MultiViewProcessor, PaddedPatches, PatchLayout, Views
from ..params import _positive_int
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


def _optional_int_pair(value: Any, name: str, allow_zero: bool) -> list[int] | None:
    """Two ints (a list or tuple), each positive (or zero with ``allow_zero``)."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value) \
            or min(value) < (0 if allow_zero else 1):
        kind = "non-negative" if allow_zero else "positive"
        raise InvalidArgumentError(f"{name} must be two {kind} integers, got {value!r}")
    return [int(v) for v in value]


def _float_resize(backend: Backend, image: Any, size: tuple[int, int], resample: int) -> Any:
    """Resize the pixels as float32 without antialiasing; 8-bit pixels are rounded and clipped back to 0-255 (kept as float)."""
    image = backend.realize(image)
    eight_bit = backend.is_uint8(image)
    geometry.check_output_size(*size, f"resizing a {'x'.join(map(str, backend.size(image)))} image gives an image")
    # A float32 scalar makes the product float32 on NumPy arrays and torch tensors alike.
    resized = backend.resize_interpolate(image * np.float32(1), size, resample)
    return resized.round().clip(0, 255) if eight_bit else resized


@register_family
class Molmo2ImageProcessor(MultiViewProcessor):
    """Molmo2: a global ``size`` view plus overlapping crops, each as ``(p, p, C)`` patch rows; ``image_token_pooling`` windows of patch indices."""

    transformers_class = "Molmo2ImageProcessor"
    model_types = ("molmo2",)
    defaults = {
        "do_resize": True,
        "size": {"height": 378, "width": 378},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_convert_rgb": True,
        "max_crops": 8,
        "overlap_margins": [4, 4],
        "patch_size": 14,
        "pooling_size": [2, 2],
    }
    extra_params = {
        "max_crops": _optional_positive_int,
        "overlap_margins": lambda value, name: _optional_int_pair(value, name, allow_zero=True),
        "patch_size": _optional_positive_int,
        "pooling_size": lambda value, name: _optional_int_pair(value, name, allow_zero=False),
    }
    model_input_names = ["pixel_values", "image_token_pooling", "image_grids", "image_num_crops"]

    # ------------------------------------------------------------------------------------- geometry

    @staticmethod
    def crop_size(params: dict[str, Any]) -> int:
        """The side of every view: ``size``, which must be square."""
        size = params.get("size") or {}
        if "height" not in size or "width" not in size or size["height"] != size["width"]:
            raise InvalidArgumentError(f"Molmo2 needs a square size {{'height': n, 'width': n}}, got {size}")
        return size["height"]

    def crop_geometry(self, height: int, width: int, params: dict[str, Any]) -> tuple[tuple[int, int], tuple[int, int]]:
        """((rows, cols) of crops, (height, width) of the canvas) for an image of ``height`` x ``width``."""
        return geometry_vlm.overlap_crop_geometry(height, width, self.crop_size(params), params["patch_size"],
                                                  tuple(params["overlap_margins"]), params["max_crops"])

    def image_pooling(self, height: int, width: int, params: dict[str, Any]) -> tuple[Any, list[int], int]:
        """(pooling windows counted from the image's first patch, [global rows, global cols, crop rows, crop cols] of windows, views)."""
        crop, patch = self.crop_size(params), params["patch_size"]
        (rows, cols), _ = self.crop_geometry(height, width, params)
        crop_patches = crop // patch
        pool_h, pool_w = params["pooling_size"]
        crops = geometry_vlm.overlap_patch_indices(rows, cols, crop_patches, tuple(params["overlap_margins"]))
        crop_windows, crop_rows, crop_cols = geometry_vlm.pooling_windows(crops, pool_h, pool_w)
        whole = np.arange(crop_patches * crop_patches, dtype=np.int32).reshape(crop_patches, crop_patches)
        global_windows, global_rows, global_cols = geometry_vlm.pooling_windows(whole, pool_h, pool_w)
        # The crops' patches follow the global view's.
        crop_windows = np.where(crop_windows >= 0, crop_windows + crop_patches * crop_patches, -1).astype(np.int32)
        return np.concatenate([global_windows, crop_windows]), [global_rows, global_cols, crop_rows, crop_cols], rows * cols + 1

    def get_image_grid_and_crops(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> tuple[list[int], int]:
        """``[global rows, global cols, crop rows, crop cols]`` of pooled tokens and the number of views (crops + 1) for one image."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        crop, patch = self.crop_size(params), params["patch_size"]
        (rows, cols), (canvas_height, canvas_width) = self.crop_geometry(height, width, params)
        pool_h, pool_w = params["pooling_size"]
        grid = [math.ceil(crop // patch / pool_h), math.ceil(crop // patch / pool_w),
                math.ceil(canvas_height // patch / pool_h), math.ceil(canvas_width // patch / pool_w)]
        return grid, rows * cols + 1

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Pooled image tokens of an image of ``height`` x ``width`` (global view plus crops); ``images_kwargs`` overrides settings as a call would."""
        grid, _ = self.get_image_grid_and_crops(height, width, images_kwargs)
        return grid[0] * grid[1] + grid[2] * grid[3]

    # ---------------------------------------------------------------------------------------- views

    def steps(self, params: dict[str, Any]) -> list[Any]:
        # Both resizes happen in split_views: the global view and the canvas both come from the original image.
        return []

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        height, width = backend.size(image)
        crop, patch = self.crop_size(params), params["patch_size"]
        (rows, cols), canvas_size = self.crop_geometry(height, width, params)
        step = crop - sum(params["overlap_margins"]) * patch
        resample = params["resample"]
        canvas = _float_resize(backend, image, canvas_size, resample)
        views = [_float_resize(backend, image, (crop, crop), resample)]
        views += [backend.crop(canvas, r * step, c * step, crop, crop) for r in range(rows) for c in range(cols)]
        pooling, grid, count = self.image_pooling(height, width, params)
        return Views(views, {"image_token_pooling": pooling, "image_grids": grid, "image_num_crops": count})

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        crop, patch = self.crop_size(params), params["patch_size"]
        left, right = params["overlap_margins"]
        return [
            f"global view: resize to {crop}x{crop} bilinear on floats, no antialiasing, rounded to 0-255",
            f"crops: resize to a canvas of up to max_crops={params['max_crops']} overlapping {crop}x{crop} crops "
            f"(margins {left}+{right} patches of {patch}) the same way, cut row-major",
            f"image_token_pooling: patch indices in {params['pooling_size'][0]}x{params['pooling_size'][1]} windows, -1 padded",
        ]

    def packer(self, params: dict[str, Any]) -> PaddedPatches:
        patches = (self.crop_size(params) // params["patch_size"]) ** 2
        return PaddedPatches(PatchLayout(params["patch_size"], channels_first=False), patches, pad=False, mask_key=None, shapes_key=None)

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ("image_token_pooling", "image_grids", "image_num_crops")

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        """Pooling windows of every image, offset by the patches of the images before it, with each image's grid and view count."""
        patches = (self.crop_size(params) // params["patch_size"]) ** 2
        pooled, offset = [], 0
        for group in views:
            windows = group.meta["image_token_pooling"]
            pooled.append(np.where(windows >= 0, windows + offset, -1).astype(np.int32))
            offset += group.meta["image_num_crops"] * patches
        return {
            "image_token_pooling": np.concatenate(pooled),
            "image_grids": np.array([group.meta["image_grids"] for group in views], dtype=np.int64).reshape(-1, 4),
            "image_num_crops": np.array([group.meta["image_num_crops"] for group in views], dtype=np.int64),
        }
