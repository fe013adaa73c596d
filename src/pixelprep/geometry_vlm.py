"""Pure integer geometry of the vision-language families: target sizes, patch grids, padding to a square.

Each rule is one function of the image size and the family's constants, shared by the views step
(which resizes to its answer) and by the token-count helpers (``get_number_of_image_patches`` and
kin), so the number of patches a serving stack reserves is always the number the processor makes.
Sizes are ``(height, width)`` tuples of Python ints.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .errors import InvalidArgumentError, InvalidImageError

Size = tuple[int, int]

#: smart_resize refuses images whose long side is more than this many times the short side.
MAX_ASPECT_RATIO = 200


def smart_resize(
    height: int, width: int, factor: int, min_pixels: int, max_pixels: int, max_aspect_ratio: float | None = MAX_ASPECT_RATIO,
    round_at_least_factor: bool = False,
) -> Size:
    """Qwen2-VL's rule: both sides a multiple of ``factor``, the area within [min_pixels, max_pixels], the aspect kept.

    Sides are first rounded to the nearest multiple (Python ``round``, half to even, as transformers
    does); an area over the budget is scaled down (floored to the factor, at least one factor), one
    under it scaled up (ceiled). LFM2-VL's variant has no aspect limit (``max_aspect_ratio=None``)
    and rounds a side to at least one factor before comparing the area (``round_at_least_factor``).
    """
    if min(height, width) < 1:
        raise InvalidImageError(f"smart_resize: an image of {height}x{width} has no pixels")
    if max_aspect_ratio is not None and max(height, width) / min(height, width) > max_aspect_ratio:
        raise InvalidImageError(
            f"an image of {height}x{width} has an aspect ratio of {max(height, width) / min(height, width):.1f}, "
            f"over the limit of {max_aspect_ratio} this model accepts"
        )
    new_height = round(height / factor) * factor
    new_width = round(width / factor) * factor
    if round_at_least_factor:
        new_height, new_width = max(factor, new_height), max(factor, new_width)
    if new_height * new_width > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        new_height = max(factor, math.floor(height / beta / factor) * factor)
        new_width = max(factor, math.floor(width / beta / factor) * factor)
    elif new_height * new_width < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        new_height = math.ceil(height * beta / factor) * factor
        new_width = math.ceil(width * beta / factor) * factor
    return new_height, new_width


def enlarge_to_factor(height: int, width: int, factor: int) -> Size:
    """PaddleOCR-VL's first step: a height under ``factor`` becomes ``factor`` (width scaled, rounded), then likewise the width."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels")
    if height < factor:
        height, width = factor, round(width * factor / height)
    if width < factor:
        height, width = round(height * factor / width), factor
    return height, width


