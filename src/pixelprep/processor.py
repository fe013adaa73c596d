"""The image processor: a family's settings, resolved into a pipeline of steps run on a backend.

A family subclasses :class:`ImageProcessor` and, in the common case, only declares ``defaults``.
Families with special steps override :meth:`ImageProcessor.resize_steps` or
:meth:`ImageProcessor.finalize`. Every step is written against backend operations, so one family
serves every backend.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

from . import geometry
from .backends import Affine, Backend, create_backend
from .backends.base import LANCZOS, RESAMPLE_NAMES, channel_broadcast_target
from .errors import BackendUnavailableError, ConfigError, InvalidArgumentError, InvalidImageError, UnknownArgumentError
from .features import BatchFeature
from .inputs import LoadOptions, flatten_inputs, to_canonical
from .params import APPROXIMATIONS, CALL_ONLY_PARAMS, COMMON_PARAMS, normalize_size, normalize_square_size

CONFIG_NAME = "preprocessor_config.json"
# Keys that describe the file rather than the processor; never kept as unknown settings.
SERVICE_KEYS = frozenset({"image_processor_type", "feature_extractor_type", "_valid_processor_keys", "_valid_kwargs_names", "auto_map"})


# ------------------------------------------------------------------------------------------------ steps


@dataclass(frozen=True)
class Resize:
    """Resize by a size rule (see :func:`geometry.resize_output_size`)."""

    size: dict[str, int]
    resample: int

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = geometry.resize_output_size(height, width, self.size)
        if min(target) < 1:
            raise InvalidImageError(f"resizing a {height}x{width} image with size={self.size} gives an empty {target[0]}x{target[1]} image")
        return image if target == (height, width) else backend.resize(image, target, self.resample)

    def describe(self) -> str:
        size = self.size
        if "height" in size:
            rule = f"to {size['height']}x{size['width']}"
        elif "max_height" in size:
            rule = f"to fit {size['max_height']}x{size['max_width']}"
        elif "shortest_edge" in size and "longest_edge" in size:
            rule = f"shortest edge {size['shortest_edge']}, longest edge at most {size['longest_edge']}"
        elif "shortest_edge" in size:
            rule = f"shortest edge {size['shortest_edge']}"
        else:
            rule = f"longest edge {size['longest_edge']}"
        return f"resize {rule} {RESAMPLE_NAMES[self.resample]}"


@dataclass(frozen=True)
class CenterCrop:
    """Center crop, padding first (with ``fill``: one value, or one per channel) where the image is smaller than the crop."""

    height: int
    width: int
    rounding: str = "trunc"  # see geometry.center_crop_window
    fill: float | tuple[float, ...] = 0

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        window = geometry.center_crop_window(height, width, self.height, self.width, self.rounding)
        if window.needs_padding:
            image = backend.pad(image, window.pad_top, window.pad_bottom, window.pad_left, window.pad_right, self.fill)
        return backend.crop(image, window.top, window.left, self.height, self.width)

    def describe(self) -> str:
        padding = f", padding with {self.fill}" if self.fill != 0 else ""
        return f"center crop {self.height}x{self.width}{padding}"


@dataclass(frozen=True)
class ResizeCropRegion:
    """A resize then a center crop, resizing only the region the crop keeps (approximation "resize_crop_region").

    The region's edges fall between source pixels, so the filter weights come from slightly shifted
    positions and a few values move by about one level. Backends without region resizing, and crops
    that need padding, run the exact resize and crop instead.
    """

    resize: Resize
    crop: CenterCrop

    def apply(self, backend: Backend, image: Any) -> Any:
        height, width = backend.size(image)
        target = geometry.resize_output_size(height, width, self.resize.size)
        window = geometry.center_crop_window(*target, self.crop.height, self.crop.width, self.crop.rounding)
        if min(target) >= 1 and target != (height, width) and not window.needs_padding:
            scale_y, scale_x = height / target[0], width / target[1]
            box = (window.left * scale_x, window.top * scale_y, (window.left + self.crop.width) * scale_x, (window.top + self.crop.height) * scale_y)
            region = backend.resize_region(image, box, (self.crop.height, self.crop.width), self.resize.resample)
            if region is not None:
                return region
        return self.crop.apply(backend, self.resize.apply(backend, image))


def _host_view(backend: Backend, array: Any) -> Any:
    """``array`` as a NumPy view where it lives in host memory, else itself: for filling slices of an output, where
    torch starts its worker threads for every fill (on per-image slices, several times the cost of the write)."""
    view = backend.host_array(array)
    return array if view is None else view


def _zero_outside(array: Any, height: int, width: int) -> None:
    """Zero the padding of ``array`` (..., H, W): everything below row ``height`` or right of column ``width``."""
    array[..., height:, :] = 0
    array[..., :height, width:] = 0


def _fuse_resize_crop(steps: list[Any]) -> list[Any]:
    """``steps`` with each plain resize directly followed by a center crop replaced by a :class:`ResizeCropRegion`."""
    fused: list[Any] = []
    for step in steps:
        if type(step) is CenterCrop and fused and type(fused[-1]) is Resize:
            fused[-1] = ResizeCropRegion(fused[-1], step)
        else:
            fused.append(step)
    return fused


def _draft_target(steps: list[Any]) -> Callable[[int, int], tuple[int, int]] | None:
    """For approximation "jpeg_draft": the first step's resize output size, when the pipeline starts with a plain resize."""
    first = steps[0] if steps else None
    resize = first.resize if isinstance(first, ResizeCropRegion) else first if type(first) is Resize else None
    return None if resize is None else functools.partial(geometry.resize_output_size, size=resize.size)


