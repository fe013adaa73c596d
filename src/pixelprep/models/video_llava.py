"""Video-LLaVA's image processor: CLIP's preprocessing, its output named ``pixel_values_images`` by default.

transformers 5.23 still returns the legacy key unless a call passes ``return_legacy_image_output=False``
(then ``pixel_values``). Videos are not this class's job: transformers reads them with its separate
``VideoLlavaVideoProcessor``, which pixelprep does not provide.
"""

from typing import Any

from ..auto import register_family
from ..backends import Backend
from ..features import BatchFeature
from ..params import normalize_bool
from .clip import CLIPImageProcessor

LEGACY_KEY = "pixel_values_images"


@register_family
class VideoLlavaImageProcessor(CLIPImageProcessor):
    """Video-LLaVA images: CLIP's pipeline; ``pixel_values_images`` unless ``return_legacy_image_output=False``."""

    transformers_class = "VideoLlavaImageProcessor"
    model_types = ("video_llava",)
    class_aliases = ()
    # None means the legacy default (True); a call-time switch, so it is not written to saved configs
    defaults = {"return_legacy_image_output": None}
    extra_params = {"return_legacy_image_output": normalize_bool}

    def describe_finalize(self, params: dict[str, Any]) -> list[str]:
        if params.get("return_legacy_image_output") is False:
            return []
        return [f"output named {LEGACY_KEY} (return_legacy_image_output=False: pixel_values)"]

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        features = super().finalize(features, params, backend)
        if params.get("return_legacy_image_output") is not False:
            features.data[LEGACY_KEY] = features.data.pop("pixel_values")
        return features
