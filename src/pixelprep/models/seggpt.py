"""SegGPT (in-context segmentation): images, prompt images and prompt masks, each squashed to 448x448; masks coloured by a palette.

``proc(images, prompt_images=..., prompt_masks=...)`` (any of the three) gives ``pixel_values``,
``prompt_pixel_values`` and ``prompt_masks``. Prompt masks are label maps made RGB (a palette of
``num_labels + 1`` colours, or the label repeated on three channels) and resized nearest-neighbour;
with ``do_convert_rgb=False`` they are taken as RGB images already.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..auto import register_family
from ..backends.base import NEAREST
from ..errors import InvalidArgumentError, InvalidImageError
from ..features import BatchFeature
from ..inputs import flatten_inputs
from ..params import COMMON_PARAMS
from ..processor import ImageProcessor
from ..segmentation import back, load_label_map, output_field, size_list, to_torch
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD


def seggpt_palette(num_labels: int) -> list[tuple[int, int, int]]:
    """Black for the background, then ``num_labels`` colours stepping down from white on a cube of ``int(n ** (1/3)) + 1`` levels."""
    levels = int(num_labels ** (1 / 3)) + 1
    step = 256 // levels
    colours = [(0, 0, 0)]
    for index in range(num_labels):
        red, green, blue = index // levels**2, index % levels**2 // levels, index % levels
        colours.append((255 - red * step, 255 - green * step, 255 - blue * step))
    return colours


def mask_to_rgb_hwc(mask: np.ndarray, palette: list[tuple[int, int, int]] | None, index: int = 0) -> np.ndarray:
    """A label map (H, W) as an (H, W, 3) image: each label's palette colour, or the label on three channels without a palette."""
    if palette is None:
        rgb = np.repeat(mask[:, :, None], 3, axis=-1)
        return rgb if rgb.dtype == np.uint8 else rgb.astype(np.float32)
    labels = np.unique(mask)
    if labels.min() < 0 or labels.max() >= len(palette):
        raise InvalidImageError(f"prompt mask {index} has label {int(labels.max() if labels.max() >= len(palette) else labels.min())}; with num_labels={len(palette) - 1} labels go from 0 to {len(palette) - 1}")
    return np.asarray(palette, np.uint8)[mask.astype(np.int64)]


@register_family
class SegGptImageProcessor(ImageProcessor):
    """SegGPT."""

    transformers_class = "SegGptImageProcessor"
    model_types = ("seggpt",)
    defaults = {
        "do_resize": True,
        "size": {"height": 448, "width": 448},
        "resample": 3,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
        "do_convert_rgb": True,
        "num_labels": None,
    }
    extra_params = {"num_labels": COMMON_PARAMS["size_divisor"]}  # a positive int or None

    def __call__(self, images: Any = None, prompt_images: Any = None, prompt_masks: Any = None, **kwargs: Any) -> BatchFeature:
        """Preprocess images, prompt images and prompt masks (at least one of them)."""
        return self.preprocess(images, prompt_images, prompt_masks, **kwargs)

    def preprocess(self, images: Any = None, prompt_images: Any = None, prompt_masks: Any = None, **kwargs: Any) -> BatchFeature:
        """Same as calling the processor."""
        if images is None and prompt_images is None and prompt_masks is None:
            raise InvalidArgumentError("SegGPT needs images, prompt_images or prompt_masks: pass at least one")
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        data: dict[str, Any] = {}
        for key, given in (("pixel_values", images), ("prompt_pixel_values", prompt_images)):
            if given is not None:
                data[key] = self.process_images(given, params, backend)["pixel_values"]
        if prompt_masks is not None:
            masks = self._masks_as_images(prompt_masks, params)
            data["prompt_masks"] = self.process_images(masks, dict(params, resample=NEAREST, input_data_format="channels_last"), backend)["pixel_values"]
        return self.finalize(BatchFeature(data), params, backend)

    def _masks_as_images(self, prompt_masks: Any, params: dict[str, Any]) -> Any:
        """Label maps as HWC RGB arrays (with ``do_convert_rgb``), or the masks as given (already RGB)."""
        if not params.get("do_convert_rgb"):
            return prompt_masks
        palette = self.get_palette(params["num_labels"]) if params.get("num_labels") else None
        return [mask_to_rgb_hwc(load_label_map(item), palette, index) for index, item in enumerate(flatten_inputs(prompt_masks))]

    def get_palette(self, num_labels: int) -> list[tuple[int, int, int]]:
        """The ``num_labels + 1`` colours prompt masks are drawn with (black is label 0, the background)."""
        return seggpt_palette(num_labels)

    def mask_to_rgb(self, mask: np.ndarray, palette: list[tuple[int, int, int]] | None = None) -> np.ndarray:
        """A label map ((H, W) or (1, H, W)) as a (3, H, W) image, as transformers' ``mask_to_rgb``."""
        return np.moveaxis(mask_to_rgb_hwc(load_label_map(mask), palette), -1, 0)

    def describe_finalize(self, params: dict[str, Any]) -> list[str]:
        """How prompt masks differ from images."""
        colours = f"a palette of {params['num_labels'] + 1} colours" if params.get("num_labels") else "the label on 3 channels"
        made = f"label maps drawn with {colours}, " if params.get("do_convert_rgb") else ""
        return [f"prompt_masks: {made}resized nearest"]

    def post_process_semantic_segmentation(
        self, outputs: Any, target_sizes: Any = None, num_labels: int | None = None, return_segmentation_scores: bool = False
    ) -> list[Any]:
        """Class ids per pixel from the predicted lower half of ``pred_masks``: un-normalised to 0-255, resized nearest to each
        target size, then the nearest palette colour (with ``num_labels``) or the channel mean."""
        import torch
        import torch.nn.functional as F

        masks, numpy_in = to_torch(output_field(outputs, "pred_masks"))
        sizes = size_list(target_sizes)
        if sizes is not None and len(sizes) != len(masks):
            raise InvalidArgumentError(f"got {len(sizes)} target sizes for a batch of {len(masks)} masks")
        masks = masks[:, :, masks.shape[2] // 2 :, :]  # the prompt and the prediction are stacked in height
        std = torch.tensor(self.image_std).to(masks.device)
        mean = torch.tensor(self.image_mean).to(masks.device)
        masks = torch.clip((masks.permute(0, 2, 3, 1) * std + mean).permute(0, 3, 1, 2) * 255, 0, 255)
        palette = None
        if num_labels is not None:
            palette = torch.tensor(self.get_palette(num_labels), dtype=torch.float, device=masks.device).view(1, 1, num_labels + 1, masks.shape[1])
        results = []
        for index, mask in enumerate(masks):
            if sizes is not None:
                mask = F.interpolate(mask[None], size=sizes[index], mode="nearest")[0]
            scores = None
            if palette is not None:
                distances = (mask.permute(1, 2, 0)[:, :, None, :] - palette).pow(2).sum(dim=-1)
                segmentation, scores = distances.argmin(dim=-1), -distances.permute(2, 0, 1)
            else:
                segmentation = mask.mean(dim=0).int()
            if return_segmentation_scores:
                results.append(BatchFeature({"segmentation": back(segmentation, numpy_in), "segmentation_scores": None if scores is None else back(scores, numpy_in)}))
            else:
                results.append(back(segmentation, numpy_in))
        return results
