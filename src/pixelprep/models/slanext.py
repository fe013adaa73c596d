"""SLANeXt / SLANet (table structure recognition): the longer side to 512 in OpenCV's fixed-point bilinear, zero-padded to 512x512.

The resize reproduces OpenCV's 8-bit ``INTER_LINEAR`` (as transformers does in torch): 11-bit weights
rounded from each output pixel's centre, clamped at the borders, a 22-bit rounding shift. It is
integer arithmetic, written once in NumPy, so both backends give the same pixels. ``resample`` is
not used. ``post_process_table_recognition`` decodes the HTML structure tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import geometry
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError, InvalidImageError
from ..processor import ImageProcessor
from ..segmentation import output_field, to_torch
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

WEIGHT_BITS = 11  # OpenCV's INTER_RESIZE_COEF_BITS


def longer_side_size(height: int, width: int, longer: int) -> geometry.Size:
    """Scale so the longer side is ``longer``; sides rounded half to even (Python's round)."""
    scale = longer / max(height, width)
    return round(height * scale), round(width * scale)


def _fixed_point_taps(length: int, out_length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(left index, right index, right weight in 1/2048) per output pixel of one axis, OpenCV's border rules."""
    position = (np.arange(out_length, dtype=np.float32) + 0.5) * (float(length) / float(out_length)) - 0.5
    left = np.floor(position).astype(np.int32)
    fraction = position - left.astype(np.float32)
    fraction = np.where(left < 0, 0, fraction)
    left = np.where(left < 0, 0, left)
    fraction = np.where(left >= length - 1, 1, fraction).astype(np.float32)
    left = np.where(left >= length - 1, length - 2, left)  # a 1-pixel axis reads index -1: the pixel itself
    right_weight = np.floor(fraction * (1 << WEIGHT_BITS) + 0.5).astype(np.int32)
    return left.astype(np.int64), left.astype(np.int64) + 1, right_weight


def fixed_point_bilinear(image: np.ndarray, size: geometry.Size) -> np.ndarray:
    """An HWC image resized to ``size`` by OpenCV's 8-bit bilinear arithmetic (values clipped to 0..255 first); the input's dtype comes back."""
    pixels = np.clip(image, 0, 255).astype(np.uint8).astype(np.int32)
    top, bottom, down = _fixed_point_taps(image.shape[0], size[0])
    left, right, across = _fixed_point_taps(image.shape[1], size[1])
    one = 1 << WEIGHT_BITS
    down, across = down[:, None, None], across[None, :, None]
    upper = (one - across) * pixels[top][:, left] + across * pixels[top][:, right]
    lower = (one - across) * pixels[bottom][:, left] + across * pixels[bottom][:, right]
    blended = ((one - down) * upper + down * lower + (1 << (2 * WEIGHT_BITS - 1))) >> (2 * WEIGHT_BITS)
    return np.clip(blended, 0, 255).astype(np.uint8).astype(image.dtype)


@dataclass(frozen=True)
class FixedPointResize:
    """Resize so the longer side is ``longer``, with :func:`fixed_point_bilinear`."""

    longer: int

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = geometry.check_output_size(*longer_side_size(height, width, self.longer), f"resizing a {height}x{width} image gives an image")
        if min(target) < 1:
            raise InvalidImageError(f"a {height}x{width} image is too elongated: its longer side to {self.longer} leaves an empty {target[0]}x{target[1]} image")
        return backend.from_canonical(fixed_point_bilinear(backend.to_numpy(image), target))

    def describe(self) -> str:
        return f"resize longer side to {self.longer} (OpenCV's fixed-point bilinear)"


def table_vocabulary() -> list[str]:
    """SLANeXt's structure tokens: "sos", the HTML table tags and span attributes (``<td></td>`` merged), "eos"."""
    tags = ["<thead>", "</thead>", "<tbody>", "</tbody>", "<tr>", "</tr>", "<td", ">", "</td>"]
    spans = [f' colspan="{n}"' for n in range(2, 21)] + [f' rowspan="{n}"' for n in range(2, 21)]
    return ["sos", *tags, *spans, "<td></td>", "eos"]


@register_family
class SLANeXtImageProcessor(ImageProcessor):
    """SLANeXt (wired and wireless tables) and SLANet."""

    transformers_class = "SLANeXtImageProcessor"
    model_types = ("slanext", "slanet")
    defaults = {
        "do_resize": True,
        "size": {"height": 512, "width": 512},
        "resample": 2,  # not used: the resize is OpenCV's bilinear
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
        "do_convert_rgb": True,
        "do_pad": True,
        "pad_size": {"height": 512, "width": 512},
    }
    #: The decoder's vocabulary and its special tokens (transformers sets them in ``init_decoder``).
    character = table_vocabulary()
    td_token = ["<td>", "<td", "<td></td>"]
    bos_id = 0
    eos_id = len(character) - 1

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """The longer side to the larger of ``size``'s height and width."""
        size = params["size"]
        if set(size) != {"height", "width"}:
            raise InvalidArgumentError(f"SLANeXt's size must give 'height' and 'width', got {size}")
        return [FixedPointResize(max(size["height"], size["width"]))]

    def init_decoder(self) -> None:
        """Reset the decoder vocabulary (``character``, ``dict``, ``td_token``, ``bos_id``, ``eos_id``) to SLANeXt's."""
        for name in ("character", "dict", "td_token", "bos_id", "eos_id"):
            object.__setattr__(self, name, getattr(type(self), name))

    def post_process_table_recognition(self, outputs: Any) -> dict[str, Any]:
        """``{"structure": HTML tokens wrapped in <html><body><table>, "structure_score": mean token probability}`` for the first image.

        Decoding stops at "eos" (after the first step) and skips "sos"/"eos"; the score is NaN when no token is kept.
        """
        import torch

        probabilities, _ = to_torch(output_field(outputs, "last_hidden_state"))
        if probabilities.ndim != 3 or probabilities.shape[-1] != len(self.character):
            raise InvalidArgumentError(
                f"last_hidden_state must be (batch, steps, {len(self.character)}) structure probabilities, got shape {tuple(probabilities.shape)}"
            )
        best, indices = probabilities[0].max(dim=-1).values, probabilities[0].argmax(dim=-1)
        tokens, scores = [], []
        for position, index in enumerate(indices.tolist()):
            if position > 0 and index == self.eos_id:
                break
            if index in (self.bos_id, self.eos_id):
                continue
            tokens.append(self.character[index])
            scores.append(best[position])
        score = torch.stack(scores).mean().item() if scores else float("nan")
        return {"structure": ["<html>", "<body>", "<table>", *tokens, "</table>", "</body>", "</html>"], "structure_score": score}


SLANeXtImageProcessor.dict = {token: index for index, token in enumerate(SLANeXtImageProcessor.character)}
