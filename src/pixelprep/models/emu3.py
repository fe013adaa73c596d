"""Emu3: Qwen2-VL's smart_resize to multiples of ``spatial_factor`` (8), then the batch zero-padded to its largest image
(``do_pad``, or a list of unpadded images without it).

transformers 5.23 has only a legacy pil class for Emu3, so the pil backend is the default here; the
torchvision backend runs the same geometry. Its quirks, kept: the pixel budget is
``min_pixels``/``max_pixels`` of the processor (a call-time ``size`` is ignored, as there), the
padding is zeros after normalisation, and ``image_sizes`` are the resized (height, width).
"""

from __future__ import annotations

import functools
from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..multiview import MultiViewProcessor, PaddedViews, RuleResize, SeparateViews, Views
from ..params import _positive_int
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


@register_family
class Emu3ImageProcessor(MultiViewProcessor):
    """Emu3: smart_resize to multiples of 8 within ``min_pixels``..``max_pixels``, padded to the batch's largest, with ``image_sizes``."""

    transformers_class = "Emu3ImageProcessor"
    model_types = ("emu3",)
    defaults = {
        "do_resize": True,
        "resample": 3,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "do_convert_rgb": True,
        "do_pad": True,
        "min_pixels": 512 * 512,
        "max_pixels": 1024 * 1024,
        "spatial_factor": 8,
    }
    extra_params = {"min_pixels": _optional_positive_int, "max_pixels": _optional_positive_int, "spatial_factor": _optional_positive_int}
    model_input_names = ["pixel_values", "image_sizes"]

    def _setup(self, params: dict[str, Any], extra: dict[str, Any], backend: str | None, num_threads: int | None) -> None:
        # transformers has only the pil class: without a backend asked for, match it.
        super()._setup(params, extra, backend or "pil", num_threads)

    @classmethod
    def upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """transformers saves ``size`` as {"min_pixels", "max_pixels"}, a copy of those two keys: read them from it, drop it."""
        size = config.get("size")
        if isinstance(size, dict) and set(size) <= {"min_pixels", "max_pixels"}:
            config = dict(config)
            for key, value in config.pop("size").items():
                config.setdefault(key, value)
        return config

    @property
    def size(self) -> dict[str, int | None]:
        """As transformers' attribute: the pixel budget, a copy of ``min_pixels`` and ``max_pixels`` (the resize never reads ``size``)."""
        return {"min_pixels": self._params["min_pixels"], "max_pixels": self._params["max_pixels"]}

    def target_size(self, height: int, width: int) -> tuple[int, int]:
        """The size an image of ``height`` x ``width`` is resized to: always the processor's own budget, as in transformers."""
        params = self._params
        return geometry_vlm.smart_resize(height, width, params["spatial_factor"], params["min_pixels"], params["max_pixels"])

    def steps(self, params: dict[str, Any]) -> list[Any]:
        if not params.get("do_resize"):
            return []
        own = self._params
        what = f"to sides that are multiples of {own['spatial_factor']}, {own['min_pixels']}..{own['max_pixels']} pixels, aspect kept (smart_resize)"
        return [RuleResize(functools.partial(Emu3ImageProcessor.target_size, self), params["resample"], what)]

    def split_views(self, backend: Any, image: Any, params: dict[str, Any]) -> Views:
        return Views([image], meta={"image_sizes": backend.size(image)})

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ("image_sizes",)

    def packer(self, params: dict[str, Any]) -> PaddedViews | SeparateViews:
        return PaddedViews(mask_key=None, views_axis=False) if params.get("do_pad") else SeparateViews()

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        return ["image_sizes: (height, width) after the resize"]

    def get_number_of_image_tokens(self, height: int, width: int, downsample_ratio: int = 8) -> int:
        """Image tokens Emu3Processor reserves for an image of ``height`` x ``width``: rows x (columns + 1) of its VQ grid.

        ``downsample_ratio`` is the VQ tokenizer's (Emu3Processor's constant 8); the extra column is the
        row separator the model adds.
        """
        resized_height, resized_width = self.target_size(height, width)
        return (resized_height // downsample_ratio) * (resized_width // downsample_ratio + 1)
