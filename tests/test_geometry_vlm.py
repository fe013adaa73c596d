"""geometry_vlm.py: the vision-language size rules, as properties and against transformers' own functions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from transformers.models.gemma4.image_processing_gemma4 import get_aspect_ratio_preserving_size as gemma4_size
from transformers.models.glm4v.image_processing_glm4v import smart_resize as transformers_glm_smart_resize
from transformers.models.pixtral.image_processing_pixtral import get_resize_output_image_size as pixtral_size
from transformers.models.siglip2.image_processing_siglip2 import get_image_size_for_max_num_patches as siglip2_size
from transformers.models.idefics2.image_processing_pil_idefics2 import get_resize_output_image_size as idefics2_size
from transformers.models.idefics3.image_processing_pil_idefics3 import get_resize_output_image_size as idefics3_size
from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize as transformers_smart_resize
from transformers.models.paddleocr_vl.image_processing_paddleocr_vl import smart_resize as paddleocr_smart_resize
from transformers.models.glm_image.image_processing_glm_image import smart_resize as glm_image_smart_resize
from transformers.models.glm5_next.image_processing_glm5_next import smart_resize as glm5_next_smart_resize
from transformers.image_utils import SizeDict

from pixelprep import geometry_vlm
from pixelprep.errors import InvalidImageError

SETTINGS = settings(max_examples=400, deadline=None)
sides = st.integers(min_value=1, max_value=20_000)
factors = st.sampled_from([8, 14, 16, 28, 32])


@st.composite
def budgets(draw) -> tuple[int, int]:
    low = draw(st.integers(min_value=1, max_value=2_000_000))
    return low, draw(st.integers(min_value=low, max_value=20_000_000))


@SETTINGS
@given(height=sides, width=sides, factor=factors, budget=budgets())
def test_smart_resize_equals_transformers(height: int, width: int, factor: int, budget: tuple[int, int]) -> None:
    try:
        expected = transformers_smart_resize(height, width, factor, *budget)
    except ValueError:
        with pytest.raises(InvalidImageError, match="over the limit of 200"):
            geometry_vlm.smart_resize(height, width, factor, *budget)
        return
    assert geometry_vlm.smart_resize(height, width, factor, *budget) == expected


@SETTINGS
@given(height=sides, width=sides, factor=factors, budget=budgets())
def test_smart_resize_properties(height: int, width: int, factor: int, budget: tuple[int, int]) -> None:
    """Sides are positive multiples of the factor; an area over max_pixels is brought under it (unless one block is already more),
    one under min_pixels up to it, one in between only rounded; the aspect is kept to within a factor per side."""
    assume(max(height, width) / min(height, width) <= geometry_vlm.MAX_ASPECT_RATIO)
    min_pixels, max_pixels = budget
    new_height, new_width = geometry_vlm.smart_resize(height, width, factor, min_pixels, max_pixels)
    assert new_height % factor == 0 and new_width % factor == 0 and min(new_height, new_width) >= factor
    rounded = (round(height / factor) * factor, round(width / factor) * factor)
    if rounded[0] * rounded[1] > max_pixels:
        if new_height > factor and new_width > factor:
            assert new_height * new_width <= max_pixels
    elif rounded[0] * rounded[1] < min_pixels:
        assert new_height * new_width >= min_pixels
    else:
        assert (new_height, new_width) == rounded
    # each side is within one factor of the same scale of the original (unless clamped up to one factor)
    if min(new_height, new_width) > factor:
        assert abs(new_height / height - new_width / width) <= factor / height + factor / width


@SETTINGS
@given(height=sides, width=sides)
def test_square_padding_centres_on_the_long_side(height: int, width: int) -> None:
    top, bottom, left, right = geometry_vlm.square_padding(height, width)
    side = max(height, width)
    assert height + top + bottom == side and width + left + right == side
    assert 0 <= bottom - top <= 1 and 0 <= right - left <= 1


@SETTINGS
@given(height=sides, width=sides, longest=st.integers(min_value=16, max_value=4096), patch=st.sampled_from([8, 14, 16, 32]))
def test_patch_aligned_fit_equals_pixtral(height: int, width: int, longest: int, patch: int) -> None:
    """Pixtral's fit: transformers' answer; sides whole patches, within one patch of the box (or of the unshrunk image)."""
    try:
        got = geometry_vlm.patch_aligned_fit(height, width, longest, longest, patch, patch)
    except InvalidImageError:  # a side floors to 0 pixels (transformers makes an empty image there)
        ratio = max(height, width) / longest
        assert ratio > 1 and min(math.floor(height / ratio), math.floor(width / ratio)) < 1
        return
    shaped = np.broadcast_to(np.zeros(1, np.uint8), (height, width, 3))  # transformers only reads the shape
    assert got == tuple(pixtral_size(shaped, longest, patch, input_data_format="channels_last"))
    assert got[0] % patch == 0 and got[1] % patch == 0
    assert max(got) < min(longest, max(height, width)) + patch


@SETTINGS
@given(
    height=sides,
    width=sides,
    min_crop=st.integers(min_value=1, max_value=1024),
    max_crops=st.integers(min_value=1, max_value=10),
    min_ratio=st.floats(min_value=0.5, max_value=6.0),
)
def test_pan_and_scan_windows_tile_the_long_side(height: int, width: int, min_crop: int, max_crops: int, min_ratio: float) -> None:
    """Gemma3's pan-and-scan: no windows below the activation ratio; otherwise 2..max_crops (at most max_crops) windows of the
    full short side that tile the long side in order, without gaps or overlap, each nominally at least min_crop long."""
    long_side, short_side = max(height, width), min(height, width)
    try:
        boxes = geometry_vlm.pan_and_scan(height, width, min_crop, max_crops, min_ratio)
    except InvalidImageError as error:  # windows running past the end: only with a min_crop no longer than the short side
        assert "leaving the last one empty" in str(error) and min_crop <= short_side
        return
    if long_side / short_side < min_ratio:
        assert boxes == []
        return
    if not boxes:  # the windows would be shorter than min_crop
        return
    assert 1 <= len(boxes) <= max_crops and (len(boxes) >= 2 or max_crops == 1)
    along = [(left, w) if width >= height else (top, h) for top, left, h, w in boxes]
    across = {(h, top) if width >= height else (w, left) for top, left, h, w in boxes}
    assert across == {(short_side, 0)}
    assert along[0][0] == 0 and sum(length for _, length in along) == long_side
    assert all(start + length == following for (start, length), (following, _) in zip(along, along[1:]))
    assert along[0][1] >= min_crop and short_side >= min_crop and all(length >= 1 for _, length in along)


patch_sizes = st.sampled_from([8, 14, 16, 32])
patch_budgets = st.integers(min_value=1, max_value=5000)


@SETTINGS
@given(height=sides, width=sides, patch=patch_sizes, budget=patch_budgets)
def test_naflex_size_equals_siglip2(height: int, width: int, patch: int, budget: int) -> None:
    assert geometry_vlm.naflex_size(height, width, patch, budget) == siglip2_size(height, width, patch, budget)


@SETTINGS
@given(height=sides, width=sides, patch=patch_sizes, budget=patch_budgets, more=st.integers(min_value=1, max_value=5000))
def test_naflex_size_properties(height: int, width: int, patch: int, budget: int, more: int) -> None:
    """Sides are whole patches (at least one) within the budget, one common scale gives both sides (ceil to patches),
    and a larger budget never gives a smaller side (the bisection follows the same path until the budgets part)."""
    new_height, new_width = geometry_vlm.naflex_size(height, width, patch, budget)
    assert new_height % patch == 0 and new_width % patch == 0 and min(new_height, new_width) >= patch
    assert (new_height // patch) * (new_width // patch) <= budget
    # each side not clamped to one patch is ceil(side * scale / patch) patches: the scale intervals overlap
    low, high = 0.0, math.inf
    for old, new in ((height, new_height), (width, new_width)):
        if new > patch:
            low, high = max(low, (new - patch) / old), min(high, new / old)
    assert low < high * (1 + 1e-9)
    bigger = geometry_vlm.naflex_size(height, width, patch, budget + more)
    assert bigger[0] >= new_height and bigger[1] >= new_width


@SETTINGS
@given(height=sides, width=sides, patch=patch_sizes, tokens=st.sampled_from([70, 140, 280, 560, 1120]), pooling=st.integers(1, 4))
def test_pooled_patch_fit_equals_gemma4(height: int, width: int, patch: int, tokens: int, pooling: int) -> None:
    budget = tokens * pooling**2
    expected = gemma4_size(height=height, width=width, patch_size=patch, max_patches=budget, pooling_kernel_size=pooling)
    assert geometry_vlm.pooled_patch_fit(height, width, patch, budget, pooling) == expected


@SETTINGS
@given(height=sides, width=sides, patch=patch_sizes, tokens=st.integers(min_value=1, max_value=2000), pooling=st.integers(1, 4))
def test_pooled_patch_fit_properties(height: int, width: int, patch: int, tokens: int, pooling: int) -> None:
    """Sides are whole pooling blocks (at least one) within the patch budget; sides not clamped are the budget's
    scale of the original floored to blocks, and the soft tokens never exceed the budget's."""
    budget, block = tokens * pooling**2, pooling * patch
    try:
        new_height, new_width = geometry_vlm.pooled_patch_fit(height, width, patch, budget, pooling)
    except InvalidImageError:  # a one-token budget is one block exactly: rounding can leave both sides just under it
        assert tokens == 1
        return
    assert new_height % block == 0 and new_width % block == 0 and min(new_height, new_width) >= block
    assert (new_height // patch) * (new_width // patch) <= budget
    assert (new_height // block) * (new_width // block) <= tokens
    scale = math.sqrt(budget * patch * patch / (height * width))
    if min(height, width) * scale >= block:  # nothing clamped: each side floors its scaled length
        for old, new in ((height, new_height), (width, new_width)):  # (float rounding: a relative 1e-9 either way)
            assert new <= old * scale * (1 + 1e-9) and old * scale * (1 - 1e-9) < new + block


def test_pooled_patch_fit_refuses_a_budget_below_one_block() -> None:
    with pytest.raises(InvalidImageError, match=r"100x100 scaled to 3 patches of 16x16 is under one 32x32 block \(2x2 patches\) on both sides"):
        geometry_vlm.pooled_patch_fit(100, 100, 16, 3, 2)


@SETTINGS
@given(height=sides, width=sides, factor=factors, budget=budgets(), frames=st.integers(1, 4))
def test_glm_smart_resize_equals_transformers(height: int, width: int, factor: int, budget: tuple[int, int], frames: int) -> None:
    try:
        expected = transformers_glm_smart_resize(frames, height, width, frames, factor, *budget)
    except ValueError:
        with pytest.raises(InvalidImageError, match="over the limit of 200"):
            geometry_vlm.glm_smart_resize(height, width, factor, *budget, frames)
        return
    assert geometry_vlm.glm_smart_resize(height, width, factor, *budget, frames) == expected


@SETTINGS
@given(height=sides, width=sides, factor=factors, budget=budgets(), frames=st.integers(1, 4))
def test_glm_smart_resize_properties(height: int, width: int, factor: int, budget: tuple[int, int], frames: int) -> None:
    """Sides are positive multiples of the factor; frames x area is brought under max_pixels (unless one block already
    exceeds it) or up to min_pixels; with one frame and no side under the factor it is Qwen's smart_resize."""
    min_pixels, max_pixels = budget
    try:
        new_height, new_width = geometry_vlm.glm_smart_resize(height, width, factor, min_pixels, max_pixels, frames)
    except InvalidImageError:
        return
    assert new_height % factor == 0 and new_width % factor == 0 and min(new_height, new_width) >= factor
    if new_height > factor and new_width > factor:
        assert frames * new_height * new_width <= max_pixels or frames * new_height * new_width >= min_pixels
    if frames == 1 and min(height, width) >= factor:
        assert (new_height, new_width) == geometry_vlm.smart_resize(height, width, factor, min_pixels, max_pixels)


class _Shape:
    """Stands in for an image: transformers' size rules read only ``shape[-2:]``."""

    def __init__(self, height: int, width: int) -> None:
        self.shape = (3, height, width)


@SETTINGS
@given(height=sides, width=sides, shortest=st.integers(min_value=1, max_value=1000), extra=st.integers(min_value=0, max_value=3000))
def test_cap_then_floor_sides_equals_idefics2(height: int, width: int, shortest: int, extra: int) -> None:
    """Idefics2's rule: transformers' answer; the long side never over longest_edge unless raised to shortest_edge, no side under it."""
    longest = shortest + extra
    got = geometry_vlm.cap_then_floor_sides(height, width, shortest, longest)
    assert got == tuple(idefics2_size(_Shape(height, width), SizeDict(shortest_edge=shortest, longest_edge=longest)))
    assert min(got) >= shortest and max(got) <= max(longest, shortest, min(height, width))
    if max(height, width) <= longest:  # nothing to cap: sides only raised
        assert got == (max(height, shortest), max(width, shortest))


@SETTINGS
@given(height=sides, width=sides, longest=st.integers(min_value=1, max_value=6000))
def test_long_side_to_equals_idefics3(height: int, width: int, longest: int) -> None:
    """Idefics3's first resize: transformers' answer; the long side becomes longest_edge, the other side even (or 1) and at
    most one over it; nothing over 4096."""
    got = geometry_vlm.long_side_to(height, width, longest)
    assert got == tuple(idefics3_size(_Shape(height, width), resolution_max_side=longest))
    assert min(got) >= 1 and max(got) <= geometry_vlm.IDEFICS3_MAX_SIDE
    if longest < geometry_vlm.IDEFICS3_MAX_SIDE:
        long_axis = 1 if width >= height else 0
        other = got[1 - long_axis]
        assert got[long_axis] == longest and other <= longest + 1 and (other % 2 == 0 or other == 1)


@SETTINGS
@given(height=sides, width=sides, tile=st.sampled_from([1, 7, 364, 384, 512]))
def test_tile_grid_is_whole_tiles_covering_the_image(height: int, width: int, tile: int) -> None:
    """The grid: positive multiples of the tile; the long side rounded up to whole tiles; the short side at least the
    image's (less the one pixel the float truncation may take) and less than a tile over the long side's scale;
    rows x cols tiles, or (0, 0) for one tile."""
    try:
        grid_h, grid_w = geometry_vlm.tile_grid_size(height, width, tile)
    except InvalidImageError:  # a 1-pixel short side whose float product truncates to 0 (transformers resizes to 0 there)
        assert min(height, width) == 1
        return
    assert grid_h % tile == 0 and grid_w % tile == 0 and min(grid_h, grid_w) >= tile
    (long_side, grid_long), (short_side, grid_short) = ((width, grid_w), (height, grid_h)) if width >= height else ((height, grid_h), (width, grid_w))
    assert 0 <= grid_long - long_side < tile
    assert grid_short >= short_side - 1 and grid_short - short_side * grid_long / long_side < tile
    rows, cols = geometry_vlm.tile_counts(grid_h, grid_w, tile)
    if (grid_h, grid_w) == (tile, tile):
        assert (rows, cols) == (0, 0)
    else:
        assert (rows * tile, cols * tile) == (grid_h, grid_w)


@pytest.mark.parametrize("rule", [lambda: geometry_vlm.cap_then_floor_sides(0, 5, 1, 2), lambda: geometry_vlm.long_side_to(5, 0, 10),
                                  lambda: geometry_vlm.tile_grid_size(0, 0, 10)])
def test_vlm_rules_refuse_empty_images(rule) -> None:
    with pytest.raises(InvalidImageError, match="has no pixels"):
        rule()


@SETTINGS
@given(height=sides, width=sides, factor=factors, budget=budgets())
def test_smart_resize_enlarging_equals_paddleocr_vl(height: int, width: int, factor: int, budget: tuple[int, int]) -> None:
    try:
        expected = paddleocr_smart_resize(height, width, factor, *budget)
    except ValueError:
        with pytest.raises(InvalidImageError, match="over the limit of 200"):
            geometry_vlm.smart_resize_enlarging(height, width, factor, *budget)
        return
    got = geometry_vlm.smart_resize_enlarging(height, width, factor, *budget)
    assert got == expected
    assert min(got) >= factor and got[0] % factor == 0 and got[1] % factor == 0
    assert min(geometry_vlm.enlarge_to_factor(height, width, factor)) >= factor


@SETTINGS
@given(height=sides, width=sides, factor=factors, budget=budgets())
def test_glm_image_size_equals_transformers(height: int, width: int, factor: int, budget: tuple[int, int]) -> None:
    try:
        expected = glm_image_smart_resize(height, width, factor, *budget)
    except ValueError:
        with pytest.raises(InvalidImageError, match="side under|over the limit of 4"):
            geometry_vlm.glm_image_size(height, width, factor, *budget)
        return
    got = geometry_vlm.glm_image_size(height, width, factor, *budget)
    assert got == expected
    assert min(got) >= factor and got[0] % factor == 0 and got[1] % factor == 0
    # never past sqrt(max_pixels) unless that is under one factor
    assert max(got) <= max(factor, round(math.sqrt(budget[1])))


@settings(max_examples=300, deadline=None)
@given(height=sides, width=sides, factor=factors, frames=st.integers(1, 3), low=st.integers(1, 3000), extra=st.integers(0, 20_000))
def test_token_budget_canvas_equals_glm5_next(height: int, width: int, factor: int, frames: int, low: int, extra: int) -> None:
    high = low + extra
    expected = glm5_next_smart_resize(frames, height, width, frames, factor, low, high)
    canvas = geometry_vlm.token_budget_canvas(height, width, factor, frames, low, high)
    assert canvas == expected
    assert canvas[0] % factor == 0 and canvas[1] % factor == 0 and frames * canvas[0] * canvas[1] <= max(high, 1) * frames * factor * factor
    for enlarge in (False, True):
        content = geometry_vlm.content_in_canvas(height, width, *canvas, enlarge=enlarge)
        assert 1 <= content[0] <= canvas[0] and 1 <= content[1] <= canvas[1]
        if not enlarge:
            assert content[0] <= height and content[1] <= width


@pytest.mark.parametrize("rule", [lambda: geometry_vlm.enlarge_to_factor(0, 5, 28), lambda: geometry_vlm.token_budget_canvas(5, 0, 28, 2, 16, 100)])
def test_new_rules_refuse_empty_images(rule) -> None:
    with pytest.raises(InvalidImageError, match="has no pixels"):
        rule()


@given(height=sides, width=sides, patch=st.sampled_from([14, 16]), downsample=st.sampled_from([1, 2]),
       tokens=st.tuples(st.integers(min_value=1, max_value=256), st.integers(min_value=0, max_value=1024)))
def test_lfm2_smart_resize_variant_equals_transformers(height: int, width: int, patch: int, downsample: int, tokens: tuple[int, int]) -> None:
    """smart_resize without the aspect limit and with sides rounded to at least one factor is LFM2-VL's (which returns (width, height))."""
    from transformers.models.lfm2_vl.image_processing_lfm2_vl import Lfm2VlImageProcessor

    low, high = tokens[0], tokens[0] + tokens[1]
    expected_width, expected_height = Lfm2VlImageProcessor.smart_resize(None, height, width, downsample, low, high, patch)
    scale = patch**2 * downsample**2
    got = geometry_vlm.smart_resize(height, width, patch * downsample, low * scale, high * scale, max_aspect_ratio=None, round_at_least_factor=True)
    assert got == (expected_height, expected_width)


@given(height=sides, width=sides, tile=st.sampled_from([384, 512, 768]), tiles=st.tuples(st.integers(1, 6), st.integers(0, 40)))
def test_closest_ratio_grid_with_given_grids_equals_granite_docling(height: int, width: int, tile: int, tiles: tuple[int, int]) -> None:
    """closest_ratio_grid over a caller's candidate grids (Granite-Docling's, at most 16 per side) picks transformers' grid."""
    from transformers.models.granite_docling.image_processing_granite_docling import get_optimal_tiled_canvas

    from pixelprep.models.granite_docling import capped_grids

    low, high = tiles[0], tiles[0] + tiles[1]
    cols, rows = get_optimal_tiled_canvas((height, width), (tile, tile), low, high)
    assert geometry_vlm.closest_ratio_grid(height, width, tile, tile, low, high, grids=capped_grids(low, high)) == (rows, cols)


@SETTINGS
@given(rows=st.integers(1, 5), cols=st.integers(1, 5), crop=st.integers(3, 30), left=st.integers(0, 4), right=st.integers(0, 4),
       pool=st.tuples(st.integers(1, 4), st.integers(1, 4)))
def test_molmo2_patch_indices_and_pooling_windows(rows: int, cols: int, crop: int, left: int, right: int, pool: tuple[int, int]) -> None:
    """Every canvas patch appears once, crop-major, and the pooling windows hold every index exactly once (the rest -1),
    as transformers' arange_for_pooling and overlap grid give them."""
    import torch
    from transformers.models.molmo2.image_processing_molmo2 import arange_for_pooling

    assume(crop > left + right)
    grid = geometry_vlm.overlap_patch_indices(rows, cols, crop, (left, right))
    window = crop - left - right
    assert grid.shape == (rows * window + left + right, cols * window + left + right) and grid.dtype == np.int32
    assert len(np.unique(grid)) == grid.size and grid.min() >= 0
    windows, pooled_rows, pooled_cols = geometry_vlm.pooling_windows(grid, *pool)
    assert sorted(windows[windows >= 0].tolist()) == sorted(grid.ravel().tolist())
    expected, expected_rows, expected_cols = arange_for_pooling(torch.from_numpy(grid), *pool)
    assert (pooled_rows, pooled_cols) == (expected_rows, expected_cols) and np.array_equal(windows, expected.numpy())


@SETTINGS
@given(height=sides, width=sides, image_size=st.sampled_from([448, 728]), window=st.sampled_from([300, 504]),
       max_side=st.sampled_from([500, 900, 3024, 20_000]))
@example(height=33, width=20_000, image_size=728, window=504, max_side=500)  # capped to a 0-pixel short side
def test_sliding_window_plan_equals_step3p7_and_tiles_its_crop(height: int, width: int, image_size: int, window: int, max_side: int) -> None:
    """Step3p7's plan equals transformers' _plan_patches (which divides by zero where ours refuses); the windows tile
    the crop size exactly (a side under one window is one window of its own length), and the global size keeps the cap."""
    from transformers.models.step3p7.image_processing_step3p7 import Step3p7ImageProcessor

    theirs = Step3p7ImageProcessor(max_image_size=max_side)
    try:
        (gw, gh), (cw, ch), side, cols, rows, pad = theirs._plan_patches(width, height, image_size, window)
    except ZeroDivisionError:
        with pytest.raises(InvalidImageError, match=f"max_image_size={max_side}"):
            geometry_vlm.sliding_window_plan(height, width, image_size, window, max_side)
        return
    plan = geometry_vlm.sliding_window_plan(height, width, image_size, window, max_side)
    assert plan == ((gh, gw), (ch, cw), side, (rows, cols), pad)
    assert max(plan[0]) <= max_side and min(plan[0]) >= 1
    if side:
        for length, count in zip(plan[1], plan[3]):
            assert length == count * side or (length < side and count == 1)
