"""CLIP (and Chinese-CLIP): resize the shortest edge, center crop, CLIP normalisation."""

from typing import Any

from ..auto import register_family
from ..processor import ImageProcessor
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

CLIP_DEFAULTS = {
    "do_resize": True,
    "size": {"shortest_edge": 224},
    "resample": 3,
    "default_to_square": False,
    "do_center_crop": True,
    "crop_size": {"height": 224, "width": 224},
    "do_rescale": True,
    "do_normalize": True,
    "image_mean": OPENAI_CLIP_MEAN,
    "image_std": OPENAI_CLIP_STD,
    "do_convert_rgb": True,
}


@register_family
class CLIPImageProcessor(ImageProcessor):
    """CLIP and the many models that reuse its preprocessing."""

    transformers_class = "CLIPImageProcessor"
    model_types = ("clip", "clip_vision_model", "aimv2", "aimv2_vision_model", "altclip", "florence2", "git", "groupvit",
                   "kosmos-2", "metaclip_2", "mlcd", "vipllava", "xclip")
    defaults = CLIP_DEFAULTS

    @classmethod
    def upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Kosmos-2 configs say ``use_square_size``: resize to a square of the shortest edge."""
        if config.pop("use_square_size", False):
            edge = config.get("size", cls.defaults["size"])
            edge = edge.get("shortest_edge") if isinstance(edge, dict) else edge
            config["size"] = {"height": edge, "width": edge}
        return config


@register_family
class ChineseCLIPImageProcessor(ImageProcessor):
    """Chinese-CLIP: CLIP's preprocessing under its own class name."""

    transformers_class = "ChineseCLIPImageProcessor"
    model_types = ("chinese_clip", "chinese_clip_vision_model")
    defaults = CLIP_DEFAULTS
