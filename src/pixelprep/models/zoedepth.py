"""ZoeDepth: rescale, reflect-pad by 3 sqrt(side / 2) on every side, align-corners resize towards 384x512, normalise; depth post-processing.

Both of transformers' classes resize with ``torch.nn.functional.interpolate(align_corners=True)``, so
both backends here do too (torch is needed on the pil backend, as it is for transformers' pil class).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import geometry
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError, InvalidImageError
from ..params import normalize_bool, normalize_positive_float
from ..processor import ImageProcessor
from ..segmentation import back, output_field, size_list, to_torch
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD
from .dense_steps import AffineFirst, from_torch_hwc, interpolate_mode, mirror_indices, to_torch_hwc


def zoe_padding(height: int, width: int) -> tuple[int, int]:
    """Rows and columns ZoeDepth adds on each side against border artefacts: ``int(sqrt(side / 2) * 3)``."""
    return int(np.sqrt(height / 2) * 3), int(np.sqrt(width / 2) * 3)


def zoe_resize_size(height: int, width: int, target_height: int, target_width: int, keep_aspect_ratio: bool, multiple: float) -> geometry.Size:
    """DPT's rule towards the target with a multiple that may be a fraction (1/32 by default), each side then truncated to an int."""
    out_height, out_width = geometry.multiple_of_size(height, width, target_height, target_width, keep_aspect_ratio, multiple)
    if int(out_height) < 1 or int(out_width) < 1:
        raise InvalidImageError(f"resizing a {height}x{width} image towards {target_height}x{target_width} gives an empty image")
    return int(out_height), int(out_width)


@dataclass(frozen=True)
class ReflectPad:
    """Mirror ``zoe_padding`` rows and columns onto every side (NumPy's 'reflect', also for images smaller than the padding)."""

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        pad_height, pad_width = zoe_padding(height, width)
        geometry.check_output_size(height + 2 * pad_height, width + 2 * pad_width, f"a {height}x{width} image with its reflected border")
        tensor = to_torch_hwc(backend, image)
        import torch

        rows = torch.from_numpy(mirror_indices(np.arange(-pad_height, height + pad_height), height)).to(tensor.device)
        columns = torch.from_numpy(mirror_indices(np.arange(-pad_width, width + pad_width), width)).to(tensor.device)
        return from_torch_hwc(backend, tensor[rows][:, columns])

    def describe(self) -> str:
        return "reflect-pad each side by int(sqrt(side / 2) * 3)"


@dataclass(frozen=True)
class AlignCornersResize:
    """Resize towards ``height`` x ``width`` (see :func:`zoe_resize_size`) with ``interpolate(align_corners=True)``."""

    height: int
    width: int
    keep_aspect_ratio: bool
    multiple: float
    resample: int

    def apply(self, backend: Backend, image: Any) -> Any:
        import torch.nn.functional as F

        size = zoe_resize_size(*backend.size(image), self.height, self.width, self.keep_aspect_ratio, self.multiple)
        chw = to_torch_hwc(backend, image).permute(2, 0, 1)[None]
        resized = F.interpolate(chw, size, mode=interpolate_mode(self.resample, "ZoeDepth"), align_corners=True)
        return from_torch_hwc(backend, resized[0].permute(1, 2, 0))

    def describe(self) -> str:
        ratio = ", keeping the aspect ratio" if self.keep_aspect_ratio else ""
        return f"resize towards {self.height}x{self.width}{ratio}, sides multiples of {self.multiple:g}, {interpolate_mode(self.resample, 'ZoeDepth')} (align corners)"


