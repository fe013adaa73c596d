"""Pure integer geometry: output sizes for every resize rule, crop windows and padding amounts.

Every backend takes its sizes from here, so no two backends can disagree on arithmetic. Sizes are
``(height, width)`` tuples of Python ints.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidArgumentError, InvalidImageError

Size = tuple[int, int]


def pixel_limit() -> int | None:
    """``pixelprep.MAX_OUTPUT_PIXELS``, read at call time so that raising it takes effect at once (None: no limit)."""
    import pixelprep

    return pixelprep.MAX_OUTPUT_PIXELS


def _over_limit(height: int, width: int) -> bool:
    limit = pixel_limit()
    return limit is not None and height * width > limit


def check_output_size(height: int, width: int, what: str = "an output image") -> Size:
    """``(height, width)``, refused before anything is allocated when it is over ``pixelprep.MAX_OUTPUT_PIXELS``."""
    limit = pixel_limit()
    if limit is not None and height * width > limit:
        raise InvalidArgumentError(
            f"{what} of {height}x{width} = {height * width} pixels is over pixelprep.MAX_OUTPUT_PIXELS = {limit}: "
            "check size, crop_size and pad_size, or raise the limit to allow larger images"
        )
    return height, width


def shortest_edge_size(height: int, width: int, shortest_edge: int) -> Size:
    """Scale so the shorter side equals ``shortest_edge``; the longer side is truncated, as transformers does."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = shortest_edge, int(shortest_edge * long / short)
    return (new_long, new_short) if width <= height else (new_short, new_long)


def shortest_longest_edge_size(height: int, width: int, shortest_edge: int, longest_edge: int) -> Size:
    """Shorter side to ``shortest_edge`` unless that pushes the longer side past ``longest_edge`` (DETR rule)."""
    size = shortest_edge
    raw_size: float | None = None
    short, long = float(min(height, width)), float(max(height, width))
    if long / short * size > longest_edge:
        raw_size = longest_edge * short / long
        size = int(round(raw_size))
    if (height <= width and height == size) or (width <= height and width == size):
        return height, width
    scale_from = raw_size if raw_size is not None else size
    if width < height:
        return int(scale_from * height / width), size
    return size, int(scale_from * width / height)


def yolos_size(height: int, width: int, shortest_edge: int, longest_edge: int, multiple: int = 16) -> Size:
    """YOLOS's variant of the DETR rule: the portrait branch wins over "already the right size", then both sides drop to a multiple of ``multiple``."""
    if height < 1 or width < 1:
        raise InvalidImageError(f"cannot resize an empty {height}x{width} image")
    size = shortest_edge
    raw_size: float | None = None
    short, long = float(min(height, width)), float(max(height, width))
    if long / short * size > longest_edge:
        raw_size = longest_edge * short / long
        size = int(round(raw_size))
    scale_from = raw_size if raw_size is not None else size
    if width < height:
        out_height, out_width = int(scale_from * height / width), size
    elif height == size:  # here width >= height, so this is the short side
        out_height, out_width = height, width
    else:
        out_height, out_width = size, int(scale_from * width / height)
    return check_output_size(out_height - out_height % multiple, out_width - out_width % multiple, f"resizing a {height}x{width} image gives an image")


def longest_edge_size(height: int, width: int, longest_edge: int) -> Size:
    """Scale so the longer side equals ``longest_edge``, rounding the other side to nearest (SAM rule)."""
    scale = longest_edge / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def max_height_width_size(height: int, width: int, max_height: int, max_width: int) -> Size:
    """Largest size with the same aspect ratio that fits inside ``max_height`` x ``max_width``."""
    scale = min(max_height / height, max_width / width)
    return int(height * scale), int(width * scale)


def keep_ratio_size(height: int, width: int, target_height: int, target_width: int, longest: bool) -> Size:
    """Keep the aspect ratio and fit inside (``longest``) or cover the target box, sides rounded half to even.

    timm's and open_clip's ``ResizeKeepRatio`` rule: one scale for both sides, then Python ``round``.
    """
    ratios = (height / target_height, width / target_width)
    ratio = max(ratios) if longest else min(ratios)
    return round(height / ratio), round(width / ratio)


def scaled_shortest_edge(shortest_edge: int, ratio: float) -> int:
    """``int(ratio * shortest_edge)``: LeViT's 256/224 enlargement before its crop."""
    return int(ratio * shortest_edge)


