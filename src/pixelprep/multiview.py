"""Vision-language families: one image becomes an ordered list of views, and a packer lays the views out.

A family built on :class:`MultiViewProcessor` declares three things:

- ``steps(params)``: per-image geometric steps run first (the ordinary :class:`~pixelprep.processor.Resize`,
  :class:`SmartResize`, :class:`PadToSquare`, ... anything with ``apply(backend, image)`` and ``describe()``);
- ``split_views(backend, image, params)``: the image after those steps -> :class:`Views` (tiles, crops,
  a thumbnail; the default is the image itself as the one view) with per-image metadata;
- ``packer(params)``: a :class:`Packer` that writes every view, rescaled and normalised in the same
  pass, into the output buffers and names the outputs (:class:`ConcatPatches`, :class:`StackViews`,
  :class:`PaddedViews`, :class:`PaddedPatches`).

Inputs may be nested, ``[[img, img], [img]]``: one inner list per sample (see :func:`nest_inputs`).
Packers that pad per sample get the number of images in each sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from . import geometry, geometry_vlm
from .backends import Affine, Backend
from .backends.base import RESAMPLE_NAMES, channel_broadcast_target, interpolation_taps
from .errors import InvalidArgumentError, InvalidImageError, OutputShapeError
from .features import BatchFeature
from .inputs import flatten_inputs, to_canonical
from .processor import ImageProcessor, _describe_scale, _fmt, _host_view, _like, _map, _repeat_channels, _zero_outside

# ------------------------------------------------------------------------------------------- inputs


def _is_sample_list(item: Any) -> bool:
    return isinstance(item, (list, tuple))


def nest_inputs(images: Any, flat_list_is_one_sample: bool = True, allow_empty_samples: bool = False) -> list[list[Any]]:
    """Group inputs into samples, as transformers' nested image lists do.

    One image is one sample; a flat list of images is one sample holding them all (or, with
    ``flat_list_is_one_sample=False``, one sample per image, as LLaVA-OneVision reads it); a list of
    lists is one sample per inner list (``[[img, img], [img]]``: two samples). Every image is flattened
    with :func:`~pixelprep.inputs.flatten_inputs` (a 4-D array is several images). An empty inner list
    (a text-only sample) is an error unless ``allow_empty_samples`` (Granite-Docling pads it with empty views).
    """
    if isinstance(images, (list, tuple)) and images and all(_is_sample_list(item) for item in images):
        samples = [flatten_inputs(list(item)) for item in images]
    elif flat_list_is_one_sample:
        samples = [flatten_inputs(images)]
    else:
        samples = [[item] for item in flatten_inputs(images)]
    if not any(samples):
        raise InvalidArgumentError("images is empty: pass at least one image")
    empty = [i for i, sample in enumerate(samples) if not sample]
    if empty and not allow_empty_samples:
        raise InvalidArgumentError(f"images: sample(s) {empty} hold no image; every inner list needs at least one")
    return samples


# -------------------------------------------------------------------------------------------- views


@dataclass
class Views:
    """One image's views in model order (native HWC images) and its per-image metadata.

    ``normalized`` marks views already rescaled and normalised (families that resize float images
    after normalizing, see :func:`normalize_image`); packers then copy them as they are.
    """

    images: list[Any]
    meta: dict[str, Any] = field(default_factory=dict)
    normalized: bool = False


def normalize_image(backend: Backend, image: Any, affine: Affine) -> Any:
    """``image`` rescaled and normalised into a new float32 HWC image (for resizing floats after normalize)."""
    height, width = backend.size(image)
    channels = backend.channels(image)
    out = backend.allocate_unfilled((height, width, channels), "float32")
    backend.write_chw(backend.realize(image), backend.permute(out, (2, 0, 1)), affine)
    return out


def square_tile_side(size: dict[str, int] | None, family: str) -> int:
    """The side ``t`` of a tiling family's tile, given as its ``size`` ``{'height': t, 'width': t}``; any other size is an error naming ``family``."""
    size = size or {}
    if "height" not in size or "width" not in size or size["height"] != size["width"]:
        raise InvalidArgumentError(f"size must be a square {{'height': t, 'width': t}} (the tile) for {family}, got {size}")
    return size["height"]


def resize_without_antialias(backend: Backend, image: Any, size: tuple[int, int], resample: int) -> Any:
    """A float HWC image resized as torch's ``interpolate`` does without antialias (align_corners=False), on either backend.

    Families that resize *normalised* images this way (Phi-4-multimodal's global view) get the same
    taps and weights on both backends: width first, then height, each output a weighted sum of its taps.
    """
    height, width = backend.size(image)
    array = backend.realize(image)
    for axis, (in_size, out_size) in ((1, (width, size[1])), (0, (height, size[0]))):
        if in_size == out_size:
            continue
        index, weights = interpolation_taps(in_size, out_size, resample)
        shape = (-1, 1, 1) if axis == 0 else (1, -1, 1)
        result = None
        for tap in range(index.shape[1]):
            taken = array[_like(index[:, tap], array)] if axis == 0 else array[:, _like(index[:, tap], array)]
            term = taken * _like(np.ascontiguousarray(weights[:, tap]).reshape(shape), array)
            result = term if result is None else result + term
        array = result
    return array


