"""DepthPro: rescale and normalise first, then a float resize to 1536x1536 without antialiasing; depth post-processing with field of view.

transformers has only a torchvision class; the pil backend runs the same steps (NumPy's rescale and
normalise arithmetic, torch's interpolate for the float resize).
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..errors import InvalidArgumentError
from ..processor import ImageProcessor
from ..segmentation import back, output_field, size_list, to_torch
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD
from .dense_steps import RESIZE_MODES, AffineFirst, FloatResize


@register_family
class DepthProImageProcessor(ImageProcessor):
    """DepthPro (metric depth and field of view)."""

    transformers_class = "DepthProImageProcessor"
    model_types = ("depth_pro",)
    defaults = {
        "do_resize": True,
        "size": {"height": 1536, "width": 1536},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
    }

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """Rescale and normalise, then resize the float image."""
        scale, mean, std = super().affine_parts(params)
        steps: list[Any] = [AffineFirst(scale, mean, std)]
        if params.get("do_resize"):
            size = params.get("size") or {}
            if "height" not in size:
                raise InvalidArgumentError(f"DepthPro's size must have 'height' and 'width', got {size}")
            steps.append(FloatResize(size["height"], size["width"], params["resample"]))
        return steps

    def affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        """Nothing is left for the end: the rescale and normalisation come first."""
        return None, None, None

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        """The steps, in the order DepthPro runs them."""
        params = self._params if params is None else params
        lines = ["convert to RGB"] if self.converts_to_rgb(params) else []
        return lines + [step.describe() for step in self.steps(params)]

    def post_process_depth_estimation(self, outputs: Any, target_sizes: Any = None) -> list[dict[str, Any]]:
        """Per image ``predicted_depth`` (inverse depth, clamped to 1e-4..1e4 first), ``field_of_view`` and ``focal_length``.

        With a target size, the depth is scaled by width / focal length (from the field of view, when the
        outputs have one) and resized with the processor's filter.
        """
        import torch
        import torch.nn.functional as F

        depth, numpy_in = to_torch(output_field(outputs, "predicted_depth"))
        fov = outputs.get("field_of_view") if isinstance(outputs, dict) else getattr(outputs, "field_of_view", None)
        fov = [None] * len(depth) if fov is None else to_torch(fov)[0]
        if len(fov) != len(depth):
            raise InvalidArgumentError(f"got {len(fov)} fields of view for a batch of {len(depth)} depth maps")
        sizes = size_list(target_sizes)
        if sizes is not None and len(sizes) != len(depth):
            raise InvalidArgumentError(f"got {len(sizes)} target sizes for a batch of {len(depth)} depth maps")
        mode = RESIZE_MODES.get(self.resample)
        if sizes is not None and mode is None:
            raise InvalidArgumentError(f"resample must be one of {sorted(RESIZE_MODES)} to resize depth maps, got {self.resample}")
        results = []
        for index, (prediction, fov_value) in enumerate(zip(depth, fov)):
            focal_length = None
            if sizes is not None and sizes[index] is not None:
                if fov_value is not None:
                    width = sizes[index][1]
                    focal_length = 0.5 * width / torch.tan(0.5 * torch.deg2rad(fov_value))
                    prediction = prediction * width / focal_length
                prediction = F.interpolate(prediction[None, None], size=sizes[index], mode=mode).squeeze()
            prediction = 1.0 / torch.clamp(prediction, min=1e-4, max=1e4)
            results.append({"predicted_depth": back(prediction, numpy_in), "field_of_view": fov_value if fov_value is None else back(fov_value, numpy_in), "focal_length": focal_length if focal_length is None else back(focal_length, numpy_in)})
        return results
