"""``pixelprep explain``: one picture of what a processor does to an image, step by step.

The panels come from the processor itself: its own steps (:meth:`ImageProcessor.steps`) run one at a
time on its own backend, then its real output with rescale and normalize undone. Nothing here
re-implements a step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidArgumentError, OutputError
from .inputs import to_canonical
from .multiview import MultiViewProcessor

PANEL_HEIGHT = 224  # every image is drawn this high (captions give the real size) ...
PANEL_MAX_WIDTH = 400  # ... unless that would make it wider than this
FONT_SIZE = 14
GAP = 36  # between panels, room for an arrow


def _model_view(processor: Any, source: Any, params: dict[str, Any]) -> np.ndarray:
    """The processor's output for ``source`` mapped back to 0-255 colours (normalisation and rescaling undone)."""
    # Colour quantization (ImageGPT) replaces the pixels by ids; the pixels before it are what can be drawn.
    overrides = {"do_color_quantize": False} if "do_color_quantize" in processor.param_names() else {}
    output = processor(source, return_tensors="np", **overrides)
    # pixel_values, or the family's own name for its (images, C, H, W) pixels (Video-LLaVA's pixel_values_images)
    key = "pixel_values" if "pixel_values" in output else next(k for k, v in output.items() if getattr(v, "ndim", 0) == 4)
    # the first image: video families stack (videos, frames, C, H, W), so every leading axis is folded into one
    chw = output[key].reshape(-1, *output[key].shape[-3:])[0].astype(np.float64)
    if params.get("data_format") == "channels_last":
        chw = np.moveaxis(chw, -1, 0)
    scale, mean, std = processor.affine_parts(params)
    channels = chw.shape[0]
    if mean is not None:
        chw = chw * np.resize(np.asarray(std), channels)[:, None, None] + np.resize(np.asarray(mean), channels)[:, None, None]
    if scale is not None:
        chw = chw / scale
    hwc = np.clip(np.rint(np.moveaxis(chw, 0, -1)), 0, 255).astype(np.uint8)
    return np.repeat(hwc, 3, axis=-1) if hwc.shape[-1] == 1 else hwc[..., :3]


def _eight_bit(view: np.ndarray, processor: Any, params: dict[str, Any], normalized: bool) -> np.ndarray:
    """A view as 0-255 colours: 8-bit views as they are; views a family normalised itself with normalisation undone,
    or, where it standardised each image on its own (Pix2Struct), stretched to 0-255; float pixels rounded."""
    if view.dtype == np.uint8:
        return view
    values = view.astype(np.float64)
    if normalized:
        scale, mean, std = processor.affine_parts(params)
        if mean is not None:
            channels = values.shape[-1]
            values = values * np.resize(np.asarray(std), channels) + np.resize(np.asarray(mean), channels)
            values = values / scale if scale is not None else values
        elif scale is not None:
            values = values / scale
        else:
            low, high = values.min(), values.max()
            values = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def explain_steps(processor: Any, source: Any) -> list[tuple[str, np.ndarray]]:
    """(caption, HWC uint8 image) for the input, after each geometric step, and as the model sees it."""
    params = processor.resolve()
    backend = processor.backend
    options = processor.load_options(params)
    image = backend.from_canonical(to_canonical(source, options))
    panels = [("input" + (", converted to RGB" if options.convert_rgb else ""), backend.to_numpy(image))]
    for step in processor.steps(params):
        image = backend.realize(step.apply(backend, image))
        pixels = backend.to_numpy(image)
        if panels[0][1].dtype == np.uint8 and pixels.dtype != np.uint8:  # a float step on 8-bit pixels (DINOv3's resize), shown at 8 bits
            pixels = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
        panels.append((step.describe(), pixels))
    # the pipeline's remaining lines (rescale, normalize, pad, ...) in the processor's own words
    rest = processor.describe_pipeline(params)[len(panels) - 1 + options.convert_rgb :]
    if isinstance(processor, MultiViewProcessor):
        # Packed patch rows are not an image: show each view the packer receives, captioned with the packing.
        split = processor.split_views(backend, image, params)
        for index, view in enumerate(split.images):
            caption = "; ".join(rest) if index == len(split.images) - 1 else f"view {index + 1} of {len(split.images)}"
            panels.append((caption, _eight_bit(backend.to_numpy(backend.realize(view)), processor, params, split.normalized)))
        return panels
    panels.append(("; ".join([*rest, "shown de-normalised"]), _model_view(processor, source, params)))
    if params.get("do_color_quantize") and params.get("clusters") is not None:
        ids = processor(source, return_tensors="np")["input_ids"]
        height, width = panels[-1][1].shape[:2]
        panels.append(("colour clusters (input_ids)", processor.decode_ids(ids, height, width)[0]))
    return panels


