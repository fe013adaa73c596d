"""UVDoc (document unwarping): rescale, RGB to BGR, an align-corners bilinear resize of the floats to 712x488; the
rescaled BGR inputs come back as ``original_images`` for :meth:`UVDocImageProcessor.post_process_document_rectification`.

transformers has only a torchvision class, which resizes with ``torch.nn.functional.interpolate(align_corners=True)``
whatever ``resample`` says; both backends here run that same float resize (torch is needed on the pil backend too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..auto import register_family
from ..backends import Backend
from ..backends.base import BILINEAR
from ..errors import InvalidArgumentError
from ..features import BatchFeature, _tensor_type_name, convert_value
from ..processor import ImageProcessor
from ..segmentation import back, output_field, to_torch
from .dense_steps import AffineFirst
from .paddle_steps import ReverseChannels, apply_steps, load_images
from .zoedepth import AlignCornersResize


@dataclass(frozen=True)
class FixedAlignCornersResize(AlignCornersResize):
    """A float resize to exactly ``height`` x ``width`` with ``interpolate(align_corners=True)`` (a multiple of 1, no aspect kept)."""

    def describe(self) -> str:
        return f"resize to {self.height}x{self.width} bilinear (on floats, align corners)"


def fixed_align_corners_resize(height: int, width: int) -> FixedAlignCornersResize:
    """The UVDoc resize: always bilinear, as transformers' class (it ignores ``resample``)."""
    return FixedAlignCornersResize(height, width, False, 1, BILINEAR)


@register_family
class UVDocImageProcessor(ImageProcessor):
    """UVDoc document rectification (transformers has a torchvision class only)."""

    transformers_class = "UVDocImageProcessor"
    model_types = ("uvdoc",)
    defaults = {
        "do_resize": True,
        "size": {"height": 712, "width": 488},
        "resample": BILINEAR,
        "do_rescale": True,
        # the model reads 3 BGR channels: transformers' class fails on gray images (README)
        "do_convert_rgb": True,
    }

    def _before_resize(self, params: dict[str, Any]) -> list[Any]:
        scale, mean, std = super().affine_parts(params)
        # without a rescale or normalisation the pixels stay 8-bit, and so does transformers' resize of them
        return ([] if scale is None and mean is None else [AffineFirst(scale, mean, std)]) + [ReverseChannels()]

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """Rescale (and normalise) to float32, RGB to BGR, then the align-corners resize."""
        steps = self._before_resize(params)
        if params.get("do_resize"):
            size = params.get("size") or {}
            if "height" not in size:
                raise InvalidArgumentError(f"UVDoc's size must have 'height' and 'width', got {size}")
            steps.append(fixed_align_corners_resize(size["height"], size["width"]))
        return steps

    def pads_batch(self, params: dict[str, Any]) -> bool:
        """Never: transformers' class has no padding step."""
        return False

    def affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        """Nothing is left for the end: the rescale and normalisation come first."""
        return None, None, None

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        """The steps, in the order UVDoc runs them."""
        params = self._params if params is None else params
        lines = ["convert to RGB"] if self.converts_to_rgb(params) else []
        return lines + [step.describe() for step in self.steps(params)] + ["original_images = each image before the resize"]

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """``pixel_values`` (resized) and ``original_images``: each image rescaled and in BGR at its own size, a list."""
        steps = self.steps(params)
        before = len(self._before_resize(params))
        originals = apply_steps(self, load_images(self, images, params, backend), steps[:before], backend)
        features = self._assemble(apply_steps(self, originals, steps[before:], backend), params, backend, None, None, None)
        kept = self._assemble(originals, dict(params, data_format="channels_first"), backend, None, None, None)["pixel_values"]
        features["original_images"] = list(kept)
        return features

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """``pixel_values`` converted to ``return_tensors``; ``original_images`` stays a list (sizes differ), each item converted."""
        originals = features.data.pop("original_images")
        features = super().finalize(features, params, backend)
        name = _tensor_type_name(params.get("return_tensors"))
        features["original_images"] = [convert_value(image, name) for image in originals]
        return features

    def post_process_document_rectification(self, prediction: Any, original_images: Any, scale: float = 255.0) -> list[dict[str, Any]]:
        """Each original image unwarped by its predicted mesh: ``[{"images": (H, W, 3) uint8}]``, channels flipped back from BGR.

        ``prediction`` is the model's (batch, 2, h, w) sampling grid in [-1, 1] (or its output with
        ``last_hidden_state``); each grid is resized (bilinear, align corners) to its original image's size
        and sampled there (``grid_sample``, align corners, zeros outside). Values times ``scale`` are
        truncated to 0..255 (clamped first: transformers' cast wraps values out of that range).
        """
        import torch
        import torch.nn.functional as F

        mesh, numpy_in = to_torch(output_field(prediction, "last_hidden_state"))
        if mesh.ndim != 4 or mesh.shape[1] != 2:
            raise InvalidArgumentError(f"prediction must be (batch, 2, height, width) sampling grids, got shape {tuple(mesh.shape)}")
        if isinstance(original_images, (list, tuple)):
            originals = list(original_images)
        elif hasattr(original_images, "shape"):
            originals = list(original_images) if len(original_images.shape) == 4 else [original_images]
        else:
            raise InvalidArgumentError(f"original_images must be the processor's list of (C, H, W) images, got {type(original_images).__name__}")
        if len(originals) != len(mesh):
            raise InvalidArgumentError(f"got {len(originals)} original images for a batch of {len(mesh)} predictions")
        results = []
        for index, original in enumerate(originals):
            image = to_torch(original)[0].to(device=mesh.device)
            if image.ndim == 3:
                image = image[None]
            if image.ndim != 4 or image.shape[0] != 1:
                raise InvalidArgumentError(f"original_images[{index}] must be one (C, H, W) image, got shape {tuple(image.shape)}")
            height, width = image.shape[-2:]
            grid = F.interpolate(mesh[index : index + 1], size=(height, width), mode="bilinear", align_corners=True)
            rectified = F.grid_sample(image.to(grid.dtype), grid.permute(0, 2, 3, 1), align_corners=True)
            values = rectified[0].permute(1, 2, 0) * torch.tensor(float(scale), dtype=grid.dtype, device=grid.device)
            results.append({"images": back(values.flip(dims=[-1]).clamp(0, 255).to(torch.uint8), numpy_in)})
        return results
