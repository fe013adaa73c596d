"""FLAVA: CLIP-style resize and crop, plus optional codebook pixels (a second, smaller view) and random patch masks.

The masks are drawn with Python's ``random`` module in exactly transformers' order of calls, so
``random.seed(n)`` before a call gives transformers' masks for the same seed.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from ..auto import register_family
from ..backends import Backend
from ..features import BatchFeature
from ..params import COMMON_PARAMS, normalize_bool, normalize_mean, normalize_positive_float, normalize_resample, normalize_size, normalize_square_size, normalize_std
from ..processor import ImageProcessor
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

# The codebook (DALL-E dVAE) reads pixels squeezed into [eps, 1 - eps].
LOGIT_LAPLACE_EPS = 0.1
_positive_int = COMMON_PARAMS["size_divisor"]  # a positive int, None kept


def patch_mask(
    patches: int,
    total: int,
    group_min: int,
    group_max: int | None,
    min_aspect_ratio: float,
    max_aspect_ratio: float | None,
) -> np.ndarray:
    """A ``patches`` x ``patches`` int32 mask with about ``total`` ones, laid as random rectangles (BEiT's block masking).

    Each rectangle covers ``group_min``..``group_max`` patches with an aspect ratio drawn log-uniformly;
    at most 10 tries per rectangle, stopping when one adds nothing.
    """
    group_max = total if group_max is None else group_max
    log_ratios = (math.log(min_aspect_ratio), math.log(max_aspect_ratio or 1 / min_aspect_ratio))
    mask = np.zeros((patches, patches), dtype=np.int32)
    count = 0
    while count < total:
        added = _add_rectangle(mask, group_min, min(total - count, group_max), log_ratios)
        if added == 0:
            break
        count += added
    return mask


def _add_rectangle(mask: np.ndarray, group_min: int, limit: int, log_ratios: tuple[float, float]) -> int:
    """Try (up to 10 times) to mask one random rectangle that adds 1..``limit`` new patches; the number added."""
    rows, columns = mask.shape
    added = 0
    for _ in range(10):
        area = random.uniform(group_min, limit)
        ratio = math.exp(random.uniform(*log_ratios))
        height, width = int(round(math.sqrt(area * ratio))), int(round(math.sqrt(area / ratio)))
        if width < columns and height < rows:
            top, left = random.randint(0, rows - height), random.randint(0, columns - width)
            window = mask[top : top + height, left : left + width]
            fresh = height * width - int(window.sum())
            if 0 < fresh <= limit:
                added += fresh
                window[...] = 1
        if added > 0:
            break
    return added


@register_family
class FlavaImageProcessor(ImageProcessor):
    """FLAVA."""

    transformers_class = "FlavaImageProcessor"
    model_types = ("flava",)
    class_aliases = ("FlavaFeatureExtractor",)
    defaults = {
        "do_resize": True,
        "size": {"height": 224, "width": 224},
        "resample": 3,
        "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "return_image_mask": False,
        "input_size_patches": 14,
        "total_mask_patches": 75,
        "mask_group_min_patches": 16,
        "mask_group_max_patches": None,
        "mask_group_min_aspect_ratio": 0.3,
        "mask_group_max_aspect_ratio": None,
        "return_codebook_pixels": False,
        "codebook_do_resize": True,
        "codebook_size": {"height": 112, "width": 112},
        "codebook_resample": 1,
        "codebook_do_center_crop": True,
        "codebook_crop_size": {"height": 112, "width": 112},
        "codebook_do_rescale": True,
        "codebook_rescale_factor": 1 / 255,
        "codebook_do_map_pixels": True,
        "codebook_do_normalize": True,
        "codebook_image_mean": (0.0, 0.0, 0.0),
        "codebook_image_std": (1.0, 1.0, 1.0),
    }
    extra_params = {
        "return_image_mask": normalize_bool,
        "input_size_patches": _positive_int,
        "total_mask_patches": _positive_int,
        "mask_group_min_patches": _positive_int,
        "mask_group_max_patches": _positive_int,
        "mask_group_min_aspect_ratio": normalize_positive_float,
        "mask_group_max_aspect_ratio": normalize_positive_float,
        "return_codebook_pixels": normalize_bool,
        "codebook_do_resize": normalize_bool,
        "codebook_size": normalize_size,
        "codebook_resample": normalize_resample,
        "codebook_do_center_crop": normalize_bool,
        "codebook_crop_size": normalize_square_size,
        "codebook_do_rescale": normalize_bool,
        "codebook_rescale_factor": normalize_positive_float,
        "codebook_do_map_pixels": normalize_bool,
        "codebook_do_normalize": normalize_bool,
        "codebook_image_mean": normalize_mean,
        "codebook_image_std": normalize_std,
    }

    @staticmethod
    def codebook_params(params: dict[str, Any]) -> dict[str, Any]:
        """The parameters of the codebook view: the ``codebook_*`` values in place of the common ones."""
        names = ("do_resize", "size", "resample", "do_center_crop", "crop_size", "do_rescale", "rescale_factor", "do_normalize", "image_mean", "image_std")
        return dict(params, **{name: params[f"codebook_{name}"] for name in names})

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """``pixel_values``, plus ``codebook_pixel_values`` and ``bool_masked_pos`` (one mask per image) when asked."""
        features = super().process_images(images, params, backend)
        if params.get("return_codebook_pixels"):
            codebook = super().process_images(images, self.codebook_params(params), backend)["pixel_values"]
            if params.get("codebook_do_map_pixels"):
                codebook = _map_pixels(codebook)
            features["codebook_pixel_values"] = codebook
        if params.get("return_image_mask"):
            count = len(features["pixel_values"])
            features["bool_masked_pos"] = [
                backend.from_canonical(
                    patch_mask(
                        params["input_size_patches"],
                        params["total_mask_patches"],
                        params["mask_group_min_patches"],
                        params.get("mask_group_max_patches"),
                        params["mask_group_min_aspect_ratio"],
                        params.get("mask_group_max_aspect_ratio"),
                    )
                )
                for _ in range(count)
            ]
        return features

    def map_pixels(self, image: Any) -> Any:
        """``image`` squeezed into [0.1, 0.9] for the codebook, as transformers' ``map_pixels``."""
        return _map_pixels(image)

    def describe_finalize(self, params: dict[str, Any]) -> list[str]:
        """The extra outputs, when asked for."""
        lines = []
        if params.get("return_codebook_pixels"):
            lines.append("codebook_pixel_values: the same steps with the codebook_* settings" + (", mapped to [0.1, 0.9]" if params.get("codebook_do_map_pixels") else ""))
        if params.get("return_image_mask"):
            lines.append(f"bool_masked_pos: about {params['total_mask_patches']} of {params['input_size_patches']}x{params['input_size_patches']} patches masked (Python's random)")
        return lines


def _map_pixels(values: Any) -> Any:
    """(1 - 2 eps) x + eps, elementwise on a batch or a list of images (the same float32 operations as transformers)."""
    if isinstance(values, list):
        return [_map_pixels(value) for value in values]
    return values * (1 - 2 * LOGIT_LAPLACE_EPS) + LOGIT_LAPLACE_EPS