def _describe_scale(factor: float) -> str:
    inverse = 1.0 / factor
    return f"1/{round(inverse)}" if abs(inverse - round(inverse)) < 1e-6 else f"{factor:g}"


def _fmt(values: tuple[float, ...]) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


# ----------------------------------------------------------------------------------------- thread pool

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1), thread_name_prefix="pixelprep")
        return _POOL


def _forget_pool_after_fork() -> None:
    # A forked child (e.g. a DataLoader worker) inherits the pool without its threads; submitting to
    # it would wait forever, so the child starts a pool of its own on first use.
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):  # no fork on Windows
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _thread_count(value: Any) -> int:
    """``num_threads`` checked: a positive int, or None for one per core (at most 8)."""
    if value is None:
        return min(8, os.cpu_count() or 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"num_threads must be a positive integer or None, got {value!r}")
    return value


def _map(function: Callable[[Any], Any], items: list[Any], threads: int) -> list[Any]:
    """``map`` over a shared thread pool (decode and resize release the GIL); inline for one item."""
    if threads <= 1 or len(items) <= 1 or threading.current_thread().name.startswith("pixelprep"):
        return [function(item) for item in items]
    return list(_pool().map(function, items))


# ------------------------------------------------------------------------------------------- processor


def _torch_reported(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method``, raising :class:`BackendUnavailableError` where it needs torch and torch is not installed.

    The core package runs without torch, but some calls need it on every backend (Pix2Struct's patches and
    ZoeDepth's resize, as in transformers' pil classes; Sapiens2's box crops; ``return_tensors="pt"``; most
    post-processing).
    """

    @functools.wraps(method)
    def reported(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] not in ("torch", "torchvision"):
                raise
            name = "calling it" if method.__name__ == "__call__" else method.__name__
            raise BackendUnavailableError(
                f"{type(self).__name__}: {name} needs torch, which is not installed here: pip install 'pixelprep[torch]'"
            ) from exc

    return reported


def _report_missing_torch(cls: type) -> None:
    """Wrap the public methods ``cls`` defines (and ``__call__``) in :func:`_torch_reported`."""
    for name, member in list(cls.__dict__.items()):
        if inspect.isfunction(member) and (name == "__call__" or not name.startswith("_")):
            setattr(cls, name, _torch_reported(member))


class ImageProcessor:
    """Base of every family. Construct with parameters, call with images, get a :class:`BatchFeature`."""

    #: The transformers class whose behaviour this family reproduces; written to saved configs.
    transformers_class: ClassVar[str] = "BaseImageProcessor"
    #: ``model_type`` values (from a checkpoint's config.json) that use this family.
    model_types: ClassVar[tuple[str, ...]] = ()
    #: Other class names that load this family (legacy or sibling names).
    class_aliases: ClassVar[tuple[str, ...]] = ()
    #: Default parameter values; merged with the parents' in subclasses.
    defaults: ClassVar[dict[str, Any]] = {
        "do_resize": None,
        "size": None,
        "resample": 2,
        "default_to_square": True,
        "do_center_crop": None,
        "crop_size": None,
        "do_rescale": None,
        "rescale_factor": 1 / 255,
        "do_normalize": None,
        "image_mean": None,
        "image_std": None,
        "do_convert_rgb": None,
        "do_pad": None,
        "pad_size": None,
        "size_divisor": None,
        "return_pixel_mask": None,
        "data_format": "channels_first",
        "input_data_format": None,
        "return_tensors": None,
        "device": None,
    }
    #: Normalisers of family-specific parameters (name -> callable(value, name)); merged like ``defaults``.
    extra_params: ClassVar[dict[str, Callable[[Any, str], Any]]] = {}
    model_input_names: ClassVar[list[str]] = ["pixel_values"]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        merged_defaults: dict[str, Any] = {}
        merged_params: dict[str, Callable[[Any, str], Any]] = {}
        for klass in reversed(cls.__mro__):
            merged_defaults.update(klass.__dict__.get("defaults", {}))
            merged_params.update(klass.__dict__.get("extra_params", {}))
        cls.defaults = merged_defaults
        cls.extra_params = merged_params
        _report_missing_torch(cls)

    def __init__(self, *, backend: str | None = None, num_threads: int | None = None, **params: Any) -> None:
        """Build a processor from parameters; unknown names raise :class:`UnknownArgumentError`."""
        unknown = [name for name in params if name not in self.param_names()]
        if unknown:
            raise UnknownArgumentError(unknown, self.param_names(), type(self).__name__)
        self._setup(params, extra={}, backend=backend, num_threads=num_threads)

    def _setup(self, params: dict[str, Any], extra: dict[str, Any], backend: str | None, num_threads: int | None) -> None:
        values = dict(self.defaults)
        values.update({k: v for k, v in params.items() if v is not None})
        object.__setattr__(self, "_params", self._normalize(values, partial=False))
        object.__setattr__(self, "extra", dict(extra))
        object.__setattr__(self, "num_threads", _thread_count(num_threads))
        object.__setattr__(self, "_requested_backend", backend)
        object.__setattr__(self, "_backends", {})
        object.__setattr__(self, "_lock", threading.Lock())
        self.backend  # build now so a missing backend fails (or falls back) at construction

    # ---------------------------------------------------------------------------------- parameters

    @classmethod
    def param_names(cls) -> list[str]:
        """Every parameter name this family accepts, at construction and at call time."""
        return sorted(set(COMMON_PARAMS) | set(cls.extra_params))

    @classmethod
    def _normalize(cls, values: dict[str, Any], partial: bool) -> dict[str, Any]:
        """Normalise each parameter; ``size`` uses the (possibly overridden) ``default_to_square``."""
        out = {}
        for name, value in values.items():
            if name == "size":
                continue
            normalizer = cls.extra_params.get(name) or COMMON_PARAMS[name]
            out[name] = normalizer(value, name)
        if "size" in values:
            square = out.get("default_to_square", cls.defaults.get("default_to_square", True))
            out["size"] = normalize_size(values["size"], "size", default_to_square=True if square is None else square)
        return out

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("_params")
        if params is not None and name in params:
            return params[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.param_names():
            updated = dict(self._params)
            updated[name] = value
            object.__setattr__(self, "_params", self._normalize(updated, partial=False))
            if name == "device":
                self._backends.clear()
        elif name == "num_threads":
            object.__setattr__(self, name, _thread_count(value))
        elif name.startswith("_") or name in self.__dict__ or hasattr(type(self), name):
            object.__setattr__(self, name, value)
        else:
            # A misspelt parameter (proc.do_normalise = False) would otherwise be stored and change nothing.
            valid = set(self.param_names()) | {n for n in dir(type(self)) if not n.startswith("_")} | {n for n in self.__dict__ if not n.startswith("_")}
            raise UnknownArgumentError([name], sorted(valid), type(self).__name__, what="attribute")

    def resolve(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """The parameters for one call: the processor's own, with non-None ``overrides`` applied and checked."""
        overrides = {k: v for k, v in (overrides or {}).items()}
        unknown = [name for name in overrides if name not in self.param_names()]
        if unknown:
            raise UnknownArgumentError(unknown, self.param_names(), f"{type(self).__name__}.__call__")
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self._params
        merged = dict(self._params)
        if "default_to_square" in given and "size" not in given and merged.get("size") is not None:
            given["size"] = merged["size"]
        merged.update(self._normalize(given, partial=True))
        return merged

    # ------------------------------------------------------------------------------------- backend

    @property
    def backend(self) -> Backend:
        """The backend this processor runs on (built on first use)."""
        return self._backend_for(self._params.get("device"))

    @property
    def backend_name(self) -> str:
        """Name of the backend in use."""
        return self.backend.name

    def _backend_for(self, device: Any) -> Backend:
        key = str(device)
        backend = self._backends.get(key)
        if backend is None:
            with self._lock:
                backend = self._backends.get(key)
                if backend is None:
                    prefer_pil = self._params.get("resample") == LANCZOS
                    backend = create_backend(self._requested_backend, type(self), device=device, prefer_pil=prefer_pil)
                    self._backends[key] = backend
        return backend

    # -------------------------------------------------------------------------------------- pipeline

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """The resize part of the pipeline; families with their own resize rule override this."""
        if params.get("size") is None:
            raise InvalidArgumentError("do_resize is True but size is not set")
        return [Resize(params["size"], params["resample"])]

    @staticmethod
    def converts_to_rgb(params: dict[str, Any]) -> bool:
        """Whether inputs become RGB: ``do_convert_rgb`` says so, or it is unset and a 3-value ``image_mean`` says the model sees RGB.

        The second case covers gray, gray+alpha, RGBA, palette and CMYK images given to families that
        never convert (ViT, DETR, ...): transformers raises there, reads palette indices as pixels, or
        returns 1-channel tensors that the model cannot take.
        """
        convert = params.get("do_convert_rgb")
        if convert is None:
            mean = params.get("image_mean")
            return isinstance(mean, (list, tuple)) and len(mean) == 3
        return bool(convert)

    @classmethod
    def load_options(cls, params: dict[str, Any], backend: Backend | None = None, draft_target: Callable[[int, int], tuple[int, int]] | None = None) -> LoadOptions:
        """How inputs are decoded for ``params`` on ``backend`` (None: into arrays)."""
        keep_pil, pil_decode = (backend.accepts_pil, backend.decodes_with_pil) if backend is not None else (False, False)
        return LoadOptions(cls.converts_to_rgb(params), params.get("input_data_format"), keep_pil, pil_decode, draft_target)

    def steps(self, params: dict[str, Any]) -> list[Any]:
        """Per-image geometric steps, in order, for the resolved ``params``."""
        steps: list[Any] = []
        if params.get("do_resize"):
            steps.extend(self.resize_steps(params))
        if params.get("do_center_crop"):
            crop = params.get("crop_size")
            if crop is None:
                raise InvalidArgumentError("do_center_crop is True but crop_size is not set")
            steps.append(CenterCrop(crop["height"], crop["width"]))
        return steps

    def pads_batch(self, params: dict[str, Any]) -> bool:
        """Whether ``do_pad`` pads the batch to one size; families where it means another padding (LLaVA's square) override this."""
        return bool(params.get("do_pad"))

    def affine_parts(self, params: dict[str, Any]) -> tuple[float | None, tuple | None, tuple | None]:
        """(rescale factor, mean, std) of the resolved ``params``; None for each step that is off."""
        scale = params["rescale_factor"] if params.get("do_rescale") else None
        if params.get("do_normalize"):
            if params.get("image_mean") is None or params.get("image_std") is None:
                raise InvalidArgumentError("do_normalize is True but image_mean or image_std is not set")
            return scale, params["image_mean"], params["image_std"]
        return scale, None, None

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        """One line per step, in order: what this processor does to every image."""
        params = self._params if params is None else params
        lines = ["convert to RGB"] if self.converts_to_rgb(params) else []
        lines += [step.describe() for step in self.steps(params)]
        scale, mean, std = self.affine_parts(params)
        if scale is not None:
            lines.append(f"rescale {_describe_scale(scale)}")
        if mean is not None:
            lines.append(f"normalize mean={_fmt(mean)} std={_fmt(std)}")
        if self.pads_batch(params):
            target = params.get("pad_size")
            where = f"{target['height']}x{target['width']}" if target else "the largest image in the batch"
            if params.get("size_divisor"):
                where += f", then to a multiple of {params['size_divisor']}"
            lines.append(f"pad bottom/right to {where}")
        lines += self.describe_finalize(params)
        lines += [f"approximation {name}: {APPROXIMATIONS[name]}" for name in params.get("approximations") or ()]
        return lines

    def describe_finalize(self, params: dict[str, Any]) -> list[str]:
        """Lines for family-specific output steps (see :meth:`finalize`)."""
        return []

    def __repr__(self) -> str:
        steps = "\n".join(("    " if i == 0 else "  → ") + line for i, line in enumerate(self.describe_pipeline()))
        return f"{type(self).__name__}(backend={self.backend.describe()!r})\n{steps}"

    # ------------------------------------------------------------------------------------------ call

    def __call__(self, images: Any, **kwargs: Any) -> BatchFeature:
        """Preprocess one image or many; keyword arguments override the processor's parameters for this call."""
        return self.preprocess(images, **kwargs)

    def preprocess(self, images: Any, **kwargs: Any) -> BatchFeature:
        """Same as calling the processor."""
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        processed = self.process_images(images, params, backend)
        return self.finalize(processed, params, backend)

    def process_images(self, images: Any, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """Load, transform and batch images into ``pixel_values`` (plus ``pixel_mask`` when asked)."""
        items = flatten_inputs(images)
        if not items:
            raise InvalidArgumentError("images is empty: pass at least one image")
        approximations = params.get("approximations") or ()
        steps = self.steps(params)
        if "resize_crop_region" in approximations:
            steps = _fuse_resize_crop(steps)
        draft_target = _draft_target(steps) if "jpeg_draft" in approximations else None
        options = self.load_options(params, backend, draft_target)
        scale, mean, std = self.affine_parts(params)

        def transform(item: Any) -> Any:
            image = backend.from_canonical(to_canonical(item, options))
            for step in steps:
                image = step.apply(backend, image)
            return backend.realize(image)

        transformed = _map(transform, items, self.num_threads)
        return self._assemble(transformed, params, backend, scale, mean, std)

    def _assemble(self, images: list[Any], params: dict[str, Any], backend: Backend, scale, mean, std) -> BatchFeature:
        """Write every image, rescaled and normalised, into one batch (or a list when sizes differ)."""
        sizes = [backend.size(image) for image in images]
        channels = {channel_broadcast_target(backend.channels(image), mean) for image in images}
        affines = {c: Affine(scale, mean, std, c, backend.formula) for c in channels}
        floating = any(a.output_float for a in affines.values()) or not all(backend.is_uint8(i) for i in images)
        dtype = "float32" if floating else "uint8"

        canvases = list(sizes)
        if self.pads_batch(params):
            target = params.get("pad_size")
            canvas = geometry.check_output_size(target["height"], target["width"], "pad_size") if target else geometry.max_size(sizes)
            if params.get("size_divisor"):
                canvas = geometry.pad_to_multiple(*canvas, params["size_divisor"])
            for (h, w) in sizes:
                if h > canvas[0] or w > canvas[1]:
                    raise InvalidArgumentError(f"pad_size {canvas[0]}x{canvas[1]} is smaller than an image of {h}x{w}")
            canvases = [canvas] * len(images)

        def expand(image: Any, channels_out: int) -> Any:
            return _repeat_channels(backend, image) if backend.channels(image) == 1 and channels_out == 3 else image

        uniform = len(set(canvases)) == 1 and len(channels) == 1
        if uniform:
            (height, width), (c,) = canvases[0], tuple(channels)
            # Every element is written below (the padding by _zero_outside): no zero fill, a full pass over the batch.
            outputs = backend.allocate_unfilled((len(images), c, height, width), dtype)
        else:
            outputs = [
                backend.allocate((channel_broadcast_target(backend.channels(image), mean), ch, cw), dtype)
                for image, (ch, cw) in zip(images, canvases)
            ]
        slots = [outputs[i][:, :h, :w] for i, (h, w) in enumerate(sizes)]
        with_mask = bool(self.pads_batch(params) and params.get("return_pixel_mask"))
        mask = backend.allocate_unfilled((len(images), canvases[0][0], canvases[0][1]), "int64") if with_mask else None
        outputs_host = _host_view(backend, outputs) if uniform else None
        mask_host = _host_view(backend, mask) if with_mask else None

        def write(i: int) -> None:
            channels_out = slots[i].shape[0]
            backend.write_chw(expand(images[i], channels_out), slots[i], affines[channels_out])
            # 8-bit images cannot overflow (Affine checks all 256 values); float ones are checked where they land.
            if floating and not backend.is_uint8(images[i]) and not backend.all_finite(slots[i]):
                raise InvalidImageError(
                    f"image {i}: its values go beyond the float32 range (to infinity or NaN) when resized, rescaled "
                    f"(rescale_factor={scale}) and normalized (image_mean={mean}, image_std={std})"
                )
            if uniform:
                _zero_outside(outputs_host[i], *sizes[i])
            if mask_host is not None:  # written by the same threads: the mask is two thirds the size of the pixels
                mask_host[i, : sizes[i][0], : sizes[i][1]] = 1
                _zero_outside(mask_host[i], *sizes[i])

        _map(write, list(range(len(images))), self.num_threads)
        pixel_values = outputs
        if params.get("data_format") == "channels_last":
            pixel_values = _channels_last(pixel_values)
        data = {"pixel_values": pixel_values}
        if mask is not None:
            data["pixel_mask"] = mask
        return BatchFeature(data)

    def finalize(self, features: BatchFeature, params: dict[str, Any], backend: Backend) -> BatchFeature:
        """Family hook for output-level steps (colour clusters, ...); converts to ``return_tensors``."""
        return features.convert_to_tensors(params.get("return_tensors"))

    # ------------------------------------------------- single steps (transformers' public methods)
    # Each takes one image as transformers' processors do (CHW, or HWC with input_data_format; a NumPy array or a
    # torch tensor; a leading batch axis allowed) and returns the same type, channels-first unless data_format says
    # otherwise. They run the same step objects and backend operations as the pipeline.

    def _run_steps(self, image: Any, params: dict[str, Any], steps: list[Any], affine_parts: tuple | None = None) -> Any:
        """``image`` through ``steps`` on the backend of ``params``, then (optionally) ``Affine(*affine_parts)``."""
        import numpy as np

        from .inputs import _array_to_hwc, _is_torch_tensor

        backend = self._backend_for(params.get("device"))
        is_torch = _is_torch_tensor(image)
        if not is_torch:
            image = np.asarray(image)
        if image.ndim not in (2, 3, 4):
            raise InvalidImageError(f"image must have 2, 3 or 4 (batch) dimensions, got shape {tuple(image.shape)}")
        batch = image.ndim == 4
        results = []
        for item in (image if batch else [image]):
            hwc = _array_to_hwc(item, params.get("input_data_format"), "image")
            native = backend.from_canonical(hwc.contiguous() if is_torch else np.ascontiguousarray(hwc))
            for step in steps:
                native = step.apply(backend, native)
            result = backend.to_numpy(backend.realize(native))
            if affine_parts is not None:
                result = Affine(*affine_parts, backend.channels(result), backend.formula).apply(result)
            if item.ndim == 2:  # a 2-D image (a label map) comes back 2-D
                results.append(result[:, :, 0])
            else:
                results.append(result if params.get("data_format") == "channels_last" else np.moveaxis(result, -1, 0))
        out = np.stack(results) if batch else results[0]
        if is_torch:
            import torch

            return torch.from_numpy(np.ascontiguousarray(out)).to(image.device)
        return np.ascontiguousarray(out)

    def _step_params(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Parameters for a single step: the processor's, with ``kwargs`` applied; channels-first output by default."""
        data_format = kwargs.pop("data_format", None)
        params = dict(self.resolve(kwargs))
        params["data_format"] = data_format or "channels_first"
        return params

    def resize(self, image: Any, size: Any, resample: Any = None, **kwargs: Any) -> Any:
        """Resize by this family's rule for ``size`` (and family kwargs such as ``size_divisor``), as transformers' ``resize``."""
        params = self._step_params(dict(kwargs, size=size, resample=resample))
        if params.get("size") is None:
            raise InvalidArgumentError("resize needs a size")
        return self._run_steps(image, params, self.resize_steps(params))

    def center_crop(self, image: Any, size: Any, **kwargs: Any) -> Any:
        """Crop the center ``size`` (padding with zeros where the image is smaller), as transformers' ``center_crop``."""
        params = self._step_params(dict(kwargs, crop_size=size))
        crop = params["crop_size"]
        if crop is None:
            raise InvalidArgumentError("center_crop needs a size with 'height' and 'width'")
        return self._run_steps(image, params, [CenterCrop(crop["height"], crop["width"])])

    def rescale(self, image: Any, scale: float, **kwargs: Any) -> Any:
        """``image * scale`` in float32, with the arithmetic of this processor's backend."""
        params = self._step_params(dict(kwargs, rescale_factor=scale))
        return self._run_steps(image, params, [], (params["rescale_factor"], None, None))

    def normalize(self, image: Any, mean: Any, std: Any, **kwargs: Any) -> Any:
        """``(image - mean) / std`` per channel in float32, with the arithmetic of this processor's backend."""
        params = self._step_params(dict(kwargs, image_mean=mean, image_std=std))
        return self._run_steps(image, params, [], (None, params["image_mean"], params["image_std"]))

    def rescale_and_normalize(self, images: Any, do_rescale: bool, rescale_factor: float, do_normalize: bool, image_mean: Any, image_std: Any) -> Any:
        """Rescale and/or normalize in one pass, as the pipeline does (transformers' torchvision ``rescale_and_normalize``)."""
        params = self._step_params({"rescale_factor": rescale_factor, "image_mean": image_mean, "image_std": image_std})
        scale = params["rescale_factor"] if do_rescale else None
        mean, std = (params["image_mean"], params["image_std"]) if do_normalize else (None, None)
        if scale is None and mean is None:
            return images
        return self._run_steps(images, params, [], (scale, mean, std))

    def pad(self, images: Any, pad_size: Any = None, fill_value: float = 0, padding_mode: str = "constant", return_mask: bool = False, **kwargs: Any) -> Any:
        """Pad each image bottom/right to ``pad_size`` (default: the largest in the list) with ``fill_value``.

        As transformers' backends' ``pad``: a list in, a list out; with ``return_mask`` also one int64 mask per image.
        """
        import numpy as np

        if padding_mode != "constant":
            raise InvalidArgumentError(f"padding_mode {padding_mode!r} is not supported; pixelprep pads with a constant ('constant')")
        single = not isinstance(images, (list, tuple))
        images = [images] if single else list(images)
        params = self._step_params(kwargs)
        # no pad_size: the largest image, as transformers' pad does (not the processor's configured pad_size)
        explicit = normalize_square_size(pad_size, "pad_size")
        sizes = [tuple(int(v) for v in image.shape[-2:]) for image in images]
        target = (explicit["height"], explicit["width"]) if explicit else geometry.max_size(sizes)
        padded, masks = [], []
        for image, (height, width) in zip(images, sizes):
            if height > target[0] or width > target[1]:
                raise InvalidArgumentError(f"pad_size {target[0]}x{target[1]} is smaller than an image of {height}x{width}")
            step = _PadBottomRight(target[0] - height, target[1] - width, fill_value)
            padded.append(self._run_steps(image, dict(params, input_data_format="channels_first"), [step]))
            mask = np.zeros(target, np.int64)
            mask[:height, :width] = 1
            masks.append(_like(mask, image))
        if single:
            padded, masks = padded[0], masks[0]
        return (padded, masks) if return_mask else padded

    def convert_to_rgb(self, image: Any, input_data_format: Any = None) -> Any:
        """An image as RGB, by pixelprep's input rules (gray repeated, alpha blended onto white, palette/CMYK converted).

        Arrays and tensors come back in their own type and layout (CHW unless ``input_data_format`` says HWC);
        a PIL image comes back as an HWC uint8 array, as transformers' pil backend returns it.
        """
        import numpy as np

        from .inputs import _is_pil_image, _is_torch_tensor, to_canonical

        rgb = to_canonical(image, LoadOptions(True, None if _is_pil_image(image) else input_data_format))
        rgb = rgb.detach().cpu().numpy() if hasattr(rgb, "detach") else np.asarray(rgb)
        if _is_pil_image(image):
            return rgb
        channels_last = str(getattr(input_data_format, "value", input_data_format)) == "channels_last"
        out = rgb if channels_last else np.ascontiguousarray(np.moveaxis(rgb, -1, 0))
        return _like(out, image) if _is_torch_tensor(image) else out

    @classmethod
    def register_for_auto_class(cls, auto_class: Any = "AutoImageProcessor") -> None:
        """Make pixelprep's ``AutoImageProcessor`` load this (user) class from configs that name it.

        transformers instead records the class for remote code in saved configs; pixelprep never runs remote code.
        """
        name = auto_class if isinstance(auto_class, str) else getattr(auto_class, "__name__", repr(auto_class))
        if name != "AutoImageProcessor":
            raise InvalidArgumentError(f"auto_class must be 'AutoImageProcessor' (the only auto class pixelprep has), got {name!r}")
        from .auto import AutoImageProcessor

        AutoImageProcessor.register(cls.__name__, cls, exist_ok=True)

    def fetch_images(self, image_url_or_urls: Any) -> Any:
        """Paths or URLs (nested lists too) decoded as PIL images, EXIF-oriented; other images are returned as they are."""
        from .inputs import open_image

        if isinstance(image_url_or_urls, (list, tuple)):
            return [self.fetch_images(item) for item in image_url_or_urls]
        if isinstance(image_url_or_urls, (str, os.PathLike)):
            return open_image(image_url_or_urls)
        return image_url_or_urls

    @classmethod
    def get_image_processor_dict(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """(config dict, the kwargs that are not hub options) for a hub id, folder or JSON file, as transformers returns them."""
        from .config import HUB_KWARGS, load_config

        hub = {k: kwargs.pop(k) for k in list(kwargs) if k in HUB_KWARGS}
        return load_config(pretrained_model_name_or_path, **hub).config, kwargs

    # ------------------------------------------------------------------------------- serialisation

    def to_dict(self) -> dict[str, Any]:
        """The settings as a transformers-compatible config dict (unknown keys from the source kept)."""
        out: dict[str, Any] = {}
        for name, value in self._params.items():
            # a return_tensors chosen at construction is a setting of this processor (transformers saves it too)
            if name in CALL_ONLY_PARAMS and not (name == "return_tensors" and value is not None):
                continue
            if value is None and self.defaults.get(name) is None:
                continue
            out[name] = _json_value(value)
        for name, value in self.extra.items():
            out.setdefault(name, copy.deepcopy(value))
        # A user family that names no transformers class is saved under its own name, which reloads it.
        inherited_base = self.transformers_class == ImageProcessor.transformers_class
        out["image_processor_type"] = type(self).__name__ if inherited_base else self.transformers_class
        return out

    def to_json_string(self) -> str:
        """The config dict as pretty JSON, keys sorted (the same layout transformers writes)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, path: str | os.PathLike) -> None:
        """Write the config JSON to ``path``."""
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.to_json_string())

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs: Any) -> list[str]:
        """Write ``preprocessor_config.json`` into ``save_directory`` (created if needed); returns the paths written."""
        if kwargs:
            raise UnknownArgumentError(list(kwargs), [], "save_pretrained")
        if not isinstance(save_directory, (str, os.PathLike)):
            raise InvalidArgumentError(f"save_directory must be a path, got {save_directory!r}")
        if os.path.isfile(save_directory):
            raise InvalidArgumentError(f"save_directory {save_directory} is a file, not a directory")
        path = os.path.join(save_directory, CONFIG_NAME)
        temporary = path + ".tmp"
        try:
            os.makedirs(save_directory, exist_ok=True)
            self.to_json_file(temporary)
            os.replace(temporary, path)
        except OSError as exc:  # a file where a folder should be, permissions, a full disk
            raise InvalidArgumentError(f"save_directory {save_directory}: cannot write {CONFIG_NAME}: {exc}") from exc
        return [path]

    @classmethod
    def upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Family hook: rewrite legacy config keys into current parameters (default: unchanged)."""
        return config

    @classmethod
    def from_dict(
        cls,
        config: dict[str, Any],
        *,
        backend: str | None = None,
        return_unused_kwargs: bool = False,
        num_threads: int | None = None,
        **overrides: Any,
    ) -> Any:
        """Build from a config dict; unknown config keys are kept (and saved back), unknown overrides are errors."""
        from .config import check_config_depth

        if not isinstance(config, dict):
            raise ConfigError(f"a config must be a dict, got {type(config).__name__}")
        check_config_depth(config, f"{cls.__name__}.from_dict")  # copying and saving a deeper one would exhaust the stack
        config = cls.upgrade_config(dict(config))
        known = set(cls.param_names())
        params = {k: v for k, v in config.items() if k in known}
        extra = {k: v for k, v in config.items() if k not in known and k not in SERVICE_KEYS}
        unused = {k: v for k, v in overrides.items() if k not in known}
        if unused and not return_unused_kwargs:
            raise UnknownArgumentError(list(unused), cls.param_names(), f"{cls.__name__}.from_pretrained")
        params.update({k: v for k, v in overrides.items() if k in known})
        processor = cls.__new__(cls)
        processor._setup(params, extra=extra, backend=backend, num_threads=num_threads)
        return (processor, unused) if return_unused_kwargs else processor

    @classmethod
    def from_json_file(cls, path: str | os.PathLike, **kwargs: Any) -> Any:
        """Build from a JSON config file."""
        from .config import read_json_config

        return cls.from_dict(read_json_config(path), **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any) -> Any:
        """Load from a hub id, a folder or a JSON file (see :func:`pixelprep.config.load_config`)."""
        from .config import HUB_KWARGS, load_config

        hub = {k: kwargs.pop(k) for k in list(kwargs) if k in HUB_KWARGS}
        loaded = load_config(pretrained_model_name_or_path, **hub)
        return cls.from_dict(loaded.config, **kwargs)

    def to_torchvision(self) -> Any:
        """A ``torchvision.transforms.v2`` pipeline doing what this processor does to one CHW uint8 tensor."""
        from .integrations import to_torchvision

        return to_torchvision(self)

    # --------------------------------------------------------------------------------------- pickling

    def __getstate__(self) -> dict[str, Any]:
        return {"params": self._params, "extra": self.extra, "backend": self._requested_backend, "num_threads": self.num_threads}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._setup(dict(state["params"]), state["extra"], state["backend"], state["num_threads"])

    def __copy__(self) -> Any:
        clone = type(self).__new__(type(self))
        clone.__setstate__(self.__getstate__())
        return clone

    def __deepcopy__(self, memo: dict) -> Any:
        # Unknown config keys may hold lists and dicts: a deep copy must not share them with the original.
        clone = type(self).__new__(type(self))
        clone.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return clone


_report_missing_torch(ImageProcessor)


@dataclass(frozen=True)
class _PadBottomRight:
    """Pad ``bottom`` rows and ``right`` columns of ``fill`` (the single-step ``pad``)."""

    bottom: int
    right: int
    fill: float = 0

    def apply(self, backend: Backend, image: Any) -> Any:
        if not (self.bottom or self.right):
            return image
        return backend.pad(image, 0, self.bottom, 0, self.right, self.fill)


def _like(array: Any, reference: Any) -> Any:
    """``array`` (NumPy) as a torch tensor on ``reference``'s device when ``reference`` is one."""
    if hasattr(reference, "detach"):
        import torch

        return torch.from_numpy(array).to(reference.device)
    return array


def _json_value(value: Any) -> Any:
    """A copy of a parameter value as JSON holds it: tuples (nested ones too) become lists."""
    if isinstance(value, (tuple, list)):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    return copy.deepcopy(value)


def _repeat_channels(backend: Backend, image: Any) -> Any:
    """A 1-channel HWC image repeated to 3 channels (it meets a 3-value mean as gray RGB)."""
    if hasattr(image, "expand"):
        return image.expand(-1, -1, 3)
    import numpy as np

    return np.repeat(image, 3, axis=-1)


def _channels_last(values: Any) -> Any:
    if isinstance(values, list):
        return [_channels_last(v) for v in values]
    if hasattr(values, "permute"):
        return values.permute(*range(values.ndim - 3), values.ndim - 2, values.ndim - 1, values.ndim - 3)
    import numpy as np

    return np.moveaxis(values, -3, -1)
