"""pixelprep where users already are: torch DataLoaders, Hugging Face datasets, torchvision, timm, open_clip.

Ray Data's ``map_batches`` callable is :class:`pixelprep.ray_engine.RayImageProcessor`. Nothing here
imports torch, timm or open_clip until it is used.
"""

from .loaders import collate, datasets_transform, image_from_record
from .open_clip_compat import from_open_clip, open_clip_preprocess_config
from .pipeline import ResizeKeepRatio, TransformsPipelineImageProcessor
from .timm_compat import from_timm, timm_data_config
from .torchvision_export import to_torchvision

__all__ = [
    "ResizeKeepRatio",
    "TransformsPipelineImageProcessor",
    "collate",
    "datasets_transform",
    "from_open_clip",
    "from_timm",
    "image_from_record",
    "open_clip_preprocess_config",
    "timm_data_config",
    "to_torchvision",
]
