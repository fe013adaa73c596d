"""Mllama (Llama 3.2 Vision): the image fitted into a canvas of up to ``max_image_tiles`` square tiles.

The canvas grid is the one that scales the image least (:func:`~pixelprep.geometry_vlm.tiled_canvas`);
the image is resized to fit it (:func:`~pixelprep.geometry_vlm.fit_to_canvas`), padded with 0
bottom/right to the whole canvas (before normalize, as transformers does), and cut into row-major
tiles. Outputs are ``(samples, images, max_image_tiles, C, tile, tile)`` pixel values, zero where an
image or tile is missing, with ``aspect_ratio_ids``, ``aspect_ratio_mask`` and ``num_tiles`` (a list).
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
from ..multiview import MultiViewProcessor, Views, ViewsPerSample, square_tile_side
from ..params import _positive_int
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


@register_family
class MllamaImageProcessor(MultiViewProcessor):
    """Mllama: square tiles of the least-scaling canvas of up to ``max_image_tiles``, padded per sample and per image."""

    transformers_class = "MllamaImageProcessor"
    model_types = ("mllama",)
    defaults = {
        "do_resize": True,
        "size": {"height": 224, "width": 224},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_convert_rgb": True,
        "do_pad": True,
        "max_image_tiles": 4,
    }
    extra_params = {"max_image_tiles": _positive_int}
    model_input_names = ["pixel_values", "num_tiles", "aspect_ratio_ids", "aspect_ratio_mask"]

    def _setup(self, params: dict[str, Any], extra: dict[str, Any], backend: str | None, num_threads: int | None) -> None:
        super()._setup(params, extra, backend, num_threads)
        # transformers refuses these at construction; at call time it ignores do_resize/do_pad and always tiles.
        if not self._params.get("do_pad"):
            raise InvalidArgumentError("do_pad=False is not supported by MllamaImageProcessor: every image is padded to its tile canvas")
        if not self._params.get("do_resize"):
            raise InvalidArgumentError("do_resize=False is not supported by MllamaImageProcessor: every image is resized to its tile canvas")
        self.tile_size(self._params)

    @classmethod
    def tile_size(cls, params: dict[str, Any]) -> int:
        """The side of a tile: ``size``, which must be a square {'height': t, 'width': t}."""
        return square_tile_side(params.get("size"), cls.__name__)

    def canvas(self, height: int, width: int, params: dict[str, Any] | None = None) -> tuple[tuple[int, int], tuple[int, int]]:
        """((rows, cols) of tiles, (height, width) resized) for an image of ``height`` x ``width``."""
        params = self._params if params is None else params
        tile = self.tile_size(params)
        rows, cols = geometry_vlm.tiled_canvas(height, width, params["max_image_tiles"], tile)
        return (rows, cols), geometry_vlm.fit_to_canvas(height, width, rows * tile, cols * tile, tile)

    def get_number_of_tiles(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Tiles (``num_tiles``) an image of ``height`` x ``width`` makes; ``images_kwargs`` as a call (size, max_image_tiles)."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        (rows, cols), _ = self.canvas(height, width, params)
        return rows * cols

    # ------------------------------------------------------------------------------------- views

    def steps(self, params: dict[str, Any]) -> list[Any]:
        # Resize, pad and tiling depend on the canvas chosen per image: all in split_views.
        return []

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        tile = self.tile_size(params)
        height, width = backend.size(image)
        (rows, cols), target = self.canvas(height, width, params)
        geometry.check_output_size(rows * tile, cols * tile, f"the {rows}x{cols}-tile canvas of a {height}x{width} image")
        if target != (height, width):
            image = backend.resize(image, target, params["resample"])
        bottom, right = rows * tile - target[0], cols * tile - target[1]
        if bottom or right:
            image = backend.pad(image, 0, bottom, 0, right, 0)
        tiles = [backend.crop(image, top, left, h, w) for top, left, h, w in geometry_vlm.tile_boxes(rows * tile, cols * tile, tile, tile)]
        return Views(tiles, meta={"grid": (rows, cols)})

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        tile = self.tile_size(params)
        return [
            f"choose the canvas of up to {params['max_image_tiles']} {tile}x{tile} tiles that scales the image least",
            f"resize to fit the canvas (each side clipped to {tile}..canvas, aspect kept) {RESAMPLE_NAMES[params['resample']]}",
            "pad bottom/right with 0 to the canvas",
            f"views: the canvas's {tile}x{tile} tiles, row-major",
        ]

    def packer(self, params: dict[str, Any]) -> ViewsPerSample:
        return ViewsPerSample(params["max_image_tiles"], "pixel_values", limit_name="max_image_tiles")

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        return super().describe_pipeline(params) + [
            "also output aspect_ratio_ids (1 + the grid's index, 0 for a missing image), aspect_ratio_mask (tiles per image), num_tiles (a list)"
        ]

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        """aspect_ratio_ids (samples, images), aspect_ratio_mask (samples, images, max tiles), num_tiles (list per sample)."""
        max_tiles = params["max_image_tiles"]
        arrangements = geometry_vlm.tile_arrangements(max_tiles)
        ids = np.zeros((len(samples), max(samples)), dtype=np.int64)
        mask = np.zeros((len(samples), max(samples), max_tiles), dtype=np.int64)
        mask[:, :, 0] = 1  # transformers marks the first tile also for padded image slots
        num_tiles, index = [], 0
        for s, count in enumerate(samples):
            sample_tiles = []
            for j in range(count):
                rows, cols = views[index].meta["grid"]
                ids[s, j] = arrangements.index((rows, cols)) + 1
                mask[s, j, : rows * cols] = 1
                sample_tiles.append(rows * cols)
                index += 1
            num_tiles.append(sample_tiles)
        return {"aspect_ratio_ids": ids, "aspect_ratio_mask": mask, "num_tiles": num_tiles}

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        # num_tiles stays a list of lists whatever return_tensors is, as in transformers.
        num_tiles = features.data.pop("num_tiles")
        features = super().finalize(features, params, backend)
        features.data["num_tiles"] = num_tiles
        return features
