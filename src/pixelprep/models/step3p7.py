"""Step3p7 (Step-3.7-Flash): a square global view plus sliding-window local crops of an aspect-adapted size.

Per image (:func:`~pixelprep.geometry_vlm.sliding_window_plan`): near-degenerate images are zero-padded
bottom/right to a square, the global view is resized to the capped size then to ``size`` (728²), and,
unless the image fits the global view, the image is resized to sides snapped to window multiples and cut
row-major into windows, each resized to ``patch_size`` (504²). Outputs: ``pixel_values`` (images, C, 728,
728), ``num_local_patches``, and where any image has crops ``pixel_values_local`` (all crops, C, 504, 504)
with ``patch_newline_masks`` (per image, a list of bools, True after each row but the last, padded to the
most crops). transformers has only a torchvision class; the pil backend runs the same geometry with Pillow.
A call-time ``max_image_size`` is honoured (transformers' class accepts it and reads only the instance's).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..multiview import MultiViewProcessor, StackViews, Views, ViewWriter
from ..params import _positive_int
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

_MASKS = "patch_newline_masks"


class GlobalAndLocalViews:
    """The first view of each image stacked into ``pixel_values``, the rest (crops) into ``pixel_values_local`` when there are any."""

    def pack(self, backend: Backend, views: list[Views], samples: list[int], write: ViewWriter) -> dict[str, Any]:
        data = StackViews("pixel_values").pack(backend, [Views(v.images[:1]) for v in views], samples, write)
        crops = [Views(v.images[1:]) for v in views if len(v.images) > 1]
        if crops:
            data.update(StackViews("pixel_values_local").pack(backend, crops, samples, write))
        return data

    def describe(self) -> list[str]:
        return [
            "stack the global views into pixel_values (images, C, H, W) and the crops into pixel_values_local (crops, C, h, w)"
            " + num_local_patches (crops per image) + patch_newline_masks (True after each row of crops but the last)"
        ]


@register_family
class Step3p7ImageProcessor(MultiViewProcessor):
    """Step3p7: a 728² global view and 504² sliding-window crops; ``num_local_patches`` and ``patch_newline_masks``."""

    transformers_class = "Step3p7ImageProcessor"
    model_types = ("step3p7",)
    defaults = {
        "size": {"height": 728, "width": 728},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "do_convert_rgb": True,
        "patch_size": 504,
        "max_image_size": 3024,
    }
    extra_params = {"patch_size": _positive_int, "max_image_size": _positive_int}
    model_input_names = ["pixel_values", "pixel_values_local", "num_local_patches"]
    #: the vision tower's patch and downsampling stride, which Step3p7's text processor reads for its token counts
    vision_patch_size: ClassVar[int] = 14
    downsampler_stride: ClassVar[int] = 4

    def image_size(self, params: dict[str, Any]) -> int:
        """The global view's side: ``size["height"]``."""
        size = params.get("size") or {}
        if not size.get("height"):
            raise InvalidArgumentError(f"size must give 'height' (the global view's side) for Step3p7ImageProcessor, got {size}")
        return size["height"]

    def plan(self, height: int, width: int, params: dict[str, Any]) -> tuple[Any, ...]:
        """:func:`~pixelprep.geometry_vlm.sliding_window_plan` for an image of ``height`` x ``width`` under ``params``."""
        return geometry_vlm.sliding_window_plan(height, width, self.image_size(params), params["patch_size"], params["max_image_size"])

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Local crops an image of ``height`` x ``width`` gives (the global view not counted); ``images_kwargs`` as a call."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        rows, cols = self.plan(height, width, params)[3]
        return rows * cols

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """No steps before the views; refuses do_resize=False, which transformers' class ignores (its views are always resized)."""
        if params.get("do_resize") is False:
            raise InvalidArgumentError(
                "do_resize=False is not supported by Step3p7ImageProcessor: the global view is always resized to size and each crop to patch_size"
            )
        self.image_size(params)
        return []

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        height, width = backend.size(image)
        global_size, crop_size, window, (rows, cols), pad = self.plan(height, width, params)
        side, resample, patch = self.image_size(params), params["resample"], params["patch_size"]
        for target in ((side, side), (patch, patch), crop_size):
            geometry.check_output_size(*target, f"a view of the {height}x{width} image")
        # a long thin image gets up to max_image_size one-pixel windows, each enlarged to patch_size: refuse the stack before making it
        geometry.check_output_size(rows * cols * patch, patch, f"the {rows}x{cols} crops of the {height}x{width} image, stacked,")
        if pad:
            square = max(height, width)
            image = backend.pad(image, 0, square - height, 0, square - width, 0)
        whole = backend.resize(backend.resize(image, global_size, resample), (side, side), resample)
        if not window:
            return Views([whole], meta={"rows": 0, "cols": 0})
        cropped = backend.resize(image, crop_size, resample)
        crops = [
            backend.resize(backend.crop(cropped, top, left, min(window, crop_size[0] - top), min(window, crop_size[1] - left)), (patch, patch), resample)
            for top in range(0, crop_size[0], window)
            for left in range(0, crop_size[1], window)
        ]
        return Views([whole, *crops], meta={"rows": rows, "cols": cols})

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        side, patch = self.image_size(params), params["patch_size"]
        return [
            f"global view: zero-pad near-degenerate images (a side under 32, ratio over 4) to a square, cap the long side at "
            f"{params['max_image_size']}, resize to {side}x{side}",
            f"local crops: unless the long side fits {side} with an aspect ratio up to 1.5, resize to window multiples and cut "
            f"row-major into {patch}-pixel windows (the short side for elongated images), each resized to {patch}x{patch}",
        ]

    def packer(self, params: dict[str, Any]) -> GlobalAndLocalViews:
        return GlobalAndLocalViews()

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        counts = [len(group.images) - 1 for group in views]
        data: dict[str, Any] = {"num_local_patches": np.array(counts, dtype=np.int64)}
        if max(counts, default=0):
            masks = [[col == g.meta["cols"] - 1 and row < g.meta["rows"] - 1 for row in range(g.meta["rows"]) for col in range(g.meta["cols"])] for g in views]
            data[_MASKS] = [mask + [False] * (max(counts) - len(mask)) for mask in masks]
        return data

    def can_split_batch(self, params: dict[str, Any]) -> bool:
        return True

    def split_batch(self, outputs: Any, count: int) -> list[dict[str, Any]]:
        """Each image's outputs as that image alone gives them: its global view, its crops, and its mask unpadded (none without crops)."""
        if count == 1:
            return [dict(outputs)]
        counts = [int(n) for n in outputs["num_local_patches"]]
        offsets = np.concatenate([[0], np.cumsum(counts)]).tolist()
        rows = []
        for i, crops in enumerate(counts):
            row = {"pixel_values": outputs["pixel_values"][i : i + 1], "num_local_patches": outputs["num_local_patches"][i : i + 1]}
            if crops:
                row["pixel_values_local"] = outputs["pixel_values_local"][offsets[i] : offsets[i + 1]]
                row[_MASKS] = [outputs[_MASKS][i][:crops]]
            rows.append(row)
        return rows

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """The masks stay plain lists of bools whatever ``return_tensors`` is, and without ``return_tensors`` the counts are a
        list of ints, as transformers' class leaves them."""
        masks = features.data.pop(_MASKS, None)
        features = super().finalize(features, params, backend)
        if params.get("return_tensors") is None:
            features.data["num_local_patches"] = [int(n) for n in features.data["num_local_patches"]]
        if masks is not None:
            features.data[_MASKS] = masks
        return features
