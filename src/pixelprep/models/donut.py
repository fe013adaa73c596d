"""Donut: turn a page to the long axis of ``size``, shortest edge to the short side, thumbnail into ``size``, pad centred with 0.

Nougat (nougat.py) is the same pipeline with a margin crop first and its own thumbnail filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import geometry
from ..auto import register_family
from ..backends import Backend
from ..backends.base import BICUBIC, RESAMPLE_NAMES
from ..errors import InvalidArgumentError, InvalidImageError
from ..params import normalize_bool, normalize_square_size
from ..processor import CenterCrop, ImageProcessor, Resize
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


# ------------------------------------------------------------------------------------------ size rules


def turns_to_long_axis(height: int, width: int, target_height: int, target_width: int) -> bool:
    """Whether the image's long side lies across the target's (a portrait target and a landscape image, or the reverse)."""
    return (target_width < target_height and width > height) or (target_width > target_height and width < height)


def thumbnail_size(height: int, width: int, max_height: int, max_width: int) -> tuple[int, int]:
    """Pillow-style thumbnail: each side capped at the target's, the other side scaled down to keep the ratio (truncated)."""
    out_height, out_width = min(height, max_height), min(width, max_width)
    if (out_height, out_width) == (height, width):
        return height, width
    if height > width:
        out_width = int(width * out_height / height)
    elif width > height:
        out_height = int(height * out_width / width)
    return out_height, out_width


def centred_padding(height: int, width: int, target_height: int, target_width: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) that centre an image in the target; an odd pixel goes bottom/right."""
    if height > target_height or width > target_width:
        raise InvalidImageError(
            f"a {height}x{width} image does not fit the {target_height}x{target_width} size it is padded to (do_thumbnail=False keeps it larger)"
        )
    top, left = (target_height - height) // 2, (target_width - width) // 2
    return top, target_height - height - top, left, target_width - width - left


# ----------------------------------------------------------------------------------------------- steps


def rotate_clockwise(backend: Backend, image: Any) -> Any:
    """An HWC image turned a quarter clockwise (NumPy's and torch's ``rot90(k=3)`` over height and width)."""
    image = backend.realize(image)
    height = backend.size(image)[0]
    # rows reversed then transposed: the same index operations on NumPy arrays and torch tensors
    return backend.permute(image[list(range(height - 1, -1, -1))], (1, 0, 2))


@dataclass(frozen=True)
class AlignLongAxis:
    """Turn the image a quarter clockwise when its long side lies across the target's."""

    height: int
    width: int

    def apply(self, backend: Backend, image: Any) -> Any:
        return rotate_clockwise(backend, image) if turns_to_long_axis(*backend.size(image), self.height, self.width) else image

    def describe(self) -> str:
        return f"turn a quarter clockwise when the long side lies across {self.height}x{self.width}"


@dataclass(frozen=True)
class Thumbnail:
    """Shrink (never enlarge) to fit ``height`` x ``width``, keeping the ratio; ``reducing_gap`` is Pillow's two-stage downscale."""

    height: int
    width: int
    resample: int
    reducing_gap: float | None = None

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = thumbnail_size(height, width, self.height, self.width)
        if target == (height, width):
            return image
        if min(target) < 1:
            raise InvalidImageError(f"a {height}x{width} image is too elongated: its thumbnail within {self.height}x{self.width} is an empty {target[0]}x{target[1]} image")
        if self.reducing_gap is None:
            return backend.resize(image, target, self.resample)
        return backend.resize_reducing(image, target, self.resample, self.reducing_gap)

    def describe(self) -> str:
        return f"thumbnail within {self.height}x{self.width} {RESAMPLE_NAMES[self.resample]}"


@dataclass(frozen=True)
class PadCentred:
    """Pad with 0 (before rescaling) to ``height`` x ``width``, the image centred."""

    height: int
    width: int

    def apply(self, backend: Backend, image: Any) -> Any:
        top, bottom, left, right = centred_padding(*backend.size(image), self.height, self.width)
        geometry.check_output_size(self.height, self.width, "the padded page")
        return backend.pad(image, top, bottom, left, right, 0) if top or bottom or left or right else image

    def describe(self) -> str:
        return f"pad with 0 to {self.height}x{self.width}, centred"


def _size_pair(size: Any) -> tuple[int, int]:
    """(height, width) of a size dict, a transformers ``SizeDict`` or a (height, width) pair."""
    if hasattr(size, "height") and not isinstance(size, dict):
        size = {"height": size.height, "width": size.width}
    normalized = normalize_square_size(size, "size")
    if normalized is None:
        raise InvalidArgumentError("size must give 'height' and 'width', got None")
    return normalized["height"], normalized["width"]


# ------------------------------------------------------------------------------------------- processor