@dataclass(frozen=True)
class SmartResize:
    """Resize to Qwen2-VL's smart_resize size: sides multiples of ``factor``, area within [min_pixels, max_pixels].

    ``enlarge_small`` first brings a side under ``factor`` up to it, aspect kept (PaddleOCR-VL, see
    :func:`~pixelprep.geometry_vlm.enlarge_to_factor`).
    """

    factor: int
    min_pixels: int
    max_pixels: int
    resample: int
    enlarge_small: bool = False

    def target(self, height: int, width: int) -> tuple[int, int]:
        if self.enlarge_small:
            return geometry_vlm.smart_resize_enlarging(height, width, self.factor, self.min_pixels, self.max_pixels)
        return geometry_vlm.smart_resize(height, width, self.factor, self.min_pixels, self.max_pixels)

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        # the pixel budget is the user's to set: checked here, where an image is made, not in the size arithmetic
        target = geometry.check_output_size(*self.target(height, width), f"resizing a {height}x{width} image gives an image")
        return image if target == (height, width) else backend.resize(image, target, self.resample)

    def describe(self) -> str:
        return (
            f"resize to sides that are multiples of {self.factor}, {self.min_pixels}..{self.max_pixels} pixels, "
            f"{'sides under ' + str(self.factor) + ' enlarged first, ' if self.enlarge_small else ''}"
            f"aspect kept (smart_resize) {RESAMPLE_NAMES[self.resample]}"
        )


@dataclass(frozen=True)
class PatchAlignedFit:
    """Shrink (never enlarge) to fit ``max_height`` x ``max_width``, then round each side up to whole patches (Pixtral)."""

    max_height: int
    max_width: int
    patch_height: int
    patch_width: int
    resample: int

    def target(self, height: int, width: int) -> tuple[int, int]:
        return geometry_vlm.patch_aligned_fit(height, width, self.max_height, self.max_width, self.patch_height, self.patch_width)

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = geometry.check_output_size(*self.target(height, width), f"resizing a {height}x{width} image gives an image")
        return image if target == (height, width) else backend.resize(image, target, self.resample)

    def describe(self) -> str:
        return (
            f"resize to fit {self.max_height}x{self.max_width} (shrink only, aspect kept), then each side up to a multiple of "
            f"{self.patch_height}x{self.patch_width} {RESAMPLE_NAMES[self.resample]}"
        )


@dataclass(frozen=True)
class CheckPatchMultiple:
    """Refuse an image whose sides are not whole patches (do_resize=False in families that need patch-aligned sides)."""

    patch_height: int
    patch_width: int

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        if height % self.patch_height or width % self.patch_width:
            raise InvalidImageError(
                f"an image of {height}x{width} does not split into {self.patch_height}x{self.patch_width} patches; resize it "
                "(do_resize=True) or pass an image whose sides are multiples of the patch size"
            )
        return image

    def describe(self) -> str:
        return f"check the sides are multiples of {self.patch_height}x{self.patch_width}"


@dataclass(frozen=True)
class RuleResize:
    """Resize to the size a pure geometry rule gives for the image's size (``rule(height, width) -> (height, width)``).

    For rules with no step of their own (NaFlex's patch budget, Gemma4's pooled-patch fit); ``what``
    is the rule in words for ``print(processor)``.
    """

    rule: Callable[[int, int], tuple[int, int]]
    resample: int
    what: str
    #: resize a float32 copy, keeping the filter's overshoot past 0..255 (NemotronH-Omni), instead of the 8-bit image
    in_float: bool = False

    def target(self, height: int, width: int) -> tuple[int, int]:
        return self.rule(height, width)

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = geometry.check_output_size(*self.rule(height, width), f"resizing a {height}x{width} image gives an image")
        if target == (height, width):
            return image
        if self.in_float:
            image = normalize_image(backend, image, Affine(None, None, None, backend.channels(image), backend.formula))
        return backend.resize(image, target, self.resample)

    def describe(self) -> str:
        return f"resize {self.what} {RESAMPLE_NAMES[self.resample]}"


@dataclass(frozen=True)
class PadToSquare:
    """Centre the image on a square of its long side, filled with ``fill`` (one value, or one per channel)."""

    fill: float | tuple[float, ...] = 0

    def apply(self, backend: Backend, image: Any) -> Any:
        top, bottom, left, right = geometry_vlm.square_padding(*backend.size(image))
        return image if top == bottom == left == right == 0 else backend.pad(image, top, bottom, left, right, self.fill)

    def describe(self) -> str:
        return f"pad to a square, centred, with {self.fill}"


@dataclass(frozen=True)
class PadToMultiple:
    """Pad bottom/right with ``fill`` (before normalize) until both sides are multiples of ``factor`` (Kimi-K2.5)."""

    factor: int
    fill: float = 0

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        bottom, right = -height % self.factor, -width % self.factor
        return image if bottom == right == 0 else backend.pad(image, 0, bottom, 0, right, self.fill)

    def describe(self) -> str:
        return f"pad bottom/right with {self.fill} to multiples of {self.factor}"


# ------------------------------------------------------------------------------------------ patches


