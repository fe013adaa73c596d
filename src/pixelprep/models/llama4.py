"""Llama 4: the image fitted into the best canvas of up to ``max_patches`` square tiles, cut into tiles, plus a global tile.

The canvas is chosen from the supported resolutions (every rows x cols of at most ``max_patches``
tiles, :func:`~pixelprep.geometry_vlm.supported_resolutions`) as the one that scales the image least
(:func:`~pixelprep.geometry_vlm.best_fit_canvas`; the most with ``resize_to_max_canvas``). The image
is resized to fit it without distortion (never enlarged past one tile unless ``resize_to_max_canvas``),
padded with 0 bottom/right, and cut row-major; with more than one tile, the whole image squashed to one
tile follows. Rescale and normalize run in bfloat16, as transformers does (the original model's
arithmetic), so values are bfloat16 numbers and ``return_tensors="pt"`` gives a bfloat16 tensor.
Outputs: ``pixel_values`` (all tiles, C, S, S) (a list per image without ``return_tensors``) and
``aspect_ratios`` (rows, cols) per image.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..multiview import MultiViewProcessor, StackViews, Views, square_tile_side
from ..params import _positive_int, normalize_bool
from ..processor import _like
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


def to_bfloat16(values: np.ndarray) -> np.ndarray:
    """float32 values rounded to the nearest bfloat16 (ties to even), kept as float32."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = (bits + (((bits >> 16) & 1) + 0x7FFF)) & 0xFFFF0000
    return rounded.astype(np.uint32).view(np.float32)


def bfloat16_levels(scale: float, mean: tuple[float, ...], std: tuple[float, ...], channels: int) -> np.ndarray:
    """(256, channels) float32: what each 8-bit level becomes when rescaled and normalised in bfloat16 as torch does it
    (each operation computed in float32, then rounded to bfloat16; mean and std held in bfloat16)."""
    def per_channel(values: tuple[float, ...]) -> np.ndarray:
        return to_bfloat16(np.broadcast_to(np.asarray(values, np.float32), (channels,)))

    levels = np.arange(256, dtype=np.float32)[:, None]
    rescaled = to_bfloat16(levels * np.float32(scale))
    centred = to_bfloat16(rescaled - per_channel(mean))
    return to_bfloat16(centred / per_channel(std))


