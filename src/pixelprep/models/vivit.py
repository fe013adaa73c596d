"""ViViT: VideoMAE's per-frame pipeline at shortest edge 256, rescaled by 1/127.5 and offset by -1 to [-1, 1], then 0.5/0.5 normalised.

transformers 5.23 has one class, a NumPy + Pillow one (listed under its torchvision backend): the pil backend
matches it exactly; the torchvision backend resizes with torchvision's antialiased filter (README gives the bound).
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..errors import InvalidArgumentError
from ..params import normalize_bool
from .videomae import VideoMAEImageProcessor


@register_family
class VivitImageProcessor(VideoMAEImageProcessor):
    """ViViT: frames to shortest edge 256, center crop 224x224, ``x / 127.5 - 1`` (``offset``), 0.5/0.5 normalisation."""

    transformers_class = "VivitImageProcessor"
    model_types = ("vivit",)
    defaults = {"size": {"shortest_edge": 256}, "rescale_factor": 1 / 127.5, "offset": True}
    extra_params = {"offset": normalize_bool}

    def affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        """With ``offset``, rescaled values are shifted by -1 before normalising: the same map as a mean larger by 1."""
        scale, mean, std = super().affine_parts(params)
        if not params.get("offset"):
            return scale, mean, std
        if scale is None:
            raise InvalidArgumentError("offset=True shifts rescaled values by -1, so it needs do_rescale=True (or pass offset=False)")
        if mean is None:
            return scale, (1.0,), (1.0,)
        return scale, tuple(m + 1.0 for m in mean), std

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        """The pipeline, with the offset shown as its own step rather than folded into the mean."""
        params = self._params if params is None else params
        if not params.get("offset") or not params.get("do_rescale"):
            return super().describe_pipeline(params)
        lines = super().describe_pipeline({**params, "offset": False})
        at = next(i for i, line in enumerate(lines) if line.startswith("rescale"))
        return lines[: at + 1] + ["subtract 1 (offset)"] + lines[at + 1 :]
