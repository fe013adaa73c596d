"""SAM2 (and EdgeTAM, SAM2 video): squashed to 1024x1024, no padding; masks resized to ``mask_size``; mask post-processing.

Unlike SAM (:mod:`.sam`), the image is resized to a fixed square, not by its longest edge, so there is no
padding and no ``reshaped_input_sizes``; prompts go to transformers' processor class, not the image processor.
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..backends.base import NEAREST
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..inputs import flatten_inputs, to_canonical
from ..params import normalize_square_size
from ..processor import Resize
from ..segmentation import LabelMapProcessor, split_label_maps, to_torch, back, size_list
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

# Masks outside the object that wins a pixel are pushed below this logit (sigmoid(-10) = 4.5e-5), as transformers does.
SUPPRESSED_LOGIT = -10.0


@register_family
class Sam2ImageProcessor(LabelMapProcessor):
    """SAM2, EdgeTAM and SAM2 video (the image processor; prompts are the processor's)."""

    transformers_class = "Sam2ImageProcessor"
    model_types = ("sam2", "edgetam", "sam2_video")
    defaults = {
        "do_resize": True,
        "size": {"height": 1024, "width": 1024},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
        "do_convert_rgb": True,
        "mask_size": {"height": 256, "width": 256},
        "mask_pad_size": None,
    }
    # mask_pad_size is read and saved for configs that name it; SAM2 pads nothing (transformers turned SAM's padding off)
    extra_params = {"mask_size": normalize_square_size, "mask_pad_size": normalize_square_size}
    model_input_names = ["pixel_values"]

    def label_steps(self, params: dict[str, Any]) -> list[Any]:
        """Masks are resized (nearest) to ``mask_size`` instead of ``size``."""
        if not params.get("do_resize"):
            return []
        return [Resize(params["mask_size"], NEAREST)]

    def preprocess(self, images: Any, segmentation_maps: Any = None, **kwargs: Any) -> BatchFeature:
        """Same as calling the processor; also returns each image's ``original_sizes`` (height, width)."""
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        options = self.load_options(params, backend)
        # decoded once here for the sizes; the pipeline then takes the decoded (channels-last) images as they are
        loaded = [to_canonical(item, options) for item in flatten_inputs(images)]
        if not loaded:
            raise InvalidArgumentError("images is empty: pass at least one image")
        features = self.process_images(loaded, dict(params, input_data_format="channels_last"), backend)
        features["original_sizes"] = [backend.size(backend.from_canonical(image)) for image in loaded]
        if segmentation_maps is not None:
            labels = self.process_label_maps(split_label_maps(segmentation_maps, len(loaded)), params, backend)
            if len(labels) != len(loaded):
                raise InvalidArgumentError(f"got {len(labels)} segmentation maps for {len(loaded)} images")
            features["labels"] = labels
        return self.finalize(features, params, backend)

    def post_process_masks(
        self,
        masks: Any,
        original_sizes: Any,
        mask_threshold: float = 0.0,
        binarize: bool = True,
        max_hole_area: float = 0.0,
        max_sprinkle_area: float = 0.0,
        apply_non_overlapping_constraints: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """Each image's (objects, masks, h, w) mask logits resized (bilinear) to its original size, optionally one object per pixel, thresholded.

        ``max_hole_area`` and ``max_sprinkle_area`` are accepted and, as in transformers 5.23, not applied.
        """
        import torch.nn.functional as F

        if kwargs:
            raise InvalidArgumentError(f"post_process_masks got unknown arguments {sorted(kwargs)}")
        sizes = size_list(original_sizes)
        if len(sizes) > len(masks):
            raise InvalidArgumentError(f"got {len(sizes)} original sizes for {len(masks)} images' masks")
        results = []
        for index, size in enumerate(sizes):
            mask, numpy_in = to_torch(masks[index])
            if mask.ndim != 4:
                raise InvalidArgumentError(f"masks[{index}] must be (objects, masks, height, width), got shape {tuple(mask.shape)}")
            mask = F.interpolate(mask, size, mode="bilinear", align_corners=False)
            if apply_non_overlapping_constraints:
                mask = self._apply_non_overlapping_constraints(mask)
            results.append(back(mask > mask_threshold if binarize else mask, numpy_in))
        return results

    @staticmethod
    def _apply_non_overlapping_constraints(pred_masks: Any) -> Any:
        """Keep each pixel's highest-scoring object; the others' logits there are capped at :data:`SUPPRESSED_LOGIT`."""
        import torch

        if pred_masks.size(0) == 1:
            return pred_masks
        winner = torch.argmax(pred_masks, dim=0, keepdim=True)
        keep = winner == torch.arange(pred_masks.size(0), device=pred_masks.device)[:, None, None, None]
        return torch.where(keep, pred_masks, torch.clamp(pred_masks, max=SUPPRESSED_LOGIT))
