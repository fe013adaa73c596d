"""Built-in model families; importing this package registers them with ``AutoImageProcessor``."""

from .aria import AriaImageProcessor
from .bit import BitImageProcessor
from .blip import BlipImageProcessor
from .bridgetower import BridgeTowerImageProcessor
from .chameleon import ChameleonImageProcessor
from .chmv2 import CHMv2ImageProcessor
from .clip import ChineseCLIPImageProcessor, CLIPImageProcessor
from .cohere_compass import CohereCompassImageProcessor
from .convnext import ConvNextImageProcessor
from .beit import BeitImageProcessor
from .deit import DeiTImageProcessor
from .cosmos3_edge import Cosmos3EdgeImageProcessor
from .deepseek_ocr2 import DeepseekOcr2ImageProcessor
from .unlimited_ocr import UnlimitedOcrImageProcessor
from .deepseek_vl import DeepseekVLHybridImageProcessor, DeepseekVLImageProcessor, JanusImageProcessor
from .dinov3 import DINOv3ViTImageProcessor
from .donut import DonutImageProcessor
from .depth_pro import DepthProImageProcessor
from .dpt import DPTImageProcessor
from .emu3 import Emu3ImageProcessor
from .eomt import EomtImageProcessor
from .ernie4_5_vl_moe import Ernie4_5_VLMoeImageProcessor
from .gemma4 import Gemma4ImageProcessor
from .gemma4_unified import Gemma4UnifiedImageProcessor
from .glm4v import Glm4vImageProcessor, Glm46VImageProcessor
from .glm5_next import Glm5NextImageProcessor
from .glm_image import GlmImageImageProcessor
from .glmga import GlmgaImageProcessor
from .detr import (
    ConditionalDetrImageProcessor,
    DeformableDetrImageProcessor,
    DetrImageProcessor,
    GroundingDinoImageProcessor,
    RTDetrImageProcessor,
    YolosImageProcessor,
)
from .efficientloftr import EfficientLoFTRImageProcessor
from .efficientnet import EfficientNetImageProcessor
from .flava import FlavaImageProcessor
from .fuyu import FuyuImageProcessor
from .glpn import GLPNImageProcessor
from .hunyuan_vl import HunYuanVLImageProcessor
from .gemma3 import Gemma3ImageProcessor
from .idefics import IdeficsImageProcessor
from .idefics2 import Idefics2ImageProcessor
from .idefics3 import Idefics3ImageProcessor, SmolVLMImageProcessor
from .minimax_m3_vl import MiniMaxM3VLImageProcessor
from .nemotron_h_omni import NemotronH_Omni_Reasoning_V3ImageProcessor
from .step3p7 import Step3p7ImageProcessor
from .lfm2_vl import Lfm2VlImageProcessor
from .got_ocr2 import Cohere2VisionImageProcessor, GotOcr2ImageProcessor
from .granite_docling import GraniteDoclingImageProcessor
from .imagegpt import ImageGPTImageProcessor
from .kimi_k25 import Kimi_K25ImageProcessor
from .inkling import InklingImageProcessor
from .inkling2 import Inkling2ImageProcessor
from .muse_glimmer import MuseGlimmerImageProcessor
from .neomme import NeoMMEImageProcessor
from .layoutlmv2 import LayoutLMv2ImageProcessor
from .layoutlmv3 import LayoutLMv3ImageProcessor
from .kosmos2_5 import Kosmos2_5ImageProcessor
from .levit import LevitImageProcessor
from .llama4 import Llama4ImageProcessor
from .llava import LlavaImageProcessor
from .llava_next import LlavaNextImageProcessor, LlavaOnevisionImageProcessor
from .minicpmv import MiniCPMOcrImageProcessor, MiniCPMV4_6ImageProcessor
from .mllama import MllamaImageProcessor
from .maskformer import Mask2FormerImageProcessor, MaskFormerImageProcessor
from .mobilenet_v1 import MobileNetV1ImageProcessor
from .mobilenet_v2 import MobileNetV2ImageProcessor
from .molmo2 import Molmo2ImageProcessor
from .mobilevit import MobileViTImageProcessor
from .ovis2 import Ovis2ImageProcessor
from .owlvit import OwlViTImageProcessor
from .paddleocr_vl import PaddleOCRVLImageProcessor
from .nougat import NougatImageProcessor
from .pix2struct import Pix2StructImageProcessor
from .phi4_multimodal import Phi4MultimodalImageProcessor
from .oneformer import OneFormerImageProcessor
from .owlv2 import Owlv2ImageProcessor
from .pixtral import PixtralImageProcessor
from .pp_chart2table import PPChart2TableImageProcessor
from .uvdoc import UVDocImageProcessor
from .pp_doclayout import PPDocLayoutV2ImageProcessor, PPDocLayoutV3ImageProcessor, PPDocLayoutV4ImageProcessor
from .pp_formulanet import PPFormulaNetImageProcessor
from .pp_lcnet import PPLCNetImageProcessor
from .pp_ocr_det import PPOCRV5ServerDetImageProcessor
from .pp_ocr_rec import PPOCRV5ServerRecImageProcessor, PPOCRV6SmallRecImageProcessor
from .qwen2_vl import Qwen2VLImageProcessor
from .perceiver import PerceiverImageProcessor
from .perception_lm import PerceptionLMImageProcessor
from .pi0 import PI0ImageProcessor
from .poolformer import PoolFormerImageProcessor
from .prompt_depth_anything import PromptDepthAnythingImageProcessor
from .pvt import PvtImageProcessor
from .sam import SamImageProcessor
from .sam2 import Sam2ImageProcessor
from .sam3 import Sam3ImageProcessor
from .sapiens2 import Sapiens2ImageProcessor
from .rf_detr import RfDetrImageProcessor
from .segformer import SegformerImageProcessor
from .seggpt import SegGptImageProcessor
from .siglip import SiglipImageProcessor
from .swin2sr import Swin2SRImageProcessor
from .textnet import TextNetImageProcessor
from .timm_wrapper import TimmWrapperImageProcessor
from .tipsv2 import Tipsv2ImageProcessor
from .tipsv2_dpt import Tipsv2DptImageProcessor
from .video_llava import VideoLlavaImageProcessor
from .ultravbert import UltraVBertImageProcessor
from .vilt import ViltImageProcessor
from .videomae import VideoMAEImageProcessor
from .vivit import VivitImageProcessor
from .tvp import TvpImageProcessor
from .siglip2 import Siglip2ImageProcessor
from .video_llama_3 import VideoLlama3ImageProcessor
from .slanext import SLANeXtImageProcessor
from .superglue import LightGlueImageProcessor, SuperGlueImageProcessor
from .superpoint import SuperPointImageProcessor
from .vit import ViTImageProcessor
from .vitmatte import VitMatteImageProcessor
from .vitpose import VitPoseImageProcessor
from .zoedepth import ZoeDepthImageProcessor