@dataclass(frozen=True)
class PatchLayout:
    """How an image becomes rows of patch vectors.

    Patches are ``patch_size`` squares taken row-major over the image, in ``merge_size`` x
    ``merge_size`` blocks (rows of one block are consecutive). Each vector is ``(C, T, p, p)``
    (``channels_first``, Qwen) with the frame repeated ``temporal_patch_size`` times, or ``(p, p, C)``
    (SigLIP2, Gemma4). ``block_order=False`` keeps the sides whole merge blocks but orders the rows
    plainly row-major over all patches (HunYuan-VL). ``frames_first=True`` makes a ``channels_first``
    vector ``(T, C, p, p)`` (MuseGlimmer); ``channels_first=False`` with a temporal repeat gives
    ``(p, p, C, T)`` (Cosmos3-Edge), or ``(T, p, p, C)`` with ``frames_first`` too (Inkling).
    ``patch_width`` makes patches ``patch_size`` high and ``patch_width`` wide (Inkling2); unset, they are square.
    """

    patch_size: int
    merge_size: int = 1
    temporal_patch_size: int = 1
    channels_first: bool = True
    block_order: bool = True
    frames_first: bool = False
    patch_width: int | None = None

    @property
    def patch_sides(self) -> tuple[int, int]:
        """(height, width) of one patch."""
        return self.patch_size, self.patch_width or self.patch_size

    @property
    def factor(self) -> int:
        """What both image sides must be a multiple of (square patches; see :attr:`factors`)."""
        return self.patch_size * self.merge_size

    @property
    def factors(self) -> tuple[int, int]:
        """What the image's height and width must be multiples of."""
        patch_h, patch_w = self.patch_sides
        return patch_h * self.merge_size, patch_w * self.merge_size

    def grid(self, height: int, width: int) -> tuple[int, int]:
        """Patches down and across an image of ``height`` x ``width``."""
        patch_h, patch_w = self.patch_sides
        return height // patch_h, width // patch_w

    def vector_size(self, channels: int) -> int:
        patch_h, patch_w = self.patch_sides
        return channels * self.temporal_patch_size * patch_h * patch_w

    def check(self, height: int, width: int, what: str) -> None:
        """Raise unless ``height`` x ``width`` splits into whole merge blocks of patches."""
        factor_h, factor_w = self.factors
        if height % factor_h or width % factor_w:
            patch = f"patch_size {self.patch_size}" if self.patch_width is None else f"{self.patch_size}x{self.patch_width} patches"
            raise InvalidImageError(
                f"{what} is {height}x{width}, which does not split into {factor_h}x{factor_w}-pixel blocks "
                f"({patch} x merge_size {self.merge_size}); resize it (do_resize=True) or pass "
                "an image whose sides are multiples of that"
            )

    def describe(self) -> str:
        merge = f" in {self.merge_size}x{self.merge_size} blocks" if self.merge_size > 1 else ""
        if self.merge_size > 1 and not self.block_order:
            merge = f", sides whole {self.merge_size}x{self.merge_size} blocks, rows in plain row-major order"
        temporal = f", each repeated over {self.temporal_patch_size} frames" if self.temporal_patch_size > 1 else ""
        if self.channels_first:
            order = "(T, C, p, p)" if self.frames_first else "(C, T, p, p)"
        else:
            order = ("(T, p, p, C)" if self.frames_first else "(p, p, C, T)") if self.temporal_patch_size > 1 else "(p, p, C)"
        return f"{self.patch_sides[0]}x{self.patch_sides[1]} patches{merge}{temporal}, vectors {order}"


def write_patches(
    backend: Backend, image: Any, out: Any, layout: PatchLayout, affine: Affine | None, block_rows: tuple[int, int] | None = None
) -> None:
    """Write one HWC image's patches, rescaled and normalised, into its ``(patches, vector)`` rows ``out``.

    The reshuffle is a view on both sides (image split into blocks, output rows split into the
    vector's axes); 8-bit pixels in host memory go through one contiguous 8-bit copy in the output's order,
    then are normalised into every frame at once.
    ``block_rows`` = (first, stop) limits the work to those rows of merge blocks, so that callers
    can split a large image into pieces that stay in cache (the temporal copy then reads from it).
    """
    height, width = backend.size(image)
    channels = backend.channels(image)
    (ph, pw), m, t = layout.patch_sides, layout.merge_size, layout.temporal_patch_size
    blocks_h, blocks_w = height // layout.factors[0], width // layout.factors[1]
    first, stop = block_rows or (0, blocks_h)
    # Output rows as (block row, a, b, c): (block col, patch row in block, patch col in block) in block order,
    # (patch row in block, block col, patch col in block) in plain row-major order; one block row is contiguous either way.
    order = (0, 3, 1, 4, 2, 5, 6) if layout.block_order else (0, 1, 3, 4, 2, 5, 6)
    a, b = (blocks_w, m) if layout.block_order else (m, blocks_w)
    source = backend.permute(backend.realize(image).reshape(blocks_h, m, ph, blocks_w, m, pw, channels), order)[first:stop]
    # The output block rows as (block row, a, b, c, vector axes), channels at ``channel_axis``, frames at ``frames_axis``.
    if layout.channels_first:
        vector = (t, channels, ph, pw) if layout.frames_first else (channels, t, ph, pw)
        frames_axis, channel_axis = (4, 5) if layout.frames_first else (5, 4)
    elif layout.frames_first:  # (T, p, p, C) vectors (Inkling)
        vector, frames_axis, channel_axis = (t, ph, pw, channels), 4, 7
    else:  # (p, p, C, T) vectors (Cosmos3-Edge), or (p, p, C) without frames
        vector, frames_axis, channel_axis = (ph, pw, channels, t), 7, 6
    target = out.reshape(blocks_h, a, b, m, *vector)[first:stop]
    if _write_staged(backend, source, target, affine, channel_axis, frames_axis):
        return
    # Otherwise one frame is written from the strided view, and the other temporal slots get copies of it.
    lead = (slice(None),) * frames_axis
    to_chw = (4, 0, 1, 2, 3, 5, 6) if layout.channels_first else (6, 0, 1, 2, 3, 4, 5)
    backend.write_chw(source, backend.permute(target[lead + (0,)], to_chw), affine)
    if t > 1:
        target[lead + (slice(1, None),)] = target[lead + (slice(0, 1),)]


def _write_staged(backend: Backend, source: Any, target: Any, affine: Affine | None, channel_axis: int, frames_axis: int) -> bool:
    """Write a uint8 ``source`` view (channels last) rescaled and normalised into every frame of ``target``, by way of one
    contiguous uint8 copy in the target's axis order, when both live in host memory; False (nothing written) otherwise.

    The copy is cast and mapped once, while it is small enough to stay in cache, then copied into every
    frame: ufuncs reading 3-byte pixels straight into 14-value patch rows take 1.3-1.7x as long, and
    casting ufuncs that write every frame at once about 1.3x (micro-benchmarks on 0.3-12 MP images).
    """
    if affine is None or not affine.output_float or not backend.is_uint8(source):
        return False
    pixels, out = backend.host_array(source), backend.host_array(target)
    if pixels is None or out is None:
        return False
    channel_axis -= frames_axis < channel_axis  # the position of the channels in a block without the frames axis
    staged = np.ascontiguousarray(np.moveaxis(pixels, -1, channel_axis))
    np.copyto(out, np.expand_dims(affine.normalize_block(staged, channel_axis), frames_axis))
    return True


