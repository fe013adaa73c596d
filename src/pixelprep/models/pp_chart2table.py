"""PP-Chart2Table: charts warped to 1024x1024 (bicubic), CLIP's statistics."""

from ..auto import register_family
from ..processor import ImageProcessor
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD


@register_family
class PPChart2TableImageProcessor(ImageProcessor):
    """PP-Chart2Table (chart to table)."""

    transformers_class = "PPChart2TableImageProcessor"
    model_types = ("pp_chart2table",)
    defaults = {
        "do_resize": True,
        "size": {"height": 1024, "width": 1024},
        "resample": 3,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
    }
