"""PP-FormulaNet (formula recognition): margins cropped, shortest edge to the size, thumbnailed into it, centred on a zero canvas.

Margin cropping keeps the bounding box of the pixels darker than ``gray_threshold`` once the image's
gray levels are stretched to 0..255 (torchvision's luma weights, truncated to 8 bits); an image of one
gray level is kept whole. The page is then resized so its shorter side is the size's shorter side,
shrunk (bicubic) to fit ``size``, and centred on a ``size`` canvas of zeros before rescale and
normalize. With ``do_align_long_axis`` a page whose orientation differs from ``size``'s is first
turned a quarter clockwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..auto import register_family
from ..backends import Backend
from ..backends.base import BICUBIC
from ..errors import InvalidArgumentError
from ..params import normalize_bool, normalize_square_size
from ..processor import ImageProcessor, Resize

LUMA = (np.float32(0.2989), np.float32(0.587), np.float32(0.114))


def margin_box(pixels: np.ndarray, gray_threshold: float = 200) -> tuple[int, int, int, int] | None:
    """(top, left, height, width) of the dark content of an HWC image; None when the image has one gray level."""
    if pixels.shape[-1] >= 3:
        gray = pixels[..., 0].astype(np.float32) * LUMA[0] + pixels[..., 1] * LUMA[1] + pixels[..., 2] * LUMA[2]
        gray = gray.astype(pixels.dtype) if pixels.dtype == np.uint8 else gray
    else:
        gray = pixels[..., 0]
    low, high = gray.min(), gray.max()
    if low == high:
        return None
    dark = (gray - low).astype(np.float32) / np.float32(high - low) * np.float32(255) < gray_threshold
    rows, columns = np.flatnonzero(dark.any(axis=1)), np.flatnonzero(dark.any(axis=0))
    return int(rows[0]), int(columns[0]), int(rows[-1] - rows[0] + 1), int(columns[-1] - columns[0] + 1)


@dataclass(frozen=True)
class CropMargin:
    """Crop to :func:`margin_box`."""

    gray_threshold: float = 200

    def apply(self, backend: Backend, image: Any) -> Any:
        box = margin_box(backend.to_numpy(image), self.gray_threshold)
        return image if box is None else backend.crop(image, *box)

    def describe(self) -> str:
        return f"crop margins (keep what is darker than {self.gray_threshold:g} on a stretched gray scale)"


@dataclass(frozen=True)
class AlignLongAxis:
    """Turn the image a quarter clockwise where its orientation (portrait or landscape) differs from ``height`` x ``width``'s."""

    height: int
    width: int

    def apply(self, backend: Backend, image: Any) -> Any:
        rows, columns = backend.size(image)
        if (self.width < self.height and columns > rows) or (self.width > self.height and columns < rows):
            # a quarter turn clockwise: rows reversed, then transposed (index lists work on arrays and tensors alike)
            image = backend.realize(image)[list(range(rows - 1, -1, -1))]
            return backend.permute(image, (1, 0, 2))
        return image

    def describe(self) -> str:
        return f"turn a quarter clockwise where the orientation differs from {self.height}x{self.width}'s"


@dataclass(frozen=True)
class Thumbnail:
    """Shrink (bicubic, never enlarge) to fit ``height`` x ``width``; the side that is not limiting is truncated."""

    height: int
    width: int

    def apply(self, backend: Backend, image: Any) -> Any:
        rows, columns = backend.size(image)
        height, width = min(rows, self.height), min(columns, self.width)
        if (height, width) == (rows, columns):
            return image
        if rows > columns:
            width = int(columns * height / rows)
        elif columns > rows:
            height = int(rows * width / columns)
        return backend.resize(image, (height, width), BICUBIC)

    def describe(self) -> str:
        return f"shrink to fit {self.height}x{self.width} bicubic"


