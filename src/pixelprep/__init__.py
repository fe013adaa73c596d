"""pixelprep: model-ready image inputs, matching transformers' image processors, faster.

``import pixelprep`` loads neither torch nor transformers; torch loads when the torchvision backend is first used.
"""

#: The most pixels (height x width) of any image pixelprep takes in as an array, tensor or PIL image, or
#: makes (every resize, crop and padded canvas), checked before anything is allocated. The default is
#: the size at which Pillow refuses to decode a file (2 x PIL.Image.MAX_IMAGE_PIXELS); raise it, or set
#: None for no limit, to process larger images.
MAX_OUTPUT_PIXELS: int | None = 178_956_970

from .auto import AutoImageProcessor  # noqa: E402 - the limit above is read by the modules below
from .backends import Backend, available_backends, register_backend
from .buffers import release_cached_memory
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
    OutputError,
    OutputLockedError,
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


def patch_transformers() -> None:
    """Make transformers' ``AutoImageProcessor.from_pretrained`` (pipelines, ``AutoProcessor``) return pixelprep processors.

    See :mod:`pixelprep.transformers_compat`; importing pixelprep alone never changes transformers.
    """
    from .transformers_compat import patch_transformers as patch

    patch()


def unpatch_transformers() -> None:
    """Undo :func:`patch_transformers`."""
    from .transformers_compat import unpatch_transformers as unpatch

    unpatch()


__all__ = [
    "MAX_OUTPUT_PIXELS",
    "AutoImageProcessor",
    "Backend",
    "BatchFeature",
    "ImageProcessor",
    "available_backends",
    "register_backend",
    "release_cached_memory",
    "patch_transformers",
    "unpatch_transformers",
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
    "OutputError",
    "OutputLockedError",
    "OutputShapeError",
    "RemoteCodeError",
    "UnknownArgumentError",
    "UnsupportedInputError",
    *_family_names,
]
