"""ImageGPT: pixels become colour-cluster ids (``input_ids``), and ids can be turned back into images."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..params import normalize_bool
from ..processor import ImageProcessor


def normalize_clusters(value: Any, name: str = "clusters") -> np.ndarray | None:
    """Colour clusters as a float array of shape (n_clusters, 3), values in the normalised [-1, 1] space."""
    if value is None:
        return None
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        clusters = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name} must be a list of [r, g, b] rows, got {type(value).__name__}") from None
    if clusters.ndim != 2 or clusters.shape[1] != 3 or clusters.shape[0] == 0:
        raise InvalidArgumentError(f"{name} must have shape (n_clusters, 3), got {clusters.shape}")
    if not np.isfinite(clusters).all():
        raise InvalidArgumentError(f"{name} must hold finite numbers")
    clusters.setflags(write=False)
    return clusters


def nearest_cluster(pixels: np.ndarray, clusters: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Index of the nearest cluster (squared Euclidean distance) for each row of ``pixels`` (N, 3)."""
    pixels = pixels.astype(np.float64, copy=False)
    cluster_norms = np.einsum("ij,ij->i", clusters, clusters)
    ids = np.empty(len(pixels), dtype=np.int64)
    for start in range(0, len(pixels), chunk):
        block = pixels[start : start + chunk]
        # |p - c|^2 = |p|^2 - 2 p.c + |c|^2; |p|^2 does not change the argmin over c.
        distances = cluster_norms[None, :] - 2.0 * block @ clusters.T
        ids[start : start + chunk] = distances.argmin(axis=1)
    return ids


@register_family
class ImageGPTImageProcessor(ImageProcessor):
    """ImageGPT: resize to 32x32 (or the config's size), normalise to [-1, 1], map pixels to cluster ids."""

    transformers_class = "ImageGPTImageProcessor"
    model_types = ("imagegpt",)
    model_input_names = ["input_ids"]
    defaults = {
        "do_resize": True,
        "size": {"height": 256, "width": 256},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": (0.5, 0.5, 0.5),
        "image_std": (0.5, 0.5, 0.5),
        "do_color_quantize": True,
        "clusters": None,
    }
    extra_params = {"clusters": normalize_clusters, "do_color_quantize": normalize_bool}

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """Replace ``pixel_values`` by ``input_ids`` of shape (batch, height * width) when quantizing."""
        if not params.get("do_color_quantize"):
            return super().finalize(features, params, backend)
        clusters = params.get("clusters")
        if clusters is None:
            raise InvalidArgumentError("do_color_quantize is True but no clusters are set")
        values = features["pixel_values"]
        images = values if isinstance(values, list) else list(values)
        ids = []
        for image in images:
            chw = backend.to_numpy(image)
            if chw.shape[0] != 3:
                raise InvalidArgumentError(f"colour quantization needs 3-channel images, got {chw.shape[0]} channels")
            ids.append(nearest_cluster(chw.reshape(3, -1).T, clusters))
        same_length = len({len(i) for i in ids}) == 1
        input_ids: Any = np.stack(ids) if same_length and not isinstance(values, list) else ids
        if not isinstance(input_ids, list) and backend.name == "torchvision":
            input_ids = backend.to_torch(input_ids)
        return BatchFeature({"input_ids": input_ids}, tensor_type=params.get("return_tensors"))

    def describe_finalize(self, params: dict[str, Any]) -> list[str]:
        """The quantization step, when on."""
        if not params.get("do_color_quantize"):
            return []
        count = "no clusters set" if params.get("clusters") is None else f"{len(params['clusters'])} clusters"
        return [f"map each pixel to its nearest colour cluster ({count})"]

    def to_dict(self) -> dict[str, Any]:
        """Clusters are saved as nested lists."""
        out = super().to_dict()
        if isinstance(out.get("clusters"), np.ndarray):
            out["clusters"] = out["clusters"].tolist()
        return out

    def decode_ids(self, input_ids: Any, height: int | None = None, width: int | None = None) -> list[np.ndarray]:
        """Turn cluster ids back into uint8 RGB images (H, W, 3); square images unless ``height``/``width`` say otherwise."""
        clusters = self._params.get("clusters")
        if clusters is None:
            raise InvalidArgumentError("this processor has no clusters to decode ids with")
        if hasattr(input_ids, "detach"):
            input_ids = input_ids.detach().cpu().numpy()
        rows = [np.asarray(row) for row in (input_ids if np.ndim(input_ids[0]) else [input_ids])]
        images = []
        for row in rows:
            if row.min() < 0 or row.max() >= len(clusters):
                raise InvalidArgumentError(f"input_ids must lie in [0, {len(clusters) - 1}]")
            h = height or (len(row) // width if width else int(round(len(row) ** 0.5)))
            w = width or len(row) // h
            if h * w != len(row):
                raise InvalidArgumentError(f"{len(row)} ids do not form a {h}x{w} image; pass height and width")
            colours = np.rint(127.5 * (clusters[row] + 1.0))
            images.append(np.clip(colours, 0, 255).astype(np.uint8).reshape(h, w, 3))
        return images