#: Bytes of output one patch-writing task covers: small enough to stay in cache, large enough to amortise the call.
_PATCH_TASK_BYTES = 1 << 20


def _patch_tasks(layout: PatchLayout, sizes: list[tuple[int, int]], vector_bytes: int) -> list[tuple[int, tuple[int, int]]]:
    """(image index, (first, stop) block rows) pieces of about ``_PATCH_TASK_BYTES`` of output, over every image."""
    tasks = []
    for index, (height, width) in enumerate(sizes):
        factor_h, factor_w = layout.factors
        blocks_h, blocks_w = height // factor_h, width // factor_w
        row_bytes = blocks_w * layout.merge_size * layout.merge_size * vector_bytes
        step = max(1, _PATCH_TASK_BYTES // max(1, row_bytes))
        tasks += [(index, (first, min(first + step, blocks_h))) for first in range(0, blocks_h, step)]
    return tasks


# ------------------------------------------------------------------------------------------ packers


class Packer(Protocol):
    """Lays out every image's views in the model's input format; returns the outputs by name."""

    def pack(self, backend: Backend, views: list[Views], samples: list[int], write: "ViewWriter") -> dict[str, Any]:
        """``views``: one :class:`Views` per image, in input order; ``samples``: images per sample, in order."""
        ...

    def describe(self) -> list[str]:
        """Lines for ``print(processor)``."""
        ...


class ViewWriter:
    """Writes one view (uint8 or float HWC), rescaled and normalised unless already, into a channels-first slot."""

    def __init__(self, backend: Backend, scale: float | None, mean: tuple | None, std: tuple | None, threads: int = 1) -> None:
        self.backend, self.scale, self.mean, self.std, self.threads = backend, scale, mean, std, threads
        self._affines: dict[int, Affine] = {}

    def channels_out(self, image: Any) -> int:
        """Channels the view has in the output (a 1-channel view meets a 3-value mean as gray RGB)."""
        return channel_broadcast_target(self.backend.channels(image), self.mean)

    def affine(self, channels: int, normalized: bool) -> Affine | None:
        if normalized:
            return None
        if channels not in self._affines:
            self._affines[channels] = Affine(self.scale, self.mean, self.std, channels, self.backend.formula)
        return self._affines[channels]

    def dtype(self, views: list[Views]) -> str:
        """float32 unless every view stays uint8 (no rescale, no normalize)."""
        identity = self.scale is None and self.mean is None
        uint8 = all(self.backend.is_uint8(image) and not group.normalized for group in views for image in group.images)
        return "uint8" if identity and uint8 else "float32"

    def expand(self, image: Any, channels: int) -> Any:
        return _repeat_channels(self.backend, image) if self.backend.channels(image) == 1 and channels == 3 else image

    def chw(self, image: Any, out: Any, normalized: bool) -> None:
        """Write an HWC view into the CHW slot ``out``."""
        channels = out.shape[0]
        self.backend.write_chw(self.expand(image, channels), out, self.affine(channels, normalized))

    def patches(self, image: Any, out: Any, layout: PatchLayout, normalized: bool, block_rows: tuple[int, int] | None = None) -> None:
        """Write an HWC view (or ``block_rows`` of it) as patch rows into ``out`` (see :func:`write_patches`)."""
        channels = self.channels_out(image)
        write_patches(self.backend, self.expand(image, channels), out, layout, self.affine(channels, normalized), block_rows)


def _flat(views: list[Views]) -> list[tuple[Any, bool]]:
    return [(image, group.normalized) for group in views for image in group.images]


def _one_channel_count(writer: ViewWriter, flat: list[tuple[Any, bool]]) -> int:
    counts = {writer.channels_out(image) for image, _ in flat}
    if len(counts) != 1:
        raise OutputShapeError(f"views with different channel counts {sorted(counts)} cannot share one output; pass do_convert_rgb=True")
    return counts.pop()


@dataclass(frozen=True)
class ConcatPatches:
    """Every view's patch rows concatenated over the batch: ``(sum of patches, vector)`` (Qwen2-VL).

    ``grid_key`` names the ``(N, 3)`` int64 output of ``(frames, rows, cols)`` of patches per view.
    ``patch_axes`` shapes the same values ``(sum of patches, C*T, p, p)`` (PaddleOCR-VL) instead of flat vectors.
    ``grid_frames=False`` leaves the frame count out of the grid: ``(N, 2)`` of ``(rows, cols)`` (NeoMME).
    """

    layout: PatchLayout
    key: str = "pixel_values"
    grid_key: str | None = "image_grid_thw"
    patch_axes: bool = False
    grid_frames: bool = True

    def pack(self, backend: Backend, views: list[Views], samples: list[int], write: ViewWriter) -> dict[str, Any]:
        flat = _flat(views)
        channels = _one_channel_count(write, flat)
        grids = []
        for index, (image, _) in enumerate(flat):
            layout_size = backend.size(image)
            self.layout.check(*layout_size, f"image {index}")
            grids.append(self.layout.grid(*layout_size))
        counts = [rows * cols for rows, cols in grids]
        offsets = np.concatenate([[0], np.cumsum(counts)]).tolist()
        dtype = write.dtype(views)
        out = backend.allocate_unfilled((offsets[-1], self.layout.vector_size(channels)), dtype)
        sizes = [backend.size(image) for image, _ in flat]
        tasks = _patch_tasks(self.layout, sizes, self.layout.vector_size(channels) * (4 if dtype == "float32" else 1))

        def fill(task: tuple[int, tuple[int, int]]) -> None:
            i, block_rows = task
            image, normalized = flat[i]
            write.patches(image, out[offsets[i] : offsets[i + 1]], self.layout, normalized, block_rows)

        _map(fill, tasks, write.threads)
        if self.patch_axes:
            if not self.layout.channels_first:
                raise InvalidArgumentError("patch_axes needs (C, T, p, p) patch vectors (channels_first=True)")
            out = out.reshape(offsets[-1], channels * self.layout.temporal_patch_size, *self.layout.patch_sides)
        data = {self.key: out}
        if self.grid_key:
            lead = [1] if self.grid_frames else []
            data[self.grid_key] = np.array([lead + [rows, cols] for rows, cols in grids], dtype=np.int64).reshape(-1, len(lead) + 2)
        return data

    def split(self, outputs: Any, count: int) -> list[dict[str, Any]] | None:
        """Per-image outputs of a batch of ``count`` one-view images, each as the image alone gives it; None without grids."""
        if not self.grid_key:
            return None
        grids = outputs[self.grid_key]
        offsets = np.concatenate([[0], np.cumsum([int(g[-2]) * int(g[-1]) for g in grids])]).tolist()
        values = outputs[self.key]
        return [{self.key: values[offsets[i] : offsets[i + 1]], self.grid_key: grids[i : i + 1]} for i in range(count)]

    def describe(self) -> list[str]:
        grid = f" + {self.grid_key} ({'1, ' if self.grid_frames else ''}rows, cols)" if self.grid_key else ""
        shape = "(patches, C*T, p, p)" if self.patch_axes else "(patches, vector)"
        return [f"patchify: {self.layout.describe()}", f"concatenate every image's patches into {self.key} {shape}{grid}"]


@dataclass(frozen=True)
class StackViews:
    """Every view of every image stacked: ``(sum of views, C, H, W)``; views must share one size (GotOcr2, Gemma3)."""

    key: str = "pixel_values"
    count_key: str | None = None  # e.g. "num_patches": views per image

    def pack(self, backend: Backend, views: list[Views], samples: list[int], write: ViewWriter) -> dict[str, Any]:
        flat = _flat(views)
        channels = _one_channel_count(write, flat)
        sizes = {backend.size(image) for image, _ in flat}
        if len(sizes) != 1:
            raise OutputShapeError(
                f"views of sizes {sorted(sizes)} cannot be stacked into {self.key}; resize them to one size (do_resize=True)"
            )
        (height, width) = sizes.pop()
        out = backend.allocate_unfilled((len(flat), channels, height, width), write.dtype(views))
        _map(lambda i: write.chw(flat[i][0], out[i], flat[i][1]), list(range(len(flat))), write.threads)
        data = {self.key: out}
        if self.count_key:
            data[self.count_key] = np.array([len(group.images) for group in views], dtype=np.int64)
        return data

    def split(self, outputs: Any, count: int) -> list[dict[str, Any]] | None:
        """Per-image outputs of a batch of ``count`` images, each as the image alone gives it; None without ``count_key``."""
        if not self.count_key:
            return None
        counts = [int(n) for n in outputs[self.count_key]]
        offsets = np.concatenate([[0], np.cumsum(counts)]).tolist()
        values, numbers = outputs[self.key], outputs[self.count_key]
        return [{self.key: values[offsets[i] : offsets[i + 1]], self.count_key: numbers[i : i + 1]} for i in range(count)]

    def describe(self) -> list[str]:
        count = f" + {self.count_key} (views per image)" if self.count_key else ""
        return [f"stack every view into {self.key} (views, C, H, W){count}"]


@dataclass(frozen=True)
class ViewsPerImage:
    """Each image's views stacked on their own axis: ``(images, max views, C, H, W)`` (LLaVA-NeXT, LLaVA-OneVision).

    Views must share one size. With ``pad`` images with fewer views are padded with zero views (after
    normalize, so the padding is exactly 0); without it every image must make the same number of views,
    or, with ``ragged``, images that differ in view count or size give a list of per-image
    ``(views, C, H, W)`` arrays (PerceptionLM), which ``return_tensors`` stacks where the shapes agree.
    """

    key: str = "pixel_values"
    pad: bool = True
    ragged: bool = False

    def pack(self, backend: Backend, views: list[Views], samples: list[int], write: ViewWriter) -> dict[str, Any]:
        flat = _flat(views)
        channels = _one_channel_count(write, flat)
        sizes = {backend.size(image) for image, _ in flat}
        if self.ragged and not self.pad and (len(sizes) != 1 or len({len(group.images) for group in views}) != 1):
            dtype = write.dtype(views)
            return {self.key: [self._one_image(backend, group, write, channels, dtype) for group in views]}
        if len(sizes) != 1:
            raise OutputShapeError(f"views of sizes {sorted(sizes)} cannot be stacked into {self.key}; crop or resize them to one size")
        counts = [len(group.images) for group in views]
        if not self.pad and len(set(counts)) != 1:
            raise OutputShapeError(f"images make {counts} views each, which cannot be stacked into {self.key} without do_pad=True")
        (height, width) = sizes.pop()
        uniform = len(set(counts)) == 1
        shape = (len(views), max(counts), channels, height, width)
        out = backend.allocate_unfilled(shape, write.dtype(views)) if uniform else backend.allocate(shape, write.dtype(views))
        slots = [(i, v) for i, group in enumerate(views) for v in range(len(group.images))]

        def fill(slot: tuple[int, int]) -> None:
            i, v = slot
            write.chw(views[i].images[v], out[i, v], views[i].normalized)

        _map(fill, slots, write.threads)
        return {self.key: out}

    def _one_image(self, backend: Backend, group: Views, write: ViewWriter, channels: int, dtype: str) -> Any:
        sizes = {backend.size(image) for image in group.images}
        if len(sizes) != 1:
            raise OutputShapeError(f"views of sizes {sorted(sizes)} of one image cannot be stacked into {self.key}; resize them to one size")
        out = backend.allocate_unfilled((len(group.images), channels, *sizes.pop()), dtype)
        _map(lambda v: write.chw(group.images[v], out[v], group.normalized), list(range(len(group.images))), write.threads)
        return out

    def describe(self) -> list[str]:
        pad = ", images with fewer views padded with zero views" if self.pad else ""
        ragged = "; a list of per-image (views, C, H, W) arrays when images differ in views or size" if self.ragged and not self.pad else ""
        return [f"stack each image's views into {self.key} (images, views, C, H, W){pad}{ragged}"]


@dataclass(frozen=True)
class PaddedViews:
    """Views padded with zeros (after normalize) to the largest: ``(samples, max views, C, Hmax, Wmax)`` plus a pixel mask.

    Each sample's views are its images' views in order (Idefics2/3: tiles then the global image).
    ``views_axis=False`` gives ``(images, C, Hmax, Wmax)`` with one view per image (Pixtral).
    ``mask_key`` None leaves the mask out. ``pad=False`` (a config's ``do_pad: false``) pads nothing and
    returns no mask: ``key`` is then a list per sample of each view's own ``(C, H, W)`` array (a list of
    those with ``views_axis=False``), which ``return_tensors`` stacks where the shapes agree.
    """

    key: str = "pixel_values"
    mask_key: str | None = "pixel_attention_mask"
    mask_dtype: str = "int64"
    views_axis: bool = True
    pad: bool = True

    def pack(self, backend: Backend, views: list[Views], samples: list[int], write: ViewWriter) -> dict[str, Any]:
        flat = _flat(views)
        channels = _one_channel_count(write, flat)
        if not self.pad:
            return {self.key: self._unpadded(backend, views, samples, write, channels)}
        height, width = (max(size) for size in zip(*(backend.size(image) for image, _ in flat)))
        if self.views_axis:
            groups, start = [], 0
            for count in samples:
                groups.append([item for group in views[start : start + count] for item in zip(group.images, [group.normalized] * len(group.images))])
                start += count
            shape: tuple[int, ...] = (len(groups), max(len(g) for g in groups))
            slots = [((s, v), item) for s, group in enumerate(groups) for v, item in enumerate(group)]
        else:
            if any(len(group.images) != 1 for group in views):
                raise OutputShapeError(f"{self.key} without a views axis needs exactly one view per image")
            shape = (len(flat),)
            slots = [((i,), item) for i, item in enumerate(flat)]
        # Every element is written once below (views, their padding, the empty view slots): no zero fill first,
        # which on a large padded batch costs as much as writing the views.
        out = backend.allocate_unfilled((*shape, channels, height, width), write.dtype(views))
        mask = backend.allocate_unfilled((*shape, height, width), self.mask_dtype) if self.mask_key else None
        out_host = _host_view(backend, out)
        mask_host = None if mask is None else _host_view(backend, mask)
        if self.views_axis:
            for s, group in enumerate(groups):
                out_host[s, len(group) :] = 0
                if mask_host is not None:
                    mask_host[s, len(group) :] = 0

        def fill(i: int) -> None:
            index, (image, normalized) = slots[i]
            h, w = backend.size(image)
            write.chw(image, out[index][:, :h, :w], normalized)
            _zero_outside(out_host[index], h, w)
            if mask_host is not None:
                mask_host[index][:h, :w] = 1
                _zero_outside(mask_host[index], h, w)

        _map(fill, list(range(len(slots))), write.threads)
        data = {self.key: out}
        if mask is not None:
            data[self.mask_key] = mask
        return data

    def _unpadded(self, backend: Backend, views: list[Views], samples: list[int], write: ViewWriter, channels: int) -> list[Any]:
        """Each view written into its own ``(C, H, W)`` array, grouped per sample (``views_axis``) or one per image."""
        dtype = write.dtype(views)
        arrays = [[backend.allocate_unfilled((channels, *backend.size(image)), dtype) for image in group.images] for group in views]
        jobs = [(group, v, arrays[i][v]) for i, group in enumerate(views) for v in range(len(group.images))]
        _map(lambda job: write.chw(job[0].images[job[1]], job[2], job[0].normalized), jobs, write.threads)
        if not self.views_axis:
            if any(len(group) != 1 for group in arrays):
                raise OutputShapeError(f"{self.key} without a views axis needs exactly one view per image")
            return [group[0] for group in arrays]
        grouped, start = [], 0
        for count in samples:
            grouped.append([array for group in arrays[start : start + count] for array in group])
            start += count
        return grouped

    def describe(self) -> list[str]:
        layout = "(samples, views, C, H, W)" if self.views_axis else "(images, C, H, W)"
        if not self.pad:
            return [f"no padding (do_pad=False): {self.key} holds each view as is, {'a list per sample' if self.views_axis else 'one per image'}"]
        mask = f" + {self.mask_key}" if self.mask_key else ""
        return [f"pad views bottom/right with 0 to the largest, into {self.key} {layout}{mask}"]


@dataclass(frozen=True)
class SeparateViews:
    """Every view as its own ``(C, H, W)`` array, in a list over the batch: no padding (Emu3 with ``do_pad=False``)."""

    key: str = "pixel_values"

    def pack(self, backend: Backend, views: list[Views], samples: list[int], write: ViewWriter) -> dict[str, Any]:
        flat = _flat(views)
        dtype = write.dtype(views)
        outs = [backend.allocate_unfilled((write.channels_out(image), *backend.size(image)), dtype) for image, _ in flat]
        _map(lambda i: write.chw(flat[i][0], outs[i], flat[i][1]), list(range(len(flat))), write.threads)
        return {self.key: outs}

    def describe(self) -> list[str]:
        return [f"every view as its own (C, H, W) array in {self.key}, unpadded"]


@dataclass(frozen=True)
class ViewsPerSample:
    """Each sample's images, each image's views, on their own axes: ``(samples, max images, max_views, C, H, W)`` (Mllama).

    Views must share one size. Missing images and views are zero (after normalize); an image with more
    than ``max_views`` views is an error naming the limit (``limit_name``).
    """

    max_views: int
    key: str = "pixel_values"
    limit_name: str = "max_views"

    def pack(self, backend: Backend, views: list[Views], samples: list[int], write: ViewWriter) -> dict[str, Any]:
        flat = _flat(views)
        channels = _one_channel_count(write, flat)
        sizes = {backend.size(image) for image, _ in flat}
        if len(sizes) != 1:
            raise OutputShapeError(f"views of sizes {sorted(sizes)} cannot be stacked into {self.key}; resize them to one size")
        over = [i for i, group in enumerate(views) if len(group.images) > self.max_views]
        if over:
            raise OutputShapeError(f"image(s) {over} make more than {self.limit_name}={self.max_views} views")
        height, width = sizes.pop()
        starts = np.concatenate([[0], np.cumsum(samples)]).tolist()
        out = backend.allocate((len(samples), max(samples), self.max_views, channels, height, width), write.dtype(views))
        slots = [(s, i - starts[s], v, views[i]) for s in range(len(samples)) for i in range(starts[s], starts[s + 1]) for v in range(len(views[i].images))]

        def fill(slot: tuple[int, int, int, Views]) -> None:
            s, j, v, group = slot
            write.chw(group.images[v], out[s, j, v], group.normalized)

        _map(fill, slots, write.threads)
        return {self.key: out}

    def describe(self) -> list[str]:
        return [f"stack into {self.key} (samples, images, {self.max_views} views, C, H, W), missing images and views zero"]


@dataclass(frozen=True)
class PatchStrip:
    """Every view's ``patch_size`` squares, row-major, laid side by side in one strip: ``(1, C, p, sum of patches * p)`` (MiniCPM-V).

    Element ``[0, c, i, k * p + j]`` is pixel ``(i, j)`` of channel ``c`` of the ``k``-th patch, counting
    patches over every view of every image in order. Views must be whole patches.
    """

    patch_size: int
    key: str = "pixel_values"

    def pack(self, backend: Backend, views: list[Views], samples: list[int], write: ViewWriter) -> dict[str, Any]:
        flat = _flat(views)
        channels = _one_channel_count(write, flat)
        p = self.patch_size
        grids = []
        for index, (image, _) in enumerate(flat):
            height, width = backend.size(image)
            if height % p or width % p:
                raise InvalidImageError(f"view {index} is {height}x{width}, which does not split into {p}x{p} patches")
            grids.append((height // p, width // p))
        offsets = np.concatenate([[0], np.cumsum([rows * cols * p for rows, cols in grids])]).tolist()
        out = backend.allocate_unfilled((1, channels, p, offsets[-1]), write.dtype(views))

        def fill(i: int) -> None:
            image, normalized = flat[i]
            rows, cols = grids[i]
            image = write.expand(image, channels)
            source = backend.permute(backend.realize(image).reshape(rows, p, cols, p, channels), (1, 0, 2, 3, 4))
            target = out[0, :, :, offsets[i] : offsets[i + 1]].reshape(channels, p, rows, cols, p)
            backend.write_chw(source, target, write.affine(channels, normalized))

        _map(fill, list(range(len(flat))), write.threads)
        return {self.key: out}

    def describe(self) -> list[str]:
        p = self.patch_size
        return [f"every view's {p}x{p} patches, row-major, side by side into {self.key} (1, C, {p}, patches x {p})"]


@dataclass(frozen=True)
class PaddedPatches:
    """Each image's patch rows, zero-padded to ``max_patches``: ``(images, max_patches, vector)`` (SigLIP2 NaFlex, Gemma4).

    Outputs a mask of the real rows (``mask_key``), each image's patch grid (``shapes_key``) and, with
    ``positions_key``, each row's (column, row) patch position, -1 on padding rows (Gemma4).
    ``limit_name`` names the setting behind ``max_patches`` in the error for an image that needs more.
    """

    layout: PatchLayout
    max_patches: int
    key: str = "pixel_values"
    mask_key: str | None = "pixel_attention_mask"
    mask_dtype: str = "int32"
    shapes_key: str | None = "spatial_shapes"
    positions_key: str | None = None
    limit_name: str = "max_num_patches"
    #: False: no padding, no mask nor shapes; every view must then have the same number of patches (LFM2-VL's do_pad=False).
    pad: bool = True

    def pack(self, backend: Backend, views: list[Views], samples: list[int], write: ViewWriter) -> dict[str, Any]:
        flat = _flat(views)
        channels = _one_channel_count(write, flat)
        grids = []
        for index, (image, _) in enumerate(flat):
            height, width = backend.size(image)
            self.layout.check(height, width, f"image {index}")
            grid = self.layout.grid(height, width)
            if self.pad and grid[0] * grid[1] > self.max_patches:
                raise InvalidImageError(
                    f"image {index} is {height}x{width}: {grid[0]}x{grid[1]} = {grid[0] * grid[1]} patches, over "
                    f"{self.limit_name}={self.max_patches}; resize it (do_resize=True) or raise the limit"
                )
            grids.append(grid)
        if not self.pad:
            return {self.key: self._unpadded(backend, flat, grids, channels, write, views)}
        out = backend.allocate((len(flat), self.max_patches, self.layout.vector_size(channels)), write.dtype(views))
        mask = backend.allocate((len(flat), self.max_patches), self.mask_dtype) if self.mask_key else None

        def fill(i: int) -> None:
            count = grids[i][0] * grids[i][1]
            write.patches(flat[i][0], out[i, :count], self.layout, flat[i][1])
            if mask is not None:
                mask[i, :count] = 1

        _map(fill, list(range(len(flat))), write.threads)
        data = {self.key: out}
        if mask is not None:
            data[self.mask_key] = mask
        if self.shapes_key:
            data[self.shapes_key] = np.array(grids, dtype=np.int64).reshape(-1, 2)
        if self.positions_key:
            positions = np.full((len(flat), self.max_patches, 2), -1, dtype=np.int64)
            for i, (rows, cols) in enumerate(grids):
                # row-major patches, each as (column, row)
                positions[i, : rows * cols, 0] = np.tile(np.arange(cols), rows)
                positions[i, : rows * cols, 1] = np.repeat(np.arange(rows), cols)
            data[self.positions_key] = positions
        return data

    def _unpadded(self, backend: Backend, flat: list[tuple[Any, bool]], grids: list[tuple[int, int]], channels: int, write: ViewWriter,
                  views: list[Views]) -> Any:
        """Every view's patches stacked without padding: ``(views, patches, vector)``; views of different patch counts are an error."""
        counts = sorted({rows * cols for rows, cols in grids})
        if len(counts) != 1:
            raise OutputShapeError(
                f"views of {counts} patches cannot be stacked into {self.key} without padding; pass do_pad=True (pads to {self.max_patches})"
            )
        out = backend.allocate_unfilled((len(flat), counts[0], self.layout.vector_size(channels)), write.dtype(views))
        _map(lambda i: write.patches(flat[i][0], out[i], self.layout, flat[i][1]), list(range(len(flat))), write.threads)
        return out

    def split(self, outputs: Any, count: int) -> list[dict[str, Any]]:
        """Per-image outputs of a batch of ``count`` one-view images: every output has one row per image, kept with its batch axis."""
        return [{key: value[i : i + 1] for key, value in outputs.items()} for i in range(count)]

    def describe(self) -> list[str]:
        if not self.pad:
            return [f"patchify: {self.layout.describe()}", f"stack every view's patches, unpadded, into {self.key} (views, patches, vector)"]
        extras = [f" + {key}" for key in (self.mask_key, self.shapes_key) if key]
        if self.positions_key:
            extras.append(f" + {self.positions_key} ((column, row) per patch, -1 on padding)")
        return [
            f"patchify: {self.layout.describe()}",
            f"pad each image's patches with 0 to {self.max_patches} rows, into {self.key} (images, {self.max_patches}, vector)" + "".join(extras),
        ]


# ---------------------------------------------------------------------------------------- processor


class MultiViewProcessor(ImageProcessor):
    """Base of the vision-language families: steps, then views, then a packer (see the module docstring)."""

    def split_views(self, backend: Backend, image: Any, params: dict[str, Any]) -> Views:
        """The image (after :meth:`steps`) as its views; the default is the image itself as the only view."""
        return Views([image])

    def sample_views(self, backend: Backend, image: Any, params: dict[str, Any], images_in_sample: int) -> Views:
        """The views of one image of a sample holding ``images_in_sample`` images; the default ignores the sample.

        Families that treat images of multi-image samples differently (LLaVA-OneVision) override this.
        """
        return self.split_views(backend, image, params)

    def nest(self, images: Any) -> list[list[Any]]:
        """The inputs grouped into samples (see :func:`nest_inputs`)."""
        return nest_inputs(images)

    def describe_views(self, params: dict[str, Any]) -> list[str]:
        """Lines for ``print(processor)`` describing :meth:`split_views` (none for the single-view default)."""
        return []

    def packer(self, params: dict[str, Any]) -> Packer:
        """The packer for the resolved ``params``."""
        raise NotImplementedError(f"{type(self).__name__} must define packer()")

    def can_split_batch(self, params: dict[str, Any]) -> bool:
        """Whether :meth:`split_batch` can cut this family's batch outputs into per-image ones (its packer has ``split`` and no per-image metadata)."""
        return callable(getattr(self.packer(params), "split", None)) and not self.metadata_keys(params)

    def metadata_keys(self, params: dict[str, Any]) -> tuple[str, ...]:
        """Keys of ``Views.meta`` that :meth:`metadata` turns into outputs (none by default)."""
        return ()

    def split_batch(self, outputs: Any, count: int) -> list[dict[str, Any]]:
        """The outputs of a batch of ``count`` single-image inputs, one dict per input, each as that input alone gives it."""
        if count == 1:  # one image's outputs are already that image's own (the runner's one-at-a-time path)
            return [dict(outputs)]
        rows = self.packer(self._params).split(outputs, count) if self.can_split_batch(self._params) else None
        if rows is None:
            raise InvalidArgumentError(f"{type(self).__name__} outputs cannot be split per image; process the images one at a time")
        return rows

    def metadata(self, views: list[Views], samples: list[int], params: dict[str, Any]) -> dict[str, Any]:
        """Outputs from the views' metadata: each of :meth:`metadata_keys` from ``Views.meta``, as an int64 array over the images.

        Families whose metadata is shaped per sample (Idefics3's rows/cols) override this.
        """
        return {key: np.array([group.meta[key] for group in views], dtype=np.int64) for key in self.metadata_keys(params)}

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        params = self._params if params is None else params
        lines = ["convert to RGB"] if self.converts_to_rgb(params) else []
        lines += [step.describe() for step in self.steps(params)]
        lines += self.describe_views(params)
        scale, mean, std = self.affine_parts(params)
        if scale is not None:
            lines.append(f"rescale {_describe_scale(scale)}")
        if mean is not None:
            lines.append(f"normalize mean={_fmt(mean)} std={_fmt(std)}")
        lines += self.packer(params).describe()
        return lines

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """Load every image of every sample, run the steps and the views step, then pack."""
        samples = self.nest(images)
        items = [(item, len(sample)) for sample in samples for item in sample]
        steps = self.steps(params)
        options = self.load_options(params, backend)

        def transform(entry: tuple[Any, int]) -> Views:
            item, images_in_sample = entry
            image = backend.from_canonical(to_canonical(item, options))
            for step in steps:
                image = step.apply(backend, image)
            views = self.sample_views(backend, image, params, images_in_sample)
            views.images = [backend.realize(view) for view in views.images]
            return views

        views = _map(transform, items, self.num_threads)
        writer = ViewWriter(backend, *self.affine_parts(params), threads=self.num_threads)
        counts = [len(sample) for sample in samples]
        data = self.packer(params).pack(backend, views, counts, writer)
        data.update(self.metadata(views, counts, params))
        # Integer metadata is built in NumPy; it leaves in the backend's array type, like the pixels.
        return BatchFeature({key: backend.from_numpy(value) if isinstance(value, np.ndarray) else value for key, value in data.items()})
