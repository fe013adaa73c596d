"""The multi-view core: nested inputs, views, patch layouts and every packer, on both backends.

References are written here independently with NumPy (reshape/transpose of a normalised image), so
a packer's one-pass reshuffle is checked against the plain formula.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.backends import Affine, create_backend
from pixelprep.errors import OutputShapeError
from pixelprep.multiview import (
    ConcatPatches,
    MultiViewProcessor,
    PaddedPatches,
    PaddedViews,
    PadToSquare,
    PatchLayout,
    RuleResize,
    SeparateViews,
    StackViews,
    Views,
    ViewWriter,
    nest_inputs,
    normalize_image,
)

BACKENDS = ("torchvision", "pil")
MEAN, STD, SCALE = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3), 1 / 255


def _image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _normalised(image: np.ndarray) -> np.ndarray:
    return ((image.astype(np.float64) * SCALE - MEAN) / STD).astype(np.float32)


def _writer(backend_name: str) -> tuple[Any, ViewWriter]:
    backend = create_backend(backend_name, None)
    return backend, ViewWriter(backend, SCALE, MEAN, STD, threads=2)


def _native(backend: Any, image: np.ndarray) -> Any:
    return backend.from_canonical(image)


def _np(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


def test_nest_inputs_groups_samples_like_transformers() -> None:
    a, b, c = _image(4, 4), _image(5, 5), _image(6, 6)
    assert [len(s) for s in nest_inputs(a)] == [1]
    assert [len(s) for s in nest_inputs([a, b, c])] == [3]  # a flat list is one sample
    assert [len(s) for s in nest_inputs([[a, b], [c]])] == [2, 1]
    assert [len(s) for s in nest_inputs([[np.stack([a, a])], [b]])] == [2, 1]  # a 4-D array is several images
    with pytest.raises(InvalidArgumentError, match=r"sample\(s\) \[1\] hold no image"):
        nest_inputs([[a], []])
    with pytest.raises(InvalidArgumentError, match="images is empty"):
        nest_inputs([])


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize(
    ("patch", "merge", "temporal", "channels_first", "patch_width"),
    [(14, 2, 2, True, None), (16, 1, 1, True, None), (16, 1, 1, False, None), (4, 2, 1, False, None), (8, 3, 3, True, None),
     (6, 2, 2, True, 10), (5, 1, 1, False, 3), (4, 2, 1, False, 7)],
)
def test_concat_patches_layout(backend_name: str, patch: int, merge: int, temporal: int, channels_first: bool, patch_width: int | None) -> None:
    """Square patches, and patch_width x patch (height) ones: rows in merge-block order, (C, T, ph, pw) or (ph, pw, C) vectors."""
    backend, writer = _writer(backend_name)
    layout = PatchLayout(patch, merge, temporal, channels_first, patch_width=patch_width)
    ph, pw = patch, patch_width or patch
    images = [_image(2 * ph * merge, 3 * pw * merge, 1), _image(ph * merge, pw * merge, 2)]
    out = ConcatPatches(layout).pack(backend, [Views([_native(backend, i)]) for i in images], [2], writer)
    expected = []
    for image in images:
        x = _normalised(image)  # (H, W, C)
        gh, gw = image.shape[0] // ph, image.shape[1] // pw
        blocks = x.reshape(gh // merge, merge, ph, gw // merge, merge, pw, 3).transpose(0, 3, 1, 4, 6, 2, 5)  # (.., m, m, C, ph, pw)
        if channels_first:
            vectors = np.repeat(blocks[:, :, :, :, :, None], temporal, axis=5)  # (.., C, T, ph, pw)
        else:
            vectors = blocks.transpose(0, 1, 2, 3, 5, 6, 4)  # (.., ph, pw, C)
        expected.append(vectors.reshape(gh * gw, -1))
    assert np.abs(_np(out["pixel_values"]) - np.concatenate(expected)).max() <= 1e-5
    assert out["image_grid_thw"].tolist() == [[1, 2 * merge, 3 * merge], [1, merge, merge]]
    if patch_width is not None:  # a side that is no whole block of its own patch side is refused
        with pytest.raises(InvalidImageError, match=f"does not split into {ph * merge}x{pw * merge}-pixel blocks"):
            ConcatPatches(layout).pack(backend, [Views([_native(backend, _image(ph * merge, pw * merge + 1, 1))])], [1], writer)


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_stack_and_padded_views(backend_name: str) -> None:
    backend, writer = _writer(backend_name)
    a, b, c = _image(8, 6, 1), _image(5, 9, 2), _image(8, 6, 3)
    views = [Views([_native(backend, a), _native(backend, c)]), Views([_native(backend, b)])]
    padded = PaddedViews().pack(backend, views, [1, 1], writer)
    values, mask = _np(padded["pixel_values"]), _np(padded["pixel_attention_mask"])
    assert values.shape == (2, 2, 3, 8, 9) and mask.shape == (2, 2, 8, 9) and mask.dtype == np.int64
    assert np.abs(values[0, 1, :, :8, :6] - np.moveaxis(_normalised(c), -1, 0)).max() <= 1e-5
    assert np.abs(values[1, 0, :, :5, :9] - np.moveaxis(_normalised(b), -1, 0)).max() <= 1e-5
    assert (values[1, 0, :, 5:] == 0).all() and (values[1, 1] == 0).all()  # padding and the missing view are zeros
    assert mask[0, 0].sum() == 48 and mask[1, 0].sum() == 45 and mask[1, 1].sum() == 0
    # one sample holding both images: their views in order
    assert _np(PaddedViews().pack(backend, views, [2], writer)["pixel_values"]).shape == (1, 3, 3, 8, 9)
    flat = PaddedViews(mask_key=None, views_axis=False).pack(backend, [Views([_native(backend, a)]), Views([_native(backend, b)])], [2], writer)
    assert set(flat) == {"pixel_values"} and _np(flat["pixel_values"]).shape == (2, 3, 8, 9)
    stacked = StackViews(count_key="num_patches").pack(backend, [Views([_native(backend, a), _native(backend, c)])], [1], writer)
    assert _np(stacked["pixel_values"]).shape == (2, 3, 8, 6) and stacked["num_patches"].tolist() == [2]
    with pytest.raises(OutputShapeError, match="cannot be stacked"):
        StackViews().pack(backend, views, [2], writer)


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_padded_patches(backend_name: str) -> None:
    backend, writer = _writer(backend_name)
    layout = PatchLayout(4, channels_first=False)
    images = [_image(8, 12, 1), _image(4, 4, 2)]
    out = PaddedPatches(layout, max_patches=10).pack(backend, [Views([_native(backend, i)]) for i in images], [2], writer)
    values, mask = _np(out["pixel_values"]), _np(out["pixel_attention_mask"])
    assert values.shape == (2, 10, 48) and mask.dtype == np.int32 and mask.sum(axis=1).tolist() == [6, 1]
    assert out["spatial_shapes"].tolist() == [[2, 3], [1, 1]]
    reference = _normalised(images[0]).reshape(2, 4, 3, 4, 3).transpose(0, 2, 1, 3, 4).reshape(6, 48)
    assert np.abs(values[0, :6] - reference).max() <= 1e-5 and (values[0, 6:] == 0).all()
    with pytest.raises(InvalidImageError, match="over max_num_patches=5"):
        PaddedPatches(layout, max_patches=5).pack(backend, [Views([_native(backend, images[0])])], [1], writer)
    with pytest.raises(InvalidImageError, match=r"image 0 is 6x12"):
        PaddedPatches(layout, max_patches=10).pack(backend, [Views([_native(backend, _image(6, 12))])], [1], writer)


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_padded_patches_positions_split_and_rule_resize(backend_name: str) -> None:
    """Positions are (column, row) per real patch and -1 on padding; split gives each image's rows with its batch axis;
    RuleResize resizes to its rule's answer (and leaves an image already that size alone)."""
    backend, writer = _writer(backend_name)
    layout = PatchLayout(4, channels_first=False)
    packer = PaddedPatches(layout, max_patches=8, mask_key=None, shapes_key=None, positions_key="position_ids", limit_name="the budget")
    images = [_image(8, 12, 1), _image(4, 8, 2)]
    out = packer.pack(backend, [Views([_native(backend, i)]) for i in images], [1, 1], writer)
    assert set(out) == {"pixel_values", "position_ids"}
    positions = out["position_ids"]
    assert positions.dtype == np.int64 and positions.shape == (2, 8, 2)
    assert positions[0, :6].tolist() == [[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]] and (positions[0, 6:] == -1).all()
    assert positions[1, :2].tolist() == [[0, 0], [1, 0]] and (positions[1, 2:] == -1).all()
    rows = packer.split(out, 2)
    assert [set(row) for row in rows] == [set(out)] * 2
    assert np.array_equal(_np(rows[1]["pixel_values"]), _np(out["pixel_values"])[1:2]) and rows[1]["position_ids"].shape == (1, 8, 2)
    with pytest.raises(InvalidImageError, match=r"image 0 is 12x12: 3x3 = 9 patches, over the budget=8"):
        packer.pack(backend, [Views([_native(backend, _image(12, 12))])], [1], writer)
    assert "+ position_ids ((column, row) per patch, -1 on padding)" in packer.describe()[1]
    step = RuleResize(lambda h, w: (h * 2, w // 2), 2, "to double height, half width")
    image = _native(backend, _image(6, 10))
    assert backend.size(step.apply(backend, image)) == (12, 5) and step.describe() == "resize to double height, half width bilinear"
    assert RuleResize(lambda h, w: (h, w), 2, "").apply(backend, image) is image


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_separate_views_and_a_batch_of_one(backend_name: str) -> None:
    """SeparateViews: one normalised (C, H, W) array per view, unpadded; a family's batch of one image splits into itself."""
    backend, writer = _writer(backend_name)
    images = [_image(5, 7, 1), _image(3, 2, 2)]
    out = SeparateViews().pack(backend, [Views([_native(backend, i)]) for i in images], [2], writer)
    assert [tuple(_np(v).shape) for v in out["pixel_values"]] == [(3, 5, 7), (3, 3, 2)]
    assert np.abs(_np(out["pixel_values"][1]) - np.moveaxis(_normalised(images[1]), -1, 0)).max() <= 1e-5
    assert "unpadded" in SeparateViews().describe()[0]
    processor = FourTiles(backend=backend_name)  # metadata and a padding packer: not splittable in general
    output = processor(_image(8, 8), return_tensors="np")
    assert not processor.can_split_batch(processor.resolve())
    (alone,) = processor.split_batch(output, 1)
    assert alone.keys() == output.keys() and all(alone[k] is output[k] for k in output)
    with pytest.raises(InvalidArgumentError, match="cannot be split per image"):
        processor.split_batch(processor([[_image(8, 8)], [_image(8, 8)]], return_tensors="np"), 2)


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_pad_to_square_and_normalize_before_resize(backend_name: str) -> None:
    backend, writer = _writer(backend_name)
    padded = _np(PadToSquare((10, 20, 30)).apply(backend, _native(backend, _image(3, 6))))
    assert padded.shape == (6, 6, 3) and padded[0].tolist() == [[10, 20, 30]] * 6 and padded[5].tolist() == [[10, 20, 30]] * 6
    image = _image(7, 5)
    normalised = normalize_image(backend, _native(backend, image), Affine(SCALE, MEAN, STD, 3, backend.formula))
    assert np.abs(_np(normalised) - _normalised(image)).max() <= 1e-5
    # a view already normalised (e.g. resized as floats afterwards) is copied, not normalised twice
    out = StackViews().pack(backend, [Views([normalised], normalized=True)], [1], writer)
    assert np.abs(_np(out["pixel_values"])[0] - np.moveaxis(_normalised(image), -1, 0)).max() <= 1e-5


class FourTiles(MultiViewProcessor):
    """A family as the core means them: its defaults, a views step (four quadrants, then the whole image) and a packer."""

    transformers_class = "FourTilesImageProcessor"
    defaults = {"do_rescale": True, "do_normalize": True, "image_mean": list(MEAN), "image_std": list(STD), "do_convert_rgb": True}

    def split_views(self, backend: Any, image: Any, params: dict[str, Any]) -> Views:
        height, width = backend.size(image)
        h, w = height // 2, width // 2
        tiles = [backend.crop(image, top, left, h, w) for top in (0, h) for left in (0, w)]
        return Views([*tiles, backend.crop(image, 0, 0, h, w)], meta={"rows": 2, "cols": 2})

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        return ("rows", "cols")

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        return ["split into 2x2 tiles, then the first tile again"]

    def packer(self, params: dict[str, Any]) -> PaddedViews:
        return PaddedViews()


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_a_declared_family_end_to_end(backend_name: str) -> None:
    processor = FourTiles(backend=backend_name)
    a, b = _image(8, 8, 1), _image(6, 10, 2)
    out = processor([[a], [b]], return_tensors="np")
    assert out["pixel_values"].shape == (2, 5, 3, 4, 5) and out["rows"].tolist() == [2, 2] and set(out) == {"pixel_values", "pixel_attention_mask", "rows", "cols"}
    assert np.abs(out["pixel_values"][1, 3, :, :3, :5] - np.moveaxis(_normalised(b[3:, 5:]), -1, 0)).max() <= 1e-5
    text = repr(processor)
    assert "split into 2x2 tiles" in text and "(samples, views, C, H, W) + pixel_attention_mask" in text


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_concat_patches_uint8_gray_and_normalised_views(backend_name: str) -> None:
    """(C, T, p, p) rows from a uint8 output (no rescale or normalize), a 1-channel view meeting a 3-value mean,
    and a view already normalised: each the numpy reference, every temporal slot the same frame."""
    backend = create_backend(backend_name, None)
    layout = PatchLayout(4, 2, 2)
    image = _image(8, 16, 5)

    def reference(x: np.ndarray) -> np.ndarray:
        blocks = x.reshape(1, 2, 4, 2, 2, 4, 3).transpose(0, 3, 1, 4, 6, 2, 5)
        return np.repeat(blocks[:, :, :, :, :, None], 2, axis=5).reshape(8, -1)

    raw = ConcatPatches(layout).pack(backend, [Views([_native(backend, image)])], [1], ViewWriter(backend, None, None, None))
    assert _np(raw["pixel_values"]).dtype == np.uint8 and np.array_equal(_np(raw["pixel_values"]), reference(image))
    gray = image[:, :, :1]
    out = ConcatPatches(layout).pack(backend, [Views([_native(backend, gray)])], [1], _writer(backend_name)[1])
    assert np.abs(_np(out["pixel_values"]) - reference(_normalised(np.repeat(gray, 3, axis=-1)))).max() <= 1e-5
    normalised = normalize_image(backend, _native(backend, image), Affine(SCALE, MEAN, STD, 3, backend.formula))
    out = ConcatPatches(layout).pack(backend, [Views([normalised], normalized=True)], [1], _writer(backend_name)[1])
    assert np.abs(_np(out["pixel_values"]) - reference(_normalised(image))).max() <= 1e-5


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize(("patch", "merge", "temporal", "channels_first"), [(16, 2, 1, True), (4, 3, 2, True), (4, 2, 1, False)])
def test_concat_patches_row_major_order_and_patch_axes(backend_name: str, patch: int, merge: int, temporal: int, channels_first: bool) -> None:
    """block_order=False: rows plainly row-major over all patches (sides still whole merge blocks); patch_axes: (N, C*T, p, p)."""
    backend, writer = _writer(backend_name)
    layout = PatchLayout(patch, merge, temporal, channels_first, block_order=False)
    factor = patch * merge
    image = _image(2 * factor, 3 * factor, 3)
    x = _normalised(image)
    gh, gw = image.shape[0] // patch, image.shape[1] // patch
    patches = x.reshape(gh, patch, gw, patch, 3).transpose(0, 2, 4, 1, 3)  # (gh, gw, C, p, p)
    if channels_first:
        expected = np.repeat(patches[:, :, :, None], temporal, axis=3).reshape(gh * gw, -1)
    else:
        expected = patches.transpose(0, 1, 3, 4, 2).reshape(gh * gw, -1)
    views = [Views([_native(backend, image)])]
    out = ConcatPatches(layout).pack(backend, views, [1], writer)
    assert np.abs(_np(out["pixel_values"]) - expected).max() <= 1e-5
    # a block row is contiguous in row-major order too: the cache-sized pieces give the same rows
    halves = np.zeros_like(expected)
    for rows in ((0, 1), (1, 2)):
        piece = backend.allocate((gh * gw, expected.shape[1]), "float32")
        writer.patches(_native(backend, image), piece, layout, False, rows)
        start, stop = rows[0] * merge * gw, rows[1] * merge * gw
        halves[start:stop] = _np(piece)[start:stop]
    assert np.abs(halves - expected).max() <= 1e-5
    with pytest.raises(InvalidImageError, match="blocks"):
        ConcatPatches(layout).pack(backend, [Views([_native(backend, _image(factor + patch, factor, 4))])], [1], writer)
    if channels_first:
        shaped = ConcatPatches(layout, patch_axes=True).pack(backend, views, [1], writer)["pixel_values"]
        assert tuple(shaped.shape) == (gh * gw, 3 * temporal, patch, patch)
        assert np.abs(_np(shaped).reshape(gh * gw, -1) - expected).max() <= 1e-5
        assert "rows in plain row-major order" in layout.describe()
        assert "(patches, C*T, p, p)" in ConcatPatches(layout, patch_axes=True).describe()[1]
    else:
        with pytest.raises(InvalidArgumentError, match="patch_axes"):
            ConcatPatches(layout, patch_axes=True).pack(backend, views, [1], writer)
