"""Inkling: each image cut into ``size`` x ``size`` patches (40 by default), padded with -1 before normalize.

An image may first be rescaled by its long edge (``rescale_image_frac``, LANCZOS, the growth capped by
``rescale_image_max_upscaled_long_edge``; off by default). It is then padded bottom/right, on the 0..255
scale with -1, to ``ceil(height / p)`` rows of patches and ``width // p + 1`` columns: transformers' patch
cutter always adds a column, so an image whose width is a multiple of ``p`` gets a column of padding
only. Outputs: ``pixel_values`` ``(sum of patches, 2, p, p, C)`` (each patch repeated over two frames)
and ``num_patches`` per image. transformers has only a torchvision class; the pil backend runs the same
geometry with Pillow's LANCZOS.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import geometry
from ..auto import register_family
from ..backends import Affine, Backend
from ..backends.base import LANCZOS
from ..errors import InvalidArgumentError, InvalidImageError
from ..features import BatchFeature
from ..multiview import ConcatPatches, MultiViewProcessor, PatchLayout, RuleResize, Views, normalize_image
from ..params import _positive_int, normalize_positive_float
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

#: The value padding takes on the 0..255 scale, before rescale and normalize (so it differs from any pixel).
PAD_VALUE = -1.0
#: Frames each patch is repeated over (the vision tower's temporal axis).
FRAMES = 2


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


def rescaled_size(height: int, width: int, frac: float, max_upscaled_long_edge: int | None) -> tuple[int, int]:
    """``(height, width)`` scaled so the long edge is ``frac`` times its own, growth capped at ``max_upscaled_long_edge``.

    The cap only limits growth (a long edge already past it keeps its scale of at most 1); sides are
    rounded half up. Raises :class:`InvalidImageError` when a side would have no pixel.
    """
    long_edge = max(height, width)
    target = long_edge * frac
    if max_upscaled_long_edge is not None:
        target = min(target, max(max_upscaled_long_edge, long_edge))
    ratio = target / long_edge
    if ratio == 1.0:
        return height, width
    new_height, new_width = math.floor(height * ratio + 0.5), math.floor(width * ratio + 0.5)
    if new_height < 1 or new_width < 1:
        raise InvalidImageError(
            f"a {height}x{width} image rescaled by rescale_image_frac={frac} becomes {new_height}x{new_width}, a side of no pixel; "
            "raise rescale_image_frac or pass a larger image"
        )
    return new_height, new_width


def patch_grid(height: int, width: int, patch_height: int, patch_width: int) -> tuple[int, int]:
    """Inkling's ``(rows, cols)`` of patches over a ``height`` x ``width`` image: rows round up, cols are ``width // patch_width + 1``."""
    return -(-height // patch_height), width // patch_width + 1


@dataclass(frozen=True)
class PadToPatchGrid:
    """Pad bottom/right with ``fill`` to the whole grid of ``patch`` (height, width) patches ``grid(height, width)`` gives;
    in float32 where ``fill`` is no uint8 level."""

    grid: Callable[[int, int], tuple[int, int]]
    patch: tuple[int, int]
    fill: float
    what: str

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        rows, cols = self.grid(height, width)
        target_h, target_w = geometry.check_output_size(rows * self.patch[0], cols * self.patch[1], f"padding a {height}x{width} image gives an image")
        if (target_h, target_w) == (height, width):
            return image
        if backend.is_uint8(image) and not (0 <= self.fill <= 255 and self.fill == int(self.fill)):
            image = normalize_image(backend, image, Affine(None, None, None, backend.channels(image), backend.formula))
        return backend.pad(image, 0, target_h - height, 0, target_w - width, self.fill)

    def describe(self) -> str:
        return f"pad bottom/right with {self.fill:g} (0..255 scale) to {self.what}"


@register_family
class InklingImageProcessor(MultiViewProcessor):
    """Inkling: optional long-edge rescale (LANCZOS), -1 padding to whole 40x40 patches, ``(patches, 2, p, p, C)`` with ``num_patches``."""

    transformers_class = "InklingImageProcessor"
    model_types = ("inkling_mm_model",)
    defaults = {
        "resample": LANCZOS,
        "default_to_square": False,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "do_convert_rgb": True,
        "size": {"height": 40, "width": 40},
        "rescale_image_frac": None,
        "rescale_image_max_upscaled_long_edge": 2048,
    }
    extra_params = {"rescale_image_frac": normalize_positive_float, "rescale_image_max_upscaled_long_edge": _optional_positive_int}
    model_input_names = ["pixel_values"]

    @property
    def patch_size(self) -> int:
        """The patch side of this processor's settings (``size``'s height)."""
        return self.patch_sides(self._params)[0]

    def patch_sides(self, params: dict[str, Any]) -> tuple[int, int]:
        """``(height, width)`` of one patch for the resolved ``params``: ``size``'s, which must be square (as transformers checks)."""
        size = params.get("size") or {}
        if size.get("height") is None or size.get("height") != size.get("width"):
            raise InvalidArgumentError(f"size must be a square {{'height': p, 'width': p}} (the patch side) for {type(self).__name__}, got {size}")
        return size["height"], size["width"]

    def check_params(self, params: dict[str, Any]) -> None:
        """Refuse ``do_resize=False``, as transformers does: the patch grid is this family's resize."""
        if params.get("do_resize") is False:
            raise InvalidArgumentError(f"do_resize cannot be False for {type(self).__name__} (its patching is not optional)")

    def rescale_rule(self, params: dict[str, Any]) -> Callable[[int, int], tuple[int, int]] | None:
        """The long-edge rescale of the resolved ``params`` as a size rule, or None when ``rescale_image_frac`` is unset."""
        frac, cap = params.get("rescale_image_frac"), params.get("rescale_image_max_upscaled_long_edge")
        if frac is None:
            return None
        return lambda height, width: rescaled_size(height, width, frac, cap)

    def patch_rule(self, height: int, width: int, patch: tuple[int, int]) -> tuple[int, int]:
        """``(rows, cols)`` of ``patch`` (height, width) patches the padding makes for an image of ``height`` x ``width`` (see :func:`patch_grid`)."""
        return patch_grid(height, width, *patch)

    def describe_grid(self, patch: tuple[int, int]) -> str:
        """:meth:`patch_rule` in words, for ``print(processor)``."""
        return f"ceil(height / {patch[0]}) rows and width // {patch[1]} + 1 columns of {patch[0]}x{patch[1]} patches"

    def grid(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """``(rows, cols)`` of patches an input image of ``height`` x ``width`` gives (after any rescale)."""
        rule = self.rescale_rule(params)
        if rule is not None:
            height, width = rule(height, width)
        return self.patch_rule(height, width, self.patch_sides(params))

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Patches (image tokens) an image of ``height`` x ``width`` gives; ``images_kwargs`` overrides settings as a call would."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        rows, cols = self.grid(height, width, params)
        return rows * cols

    def pad_step(self, params: dict[str, Any]) -> PadToPatchGrid:
        """The -1 padding to whole patches (:meth:`patch_rule`) for the resolved ``params``."""
        patch = self.patch_sides(params)
        return PadToPatchGrid(lambda height, width: self.patch_rule(height, width, patch), patch, PAD_VALUE, self.describe_grid(patch))

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        self.check_params(params)
        return super().process_images(images, params, backend)

    def steps(self, params: dict[str, Any]) -> list[Any]:
        steps: list[Any] = []
        rule = self.rescale_rule(params)
        if rule is not None:
            cap = params.get("rescale_image_max_upscaled_long_edge")
            what = f"the long edge times {params['rescale_image_frac']:g} (growth capped at {cap if cap is not None else 'no cap'}), sides rounded half up"
            steps.append(RuleResize(rule, params["resample"], what))
        return steps + [self.pad_step(params)]

    def layout(self, params: dict[str, Any]) -> PatchLayout:
        """Row-major patches, each a ``(2, p, p, C)`` vector: the patch repeated over two frames."""
        return PatchLayout(self.patch_sides(params)[0], temporal_patch_size=FRAMES, channels_first=False, frames_first=True)

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        rows, cols = self.layout(params).grid(*backend.size(image))
        return Views([image], meta={"num_patches": rows * cols})

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ("num_patches",)

    def packer(self, params: dict[str, Any]) -> ConcatPatches:
        return ConcatPatches(self.layout(params), grid_key=None)

    def vector_shape(self, params: dict[str, Any]) -> tuple[int, ...]:
        """The axes of one patch vector in ``pixel_values`` (channels left as -1)."""
        return (FRAMES, *self.patch_sides(params), -1)

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        values = features.data["pixel_values"]
        if backend.is_uint8(values):  # unpadded images without rescale or normalize: transformers' patches are float32 still
            values = values.float() if hasattr(values, "float") else values.astype(np.float32)
        # the packer writes flat vectors; transformers gives each patch its own axes
        features.data["pixel_values"] = values.reshape(values.shape[0], *self.vector_shape(params))
        return super().finalize(features, params, backend)

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        params = self._params if params is None else params
        axes = ", ".join(str(v) if v != -1 else "C" for v in self.vector_shape(params))
        return super().describe_pipeline(params) + [f"each patch vector as ({axes}): pixel_values (patches, {axes})"]