@register_family
class DonutImageProcessor(ImageProcessor):
    """Donut (document understanding): pages into a fixed ``size`` canvas, ratio kept."""

    transformers_class = "DonutImageProcessor"
    model_types = ("donut-swin",)
    class_aliases = ("DonutFeatureExtractor",)
    defaults = {
        "do_resize": True,
        "size": {"height": 2560, "width": 1920},
        "resample": 2,
        "do_thumbnail": True,
        "do_align_long_axis": False,
        "do_pad": True,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
    }
    extra_params = {"do_thumbnail": normalize_bool, "do_align_long_axis": normalize_bool}

    @classmethod
    def _normalize(cls, values: dict[str, Any], partial: bool) -> dict[str, Any]:
        """A ``size`` given as a list or tuple is (width, height), as Donut's configs store it."""
        size = values.get("size")
        if isinstance(size, (list, tuple)):
            values = dict(values, size=list(size)[::-1])
        return super()._normalize(values, partial)

    def _target(self, params: dict[str, Any]) -> tuple[int, int]:
        size = params.get("size")
        if size is None or set(size) != {"height", "width"}:
            raise InvalidArgumentError(f"{type(self).__name__} needs size with 'height' and 'width', got {size}")
        return size["height"], size["width"]

    def thumbnail_step(self, params: dict[str, Any], height: int, width: int) -> Thumbnail:
        """The thumbnail with the call's filter; transformers' pil class turns NEAREST (0) into BICUBIC, its torchvision class does not."""
        resample = params["resample"]
        return Thumbnail(height, width, resample if resample or self.backend_for_params(params).name != "pil" else BICUBIC)

    def backend_for_params(self, params: dict[str, Any]) -> Backend:
        """The backend a call with ``params`` runs on."""
        return self._backend_for(params.get("device"))

    def shortest_edge_resize(self, params: dict[str, Any]) -> Resize:
        """The pipeline's resize: the shortest edge to the short side of ``size``."""
        height, width = self._target(params)
        return Resize({"shortest_edge": min(height, width)}, params["resample"])

    def page_steps(self, params: dict[str, Any]) -> list[Any]:
        """Family hook: steps before the long-axis turn (Nougat's margin crop)."""
        return []

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """Margin crop (Nougat), long-axis turn, shortest-edge resize, thumbnail, centred pad, then the optional center crop."""
        height, width = self._target(params)
        steps = self.page_steps(params)
        if params.get("do_align_long_axis"):
            steps.append(AlignLongAxis(height, width))
        if params.get("do_resize"):
            steps.append(self.shortest_edge_resize(params))
        if params.get("do_thumbnail"):
            steps.append(self.thumbnail_step(params, height, width))
        if params.get("do_pad"):
            steps.append(PadCentred(height, width))
        if params.get("do_center_crop"):
            crop = params.get("crop_size")
            if crop is None:
                raise InvalidArgumentError("do_center_crop is True but crop_size is not set")
            steps.append(CenterCrop(crop["height"], crop["width"]))
        return steps

    def pads_batch(self, params: dict[str, Any]) -> bool:
        """``do_pad`` is the centred pad to ``size`` (a step), not a padding of the batch."""
        return False

    # ------------------------------------------------- single steps (transformers' public methods)

    def align_long_axis(self, image: Any, size: Any, **kwargs: Any) -> Any:
        """``image`` (CHW) turned a quarter clockwise when its long side lies across ``size``'s."""
        return self._run_steps(image, self._step_params(kwargs), [AlignLongAxis(*_size_pair(size))])

    def thumbnail(self, image: Any, size: Any, resample: Any = None, **kwargs: Any) -> Any:
        """``image`` (CHW) shrunk to fit ``size``, ratio kept (never enlarged)."""
        params = self._step_params(dict(kwargs, resample=resample))
        return self._run_steps(image, params, [self.thumbnail_step(params, *_size_pair(size))])

    def pad_image(self, image: Any, size: Any, random_padding: bool = False, **kwargs: Any) -> Any:
        """``image`` (CHW) padded with 0 to ``size``: centred, or at a random offset with ``random_padding``.

        The random offsets are drawn as transformers draws them: ``torch.randint`` on the torchvision backend,
        ``np.random.randint`` on pil, so ``torch.manual_seed(n)`` / ``np.random.seed(n)`` give transformers' offsets.
        """
        params = self._step_params(kwargs)
        target_height, target_width = _size_pair(size)
        height, width = int(image.shape[-2]), int(image.shape[-1])
        top, bottom, left, right = centred_padding(height, width, target_height, target_width)
        if random_padding:
            extra_height, extra_width = target_height - height, target_width - width
            if self.backend_for_params(params).name == "pil":
                top, left = int(np.random.randint(low=0, high=extra_height + 1)), int(np.random.randint(low=0, high=extra_width + 1))
            else:
                import torch

                top, left = int(torch.randint(0, extra_height + 1, ()).item()), int(torch.randint(0, extra_width + 1, ()).item())
            bottom, right = extra_height - top, extra_width - left
        return self._run_steps(image, dict(params, input_data_format="channels_first"), [_Pad(top, bottom, left, right)])


@dataclass(frozen=True)
class _Pad:
    """Pad with 0 by the given amounts (the single-step ``pad_image``)."""

    top: int
    bottom: int
    left: int
    right: int

    def apply(self, backend: Backend, image: Any) -> Any:
        return backend.pad(image, self.top, self.bottom, self.left, self.right, 0)
