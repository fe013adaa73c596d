"""Pix2Struct: each image standardised on its own, resized (float, bilinear, antialiased) to the most patches within
``max_patches``, then flattened ``(p, p, C)`` patches with 1-based row and column ids, zero-padded to ``max_patches``.

With ``is_vqa`` the question (``header_text``) is first rendered above the image in a TrueType font: ``font_path`` or
``font_bytes`` given by the user, else DejaVu Sans from the system (Debian's ``fonts-dejavu-core``) or from
matplotlib's package, never a download. transformers renders with Arial from the hub (ybelkada/fonts).

The float resize is torch's ``interpolate`` on both backends, as in both of transformers' classes (which need torch too).
Kosmos-2.5 (kosmos2_5.py) is the same algorithm with 4096 patches and its own outputs.
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import geometry
from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError, InvalidImageError
from ..features import BatchFeature
from ..inputs import LoadOptions, flatten_inputs, to_canonical
from ..multiview import MultiViewProcessor, PaddedPatches, PatchLayout, Views, ViewWriter, _flat, _map, _one_channel_count
from ..params import _positive_int, normalize_bool

# Where DejaVu Sans is found without a download: Debian/Ubuntu's fonts-dejavu-core, Fedora's dejavu-sans-fonts.
SYSTEM_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf")
HEADER_TEXT_SIZE = 36
HEADER_PADDING = 5


# ------------------------------------------------------------------------------------------ size rules


def patch_grid(height: int, width: int, patch_height: int, patch_width: int, max_patches: int) -> tuple[int, int]:
    """(rows, columns) of patches: the image scaled to about ``max_patches`` patches, each count floored, within 1..max_patches."""
    scale = math.sqrt(max_patches * (patch_height / height) * (patch_width / width))
    rows = max(min(math.floor(scale * height / patch_height), max_patches), 1)
    cols = max(min(math.floor(scale * width / patch_width), max_patches), 1)
    return rows, cols


def _patch_size(value: Any, name: str) -> dict[str, int] | None:
    """``patch_size`` as {"height", "width"} (an int is a square); only square patches are supported."""
    if value is None:
        return None
    if isinstance(value, dict) or hasattr(value, "keys"):
        size = {key: _positive_int(dict(value).get(key), f"{name}[{key!r}]") for key in ("height", "width")}
    else:
        side = _positive_int(value, name)
        size = {"height": side, "width": side}
    if size["height"] != size["width"]:
        raise InvalidArgumentError(f"{name} must be square (every checkpoint's is 16x16), got {size}")
    return size


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


# ----------------------------------------------------------------------------------------------- steps


def standardize(backend: Backend, chw: Any) -> Any:
    """A (C, H, W) float32 image minus its mean, over its standard deviation (at least 1/sqrt(size)).

    As transformers' class of the backend computes it: torch's unbiased deviation on torchvision,
    NumPy's biased one on pil.
    """
    if backend.formula == "torch":
        import torch

        mean, std = chw.mean(), chw.std()
        return (chw - mean) / torch.maximum(std, torch.tensor(1.0 / chw.numel() ** 0.5, device=std.device))
    mean, std = np.mean(chw), np.std(chw)
    return (chw - mean) / max(std, 1.0 / math.sqrt(chw.size))


@dataclass(frozen=True)
class StandardizeAndResize:
    """Standardise the image (``standardize``), then resize it as floats to whole patches within ``max_patches``."""

    patch_size: int
    max_patches: int
    do_standardize: bool

    def apply(self, backend: Backend, image: Any) -> Any:
        import torch
        import torch.nn.functional as F

        height, width = backend.size(image)
        pixels = backend.realize(image)
        if backend.formula == "torch":
            chw = backend.to_torch(pixels).permute(2, 0, 1).contiguous().float()
        else:
            chw = np.ascontiguousarray(np.moveaxis(backend.to_numpy(pixels), -1, 0)).astype(np.float32)
        if self.do_standardize:
            chw = standardize(backend, chw)
        rows, cols = patch_grid(height, width, self.patch_size, self.patch_size, self.max_patches)
        geometry.check_output_size(rows * self.patch_size, cols * self.patch_size, f"resizing a {height}x{width} image to {rows}x{cols} patches gives an image")
        tensor = chw if isinstance(chw, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(chw, dtype=np.float32))
        resized = F.interpolate(tensor[None].float(), size=(rows * self.patch_size, cols * self.patch_size), mode="bilinear", align_corners=False, antialias=True)[0]
        hwc = resized.permute(1, 2, 0)
        return hwc if backend.formula == "torch" else hwc.contiguous().numpy()

    def describe(self) -> str:
        what = "standardise each image (its own mean and deviation), then " if self.do_standardize else ""
        return f"{what}resize as floats (bilinear, antialiased) to the most {self.patch_size}x{self.patch_size} patches within {self.max_patches}"


@dataclass(frozen=True)
class IdPrefixedPatches(PaddedPatches):
    """Each image's ``(p, p, C)`` patch rows behind their 1-based (row, column) ids, zero-padded to ``max_patches``; a float mask of the real rows."""

    key: str = "flattened_patches"
    mask_key: str = "attention_mask"
    shapes_key: str | None = None

    def pack(self, backend: Backend, views: list[Views], samples: list[int], write: ViewWriter) -> dict[str, Any]:
        flat = _flat(views)
        channels = _one_channel_count(write, flat)
        grids = [self.layout.grid(*backend.size(image)) for image, _ in flat]
        out = backend.allocate((len(flat), self.max_patches, 2 + self.layout.vector_size(channels)), "float32")

        def fill(i: int) -> None:
            rows, cols = grids[i]
            count = rows * cols
            ids = np.stack([np.repeat(np.arange(1, rows + 1), cols), np.tile(np.arange(1, cols + 1), rows)], axis=-1).astype(np.float32)
            out[i, :count, :2] = backend.from_numpy(ids)
            write.patches(flat[i][0], out[i, :count, 2:], self.layout, flat[i][1])

        _map(fill, list(range(len(flat))), write.threads)
        # the mask of transformers: rows whose values (ids included) do not sum to 0
        mask = (out.sum(-1) != 0)
        return {self.key: out, self.mask_key: mask.float() if hasattr(mask, "float") else mask.astype(np.float32)}

    def describe(self) -> list[str]:
        return [
            f"patchify: {self.layout.describe()}, behind 1-based (row, column) ids",
            f"pad with 0 to {self.max_patches} rows, into {self.key} (images, {self.max_patches}, 2 + vector) + {self.mask_key} (float)",
        ]


