"""SuperPoint: resize to 480x640, rescale, optionally gray (NTSC luma in 3 channels); keypoint post-processing.

transformers' two classes turn images gray at different points: its torchvision class before resizing,
on 8-bit pixels (truncated), its pil class after rescaling, on floats. Each backend here does what its
class does. Images whose channels are already equal are left as they are, as in transformers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..params import normalize_bool
from ..postprocess import model_outputs, to_numpy_like
from ..processor import ImageProcessor, _channels_last

GRAY_WEIGHTS = (0.2989, 0.587, 0.114)


def _is_gray(image: Any, channel_axis: int) -> bool:
    """Whether an image has fewer than 3 channels or its first three are equal (NumPy or torch, either layout)."""
    if image.shape[channel_axis] < 3:
        return True
    planes = [image[..., c] if channel_axis == -1 else image[c] for c in range(3)]
    return bool((planes[0] == planes[1]).all()) and bool((planes[1] == planes[2]).all())


@dataclass(frozen=True)
class Grayscale:
    """8-bit RGB to NTSC gray in 3 channels (the backend's arithmetic), before the geometric steps."""

    def apply(self, backend: Backend, image: Any) -> Any:
        image = backend.realize(image)
        return image if _is_gray(image, -1) else backend.grayscale(image)

    def describe(self) -> str:
        return "grayscale (NTSC luma, 3 channels)"


def gray_channels_first(values: Any, backend: Backend) -> None:
    """Turn every CHW image of ``values`` (a batch or a list) gray in place, after rescaling, as transformers' pil class does."""
    for image in values:
        if _is_gray(image, 0):
            continue
        if backend.is_uint8(image):  # not rescaled: the 8-bit arithmetic of the backend
            image[:3] = backend.permute(backend.grayscale(backend.permute(image, (1, 2, 0))), (2, 0, 1))
            continue
        luma = image[0] * GRAY_WEIGHTS[0] + image[1] * GRAY_WEIGHTS[1] + image[2] * GRAY_WEIGHTS[2]
        for channel in range(3):
            image[channel] = luma


class GrayscaleProcessor(ImageProcessor):
    """A fixed-size resize and rescale with transformers' ``do_grayscale`` (the keypoint and matching families)."""

    #: Backends whose transformers class turns images gray before resizing (the others: after rescaling).
    gray_before_resize: ClassVar[tuple[str, ...]] = ()
    defaults = {
        "do_resize": True,
        "size": {"height": 480, "width": 640},
        "resample": 2,
        "default_to_square": False,
        "do_rescale": True,
        # the models read channel 0 of 3: gray, RGBA, palette and CMYK images are made RGB (transformers keeps 1 or 4 channels)
        "do_convert_rgb": True,
        "do_grayscale": False,
    }
    extra_params = {"do_grayscale": normalize_bool}

    def _gray_early(self, params: dict[str, Any]) -> bool:
        return bool(params.get("do_grayscale")) and self._backend_for(params.get("device")).name in self.gray_before_resize

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """The common steps, after a :class:`Grayscale` step where this backend's transformers class turns images gray first."""
        steps = super().steps(params)
        return [Grayscale(), *steps] if self._gray_early(params) else steps

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """The common pipeline, then gray after rescaling where this backend's transformers class does it there."""
        features = super().process_images(images, dict(params, data_format="channels_first"), backend)
        if params.get("do_grayscale") and not self._gray_early(params):
            gray_channels_first(features["pixel_values"], backend)
        if params.get("data_format") == "channels_last":
            features["pixel_values"] = _channels_last(features["pixel_values"])
        return features

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        """The common lines, with the gray step where this backend takes it."""
        params = self._params if params is None else params
        lines = super().describe_pipeline(params)
        if params.get("do_grayscale") and not self._gray_early(params):
            lines.append(Grayscale().describe())
        return lines


@register_family
class SuperPointImageProcessor(GrayscaleProcessor):
    """SuperPoint (keypoint detection and description)."""

    transformers_class = "SuperPointImageProcessor"
    model_types = ("superpoint",)
    gray_before_resize = ("torchvision",)

    def post_process_keypoint_detection(self, outputs: Any, target_sizes: Any) -> list[dict[str, Any]]:
        """Per image, its detected keypoints in pixels of ``target_sizes`` (int32, (x, y)), with their scores and descriptors."""
        (mask, keypoints, scores, descriptors), from_numpy = model_outputs(outputs, "mask", "keypoints", "scores", "descriptors")
        sizes = _target_sizes(target_sizes, len(mask), (2,), mask.device)
        # (height, width) flipped to (width, height): keypoints are (x, y) fractions of the image
        pixels = (keypoints * sizes.flip(-1)[:, None]).to(dtype=_int32())
        results = []
        for index in range(len(mask)):
            keep = mask[index].nonzero().squeeze(1)
            results.append({"keypoints": pixels[index][keep], "scores": scores[index][keep], "descriptors": descriptors[index][keep]})
        return to_numpy_like(results, from_numpy)


def _int32() -> Any:
    import torch

    return torch.int32


def _target_sizes(target_sizes: Any, count: int, shape: tuple[int, ...], device: Any) -> Any:
    """``target_sizes`` (a tensor, array or nested list) as a torch tensor of shape (count, *shape), checked."""
    import torch

    if target_sizes is None:
        raise InvalidArgumentError("target_sizes is required: the (height, width) of each original image")
    try:
        sizes = torch.as_tensor(target_sizes.tolist() if hasattr(target_sizes, "tolist") else target_sizes, device=device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InvalidArgumentError(f"target_sizes must be numbers shaped (batch, {', '.join(map(str, shape))}): {exc}") from exc
    if tuple(sizes.shape) != (count, *shape):
        expected = ", ".join(map(str, (count, *shape)))
        raise InvalidArgumentError(f"target_sizes has shape {tuple(sizes.shape)}; expected ({expected}): one (height, width) per image of the batch")
    return sizes
