"""Built-in model families; importing this package registers them with ``AutoImageProcessor``."""

from .bit import BitImageProcessor
from .blip import BlipImageProcessor
from .chameleon import ChameleonImageProcessor
from .clip import ChineseCLIPImageProcessor, CLIPImageProcessor
from .convnext import ConvNextImageProcessor
from .deit import DeiTImageProcessor
from .imagegpt import ImageGPTImageProcessor
from .levit import LevitImageProcessor
from .siglip import SiglipImageProcessor
from .vit import ViTImageProcessor

__all__ = [
    "BitImageProcessor",
    "BlipImageProcessor",
    "ChameleonImageProcessor",
    "ChineseCLIPImageProcessor",
    "CLIPImageProcessor",
    "ConvNextImageProcessor",
    "DeiTImageProcessor",
    "ImageGPTImageProcessor",
    "LevitImageProcessor",
    "SiglipImageProcessor",
    "ViTImageProcessor",
]
