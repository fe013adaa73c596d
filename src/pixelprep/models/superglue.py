"""SuperGlue and LightGlue: image pairs resized to 480x640, rescaled and made gray; keypoint-matching post-processing.

Images come as one pair ``[image0, image1]`` or a list of pairs; ``pixel_values`` is (pairs, 2, 3, H, W).
Both transformers classes turn images gray after rescaling (see :mod:`.superpoint`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..auto import register_family
from ..errors import InvalidArgumentError, InvalidImageError
from ..features import BatchFeature
from ..inputs import LoadOptions, to_canonical
from ..postprocess import model_outputs, to_numpy_like
from .superpoint import GrayscaleProcessor, _int32, _target_sizes

PAIRS_FORM = "one pair [image0, image1] or a list of pairs [[image0, image1], ...]"


def _is_single_image(item: Any) -> bool:
    if isinstance(item, (list, tuple, dict)):
        return False
    return getattr(item, "ndim", 3) in (2, 3)  # a 4-D array is a batch, not one image of a pair


def image_pairs(images: Any, family: str) -> list[Any]:
    """``images`` as a flat list image0, image1, image0, image1, ...; anything but pairs is an :class:`InvalidArgumentError`."""
    if not isinstance(images, (list, tuple)) or not images:
        raise InvalidArgumentError(f"{family} takes image pairs: {PAIRS_FORM}; got {type(images).__name__}")
    if all(isinstance(item, (list, tuple)) for item in images):
        flat = []
        for index, pair in enumerate(images):
            if len(pair) != 2 or not all(_is_single_image(item) for item in pair):
                raise InvalidArgumentError(f"{family} takes image pairs: pair {index} holds {len(pair)} item(s), not 2 images ({PAIRS_FORM})")
            flat.extend(pair)
        return flat
    if len(images) == 2 and all(_is_single_image(item) for item in images):
        return list(images)
    raise InvalidArgumentError(f"{family} takes image pairs: {PAIRS_FORM}; got a list of {len(images)} item(s)")


@register_family
class SuperGlueImageProcessor(GrayscaleProcessor):
    """SuperGlue (keypoint matching of image pairs)."""

    transformers_class = "SuperGlueImageProcessor"
    model_types = ("superglue",)
    defaults = {"do_grayscale": True}
    #: Why ``pixelprep run`` (one image per row) cannot run this family.
    runner_refusal: ClassVar[str] = "it takes image pairs; call the processor on [[image0, image1], ...] instead"

    def __call__(self, images: Any, **kwargs: Any) -> BatchFeature:
        """Preprocess one pair of images or a list of pairs."""
        return self.preprocess(images, **kwargs)

    def preprocess(self, images: Any, **kwargs: Any) -> BatchFeature:
        """Same as calling the processor: ``pixel_values`` is (pairs, 2, 3, H, W), or a list of pairs where sizes differ."""
        flat = image_pairs(images, type(self).__name__)
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        features = self.process_images(flat, params, backend)
        values = features["pixel_values"]
        if isinstance(values, list):  # sizes differ (do_resize=False): each pair as a list of its two images
            features["pixel_values"] = [values[i : i + 2] for i in range(0, len(values), 2)]
            if params.get("return_tensors") is not None:
                sizes = [tuple(int(n) for n in value.shape) for value in values]
                raise InvalidImageError(f"cannot stack pairs of images of different sizes {sorted(set(sizes))} into one tensor; resize them (do_resize=True) or pass return_tensors=None")
        else:
            features["pixel_values"] = values.reshape(len(values) // 2, 2, *values.shape[1:])
        return self.finalize(features, params, backend)

    def post_process_keypoint_matching(self, outputs: Any, target_sizes: Any, threshold: float = 0.0) -> list[dict[str, Any]]:
        """Per pair, the matched keypoints of both images in pixels of ``target_sizes`` ((pairs, 2, 2): (height, width)) and their scores.

        A match is kept where both keypoints are real (``mask``), its score is above ``threshold`` and it points at a keypoint.
        """
        (mask, keypoints, matches, scores), from_numpy = model_outputs(outputs, "mask", "keypoints", "matches", "matching_scores")
        pixels = _pair_pixels(keypoints, target_sizes, len(mask))
        results = []
        for index in range(len(mask)):
            real0, real1 = mask[index, 0] > 0, mask[index, 1] > 0
            keypoints0, keypoints1 = pixels[index, 0][real0], pixels[index, 1][real1]
            matches0, scores0 = matches[index, 0][real0], scores[index, 0][real0]
            valid = (scores0 > threshold) & (matches0 > -1) & (matches0 < len(keypoints1))
            results.append({"keypoints0": keypoints0[valid], "keypoints1": keypoints1[matches0[valid]], "matching_scores": scores0[valid]})
        return to_numpy_like(results, from_numpy)

    def visualize_keypoint_matching(self, images: Any, keypoint_matching_output: list[dict[str, Any]]) -> list[Any]:
        """One PIL image per pair: the two images side by side, matches drawn as lines from red (score 0) to green (score 1)."""
        from PIL import Image, ImageDraw

        flat = [np.asarray(to_canonical(item, LoadOptions(convert_rgb=True))) for item in image_pairs(images, type(self).__name__)]
        if len(keypoint_matching_output) != len(flat) // 2:
            raise InvalidArgumentError(f"got {len(keypoint_matching_output)} matching results for {len(flat) // 2} image pairs")
        plots = []
        for (left, right), matched in zip(zip(flat[::2], flat[1::2]), keypoint_matching_output):
            offset = left.shape[1]
            canvas = np.zeros((max(left.shape[0], right.shape[0]), offset + right.shape[1], 3), np.uint8)
            canvas[: left.shape[0], :offset] = left
            canvas[: right.shape[0], offset:] = right
            plot = Image.fromarray(canvas)
            draw = ImageDraw.Draw(plot)
            points0, points1 = np.asarray(matched["keypoints0"]).tolist(), np.asarray(matched["keypoints1"]).tolist()
            for (x0, y0), (x1, y1), score in zip(points0, points1, np.asarray(matched["matching_scores"], np.float32)):
                # float32 arithmetic, then truncation: transformers' colours from its float32 scores
                colour = (int(np.float32(255) * (np.float32(1) - score)), int(np.float32(255) * score), 0)
                draw.line((x0, y0, x1 + offset, y1), fill=colour, width=3)
                draw.ellipse((x0 - 2, y0 - 2, x0 + 2, y0 + 2), fill="black")
                draw.ellipse((x1 + offset - 2, y1 - 2, x1 + offset + 2, y1 + 2), fill="black")
            plots.append(plot)
        return plots


def _pair_pixels(keypoints: Any, target_sizes: Any, count: int) -> Any:
    """Relative (x, y) keypoints of (pairs, 2, N, 2) in int32 pixels of each image's (height, width) target size."""
    sizes = _target_sizes(target_sizes, count, (2, 2), keypoints.device)
    return (keypoints * sizes.flip(-1).reshape(-1, 2, 1, 2)).to(_int32())


@register_family
class LightGlueImageProcessor(SuperGlueImageProcessor):
    """LightGlue: SuperGlue's processor under its own name."""

    transformers_class = "LightGlueImageProcessor"
    model_types = ("lightglue",)
