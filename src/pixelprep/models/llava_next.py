"""LLaVA-NeXT (and LLaVA-NeXT-Video, Granite-4 Vision) and LLaVA-OneVision: "anyres" tiles plus a squashed base image.

Each image is fitted into the best of ``image_grid_pinpoints`` (:func:`~pixelprep.geometry_vlm.select_best_resolution`),
centred on it with zero padding and cut into crop-size tiles, row-major; a copy of the whole image squashed
to the model's square size goes first. Every view then gets the ordinary resize, center crop and
normalisation, and the views are stacked per image, images with fewer views padded with zero views.
LLaVA-OneVision makes the same views of an image alone in its sample; images of multi-image samples
are only padded to a square with the processor's mean colour.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError
from ..multiview import MultiViewProcessor, PadToSquare, Views, ViewsPerImage, nest_inputs
from ..params import _positive_int
from ..processor import CenterCrop, Resize
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from .llava import mean_fill, pad_to_square

Pinpoints = tuple[tuple[int, int], ...]


def normalize_pinpoints(value: Any, name: str) -> Pinpoints | None:
    """``image_grid_pinpoints`` as ((height, width), ...) of positive ints."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidArgumentError(f"{name} must be a non-empty list of [height, width] pairs, got {value!r}")
    pinpoints = []
    for i, pair in enumerate(value):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise InvalidArgumentError(f"{name}[{i}] must be a [height, width] pair, got {pair!r}")
        pinpoints.append((_positive_int(pair[0], f"{name}[{i}][0]"), _positive_int(pair[1], f"{name}[{i}][1]")))
    return tuple(pinpoints)


def _pinpoint_grid(start: int, stop: int, step: int) -> list[list[int]]:
    return [[height, width] for height in range(start, stop, step) for width in range(start, stop, step)]