@register_family
class ZoeDepthImageProcessor(ImageProcessor):
    """ZoeDepth (metric depth)."""

    transformers_class = "ZoeDepthImageProcessor"
    model_types = ("zoedepth",)
    defaults = {
        "do_resize": True,
        "size": {"height": 384, "width": 512},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_pad": True,
        "keep_aspect_ratio": True,
        "ensure_multiple_of": 1 / 32,
    }
    extra_params = {"keep_aspect_ratio": normalize_bool, "ensure_multiple_of": normalize_positive_float}

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """Rescale, reflect-pad, resize: all before normalising, as transformers does."""
        steps: list[Any] = [AffineFirst(params["rescale_factor"] if params.get("do_rescale") else None)]
        if params.get("do_pad"):
            steps.append(ReflectPad())
        if params.get("do_resize"):
            size = params.get("size") or {}
            if "height" not in size:
                raise InvalidArgumentError(f"ZoeDepth's size must have 'height' and 'width', got {size}")
            interpolate_mode(params["resample"], "ZoeDepth")
            multiple = params.get("ensure_multiple_of") or 1
            steps.append(AlignCornersResize(size["height"], size["width"], bool(params.get("keep_aspect_ratio")), multiple, params["resample"]))
        return steps

    def pads_batch(self, params: dict[str, Any]) -> bool:
        """``do_pad`` is the reflected border (in :meth:`steps`), not a batch padding."""
        return False

    def affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        """Only the normalisation is left for the end: the rescale happened first."""
        return (None, *super().affine_parts(params)[1:])

    def pad_image(self, image: Any, **kwargs: Any) -> Any:
        """``image`` (CHW, or a batch) with its reflected border, as transformers' ``pad_image``."""
        params = self._step_params(kwargs)
        return self._run_steps(image, dict(params, input_data_format="channels_first"), [AffineFirst(None), ReflectPad()])

    def post_process_depth_estimation(
        self,
        outputs: Any,
        source_sizes: Any = None,
        target_sizes: Any = None,
        outputs_flipped: Any = None,
        do_remove_padding: bool | None = None,
    ) -> list[dict[str, Any]]:
        """``[{"predicted_depth": (H, W)}]`` per image: averaged with the flipped prediction, resized to the padded source size
        and unpadded (with ``source_sizes``), then resized to ``target_sizes``; all bicubic."""
        import torch
        import torch.nn.functional as F

        depth, numpy_in = to_torch(output_field(outputs, "predicted_depth"))
        if outputs_flipped is not None:
            flipped, _ = to_torch(output_field(outputs_flipped, "predicted_depth"))
            if flipped.shape != depth.shape:
                raise InvalidArgumentError(f"outputs_flipped has depth of shape {tuple(flipped.shape)}, outputs {tuple(depth.shape)}: they must be the same")
            depth = (depth + torch.flip(flipped, dims=[-1])) / 2
        targets, sources = size_list(target_sizes), size_list(source_sizes)
        for name, sizes in (("target sizes", targets), ("source sizes", sources)):
            if sizes is not None and len(sizes) != len(depth):
                raise InvalidArgumentError(f"got {len(sizes)} {name} for a batch of {len(depth)} depth maps")
        remove_padding = self.do_pad if do_remove_padding is None else do_remove_padding
        if sources is None and remove_padding:
            raise InvalidArgumentError("source_sizes is needed to remove ZoeDepth's padding: pass it, or do_remove_padding=False")
        results = []
        for index, prediction in enumerate(depth):
            prediction = prediction[None, None]
            source = None if sources is None else sources[index]
            if source is not None:
                pad_height, pad_width = zoe_padding(*source) if remove_padding else (0, 0)
                size = (source[0] + 2 * pad_height, source[1] + 2 * pad_width)
                prediction = F.interpolate(prediction, size, mode="bicubic", align_corners=False)
                prediction = prediction[..., pad_height : size[0] - pad_height, pad_width : size[1] - pad_width]
            if targets is not None and targets[index] is not None:
                prediction = F.interpolate(prediction, tuple(targets[index]), mode="bicubic", align_corners=False)
            results.append({"predicted_depth": back(prediction[0, 0], numpy_in)})
        return results