# --------------------------------------------------------------------------------------- header rendering


def default_font() -> str:
    """A DejaVu Sans file found without a download (the system's, else matplotlib's), or an error saying how to get one."""
    for path in SYSTEM_FONTS:
        if os.path.isfile(path):
            return path
    try:
        import matplotlib

        path = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf", "DejaVuSans.ttf")
        if os.path.isfile(path):
            return path
    except ImportError:
        pass
    raise InvalidArgumentError(
        "is_vqa renders header_text in a TrueType font: pass font_path= (or font_bytes=), or install DejaVu Sans "
        "(Debian/Ubuntu: apt-get install fonts-dejavu-core; or pip install matplotlib, which ships it)"
    )


def render_header(page: np.ndarray, header: str, font_path: str | None = None, font_bytes: bytes | None = None) -> np.ndarray:
    """An HWC uint8 RGB page with ``header`` (wrapped at 80 characters, 36 px, black on white) drawn above it, both at the wider width."""
    from PIL import Image, ImageDraw, ImageFont

    text = "\n".join(textwrap.TextWrapper(width=80).wrap(text=header))
    source = font_path if font_path is not None else io.BytesIO(font_bytes) if font_bytes is not None else default_font()
    try:
        font = ImageFont.truetype(source, encoding="UTF-8", size=HEADER_TEXT_SIZE)
    except OSError as error:
        raise InvalidArgumentError(f"font_path {font_path!r}: not a TrueType font Pillow can read ({error})") from error
    _, _, text_width, text_height = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), text, font=font)
    banner = Image.new("RGB", (text_width + 2 * HEADER_PADDING, text_height + 2 * HEADER_PADDING), "white")
    ImageDraw.Draw(banner).text((HEADER_PADDING, HEADER_PADDING), text, fill="black", font=font)
    image = Image.fromarray(page)
    width = max(banner.width, image.width)
    height, banner_height = int(image.height * (width / image.width)), int(banner.height * (width / banner.width))
    canvas = Image.new("RGB", (width, height + banner_height), "white")
    canvas.paste(banner.resize((width, banner_height)), (0, 0))
    canvas.paste(image.resize((width, height)), (0, banner_height))
    return np.asarray(canvas)


