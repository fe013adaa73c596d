"""``pixelprep explain``: panels come from the processor's own steps and output; the picture is drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pixelprep.models
from pixelprep import AutoImageProcessor
from pixelprep.cli import main
from pixelprep.explain import explain_steps, render
from pixelprep.models import ImageGPTImageProcessor
from pixelprep.multiview import MultiViewProcessor

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "examples" / "clip-vit-base-patch32")
IMAGES = ROOT / "tests" / "fixtures" / "images"
PHOTO = str(IMAGES / "photo_rgb_640x427.jpg")
SMALL = str(IMAGES / "photo_rgb_251x167.bmp")


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_clip_panels_are_each_step_and_the_model_view(backend):
    processor = AutoImageProcessor.from_pretrained(MODEL, backend=backend)
    panels = explain_steps(processor, PHOTO)
    captions = [caption for caption, _ in panels]
    assert captions[:3] == ["input, converted to RGB", "resize shortest edge 224 bicubic", "center crop 224x224"]
    assert captions[3].startswith("rescale 1/255; normalize mean=[0.4815") and captions[3].endswith("shown de-normalised")
    assert [p.shape for _, p in panels] == [(427, 640, 3), (224, 335, 3), (224, 224, 3), (224, 224, 3)]
    assert all(p.dtype == np.uint8 for _, p in panels)
    np.testing.assert_array_equal(panels[0][1], np.asarray(Image.open(PHOTO).convert("RGB")))
    # the model view is the processor's real tensor with normalize undone: the cropped pixels again, to rounding
    assert np.abs(panels[3][1].astype(int) - panels[2][1].astype(int)).max() <= 1


def _patch_side(packer) -> int | None:
    """The side of the patches a patch-row packer writes (after any merging of its own), None for packers of whole views."""
    if hasattr(packer, "layout"):
        return packer.layout.patch_size
    return getattr(packer, "patch_size", None)


def _last_packed_size(packer, output) -> tuple[int, int] | None:
    """The (height, width) of the last view a patch-row packer wrote (one image: its last view), read back from the output."""
    side = _patch_side(packer)
    if "image_grid_thw" in output:  # (frames, rows, cols) of patches per view
        rows, cols = output["image_grid_thw"][-1, 1:]
    elif "image_grid_hw" in output or "spatial_shapes" in output or "target_sizes" in output:  # (rows, cols) per view
        rows, cols = output[next(k for k in ("image_grid_hw", "spatial_shapes", "target_sizes") if k in output)][-1]
    elif "image_position_ids" in output:  # (column, row) of every real patch, -1 on padding
        cols, rows = output["image_position_ids"][-1].max(axis=0) + 1
    elif "flattened_patches" in output:  # every row starts with its patch's 1-based (row, column)
        rows, cols = output["flattened_patches"][-1, :, :2].max(axis=0)
    elif "num_patches" in output:  # a patch count only (Inkling): the caller checks the panel holds that many patches
        return None
    else:  # unpadded square views of patches, stacked (views, patches, vector): Molmo2
        rows = cols = int(np.sqrt(output[packer.key].shape[1]))
        assert rows * cols == output[packer.key].shape[1], "views of a patch count that is not a square: read their grid from another output"
    return int(rows) * side, int(cols) * side


# ViTMatte needs a trimap beside each image, which explain has no way to take (tests/parity/test_classic.py covers it)
# (nor the image pairs of the matching families: tests/parity/test_superglue.py)
@pytest.mark.parametrize(
    "family",
    [name for name in pixelprep.models.__all__ if name != "VitMatteImageProcessor" and not issubclass(getattr(pixelprep.models, name), pixelprep.SuperGlueImageProcessor)],
)
def test_every_family_explains_on_both_backends(family):
    for backend in ("pil", "torchvision"):
        processor = getattr(pixelprep.models, family)(backend=backend)
        params = processor.resolve()
        panels = explain_steps(processor, SMALL)
        steps = processor.steps(params)
        # multi-view families: a panel per view after the steps; the others: one last panel, the model's tensor
        described = panels[1 : 1 + len(steps)] if isinstance(processor, MultiViewProcessor) else panels[1:-1]
        assert [caption for caption, _ in described] == [step.describe() for step in steps]
        overrides = {"do_color_quantize": False} if "do_color_quantize" in processor.param_names() else {}
        output = processor(SMALL, return_tensors="np", **overrides)
        packer = processor.packer(params) if isinstance(processor, MultiViewProcessor) else None
        if packer is not None and _patch_side(packer):
            # patch rows: the last panel is the image that was packed
            expected = _last_packed_size(packer, output)
            if expected is None:
                height, width = panels[-1][1].shape[:2]
                side = _patch_side(packer)
                assert height % side == width % side == 0 and (height // side) * (width // side) == int(output["num_patches"][-1])
            else:
                assert panels[-1][1].shape[:2] == expected
            assert packer.describe()[-1] in panels[-1][0]
        elif packer is not None and output.get("pixel_attention_mask") is not None and output["pixel_attention_mask"].ndim == 4:
            # padded (samples, views, H, W): one panel per view, each the size its mask marks
            views, masks = panels[1 + len(steps) :], output["pixel_attention_mask"][0]
            assert len(views) == int(masks.reshape(len(masks), -1).any(axis=1).sum())
            for (_, panel), mask in zip(views, masks):
                assert panel.shape[:2] == (int(mask.any(axis=1).sum()), int(mask.any(axis=0).sum()))
            assert "pixel_attention_mask" in views[-1][0]
        elif packer is not None:  # stacked or padded views (in the family's own output key): the last panel is the last view, unpadded
            # image_sizes is the last view's size where each image is one view (Pixtral, Emu3), not where it holds several
            # Step3p7's packer has two keys: its last view, a crop when there are any, is stacked in pixel_values_local
            key = getattr(packer, "key", "pixel_values_local" if "pixel_values_local" in output else "pixel_values")
            one_view = output[key].ndim == 4
            expected = tuple(output["image_sizes"][-1]) if "image_sizes" in output and one_view else output[key].shape[-2:]
            assert panels[-1][1].shape[:2] == tuple(int(v) for v in expected)
            assert f"into {key}" in panels[-1][0]
        else:  # the last panel is the tensor the model gets (Video-LLaVA names it pixel_values_images)
            key = "pixel_values" if "pixel_values" in output else "pixel_values_images"
            assert panels[-1][1].shape[:2] == output[key].shape[-2:]
        assert all(panel.ndim == 3 and panel.shape[-1] == 3 and panel.dtype == np.uint8 for _, panel in panels)


def test_colour_clusters_get_their_own_panel():
    rng = np.random.default_rng(0)
    processor = ImageGPTImageProcessor(clusters=rng.uniform(-1, 1, (16, 3)), size={"height": 16, "width": 16}, backend="pil")
    panels = explain_steps(processor, SMALL)
    assert panels[-1][0] == "colour clusters (input_ids)"
    ids = processor(SMALL, return_tensors="np")["input_ids"]
    np.testing.assert_array_equal(panels[-1][1], processor.decode_ids(ids, 16, 16)[0])


def test_render_lays_out_every_panel_with_room_for_captions():
    gray = np.full((100, 50, 1), 128, np.uint8)
    floats = np.linspace(0, 1, 30 * 40 * 3).reshape(30, 40, 3)
    sheet = render([("a gray panel", gray), ("floats " * 20, floats)], title="title")
    pixels = np.asarray(sheet)
    assert sheet.mode == "RGB" and sheet.width > 2 * 180
    column = pixels[:, 36 + 10]  # through the first panel: gray image, then dark caption text below it
    assert (column == 128).all(axis=1).sum() >= 200 and (column < 100).all(axis=1).any()
    assert sheet.height > 224 + 5 * 18  # the long caption wrapped onto several lines


def test_cli_writes_the_png(tmp_path, capsys):
    out = tmp_path / "steps.png"
    assert main(["explain", PHOTO, "--model", MODEL, "--backend", "pil", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "resize shortest edge 224 bicubic → center crop 224x224" in printed and str(out) in printed
    with Image.open(out) as picture:
        assert picture.format == "PNG" and picture.width > 4 * 224
    assert main(["explain", str(IMAGES / "nope.jpg"), "--model", MODEL, "--out", str(tmp_path / "x.png")]) == 2
