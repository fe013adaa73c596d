"""Phi-4-multimodal: dynamic-HD crops of ``size`` squares plus a global view, with per-crop attention masks.

The crop grid covers the image (``ceil`` of each side over the crop size), or, past ``dynamic_hd``
crops, is InternVL's closest-aspect grid (:func:`~pixelprep.geometry_vlm.dynamic_hd_grid`). The image
is fitted into that canvas (bilinear, whatever ``resample`` says, as transformers does), padded
bottom/right with white, rescaled and normalised; the global view is the *normalised* canvas resized
to one crop without antialias (:func:`~pixelprep.multiview.resize_without_antialias`), placed first.
``image_attention_mask`` marks each view's patches that hold image (padding patches 0; padded view
slots 1, as in transformers); ``num_img_tokens`` counts the model's image tokens; ``image_sizes`` is
each canvas. transformers has only a torchvision class; the pil backend runs the same steps in Pillow.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Affine, Backend
from ..backends.base import BILINEAR, RESAMPLE_NAMES
from ..errors import InvalidArgumentError, InvalidImageError
from ..features import BatchFeature
from ..multiview import MultiViewProcessor, Views, ViewsPerImage, normalize_image, resize_without_antialias
from ..params import _positive_int
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD

#: The padding colour of the canvas, before normalize (white).
PAD_FILL = 255
#: Below this many pixels on a side, transformers refuses the fitted image ("the aspect ratio is very extreme").
MIN_FITTED_SIDE = 10
#: Image tokens of the global view (16x16) and its separators, fixed in the model.
GLOBAL_TOKENS, SEPARATOR_TOKENS = 256 + 1, 16


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


def crop_mask(height: int, width: int, rows: int, cols: int, crop_size: int, patch_size: int) -> np.ndarray:
    """The (rows * m, cols * m) float32 patch mask of a canvas (m = crop_size // patch_size): 0 on the whole patch
    columns/rows of padding right of and below a ``height`` x ``width`` image fitted into it."""
    side = crop_size // patch_size
    mask = np.ones((rows * side, cols * side), np.float32)
    pad_right, pad_bottom = cols * crop_size - width, rows * crop_size - height
    if pad_right >= patch_size:
        mask[:, mask.shape[1] - pad_right // patch_size :] = 0
    if pad_bottom >= patch_size:
        mask[mask.shape[0] - pad_bottom // patch_size :, :] = 0
    return mask


def crop_masks(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A canvas mask cut into its crops' masks, row-major: (rows * cols, m, m)."""
    side = mask.shape[0] // rows
    return mask.reshape(rows, side, cols, side).transpose(0, 2, 1, 3).reshape(rows * cols, side, side)


def image_tokens(mask: np.ndarray, rows: int, cols: int) -> int:
    """The model's image tokens for a canvas mask: the global view's, plus every kept patch of each crop downsampled
    2x (every other row and column of each crop), plus one newline per kept row of that downsampled grid."""
    crops = crop_masks(mask, rows, cols)[:, ::2, ::2]
    side = crops.shape[1]
    downsampled = crops.reshape(rows, cols, side, side).transpose(0, 2, 1, 3).reshape(rows * side, cols * side)
    return GLOBAL_TOKENS + int(downsampled.sum()) + int(downsampled[:, 0].sum()) + SEPARATOR_TOKENS


@register_family
class Phi4MultimodalImageProcessor(MultiViewProcessor):
    """Phi-4-multimodal: a global view then dynamic-HD crops, padded per batch, with patch masks and token counts."""

    transformers_class = "Phi4MultimodalImageProcessor"
    model_types = ("phi4_multimodal",)
    defaults = {
        "size": {"height": 448, "width": 448},
        "resample": 3,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_convert_rgb": True,
        "patch_size": 14,
        "dynamic_hd": 36,
    }
    extra_params = {"patch_size": _optional_positive_int, "dynamic_hd": _optional_positive_int}
    model_input_names = ["image_pixel_values", "image_sizes", "image_attention_mask"]

    @staticmethod
    def crop_size(params: dict[str, Any]) -> int:
        """The side of a crop and of the global view: ``size``, which must be a square."""
        size = params.get("size") or {}
        if "height" not in size or "width" not in size or size["height"] != size["width"]:
            raise InvalidArgumentError(f"size must be a square {{'height': s, 'width': s}} for Phi4MultimodalImageProcessor, got {size}")
        if size["height"] < params["patch_size"]:
            raise InvalidArgumentError(f"size {size['height']} is smaller than patch_size {params['patch_size']}: a crop must hold a patch")
        return size["height"]

    def layout(self, height: int, width: int, params: dict[str, Any] | None = None) -> tuple[tuple[int, int], tuple[int, int]]:
        """((rows, cols) of crops, (height, width) of the image fitted into the canvas) for a ``height`` x ``width`` image."""
        params = self._params if params is None else params
        crop = self.crop_size(params)
        rows, cols = geometry_vlm.dynamic_hd_grid(height, width, crop, params["dynamic_hd"])
        return (rows, cols), self._fitted(height, width, rows, cols, crop)

    @staticmethod
    def _fitted(height: int, width: int, rows: int, cols: int, crop: int) -> tuple[int, int]:
        fitted = geometry_vlm.fit_to_canvas_truncated(height, width, rows * crop, cols * crop)
        if min(fitted) < MIN_FITTED_SIDE:
            raise InvalidImageError(
                f"an image of {height}x{width} fitted into its {rows}x{cols}-crop canvas becomes {fitted[0]}x{fitted[1]}, under "
                f"{MIN_FITTED_SIDE} pixels on a side: its aspect ratio is too extreme (raise dynamic_hd or crop it)"
            )
        return fitted

    def get_number_of_image_tokens(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """``num_img_tokens`` for an image of ``height`` x ``width`` without the image; ``images_kwargs`` as a call."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        (rows, cols), fitted = self.layout(height, width, params)
        return image_tokens(crop_mask(*fitted, rows, cols, self.crop_size(params), params["patch_size"]), rows, cols)

    # ------------------------------------------------------------------------------------- views

    def steps(self, params: dict[str, Any]) -> list[Any]:
        # the canvas depends on the grid chosen per image: resize, pad and crops are all in split_views
        return []

    def _canvas(self, backend: Backend, image: Any, rows: int, cols: int, fitted: tuple[int, int], crop: int) -> Any:
        """The image resized (bilinear) to ``fitted`` and padded white bottom/right to the rows x cols canvas."""
        canvas = geometry.check_output_size(rows * crop, cols * crop, f"the {rows}x{cols}-crop canvas of a {backend.size(image)[0]}x{backend.size(image)[1]} image")
        if fitted != backend.size(image):
            image = backend.resize(image, fitted, BILINEAR)
        if fitted != canvas:
            image = backend.pad(image, 0, canvas[0] - fitted[0], 0, canvas[1] - fitted[1], PAD_FILL)
        return image

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        crop = self.crop_size(params)
        (rows, cols), fitted = self.layout(*backend.size(image), params)
        canvas = self._canvas(backend, image, rows, cols, fitted, crop)
        normalized = normalize_image(backend, canvas, Affine(*self.affine_parts(params), backend.channels(canvas), backend.formula))
        views = [resize_without_antialias(backend, normalized, (crop, crop), params["resample"])]
        views += [backend.crop(normalized, top, left, h, w) for top, left, h, w in geometry_vlm.tile_boxes(rows * crop, cols * crop, crop, crop)]
        mask = crop_mask(*fitted, rows, cols, crop, params["patch_size"])
        return Views(views, meta={"grid": (rows, cols), "mask": mask}, normalized=True)

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        crop = self.crop_size(params)
        return [
            f"choose {crop}x{crop} crops covering the image, or past {params['dynamic_hd']} crops the grid closest to its aspect ratio",
            "resize to fit the canvas (one side exact, the other truncated) bilinear",
            f"pad bottom/right with {PAD_FILL} to the canvas",
        ]

    def packer(self, params: dict[str, Any]) -> ViewsPerImage:
        return ViewsPerImage("image_pixel_values", pad=True)

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        params = self._params if params is None else params
        crop = self.crop_size(params)
        lines = super().describe_pipeline(params)
        # the views are made from the normalised canvas: say so after the normalize line
        views = (
            f"views: the normalised canvas resized to {crop}x{crop} without antialias ({RESAMPLE_NAMES[params['resample']]}, the global view), "
            f"then its {crop}x{crop} crops, row-major"
        )
        return lines[:-1] + [views] + lines[-1:] + [
            f"also output image_attention_mask ({crop // params['patch_size']}x{crop // params['patch_size']} patches per view, "
            "padding patches 0, padded views 1), image_sizes (the canvas), num_img_tokens"
        ]

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        """image_attention_mask (images, max views, m, m) float32, image_sizes (the canvas) and num_img_tokens per image."""
        side = self.crop_size(params) // params["patch_size"]
        most = max(len(group.images) for group in views)
        masks = np.ones((len(views), most, side, side), np.float32)  # padded view slots are 1, as in transformers
        tokens = []
        for index, group in enumerate(views):
            rows, cols = group.meta["grid"]
            masks[index, 1 : 1 + rows * cols] = crop_masks(group.meta["mask"], rows, cols)
            tokens.append(image_tokens(group.meta["mask"], rows, cols))
        canvas = [(group.meta["grid"][0] * self.crop_size(params), group.meta["grid"][1] * self.crop_size(params)) for group in views]
        return {
            "image_sizes": np.array(canvas, dtype=np.int64).reshape(-1, 2),
            "image_attention_mask": masks,
            "num_img_tokens": np.array(tokens, dtype=np.int64),
        }

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        # num_img_tokens is a list of ints without return_tensors, as in transformers
        features = super().finalize(features, params, backend)
        if params.get("return_tensors") is None:
            features.data["num_img_tokens"] = [int(n) for n in features.data["num_img_tokens"]]
        return features

    # ---------------------------------------------------------------- transformers' single steps

    def find_closest_aspect_ratio(self, aspect_ratio: float, target_ratios: list[tuple[int, int]], width: int, height: int, image_size: int) -> tuple[int, int]:
        """The (cols, rows) of ``target_ratios`` closest to ``aspect_ratio`` (see :func:`~pixelprep.geometry_vlm.closest_aspect_grid`)."""
        return tuple(geometry_vlm.closest_aspect_grid(aspect_ratio, list(target_ratios), width * height, image_size * image_size))

    def dynamic_preprocess(self, image: Any, image_size: int, patch_size: int, mask_size: int, max_num: int = 36, min_num: int = 1) -> tuple[Any, Any]:
        """A CHW uint8 image as its white-padded canvas of ``image_size`` crops and the canvas's patch mask, as the pipeline makes them."""
        from ..inputs import _array_to_hwc, _is_torch_tensor
        from ..processor import _like

        backend = self._backend_for(None)
        is_torch = _is_torch_tensor(image)
        hwc = _array_to_hwc(image if is_torch else np.asarray(image), "channels_first", "image")
        native = backend.from_canonical(hwc.contiguous() if is_torch else np.ascontiguousarray(hwc))
        height, width = backend.size(native)
        rows, cols = geometry_vlm.dynamic_hd_grid(height, width, image_size, max_num, min_num)
        fitted = self._fitted(height, width, rows, cols, image_size)
        canvas = np.moveaxis(backend.to_numpy(backend.realize(self._canvas(backend, native, rows, cols, fitted, image_size))), -1, 0)
        mask = crop_mask(*fitted, rows, cols, image_size, patch_size)
        if mask.shape != (rows * mask_size, cols * mask_size):
            raise InvalidArgumentError(f"mask_size {mask_size} is not image_size {image_size} // patch_size {patch_size}")
        return (_like(np.ascontiguousarray(canvas), image), _like(mask, image)) if is_torch else (np.ascontiguousarray(canvas), mask)

    @staticmethod
    def _pad_views(values: Any, count: int, fill: float) -> Any:
        if values.shape[0] >= count:
            return values
        extra = (count - values.shape[0], *values.shape[1:])
        if hasattr(values, "new_full"):
            import torch

            return torch.cat([values, values.new_full(extra, fill)], dim=0)
        return np.concatenate([values, np.full(extra, fill, dtype=values.dtype)], axis=0)

    def pad_to_max_num_crops(self, images: Any, max_crops: int = 5) -> Any:
        """(views, C, H, W) padded with zero views to ``max_crops`` (as the batch is padded)."""
        return self._pad_views(images, max_crops, 0)

    def pad_mask_to_max_num_crops(self, masks: Any, max_crops: int = 5) -> Any:
        """(views, m, m) masks padded with all-ones masks to ``max_crops`` (as the batch's masks are padded)."""
        return self._pad_views(masks, max_crops, 1)