def _displayable(array: np.ndarray) -> Any:
    """An RGB PIL image of an HWC panel (uint8, or floats in 0-1 or 0-255)."""
    from PIL import Image

    array = np.asarray(array)
    if array.dtype != np.uint8:
        array = np.clip(np.rint(array * (255 if array.max() <= 1.0 else 1)), 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    elif array.ndim == 3 and array.shape[-1] > 3:
        array = array[..., :3]
    return Image.fromarray(array).convert("RGB")


def _wrap(draw: Any, text: str, font: Any, width: int) -> list[str]:
    """``text`` broken into lines no wider than ``width`` pixels (at word boundaries)."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def render(panels: list[tuple[str, np.ndarray]], title: str = "") -> Any:
    """Lay the panels out left to right with arrows between them, each captioned with its step and size."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=FONT_SIZE)
    bold = ImageFont.load_default(size=FONT_SIZE + 2)
    line = FONT_SIZE + 4
    tiles = []
    for caption, array in panels:
        picture = _displayable(array)
        height, width = np.asarray(array).shape[:2]
        zoom = min(PANEL_HEIGHT / height, PANEL_MAX_WIDTH / width)
        shown = picture.resize((max(1, round(width * zoom)), max(1, round(height * zoom))), Image.NEAREST)
        tile_width = max(shown.width, 180)
        measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        lines = _wrap(measure, caption, font, tile_width)
        tile = Image.new("RGB", (tile_width, PANEL_HEIGHT + 8 + line * (len(lines) + 1)), "white")
        tile.paste(shown, (0, PANEL_HEIGHT - shown.height))
        draw = ImageDraw.Draw(tile)
        draw.text((0, PANEL_HEIGHT + 6), f"{width} x {height}", fill="black", font=bold)
        for i, text in enumerate(lines, start=1):
            draw.text((0, PANEL_HEIGHT + 6 + line * i), text, fill="dimgray", font=font)
        tiles.append(tile)
    top = GAP if title else GAP // 2
    sheet = Image.new("RGB", (sum(t.width for t in tiles) + GAP * (len(tiles) + 1), top + max(t.height for t in tiles) + GAP // 2), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((GAP, GAP // 3), title, fill="black", font=bold)
    x = GAP
    for index, tile in enumerate(tiles):
        sheet.paste(tile, (x, top))
        x += tile.width + GAP
        if index < len(tiles) - 1:
            middle = top + PANEL_HEIGHT // 2
            draw.line((x - GAP + 8, middle, x - 8, middle), fill="black", width=2)
            draw.polygon([(x - 8, middle), (x - 15, middle - 5), (x - 15, middle + 5)], fill="black")
    return sheet


def explain(processor: Any, source: Any, out_path: str) -> list[str]:
    """Write the explain picture for ``source`` to ``out_path``; returns the captions in order."""
    panels = explain_steps(processor, source)
    picture = render(panels, title=f"{type(processor).__name__} on {processor.backend.describe()}")
    try:
        picture.save(out_path)
    except ValueError as error:  # Pillow: no image format for the file's extension
        raise InvalidArgumentError(f"cannot write {out_path}: {error}") from error
    except OSError as error:
        raise OutputError(f"cannot write {out_path}: {error.strerror or error}") from error
    return [caption for caption, _ in panels]
