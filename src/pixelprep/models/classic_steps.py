"""Size rules and steps shared by the classic single-image families (GLPN, ViLT, BridgeTower, TextNet, DINOv3, Swin2SR, MobileViT).

The size rules are pure integer functions of the input size; the steps run them on backend
operations, so each family stays one implementation for every backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import geometry
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidImageError
from ..processor import Resize

# ViLT and BridgeTower cap the longer side at the 1333/800 ratio of DETR's default sizes.
LONGER_TO_SHORTER = 1333 / 800


# ------------------------------------------------------------------------------------------ size rules


def floor_to_multiple_size(height: int, width: int, multiple: int) -> geometry.Size:
    """Each side rounded down to a multiple of ``multiple`` (GLPN): 0 for a side shorter than ``multiple``."""
    return height // multiple * multiple, width // multiple * multiple


def capped_shorter_edge_size(height: int, width: int, shorter: int, multiple: int | None) -> geometry.Size:
    """ViLT's and BridgeTower's rule: shorter side to ``shorter``, longer side at most ``int(1333/800 * shorter)``.

    Sides are rounded half up, then down to a multiple of ``multiple`` (when given). The float
    arithmetic follows transformers' step by step, so the same sizes come out.
    """
    longer = int(LONGER_TO_SHORTER * shorter)
    scale = shorter / min(height, width)
    if height < width:
        new_height, new_width = float(shorter), scale * width
    else:
        new_height, new_width = scale * height, float(shorter)
    if max(new_height, new_width) > longer:
        cap = longer / max(new_height, new_width)
        new_height, new_width = cap * new_height, cap * new_width
    out_height, out_width = int(new_height + 0.5), int(new_width + 0.5)
    if multiple:
        out_height, out_width = out_height // multiple * multiple, out_width // multiple * multiple
    return geometry.check_output_size(out_height, out_width, f"resizing a {height}x{width} image gives an image")


def shortest_edge_ceil_multiple_size(height: int, width: int, shortest_edge: int, multiple: int) -> geometry.Size:
    """TextNet's rule: the shortest-edge size, each side then rounded up to a multiple of ``multiple``."""
    out_height, out_width = geometry.shortest_edge_size(height, width, shortest_edge)
    return geometry.check_output_size(-(-out_height // multiple) * multiple, -(-out_width // multiple) * multiple, f"resizing a {height}x{width} image gives an image")


def symmetric_indices(length: int, pad: int) -> list[int]:
    """Source indices of an axis of ``length`` extended by ``pad`` mirrored entries (edge repeated, as NumPy's "symmetric").

    Pads longer than the axis keep mirroring back and forth.
    """
    period = 2 * length
    tail = [(length + k) % period for k in range(pad)]
    return list(range(length)) + [m if m < length else period - 1 - m for m in tail]


# ----------------------------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class RuleResize:
    """Resize to the size ``rule(height, width)`` returns; ``label`` says what the rule does, for ``print(processor)``."""

    rule: Callable[[int, int], geometry.Size]
    resample: int
    label: str

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = self.rule(height, width)
        if min(target) < 1:
            raise InvalidImageError(f"a {height}x{width} image is too small: resizing it {self.label} gives an empty {target[0]}x{target[1]} image")
        return image if target == (height, width) else backend.resize(image, target, self.resample)

    def describe(self) -> str:
        return f"resize {self.label} {RESAMPLE_NAMES[self.resample]}"


@dataclass(frozen=True)
class FloatResize(Resize):
    """A :class:`Resize` of the pixels as float32, so the result is not rounded back to 8 bits.

    DINOv3 rescales before it resizes; resizing is linear, so resizing the unscaled floats and
    rescaling after gives the same values to float32 rounding, and the rescale stays in the affine.
    """

    def apply(self, backend: Backend, image: Any) -> Any:
        # A float32 scalar makes the product float32 on NumPy arrays and torch tensors alike.
        return super().apply(backend, backend.realize(image) * np.float32(1))

    def describe(self) -> str:
        return super().describe() + " (on floats, not rounded to 8 bits)"


@dataclass(frozen=True)
class SymmetricPadToMultiple:
    """Pad bottom and right by mirroring (edge included) up to the next multiple of ``multiple``: always adds 1..multiple rows and columns."""

    multiple: int

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        pad_height = (height // self.multiple + 1) * self.multiple - height
        pad_width = (width // self.multiple + 1) * self.multiple - width
        geometry.check_output_size(height + pad_height, width + pad_width, "a padded image")
        # Fancy indexing with index lists is the same operation on NumPy arrays and torch tensors.
        image = backend.realize(image)
        return image[symmetric_indices(height, pad_height)][:, symmetric_indices(width, pad_width)]

    def describe(self) -> str:
        return f"pad bottom/right by mirroring to the next multiple of {self.multiple} (always at least 1)"


def flip_first_three_channels(values: Any) -> Any:
    """``(..., C, H, W)`` values with channels 0-2 reversed (RGB <-> BGR); images with fewer than 3 channels unchanged."""
    if isinstance(values, list):
        return [flip_first_three_channels(value) for value in values]
    channels = values.shape[-3]
    if channels < 3:
        return values
    return values[..., [2, 1, 0, *range(3, channels)], :, :]
