"""PP-OCRv5 / PP-OCRv6 text recognition: a batch of text lines resized to one height and the widest line's width, padded to ``pad_size``.

Every image of a call is resized to ``size["height"]`` by the width the widest input needs at that
height (at least ``size["width"]``'s aspect, at most ``max_image_width``), so the batch stacks;
where that width is under ``pad_size["width"]`` each image is then zero-padded (after normalize) to
``pad_size``. PP-OCRv5 resizes the float pixels; PP-OCRv6 resizes the 8-bit pixels without
antialiasing (as OpenCV does) and reverses the channels to BGR before normalize.
``post_process_text_recognition`` decodes CTC logits with ``character_list``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from .. import geometry
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError
from ..features import BatchFeature
from ..params import _positive_int
from ..processor import CenterCrop, ImageProcessor
from ..segmentation import output_field, to_torch
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD
from .paddle_steps import FloatRuleResize, InterpolateResize, ReverseChannels, apply_steps, fixed_size, load_images


def normalize_character_list(value: Any, name: str) -> list[str] | None:
    """The recognition vocabulary: a list of strings (a string is its characters)."""
    if value is None:
        return None
    if isinstance(value, str):
        return list(value)
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise InvalidArgumentError(f"{name} must be a list of strings (the recognition vocabulary), got {type(value).__name__}")
    return list(value)


def widest_line_size(sizes: list[geometry.Size], height: int, width: int, max_image_width: int) -> geometry.Size:
    """(height, width) every text line of a batch is resized to: the widest input's aspect at ``height``, at least ``width / height``'s, capped at ``max_image_width``."""
    widest_height, widest_width = -1, -1
    for image_height, image_width in sizes:  # the first of the widest, as PaddleOCR picks it
        if image_width > widest_width:
            widest_height, widest_width = image_height, image_width
    target = int(height * max(widest_width / widest_height, width / height))
    if target > max_image_width:
        return height, max_image_width
    return height, min(target, math.ceil(height * (widest_width / widest_height)))


@register_family
class PPOCRV5ServerRecImageProcessor(ImageProcessor):
    """PP-OCRv5 server and mobile text recognition."""

    transformers_class = "PPOCRV5ServerRecImageProcessor"
    model_types = ("pp_ocrv5_server_rec", "pp_ocrv5_mobile_rec")
    defaults = {
        "do_resize": True,
        "size": {"height": 48, "width": 320},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
        "do_convert_rgb": True,
        "do_pad": True,
        "pad_size": {"height": 48, "width": 320},
        "max_image_width": 3200,
        "character_list": [],
    }
    extra_params = {"max_image_width": _positive_int, "character_list": normalize_character_list}
    #: The width every image is resized to depends on the widest image of the call: ``pixelprep run`` processes one at a time.
    sizes_depend_on_batch: ClassVar[bool] = True

    def line_size(self, sizes: list[geometry.Size], params: dict[str, Any]) -> geometry.Size:
        """The (height, width) the images of sizes ``sizes`` are resized to under ``params``."""
        size = params["size"]
        if set(size) != {"height", "width"}:
            raise InvalidArgumentError(f"{type(self).__name__}'s size must give 'height' and 'width', got {size}")
        return geometry.check_output_size(*widest_line_size(sizes, size["height"], size["width"], params["max_image_width"]), "a text line")

    def get_target_size(self, shape_list: list[Any]) -> dict[str, int]:
        """{"height", "width"} the images of (height, width) shapes ``shape_list`` are resized to, with this processor's settings (transformers' helper)."""
        height, width = self.line_size([(int(h), int(w)) for h, w in shape_list], self._params)
        return {"height": height, "width": width}

    def line_steps(self, target: geometry.Size, params: dict[str, Any]) -> list[Any]:
        """The per-image steps once the batch's line size is known."""
        steps: list[Any] = [FloatRuleResize(fixed_size(*target), params["resample"], f"to {target[0]}x{target[1]} (the batch's widest line)")] if params.get("do_resize") else []
        return steps

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """The steps of a batch whose widest line is ``size`` itself (for ``print(processor)``; a call sizes lines from its images)."""
        size = params["size"]
        return self._with_crop(self.line_steps((size["height"], size["width"]), params), params)

    @staticmethod
    def _with_crop(steps: list[Any], params: dict[str, Any]) -> list[Any]:
        if params.get("do_center_crop"):
            crop = params.get("crop_size")
            if crop is None:
                raise InvalidArgumentError("do_center_crop is True but crop_size is not set")
            steps.append(CenterCrop(crop["height"], crop["width"]))
        return steps

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """Resize every image to the batch's line size, then pad to ``pad_size`` where the lines are narrower."""
        loaded = load_images(self, images, params, backend)
        target = self.line_size([backend.size(image) for image in loaded], params)
        steps = self._with_crop(self.line_steps(target, params), params)
        pad_size = params.get("pad_size")
        pads = bool(params.get("do_pad")) and pad_size is not None and target[1] < pad_size["width"]
        return self._assemble(apply_steps(self, loaded, steps, backend), dict(params, do_pad=pads), backend, *self.affine_parts(params))

    def describe_finalize(self, params: dict[str, Any]) -> list[str]:
        size = params["size"]
        return [
            f"the resize: height {size['height']}, the width of the call's widest line (at least {size['width']}, at most {params['max_image_width']}); "
            "the padding only where that width is under pad_size's"
        ]

    def post_process_text_recognition(self, predictions: Any) -> list[dict[str, Any]]:
        """``[{"text", "score"}]`` per image from CTC logits (``last_hidden_state``, (batch, steps, vocabulary)).

        Repeated indices collapse and index 0 (the blank) is dropped; ``score`` is the mean top
        probability of the characters kept (NaN when none is).
        """
        logits, _ = to_torch(output_field(predictions, "last_hidden_state"))
        if logits.ndim != 3:
            raise InvalidArgumentError(f"last_hidden_state must be (batch, steps, vocabulary) logits, got shape {tuple(logits.shape)}")
        characters = self.character_list
        best, indices = logits.max(dim=-1)
        results = []
        for row_best, row in zip(best, indices):
            keep = row != 0
            keep[1:] &= row[1:] != row[:-1]
            kept = row[keep].tolist()
            beyond = [index for index in kept if index >= len(characters)]
            if beyond:
                raise InvalidArgumentError(f"the logits name character {beyond[0]} but character_list has {len(characters)} entries: set the model's vocabulary")
            results.append({"text": "".join(characters[index] for index in kept), "score": row_best[keep].mean().item()})
        return results


@register_family
class PPOCRV6SmallRecImageProcessor(PPOCRV5ServerRecImageProcessor):
    """PP-OCRv6 small and tiny text recognition: 8-bit resize without antialiasing, then BGR."""

    transformers_class = "PPOCRV6SmallRecImageProcessor"
    model_types = ("pp_ocrv6_small_rec", "pp_ocrv6_tiny_rec")

    def line_steps(self, target: geometry.Size, params: dict[str, Any]) -> list[Any]:
        steps: list[Any] = [InterpolateResize(fixed_size(*target), params["resample"], f"to {target[0]}x{target[1]} (the batch's widest line)")] if params.get("do_resize") else []
        return [*steps, ReverseChannels()]