# ------------------------------------------------------------------------------------------- processor


class FlattenedPatchesProcessor(MultiViewProcessor):
    """Pix2Struct's algorithm (standardise, float resize to a patch budget, id-prefixed patches); families set the budget and extras."""

    defaults = {
        "do_normalize": True,
        "do_convert_rgb": True,
        "patch_size": {"height": 16, "width": 16},
        "max_patches": 2048,
        # no rescale step (each image is standardised by its own mean and deviation): unset, as transformers' classes hold it
        "rescale_factor": None,
        # patch rows have no channel axis to move; unset, so saved configs carry none (transformers' Kosmos-2.5 refuses one)
        "data_format": None,
    }
    extra_params = {"patch_size": _patch_size, "max_patches": _optional_positive_int}
    model_input_names = ["flattened_patches", "attention_mask"]

    def steps(self, params: dict[str, Any]) -> list[Any]:
        return [StandardizeAndResize(params["patch_size"]["height"], params["max_patches"], bool(params.get("do_normalize")))]

    def affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        """None: the standardisation is a step of its own (before the resize)."""
        return None, None, None

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        """The resized image as the only view, with its patch grid and size (Kosmos-2.5 outputs them)."""
        rows, cols = PatchLayout(params["patch_size"]["height"]).grid(*backend.size(image))
        height, width = backend.size(image)
        return Views([image], meta={"rows": rows, "cols": cols, "height": height, "width": width}, normalized=True)

    def packer(self, params: dict[str, Any]) -> IdPrefixedPatches:
        return IdPrefixedPatches(PatchLayout(params["patch_size"]["height"], channels_first=False), params["max_patches"])

    def nest(self, images: Any) -> list[list[Any]]:
        """One sample per image."""
        return [[item] for item in flatten_inputs(images)]

    def normalize(self, image: Any, *args: Any, **kwargs: Any) -> Any:
        """Each image (CHW, or a batch) as float32 minus its mean over its deviation, as this family's ``normalize`` in transformers.

        Unlike other families' ``normalize`` it takes no mean or std: they are the image's own (``standardize``).
        """
        backend = self._backend_for(self._params.get("device"))
        batch = image.ndim == 4
        if hasattr(image, "detach"):
            results = [standardize(backend, item.float()) for item in (image if batch else [image])]
            import torch

            return torch.stack(results) if batch else results[0]
        results = [standardize(backend, np.asarray(item, dtype=np.float32)) for item in (image if batch else [image])]
        return np.stack(results) if batch else results[0]

    def extract_flattened_patches(self, image: Any, max_patches: int, patch_size: Any, **kwargs: Any) -> Any:
        """A standardised CHW float image (or a batch) as ``(max_patches, 2 + p*p*C)`` id-prefixed patch rows, as transformers' method."""
        size = _patch_size(dict(patch_size) if hasattr(patch_size, "keys") else {"height": patch_size.height, "width": patch_size.width}, "patch_size")
        backend = self._backend_for(self._params.get("device"))
        batch = image.ndim == 4
        results = []
        for item in image if batch else [image]:
            array = item.detach().cpu().numpy() if hasattr(item, "detach") else np.asarray(item)
            native = backend.from_canonical(np.ascontiguousarray(np.moveaxis(array.astype(np.float32), 0, -1)))
            resized = StandardizeAndResize(size["height"], max_patches, False).apply(backend, native)
            packed = IdPrefixedPatches(PatchLayout(size["height"], channels_first=False), max_patches).pack(backend, [Views([resized], normalized=True)], [1], ViewWriter(backend, None, None, None))
            results.append(backend.to_numpy(packed["flattened_patches"])[0])
        out = np.stack(results) if batch else results[0]
        if hasattr(image, "detach"):
            import torch

            return torch.from_numpy(out)
        return out


