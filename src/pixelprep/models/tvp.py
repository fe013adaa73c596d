"""TVP: video frames with the longer side to 448, center-cropped, normalised, padded bottom/right to ``pad_size`` and flipped to BGR.

The padding runs on normalised values (``constant_values`` is in those units; ``pad_mode`` constant, replicate, reflect or
symmetric), as in transformers' classes; so does the channel flip.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..params import normalize_bool, normalize_mean, normalize_size
from ..processor import _channels_last
from .classic_steps import RuleResize, flip_first_three_channels, symmetric_indices
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD
from .videomae import VideoFramesProcessor

PAD_MODES = ("constant", "reflect", "replicate", "symmetric")


def longest_edge_size(height: int, width: int, longest_edge: int) -> tuple[int, int]:
    """TVP's rule: the longer side to ``longest_edge``, the other scaled by the aspect ratio and truncated."""
    if height >= width:
        return longest_edge, int(longest_edge * (width * 1.0 / height))
    return int(longest_edge * (height * 1.0 / width)), longest_edge


def pad_indices(length: int, pad: int, mode: str) -> list[int]:
    """Source indices of an axis of ``length`` extended by ``pad`` entries at its end, as NumPy's ``np.pad`` modes fill them.

    ``replicate`` is NumPy's "edge"; ``constant`` repeats the edge too, and the caller writes the constant over those entries.
    """
    if mode == "symmetric":
        return symmetric_indices(length, pad)
    if mode == "reflect" and length > 1:
        period = 2 * (length - 1)
        return [k if k < length else period - k for k in ((i % period) for i in range(length + pad))]
    return [min(i, length - 1) for i in range(length + pad)]


def pad_bottom_right(values: Any, height: int, width: int, mode: str, fill: float | tuple[float, ...]) -> Any:
    """``(..., C, H, W)`` values (NumPy or torch) padded at the bottom and right to ``height`` x ``width``."""
    fill = tuple(fill) if isinstance(fill, (list, tuple)) else (float(fill),)
    rows, cols = values.shape[-2:]
    if (rows, cols) == (height, width):
        return values
    if rows > height or cols > width:
        raise InvalidArgumentError(f"pad_size {height}x{width} is smaller than a frame of {rows}x{cols}: make pad_size at least the crop/resize size, or pass do_pad=False")
    # Fancy indexing with index lists is the same operation on NumPy arrays and torch tensors (and returns a copy).
    out = values[..., pad_indices(rows, height - rows, mode), :][..., pad_indices(cols, width - cols, mode)]
    if mode == "constant":
        fills = fill if len(fill) > 1 else fill * out.shape[-3]
        if len(fills) != out.shape[-3]:
            raise InvalidArgumentError(f"constant_values has {len(fill)} values but the frames have {out.shape[-3]} channels")
        for channel, value in enumerate(fills):
            out[..., channel, rows:, :] = value
            out[..., channel, :rows, cols:] = value
    return out


def normalize_constant_values(value: Any, name: str) -> float | tuple[float, ...] | None:
    """One fill value, or one per channel; a single number stays a number, as transformers' configs store it."""
    values = normalize_mean(value, name)
    return values[0] if values is not None and not isinstance(value, (list, tuple)) and not hasattr(value, "ndim") else values


def normalize_pad_mode(value: Any, name: str) -> str | None:
    """One of transformers' ``PaddingMode`` values: constant, reflect, replicate, symmetric (an enum member gives its value)."""
    if value is None:
        return None
    mode = getattr(value, "value", value)
    if mode not in PAD_MODES:
        raise InvalidArgumentError(f"{name} must be one of {', '.join(PAD_MODES)}, got {value!r}")
    return mode


@register_family
class TvpImageProcessor(VideoFramesProcessor):
    """TVP (text-visual prompting for video grounding): 448x448 BGR frames."""

    transformers_class = "TvpImageProcessor"
    model_types = ("tvp",)
    defaults = {
        "do_resize": True,
        "size": {"longest_edge": 448},
        "resample": 2,
        "default_to_square": False,
        "do_center_crop": True,
        "crop_size": {"height": 448, "width": 448},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_pad": True,
        "pad_size": {"height": 448, "width": 448},
        "constant_values": 0,
        "pad_mode": "constant",
        "do_flip_channel_order": True,
    }
    extra_params = {
        "constant_values": normalize_constant_values,
        "pad_mode": normalize_pad_mode,
        "do_flip_channel_order": normalize_bool,
    }

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """A lone ``longest_edge`` is TVP's own rule; other size forms resize as every family does."""
        size = params.get("size")
        if size is not None and set(size) == {"longest_edge"}:
            edge = size["longest_edge"]
            return [RuleResize(lambda height, width: longest_edge_size(height, width, edge), params["resample"], f"longest edge {edge}")]
        return super().resize_steps(params)

    def pads_batch(self, params: dict[str, Any]) -> bool:
        """``do_pad`` is TVP's per-frame pad after normalising (:meth:`process_images`), never the batch pad."""
        return False

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """The per-frame pipeline, then the pad to ``pad_size`` and the flip to BGR, on the normalised values."""
        features = super().process_images(images, dict(params, data_format="channels_first"), backend)
        values = features["pixel_values"]
        if params.get("do_pad"):
            target = params.get("pad_size")
            if target is None:
                raise InvalidArgumentError("do_pad is True but pad_size is not set")
            pad = (target["height"], target["width"], params.get("pad_mode") or "constant", params.get("constant_values") or 0.0)
            values = [pad_bottom_right(v, *pad) for v in values] if isinstance(values, list) else pad_bottom_right(values, *pad)
            if isinstance(values, list) and len({tuple(v.shape) for v in values}) == 1:
                values = backend.from_numpy(np.stack([backend.to_numpy(v) for v in values]))
        if params.get("do_flip_channel_order"):
            values = flip_first_three_channels(values)
        features["pixel_values"] = _channels_last(values) if params.get("data_format") == "channels_last" else values
        return features

    def pad_image(self, image: Any, pad_size: Any = None, constant_values: Any = 0, pad_mode: Any = "constant") -> Any:
        """One CHW image (or a batch; NumPy or torch) padded bottom/right to ``pad_size`` (default: the processor's), as in the pipeline."""
        target = normalize_size(pad_size, "pad_size") if pad_size is not None else self.pad_size
        if target is None or "height" not in target:
            raise InvalidArgumentError(f"pad_size must have height and width, got {pad_size!r}")
        if not hasattr(image, "shape"):
            image = np.asarray(image)
        fill = normalize_constant_values(constant_values, "constant_values")
        return pad_bottom_right(image, target["height"], target["width"], normalize_pad_mode(pad_mode, "pad_mode"), fill)

    def describe_finalize(self, params: dict[str, Any]) -> list[str]:
        """The pad and the channel flip, when on."""
        lines = []
        if params.get("do_pad") and params.get("pad_size"):
            target = params["pad_size"]
            lines.append(f"pad bottom/right to {target['height']}x{target['width']} ({params.get('pad_mode')}, after normalising)")
        if params.get("do_flip_channel_order"):
            lines.append("flip channels RGB -> BGR")
        return lines
