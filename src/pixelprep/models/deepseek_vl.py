"""DeepSeek-VL, Janus and DeepSeek-VL-Hybrid: the long side resized to ``size`` (Python ``round``, each side at least ``min_size``),
then centred on a square filled with the background colour.

The background colour is fixed when the processor is built, from that ``image_mean`` (``int(mean * 255)``
per channel, 127 gray without a mean), as transformers does: a call-time ``image_mean`` changes the
normalisation, not the padding. transformers does not convert gray or RGBA images here (it raises);
pixelprep converts them to RGB, as the 3-value mean asks.
"""

from __future__ import annotations

import functools
from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..inputs import flatten_inputs, to_canonical
from ..multiview import PadToSquare, RuleResize
from ..params import _positive_int, normalize_mean, normalize_resample, normalize_size, normalize_std
from ..processor import ImageProcessor, _describe_scale, _fmt, _map
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

DEEPSEEK_VL_DEFAULTS: dict[str, Any] = {
    "do_resize": True,
    "size": {"height": 384, "width": 384},
    "resample": 3,
    "do_rescale": True,
    "do_normalize": True,
    "image_mean": OPENAI_CLIP_MEAN,
    "image_std": OPENAI_CLIP_STD,
    "do_pad": True,
    "min_size": 14,
}


def background_colour(mean: tuple[float, ...] | None) -> tuple[int, ...]:
    """The pad colour derived from a normalisation mean: truncated 0-255 levels, mid gray without a mean."""
    return (127, 127, 127) if mean is None else tuple(int(value * 255) for value in mean)


def square_side(size: dict[str, int] | None, name: str = "size") -> int:
    """The side of a square ``size``; anything else is an :class:`InvalidArgumentError` naming ``name``."""
    if not size or size.get("height") is None or size.get("height") != size.get("width"):
        raise InvalidArgumentError(f"{name} must be a square {{'height': n, 'width': n}} for the long-side resize, got {size}")
    return size["height"]


def long_side_resize(size: int, min_size: int, resample: int) -> RuleResize:
    """The long-side resize as a step (see :func:`~pixelprep.geometry_vlm.long_side_fit`)."""
    rule = functools.partial(geometry_vlm.long_side_fit, size=size, min_size=min_size)
    return RuleResize(rule, resample, f"long side to {size} (round), each side at least {min_size}, aspect kept")


@register_family
class DeepseekVLImageProcessor(ImageProcessor):
    """DeepSeek-VL: long side to 384, centred pad to a square with the init-time mean colour, CLIP normalisation."""

    transformers_class = "DeepseekVLImageProcessor"
    model_types = ("deepseek_vl",)
    defaults = DEEPSEEK_VL_DEFAULTS
    extra_params = {"min_size": _positive_int}

    def _setup(self, params: dict[str, Any], extra: dict[str, Any], backend: str | None, num_threads: int | None) -> None:
        super()._setup(params, extra, backend, num_threads)
        # fixed here, as transformers fixes it in __init__: later or call-time means do not change it
        object.__setattr__(self, "background_color", background_colour(self._params.get("image_mean")))

    def pads_batch(self, params: dict[str, Any]) -> bool:
        """``do_pad`` pads each image to a square here, never the batch."""
        return False

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        return [long_side_resize(square_side(params.get("size")), params["min_size"], params["resample"])]

    def steps(self, params: dict[str, Any]) -> list[Any]:
        return super().steps(params) + ([PadToSquare(self.background_color)] if params.get("do_pad") else [])

    def pad_to_square(self, images: Any, background_color: int | tuple[int, ...] = 0, **kwargs: Any) -> Any:
        """Centre an image (CHW, or a batch) on a square of its long side, as transformers' ``pad_to_square``.

        An int colour fills the first channel only (the others get 0), as in transformers.
        """
        params = self._step_params(kwargs)
        shape = tuple(images.shape)
        channels = shape[-1] if params.get("input_data_format") == "channels_last" else (shape[-3] if len(shape) >= 3 else 1)
        if isinstance(background_color, int):
            fill: Any = (background_color,) + (0,) * (channels - 1) if channels > 1 else background_color
        elif len(background_color) != channels:
            raise InvalidArgumentError(f"background_color has {len(background_color)} values for an image of {channels} channels")
        else:
            fill = tuple(background_color)
        return self._run_steps(images, params, [PadToSquare(fill)])


@register_family
class JanusImageProcessor(DeepseekVLImageProcessor):
    """Janus: DeepSeek-VL's preprocessing under its own class name."""

    transformers_class = "JanusImageProcessor"
    model_types = ("janus",)