@register_family
class Pix2StructImageProcessor(FlattenedPatchesProcessor):
    """Pix2Struct (screenshots, documents, charts; DePlot, MatCha): flattened patches with row and column ids."""

    transformers_class = "Pix2StructImageProcessor"
    model_types = ("pix2struct",)
    defaults = {"is_vqa": False, "header_text": None, "font_path": None, "font_bytes": None}
    extra_params = {
        "is_vqa": normalize_bool,
        "header_text": lambda value, name: value,
        "font_path": lambda value, name: None if value is None else os.fspath(value),
        "font_bytes": lambda value, name: value,
    }

    def __call__(self, images: Any, header_text: Any = None, **kwargs: Any) -> BatchFeature:
        """Preprocess images; with ``is_vqa``, ``header_text`` (one string, or one per image) is drawn above each."""
        return self.preprocess(images, header_text=header_text, **kwargs)

    def preprocess(self, images: Any, header_text: Any = None, **kwargs: Any) -> BatchFeature:
        """Same as calling the processor."""
        params = self.resolve(dict(kwargs, header_text=header_text))
        if not params.get("is_vqa"):
            return super().preprocess(images, **kwargs)
        items = flatten_inputs(images)
        headers = params.get("header_text")
        if headers is None:
            raise InvalidArgumentError("is_vqa is True: pass header_text (the question), one string or one per image")
        headers = [headers] * len(items) if isinstance(headers, str) else list(headers)
        if len(headers) != len(items):
            raise InvalidArgumentError(f"got {len(headers)} header texts for {len(items)} images")
        options = LoadOptions(True, params.get("input_data_format"))
        pages = []
        for item, header in zip(items, headers):
            page = to_canonical(item, options)
            page = page.detach().cpu().numpy() if hasattr(page, "detach") else page
            if page.dtype != np.uint8:
                raise InvalidImageError("is_vqa draws the header on 8-bit images; pass uint8 images (or files)")
            pages.append(render_header(page, str(header), params.get("font_path"), params.get("font_bytes")))
        rest = {k: v for k, v in kwargs.items() if k != "input_data_format"}
        return super().preprocess(pages, input_data_format="channels_last", **rest)

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        return ["draw header_text above the image (is_vqa)"] if params.get("is_vqa") else []

    # ------------------------------------------------- single steps (transformers' public methods)

    def render_header(self, image: Any, header: str, font_bytes: bytes | None = None, font_path: str | None = None) -> Any:
        """A CHW uint8 image (array or tensor) with ``header`` drawn above it, in the same type."""
        array = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
        rendered = np.ascontiguousarray(np.moveaxis(render_header(np.ascontiguousarray(np.moveaxis(array, 0, -1)), header, font_path, font_bytes), -1, 0))
        if hasattr(image, "detach"):
            import torch

            return torch.from_numpy(rendered).to(image.device)
        return rendered
