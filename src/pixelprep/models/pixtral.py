"""Pixtral (and Mistral3, Mistral Large 4, LightOnOCR): shrink to fit, sides up to whole patches, pad the batch.

Each image keeps its aspect: it is shrunk (never enlarged) to fit ``size`` and each side rounded up to
a multiple of ``patch_size`` (:func:`~pixelprep.geometry_vlm.patch_aligned_fit`). Images of a batch
differ in size, so ``pixel_values`` is zero-padded bottom/right (after normalize) to the largest, and
``image_sizes`` gives each image's own (height, width).
"""

from __future__ import annotations

from typing import Any

from ..auto import register_family
from ..errors import InvalidArgumentError
from ..multiview import CheckPatchMultiple, MultiViewProcessor, PaddedViews, PatchAlignedFit, StackViews, Views
from ..params import normalize_square_size
from ..processor import CenterCrop
from .constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD


@register_family
class PixtralImageProcessor(MultiViewProcessor):
    """Pixtral: fit within ``size``, sides multiples of ``patch_size``; zero-padded to the batch's largest, with ``image_sizes``."""

    transformers_class = "PixtralImageProcessor"
    model_types = ("pixtral", "mistral3", "mistral_large4", "lighton_ocr")
    defaults = {
        "do_resize": True,
        "size": {"longest_edge": 1024},
        "resample": 3,
        "default_to_square": True,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_std": OPENAI_CLIP_STD,
        "do_convert_rgb": True,
        "do_pad": True,
        "patch_size": {"height": 16, "width": 16},
    }
    extra_params = {"patch_size": normalize_square_size}
    model_input_names = ["pixel_values", "image_sizes"]

    def patch(self, params: dict[str, Any]) -> tuple[int, int]:
        """(height, width) of a patch for the resolved ``params``."""
        patch = params.get("patch_size") or self.defaults["patch_size"]
        return patch["height"], patch["width"]

    def fit(self, params: dict[str, Any]) -> PatchAlignedFit:
        """The resize step for the resolved ``params``: ``size`` is a longest edge or a (height, width) box."""
        size = params.get("size") or {}
        if "longest_edge" in size and len(size) == 1:
            box = (size["longest_edge"], size["longest_edge"])
        elif set(size) == {"height", "width"}:
            box = (size["height"], size["width"])
        else:
            raise InvalidArgumentError(f"size must give 'longest_edge' or 'height' and 'width' for {type(self).__name__}, got {size}")
        return PatchAlignedFit(*box, *self.patch(params), params["resample"])

    def steps(self, params: dict[str, Any]) -> list[Any]:
        steps: list[Any] = [self.fit(params)] if params.get("do_resize") else [CheckPatchMultiple(*self.patch(params))]
        if params.get("do_center_crop"):
            crop = params.get("crop_size")
            if crop is None:
                raise InvalidArgumentError("do_center_crop is True but crop_size is not set")
            steps.append(CenterCrop(crop["height"], crop["width"]))
        return steps

    def split_views(self, backend: Any, image: Any, params: dict[str, Any]) -> Views:
        return Views([image], meta={"image_sizes": backend.size(image)})

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        return ["image_sizes = each image's (height, width) before the batch padding"]

    def packer(self, params: dict[str, Any]) -> PaddedViews | StackViews:
        # Without do_pad the images must already share one size to be stacked, as in transformers.
        return PaddedViews("pixel_values", mask_key=None, views_axis=False) if params.get("do_pad") else StackViews("pixel_values")

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ("image_sizes",)

    def _call_params(self, images_kwargs: dict[str, Any] | None) -> dict[str, Any]:
        # Serving stacks pass their whole images_kwargs; like transformers, read only what applies here.
        return self.resolve({k: v for k, v in (images_kwargs or {}).items() if k in self.param_names()})

    def resized_size(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> tuple[int, int]:
        """(height, width) an image of ``height`` x ``width`` has in ``pixel_values`` (before the batch padding)."""
        return self.fit(self._call_params(images_kwargs)).target(height, width)

    def get_number_of_image_patches(self, height: int, width: int, images_kwargs: dict[str, Any] | None = None) -> int:
        """Patches of ``patch_size`` the vision encoder cuts from an image of ``height`` x ``width``; ``images_kwargs`` as a call's."""
        params = self._call_params(images_kwargs)
        (new_height, new_width), (patch_height, patch_width) = self.fit(params).target(height, width), self.patch(params)
        return (new_height // patch_height) * (new_width // patch_width)

    def get_number_of_image_tokens(
        self, height: int, width: int, images_kwargs: dict[str, Any] | None = None, *, token_size: int | None = None, row_breaks: bool = True
    ) -> int:
        """Placeholder tokens of an image of ``height`` x ``width``: its resized size in ``token_size`` squares, plus one per row
        with ``row_breaks`` ([IMG_BREAK] after every row, the last one [IMG_END]).

        PixtralProcessor / Mistral3 pass ``images_kwargs={"patch_size": patch * spatial_merge_size}`` (what they resize with)
        and keep ``row_breaks``; LightOnOCR resizes with the configured patch and counts ``token_size=patch * spatial_merge_size``
        squares without breaks. ``token_size`` defaults to the patch size.
        """
        params = self._call_params(images_kwargs)
        new_height, new_width = self.fit(params).target(height, width)
        token_height, token_width = (token_size, token_size) if token_size else self.patch(params)
        rows, cols = new_height // token_height, new_width // token_width
        return rows * (cols + 1) if row_breaks else rows * cols
