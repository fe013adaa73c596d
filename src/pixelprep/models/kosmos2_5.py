"""Kosmos-2.5: Pix2Struct's flattened patches at 4096 patches, plus each image's resized ``width``/``height`` and patch ``rows``/``cols``."""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from .pix2struct import FlattenedPatchesProcessor


@register_family
class Kosmos2_5ImageProcessor(FlattenedPatchesProcessor):
    """Kosmos-2.5 (text-rich images: OCR and markdown)."""

    transformers_class = "Kosmos2_5ImageProcessor"
    model_types = ("kosmos-2.5",)
    defaults = {"max_patches": 4096}
    # what transformers 5.23's class declares (its processor combines it with the tokenizer's names)
    model_input_names = ["pixel_values"]

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        """The resized size and the patch grid of every image, as int64 arrays."""
        return ("width", "height", "rows", "cols")
