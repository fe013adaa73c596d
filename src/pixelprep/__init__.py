"""pixelprep: model-ready image inputs, matching transformers' image processors, faster.

``import pixelprep`` loads neither torch nor transformers; torch loads when the torchvision backend is first used.
"""

from .auto import AutoImageProcessor
from .backends import Backend, available_backends, register_backend
from .errors import (
    ArgumentTypeError,
    BackendUnavailableError,
    ConfigError,
    ConfigNotFoundError,
    DecompressionBombError,
    DownloadError,
    ImageDecodeError,
    ImageNotFoundError,
    InvalidArgumentError,
    InvalidImageError,
    OutputShapeError,
    PixelprepError,
    RemoteCodeError,
    UnknownArgumentError,
    UnsupportedInputError,
)
from .features import BatchFeature
from .integrations import collate, datasets_transform, from_open_clip, from_timm
from .models import *  # noqa: F403 - registers the built-in families
from .models import __all__ as _family_names
from .processor import ImageProcessor

__version__ = "0.1.0"

__all__ = [
    "AutoImageProcessor",
    "Backend",
    "BatchFeature",
    "ImageProcessor",
    "available_backends",
    "register_backend",
    "collate",
    "datasets_transform",
    "from_open_clip",
    "from_timm",
    "PixelprepError",
    "ArgumentTypeError",
    "BackendUnavailableError",
    "ConfigError",
    "ConfigNotFoundError",
    "DecompressionBombError",
    "DownloadError",
    "ImageDecodeError",
    "ImageNotFoundError",
    "InvalidArgumentError",
    "InvalidImageError",
    "OutputShapeError",
    "RemoteCodeError",
    "UnknownArgumentError",
    "UnsupportedInputError",
    *_family_names,
]