@dataclass(frozen=True)
class CenterOnCanvas:
    """Centre on a ``height`` x ``width`` canvas of zeros (the odd pixel bottom/right); a larger image is cut the same way."""

    height: int
    width: int

    def apply(self, backend: Backend, image: Any) -> Any:
        rows, columns = backend.size(image)
        (top, bottom), (left, right) = [(delta // 2, delta - delta // 2) for delta in (self.height - rows, self.width - columns)]
        if min(top, bottom, left, right) < 0:
            cut_top, cut_left = max(0, -top), max(0, -left)
            image = backend.crop(image, cut_top, cut_left, rows - cut_top - max(0, -bottom), columns - cut_left - max(0, -right))
        if max(top, bottom, left, right) > 0:
            image = backend.pad(image, max(0, top), max(0, bottom), max(0, left), max(0, right), 0)
        return image

    def describe(self) -> str:
        return f"centre on a {self.height}x{self.width} canvas of zeros"


@register_family
class PPFormulaNetImageProcessor(ImageProcessor):
    """PP-FormulaNet (and PP-FormulaNet plus)."""

    transformers_class = "PPFormulaNetImageProcessor"
    model_types = ("pp_formulanet",)
    defaults = {
        "do_resize": True,
        "size": {"height": 768, "width": 768},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": (0.7931, 0.7931, 0.7931),
        "image_std": (0.1738, 0.1738, 0.1738),
        "do_pad": True,
        "do_crop_margin": True,
        "do_thumbnail": True,
        "do_align_long_axis": False,
    }
    extra_params = {"do_crop_margin": normalize_bool, "do_thumbnail": normalize_bool, "do_align_long_axis": normalize_bool}

    def _box(self, params: dict[str, Any]) -> tuple[int, int]:
        size = params.get("size")
        if size is None or set(size) != {"height", "width"}:
            raise InvalidArgumentError(f"PP-FormulaNet's size must give 'height' and 'width', got {size}")
        return size["height"], size["width"]

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """Crop margins, align, resize the shorter side, thumbnail, centre on the canvas (each as switched on)."""
        height, width = self._box(params)
        steps: list[Any] = [CropMargin()] if params.get("do_crop_margin") else []
        if params.get("do_align_long_axis"):
            steps.append(AlignLongAxis(height, width))
        if params.get("do_resize"):
            steps.append(Resize({"shortest_edge": min(height, width)}, params["resample"]))
        if params.get("do_thumbnail"):
            steps.append(Thumbnail(height, width))
        return steps + ([CenterOnCanvas(height, width)] if params.get("do_pad") else [])

    def pads_batch(self, params: dict[str, Any]) -> bool:
        # do_pad centres each image on the size's canvas (a step), not a padding to the batch
        return False

    # single steps, as transformers' methods (CHW in, CHW out)

    def crop_margin(self, image: Any, gray_threshold: int = 200, **kwargs: Any) -> Any:
        """``image`` cropped to its dark content (see :func:`margin_box`)."""
        return self._run_steps(image, self._step_params(kwargs), [CropMargin(gray_threshold)])

    def align_long_axis(self, image: Any, size: Any, **kwargs: Any) -> Any:
        """``image`` turned a quarter clockwise where its orientation differs from ``size``'s."""
        box = normalize_square_size(size, "size")
        return self._run_steps(image, self._step_params(kwargs), [AlignLongAxis(box["height"], box["width"])])

    def thumbnail(self, image: Any, size: Any, **kwargs: Any) -> Any:
        """``image`` shrunk (bicubic) to fit ``size``."""
        box = normalize_square_size(size, "size")
        return self._run_steps(image, self._step_params(kwargs), [Thumbnail(box["height"], box["width"])])

    def pad_images(self, image: Any, size: Any, **kwargs: Any) -> Any:
        """``image`` centred on a ``size`` canvas of zeros."""
        box = normalize_square_size(size, "size")
        return self._run_steps(image, self._step_params(kwargs), [CenterOnCanvas(box["height"], box["width"])])

    @staticmethod
    def python_find_non_zero(image: Any) -> Any:
        """The (x, y) of every nonzero element of a (C, H, W) array or tensor, shaped (N, 1, 2), as OpenCV's ``findNonZero``."""
        indices = image.nonzero() if hasattr(image, "detach") else np.stack(np.nonzero(image), axis=1)
        return indices[:, [2, 1]].reshape(-1, 1, 2)

    @staticmethod
    def python_bounding_rect(coordinates: Any) -> tuple[Any, Any, Any, Any]:
        """(x, y, width, height) of the box around (N, 1, 2) points, as OpenCV's ``boundingRect``."""
        flat = coordinates.reshape(-1, 2)
        low, high = flat.min(0), flat.max(0)
        low, high = (low.values, high.values) if hasattr(low, "values") else (low, high)
        return low[0], low[1], high[0] - low[0] + 1, high[1] - low[1] + 1
