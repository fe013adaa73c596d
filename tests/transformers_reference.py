"""transformers' class for a pixelprep family and the extra inputs its preprocess needs (shared by the compat tests and
the output-matrix parity tests)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import transformers
from PIL import Image
from transformers.image_processing_backends import TorchvisionBackend
from transformers.image_transforms import convert_to_rgb


def reference_class(name: str, backend: str) -> type | None:
    """transformers' class of ``name`` for ``backend``, or None: DINOv3 and TIPSv2 have no pil class there, and Emu3's
    one class (unsuffixed, on the old base) is pil only."""
    if backend == "pil":
        suffixed = getattr(transformers, name + "Pil", None)
        plain = getattr(transformers, name, None)
        return suffixed or (plain if plain is not None and not issubclass(plain, TorchvisionBackend) else None)
    plain = getattr(transformers, name, None)
    return plain if plain is not None and issubclass(plain, TorchvisionBackend) else None


def extra_inputs(reference: Any, images: list[Image.Image]) -> dict[str, Any]:
    """Required arguments of ``reference.preprocess`` beyond the images, built for ``images``."""
    extras: dict[str, Any] = {}
    for name, parameter in inspect.signature(reference.preprocess).parameters.items():
        if name == "trimaps" and parameter.default is inspect.Parameter.empty:
            # a trimap per image: background, unknown and foreground bands
            extras[name] = [np.repeat(np.array([0, 128, 255], np.uint8), -(-image.height // 3))[: image.height, None].repeat(image.width, 1) for image in images]
        elif name == "boxes" and parameter.default is inspect.Parameter.empty:
            # two COCO [x, y, width, height] person boxes per image: one off-centre and wide, one tall near a corner
            extras[name] = [[[image.width * 0.1, image.height * 0.2, image.width * 0.6, image.height * 0.3],
                             [image.width * 0.7, image.height * 0.05, image.width * 0.25, image.height * 0.9]] for image in images]
        elif parameter.default is inspect.Parameter.empty and parameter.kind is parameter.POSITIONAL_OR_KEYWORD and name not in ("self", "images", "videos"):
            raise AssertionError(f"{type(reference).__name__}.preprocess needs {name}: give the test an input for it")
    return extras


def documented_input(image: Image.Image, converts_rgb: bool, rgb_mean: bool, to_eight_bit) -> Image.Image:
    """The image transformers must be given to produce what pixelprep documents for ``image``.

    16-bit images are scaled by value to 8 bits. Where ``do_convert_rgb`` is unset and the mean has 3
    values, every image is made RGB the way transformers' own ``convert_to_rgb`` does (transformers
    raises on gray or alpha there, or reads palette indices); otherwise palette and CMYK images
    become RGB(A) and 1-bit becomes L.
    """
    if image.mode.startswith("I"):
        image = to_eight_bit(image)
    if converts_rgb:
        return image
    if rgb_mean:
        return convert_to_rgb(image)
    if image.mode == "P":
        image = image.convert("RGBA" if image.info.get("transparency") is not None else "RGB")
    elif image.mode == "CMYK":
        image = image.convert("RGB")
    elif image.mode == "1":
        image = image.convert("L")
    return image
