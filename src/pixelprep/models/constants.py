"""Normalisation constants shared by many checkpoints."""

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_DEFAULT_MEAN = (0.485, 0.456, 0.406)
IMAGENET_DEFAULT_STD = (0.229, 0.224, 0.225)
IMAGENET_STANDARD_MEAN = (0.5, 0.5, 0.5)
IMAGENET_STANDARD_STD = (0.5, 0.5, 0.5)

#: Rescale, 0.5/0.5 normalize and RGB conversion: the defaults PerceptionLM, MiniCPM-V and Kimi-K2.5 share.
STANDARD_RGB_NORMALIZE = {"do_rescale": True, "do_normalize": True, "image_mean": IMAGENET_STANDARD_MEAN, "image_std": IMAGENET_STANDARD_STD, "do_convert_rgb": True}