def crop_pct_shortest_edge(shortest_edge: int, crop_pct: float) -> int:
    """``int(shortest_edge / crop_pct)``: the edge to resize to so a ``shortest_edge`` crop keeps ``crop_pct`` of it."""
    return int(shortest_edge / crop_pct)


def multiple_of_size(height: int, width: int, target_height: int, target_width: int, keep_aspect_ratio: bool, multiple: int) -> Size:
    """DPT's rule: scale towards the target (one shared scale, the one nearer 1, with ``keep_aspect_ratio``), sides rounded to a multiple."""
    if height < 1 or width < 1:
        raise InvalidImageError(f"cannot resize an empty {height}x{width} image")
    scale_h, scale_w = target_height / height, target_width / width
    if keep_aspect_ratio:
        scale_h = scale_w = scale_w if abs(1 - scale_w) < abs(1 - scale_h) else scale_h
    # Python round: half to even, as transformers does
    out = round(scale_h * height / multiple) * multiple, round(scale_w * width / multiple) * multiple
    return check_output_size(*out, f"resizing a {height}x{width} image gives an image")


def resize_output_size(height: int, width: int, size: dict[str, int]) -> Size:
    """Output size of a resize for any supported size dict form (checked against ``pixelprep.MAX_OUTPUT_PIXELS``)."""
    if height < 1 or width < 1:
        raise InvalidImageError(f"cannot resize an empty {height}x{width} image")
    if size.get("shortest_edge") and size.get("longest_edge"):
        target = shortest_longest_edge_size(height, width, size["shortest_edge"], size["longest_edge"])
    elif size.get("shortest_edge"):
        target = shortest_edge_size(height, width, size["shortest_edge"])
    elif size.get("longest_edge"):
        target = longest_edge_size(height, width, size["longest_edge"])
    elif size.get("max_height") and size.get("max_width"):
        target = max_height_width_size(height, width, size["max_height"], size["max_width"])
    elif size.get("height") and size.get("width"):
        target = size["height"], size["width"]
    else:
        raise InvalidArgumentError(
            "size must have 'height' and 'width', 'shortest_edge' (optionally with 'longest_edge'), "
            f"'longest_edge', or 'max_height' and 'max_width'; got {size}"
        )
    return check_output_size(*target, f"resizing a {height}x{width} image with size={size} gives an image") if _over_limit(*target) else target


@dataclass(frozen=True)
class CropWindow:
    """Where a center crop reads from the image, and how much zero padding surrounds it first."""

    top: int
    left: int
    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int

    @property
    def needs_padding(self) -> bool:
        """True when the crop is larger than the image along some side."""
        return bool(self.pad_top or self.pad_bottom or self.pad_left or self.pad_right)


def _center_offset(length: int, crop: int, rounding: str = "trunc") -> tuple[int, int, int]:
    """Offset into the (padded) axis and the padding before/after it.

    With ``rounding="trunc"`` the offset is ``(length - crop) / 2`` rounded toward zero, so the odd
    pixel is dropped from, or added to, the bottom/right in both the crop and the pad case (the
    convention of transformers' torchvision backend, used by both our backends). ``"round"`` rounds
    half to even, as torchvision's ``CenterCrop`` transform (and so timm and open_clip) does.
    """
    if crop <= length:
        half = (length - crop) / 2.0
        return (int(round(half)) if rounding == "round" else int(half)), 0, 0
    before = (crop - length) // 2
    return 0, before, crop - length - before


def center_crop_window(height: int, width: int, crop_height: int, crop_width: int, rounding: str = "trunc") -> CropWindow:
    """The window of a ``crop_height`` x ``crop_width`` center crop, zero-padding where the image is smaller."""
    check_output_size(crop_height, crop_width, "a center crop")
    top, pad_top, pad_bottom = _center_offset(height, crop_height, rounding)
    left, pad_left, pad_right = _center_offset(width, crop_width, rounding)
    return CropWindow(top, left, pad_top, pad_bottom, pad_left, pad_right)


def pad_to_multiple(height: int, width: int, multiple: int) -> Size:
    """The smallest size at least ``height`` x ``width`` whose sides are multiples of ``multiple``."""
    # Integer ceiling division: true division loses precision (or overflows) for huge sides.
    return check_output_size(-(-height // multiple) * multiple, -(-width // multiple) * multiple, "a padded image")


def max_size(sizes: list[Size]) -> Size:
    """The elementwise maximum of a list of sizes (the canvas a padded batch needs)."""
    return max(h for h, _ in sizes), max(w for _, w in sizes)
