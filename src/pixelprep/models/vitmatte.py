"""ViTMatte (image matting): the normalised RGB image plus its rescaled trimap as a 4th channel, padded to multiples of 32."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import geometry
from ..auto import register_family
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..inputs import flatten_inputs
from ..processor import ImageProcessor, _channels_last, _PadBottomRight
from ..segmentation import load_label_map
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


@register_family
class VitMatteImageProcessor(ImageProcessor):
    """ViTMatte."""

    transformers_class = "VitMatteImageProcessor"
    model_types = ("vitmatte",)
    defaults = {
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_pad": True,
        "size_divisor": 32,
    }

    @classmethod
    def upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The legacy ``size_divisibility`` becomes ``size_divisor`` (unless that is set too)."""
        if "size_divisibility" in config:
            config = dict(config)
            legacy = config.pop("size_divisibility")
            config.setdefault("size_divisor", legacy)
        return config

    def __call__(self, images: Any, trimaps: Any = None, **kwargs: Any) -> BatchFeature:
        """Preprocess images with their trimaps (one 2-D map of 0/128/255 per image, the same size)."""
        return self.preprocess(images, trimaps, **kwargs)

    def preprocess(self, images: Any, trimaps: Any = None, **kwargs: Any) -> BatchFeature:
        """Same as calling the processor."""
        if trimaps is None:
            raise InvalidArgumentError("ViTMatte needs trimaps: pass trimaps=, one per image")
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        maps = [load_label_map(item) for item in flatten_inputs(trimaps)]
        # the padding comes after the trimap is appended, so the family pads here, not in the common assembly
        features = self.process_images(images, dict(params, do_pad=False, data_format="channels_first"), backend)
        values = features["pixel_values"]
        if len(maps) != len(values):
            raise InvalidArgumentError(f"got {len(maps)} trimaps for {len(values)} images")
        scale = params["rescale_factor"] if params.get("do_rescale") else None
        divisor = params.get("size_divisor") if params.get("do_pad") else None
        if params.get("do_pad") and not divisor:
            raise InvalidArgumentError("do_pad is True but size_divisor is not set")
        outputs = []
        for index, (image, trimap) in enumerate(zip(values, maps)):
            height, width = int(image.shape[-2]), int(image.shape[-1])
            if trimap.shape != (height, width):
                raise InvalidArgumentError(f"trimap {index} is {trimap.shape[0]}x{trimap.shape[1]} but its image is {height}x{width}")
            floating = str(image.dtype).endswith("float32")
            # a float32 product: one rounding, as transformers' torchvision class rescales (its pil class rounds a float64 product)
            plane = trimap.astype(np.float32) * np.float32(scale) if scale is not None else trimap.astype(np.float32 if floating else np.uint8)
            canvas = geometry.pad_to_multiple(height, width, divisor) if divisor else (height, width)
            out = backend.allocate((int(image.shape[0]) + 1, *canvas), "float32" if floating or scale is not None else "uint8")
            out[:-1, :height, :width] = image
            out[-1, :height, :width] = backend.from_canonical(plane)
            outputs.append(out)
        features["pixel_values"] = _channels_last(outputs) if params.get("data_format") == "channels_last" else outputs
        return self.finalize(features, params, backend)

    def pad_image(self, image: Any, size_divisor: int = 32, **kwargs: Any) -> Any:
        """``image`` (CHW) with zero rows and columns added bottom/right up to multiples of ``size_divisor``, as transformers' ``pad_image``."""
        if not isinstance(size_divisor, int) or isinstance(size_divisor, bool) or size_divisor < 1:
            raise InvalidArgumentError(f"size_divisor must be a positive int, got {size_divisor!r}")
        params = self._step_params(kwargs)
        height, width = int(image.shape[-2]), int(image.shape[-1])
        padded_height, padded_width = geometry.pad_to_multiple(height, width, size_divisor)
        return self._run_steps(image, dict(params, input_data_format="channels_first"), [_PadBottomRight(padded_height - height, padded_width - width)])

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        """The common lines, then the trimap channel and the padding to a multiple."""
        params = self._params if params is None else params
        lines = super().describe_pipeline(dict(params, do_pad=False))
        lines.append("append the trimap" + (" rescaled" if params.get("do_rescale") else "") + " as the last channel")
        if params.get("do_pad"):
            lines.append(f"pad bottom/right with zeros to a multiple of {params.get('size_divisor')}")
        return lines
