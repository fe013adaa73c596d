"""Built-in model families; importing this package registers them with ``AutoImageProcessor``."""

from .bit import BitImageProcessor
from .blip import BlipImageProcessor
from .chameleon import ChameleonImageProcessor
from .clip import ChineseCLIPImageProcessor, CLIPImageProcessor
from .convnext import ConvNextImageProcessor
from .beit import BeitImageProcessor
from .deit import DeiTImageProcessor
from .dpt import DPTImageProcessor
from .detr import (
    ConditionalDetrImageProcessor,
    DeformableDetrImageProcessor,
    DetrImageProcessor,
    GroundingDinoImageProcessor,
    RTDetrImageProcessor,
    YolosImageProcessor,
)
from .got_ocr2 import Cohere2VisionImageProcessor, GotOcr2ImageProcessor
from .imagegpt import ImageGPTImageProcessor
from .levit import LevitImageProcessor
from .llava import LlavaImageProcessor
from .llava_next import LlavaNextImageProcessor, LlavaOnevisionImageProcessor
from .maskformer import Mask2FormerImageProcessor, MaskFormerImageProcessor
from .mobilenet_v2 import MobileNetV2ImageProcessor
from .owlvit import OwlViTImageProcessor
from .qwen2_vl import Qwen2VLImageProcessor
from .sam import SamImageProcessor
from .segformer import SegformerImageProcessor
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
    "ConditionalDetrImageProcessor",
    "DeformableDetrImageProcessor",
    "DetrImageProcessor",
    "GroundingDinoImageProcessor",
    "RTDetrImageProcessor",
    "YolosImageProcessor",
    "Cohere2VisionImageProcessor",
    "GotOcr2ImageProcessor",
    "ImageGPTImageProcessor",
    "LevitImageProcessor",
    "LlavaImageProcessor",
    "LlavaNextImageProcessor",
    "LlavaOnevisionImageProcessor",
    "SiglipImageProcessor",
    "ViTImageProcessor",
    "BeitImageProcessor",
    "DPTImageProcessor",
    "Mask2FormerImageProcessor",
    "MaskFormerImageProcessor",
    "MobileNetV2ImageProcessor",
    "OwlViTImageProcessor",
    "Qwen2VLImageProcessor",
    "SamImageProcessor",
    "SegformerImageProcessor",
]
