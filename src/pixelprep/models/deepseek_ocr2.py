"""DeepSeek-OCR2: a padded global view of every image, plus local tiles for images larger than one tile.

Every image gives a global view: its long side resized to ``size`` (``tile_size`` without
``crop_to_patches``), the short side with Python ``round``, then centred on a square filled with
``background_color`` (before normalize). With ``crop_to_patches``, an image whose long side exceeds
``tile_size`` is also resized to the ``min_patches``..``max_patches`` grid of ``tile_size`` tiles
closest to its aspect ratio and cut row-major into local tiles. Global views are stacked into
``pixel_values``, every image's local tiles into ``pixel_values_local`` (present only when there are
any), with ``num_local_patches`` per image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError, InvalidImageError
from ..features import BatchFeature
from ..multiview import MultiViewProcessor, PadToSquare, StackViews, ViewWriter, Views
from ..params import _positive_int, normalize_bool
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD
from .llava import pad_to_square


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


def _background_color(value: Any, name: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    values = (value,) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(values, (list, tuple)) or not values or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values):
        raise InvalidArgumentError(f"{name} must be an int or a list of ints in 0..255, got {value!r}")
    return tuple(values)


@dataclass(frozen=True)
class GlobalAndLocalViews:
    """Each image's last view (its global view) stacked into ``key``, the views before it (local tiles) into ``local_key``
    (left out when no image has any), with ``count_key`` = local views per image."""

    key: str = "pixel_values"
    local_key: str = "pixel_values_local"
    count_key: str = "num_local_patches"

    def pack(self, backend: Backend, views: list[Views], samples: list[int], write: ViewWriter) -> dict[str, Any]:
        globals_ = [Views(group.images[-1:], normalized=group.normalized) for group in views]
        locals_ = [Views(group.images[:-1], normalized=group.normalized) for group in views]
        data = StackViews(self.key).pack(backend, globals_, samples, write)
        if any(group.images for group in locals_):
            data.update(StackViews(self.local_key).pack(backend, [group for group in locals_ if group.images], samples, write))
        data[self.count_key] = np.array([len(group.images) for group in locals_], dtype=np.int64)
        return data

    def describe(self) -> list[str]:
        return [f"stack the global views into {self.key} (images, C, S, S), every local tile into {self.local_key} (tiles, C, T, T), "
                f"+ {self.count_key} (tiles per image)"]


@register_family
class DeepseekOcr2ImageProcessor(MultiViewProcessor):
    """DeepSeek-OCR2: a global view padded to a square of ``size``, plus ``tile_size`` local tiles for large images."""

    transformers_class = "DeepseekOcr2ImageProcessor"
    model_types = ("deepseek_ocr2",)
    defaults = {
        "do_resize": True,
        "size": {"height": 1024, "width": 1024},
        "resample": 3,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_convert_rgb": True,
        "crop_to_patches": True,
        "min_patches": 2,
        "max_patches": 6,
        "tile_size": 768,
        "background_color": (127, 127, 127),
    }
    extra_params = {
        "crop_to_patches": normalize_bool,
        "min_patches": _optional_positive_int,
        "max_patches": _optional_positive_int,
        "tile_size": _optional_positive_int,
        "background_color": _background_color,
    }
    model_input_names = ["pixel_values", "num_local_patches"]
    pad_to_square = pad_to_square  # the global view's pad as a single step, as LLaVA's

    # ---------------------------------------------------------------------------------- geometry

    @staticmethod
    def global_side(params: dict[str, Any]) -> int:
        """The global view's square side: ``size``'s height with ``crop_to_patches``, else ``tile_size``."""
        if not params.get("crop_to_patches"):
            return params["tile_size"]
        size = params.get("size") or {}
        if "height" not in size:
            raise InvalidArgumentError(f"size must give 'height' and 'width' (the global view) for DeepseekOcr2ImageProcessor, got {size}")
        return size["height"]

    def global_size(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """(height, width) of an image's global view before padding: long side to the global side, short side rounded."""
        side = self.global_side(params)
        new_height, new_width = geometry_vlm.long_side_fit(height, width, side, 0)
        if min(new_height, new_width) < 1:
            raise InvalidImageError(
                f"an image of {height}x{width} resized to a long side of {side} keeps no pixel on its short side; its aspect ratio is too extreme"
            )
        return new_height, new_width

    def grid(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """(rows, cols) of local tiles for an image of ``height`` x ``width``; (0, 0) when it gets none."""
        tile = params["tile_size"]
        if not params.get("crop_to_patches") or max(height, width) <= tile:
            return 0, 0
        return geometry_vlm.closest_ratio_grid(height, width, tile, tile, params["min_patches"], params["max_patches"])

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Views an image of ``height`` x ``width`` makes: the global view plus its local tiles; ``images_kwargs`` as a call.

        This is the torchvision class's answer (the pipeline's count on both backends); transformers' pil class
        counts from ``size`` instead of ``tile_size`` and disagrees with its own output (README).
        """
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        rows, cols = self.grid(height, width, params)
        return 1 + rows * cols

    # ------------------------------------------------------------------------------------- views

    def steps(self, params: dict[str, Any]) -> list[Any]:
        return []  # the tiles and the global view both come from the original image

    def _resize(self, backend: Backend, image: Any, size: tuple[int, int], resample: int) -> Any:
        if backend.size(image) == size:
            return image
        geometry.check_output_size(*size, f"resizing a {'x'.join(map(str, backend.size(image)))} image gives an image")
        return backend.resize(image, size, resample)

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        height, width = backend.size(image)
        rows, cols = self.grid(height, width, params)
        views = []
        if rows:
            tile = params["tile_size"]
            canvas = self._resize(backend, image, (rows * tile, cols * tile), params["resample"])
            views = [backend.crop(canvas, top, left, h, w) for top, left, h, w in geometry_vlm.tile_boxes(rows * tile, cols * tile, tile, tile)]
        views.append(self.global_view(backend, image, params))
        return Views(views, {"grid": (cols, rows) if rows else (1, 1)})

    def global_view(self, backend: Backend, image: Any, params: dict[str, Any]) -> Any:
        """The image's global view: resized to :meth:`global_size`, centred on a square of ``background_color``."""
        resized = self._resize(backend, image, self.global_size(*backend.size(image), params), params["resample"])
        return PadToSquare(params["background_color"]).apply(backend, resized)

    def ignores_call_background_color(self) -> bool:
        """Whether a call-time ``background_color`` is ignored: as transformers' torchvision class (the pil class uses it)."""
        return self.backend_name == "torchvision"

    def resolve(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """A call-time ``background_color`` is ignored where transformers' class ignores it (:meth:`ignores_call_background_color`)."""
        params = super().resolve(overrides)
        if self.ignores_call_background_color() and overrides and overrides.get("background_color") is not None:
            params = {**params, "background_color": self._params["background_color"]}
        return params

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        tile, resample = params["tile_size"], RESAMPLE_NAMES[params["resample"]]
        lines = []
        if params.get("crop_to_patches"):
            lines.append(
                f"local views (images with a side over {tile}): {tile}x{tile} tiles, row-major, of the image resized ({resample}) to the grid "
                f"of {params['min_patches']}..{params['max_patches']} tiles closest to its aspect ratio"
            )
        return [*lines, self.describe_global_view(params)]

    def describe_global_view(self, params: dict[str, Any]) -> str:
        side, resample = self.global_side(params), RESAMPLE_NAMES[params["resample"]]
        return f"global view: long side resized ({resample}) to {side}, then centred on a {side}x{side} square of {params['background_color']}"

    def packer(self, params: dict[str, Any]) -> GlobalAndLocalViews:
        return GlobalAndLocalViews()

    def can_split_batch(self, params: dict[str, Any]) -> bool:
        return False  # local tiles of every image share one output: the runner processes images one at a time

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        # Without return_tensors transformers returns lists: a view per entry, the counts as ints.
        if params.get("return_tensors") is None:
            for key in ("pixel_values", "pixel_values_local"):
                if key in features.data:
                    features.data[key] = list(features.data[key])
            features.data["num_local_patches"] = [int(n) for n in features.data["num_local_patches"]]
        return super().finalize(features, params, backend)
