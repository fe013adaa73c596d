"""Fuyu: each image shrunk (never enlarged) to fit ``size``, padded bottom/right with ``padding_value`` before rescale.

Inputs are samples of images (a flat list is one image per sample, as in transformers); ``images`` is
``(samples, images, C, height, width)`` when every sample holds as many images of one shape (always,
with ``do_pad``), else a list per sample of each image's ``(C, H, W)``. The metadata describes each
sample's *first* image, as transformers does: ``image_unpadded_heights``/``widths`` (after the resize),
``image_scale_factors`` (resized / original height) and ``image_sizes`` (the original size).

Fuyu never converts to RGB and has a scalar mean: gray and RGBA images keep 1 and 4 channels.
The model's patching (``patchify_image``, ``get_num_patches``, ``preprocess_with_tokenizer_info``)
is here as functions of the padded images, on the same patch geometry
(:func:`~pixelprep.geometry_vlm.exact_patch_grid`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import geometry, geometry_vlm
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError, InvalidImageError
from ..features import BatchFeature, convert_value
from ..multiview import MultiViewProcessor, RuleResize, ViewWriter, Views, nest_inputs
from ..params import _number, normalize_square_size
from ..processor import _map


def _padding_value(value: Any, name: str) -> float | None:
    return None if value is None else _number(value, name)


def _padding_mode(value: Any, name: str) -> str | None:
    if value is not None and value != "constant":
        raise InvalidArgumentError(f"{name} {value!r} is not supported; Fuyu pads with a constant ('constant')")
    return value


def _permute(array: Any, axes: tuple[int, ...]) -> Any:
    """``array`` with its axes reordered: a torch tensor or a NumPy array."""
    return array.permute(*axes) if hasattr(array, "permute") else array.transpose(axes)


def patchify(images: Any, patch_height: int, patch_width: int) -> Any:
    """``(B, C, H, W)`` images as ``(B, patches, ph * pw * C)`` rows, patches row-major, each vector ``(ph, pw, C)``.

    A ``(C, H, W)`` image gives ``(patches, vector)``. Torch tensors stay tensors, NumPy arrays arrays;
    sides that are not whole patches are an error naming the size.
    """
    single = len(images.shape) == 3
    batch = images[None] if single else images
    if len(batch.shape) != 4:
        raise InvalidImageError(f"patchify_image takes a (batch, channels, height, width) or (channels, height, width) array, got shape {tuple(images.shape)}")
    count, channels, height, width = (int(v) for v in batch.shape)
    rows, cols = geometry_vlm.exact_patch_grid(height, width, patch_height, patch_width, "an image")
    blocks = _permute(batch.reshape(count, channels, rows, patch_height, cols, patch_width), (0, 2, 4, 3, 5, 1))
    patches = blocks.reshape(count, rows * cols, patch_height * patch_width * channels)
    return patches[0] if single else patches


def patch_stream(
    image_input: Any,
    image_present: Any,
    unpadded_heights: Any,
    unpadded_widths: Any,
    placeholder_id: int,
    newline_id: int,
    variable_sized: bool,
    patch_height: int,
    patch_width: int,
) -> dict[str, list]:
    """Fuyu's token-side view of padded images ``(batch, subsequences, C, H, W)`` (torch tensors): per present image its
    patches and placeholder ids (with ``variable_sized``: cropped to the unpadded size rounded up to whole patches, and a
    newline id closing each patch row), and the patch index of every id in the stream (per sample and per subsequence; -1
    for newlines). Absent images give an empty id stream."""
    import torch

    device = image_input.device
    images, batch_ids, batch_patches = [], [], []
    for b in range(image_input.shape[0]):
        ids_per_subsequence, patches_per_subsequence = [], []
        for s in range(image_input.shape[1]):
            if not image_present[b, s]:
                ids_per_subsequence.append(torch.tensor([], dtype=torch.int32, device=device))
                continue
            image = image_input[b, s]
            height, width = int(image.shape[1]), int(image.shape[2])
            if variable_sized:
                # rounded up to whole patches, never beyond the padded image (the unpadded size may carry float error)
                height = min(height, math.ceil(unpadded_heights[b, s] / patch_height) * patch_height)
                width = min(width, math.ceil(unpadded_widths[b, s] / patch_width) * patch_width)
                image = image[:, :height, :width]
            rows, cols = geometry_vlm.exact_patch_grid(height, width, patch_height, patch_width, f"image [{b}, {s}]")
            ids = torch.full((rows, cols), placeholder_id, dtype=torch.int32, device=device)
            if variable_sized:
                ids = torch.cat([ids, torch.full((rows, 1), newline_id, dtype=torch.int32, device=device)], dim=1)
            images.append([image])
            ids_per_subsequence.append(ids.reshape(-1))
            patches_per_subsequence.append(patchify(image, patch_height, patch_width))
        batch_ids.append(ids_per_subsequence)
        batch_patches.append(patches_per_subsequence)
    per_batch, per_subsequence = [], []
    for ids_per_subsequence in batch_ids:
        offset, sample_batch, sample_subsequence = 0, [], []
        for ids in ids_per_subsequence:
            is_patch = ids == placeholder_id
            count = int(is_patch.sum())
            local = torch.full_like(ids, -1)
            local[is_patch] = torch.arange(count, device=device, dtype=ids.dtype)
            sample_subsequence.append(local)
            sample_batch.append(torch.where(is_patch, local + offset, local))
            offset += count
        per_batch.append(sample_batch)
        per_subsequence.append(sample_subsequence)
    return {
        "images": images,
        "image_input_ids": batch_ids,
        "image_patches": batch_patches,
        "image_patch_indices_per_batch": per_batch,
        "image_patch_indices_per_subsequence": per_subsequence,
    }


@dataclass(frozen=True)
class ImagesPerSample:
    """Each sample's images on their own axis: ``(samples, images, C, H, W)`` when every sample holds as many images of
    one shape and channel count; otherwise a list per sample of each image's own ``(C, H, W)`` array."""

    key: str = "images"

    def pack(self, backend: Backend, views: list[Views], samples: list[int], write: ViewWriter) -> dict[str, Any]:
        images = [(group.images[0], group.normalized) for group in views]
        shapes = {(write.channels_out(image), *backend.size(image)) for image, _ in images}
        dtype = write.dtype(views)
        if len(set(samples)) == 1 and len(shapes) == 1:
            out = backend.allocate_unfilled((len(samples), samples[0], *shapes.pop()), dtype)
            slots = [out[i // samples[0], i % samples[0]] for i in range(len(images))]
        else:
            slots = [backend.allocate_unfilled((write.channels_out(image), *backend.size(image)), dtype) for image, _ in images]
            starts = np.concatenate([[0], np.cumsum(samples)]).tolist()
            out = [slots[starts[s] : starts[s + 1]] for s in range(len(samples))]
        _map(lambda i: write.chw(images[i][0], slots[i], images[i][1]), list(range(len(images))), write.threads)
        return {self.key: out}

    def describe(self) -> list[str]:
        return [f"stack into {self.key} (samples, images, C, H, W), or a list per sample where images differ in shape or number"]


@register_family
class FuyuImageProcessor(MultiViewProcessor):
    """Fuyu: shrink to fit ``size``, pad bottom/right to it with ``padding_value``; images per sample, first-image metadata."""

    transformers_class = "FuyuImageProcessor"
    model_types = ("fuyu",)
    defaults = {
        "do_resize": True,
        "size": {"height": 1080, "width": 1920},
        "resample": 2,
        "do_pad": True,
        "padding_value": 1.0,
        "padding_mode": "constant",
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": 0.5,
        "image_std": 0.5,
        "patch_size": {"height": 30, "width": 30},
    }
    extra_params = {"patch_size": normalize_square_size, "padding_value": _padding_value, "padding_mode": _padding_mode}
    model_input_names = ["images", "image_input_ids", "image_patches", "image_patch_indices_per_batch", "image_patch_indices_per_subsequence"]

    def to_dict(self) -> dict[str, Any]:
        """The config dict, a one-value mean or std written as a number: transformers reads a 1-item list as one
        channel's value and refuses it for RGB images."""
        out = super().to_dict()
        for key in ("image_mean", "image_std"):
            if isinstance(out.get(key), list) and len(out[key]) == 1:
                out[key] = out[key][0]
        return out

    def nest(self, images: Any) -> list[list[Any]]:
        # transformers reads a flat list as one image per sample
        return nest_inputs(images, flat_list_is_one_sample=False)

    @staticmethod
    def _target(params: dict[str, Any]) -> tuple[int, int]:
        size = params.get("size") or {}
        if "height" not in size or "width" not in size:
            raise InvalidArgumentError(f"size must give 'height' and 'width' (the largest image, and the padded size) for FuyuImageProcessor, got {size}")
        return size["height"], size["width"]

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        max_height, max_width = self._target(params)
        return [RuleResize(lambda h, w: geometry_vlm.shrink_to_fit(h, w, max_height, max_width), params["resample"], f"to fit {max_height}x{max_width} (shrink only, aspect kept, truncated)")]

    def steps(self, params: dict[str, Any]) -> list[Any]:
        # resize and pad run in split_views, which records the sizes before and after the resize
        return []

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        original = backend.size(image)
        if params.get("do_resize"):
            for step in self.resize_steps(params):
                image = step.apply(backend, image)
        resized = backend.size(image)
        if params.get("do_pad"):
            height, width = self._target(params)
            if resized[0] > height or resized[1] > width:
                raise InvalidImageError(
                    f"an image of {resized[0]}x{resized[1]} is larger than size {height}x{width}, which it is padded to; "
                    "resize it (do_resize=True) or raise size"
                )
            geometry.check_output_size(height, width, "size")
            if (height, width) != resized:
                image = backend.pad(image, 0, height - resized[0], 0, width - resized[1], params["padding_value"])
        return Views([image], meta={"original": original, "resized": resized})

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        lines = [self.resize_steps(params)[0].describe()] if params.get("do_resize") else []
        if params.get("do_pad"):
            height, width = self._target(params)
            lines.append(f"pad bottom/right to {height}x{width} with {params['padding_value']:g} (before rescale)")
        return lines

    def packer(self, params: dict[str, Any]) -> ImagesPerSample:
        return ImagesPerSample("images")

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        return super().describe_pipeline(params) + [
            "also output, per sample (its first image), image_unpadded_heights/widths, image_scale_factors, image_sizes"
        ]

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        """Per sample, of its first image: unpadded (resized) height and width, resized/original height, original size."""
        first = [views[start] for start in np.concatenate([[0], np.cumsum(samples)[:-1]]).tolist()]
        return {
            "image_unpadded_heights": np.array([[group.meta["resized"][0]] for group in first], dtype=np.int64),
            "image_unpadded_widths": np.array([[group.meta["resized"][1]] for group in first], dtype=np.int64),
            # a list of Python floats until finalize, which types it as transformers does for each return_tensors
            "image_scale_factors": [[group.meta["resized"][0] / group.meta["original"][0]] for group in first],
            "image_sizes": np.array([group.meta["original"] for group in first], dtype=np.int64),
        }

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        factors = features.data.pop("image_scale_factors")
        features = super().finalize(features, params, backend)
        tensor_type = params.get("return_tensors")
        # transformers builds these from Python floats: float32 as torch tensors, float64 as NumPy arrays
        features.data["image_scale_factors"] = factors if tensor_type is None else convert_value(
            np.asarray(factors, dtype=np.float32 if tensor_type == "pt" else np.float64), tensor_type
        )
        return features

    # ------------------------------------------------------------------------------ model patching

    def _patch(self, patch_size: Any) -> tuple[int, int]:
        size = self._params["patch_size"] if patch_size is None else normalize_square_size(dict(getattr(patch_size, "__dict__", None) or patch_size), "patch_size")
        return size["height"], size["width"]

    def get_num_patches(self, image_height: int, image_width: int, patch_size: Any = None) -> int:
        """Patches of ``patch_size`` (default the processor's) in an image of ``image_height`` x ``image_width``, which must be whole patches."""
        rows, cols = geometry_vlm.exact_patch_grid(image_height, image_width, *self._patch(patch_size))
        return rows * cols

    def patchify_image(self, image: Any, patch_size: Any = None) -> Any:
        """``(B, C, H, W)`` images (or one ``(C, H, W)``) as ``(B, patches, ph * pw * C)`` patch rows (see :func:`patchify`)."""
        return patchify(image, *self._patch(patch_size))

    def preprocess_with_tokenizer_info(
        self,
        image_input: Any,
        image_present: Any,
        image_unpadded_h: Any,
        image_unpadded_w: Any,
        image_placeholder_id: int,
        image_newline_id: int,
        variable_sized: bool,
        patch_size: Any = None,
    ) -> BatchFeature:
        """The patches and image token ids the Fuyu processor builds from padded ``images`` and the tokenizer's ids (see :func:`patch_stream`)."""
        return BatchFeature(
            patch_stream(image_input, image_present, image_unpadded_h, image_unpadded_w, image_placeholder_id, image_newline_id, variable_sized, *self._patch(patch_size))
        )
