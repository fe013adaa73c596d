"""Inkling2: Inkling's -1-padded 40x40 patches, without the rescale or the extra column, with ``image_grid_thw``.

Each image is padded bottom/right with -1 (0..255 scale, before normalize) to whole patches (rows and
columns rounded up) and cut row-major into ``(ph, pw, C)`` patches (``size``'s height and width, which
need not be equal): ``pixel_values`` ``(sum of patches, ph, pw, C)`` and ``image_grid_thw`` ``(images, 3)``
of ``(1, rows, cols)``. Images with transparency (RGBA, gray+alpha, palettes with a transparent colour,
gray or RGB images with a transparent colour key such as a PNG's tRNS) are composited onto a gray checkerboard of 8x8
squares (204 where ``row // 8 + col // 8`` is even, 153 elsewhere) with integer rounding, as
transformers' class does, instead of onto white. transformers has only a torchvision class; the pil
backend runs the same steps.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..inputs import LoadOptions
from ..multiview import ConcatPatches, PatchLayout, Views
from ..processor import _like, _repeat_channels
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD
from .inkling import InklingImageProcessor

#: Side of one checkerboard square, and its two gray levels (the even squares take the first).
CHECKER_SQUARE, CHECKER_LEVELS = 8, (204, 153)


def checkerboard(height: int, width: int) -> np.ndarray:
    """The ``(height, width, 1)`` uint8 checkerboard transparent pixels are composited onto."""
    rows = np.arange(height)[:, None] // CHECKER_SQUARE
    cols = np.arange(width)[None, :] // CHECKER_SQUARE
    return np.where((rows + cols) % 2 == 0, *CHECKER_LEVELS).astype(np.uint8)[:, :, None]


def composite_on_checkerboard(array: np.ndarray) -> np.ndarray:
    """An HWC image with alpha last (gray+alpha or RGBA) composited onto :func:`checkerboard` as RGB.

    8-bit images: ``(color * alpha + background * (255 - alpha) + 127) // 255`` in integers, as
    transformers does; float images (values in [0, 1]) blend with the background's levels / 255.
    """
    color, alpha = array[..., :-1], array[..., -1:]
    if color.shape[-1] == 1:
        color = np.repeat(color, 3, axis=-1)
    background = checkerboard(*array.shape[:2])
    if array.dtype == np.uint8:
        alpha = alpha.astype(np.int32)
        return ((color.astype(np.int32) * alpha + background * (255 - alpha) + 127) // 255).astype(np.uint8)
    return (color * alpha + background.astype(array.dtype) / 255 * (1 - alpha)).astype(array.dtype)


@dataclass(frozen=True)
class CheckerboardRGB:
    """Make an image RGB: gray repeated, alpha composited onto the checkerboard (see :func:`composite_on_checkerboard`)."""

    def apply(self, backend: Backend, image: Any) -> Any:
        channels = backend.channels(image)
        if channels == 3:
            return image
        image = backend.realize(image)
        if channels == 1:
            return _repeat_channels(backend, image)
        return backend.from_canonical(composite_on_checkerboard(backend.to_numpy(image)))

    def describe(self) -> str:
        return f"transparent pixels composited onto a {CHECKER_LEVELS[0]}/{CHECKER_LEVELS[1]} checkerboard of {CHECKER_SQUARE}x{CHECKER_SQUARE} squares"


def ceil_grid(height: int, width: int, patch_height: int, patch_width: int) -> tuple[int, int]:
    """Inkling2's ``(rows, cols)`` of ``patch_height`` x ``patch_width`` patches over a ``height`` x ``width`` image: both round up."""
    return -(-height // patch_height), -(-width // patch_width)


@register_family
class Inkling2ImageProcessor(InklingImageProcessor):
    """Inkling2: -1 padding to whole 40x40 (or ``size``) patches, ``(patches, ph, pw, C)`` with ``image_grid_thw``; alpha onto a checkerboard."""

    transformers_class = "Inkling2ImageProcessor"
    model_types = ("inkling2",)
    defaults = {
        "resample": None,
        "default_to_square": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "rescale_image_max_upscaled_long_edge": None,
    }
    model_input_names = ["pixel_values", "image_grid_thw"]

    def check_params(self, params: dict[str, Any]) -> None:
        """Inkling2 has no rescale step (``rescale_image_frac`` is Inkling's) and ignores ``do_resize``."""
        if params.get("rescale_image_frac") is not None:
            raise InvalidArgumentError(f"rescale_image_frac is not a setting of {type(self).__name__} (Inkling's long-edge rescale); leave it unset")

    def rescale_rule(self, params: dict[str, Any]) -> None:
        return None

    def patch_sides(self, params: dict[str, Any]) -> tuple[int, int]:
        """``(height, width)`` of one patch: ``size``'s, which need not be square (as in transformers)."""
        size = params.get("size") or {}
        if size.get("height") is None or size.get("width") is None:
            raise InvalidArgumentError(f"size must be {{'height': h, 'width': w}} (the patch sides) for {type(self).__name__}, got {size}")
        return size["height"], size["width"]

    def patch_rule(self, height: int, width: int, patch: tuple[int, int]) -> tuple[int, int]:
        return ceil_grid(height, width, *patch)

    def describe_grid(self, patch: tuple[int, int]) -> str:
        return f"whole {patch[0]}x{patch[1]} patches"

    @classmethod
    def load_options(cls, params: dict[str, Any], backend: Backend | None = None, draft_target: Any = None) -> LoadOptions:
        # alpha (and a PNG's tRNS colour key, as alpha) is kept through decoding so that CheckerboardRGB, not the white blend, removes it
        options = super().load_options(params, backend, draft_target)
        return dataclasses.replace(options, convert_rgb=False, key_to_alpha=options.convert_rgb)

    def convert_to_rgb(self, image: Any, input_data_format: Any = None) -> Any:
        """As every family's ``convert_to_rgb``, except that alpha is composited onto the checkerboard (transformers' Inkling2)."""
        from ..inputs import _is_pil_image, _is_torch_tensor, to_canonical

        hwc = to_canonical(image, LoadOptions(False, None if _is_pil_image(image) else input_data_format, key_to_alpha=True))
        hwc = hwc.detach().cpu().numpy() if hasattr(hwc, "detach") else np.asarray(hwc)
        if hwc.shape[-1] not in (2, 4):
            return super().convert_to_rgb(image, input_data_format)
        rgb = composite_on_checkerboard(hwc)
        if _is_pil_image(image):
            return rgb
        channels_last = str(getattr(input_data_format, "value", input_data_format)) == "channels_last"
        out = rgb if channels_last else np.ascontiguousarray(np.moveaxis(rgb, -1, 0))
        return _like(out, image) if _is_torch_tensor(image) else out

    def steps(self, params: dict[str, Any]) -> list[Any]:
        return ([CheckerboardRGB()] if self.converts_to_rgb(params) else []) + [self.pad_step(params)]

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        lines = super().describe_pipeline(params)
        # the conversion is the checkerboard step, listed with the steps
        return lines[1:] if lines and lines[0] == "convert to RGB" else lines

    def layout(self, params: dict[str, Any]) -> PatchLayout:
        """Row-major ``(patch height, patch width, C)`` patches."""
        patch_h, patch_w = self.patch_sides(params)
        # a square patch keeps patch_width unset, the layout every square family uses
        return PatchLayout(patch_h, channels_first=False, patch_width=None if patch_w == patch_h else patch_w)

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        return Views([image])

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ()

    def packer(self, params: dict[str, Any]) -> ConcatPatches:
        return ConcatPatches(self.layout(params), grid_key="image_grid_thw")

    def vector_shape(self, params: dict[str, Any]) -> tuple[int, ...]:
        return (*self.patch_sides(params), -1)
