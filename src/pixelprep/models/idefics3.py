"""Idefics3 and SmolVLM: the long side resized to ``size``, then split into square tiles plus a global image.

Each image is resized so that its long side is ``size["longest_edge"]`` (up or down, the short side
made even), then to whole ``max_image_size`` tiles (:func:`~pixelprep.geometry_vlm.tile_grid_size`);
its views are the tiles row-major, then the whole image squashed to one tile, *last*. An image that
is a single tile is its only view. Views are padded per sample into ``(samples, max views, C, H, W)``
with ``pixel_attention_mask``; ``return_row_col_info=True`` adds each sample's per-image ``rows`` and
``cols`` as nested lists (as transformers does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..multiview import MultiViewProcessor, PaddedViews, RuleResize, Views
from ..params import _positive_int, normalize_bool, normalize_size
from ..processor import Resize
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


def _tile_size(value: Any, name: str) -> dict[str, int] | None:
    """``max_image_size``: ``{"longest_edge": n}`` (an int n is accepted for it)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"longest_edge": _positive_int(value, name)}
    size = normalize_size(value, name)
    if size is None or set(size) != {"longest_edge"}:
        raise InvalidArgumentError(f"{name} must be {{'longest_edge': n}} (the tile side), got {value!r}")
    return size


@dataclass(frozen=True)
class LongSideTo:
    """Resize so the long side is ``longest_edge`` (enlarging too), short side even, both under 4096 (Idefics3's first resize)."""

    longest_edge: int
    resample: int

    def target(self, height: int, width: int) -> tuple[int, int]:
        return geometry_vlm.long_side_to(height, width, self.longest_edge)

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = geometry.check_output_size(*self.target(height, width), f"resizing a {height}x{width} image gives an image")
        return image if target == (height, width) else backend.resize(image, target, self.resample)

    def describe(self) -> str:
        return (
            f"resize the long side to {self.longest_edge} (enlarging too), short side even, "
            f"both at most {geometry_vlm.IDEFICS3_MAX_SIDE} {RESAMPLE_NAMES[self.resample]}"
        )


def _squash(backend: Backend, image: Any, height: int, width: int, resample: int) -> Any:
    if backend.size(image) == (height, width):
        return image
    geometry.check_output_size(height, width, f"resizing a {'x'.join(map(str, backend.size(image)))} image gives an image")
    return backend.resize(image, (height, width), resample)


