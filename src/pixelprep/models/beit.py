"""BEiT (and data2vec-vision): resize to 224x224, optional center crop, optional segmentation maps."""

from ..auto import register_family
from ..segmentation import SemanticSegmentationProcessor
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


@register_family
class BeitImageProcessor(SemanticSegmentationProcessor):
    """BEiT and data2vec-vision."""

    transformers_class = "BeitImageProcessor"
    model_types = ("beit", "data2vec-vision")
    class_aliases = ("BeitFeatureExtractor",)
    nearest_labels = False  # transformers resizes BEiT's maps with the images' filter
    defaults = {
        "do_resize": True,
        "size": {"height": 224, "width": 224},
        "resample": 3,
        "do_center_crop": False,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
    }
