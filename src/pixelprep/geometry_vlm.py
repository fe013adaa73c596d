"""Pure integer geometry of the vision-language families: target sizes, patch grids, padding to a square.

Each rule is one function of the image size and the family's constants, shared by the views step
(which resizes to its answer) and by the token-count helpers (``get_number_of_image_patches`` and
kin), so the number of patches a serving stack reserves is always the number the processor makes.
Sizes are ``(height, width)`` tuples of Python ints.
"""

from __future__ import annotations

import math

from .errors import InvalidArgumentError, InvalidImageError

Size = tuple[int, int]

#: smart_resize refuses images whose long side is more than this many times the short side.
MAX_ASPECT_RATIO = 200


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> Size:
    """Qwen2-VL's rule: both sides a multiple of ``factor``, the area within [min_pixels, max_pixels], the aspect kept.

    Sides are first rounded to the nearest multiple (Python ``round``, half to even, as transformers
    does); an area over the budget is scaled down (floored to the factor, at least one factor), one
    under it scaled up (ceiled).
    """
    if min(height, width) < 1:
        raise InvalidImageError(f"smart_resize: an image of {height}x{width} has no pixels")
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise InvalidImageError(
            f"an image of {height}x{width} has an aspect ratio of {max(height, width) / min(height, width):.1f}, "
            f"over the limit of {MAX_ASPECT_RATIO} this model accepts"
        )
    new_height = round(height / factor) * factor
    new_width = round(width / factor) * factor
    if new_height * new_width > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        new_height = max(factor, math.floor(height / beta / factor) * factor)
        new_width = max(factor, math.floor(width / beta / factor) * factor)
    elif new_height * new_width < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        new_height = math.ceil(height * beta / factor) * factor
        new_width = math.ceil(width * beta / factor) * factor
    return new_height, new_width


def patch_aligned_fit(height: int, width: int, max_height: int, max_width: int, patch_height: int, patch_width: int) -> Size:
    """Pixtral's rule: shrink (never enlarge) to fit ``max_height`` x ``max_width``, sides floored, then each side up to whole patches."""
    ratio = max(height / max_height, width / max_width)
    if ratio > 1:
        height, width = math.floor(height / ratio), math.floor(width / ratio)
    if min(height, width) < 1:
        raise InvalidImageError(
            f"fitting the image into {max_height}x{max_width} leaves a side of {min(height, width)} pixels; its aspect ratio is too extreme"
        )
    return math.ceil(height / patch_height) * patch_height, math.ceil(width / patch_width) * patch_width


def square_padding(height: int, width: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding that centres an image on a square of its long side (odd pixel bottom/right)."""
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    return top, side - height - top, left, side - width - left


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


def closest_ratio_grid(height: int, width: int, tile_height: int, tile_width: int, min_tiles: int, max_tiles: int) -> Size:
    """InternVL / GOT-OCR2's tile grid, as (rows, cols): the grid of min..max tiles whose aspect is closest to the image's.

    Grids are tried by increasing tile count; on an equal aspect difference a later (larger) grid wins
    while the image area is over half of what its tiles cover. No grid in range gives (1, 1).
    """
    if min(height, width) < 1:
        raise InvalidImageError(f"an image of {height}x{width} has no pixels to tile")
    grids = sorted(
        ((cols, rows) for cols in range(1, max_tiles + 1) for rows in range(1, max_tiles + 1) if min_tiles <= cols * rows <= max_tiles),
        key=lambda grid: grid[0] * grid[1],
    )
    aspect, area = width / height, width * height
    best_diff, best = math.inf, (1, 1)
    for cols, rows in grids:
        diff = abs(aspect - cols / rows)
        if diff < best_diff:
            best_diff, best = diff, (cols, rows)
        elif diff == best_diff and area > 0.5 * tile_height * tile_width * cols * rows:
            best = (cols, rows)
    return best[1], best[0]


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