@register_family
class Idefics3ImageProcessor(MultiViewProcessor):
    """Idefics3: long side to ``size``, then ``max_image_size`` tiles row-major plus a global tile last, padded per sample."""

    transformers_class = "Idefics3ImageProcessor"
    model_types = ("idefics3",)
    defaults = {
        "do_resize": True,
        "size": {"longest_edge": 4 * 364},
        "resample": 1,  # LANCZOS
        "default_to_square": False,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_convert_rgb": True,
        "do_pad": True,
        "do_image_splitting": True,
        "max_image_size": {"longest_edge": 364},
        "return_row_col_info": False,
    }
    extra_params = {"do_image_splitting": normalize_bool, "max_image_size": _tile_size, "return_row_col_info": normalize_bool}
    model_input_names = ["pixel_values", "pixel_attention_mask"]

    # ------------------------------------------------------------------------------------- geometry

    @staticmethod
    def _tile(params: dict[str, Any]) -> int:
        tile = params.get("max_image_size")
        if not tile:
            raise InvalidArgumentError("max_image_size must be set, as {'longest_edge': n}")
        return tile["longest_edge"]

    def first_resize(self, params: dict[str, Any]) -> LongSideTo | Resize:
        """The resize step of ``size``: ``{"longest_edge": n}`` (the family's rule) or ``{"height", "width"}``."""
        size = params.get("size") or {}
        if set(size) == {"longest_edge"}:
            return LongSideTo(size["longest_edge"], params["resample"])
        if set(size) == {"height", "width"}:
            return Resize(size, params["resample"])
        raise InvalidArgumentError(f"size must be {{'longest_edge': n}} or {{'height': h, 'width': w}} for {type(self).__name__}, got {size}")

    def steps(self, params: dict[str, Any]) -> list[Any]:
        return [self.first_resize(params)] if params.get("do_resize") else []

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        tile, resample = self._tile(params), params["resample"]
        if not params.get("do_image_splitting"):
            return Views([_squash(backend, image, tile, tile, resample)], {"rows": 0, "cols": 0})
        height, width = geometry_vlm.tile_grid_size(*backend.size(image), tile)
        grid = _squash(backend, image, height, width, resample)
        rows, cols = geometry_vlm.tile_counts(height, width, tile)
        if rows == 0:
            return Views([grid], {"rows": 0, "cols": 0})
        tiles = [backend.crop(grid, r * tile, c * tile, tile, tile) for r in range(rows) for c in range(cols)]
        return Views([*tiles, _squash(backend, grid, tile, tile, resample)], {"rows": rows, "cols": cols})

    def resize_for_vision_encoder(self, image: Any, vision_encoder_max_size: int, resample: Any = None) -> Any:
        """A CHW image resized to the whole-tile grid the pipeline's split uses (sides multiples of ``vision_encoder_max_size``),
        as transformers' ``resize_for_vision_encoder``."""
        tile = _positive_int(vision_encoder_max_size, "vision_encoder_max_size")
        params = self._step_params({"resample": resample})
        rule = RuleResize(lambda height, width: geometry_vlm.tile_grid_size(height, width, tile), params["resample"], f"to whole {tile}x{tile} tiles")
        return self._run_steps(image, params, [rule])

    def split_images(self, images: Any, max_image_size: dict[str, int], resample: Any = None) -> tuple[Any, Any, Any]:
        """The pipeline's whole tiles of an image already on the tile grid, then the global view squashed to one tile, with the
        tile rows and columns, as transformers' ``split_images``: a CHW image gives (list of views, rows, cols); a BCHW batch
        (the torchvision class's form) gives ((B, views, C, H, W), [rows] * B, [cols] * B). An image within one tile is its only view."""
        import numpy as np

        from ..inputs import _array_to_hwc, _is_torch_tensor

        tile = _tile_size(max_image_size, "max_image_size")["longest_edge"]
        params = self._step_params({"resample": resample})
        backend = self._backend_for(None)
        is_torch = _is_torch_tensor(images)
        array = images if is_torch else np.asarray(images)
        if array.ndim not in (3, 4):
            raise InvalidArgumentError(f"split_images takes a CHW image or a BCHW batch, got shape {tuple(array.shape)}")
        height, width = array.shape[-2:]
        rows, cols = (height // tile, width // tile) if height > tile or width > tile else (0, 0)
        per_image = []
        for item in array if array.ndim == 4 else [array]:
            hwc = _array_to_hwc(item, "channels_first", "image")
            native = backend.from_canonical(hwc.contiguous() if is_torch else np.ascontiguousarray(hwc))
            views = [backend.crop(native, r * tile, c * tile, tile, tile) for r in range(rows) for c in range(cols)]
            views.append(_squash(backend, native, tile, tile, params["resample"]) if rows else native)
            per_image.append([np.moveaxis(backend.to_numpy(backend.realize(view)), -1, 0) for view in views])
        if array.ndim == 3:
            return per_image[0], rows, cols
        batch = np.stack([np.stack(views) for views in per_image])
        if is_torch:
            import torch

            batch = torch.from_numpy(batch).to(images.device)
        return batch, [rows] * len(per_image), [cols] * len(per_image)

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        tile = self._tile(params)
        if not params.get("do_image_splitting"):
            return [f"resize to {tile}x{tile} (one view per image, no splitting)"]
        return [
            f"resize to whole {tile}x{tile} tiles (long side rounded up, short side from it at the aspect, rounded up)",
            f"views: the {tile}x{tile} tiles row-major, then the whole image resized to {tile}x{tile} (global view, last); "
            "an image of one tile is its only view",
        ]

    def packer(self, params: dict[str, Any]) -> PaddedViews:
        return PaddedViews(pad=bool(params.get("do_pad")))

    # ------------------------------------------------------------------------------------- outputs

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        """``rows``/``cols`` per sample (nested lists, one number per image) when ``return_row_col_info``."""
        if not params.get("return_row_col_info"):
            return {}
        out: dict[str, Any] = {"rows": [], "cols": []}
        start = 0
        for count in samples:
            for key in ("rows", "cols"):
                out[key].append([group.meta[key] for group in views[start : start + count]])
            start += count
        return out

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        # transformers adds rows/cols after the tensor conversion: they stay nested Python lists.
        grid = {key: features.data.pop(key) for key in ("rows", "cols") if key in features.data}
        features = super().finalize(features, params, backend)
        features.data.update(grid)
        return features

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("return_row_col_info", None)  # a call option; transformers does not save it either
        return out

    # ------------------------------------------------------------------------------------- serving

    def _serving_params(self, images_kwargs: dict[str, Any] | None) -> dict[str, Any]:
        # Serving stacks pass their whole images_kwargs; read only what applies here, as transformers does.
        return self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})

    def get_rows_cols(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> tuple[int, int]:
        """(rows, cols) of tiles an image of ``height`` x ``width`` is split into ((0, 0): one view, no global image);
        what ``return_row_col_info`` reports for it."""
        params = self._serving_params(images_kwargs)
        if not params.get("do_image_splitting"):
            return 0, 0
        if params.get("do_resize"):
            step = self.first_resize(params)
            height, width = step.target(height, width) if isinstance(step, LongSideTo) else (step.size["height"], step.size["width"])
        tile = self._tile(params)
        return geometry_vlm.tile_counts(*geometry_vlm.tile_grid_size(height, width, tile), tile)

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> tuple[int, int, int]:
        """(views, rows, cols) for an image of ``height`` x ``width``: rows x cols tiles plus the global image, or (0, 0, 0)
        for an image kept as one view (transformers' convention); ``images_kwargs`` overrides settings as a call would."""
        rows, cols = self.get_rows_cols(height, width, images_kwargs)
        return (rows * cols + 1 if rows else 0), rows, cols


@register_family
class SmolVLMImageProcessor(Idefics3ImageProcessor):
    """SmolVLM: Idefics3's processor under its own name (checkpoints use 1536/384 or 2048/512)."""

    transformers_class = "SmolVLMImageProcessor"
    model_types = ("smolvlm",)