@register_family
class DeepseekVLHybridImageProcessor(DeepseekVLImageProcessor):
    """DeepSeek-VL-Hybrid: a 1024 view (``high_res_pixel_values``) and a 384 view taken from the padded 1024 one.

    ``do_pad`` pads inside the resize, as transformers' pil class does: with ``do_resize=False`` both outputs
    are the image as it is (transformers' torchvision class crashes there, and with ``do_pad=False``).
    """

    transformers_class = "DeepseekVLHybridImageProcessor"
    model_types = ("deepseek_vl_hybrid",)
    defaults = {
        "high_res_size": {"height": 1024, "width": 1024},
        "high_res_resample": 3,
        "high_res_image_mean": OPENAI_CLIP_MEAN,
        "high_res_image_std": OPENAI_CLIP_STD,
    }
    extra_params = {
        "high_res_size": lambda value, name: normalize_size(value, name),
        "high_res_resample": normalize_resample,
        "high_res_image_mean": normalize_mean,
        "high_res_image_std": normalize_std,
    }
    model_input_names = ["pixel_values", "high_res_pixel_values"]

    def _setup(self, params: dict[str, Any], extra: dict[str, Any], backend: str | None, num_threads: int | None) -> None:
        super()._setup(params, extra, backend, num_threads)
        object.__setattr__(self, "high_res_background_color", background_colour(self._params.get("high_res_image_mean")))

    def branch_steps(self, params: dict[str, Any]) -> tuple[list[Any], list[Any]]:
        """(steps to the high-res image, steps from it to the low-res image); none without ``do_resize``."""
        if not params.get("do_resize"):
            return [], []
        high = [long_side_resize(square_side(params.get("high_res_size"), "high_res_size"), params["min_size"], params["high_res_resample"])]
        low = [long_side_resize(square_side(params.get("size")), params["min_size"], params["resample"])]
        if params.get("do_pad"):
            high.append(PadToSquare(self.high_res_background_color))
            low.append(PadToSquare(self.background_color))
        return high, low

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """The steps to ``pixel_values``: through the padded high-res image."""
        high, low = self.branch_steps(params)
        return high + low

    def high_res_affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        """(rescale factor, mean, std) of the high-res view: the same rescale, the ``high_res_`` normalisation."""
        scale, _, _ = self.affine_parts(params)
        if not params.get("do_normalize"):
            return scale, None, None
        if params.get("high_res_image_mean") is None or params.get("high_res_image_std") is None:
            raise InvalidArgumentError("do_normalize is True but high_res_image_mean or high_res_image_std is not set")
        return scale, params["high_res_image_mean"], params["high_res_image_std"]

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """Load each image once, make its high-res view, then the low-res view from it; both batched."""
        if params.get("approximations"):
            raise InvalidArgumentError(f"approximations {list(params['approximations'])} are not available for {type(self).__name__}")
        items = flatten_inputs(images)
        if not items:
            raise InvalidArgumentError("images is empty: pass at least one image")
        high_steps, low_steps = self.branch_steps(params)
        options = self.load_options(params, backend)

        def transform(item: Any) -> tuple[Any, Any]:
            high = backend.from_canonical(to_canonical(item, options))
            for step in high_steps:
                high = step.apply(backend, high)
            high = backend.realize(high)
            low = high
            for step in low_steps:
                low = step.apply(backend, low)
            return high, backend.realize(low)

        pairs = _map(transform, items, self.num_threads)
        low = self._assemble([pair[1] for pair in pairs], params, backend, *self.affine_parts(params))
        high = self._assemble([pair[0] for pair in pairs], params, backend, *self.high_res_affine_parts(params))
        return BatchFeature({"pixel_values": low["pixel_values"], "high_res_pixel_values": high["pixel_values"]})

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        params = self._params if params is None else params
        high_steps, low_steps = self.branch_steps(params)
        lines = ["convert to RGB"] if self.converts_to_rgb(params) else []
        lines += ["high_res_pixel_values: " + step.describe() for step in high_steps]
        lines += _affine_lines("high_res_pixel_values", *self.high_res_affine_parts(params))
        lines += ["pixel_values (from the high-res image before rescaling): " + step.describe() for step in low_steps]
        lines += _affine_lines("pixel_values", *self.affine_parts(params))
        return lines


def _affine_lines(key: str, scale: float | None, mean: tuple | None, std: tuple | None) -> list[str]:
    lines = [f"{key}: rescale {_describe_scale(scale)}"] if scale is not None else []
    return lines + ([f"{key}: normalize mean={_fmt(mean)} std={_fmt(std)}"] if mean is not None else [])
