"""Steps and helpers shared by the PaddlePaddle OCR and document families (PP-OCR, PP-LCNet, PP-DocLayout, SLANeXt, ...).

Paddle's pipelines resize with OpenCV: without antialiasing (:class:`InterpolateResize`), on float
pixels (:class:`FloatRuleResize`), and feed the model BGR. transformers has only torchvision classes
for them; every step here runs on backend operations, so the ``pil`` backend gets the same geometry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import geometry
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import BackendUnavailableError, InvalidArgumentError, InvalidImageError
from ..inputs import flatten_inputs, to_canonical
from ..processor import ImageProcessor, _map
from .classic_steps import RuleResize


def load_images(processor: ImageProcessor, images: Any, params: dict[str, Any], backend: Backend) -> list[Any]:
    """Every input decoded and converted as ``params`` say, as native images of ``backend`` (before any step).

    For families whose steps need every image's size first (a batch-wide target) or report the input sizes.
    """
    items = flatten_inputs(images)
    if not items:
        raise InvalidArgumentError("images is empty: pass at least one image")
    options = processor.load_options(params, backend)
    return _map(lambda item: backend.from_canonical(to_canonical(item, options)), items, processor.num_threads)


def apply_steps(processor: ImageProcessor, images: list[Any], steps: list[Any], backend: Backend) -> list[Any]:
    """``images`` (native) through ``steps``, on the processor's threads."""

    def run(image: Any) -> Any:
        for step in steps:
            image = step.apply(backend, image)
        return backend.realize(image)

    return _map(run, images, processor.num_threads)


@dataclass(frozen=True)
class FloatRuleResize(RuleResize):
    """A :class:`RuleResize` of the pixels as float32: the result is not rounded back to 8 bits (Paddle resizes floats)."""

    def apply(self, backend: Backend, image: Any) -> Any:
        # A float32 scalar makes the product float32 on NumPy arrays and torch tensors alike.
        return super().apply(backend, backend.realize(image) * np.float32(1))

    def describe(self) -> str:
        return super().describe() + " (on floats)"


@dataclass(frozen=True)
class InterpolateResize:
    """Resize to ``rule(height, width)`` by interpolating at the output pixel centres, without antialiasing (OpenCV's and torch's ``interpolate``).

    See :meth:`~pixelprep.backends.base.Backend.resize_interpolate`; ``label`` says what the rule does.
    """

    rule: Callable[[int, int], geometry.Size]
    resample: int
    label: str

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = geometry.check_output_size(*self.rule(height, width), f"resizing a {height}x{width} image gives an image")
        if min(target) < 1:
            raise InvalidImageError(f"a {height}x{width} image is too small: resizing it {self.label} gives an empty {target[0]}x{target[1]} image")
        return backend.resize_interpolate(backend.realize(image), target, self.resample)

    def describe(self) -> str:
        return f"resize {self.label} {RESAMPLE_NAMES[self.resample]}, no antialiasing"


def fixed_size(height: int, width: int) -> Callable[[int, int], geometry.Size]:
    """A size rule giving ``height`` x ``width`` whatever the input."""
    return lambda _height, _width: (height, width)


@dataclass(frozen=True)
class ReverseChannels:
    """RGB to BGR before rescale and normalize (the mean and std then apply to the BGR channels); fewer than 3 channels unchanged."""

    def apply(self, backend: Backend, image: Any) -> Any:
        image = backend.realize(image)
        channels = backend.channels(image)
        return image if channels < 3 else image[..., [2, 1, 0, *range(3, channels)]]

    def describe(self) -> str:
        return "RGB to BGR"


def opencv() -> Any:
    """The ``cv2`` module for post-processing that traces contours, or our error saying how to install it."""
    try:
        import cv2
    except ImportError as error:
        raise BackendUnavailableError(
            "this post-processing traces contours with OpenCV, which is not installed: pip install 'pixelprep[ocr]' (opencv-python-headless)"
        ) from error
    return cv2
