"""The eval pipelines timm and open_clip build from torchvision transforms, as one pixelprep family.

Their steps differ from transformers' in three places, each written here as step or geometry code:
the center crop offset rounds half to even (torchvision's ``CenterCrop``), a keep-ratio resize rounds
both sides to nearest (``ResizeKeepRatio``), and padding may use a colour (``CenterCropOrPad``).

One difference is deliberate: pixelprep's input layer converts to RGB before any step, compositing
transparency on white as transformers does. open_clip converts after resizing and drops alpha, and
timm expects RGB already; on RGB images (what their data loaders produce) the outputs are identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import geometry
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError
from ..processor import CenterCrop, ImageProcessor, Resize

KEEP_RATIO_MODES = ("shortest", "longest")


@dataclass(frozen=True)
class ResizeKeepRatio:
    """Resize keeping the aspect ratio so the image covers (``longest=False``) or fits inside (``longest=True``)
    ``height`` x ``width``; see :func:`geometry.keep_ratio_size`."""

    height: int
    width: int
    longest: bool
    resample: int

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target_height, target_width = geometry.keep_ratio_size(height, width, self.height, self.width, self.longest)
        return Resize({"height": target_height, "width": target_width}, self.resample).apply(backend, image)

    def describe(self) -> str:
        rule = "fit inside" if self.longest else "cover"
        return f"resize to {rule} {self.height}x{self.width}, keeping aspect ratio, {RESAMPLE_NAMES[self.resample]}"


def normalize_keep_ratio(value: Any, name: str) -> str | None:
    """None (resize by ``size`` as usual), "shortest" (cover the size box) or "longest" (fit inside it)."""
    if value is None or value in KEEP_RATIO_MODES:
        return value
    raise InvalidArgumentError(f"{name} must be one of {KEEP_RATIO_MODES} or None, got {value!r}")


def normalize_fill(value: Any, name: str) -> int | tuple[int, ...] | None:
    """A padding colour in 0-255: one number, or one per channel."""
    if value is None:
        return None
    values = value if isinstance(value, (list, tuple)) else [value]
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values):
        raise InvalidArgumentError(f"{name} must be an int in 0-255 or a list of them, got {value!r}")
    return tuple(values) if isinstance(value, (list, tuple)) else value


@register_family
class TransformsPipelineImageProcessor(ImageProcessor):
    """An eval pipeline defined by torchvision transforms (timm, open_clip), built by :func:`from_timm` and
    :func:`from_open_clip`. Its saved config reloads in pixelprep (transformers has no such class).

    ``keep_ratio`` ("shortest"/"longest") turns a height/width ``size`` into a keep-ratio resize;
    ``crop_fill`` is the colour the center crop pads with where the image is smaller than the crop.
    """

    transformers_class = "TransformsPipelineImageProcessor"
    defaults = {
        "do_resize": True,
        "resample": 3,
        "do_center_crop": True,
        "do_rescale": True,
        "do_normalize": True,
        "do_convert_rgb": True,
        "keep_ratio": None,
        "crop_fill": 0,
    }
    extra_params = {"keep_ratio": normalize_keep_ratio, "crop_fill": normalize_fill}

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """A keep-ratio resize when ``keep_ratio`` is set, the usual resize otherwise."""
        mode = params.get("keep_ratio")
        if mode is None:
            return super().resize_steps(params)
        size = params.get("size") or {}
        if set(size) != {"height", "width"}:
            raise InvalidArgumentError(f"keep_ratio={mode!r} needs a size with 'height' and 'width', got {params.get('size')}")
        return [ResizeKeepRatio(size["height"], size["width"], mode == "longest", params["resample"])]

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """The usual steps, with torchvision's crop rounding and ``crop_fill`` padding."""
        fill = params.get("crop_fill") or 0
        return [CenterCrop(s.height, s.width, "round", fill) if isinstance(s, CenterCrop) else s for s in super().steps(params)]
