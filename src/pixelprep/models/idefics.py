"""IDEFICS (v1): every image squashed to an ``image_size`` square, CLIP normalisation.

``image_size`` is another spelling of ``size`` (a square), at construction and, as transformers
documents it, at call time. transformers' ``transform`` hook (a callable applied to each image
instead of the pipeline, for training) is taken at call time only: a config never carries code.
Unlike transformers, which returns the pixel values alone, calls return a :class:`BatchFeature`
with ``pixel_values``, as every family does (README).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..auto import register_family
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..inputs import flatten_inputs
from ..params import _positive_int
from ..processor import ImageProcessor
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


def _square(side: int) -> dict[str, int]:
    return {"height": side, "width": side}


@register_family
class IdeficsImageProcessor(ImageProcessor):
    """IDEFICS: squash to ``image_size`` (224), bicubic, CLIP mean/std."""

    transformers_class = "IdeficsImageProcessor"
    model_types = ("idefics",)
    defaults = {
        "do_resize": True,
        "size": _square(224),
        "resample": 3,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "do_convert_rgb": True,
        "image_size": None,
        "image_num_channels": 3,
    }
    # image_num_channels is kept for the config file; the model's images are always RGB
    extra_params = {"image_size": _optional_positive_int, "image_num_channels": _optional_positive_int}

    def _setup(self, params: dict[str, Any], extra: dict[str, Any], backend: str | None, num_threads: int | None) -> None:
        params = dict(params)
        if params.get("image_size") is not None:
            params["size"] = _square(_positive_int(params["image_size"], "image_size"))
        super()._setup(params, extra, backend, num_threads)
        size = self._params.get("size") or {}
        if "height" in size:  # image_size follows size, as transformers sets it from size.height
            self._params["image_size"] = size["height"]

    def resolve(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        overrides = dict(overrides or {})
        if overrides.get("image_size") is not None:
            overrides["size"] = _square(_positive_int(overrides["image_size"], "image_size"))
        return super().resolve(overrides)

    @property
    def transform(self) -> None:
        """transformers' per-image training hook: always None here, since a processor (or its config) never holds code;
        pass ``transform=`` to a call instead."""
        return None

    def preprocess(self, images: Any, transform: Callable[[Any], Any] | None = None, **kwargs: Any) -> BatchFeature:
        """The pipeline's ``pixel_values``; with ``transform`` (a callable given at call time), each image as loaded
        (PIL image, array or tensor, not converted) through it instead, stacked as torch tensors."""
        if transform is None:
            return super().preprocess(images, **kwargs)
        if not callable(transform):
            raise InvalidArgumentError(f"transform must be a callable that takes one image, got {type(transform).__name__}")
        import torch

        items = flatten_inputs(self.fetch_images(images))
        if not items:
            raise InvalidArgumentError("images is empty: pass at least one image")
        return BatchFeature({"pixel_values": torch.stack([transform(item) for item in items])})
