"""EfficientLoFTR: SuperGlue's image-pair preprocessing; its matches come without a keypoint mask."""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..postprocess import model_outputs, to_numpy_like
from .superglue import SuperGlueImageProcessor, _pair_pixels


@register_family
class EfficientLoFTRImageProcessor(SuperGlueImageProcessor):
    """EfficientLoFTR (dense matching of image pairs)."""

    transformers_class = "EfficientLoFTRImageProcessor"
    model_types = ("efficientloftr",)

    def post_process_keypoint_matching(self, outputs: Any, target_sizes: Any, threshold: float = 0.0) -> list[dict[str, Any]]:
        """Per pair, the matched keypoints of both images in pixels of ``target_sizes`` ((pairs, 2, 2)) and their scores.

        Each image keeps the keypoints whose own match is valid (index above -1) and scored above ``threshold``.
        """
        (keypoints, matches, scores), from_numpy = model_outputs(outputs, "keypoints", "matches", "matching_scores")
        pixels = _pair_pixels(keypoints, target_sizes, len(matches))
        results = []
        for index in range(len(matches)):
            valid = (scores[index] > threshold) & (matches[index] > -1)
            results.append(
                {
                    "keypoints0": pixels[index, 0][valid[0]],
                    "keypoints1": pixels[index, 1][valid[1]],
                    "matching_scores": scores[index, 0][valid[0]],
                }
            )
        return to_numpy_like(results, from_numpy)
