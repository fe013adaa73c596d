"""LFM2-VL: a small image resized to a token budget, a large one cut into square tiles plus a thumbnail; NaFlex-style patches.

An image whose size (rounded to whole ``encoder_patch_size * downsample_factor`` blocks) is over
``max_pixels_tolerance`` times the token budget is resized to the ``tile_size`` grid of
``min_tiles``..``max_tiles`` tiles closest to its aspect ratio and cut row-major, followed (with
``use_thumbnail``) by a thumbnail at the budget size; any other image is one view at the budget size
(LFM2's variant of :func:`~pixelprep.geometry_vlm.smart_resize`). Each view becomes ``(p, p, C)``
patch rows padded to ``max_num_patches`` (:class:`~pixelprep.multiview.PaddedPatches`), with the mask
and each view's patch grid. transformers has only a torchvision class; the pil backend runs the same
geometry with Pillow's resize.
"""

from __future__ import annotations

import functools
from typing import Any

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError, InvalidImageError
from ..multiview import MultiViewProcessor, PaddedPatches, PatchLayout, Views
from ..params import _positive_int, normalize_bool
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


def _optional_positive_float(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidArgumentError(f"{name} must be a positive number, got {value!r}")
    return float(value)


@functools.lru_cache(maxsize=64)
def tile_grids(min_tiles: int, max_tiles: int) -> list[tuple[int, int]]:
    """LFM2-VL's candidate (cols, rows) grids of ``min_tiles``..``max_tiles`` tiles, in the order transformers tries them.

    They are ordered by tile count; grids of equal count keep the order of a Python set of the
    tuples (deterministic for small ints), which decides ties of equal aspect difference.
    """
    grids = {(cols, rows) for count in range(min_tiles, max_tiles + 1) for cols in range(1, count + 1) for rows in range(1, count + 1)
             if min_tiles <= cols * rows <= max_tiles}
    return sorted(grids, key=lambda grid: grid[0] * grid[1])


@register_family
class Lfm2VlImageProcessor(MultiViewProcessor):
    """LFM2-VL: tiles plus a thumbnail for large images, one budget-sized view otherwise; patches padded to ``max_num_patches``."""

    transformers_class = "Lfm2VlImageProcessor"
    model_types = ("lfm2_vl",)
    defaults = {
        "do_resize": True,
        "size": {"height": 512, "width": 512},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_pad": True,
        "downsample_factor": 2,
        "do_image_splitting": True,
        "min_tiles": 2,
        "max_tiles": 10,
        "use_thumbnail": True,
        "min_image_tokens": 64,
        "max_image_tokens": 256,
        "encoder_patch_size": 16,
        "tile_size": 512,
        "max_pixels_tolerance": 2.0,
        "return_row_col_info": False,
    }
    extra_params = {
        "downsample_factor": _optional_positive_int,
        "do_image_splitting": normalize_bool,
        "min_tiles": _optional_positive_int,
        "max_tiles": _optional_positive_int,
        "use_thumbnail": normalize_bool,
        "min_image_tokens": _optional_positive_int,
        "max_image_tokens": _optional_positive_int,
        "encoder_patch_size": _optional_positive_int,
        "tile_size": _optional_positive_int,
        "max_pixels_tolerance": _optional_positive_float,
        "return_row_col_info": normalize_bool,
    }
    model_input_names = ["pixel_values", "pixel_attention_mask", "spatial_shapes"]

    # ------------------------------------------------------------------------------------- geometry

    @staticmethod
    def _tile_range(params: dict[str, Any]) -> tuple[int, int]:
        """(min_tiles, max_tiles) in effect: (1, 1) when splitting is off."""
        if not params.get("do_image_splitting"):
            return 1, 1
        if params["min_tiles"] > params["max_tiles"]:
            raise InvalidArgumentError(f"min_tiles ({params['min_tiles']}) must be at most max_tiles ({params['max_tiles']})")
        return params["min_tiles"], params["max_tiles"]

    @staticmethod
    def _budget(params: dict[str, Any], tokens: int) -> int:
        """Pixels of ``tokens`` image tokens (each a downsample_factor-square block of encoder patches)."""
        return tokens * params["encoder_patch_size"] ** 2 * params["downsample_factor"] ** 2

    def smart_resize(self, height: int, width: int, downsample_factor: int, min_image_tokens: int, max_image_tokens: int,
                     encoder_patch_size: int) -> tuple[int, int]:
        """(width, height) an image of ``height`` x ``width`` is resized to when it is one view, as transformers' ``smart_resize``
        (note the order): sides whole ``encoder_patch_size * downsample_factor`` blocks, the area within the token budget."""
        params = {"encoder_patch_size": encoder_patch_size, "downsample_factor": downsample_factor}
        new_height, new_width = geometry_vlm.smart_resize(
            height, width, encoder_patch_size * downsample_factor, self._budget(params, min_image_tokens), self._budget(params, max_image_tokens),
            max_aspect_ratio=None, round_at_least_factor=True,
        )
        return new_width, new_height

    def budget_size(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """(height, width) of the one view (or the thumbnail) of an image of ``height`` x ``width``."""
        new_width, new_height = self.smart_resize(height, width, params["downsample_factor"], params["min_image_tokens"],
                                                  params["max_image_tokens"], params["encoder_patch_size"])
        return new_height, new_width

    def is_too_large(self, height: int, width: int, params: dict[str, Any]) -> bool:
        """Whether an image is split into tiles: its size rounded to whole blocks (each side at least one patch) is over
        ``max_pixels_tolerance`` times the ``max_image_tokens`` budget."""
        patch, factor = params["encoder_patch_size"], params["encoder_patch_size"] * params["downsample_factor"]
        rounded_height = max(patch, round(height / factor) * factor)
        rounded_width = max(patch, round(width / factor) * factor)
        return rounded_height * rounded_width > self._budget(params, params["max_image_tokens"]) * params["max_pixels_tolerance"]

    def grid(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """(rows, cols) of tiles for an image of ``height`` x ``width``; (1, 1) for an image kept as one view."""
        min_tiles, max_tiles = self._tile_range(params)
        if min_tiles == max_tiles == 1 or not self.is_too_large(height, width, params):
            return 1, 1
        tile = params["tile_size"]
        return geometry_vlm.closest_ratio_grid(height, width, tile, tile, min_tiles, max_tiles, grids=tile_grids(min_tiles, max_tiles))

    def _tiled(self, height: int, width: int, params: dict[str, Any]) -> bool:
        min_tiles, max_tiles = self._tile_range(params)
        return not min_tiles == max_tiles == 1 and self.is_too_large(height, width, params)

    def view_sizes(self, height: int, width: int, params: dict[str, Any]) -> list[tuple[int, int]]:
        """(height, width) of each view of an image of ``height`` x ``width``, in output order."""
        if not self._tiled(height, width, params):
            return [self.budget_size(height, width, params)]
        rows, cols = self.grid(height, width, params)
        tile = params["tile_size"]
        sizes = [(tile, tile)] * (rows * cols)
        if params.get("use_thumbnail") and rows * cols != 1:
            sizes.append(self.budget_size(height, width, params))
        return sizes

    @property
    def max_num_patches(self) -> int:
        """Patch rows every view is padded to: the larger of the thumbnail budget and one tile (with splitting)."""
        return self._max_patches(self._params)

    @staticmethod
    def _max_patches(params: dict[str, Any]) -> int:
        tile_patches = (params["tile_size"] // params["encoder_patch_size"]) ** 2 if params.get("do_image_splitting") else 0
        return max(params["max_image_tokens"] * params["downsample_factor"] ** 2, tile_patches)

    # ---------------------------------------------------------------------------------------- views

    def steps(self, params: dict[str, Any]) -> list[Any]:
        # Every resize happens in split_views: tiles and thumbnail both come from the original image.
        return []

    def _resize(self, backend: Backend, image: Any, size: tuple[int, int], resample: int) -> Any:
        if backend.size(image) == size:
            return image
        geometry.check_output_size(*size, f"resizing a {'x'.join(map(str, backend.size(image)))} image gives an image")
        return backend.resize(image, size, resample)

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        height, width = backend.size(image)
        sizes = self.view_sizes(height, width, params)
        limit = self._max_patches(params)
        patch = params["encoder_patch_size"]
        for view_height, view_width in sizes:
            if params.get("do_pad") and (view_height // patch) * (view_width // patch) > limit:
                raise InvalidImageError(
                    f"an image of {height}x{width} is resized to {view_height}x{view_width}: {(view_height // patch) * (view_width // patch)} "
                    f"patches, over max_num_patches={limit} (its aspect ratio is too extreme for the max_image_tokens budget)"
                )
        rows, cols = self.grid(height, width, params)
        if rows * cols > 1 and params["tile_size"] % patch:
            raise InvalidArgumentError(
                f"tile_size ({params['tile_size']}) must be a multiple of encoder_patch_size ({patch}) to tile an image of {height}x{width}"
            )
        budget = self.budget_size(height, width, params)
        meta = {"image_rows": rows, "image_cols": cols, "image_sizes": budget}
        if not self._tiled(height, width, params):
            return Views([self._resize(backend, image, budget, params["resample"])], meta)
        tile = params["tile_size"]
        canvas = self._resize(backend, image, (rows * tile, cols * tile), params["resample"])
        views = [backend.crop(canvas, top, left, h, w) for top, left, h, w in geometry_vlm.tile_boxes(rows * tile, cols * tile, tile, tile)]
        if len(sizes) > len(views):
            views.append(self._resize(backend, image, budget, params["resample"]))
        return Views(views, meta)

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        min_tiles, max_tiles = self._tile_range(params)
        budget = (f"{params['min_image_tokens']}..{params['max_image_tokens']} tokens of "
                  f"{params['encoder_patch_size'] * params['downsample_factor']}x{params['encoder_patch_size'] * params['downsample_factor']} pixels")
        resample = RESAMPLE_NAMES[params["resample"]]
        lines = [f"small image: one view, resized ({resample}) to sides of whole tokens within {budget}, aspect kept"]
        if not min_tiles == max_tiles == 1:
            tile = params["tile_size"]
            thumbnail = ", then a thumbnail of the whole image at that budget size (last)" if params.get("use_thumbnail") else ""
            lines.append(
                f"image over {params['max_pixels_tolerance']:g}x the {params['max_image_tokens']}-token budget: resized ({resample}) to the grid "
                f"of {min_tiles}..{max_tiles} {tile}x{tile} tiles closest to its aspect ratio, tiles row-major{thumbnail}"
            )
        return lines

    def layout(self, params: dict[str, Any]) -> PatchLayout:
        """Square patches of ``encoder_patch_size``, vectors (p, p, C)."""
        return PatchLayout(params["encoder_patch_size"], channels_first=False)

    def packer(self, params: dict[str, Any]) -> PaddedPatches:
        return PaddedPatches(self.layout(params), self._max_patches(params), pad=bool(params.get("do_pad")))

    def can_split_batch(self, params: dict[str, Any]) -> bool:
        # An image may make several views (rows of the outputs): the runner processes images one at a time.
        return False

    # ------------------------------------------------------------------------------------- outputs

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ("image_rows", "image_cols", "image_sizes") if params.get("return_row_col_info") else ()

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        """``image_rows``, ``image_cols`` and ``image_sizes`` (the budget size) per image, as lists (arrays with return_tensors)."""
        return {key: [list(group.meta[key]) if key == "image_sizes" else group.meta[key] for group in views] for key in self.metadata_keys(params)}

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("return_row_col_info", None)
        out["max_num_patches"] = self.max_num_patches  # transformers saves the derived budget too
        return out

    # ------------------------------------------------------------------------------------- serving

    def _serving_params(self, images_kwargs: dict[str, Any] | None) -> dict[str, Any]:
        # Serving stacks pass their whole images_kwargs; read only what applies here, as transformers does.
        return self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Views (rows of ``pixel_values``) an image of ``height`` x ``width`` makes; ``images_kwargs`` overrides settings as a call would."""
        return len(self.view_sizes(height, width, self._serving_params(images_kwargs)))
