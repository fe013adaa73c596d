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
from ..errors import InvalidArgumentError
from ..multiview import MultiViewProcessor, PaddedViews, RuleResize, SeparateViews, Views
from ..params import _positive_int
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


def _three(value: Any, name: str) -> tuple[float, ...]:
    """A per-channel value for three channels: a number repeated, or three numbers."""
    if isinstance(value, (int, float)):
        return (float(value),) * 3
    values = tuple(float(v) for v in value)
    if len(values) != 3:
        raise InvalidArgumentError(f"{name} must be one number or 3 numbers (one per channel), got {value}")
    return values


def _layout(image: Any, input_data_format: str | None) -> str:
    """The channel layout of a 3-D image: the one given, else channels-first when the first axis looks like channels."""
    if input_data_format in ("channels_first", "channels_last"):
        return input_data_format
    return "channels_first" if image.shape[0] in (1, 3) else "channels_last"


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

    def unnormalize(self, image: Any, image_mean: Any, image_std: Any, input_data_format: str | None = None) -> Any:
        """``image * std + mean`` per channel (three channels), the inverse of ``normalize``, as transformers' ``unnormalize``."""
        mean = _three(image_mean, "image_mean")
        std = _three(image_std, "image_std")
        # the inverse is itself a normalisation: (x - (-mean / std)) / (1 / std)
        reverse_mean = tuple(-m / s for m, s in zip(mean, std))
        data_format = "channels_last" if input_data_format == "channels_last" else "channels_first"
        return self.normalize(image, reverse_mean, tuple(1 / s for s in std), input_data_format=input_data_format, data_format=data_format)

    def postprocess(
        self,
        images: Any,
        do_rescale: bool | None = None,
        rescale_factor: float | None = None,
        do_normalize: bool | None = None,
        image_mean: Any = None,
        image_std: Any = None,
        return_tensors: str | None = "PIL.Image.Image",
        input_data_format: str | None = None,
    ) -> Any:
        """Generated pixel values back to images (unnormalise, then x255 clipped to uint8), as transformers' ``postprocess``:
        PIL images by default, else a BatchFeature whose ``pixel_values`` lists the images' first-axis slices, as there."""
        import numpy as np
        from PIL import Image

        from ..features import BatchFeature

        do_rescale = self._params["do_rescale"] if do_rescale is None else do_rescale
        rescale_factor = 1.0 / self._params["rescale_factor"] if rescale_factor is None else rescale_factor
        do_normalize = self._params["do_normalize"] if do_normalize is None else do_normalize
        image_mean = self._params["image_mean"] if image_mean is None else image_mean
        image_std = self._params["image_std"] if image_std is None else image_std
        flat = list(images) if isinstance(images, (list, tuple)) or np.ndim(images) == 4 else [images]
        if flat and isinstance(flat[0], Image.Image):
            return flat if len(flat) > 1 else flat[0]
        pixel_values: list[Any] = []
        for image in flat:
            image = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image)
            if do_normalize:
                image = self.unnormalize(image, image_mean, image_std, input_data_format)
            if do_rescale:
                image = np.clip(self.rescale(image, rescale_factor, input_data_format=input_data_format, data_format=_layout(image, input_data_format)), 0, 255).astype(np.uint8)
            if do_normalize and do_rescale and return_tensors == "PIL.Image.Image":
                pixel_values.append(Image.fromarray(image if _layout(image, input_data_format) == "channels_last" else np.moveaxis(image, 0, -1)))
            else:
                pixel_values.extend(image)  # transformers extends by the first axis
        return BatchFeature({"pixel_values": pixel_values}, tensor_type=None if return_tensors == "PIL.Image.Image" else return_tensors)

    def get_number_of_image_tokens(self, height: int, width: int, downsample_ratio: int = 8) -> int:
        """Image tokens Emu3Processor reserves for an image of ``height`` x ``width``: rows x (columns + 1) of its VQ grid.

        ``downsample_ratio`` is the VQ tokenizer's (Emu3Processor's constant 8); the extra column is the
        row separator the model adds.
        """
        resized_height, resized_width = self.target_size(height, width)
        return (resized_height // downsample_ratio) * (resized_width // downsample_ratio + 1)
