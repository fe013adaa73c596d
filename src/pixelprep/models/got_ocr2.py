"""GOT-OCR2 (and InternVL, Aya Vision, Qianfan-OCR) and Cohere2-Vision: a tile grid matched to the image's aspect ratio.

With ``crop_to_patches`` the image is resized to a grid of ``size`` tiles, cut row-major, and, when
there is more than one tile, followed by a thumbnail of the whole image at ``size``; without it the
image is simply resized to ``size``. Every view of every image is stacked into one
``(views, C, H, W)`` tensor, with ``num_patches`` giving the views per image. The two families differ
only in the grid rule: the closest aspect ratio within ``min_patches``..``max_patches`` tiles
(:func:`~pixelprep.geometry_vlm.closest_ratio_grid`), or Cohere2-Vision's least upscaling
(:func:`~pixelprep.geometry_vlm.least_upscale_grid`).
"""

from __future__ import annotations

from typing import Any

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError
from ..multiview import MultiViewProcessor, StackViews, Views
from ..params import _positive_int, normalize_bool
from ..processor import Resize
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


@register_family
class GotOcr2ImageProcessor(MultiViewProcessor):
    """GOT-OCR2 / InternVL: optional tiles in the grid closest to the image's aspect ratio plus a thumbnail; views stacked with ``num_patches``."""

    transformers_class = "GotOcr2ImageProcessor"
    model_types = ("got_ocr2", "internvl", "aya_vision", "qianfan_ocr")
    defaults = {
        "do_resize": True,
        "size": {"height": 384, "width": 384},
        "resample": 3,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "do_convert_rgb": True,
        "crop_to_patches": False,
        "min_patches": 1,
        "max_patches": 12,
    }
    extra_params = {"crop_to_patches": normalize_bool, "min_patches": _optional_positive_int, "max_patches": _optional_positive_int}
    model_input_names = ["pixel_values"]  # as transformers: num_patches is for the processor, not the model

    # ---------------------------------------------------------------------------------- geometry

    def tile_size(self, params: dict[str, Any]) -> tuple[int, int]:
        """(height, width) of a tile and of the thumbnail: ``size``, which must give height and width when tiling."""
        size = params.get("size") or {}
        if "height" not in size:
            raise InvalidArgumentError(f"size must give 'height' and 'width' (the tile size) for {type(self).__name__} with crop_to_patches, got {size}")
        return size["height"], size["width"]

    def grid(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        """(rows, cols) of tiles for an image of ``height`` x ``width``."""
        return geometry_vlm.closest_ratio_grid(height, width, *self.tile_size(params), params["min_patches"], params["max_patches"])

    def describe_grid(self, params: dict[str, Any]) -> str:
        return f"the grid of {params['min_patches']}..{params['max_patches']} tiles whose aspect ratio is closest to the image's"

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Views (tiles, plus the thumbnail when there are several) an image of ``height`` x ``width`` makes; ``images_kwargs`` as a call.

        As in transformers, ``images_kwargs["patch_size"]`` is the tile size here (it wins over ``size``,
        which transformers ignores but a call would use).
        """
        kwargs = dict(images_kwargs or {})
        if "patch_size" in kwargs:
            kwargs["size"] = kwargs.pop("patch_size")
        params = self.resolve({k: v for k, v in kwargs.items() if k in self.param_names()})
        if not params.get("crop_to_patches"):
            return 1
        rows, cols = self.grid(height, width, params)
        return 1 if rows * cols == 1 else rows * cols + 1

    # ------------------------------------------------------------------------------------- views

    def steps(self, params: dict[str, Any]) -> list[Any]:
        # The resize to size happens per view in split_views, after tiling (tiles come from the original image).
        return []

    def tile_views(self, backend: Backend, image: Any, params: dict[str, Any], use_thumbnail: bool = True) -> list[Any]:
        """The tiles of ``image`` resized to its grid, row-major, then (with several tiles and ``use_thumbnail``) the thumbnail."""
        height, width = backend.size(image)
        tile_h, tile_w = self.tile_size(params)
        rows, cols = self.grid(height, width, params)
        target = geometry.check_output_size(rows * tile_h, cols * tile_w, f"tiling a {height}x{width} image gives an image")
        canvas = image if target == (height, width) else backend.resize(image, target, params["resample"])
        views = [backend.crop(canvas, top, left, h, w) for top, left, h, w in geometry_vlm.tile_boxes(*target, tile_h, tile_w)]
        if use_thumbnail and len(views) > 1:
            views.append(image if (tile_h, tile_w) == (height, width) else backend.resize(image, (tile_h, tile_w), params["resample"]))
        return views

    def crop_image_to_patches(
        self, images: Any, min_patches: int, max_patches: int, use_thumbnail: bool = True, patch_size: Any = None, resample: Any = None
    ) -> Any:
        """The pipeline's tiles (and thumbnail) of a CHW image as a list, or of a BCHW batch as one (B, views, C, H, W) array,
        as transformers' ``crop_image_to_patches``; ``patch_size`` (height/width) is the tile, ``size`` by default."""
        tile = self._params["size"] if patch_size is None else {"height": patch_size["height"], "width": patch_size["width"]}
        params = self._step_params({"size": tile, "min_patches": min_patches, "max_patches": max_patches, "resample": resample})
        return self._tile_arrays(images, params, use_thumbnail)

    def _tile_arrays(self, images: Any, params: dict[str, Any], use_thumbnail: bool) -> Any:
        """:meth:`tile_views` of a CHW image (a list of CHW arrays) or a BCHW batch (one (B, views, C, H, W) array), same array type."""
        import numpy as np

        from ..inputs import _array_to_hwc, _is_torch_tensor

        backend = self._backend_for(None)
        is_torch = _is_torch_tensor(images)
        array = images if is_torch else np.asarray(images)
        if array.ndim not in (3, 4):
            raise InvalidArgumentError(f"crop_image_to_patches takes a CHW image or a BCHW batch, got shape {tuple(array.shape)}")
        per_image = []
        for item in array if array.ndim == 4 else [array]:
            hwc = _array_to_hwc(item, "channels_first", "image")
            native = backend.from_canonical(hwc.contiguous() if is_torch else np.ascontiguousarray(hwc))
            per_image.append([np.moveaxis(backend.to_numpy(backend.realize(view)), -1, 0) for view in self.tile_views(backend, native, params, use_thumbnail)])
        if array.ndim == 3:
            return per_image[0]
        batch = np.stack([np.stack(views) for views in per_image])
        if is_torch:
            import torch

            return torch.from_numpy(batch).to(images.device)
        return batch

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        views = self.tile_views(backend, image, params) if params.get("crop_to_patches") else [image]
        if params.get("do_resize"):
            if params.get("size") is None:
                raise InvalidArgumentError("do_resize is True but size is not set")
            resize = Resize(params["size"], params["resample"])
            views = [resize.apply(backend, view) for view in views]
        return Views(views)

    def packer(self, params: dict[str, Any]) -> StackViews:
        return StackViews("pixel_values", count_key="num_patches")

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        lines = []
        if params.get("crop_to_patches"):
            tile = "x".join(map(str, self.tile_size(params)))
            lines.append(
                f"views: {tile} tiles, row-major, of the image resized ({RESAMPLE_NAMES[params['resample']]}) to {self.describe_grid(params)}; "
                f"then, when there are several tiles, a {tile} thumbnail of the whole image"
            )
        if params.get("do_resize") and params.get("size") is not None:
            lines.append(f"each view: {Resize(params['size'], params['resample']).describe()}")
        return lines


@register_family
class Cohere2VisionImageProcessor(GotOcr2ImageProcessor):
    """Cohere2-Vision (Command A Vision): GOT-OCR2's views at 512 with tiling on, the grid chosen to need the least upscaling."""

    transformers_class = "Cohere2VisionImageProcessor"
    model_types = ("cohere2_vision",)
    defaults = {"size": {"height": 512, "width": 512}, "crop_to_patches": True, "patch_size": 16}
    # patch_size is the vision tower's patch, kept for the config file; it does not change the pixels.
    extra_params = {"patch_size": _optional_positive_int}

    def grid(self, height: int, width: int, params: dict[str, Any]) -> tuple[int, int]:
        tile_h, _ = self.tile_size(params)  # transformers assumes square tiles and uses the height for both sides
        return geometry_vlm.least_upscale_grid(height, width, tile_h, params["max_patches"])

    def describe_grid(self, params: dict[str, Any]) -> str:
        return f"the grid of up to {params['max_patches']} tiles that needs the least upscaling"
