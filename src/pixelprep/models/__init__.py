"""Built-in model families; importing this package registers them with ``AutoImageProcessor``."""

from .aria import AriaImageProcessor
from .bit import BitImageProcessor
from .blip import BlipImageProcessor
from .bridgetower import BridgeTowerImageProcessor
from .chameleon import ChameleonImageProcessor
from .clip import ChineseCLIPImageProcessor, CLIPImageProcessor
from .convnext import ConvNextImageProcessor
from .beit import BeitImageProcessor
from .deit import DeiTImageProcessor
from .deepseek_vl import DeepseekVLHybridImageProcessor, DeepseekVLImageProcessor, JanusImageProcessor
from .dinov3 import DINOv3ViTImageProcessor
from .depth_pro import DepthProImageProcessor
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
from .efficientnet import EfficientNetImageProcessor
from .flava import FlavaImageProcessor
from .glpn import GLPNImageProcessor
from .gemma3 import Gemma3ImageProcessor
from .idefics2 import Idefics2ImageProcessor
from .idefics3 import Idefics3ImageProcessor, SmolVLMImageProcessor
from .got_ocr2 import Cohere2VisionImageProcessor, GotOcr2ImageProcessor
from .imagegpt import ImageGPTImageProcessor
from .levit import LevitImageProcessor
from .llava import LlavaImageProcessor
from .llava_next import LlavaNextImageProcessor, LlavaOnevisionImageProcessor
from .mllama import MllamaImageProcessor
from .maskformer import Mask2FormerImageProcessor, MaskFormerImageProcessor
from .mobilenet_v1 import MobileNetV1ImageProcessor
from .mobilenet_v2 import MobileNetV2ImageProcessor
from .mobilevit import MobileViTImageProcessor
from .oneformer import OneFormerImageProcessor
from .owlvit import OwlViTImageProcessor
from .owlv2 import Owlv2ImageProcessor
from .pixtral import PixtralImageProcessor
from .qwen2_vl import Qwen2VLImageProcessor
from .perceiver import PerceiverImageProcessor
from .poolformer import PoolFormerImageProcessor
from .prompt_depth_anything import PromptDepthAnythingImageProcessor
from .pvt import PvtImageProcessor
from .sam import SamImageProcessor
from .rf_detr import RfDetrImageProcessor
from .segformer import SegformerImageProcessor
from .seggpt import SegGptImageProcessor
from .siglip import SiglipImageProcessor
from .swin2sr import Swin2SRImageProcessor
from .textnet import TextNetImageProcessor
from .tipsv2 import Tipsv2ImageProcessor
from .vilt import ViltImageProcessor
from .siglip2 import Siglip2ImageProcessor
from .vit import ViTImageProcessor
from .vitmatte import VitMatteImageProcessor
from .zoedepth import ZoeDepthImageProcessor

__all__ = [
    "AriaImageProcessor",
    "BitImageProcessor",
    "BlipImageProcessor",
    "ChameleonImageProcessor",
    "ChineseCLIPImageProcessor",
    "CLIPImageProcessor",
    "ConvNextImageProcessor",
    "DeiTImageProcessor",
    "DeepseekVLHybridImageProcessor",
    "DeepseekVLImageProcessor",
    "JanusImageProcessor",
    "ConditionalDetrImageProcessor",
    "DeformableDetrImageProcessor",
    "DetrImageProcessor",
    "GroundingDinoImageProcessor",
    "RTDetrImageProcessor",
    "YolosImageProcessor",
    "Gemma3ImageProcessor",
    "Idefics2ImageProcessor",
    "Idefics3ImageProcessor",
    "SmolVLMImageProcessor",
    "Cohere2VisionImageProcessor",
    "GotOcr2ImageProcessor",
    "ImageGPTImageProcessor",
    "LevitImageProcessor",
    "LlavaImageProcessor",
    "LlavaNextImageProcessor",
    "LlavaOnevisionImageProcessor",
    "MllamaImageProcessor",
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
    "Owlv2ImageProcessor",
    "ZoeDepthImageProcessor",
    "DepthProImageProcessor",
    "PromptDepthAnythingImageProcessor",
    "SegGptImageProcessor",
    "OneFormerImageProcessor",
    "RfDetrImageProcessor",
    "PixtralImageProcessor",
    "Qwen2VLImageProcessor",
    "SamImageProcessor",
    "SegformerImageProcessor",
    "BridgeTowerImageProcessor",
    "DINOv3ViTImageProcessor",
    "EfficientNetImageProcessor",
    "FlavaImageProcessor",
    "GLPNImageProcessor",
    "MobileNetV1ImageProcessor",
    "MobileViTImageProcessor",
    "PerceiverImageProcessor",
    "PoolFormerImageProcessor",
    "PvtImageProcessor",
    "Swin2SRImageProcessor",
    "TextNetImageProcessor",
    "Tipsv2ImageProcessor",
    "ViltImageProcessor",
    "VitMatteImageProcessor",
]
