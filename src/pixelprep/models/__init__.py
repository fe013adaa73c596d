"""Built-in model families; importing this package registers them with ``AutoImageProcessor``."""

from .bit import BitImageProcessor
from .blip import BlipImageProcessor
from .chameleon import ChameleonImageProcessor
from .clip import ChineseCLIPImageProcessor, CLIPImageProcessor
from .convnext import ConvNextImageProcessor
from .beit import BeitImageProcessor
from .deit import DeiTImageProcessor
from .dpt import DPTImageProcessor
from .emu3 import Emu3ImageProcessor
from .gemma4 import Gemma4ImageProcessor
from .glm4v import Glm4vImageProcessor, Glm46VImageProcessor
from .detr import (
    ConditionalDetrImageProcessor,
    DeformableDetrImageProcessor,
    DetrImageProcessor,
    GroundingDinoImageProcessor,
    RTDetrImageProcessor,
    YolosImageProcessor,
)
from .imagegpt import ImageGPTImageProcessor
from .levit import LevitImageProcessor
from .maskformer import Mask2FormerImageProcessor, MaskFormerImageProcessor
from .mobilenet_v2 import MobileNetV2ImageProcessor
from .owlvit import OwlViTImageProcessor
from .qwen2_vl import Qwen2VLImageProcessor
from .sam import SamImageProcessor
from .segformer import SegformerImageProcessor
from .siglip import SiglipImageProcessor
from .siglip2 import Siglip2ImageProcessor
from .vit import ViTImageProcessor

__all__ = [
    "BitImageProcessor",
    "BlipImageProcessor",
    "ChameleonImageProcessor",
    "ChineseCLIPImageProcessor",
    "CLIPImageProcessor",
    "ConvNextImageProcessor",
    "DeiTImageProcessor",
    "ConditionalDetrImageProcessor",
    "DeformableDetrImageProcessor",
    "DetrImageProcessor",
    "GroundingDinoImageProcessor",
    "RTDetrImageProcessor",
    "YolosImageProcessor",
    "ImageGPTImageProcessor",
    "LevitImageProcessor",
    "SiglipImageProcessor",
    "Siglip2ImageProcessor",
    "ViTImageProcessor",
    "BeitImageProcessor",
    "DPTImageProcessor",
    "Emu3ImageProcessor",
    "Gemma4ImageProcessor",
    "Glm4vImageProcessor",
    "Glm46VImageProcessor",
    "Mask2FormerImageProcessor",
    "MaskFormerImageProcessor",
    "MobileNetV2ImageProcessor",
    "OwlViTImageProcessor",
    "Qwen2VLImageProcessor",
    "SamImageProcessor",
    "SegformerImageProcessor",
]
