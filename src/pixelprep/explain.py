"""``pixelprep explain``: one picture of what a processor does to an image, step by step."""

from __future__ import annotations

from typing import Any

import numpy as np

from .backends import create_backend
from .inputs import LoadOptions, to_canonical

PANEL_HEIGHT = 224
LABEL_HEIGHT = 34


def _model_view(processor: Any, source: Any) -> np.ndarray:
    """The final tensor mapped back to 0-255 colours (normalisation and rescaling undone)."""
    params = processor.resolve()
    overrides = {"do_color_quantize": False} if "do_color_quantize" in processor.param_names() else {}
    chw = processor(source, return_tensors="np", **overrides)["pixel_values"][0].astype(np.float64)
    scale, mean, std = processor.affine_parts(params)
    channels = chw.shape[0]
    if mean is not None:
        chw = chw * np.resize(np.asarray(std), channels)[:, None, None] + np.resize(np.asarray(mean), channels)[:, None, None]
    if scale is not None:
        chw = chw / scale
    hwc = np.clip(np.rint(np.moveaxis(chw, 0, -1)), 0, 255).astype(np.uint8)
    return np.repeat(hwc, 3, axis=-1) if hwc.shape[-1] == 1 else hwc[..., :3]


def explain_steps(processor: Any, source: Any) -> list[tuple[str, np.ndarray]]:
    """(caption, HWC uint8 image) for the input, after each geometric step, and as the model sees it."""
    params = processor.resolve()
    backend = create_backend("pil")
    image = to_canonical(source, LoadOptions(bool(params.get("do_convert_rgb")), params.get("input_data_format")))
    panels = [("input", np.asarray(image))]
    current = backend.from_canonical(image)
    for step in processor.steps(params):
        current = backend.realize(step.apply(backend, current))
        panels.append((step.describe(), current))
    panels.append(("model input, de-normalised", _model_view(processor, source)))
    return panels


def render(panels: list[tuple[str, np.ndarray]]) -> Any:
    """Lay the panels out left to right, each captioned with its step and size."""
    from PIL import Image, ImageDraw

    tiles = []
    for caption, array in panels:
        array = np.asarray(array)
        if array.dtype != np.uint8:
            array = np.clip(array * (255 if array.max() <= 1.0 else 1), 0, 255).astype(np.uint8)
        if array.ndim == 3 and array.shape[-1] == 1:
            array = array[..., 0]
        tile = Image.fromarray(array).convert("RGB")
        height, width = array.shape[:2]
        shown = tile.resize((max(1, round(width * PANEL_HEIGHT / height)), PANEL_HEIGHT), Image.NEAREST)
        canvas = Image.new("RGB", (max(shown.width, 200), PANEL_HEIGHT + LABEL_HEIGHT), "white")
        canvas.paste(shown, (0, 0))
        draw = ImageDraw.Draw(canvas)
        draw.text((4, PANEL_HEIGHT + 3), caption, fill="black")
        draw.text((4, PANEL_HEIGHT + 18), f"{width}x{height}", fill="dimgray")
        tiles.append(canvas)
    gap = 12
    sheet = Image.new("RGB", (sum(t.width for t in tiles) + gap * (len(tiles) + 1), PANEL_HEIGHT + LABEL_HEIGHT + 2 * gap), "white")
    x = gap
    for tile in tiles:
        sheet.paste(tile, (x, gap))
        x += tile.width + gap
    return sheet


def explain(processor: Any, source: Any, out_path: str) -> list[str]:
    """Write the explain picture for ``source`` to ``out_path``; returns the captions in order."""
    panels = explain_steps(processor, source)
    render(panels).save(out_path)
    return [caption for caption, _ in panels]