def smart_resize_enlarging(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> Size:
    """PaddleOCR-VL's rule: :func:`enlarge_to_factor`, then :func:`smart_resize` of the enlarged size (aspect limit included)."""
    enlarged = enlarge_to_factor(height, width, factor)
    if enlarged != (height, width) and max(enlarged) / min(enlarged) > MAX_ASPECT_RATIO:
        raise InvalidImageError(
            f"an image of {height}x{width} has an aspect ratio of {max(enlarged) / min(enlarged):.1f} once enlarged to "
            f"{enlarged[0]}x{enlarged[1]}, over the limit of {MAX_ASPECT_RATIO} this model accepts"
        )
    return smart_resize(*enlarged, factor, min_pixels, max_pixels)


#: GLM-Image refuses images whose long side is more than this many times the short side.
GLM_IMAGE_MAX_ASPECT_RATIO = 4


def glm_image_size(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> Size:
    """GLM-Image's rule: half the image, scaled so its short side reaches sqrt(min_pixels) and its long side stays
    within sqrt(max_pixels) (before halving), sides rounded to multiples of ``factor`` and capped at sqrt(max_pixels).

    Images with a side under ``factor`` or an aspect ratio over :data:`GLM_IMAGE_MAX_ASPECT_RATIO` are refused.
    """
    if min(height, width) < factor:
        raise InvalidImageError(f"an image of {height}x{width} has a side under {factor} pixels (patch_size x merge_size), the smallest this model accepts")
    if max(height, width) / min(height, width) > GLM_IMAGE_MAX_ASPECT_RATIO:
        raise InvalidImageError(
            f"an image of {height}x{width} has an aspect ratio of {max(height, width) / min(height, width):.1f}, "
            f"over the limit of {GLM_IMAGE_MAX_ASPECT_RATIO} this model accepts"
        )
    shortest, longest = int(round(math.sqrt(min_pixels))), int(round(math.sqrt(max_pixels)))
    scale = 1.0
    if min(height, width) < shortest:
        scale = shortest / min(height, width)
    if max(height, width) * scale > longest:
        scale = longest / max(height, width)
    # the scale is chosen for the whole image but applied to its half, as transformers does
    new_height = max(factor, int(round(height // 2 * scale / factor)) * factor)
    new_width = max(factor, int(round(width // 2 * scale / factor)) * factor)
    if max(new_height, new_width) > longest:
        beta = max(new_height, new_width) / longest
        new_height = max(factor, int(math.floor(new_height / beta / factor)) * factor)
        new_width = max(factor, int(math.floor(new_width / beta / factor)) * factor)
    return new_height, new_width


def token_budget_canvas(height: int, width: int, factor: int, frames: int, min_tokens: int, max_tokens: int) -> Size:
    """Glm5Next's canvas: sides rounded up to multiples of ``factor``, enlarged (aspect kept) to at least ``min_tokens``
    and cut by bisection over the content height to at most ``max_tokens`` tokens of ``frames`` x ``factor``² pixels."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels")
    per_token = frames * factor * factor
    min_pixels, max_pixels = min_tokens * per_token, max_tokens * per_token

    def align(value: int) -> int:
        return math.ceil(value / factor) * factor

    canvas_height, canvas_width = align(height), align(width)
    if frames * canvas_height * canvas_width < min_pixels:
        scale = math.sqrt(min_pixels / (frames * height * width))
        canvas_height, canvas_width = align(max(1, math.ceil(height * scale))), align(max(1, math.ceil(width * scale)))
    if frames * canvas_height * canvas_width > max_pixels:
        low, high = 1, height
        canvas_height, canvas_width = factor, factor
        while low <= high:
            content_height = (low + high) // 2
            candidate = align(content_height), align(max(1, math.floor(width * content_height / height)))
            if frames * candidate[0] * candidate[1] <= max_pixels:
                (canvas_height, canvas_width), low = candidate, content_height + 1
            else:
                high = content_height - 1
    return canvas_height, canvas_width


def content_in_canvas(height: int, width: int, canvas_height: int, canvas_width: int, enlarge: bool) -> Size:
    """The size an image is resized to inside a ``canvas`` (Glm5Next): scaled by the tighter side, never past the canvas,
    at least one pixel; enlarged only when ``enlarge``."""
    scale = min(canvas_height / height, canvas_width / width)
    if not enlarge:
        scale = min(1.0, scale)
    return max(1, min(canvas_height, math.floor(height * scale))), max(1, min(canvas_width, math.floor(width * scale)))


def patch_aligned_fit(height: int, width: int, max_height: int, max_width: int, patch_height: int, patch_width: int) -> Size:
    """Pixtral's rule: shrink (never enlarge) to fit ``max_height`` x ``max_width``, sides floored, then each side up to whole patches."""
    original = (height, width)
    ratio = max(height / max_height, width / max_width)
    if ratio > 1:
        height, width = math.floor(height / ratio), math.floor(width / ratio)
    if min(height, width) < 1:
        raise InvalidImageError(
            f"fitting an image of {original[0]}x{original[1]} into {max_height}x{max_width} leaves a side of {min(height, width)} pixels; "
            "its aspect ratio is too extreme"
        )
    return math.ceil(height / patch_height) * patch_height, math.ceil(width / patch_width) * patch_width


def square_padding(height: int, width: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding that centres an image on a square of its long side (odd pixel bottom/right)."""
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    return top, side - height - top, left, side - width - left


#: A crop window: (top, left, height, width) in pixels of the image it is cut from.
Box = tuple[int, int, int, int]


def pan_and_scan(height: int, width: int, min_crop_size: int, max_num_crops: int, min_ratio_to_activate: float) -> list[Box]:
    """Gemma3's pan-and-scan: crop windows along the long side of an elongated image, row-major; none for a near-square one.

    Only an image whose long/short ratio reaches ``min_ratio_to_activate`` is cut, into
    round(long/short) pieces (half up), no more than fit ``min_crop_size``, clamped to [2, max_num_crops]
    (max_num_crops wins). Windows are ceil(side / count) long, so the last one may be shorter; none
    are made when a window would be shorter than ``min_crop_size``.
    """
    if min(height, width) < 1:
        raise InvalidImageError(f"pan_and_scan: an image of {height}x{width} has no pixels")
    long_side, short_side = max(height, width), min(height, width)
    if long_side / short_side < min_ratio_to_activate:
        return []
    count = min(math.floor(long_side / short_side + 0.5), long_side // min_crop_size)
    count = min(max_num_crops, max(2, count))
    crop_long = math.ceil(long_side / count)
    if min(crop_long, short_side) < min_crop_size:
        return []
    if (count - 1) * crop_long >= long_side:
        # Windows of ceil(side / count) run past the end before the last one starts (a tiny min_crop_size
        # allows that): transformers would hand an empty crop to the resize.
        raise InvalidImageError(
            f"pan and scan cuts an image of {height}x{width} into {count} crops of {crop_long} pixels, leaving the last one empty; "
            f"raise pan_and_scan_min_crop_size (now {min_crop_size}) or lower pan_and_scan_max_num_crops (now {max_num_crops})"
        )
    starts = [crop_long * i for i in range(count)]
    if width >= height:
        return [(0, left, height, min(crop_long, width - left)) for left in starts]
    return [(top, 0, min(crop_long, height - top), width) for top in starts]


def naflex_size(height: int, width: int, patch_size: int, max_num_patches: int, tolerance: float = 1e-5) -> Size:
    """SigLIP2's NaFlex rule: the largest common scale whose patch grid fits ``max_num_patches``, found as transformers finds it.

    Each side becomes ``ceil(side * scale / patch_size)`` patches (at least one); the scale is
    bisected over [tolerance / 10, 100] until the bracket is narrower than ``tolerance``, keeping the
    lower end, with the same float operations as transformers so that the answer is the same.
    """
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels")

    def side(size: int, scale: float) -> int:
        return max(patch_size, math.ceil(size * scale / patch_size) * patch_size)

    low, high = tolerance / 10, 100.0
    while high - low >= tolerance:
        scale = (low + high) / 2
        if (side(height, scale) // patch_size) * (side(width, scale) // patch_size) <= max_num_patches:
            low = scale
        else:
            high = scale
    return side(height, low), side(width, low)


def pooled_patch_fit(height: int, width: int, patch_size: int, max_patches: int, pooling: int) -> Size:
    """Gemma4's rule: scale the area to ``max_patches`` patches, floor each side to whole ``pooling`` x ``pooling`` patch blocks.

    A side that floors to nothing gets one block and the other side ``floor(long / short)`` blocks,
    capped at the budget's blocks; as in transformers, the floors use the same float operations.
    """
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels")
    budget_pixels = max_patches * patch_size**2
    factor = math.sqrt(budget_pixels / (height * width))
    block = pooling * patch_size
    new_height = math.floor(factor * height / block) * block
    new_width = math.floor(factor * width / block) * block
    if new_height == 0 and new_width == 0:  # a budget under one block (or exactly one, short by float rounding)
        raise InvalidImageError(
            f"an image of {height}x{width} scaled to {max_patches} patches of {patch_size}x{patch_size} is under one "
            f"{block}x{block} block ({pooling}x{pooling} patches) on both sides; raise the patch budget"
        )
    longest = (max_patches // pooling**2) * block
    if new_height == 0:
        new_height, new_width = block, min(math.floor(width / height) * block, longest)
    elif new_width == 0:
        new_height, new_width = min(math.floor(height / width) * block, longest), block
    if new_height * new_width > budget_pixels:
        raise InvalidImageError(
            f"an image of {height}x{width} resized to {new_height}x{new_width} makes more than {max_patches} patches of {patch_size}x{patch_size}"
        )
    return new_height, new_width


def glm_smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int, frames: int) -> Size:
    """GLM-4.1V's rule: Qwen2-VL's smart_resize, with two changes of its own.

    An image with a side under ``factor`` is first enlarged (both sides by the same scale, truncated
    to ints) until that side reaches it; and the budget counts ``frames`` copies of the image (the
    temporal patch size), so ``min_pixels``/``max_pixels`` bound ``frames * height * width``.
    """
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels")
    original = (height, width)
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height, width = int(height * scale), int(width * scale)
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise InvalidImageError(
            f"an image of {original[0]}x{original[1]} has an aspect ratio of {max(height, width) / min(height, width):.1f}"
            f"{' once enlarged to ' + str(height) + 'x' + str(width) if (height, width) != original else ''}, "
            f"over the limit of {MAX_ASPECT_RATIO} this model accepts"
        )
    new_height = round(height / factor) * factor
    new_width = round(width / factor) * factor
    if frames * new_height * new_width > max_pixels:
        beta = math.sqrt((frames * height * width) / max_pixels)
        new_height = max(factor, math.floor(height / beta / factor) * factor)
        new_width = max(factor, math.floor(width / beta / factor) * factor)
    elif frames * new_height * new_width < min_pixels:
        beta = math.sqrt(min_pixels / (frames * height * width))
        new_height = math.ceil(height * beta / factor) * factor
        new_width = math.ceil(width * beta / factor) * factor
    return new_height, new_width


def cap_then_floor_sides(height: int, width: int, shortest_edge: int, longest_edge: int) -> Size:
    """Idefics2's rule: a long side over ``longest_edge`` is brought to it (the other side truncated, aspect kept),
    then each side is raised to at least ``shortest_edge`` on its own (so the aspect is not kept there)."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels")
    aspect = width / height
    if width >= height and width > longest_edge:
        width, height = longest_edge, int(longest_edge / aspect)
    elif height > width and height > longest_edge:
        height, width = longest_edge, int(longest_edge * aspect)
    return max(height, shortest_edge), max(width, shortest_edge)


#: Idefics3/SmolVLM never resize an image's long side beyond this (4k).
IDEFICS3_MAX_SIDE = 4096


def long_side_to(height: int, width: int, longest_edge: int, max_side: int = IDEFICS3_MAX_SIDE) -> Size:
    """Idefics3's first resize: the long side *to* ``longest_edge`` (up or down), the short side truncated and made even
    (+1 when odd), then both brought under ``max_side`` (truncated again); no side below 1."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels")
    aspect = width / height
    if width >= height:
        width, height = longest_edge, int(longest_edge / aspect)
        height += height % 2
    else:
        height, width = longest_edge, int(longest_edge * aspect)
        width += width % 2
    height, width = max(height, 1), max(width, 1)
    aspect = width / height
    if width >= height and width > max_side:
        width, height = max_side, int(max_side / aspect)
    elif height > width and height > max_side:
        height, width = max_side, int(max_side * aspect)
    return max(height, 1), max(width, 1)


def tile_grid_size(height: int, width: int, tile: int) -> Size:
    """Idefics3's tile grid: the long side up to whole ``tile`` squares, then the short side taken from the *new* long
    side at the old aspect (truncated) and also up to whole tiles. Both sides are positive multiples of ``tile``."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels")
    aspect = width / height
    if width >= height:
        grid_w = math.ceil(width / tile) * tile
        grid_h = math.ceil(int(grid_w / aspect) / tile) * tile
    else:
        grid_h = math.ceil(height / tile) * tile
        grid_w = math.ceil(int(grid_h * aspect) / tile) * tile
    if min(grid_h, grid_w) < 1:  # a 1-pixel side whose float product truncates to 0 (transformers then fails in its resize)
        raise InvalidImageError(
            f"an image of {height}x{width} is too narrow for {tile}x{tile} tiles: its short side, taken from the rounded long "
            "side at its aspect ratio, comes to 0 pixels; resize it to another size first"
        )
    return grid_h, grid_w


def tile_counts(height: int, width: int, tile: int) -> Size:
    """(rows, cols) of ``tile`` squares an image of ``height`` x ``width`` (multiples of ``tile``) splits into;
    (0, 0) when it is one tile, which is then kept whole and no global image is added."""
    if height <= tile and width <= tile:
        return 0, 0
    return math.ceil(height / tile), math.ceil(width / tile)


def select_best_resolution(height: int, width: int, resolutions: list[Size] | tuple[Size, ...]) -> Size:
    """LLaVA-NeXT's choice among ``resolutions`` ((height, width) pinpoints): the one that keeps the most of the image.

    Each candidate is scored by the pixels the image keeps when fitted inside it (aspect kept, floored,
    never more than the image has); ties go to the candidate that wastes the least area. The first
    candidate wins among exact ties (also when no candidate keeps a whole row), as in transformers.
    """
    if min(height, width) < 1:
        raise InvalidImageError(f"select_best_resolution: an image of {height}x{width} has no pixels")
    if not resolutions:
        raise InvalidArgumentError("image_grid_pinpoints is empty: give at least one (height, width) resolution")
    best: Size | None = None
    best_effective, best_wasted = 0, math.inf
    for target_height, target_width in resolutions:
        scale = min(target_width / width, target_height / height)
        effective = min(int(width * scale) * int(height * scale), width * height)
        wasted = target_width * target_height - effective
        if effective > best_effective or (effective == best_effective and wasted < best_wasted):
            best, best_effective, best_wasted = (target_height, target_width), effective, wasted
    assert best is not None  # the first candidate always beats the initial infinite waste
    return best


def fit_within(height: int, width: int, target_height: int, target_width: int) -> Size:
    """The size of an image fitted inside ``target`` with its aspect kept: the tighter side fills it, the other is ceiled (at most the target)."""
    scale_w, scale_h = target_width / width, target_height / height
    if scale_w < scale_h:
        return min(math.ceil(height * scale_w), target_height), target_width
    return target_height, min(math.ceil(width * scale_h), target_width)


def centered_padding(height: int, width: int, target_height: int, target_width: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding that centres ``height`` x ``width`` on ``target`` (odd pixel bottom/right)."""
    top, left = (target_height - height) // 2, (target_width - width) // 2
    return top, target_height - height - top, left, target_width - width - left


def tile_boxes(height: int, width: int, tile_height: int, tile_width: int) -> list[tuple[int, int, int, int]]:
    """(top, left, height, width) of the tiles covering an image row-major; tiles on the bottom/right edge may be smaller."""
    return [
        (top, left, min(tile_height, height - top), min(tile_width, width - left))
        for top in range(0, height, tile_height)
        for left in range(0, width, tile_width)
    ]


def closest_ratio_grid(
    height: int, width: int, tile_height: int, tile_width: int, min_tiles: int, max_tiles: int, grids: list[Size] | None = None
) -> Size:
    """InternVL / GOT-OCR2's tile grid, as (rows, cols): the grid of min..max tiles whose aspect is closest to the image's.

    Grids are tried by increasing tile count; on an equal aspect difference a later (larger) grid wins
    while the image area is over half of what its tiles cover. No grid in range gives (1, 1).
    ``grids`` replaces the candidate (cols, rows) grids, in the order they are tried (families that
    cap a side or order equal tile counts otherwise).
    """
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels to tile")
    if grids is None:
        grids = sorted(
            ((cols, rows) for cols in range(1, max_tiles + 1) for rows in range(1, max_tiles + 1) if min_tiles <= cols * rows <= max_tiles),
            key=lambda grid: grid[0] * grid[1],
        )
    cols, rows = closest_aspect_grid(width / height, grids, width * height, tile_height * tile_width)
    return rows, cols


def closest_aspect_grid(aspect: float, grids: list[Size], area: int, tile_area: int) -> Size:
    """The (cols, rows) of ``grids`` (in order) whose cols/rows is closest to ``aspect`` (width / height); on an equal
    difference a later grid wins while ``area`` is over half of what its tiles cover. (1, 1) when ``grids`` is empty."""
    best_diff, best = math.inf, (1, 1)
    for cols, rows in grids:
        diff = abs(aspect - cols / rows)
        if diff < best_diff:
            best_diff, best = diff, (cols, rows)
        elif diff == best_diff and area > 0.5 * tile_area * cols * rows:
            best = (cols, rows)
    return best


def covering_grid(height: int, width: int, tile: int, max_tiles: int, threshold: float = 0.9) -> Size:
    """Ovis2's tile grid, as (rows, cols) as it is scored: the fewest of up to ``max_tiles`` tiles whose pieces keep
    over ``threshold`` of the image's area once each is shrunk to fit a ``tile`` square (most kept, then fewest tiles, if none does).

    The image is cut into ``rows`` x ``cols`` near-equal pieces (the last row and column take the remainder);
    a piece whose long side exceeds ``tile`` counts only its area scaled down to fit. Grids are tried by
    tile count, columns outer, and the first of equal keys wins.
    """
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels to tile")
    if max_tiles < 1:
        raise InvalidArgumentError(f"max_patches must be a positive integer, got {max_tiles}")
    grids = sorted(((a, b) for a in range(1, max_tiles + 1) for b in range(1, max_tiles + 1) if a * b <= max_tiles), key=lambda grid: grid[0] * grid[1])

    def kept(rows: int, cols: int) -> float:
        piece_h, piece_w = height // rows, width // cols
        pieces = [
            ((height if row == rows - 1 else (row + 1) * piece_h) - row * piece_h, (width if col == cols - 1 else (col + 1) * piece_w) - col * piece_w)
            for row in range(rows)
            for col in range(cols)
        ]
        # sum() over the same terms in the same order as transformers, so threshold ties agree
        return sum(side_fit_area(max(h, w), min(h, w), tile) for h, w in pieces) / (height * width)

    scored = [(grid, kept(*grid)) for grid in grids]
    sufficient = [item for item in scored if item[1] > threshold]
    if sufficient:
        return min(sufficient, key=lambda item: (item[0][0] * item[0][1], -item[1]))[0]
    return min(scored, key=lambda item: (-item[1], item[0][0] * item[0][1]))[0]


def grids_by_aspect(max_tiles: int) -> dict[float, list[Size]]:
    """Every (cols, rows) grid of exactly n tiles for n = ``max_tiles`` down to 1, keyed by cols / rows, in PerceptionLM's
    order (counts descending, columns ascending): the order decides its ties."""
    groups: dict[float, list[Size]] = {}
    for count in range(max_tiles, 0, -1):
        for cols in (c for c in range(1, count + 1) if count % c == 0):
            groups.setdefault(cols / (count // cols), []).append((cols, count // cols))
    return groups


def aspect_fit_in_canvas(height: int, width: int, canvas_height: int, canvas_width: int) -> tuple[float, float]:
    """(width, height) of an image scaled, aspect kept, to fit a canvas; the side that fills it stays a float and
    the other is floored, as PerceptionLM's canvas search compares them."""
    aspect = width / height
    factor = min(canvas_width / width, canvas_height / height)
    if aspect > 1.0:
        new_width = factor * width
        return new_width, math.floor(new_width / aspect)
    new_height = factor * height
    return math.floor(new_height * aspect), new_height


def fitting_canvas_grid(height: int, width: int, tile: int, max_tiles: int) -> Size:
    """PerceptionLM's tile grid, as (rows, cols): of the canvases of up to ``max_tiles`` ``tile`` squares that hold the
    image without shrinking, the one where its short side grows most (the later one on a tie); when none holds it,
    the grid whose aspect is closest to the image's from the squarer side (wide: most columns; tall: most rows).
    ``max_tiles`` of 1 is one tile."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels to tile")
    if max_tiles < 1:
        raise InvalidArgumentError(f"max_num_tiles must be a positive integer, got {max_tiles}")
    if max_tiles == 1:
        return 1, 1
    groups = grids_by_aspect(max_tiles)
    aspect = width / height
    best: Size | None = None
    best_fit: tuple[float, float] = (0.0, 0.0)
    for cols, rows in (grid for grids in groups.values() for grid in grids):
        if cols * tile < width or rows * tile < height:
            continue
        fit = aspect_fit_in_canvas(height, width, rows * tile, cols * tile)
        if best is None or (fit[0] >= best_fit[0] if aspect < 1.0 else fit[1] >= best_fit[1]):
            best, best_fit = (cols, rows), fit
    if best is None:
        if aspect >= 1:
            closest = min((k for k in groups if k <= aspect), key=lambda k: abs(k - aspect))
            best = max(groups[closest], key=lambda grid: grid[0])
        else:
            closest = min((k for k in groups if k > aspect), key=lambda k: abs(1 / k - 1 / aspect))
            best = max(groups[closest], key=lambda grid: grid[1])
    return best[1], best[0]


def nearest_multiple_at_least_one(length: float, divisor: int) -> int:
    """``length`` rounded (Python ``round``) to a multiple of ``divisor``, at least ``divisor`` (MiniCPM-V's ensure_divide)."""
    return max(round(length / divisor) * divisor, divisor)


def slice_source_size(height: float, width: float, resolution: int, block: int, allow_upscale: bool) -> Size:
    """MiniCPM-V's size for a view: an area over ``resolution``² (or any, with ``allow_upscale``) is scaled to about
    ``resolution``² with the aspect kept (truncated), then each side rounded to a multiple of ``block`` (at least one)."""
    if min(height, width) <= 0:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels to resize")
    if height * width > resolution * resolution or allow_upscale:
        aspect = width / height
        height = int(resolution / math.sqrt(aspect))
        width = int(height * aspect)
    return nearest_multiple_at_least_one(height, block), nearest_multiple_at_least_one(width, block)


def slice_grid(height: int, width: int, max_slices: int, resolution: int) -> Size | None:
    """MiniCPM-V's slice grid, as (rows, cols), or None for an image that is not sliced: the image's area in
    ``resolution``² units, rounded up and capped at ``max_slices``, give or take one slice, split into the grid
    whose log aspect is closest to the image's (the one with more rows on a tie)."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels to slice")
    log_ratio = math.log(width / height)
    multiple = min(math.ceil(width * height / (resolution * resolution)), max_slices)
    if multiple <= 1:
        return None
    best, best_error = (1, 1), math.inf
    for count in (multiple - 1, multiple, multiple + 1):
        if count == 1 or count > max_slices:
            continue
        for rows in (r for r in range(1, count + 1) if count % r == 0):
            error = abs(log_ratio - math.log((count // rows) / rows))
            if error < best_error or (error == best_error and rows > best[0]):
                best, best_error = (rows, count // rows), error
    return best


def sliced_canvas_size(height: int, width: int, grid: Size, resolution: int, block: int, allow_upscale: bool = True) -> Size:
    """MiniCPM-V's size for the image its slices are cut from: each slice's share sized by :func:`slice_source_size`
    (scaled to about ``resolution``², as the pipeline always does, or only down without ``allow_upscale``), times the grid."""
    rows, cols = grid
    slice_height = nearest_multiple_at_least_one(height, rows) / rows
    slice_width = nearest_multiple_at_least_one(width, cols) / cols
    best_height, best_width = slice_source_size(slice_height, slice_width, resolution, block, allow_upscale)
    return best_height * rows, best_width * cols


def patch_budget_fit(height: int, width: int, patch_size: int, max_patches: int, max_side_patches: int) -> Size:
    """Kimi-K2.5's resize target: shrunk (never enlarged; sides truncated, at least 1) so that the whole patches
    of the original fit ``max_patches`` in all and each side fits ``max_side_patches`` patches."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels to resize")
    # max(1.0, ...) and the float products follow transformers' navit_resize, so the truncations agree
    patches = max(1.0, height // patch_size) * max(1.0, width // patch_size)
    side = max_side_patches * patch_size
    scale = min(1.0, math.sqrt(max_patches / patches), side / height, side / width)
    return min(max(1, int(height * scale)), side), min(max(1, int(width * scale)), side)


def side_fit_area(long: int, short: int, tile: int) -> float:
    """Area of a ``long`` x ``short`` piece after shrinking it (aspect kept) so its long side fits ``tile``."""
    if long > tile:
        return tile * (short / long * tile)
    return long * short


def least_upscale_grid(height: int, width: int, tile_size: int, max_tiles: int) -> Size:
    """Cohere2-Vision's tile grid, as (rows, cols): of the grids up to ``max_tiles`` tiles of ``tile_size``, the one
    needing the least upscaling to fit the image; when every grid needs downscaling, the one needing the least of that.

    Grids are ordered by tile count (then as enumerated, columns outer); the first of equal scales wins.
    """
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels to tile")
    grids = sorted(((cols, rows) for cols in range(1, max_tiles + 1) for rows in range(1, max_tiles + 1) if cols * rows <= max_tiles),
                   key=lambda grid: grid[0] * grid[1])
    # float64 throughout, as transformers' NumPy arithmetic, so equal scales compare equal the same way
    scales = [min(cols * tile_size / width, rows * tile_size / height) for cols, rows in grids]
    if all(scale < 1 for scale in scales):
        index = max(range(len(grids)), key=lambda i: (scales[i], -i))
    else:
        index = min(range(len(grids)), key=lambda i: (scales[i] if scales[i] >= 1 else 10e9, i))
    cols, rows = grids[index]
    return rows, cols


def long_side_fit(height: int, width: int, size: int, min_size: int) -> Size:
    """Janus / DeepSeek-VL's resize: the long side to ``size``, the other scaled with Python ``round`` (banker's),
    each side at least ``min_size``."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels to resize")
    # the same float expression as transformers (size / long side, times each side), so rounding ties agree
    delta = size / max(height, width)
    return max(round(height * delta), min_size), max(round(width * delta), min_size)


def tile_arrangements(max_tiles: int) -> list[Size]:
    """Mllama's canvas grids, as (a, b) with a*b <= ``max_tiles``, in its order: a ascending, then b ascending.

    The list is symmetric, so it reads the same as (rows, cols) or (cols, rows); an image's
    ``aspect_ratio_ids`` value is its (rows, cols) index here plus one.
    """
    if max_tiles < 1:
        raise InvalidArgumentError(f"max_image_tiles must be a positive integer, got {max_tiles}")
    return [(a, b) for a in range(1, max_tiles + 1) for b in range(1, max_tiles + 1) if a * b <= max_tiles]


def tiled_canvas(height: int, width: int, max_tiles: int, tile: int) -> Size:
    """Mllama's canvas for an image, as (rows, cols) of ``tile`` squares: the grid of at most ``max_tiles`` that scales it least.

    Each grid's scale is the smaller of its two side ratios; the smallest scale >= 1 wins (least
    upscaling), else the largest (least downscaling); among equal scales the smallest area, the first
    in :func:`tile_arrangements` order on a further tie.
    """
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels to tile")
    grids = tile_arrangements(max_tiles)
    scales = [min(rows * tile / height, cols * tile / width) for rows, cols in grids]
    upscales = [s for s in scales if s >= 1]
    chosen = min(upscales) if upscales else max(scales)
    candidates = [grid for grid, scale in zip(grids, scales) if scale == chosen]
    return min(candidates, key=lambda grid: grid[0] * grid[1])


def fit_to_canvas(height: int, width: int, canvas_height: int, canvas_width: int, tile: int) -> Size:
    """Mllama's resize target: each side clipped to [``tile``, canvas], the tighter ratio applied to the other side (floored, at least 1)."""
    target_height = min(max(height, tile), canvas_height)
    target_width = min(max(width, tile), canvas_width)
    scale_h, scale_w = target_height / height, target_width / width
    if scale_w < scale_h:
        return min(math.floor(height * scale_w) or 1, target_height), target_width
    return target_height, min(math.floor(width * scale_h) or 1, target_width)


def long_side_to_with_floor(height: int, width: int, max_size: int, min_size: int) -> Size:
    """Aria's crop size: the long side set to ``max_size`` (the width when the sides are equal), the short
    side scaled with it, truncated, and raised to at least ``min_size``."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels")
    scale = max_size / max(height, width)
    if width >= height:
        return max(int(height * scale), min_size), max_size
    return max_size, max(int(width * scale), min_size)


def shrink_to_fit(height: int, width: int, max_height: int, max_width: int) -> Size:
    """Fuyu's resize: the size unchanged when it fits ``max_height`` x ``max_width``, else both sides scaled by
    the tighter ratio and truncated (never enlarged); a side truncated to 0 is an error naming the image."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels to resize")
    if height <= max_height and width <= max_width:
        return height, width
    # the same float expressions as transformers (target / side, the smaller, times each side), so truncation agrees
    scale = min(max_height / height, max_width / width)
    fitted = int(height * scale), int(width * scale)
    if min(fitted) < 1:
        raise InvalidImageError(
            f"an image of {height}x{width} fitted into {max_height}x{max_width} becomes {fitted[0]}x{fitted[1]}, which has no pixels; "
            "its aspect ratio is too extreme for that size"
        )
    return fitted


def exact_patch_grid(height: int, width: int, patch_height: int, patch_width: int, what: str = "an image") -> Size:
    """(rows, cols) of ``patch_height`` x ``patch_width`` patches covering ``height`` x ``width`` exactly; sides that are
    not whole patches are an error naming ``what``."""
    if height % patch_height or width % patch_width:
        raise InvalidImageError(
            f"{what} of {height}x{width} does not split into {patch_height}x{patch_width} patches: both sides must be multiples of the patch size"
        )
    return height // patch_height, width // patch_width


def dynamic_hd_grid(height: int, width: int, crop_size: int, max_crops: int, min_crops: int = 1) -> Size:
    """Phi-4-multimodal's crop grid, as (rows, cols): enough ``crop_size`` squares to cover the image, or, when that
    is more than ``max_crops``, the closest-aspect grid of InternVL (:func:`closest_ratio_grid`, min_crops..max_crops)."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels to crop")
    rows, cols = math.ceil(height / crop_size), math.ceil(width / crop_size)
    if rows * cols > max_crops:
        return closest_ratio_grid(height, width, crop_size, crop_size, min_crops, max_crops)
    return rows, cols


def fit_to_canvas_truncated(height: int, width: int, canvas_height: int, canvas_width: int) -> Size:
    """The image scaled by the tighter of the canvas ratios: that side fills the canvas exactly, the other is truncated
    (Phi-4-multimodal; the canvas is then padded bottom/right)."""
    ratio_height, ratio_width = canvas_height / height, canvas_width / width
    if ratio_width < ratio_height:
        return int(height * ratio_width), canvas_width
    return canvas_height, int(width * ratio_height)


def supported_resolutions(max_tiles: int, tile: int) -> list[Size]:
    """Llama 4's canvases, as (height, width): (rows * tile, cols * tile) for every rows x cols = 1..``max_tiles``,
    in its order: grouped by aspect ratio (rows / cols) in the order first met, tile counts descending, rows ascending."""
    if max_tiles < 1:
        raise InvalidArgumentError(f"max_patches must be a positive integer, got {max_tiles}")
    groups: dict[float, list[Size]] = {}
    for count in range(max_tiles, 0, -1):
        for rows in (d for d in range(1, count + 1) if count % d == 0):
            groups.setdefault(rows / (count // rows), []).append((rows * tile, count // rows * tile))
    return [canvas for group in groups.values() for canvas in group]


def best_fit_canvas(height: int, width: int, canvases: list[Size], largest: bool = False) -> Size:
    """Llama 4's canvas for an image: each canvas's scale is the smaller of its side ratios (in float32, as transformers
    computes them); the smallest scale >= 1 wins (the largest with ``largest``), else the largest scale; among equal
    scales the smallest area, the first in ``canvases`` on a further tie."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels to fit")
    scales = [min(np.float32(h) / np.float32(height), np.float32(w) / np.float32(width)) for h, w in canvases]
    upscales = [s for s in scales if s >= 1]
    chosen = (max(upscales) if largest else min(upscales)) if upscales else max(scales)
    candidates = [canvas for canvas, scale in zip(canvases, scales) if scale == chosen]
    return min(candidates, key=lambda canvas: canvas[0] * canvas[1])


def area_and_side_fit(height: int, width: int, max_side: int | None, min_pixels: int | None, max_pixels: int | None) -> Size:
    """One scale, aspect kept, bringing the area up to ``min_pixels`` and within ``max_pixels`` and the long side within ``max_side`` (NeoMME).

    Unset limits are ignored; an image within every limit is kept. Sides are rounded to nearest; if that
    breaks a cap they are floored (and the long one trimmed to the area cap), and if rounding falls short
    of ``min_pixels`` they are ceiled, unless that breaks a cap.
    """
    area = height * width
    enlarge = min_pixels is not None and area < min_pixels
    scale = (min_pixels / area) ** 0.5 if enlarge else 1.0
    if max_side is not None:
        scale = min(scale, max_side / max(height, width))
    if max_pixels is not None:
        scale = min(scale, (max_pixels / area) ** 0.5)
    if scale == 1.0:
        return height, width

    def breaks_cap(h: int, w: int) -> bool:
        return (max_side is not None and max(h, w) > max_side) or (max_pixels is not None and h * w > max_pixels)

    rounded = max(1, round(height * scale)), max(1, round(width * scale))
    if breaks_cap(*rounded):
        floor_h, floor_w = max(1, math.floor(height * scale)), max(1, math.floor(width * scale))
        if max_pixels is not None and floor_h * floor_w > max_pixels:
            if floor_h >= floor_w:
                floor_h = max(1, max_pixels // floor_w)
            else:
                floor_w = max(1, max_pixels // floor_h)
        return floor_h, floor_w
    if enlarge and rounded[0] * rounded[1] < min_pixels:
        ceiled = max(1, math.ceil(height * scale)), max(1, math.ceil(width * scale))
        if not breaks_cap(*ceiled):
            return ceiled
    return rounded


def token_capped_aspect_grid(height: int, width: int, block: int, max_blocks: int) -> Size:
    """The ``block``-pixel grid (in pixels) nearest the image's aspect with at most ``max_blocks`` blocks (MuseGlimmer).

    The ideal fractional grid (scaled down to the budget when over it) is floored or ceiled per side;
    of the candidates within the budget, the one whose aspect is closest wins (ties: first in
    (floor, ceil) x (floor, ceil) set order, as transformers); if none fits, each side is rounded.
    """
    rows, cols = height / block, width / block
    aspect = cols / rows
    if rows * cols > max_blocks:
        rows = (max_blocks / aspect) ** 0.5
        cols = rows * aspect
    options = list(set(itertools.product((math.floor(rows), math.ceil(rows)), (math.floor(cols), math.ceil(cols)))))
    options = [(r, c) for r, c in options if r >= 1 and c >= 1 and r * c <= max_blocks]
    if not options:
        options = [(max(1, round(rows)), max(1, round(cols)))]
    best_rows, best_cols = min(options, key=lambda grid: abs(grid[0] / grid[1] - height / width))
    return best_rows * block, best_cols * block


def overlap_tiling(height: int, width: int, window: int, max_crops: int) -> Size:
    """Molmo2's (rows, cols) of ``window`` squares for a ``height`` x ``width`` area, at most ``max_crops`` of them.

    Grids are ordered by count, then rows; each grid's scale is the smaller of its two side ratios
    (in float32, as transformers computes them; a side of zero or less gives inf or a negative scale).
    When every scale is under 1 the largest wins (least downscaling), else the smallest scale >= 1; the
    first in order on a tie.
    """
    if max_crops < 1:
        raise InvalidArgumentError(f"max_crops must be a positive integer, got {max_crops}")
    import numpy as np

    grids = sorted(((rows, cols) for rows in range(1, max_crops + 1) for cols in range(1, max_crops + 1) if rows * cols <= max_crops),
                   key=lambda grid: (grid[0] * grid[1], grid[0]))
    candidates = np.array(grids, dtype=np.float32) * np.float32(window)
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = (candidates / np.array([height, width], dtype=np.float32)).min(axis=1)
    if np.all(scales < 1):
        return grids[int(np.argmax(scales))]
    return grids[int(np.argmin(np.where(scales < 1, np.float32(10e9), scales)))]


def overlap_crop_geometry(height: int, width: int, crop_size: int, patch_size: int, margins: Size, max_crops: int) -> tuple[Size, Size]:
    """Molmo2's overlapping crops of an image: ((rows, cols) of crops, (height, width) of the canvas they cover).

    Crops are ``crop_size`` squares stepping by the window left after ``margins`` (left, right; in
    patches); the tiling is chosen for the image less the margins, and the canvas is the windows plus the margins.
    """
    if crop_size % patch_size:
        raise InvalidArgumentError(f"size ({crop_size}) must be a multiple of patch_size ({patch_size})")
    margin = (margins[0] + margins[1]) * patch_size
    window = crop_size - margin
    if window < patch_size:
        raise InvalidArgumentError(f"overlap_margins {list(margins)} leave no window in a crop of {crop_size // patch_size} patches; lower them or raise size")
    rows, cols = overlap_tiling(height - margin, width - margin, window, max_crops)
    return (rows, cols), (rows * window + margin, cols * window + margin)


def overlap_patch_indices(rows: int, cols: int, crop_patches: int, margins: Size):
    """Molmo2's canvas patch grid: for each patch of the canvas, its index among the crops' patches (crop-major).

    Overlapping crops each keep their patches past the margins they share with a neighbour, so every canvas
    patch is counted once; the result is ``(canvas rows, canvas cols)`` int32.
    """
    import numpy as np

    left, right = margins
    grid = np.arange(rows * cols * crop_patches * crop_patches, dtype=np.int32).reshape(rows, cols, crop_patches, crop_patches)
    if left:
        grid[1:, :, :left, :] = -1
        grid[:, 1:, :, :left] = -1
    if right:
        grid[:-1, :, -right:, :] = -1
        grid[:, :-1, :, -right:] = -1
    kept = grid.transpose(0, 2, 1, 3).reshape(-1)
    window = crop_patches - left - right
    return kept[kept >= 0].reshape(rows * window + left + right, cols * window + left + right)


def pooling_windows(grid, pool_h: int, pool_w: int):
    """A patch-index grid cut into ``pool_h`` x ``pool_w`` windows, padded with -1 around (the odd one after): ``(windows, pool_h * pool_w)``, rows, cols."""
    import numpy as np

    pad_h = -grid.shape[0] % pool_h
    pad_w = -grid.shape[1] % pool_w
    padded = np.pad(grid, ((pad_h // 2, (pad_h + 1) // 2), (pad_w // 2, (pad_w + 1) // 2)), constant_values=-1)
    rows, cols = padded.shape[0] // pool_h, padded.shape[1] // pool_w
    return padded.reshape(rows, pool_h, cols, pool_w).transpose(0, 2, 1, 3).reshape(rows * cols, pool_h * pool_w), rows, cols


def capped_long_side(height: int, width: int, longest_edge: int, tile: int, max_tiles: int) -> int:
    """UltraVBert's first-resize target: ``longest_edge`` lowered in steps of ``tile`` until the image, resized by
    :func:`long_side_to` and put on :func:`tile_grid_size`, is at most ``max_tiles`` tiles (never below one tile)."""
    while longest_edge > tile:
        grid_h, grid_w = tile_grid_size(*long_side_to(height, width, longest_edge), tile)
        if (grid_h // tile) * (grid_w // tile) <= max_tiles:
            break
        longest_edge -= tile
    return longest_edge


def patch_count_grid(height: int, width: int, patch_size: int, merge_size: int, min_patches: int, max_patches: int) -> Size:
    """NemotronH-Omni's ``(rows, cols)`` patch grid: the image's own grid (about a side's patches plus one) scaled down
    into ``max_patches`` (floor) or up to ``min_patches`` (ceil, only when ``max_patches > min_patches``), then each
    side made a multiple of ``merge_size`` (up if that still fits ``max_patches``, else down, to at least one block)."""
    # Python's round (half to even) as transformers uses it: floor(side / p) + 1, but an even multiple stays as is
    rows, cols = round(height / patch_size + 0.5), round(width / patch_size + 0.5)
    shrink = min(math.sqrt(max_patches / (rows * cols)), 1.0)
    rows, cols = math.floor(shrink * rows), math.floor(shrink * cols)
    if rows == 0 or cols == 0:
        raise InvalidImageError(
            f"a {height}x{width} image scaled into {max_patches} patches of {patch_size} pixels has a side of no patch: "
            "its aspect ratio is too extreme for that patch budget"
        )
    if max_patches > min_patches and rows * cols < min_patches:
        grow = math.sqrt(min_patches / (rows * cols))
        rows, cols = math.ceil(grow * rows), math.ceil(grow * cols)
    if rows % merge_size:
        up = rows + merge_size - rows % merge_size
        rows = up if up * cols <= max_patches else max(merge_size, rows - rows % merge_size)
    if cols % merge_size:
        up = cols + merge_size - cols % merge_size
        cols = up if rows * up <= max_patches else max(merge_size, cols - cols % merge_size)
    return rows, cols


def sliding_window_plan(height: int, width: int, image_size: int, window: int, max_side: int) -> tuple[Size, Size, int, Size, bool]:
    """Step3p7's crop plan: ``((height, width) of the global view before its square resize, (height, width) the image is
    resized to for cropping, window side (0: no crops), (rows, cols) of windows, whether to zero-pad to a square first)``.

    Near-degenerate images (a side under 32 and an aspect ratio over 4) are squared; then the long side is capped
    at ``max_side`` (sides truncated). The window is ``window``, or the short side where the long side fits
    ``image_size`` (only for ratios over 1.5) or the ratio is over 4 (at most ``window``). Each side is snapped to
    a window multiple, up when the remainder is over a fifth of the window. An image whose short side the cap
    truncates to 0 is refused (transformers divides by zero there)."""
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels")
    pad = min(height, width) < 32 and max(width / height, height / width) > 4
    if pad:
        height = width = max(height, width)
    if max(height, width) > max_side:
        scale = max_side / max(height, width)
        capped = int(height * scale), int(width * scale)
        if min(capped) < 1:
            raise InvalidImageError(
                f"an image of {height}x{width} has an aspect ratio of {max(height, width) / min(height, width):.1f}: capping its "
                f"long side at max_image_size={max_side} leaves a short side under 1 pixel"
            )
        height, width = capped
    short, long = min(height, width), max(height, width)
    if long <= image_size:
        side = short if long / short > 1.5 else 0
    elif long / short > 4:
        side = min(short, window)
    else:
        side = window
    if side == 0:
        return (height, width), (height, width), 0, (0, 0), pad

    def snap(length: int) -> int:
        return side * (length // side + (length % side > 0.2 * side)) if length >= side else length

    crop_height, crop_width = snap(height), snap(width)
    return (height, width), (crop_height, crop_width), side, (max(1, crop_height // side), max(1, crop_width // side)), pad