__all__ = [
    "AriaImageProcessor",
    "BitImageProcessor",
    "BlipImageProcessor",
    "ChameleonImageProcessor",
    "ChineseCLIPImageProcessor",
    "CohereCompassImageProcessor",
    "CLIPImageProcessor",
    "ConvNextImageProcessor",
    "DeiTImageProcessor",
    "DeepseekOcr2ImageProcessor",
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
    "IdeficsImageProcessor",
    "Idefics2ImageProcessor",
    "Idefics3ImageProcessor",
    "SmolVLMImageProcessor",
    "Cohere2VisionImageProcessor",
    "GotOcr2ImageProcessor",
    "GraniteDoclingImageProcessor",
    "ImageGPTImageProcessor",
    "Kimi_K25ImageProcessor",
    "InklingImageProcessor",
    "Inkling2ImageProcessor",
    "MuseGlimmerImageProcessor",
    "NeoMMEImageProcessor",
    "LayoutLMv2ImageProcessor",
    "LayoutLMv3ImageProcessor",
    "Kosmos2_5ImageProcessor",
    "LevitImageProcessor",
    "Lfm2VlImageProcessor",
    "Llama4ImageProcessor",
    "UltraVBertImageProcessor",
    "Cosmos3EdgeImageProcessor",
    "Molmo2ImageProcessor",
    "LlavaImageProcessor",
    "LlavaNextImageProcessor",
    "LlavaOnevisionImageProcessor",
    "MiniCPMOcrImageProcessor",
    "MiniCPMV4_6ImageProcessor",
    "MllamaImageProcessor",
    "SiglipImageProcessor",
    "Siglip2ImageProcessor",
    "SLANeXtImageProcessor",
    "ViTImageProcessor",
    "BeitImageProcessor",
    "DonutImageProcessor",
    "DPTImageProcessor",
    "Emu3ImageProcessor",
    "EomtImageProcessor",
    "Gemma4ImageProcessor",
    "Gemma4UnifiedImageProcessor",
    "Glm4vImageProcessor",
    "Glm46VImageProcessor",
    "Mask2FormerImageProcessor",
    "MaskFormerImageProcessor",
    "MobileNetV2ImageProcessor",
    "OwlViTImageProcessor",
    "Ovis2ImageProcessor",
    "Pix2StructImageProcessor",
    "Phi4MultimodalImageProcessor",
    "Owlv2ImageProcessor",
    "ZoeDepthImageProcessor",
    "DepthProImageProcessor",
    "CHMv2ImageProcessor",
    "PromptDepthAnythingImageProcessor",
    "SegGptImageProcessor",
    "OneFormerImageProcessor",
    "RfDetrImageProcessor",
    "PixtralImageProcessor",
    "PPChart2TableImageProcessor",
    "UVDocImageProcessor",
    "PPDocLayoutV2ImageProcessor",
    "PPDocLayoutV3ImageProcessor",
    "PPDocLayoutV4ImageProcessor",
    "PPFormulaNetImageProcessor",
    "PPLCNetImageProcessor",
    "PPOCRV5ServerDetImageProcessor",
    "PPOCRV5ServerRecImageProcessor",
    "PPOCRV6SmallRecImageProcessor",
    "Qwen2VLImageProcessor",
    "SamImageProcessor",
    "Sam2ImageProcessor",
    "Sam3ImageProcessor",
    "Sapiens2ImageProcessor",
    "SegformerImageProcessor",
    "BridgeTowerImageProcessor",
    "DINOv3ViTImageProcessor",
    "EfficientNetImageProcessor",
    "FlavaImageProcessor",
    "FuyuImageProcessor",
    "GLPNImageProcessor",
    "MobileNetV1ImageProcessor",
    "MobileViTImageProcessor",
    "NougatImageProcessor",
    "PerceiverImageProcessor",
    "PerceptionLMImageProcessor",
    "PI0ImageProcessor",
    "PoolFormerImageProcessor",
    "PvtImageProcessor",
    "Swin2SRImageProcessor",
    "SuperPointImageProcessor",
    "SuperGlueImageProcessor",
    "LightGlueImageProcessor",
    "EfficientLoFTRImageProcessor",
    "TextNetImageProcessor",
    "TimmWrapperImageProcessor",
    "UnlimitedOcrImageProcessor",
    "Tipsv2ImageProcessor",
    "Tipsv2DptImageProcessor",
    "VideoLlavaImageProcessor",
    "ViltImageProcessor",
    "VitMatteImageProcessor",
    "Ernie4_5_VLMoeImageProcessor",
    "HunYuanVLImageProcessor",
    "MiniMaxM3VLImageProcessor",
    "NemotronH_Omni_Reasoning_V3ImageProcessor",
    "Step3p7ImageProcessor",
    "PaddleOCRVLImageProcessor",
    "VideoLlama3ImageProcessor",
    "Glm5NextImageProcessor",
    "GlmImageImageProcessor",
    "GlmgaImageProcessor",
    "VitPoseImageProcessor",
    "VideoMAEImageProcessor",
    "VivitImageProcessor",
    "TvpImageProcessor",
]