@register_family
class Llama4ImageProcessor(MultiViewProcessor):
    """Llama 4: tiles of the best-fit canvas of up to ``max_patches`` tiles, then a global tile; values in bfloat16."""

    transformers_class = "Llama4ImageProcessor"
    model_types = ("llama4",)
    defaults = {
        "do_resize": True,
        "size": {"height": 336, "width": 336},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_convert_rgb": True,
        "max_patches": 16,
        "resize_to_max_canvas": False,
    }
    extra_params = {"max_patches": _optional_positive_int, "resize_to_max_canvas": normalize_bool}
    model_input_names = ["pixel_values"]

    @classmethod
    def tile_size(cls, params: dict[str, Any]) -> int:
        """The side of a tile: ``size``, which must be a square {'height': t, 'width': t}."""
        return square_tile_side(params.get("size"), cls.__name__)

    def canvas(self, height: int, width: int, params: dict[str, Any] | None = None) -> tuple[tuple[int, int], tuple[int, int]]:
        """((height, width) of the canvas, (height, width) the image is resized to) for a ``height`` x ``width`` image."""
        params = self._params if params is None else params
        tile = self.tile_size(params)
        largest = bool(params.get("resize_to_max_canvas"))
        canvas = geometry_vlm.best_fit_canvas(height, width, geometry_vlm.supported_resolutions(params["max_patches"], tile), largest)
        # without resize_to_max_canvas the image is enlarged at most to one tile: fit_to_canvas clips each side to
        # [tile, canvas]; with it, a "tile" of the canvas's long side makes the whole canvas the target
        return canvas, geometry_vlm.fit_to_canvas(height, width, *canvas, max(canvas) if largest else tile)

    def get_number_of_tiles(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Tiles an image of ``height`` x ``width`` makes, the global tile included; ``images_kwargs`` as a call."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        (canvas_h, canvas_w), _ = self.canvas(height, width, params)
        tiles = (canvas_h // self.tile_size(params)) * (canvas_w // self.tile_size(params))
        return tiles + 1 if tiles > 1 else 1

    # ------------------------------------------------------------------------------------- views

    def steps(self, params: dict[str, Any]) -> list[Any]:
        if not params.get("do_resize"):
            raise InvalidArgumentError("do_resize=False is not supported by Llama4ImageProcessor: every image is resized to a supported canvas")
        # the canvas is chosen per image: resize, pad and tiles are in split_views
        return []

    def _bfloat16(self, params: dict[str, Any]) -> bool:
        """Whether rescale and normalize run in bfloat16 (both on, as transformers does it)."""
        return bool(params.get("do_rescale") and params.get("do_normalize"))

    def _normalized(self, backend: Backend, view: Any, params: dict[str, Any]) -> Any:
        """A uint8 view rescaled and normalised in bfloat16 arithmetic: a table lookup per channel."""
        scale, mean, std = self.affine_parts(params)
        array = backend.realize(view)
        channels = backend.channels(view)
        table = _like(bfloat16_levels(scale, mean, std, channels), array)
        index = array.long() if hasattr(array, "long") else array.astype(np.intp)
        return table[index, _like(np.arange(channels), array)]

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        tile = self.tile_size(params)
        height, width = backend.size(image)
        canvas, target = self.canvas(height, width, params)
        geometry.check_output_size(*canvas, f"the {canvas[0]}x{canvas[1]} canvas of a {height}x{width} image")
        fitted = image if target == (height, width) else backend.resize(image, target, params["resample"])
        if target != canvas:
            fitted = backend.pad(fitted, 0, canvas[0] - target[0], 0, canvas[1] - target[1], 0)
        views = [backend.crop(fitted, top, left, h, w) for top, left, h, w in geometry_vlm.tile_boxes(*canvas, tile, tile)]
        if len(views) > 1:
            views.append(image if (height, width) == (tile, tile) else backend.resize(image, (tile, tile), params["resample"]))
        grid = (canvas[0] // tile, canvas[1] // tile)
        if self._bfloat16(params) and all(backend.is_uint8(view) for view in views):
            return Views([self._normalized(backend, view, params) for view in views], meta={"grid": grid}, normalized=True)
        return Views(views, meta={"grid": grid})

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        tile = self.tile_size(params)
        rule = "scales the image most" if params.get("resize_to_max_canvas") else "scales the image least"
        return [
            f"choose the canvas of up to {params['max_patches']} {tile}x{tile} tiles that {rule}",
            f"resize to fit the canvas (aspect kept, floored{'' if params.get('resize_to_max_canvas') else f', enlarged at most to {tile}'}) "
            f"{RESAMPLE_NAMES[params['resample']]}",
            "pad bottom/right with 0 to the canvas",
            f"views: the canvas's {tile}x{tile} tiles, row-major, then (with several tiles) the image squashed to {tile}x{tile}",
        ]

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        params = self._params if params is None else params
        lines = super().describe_pipeline(params)
        if self._bfloat16(params):
            lines = [line + " (in bfloat16)" if line.startswith(("rescale", "normalize")) else line for line in lines]
        return lines + ["also output aspect_ratios (rows, cols of tiles) per image"]

    def packer(self, params: dict[str, Any]) -> StackViews:
        return StackViews("pixel_values")

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ("grid",)

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        """aspect_ratios: (images, 2) rows and cols of each image's canvas."""
        return {"aspect_ratios": np.array([group.meta["grid"] for group in views], dtype=np.int64).reshape(-1, 2)}

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        tensor_type = params.get("return_tensors")
        features = super().finalize(features, params, backend)
        values = features.data["pixel_values"]
        if self._bfloat16(params) and hasattr(values, "to"):  # torch outputs carry the bfloat16 numbers as bfloat16
            import torch

            values = values.to(torch.bfloat16)
        if tensor_type is None:
            # a list per image of its tiles, and of its (rows, cols), as transformers returns them without return_tensors
            ratios = features.data["aspect_ratios"]
            counts = [int(r) * int(c) + (1 if int(r) * int(c) > 1 else 0) for r, c in ratios.tolist()]
            offsets = np.concatenate([[0], np.cumsum(counts)]).tolist()
            values = [values[offsets[i] : offsets[i + 1]] for i in range(len(counts))]
            features.data["aspect_ratios"] = [ratios[i] for i in range(len(counts))]
        features.data["pixel_values"] = values
        return features

    def rescale_and_normalize(self, images: Any, do_rescale: bool, rescale_factor: float, do_normalize: bool, image_mean: Any, image_std: Any) -> Any:
        """Rescale and/or normalize as the pipeline does: with both, in bfloat16 (a bfloat16 tensor for a tensor input)."""
        if not (do_rescale and do_normalize):
            return super().rescale_and_normalize(images, do_rescale, rescale_factor, do_normalize, image_mean, image_std)
        params = self._step_params({"rescale_factor": rescale_factor, "image_mean": image_mean, "image_std": image_std})
        is_torch = hasattr(images, "detach")
        array = images.detach().cpu().numpy() if is_torch else np.asarray(images)
        if array.dtype != np.uint8:
            raise InvalidArgumentError(f"rescale_and_normalize in bfloat16 takes 8-bit images, got {array.dtype}")
        channels = array.shape[-3]
        table = bfloat16_levels(params["rescale_factor"], params["image_mean"], params["image_std"], channels)
        shape = [1] * array.ndim
        shape[-3] = channels
        out = table[array.astype(np.intp), np.arange(channels).reshape(shape)]
        if is_torch:
            import torch

            return torch.from_numpy(out).to(images.device, torch.bfloat16)
        return out
