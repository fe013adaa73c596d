"""Gemma3 (and ShieldGemma2, T5Gemma2): a square resize, optionally pan-and-scan crops of elongated images.

Each image becomes its views: the whole image, then (with ``do_pan_and_scan``) the crops of
:func:`~pixelprep.geometry_vlm.pan_and_scan`; every view is resized to ``size`` and all are stacked
into ``pixel_values`` (views, C, H, W), with ``num_crops`` per image.
"""

from __future__ import annotations

from typing import Any

from .. import geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..backends.base import RESAMPLE_NAMES
from ..errors import InvalidArgumentError
from ..multiview import MultiViewProcessor, StackViews, Views
from ..params import _positive_int, normalize_bool, normalize_positive_float
from ..processor import Resize
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD

#: What Gemma3Processor fills in for pan-and-scan settings a checkpoint leaves null (they all do).
PAN_AND_SCAN_DEFAULTS = {"pan_and_scan_min_crop_size": 256, "pan_and_scan_max_num_crops": 4, "pan_and_scan_min_ratio_to_activate": 1.2}


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


@register_family
class Gemma3ImageProcessor(MultiViewProcessor):
    """Gemma3: every view (the image, then its pan-and-scan crops) resized to ``size`` and stacked, with ``num_crops`` per image."""

    transformers_class = "Gemma3ImageProcessor"
    model_types = ("gemma3", "shieldgemma2", "t5gemma2", "t5gemma2_encoder")
    defaults = {
        "do_resize": True,
        "size": {"height": 224, "width": 224},
        "resample": 2,
        "default_to_square": True,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_convert_rgb": True,
        "do_pan_and_scan": None,
        "pan_and_scan_min_crop_size": None,
        "pan_and_scan_max_num_crops": None,
        "pan_and_scan_min_ratio_to_activate": None,
    }
    extra_params = {
        "do_pan_and_scan": normalize_bool,
        "pan_and_scan_min_crop_size": _optional_positive_int,
        "pan_and_scan_max_num_crops": _optional_positive_int,
        "pan_and_scan_min_ratio_to_activate": normalize_positive_float,
    }
    model_input_names = ["pixel_values", "num_crops"]

    def steps(self, params: dict[str, Any]) -> list[Any]:
        # Every view is resized on its own after the crops are cut (see split_views): nothing runs before.
        return []

    @staticmethod
    def pan_and_scan_settings(params: dict[str, Any]) -> tuple[int, int, float]:
        """(min crop size, max crops, min ratio) of the resolved ``params``, Gemma3Processor's defaults where unset."""
        return tuple(params.get(name) or default for name, default in PAN_AND_SCAN_DEFAULTS.items())  # type: ignore[return-value]

    def crop_boxes(self, height: int, width: int, params: dict[str, Any]) -> list[geometry_vlm.Box]:
        """Pan-and-scan windows (top, left, height, width) for an image of ``height`` x ``width``; none when it is off."""
        if not params.get("do_pan_and_scan"):
            return []
        return geometry_vlm.pan_and_scan(height, width, *self.pan_and_scan_settings(params))

    def view_resize(self, backend: Backend, params: dict[str, Any]) -> Resize | None:
        """The resize every view gets, or None.

        transformers' torchvision class resizes the views whenever pan-and-scan is on, even with
        do_resize=False; its pil class only with do_resize. Each of our backends follows its class.
        """
        resize = params.get("do_resize") or (params.get("do_pan_and_scan") and backend.name == "torchvision")
        if not resize:
            return None
        size = params.get("size")
        if not size or set(size) != {"height", "width"}:
            raise InvalidArgumentError(f"size must give 'height' and 'width' for {type(self).__name__}, got {size}")
        return Resize(size, params["resample"])

    def pan_and_scan(self, image: Any, pan_and_scan_min_crop_size: int, pan_and_scan_max_num_crops: int, pan_and_scan_min_ratio_to_activate: float) -> list[Any]:
        """The pipeline's pan-and-scan crops of a CHW image (or of every image of a BCHW batch at once), as transformers' ``pan_and_scan``;
        an empty list for an image not elongated enough."""
        if len(image.shape) not in (3, 4):
            raise InvalidArgumentError(f"pan_and_scan takes a CHW image or a BCHW batch, got shape {tuple(image.shape)}")
        min_crop = _positive_int(pan_and_scan_min_crop_size, "pan_and_scan_min_crop_size")
        max_crops = _positive_int(pan_and_scan_max_num_crops, "pan_and_scan_max_num_crops")
        min_ratio = normalize_positive_float(pan_and_scan_min_ratio_to_activate, "pan_and_scan_min_ratio_to_activate")
        boxes = geometry_vlm.pan_and_scan(*image.shape[-2:], min_crop, max_crops, min_ratio)
        # crops are views of the input, as there: a window is a slice on the last two axes
        return [image[..., top : top + height, left : left + width] for top, left, height, width in boxes]

    # transformers' torchvision class names it for the batch it takes
    pan_and_scan_batched = pan_and_scan

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        boxes = self.crop_boxes(*backend.size(image), params)
        views = [image] + [backend.crop(image, *box) for box in boxes]
        resize = self.view_resize(backend, params)
        if resize is not None:
            views = [resize.apply(backend, view) for view in views]
        return Views(views, meta={"num_crops": len(boxes)})

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        lines = []
        if params.get("do_pan_and_scan"):
            min_crop, max_crops, min_ratio = self.pan_and_scan_settings(params)
            lines.append(
                f"pan and scan: an image at least {min_ratio:g} times longer than wide is cut along its long side into 2..{max_crops} "
                f"crops of at least {min_crop} pixels; views = the image, then its crops; num_crops = crops per image"
            )
        size = params.get("size")
        if params.get("do_resize") and size:
            lines.append(f"resize every view to {size.get('height')}x{size.get('width')} {RESAMPLE_NAMES[params['resample']]}")
        elif params.get("do_pan_and_scan") and size:
            lines.append(f"resize every view to {size.get('height')}x{size.get('width')} on torchvision (as transformers' class does), none on pil")
        return lines

    def packer(self, params: dict[str, Any]) -> StackViews:
        return StackViews("pixel_values")

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ("num_crops",)

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Views (rows of ``pixel_values``) an image of ``height`` x ``width`` gives: 1 + its crops; ``images_kwargs`` as a call's."""
        params = self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})
        return 1 + len(self.crop_boxes(height, width, params))