@register_family
class LlavaNextImageProcessor(MultiViewProcessor):
    """LLaVA-NeXT: a squashed base image, then the tiles of the image fitted into its best pinpoint resolution."""

    transformers_class = "LlavaNextImageProcessor"
    model_types = ("llava_next", "llava_next_video", "granite4_vision")
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 224},
        "resample": 3,
        "default_to_square": False,
        "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "do_convert_rgb": True,
        "do_pad": True,
        "image_grid_pinpoints": [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]],
    }
    extra_params = {"image_grid_pinpoints": normalize_pinpoints}
    model_input_names = ["pixel_values", "image_sizes"]

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        # pinpoints are held as tuples; saved as JSON's lists so a saved config reloads to the same dict
        if out.get("image_grid_pinpoints"):
            out["image_grid_pinpoints"] = [list(pair) for pair in out["image_grid_pinpoints"]]
        return out

    # ---------------------------------------------------------------------------------- geometry

    def base_size(self, params: dict[str, Any]) -> tuple[int, int]:
        """The size the whole image is squashed to for the base view: ``size``'s height x width, else its shortest edge squared."""
        size = params.get("size") or {}
        if "height" in size:
            return size["height"], size["width"]
        if "shortest_edge" in size:
            return size["shortest_edge"], size["shortest_edge"]
        raise InvalidArgumentError(f"size must give 'height' and 'width' or 'shortest_edge' for {type(self).__name__}, got {size}")

    def tile_size(self, params: dict[str, Any]) -> int:
        """The tiles' side: crop_size's height (even with do_center_crop off), else size's height or shortest edge."""
        crop = params.get("crop_size")
        if crop:
            return crop["height"]
        return self.base_size(params)[0]

    def anyres_layout(self, height: int, width: int, params: dict[str, Any]) -> tuple[tuple[int, int], tuple[int, int], list[tuple[int, int, int, int]]]:
        """For an image of ``height`` x ``width``: the pinpoint chosen, the size the image is resized to inside it, and the tile boxes."""
        pinpoints = params.get("image_grid_pinpoints")
        if not pinpoints:
            raise InvalidArgumentError(f"image_grid_pinpoints must be set for {type(self).__name__}")
        best = geometry_vlm.select_best_resolution(height, width, pinpoints)
        fitted = geometry_vlm.fit_within(height, width, *best)
        side = self.tile_size(params)
        return best, fitted, geometry_vlm.tile_boxes(*best, side, side)

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Views (base image plus tiles) an image of ``height`` x ``width`` makes, before batch padding; ``images_kwargs`` as a call."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        return 1 + len(self.anyres_layout(height, width, params)[2])

    # ------------------------------------------------------------------------------------- views

    def steps(self, params: dict[str, Any]) -> list[Any]:
        # Nothing happens to the whole image first: the base view and the tiles both start from the original.
        return []

    def view_steps(self, params: dict[str, Any]) -> list[Any]:
        """What every view (base image and tiles) goes through before normalisation."""
        steps: list[Any] = []
        if params.get("do_resize"):
            steps.append(Resize(params["size"], params["resample"]))
        if params.get("do_center_crop"):
            crop = params.get("crop_size")
            if crop is None:
                raise InvalidArgumentError("do_center_crop is True but crop_size is not set")
            steps.append(CenterCrop(crop["height"], crop["width"]))
        return steps

    def anyres_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> list[Any]:
        """The squashed base image, then the tiles of the image fitted and zero-padded into its best pinpoint."""
        height, width = backend.size(image)
        best, fitted, boxes = self.anyres_layout(height, width, params)
        resized = image if fitted == (height, width) else backend.resize(image, fitted, params["resample"])
        padding = geometry_vlm.centered_padding(*fitted, *best)
        canvas = resized if not any(padding) else backend.pad(resized, *padding, 0)
        base_size = self.base_size(params)
        base = image if base_size == (height, width) else backend.resize(image, base_size, params["resample"])
        return [base] + [backend.crop(canvas, top, left, h, w) for top, left, h, w in boxes]

    def get_image_patches(self, image: Any, grid_pinpoints: Any, size: tuple[int, int], patch_size: int, resample: Any) -> list[Any]:
        """A CHW image's anyres views before the per-view resize: the image squashed to ``size``, then the
        ``patch_size`` tiles of its best pinpoint, as transformers' (pil) ``get_image_patches``."""
        import numpy as np

        from ..inputs import _array_to_hwc

        params = self._step_params(
            {
                "image_grid_pinpoints": grid_pinpoints,
                "size": {"height": size[0], "width": size[1]},
                "crop_size": {"height": patch_size, "width": patch_size},
                "resample": resample,
            }
        )
        backend = self._backend_for(None)
        array = np.asarray(image)
        if array.ndim != 3:
            raise InvalidArgumentError(f"get_image_patches takes one CHW image, got shape {array.shape}")
        native = backend.from_canonical(np.ascontiguousarray(_array_to_hwc(array, "channels_first", "image")))
        return [np.moveaxis(backend.to_numpy(backend.realize(view)), -1, 0) for view in self.anyres_views(backend, native, params)]

    def finish_views(self, backend: Backend, views: list[Any], params: dict[str, Any]) -> list[Any]:
        steps = self.view_steps(params)
        finished = []
        for view in views:
            for step in steps:
                view = step.apply(backend, view)
            finished.append(view)
        return finished

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        height, width = backend.size(image)
        return Views(self.finish_views(backend, self.anyres_views(backend, image, params), params), meta={"image_sizes": (height, width)})

    def nest(self, images: Any) -> list[list[Any]]:
        # Every image is processed on its own: a flat list is one image per row of the output.
        return nest_inputs(images, flat_list_is_one_sample=False)

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ("image_sizes",)

    def packer(self, params: dict[str, Any]) -> ViewsPerImage:
        return ViewsPerImage("pixel_values", pad=bool(params.get("do_pad")))

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        side = self.tile_size(params)
        base = "x".join(map(str, self.base_size(params)))
        pinpoints = params.get("image_grid_pinpoints") or ()
        lines = [
            f"views: the image squashed to {base} {RESAMPLE_NAMES[params['resample']]}, then {side}x{side} tiles, row-major, of the image "
            f"fitted (aspect kept) and zero-padded into the best of {len(pinpoints)} resolutions "
            f"({', '.join(f'{h}x{w}' for h, w in pinpoints[:6])}{', ...' if len(pinpoints) > 6 else ''})",
        ]
        lines += [f"each view: {step.describe()}" for step in self.view_steps(params)]
        return lines + ["image_sizes: each image's (height, width)"]


@register_family
class LlavaOnevisionImageProcessor(LlavaNextImageProcessor):
    """LLaVA-OneVision: LLaVA-NeXT's anyres views at 384, no crop; images of multi-image samples are padded to a square instead."""

    transformers_class = "LlavaOnevisionImageProcessor"
    model_types = ("llava_onevision",)
    defaults = {
        "size": {"height": 384, "width": 384},
        "do_center_crop": None,
        "crop_size": None,
        "image_grid_pinpoints": _pinpoint_grid(384, 2305, 384),
    }
    model_input_names = ["pixel_values", "image_sizes", "batch_num_images"]
    pad_to_square = pad_to_square

    def square_pad(self) -> PadToSquare:
        # transformers pads with the processor's own mean: a call-time image_mean does not change the colour
        return PadToSquare(mean_fill(self._params.get("image_mean")))

    def sample_views(self, backend: Backend, image: Any, params: dict[str, Any], images_in_sample: int) -> Views:
        if images_in_sample == 1:
            return self.split_views(backend, image, params)
        height, width = backend.size(image)
        padded = self.square_pad().apply(backend, image)
        return Views(self.finish_views(backend, [padded], params), meta={"image_sizes": (height, width)})

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        data = super().metadata(views, samples, params)
        data["batch_num_images"] = np.array(samples, dtype=np.int64)
        return data

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        lines = super().describe_views(params)
        pad = f"images of multi-image samples: no tiles, {self.square_pad().describe()} (the processor's own mean, whatever the call's)"
        return lines[:1] + [pad] + lines[1:] + [
            "batch_num_images: images per sample"
        ]
