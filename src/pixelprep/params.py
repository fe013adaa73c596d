"""Validation and normalisation of processor parameters, shared by configs and call-time kwargs.

Each parameter has one normaliser that turns every accepted spelling (ints, lists, enums, legacy
forms) into one canonical value, or raises an error naming the parameter and what was wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

from .backends.base import BICUBIC, BILINEAR, BOX, HAMMING, LANCZOS, NEAREST, RESAMPLE_NAMES
from .errors import InvalidArgumentError

SIZE_KEY_SETS = (
    {"height", "width"},
    {"shortest_edge"},
    {"shortest_edge", "longest_edge"},
    {"longest_edge"},
    {"max_height", "max_width"},
    {"min_pixels", "max_pixels"},
)
_RESAMPLE_BY_NAME = {name: number for number, name in RESAMPLE_NAMES.items()} | {
    "nearest_exact": NEAREST,
    "antialias": LANCZOS,
    "cubic": BICUBIC,
    "linear": BILINEAR,
}


#: The largest side any size may name: Pillow and torch index image rows and columns with 32-bit integers.
MAX_SIDE = 2**31 - 1


def _positive_int(value: Any, name: str) -> int:
    # isfinite first for floats: int() of NaN or infinity raises its own ValueError/OverflowError
    if isinstance(value, bool) or not isinstance(value, Real) or not (isinstance(value, Integral) or math.isfinite(value)):
        raise InvalidArgumentError(f"{name} must be a positive integer, got {value!r}")
    if int(value) != value or not 0 < value <= MAX_SIDE:
        shown = value if abs(value) < 10**30 else f"a {len(str(int(value)))}-digit number"
        raise InvalidArgumentError(f"{name} must be a positive integer of at most {MAX_SIDE}, got {shown}")
    return int(value)


def normalize_size(value: Any, name: str = "size", default_to_square: bool = True) -> dict[str, int] | None:
    """A size as a dict with one of the valid key sets; ints and (height, width) pairs are converted."""
    if value is None:
        return None
    if isinstance(value, dict) or hasattr(value, "keys"):
        size = {k: v for k, v in dict(value).items() if v is not None}
    elif isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise InvalidArgumentError(f"{name} as a sequence must be (height, width), got {value!r}")
        size = {"height": value[0], "width": value[1]}
    elif isinstance(value, Real) and not isinstance(value, bool):  # NumPy integers too
        size = {"height": value, "width": value} if default_to_square else {"shortest_edge": value}
    else:
        raise InvalidArgumentError(f"{name} must be an int, a (height, width) pair or a dict, got {value!r}")
    if set(size) not in SIZE_KEY_SETS:
        valid = " | ".join("{" + ", ".join(sorted(keys)) + "}" for keys in SIZE_KEY_SETS)
        raise InvalidArgumentError(f"{name} must have one of the key sets {valid}; got keys {sorted(size)}")
    normalized = {key: _positive_int(v, f"{name}[{key!r}]") for key, v in size.items()}
    if "shortest_edge" in normalized and "longest_edge" in normalized:
        if normalized["longest_edge"] < normalized["shortest_edge"]:
            raise InvalidArgumentError(f"{name}: longest_edge {normalized['longest_edge']} is smaller than shortest_edge {normalized['shortest_edge']}")
    return normalized


def normalize_square_size(value: Any, name: str) -> dict[str, int] | None:
    """A height/width size (crop and pad sizes): an int means a square."""
    size = normalize_size(value, name, default_to_square=True)
    if size is not None and set(size) != {"height", "width"}:
        raise InvalidArgumentError(f"{name} must give 'height' and 'width', got {size}")
    return size


def normalize_resample(value: Any, name: str = "resample") -> int | None:
    """A PIL filter number from an int, a PIL enum, a name ("bicubic") or a torchvision InterpolationMode."""
    if value is None:
        return None
    if isinstance(value, str):
        key = value.strip().lower()
        if key not in _RESAMPLE_BY_NAME:
            raise InvalidArgumentError(f"{name} {value!r} is not a known filter; use one of {sorted(set(_RESAMPLE_BY_NAME))}")
        return _RESAMPLE_BY_NAME[key]
    enum_value = getattr(value, "value", value)
    if isinstance(enum_value, str):
        return normalize_resample(enum_value, name)
    if isinstance(enum_value, bool) or not isinstance(enum_value, int) or enum_value not in RESAMPLE_NAMES:
        raise InvalidArgumentError(
            f"{name} must be a PIL filter number 0-5 ({NEAREST}=nearest, {LANCZOS}=lanczos, {BILINEAR}=bilinear, "
            f"{BICUBIC}=bicubic, {BOX}=box, {HAMMING}=hamming) or its name, got {value!r}"
        )
    return int(enum_value)


def normalize_bool(value: Any, name: str) -> bool | None:
    """True/False (or None for "use the default")."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise InvalidArgumentError(f"{name} must be True or False, got {value!r}")


# Rescaling and normalising run in float32 (both backends): every factor must be a normal float32,
# so that neither it nor its inverse (the torchvision arithmetic divides by the scale) overflows.
_FLOAT32_MAX = 3.4028234663852886e38
_FLOAT32_TINY = 1.1754943508222875e-38


def _number(value: Any, name: str) -> float:
    """A real number (int, float or NumPy scalar, never a bool or a string) as a float, with our errors."""
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, Real):
        raise InvalidArgumentError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except OverflowError:  # an int beyond the float range
        raise InvalidArgumentError(f"{name} must be a finite number, got a {len(str(int(value)))}-digit number") from None


def normalize_positive_float(value: Any, name: str) -> float | None:
    """A finite number greater than zero that float32 arithmetic can use (a normal float32, as is 1 / it)."""
    if value is None:
        return None
    number = _number(value, name)
    if not math.isfinite(number) or number <= 0:
        raise InvalidArgumentError(f"{name} must be a finite number greater than 0, got {value!r}")
    if not _FLOAT32_TINY <= number <= _FLOAT32_MAX:
        raise InvalidArgumentError(f"{name} must lie between {_FLOAT32_TINY:.4g} and {_FLOAT32_MAX:.4g} (it is applied in float32), got {value!r}")
    return number


def _floats(value: Any, name: str, nonzero: bool) -> tuple[float, ...] | None:
    if value is None:
        return None
    if isinstance(value, Real) and not isinstance(value, bool):
        items: Any = [value]
    elif isinstance(value, (list, tuple)) or (hasattr(value, "ndim") and hasattr(value, "tolist")):
        # Ordered sequences only: a string would be split into characters, a set has no channel order.
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        items = items if isinstance(items, list) else [items]  # a 0-d array's tolist() is a number
    else:
        raise InvalidArgumentError(f"{name} must be a number or a list of numbers (one per channel), got {value!r}")
    floats = tuple(_number(v, f"{name}[{i}]") for i, v in enumerate(items))
    if not floats or not all(math.isfinite(v) and abs(v) <= _FLOAT32_MAX for v in floats):
        raise InvalidArgumentError(f"{name} must hold finite numbers within the float32 range, got {value!r}")
    if nonzero and any(abs(v) < _FLOAT32_TINY for v in floats):
        raise InvalidArgumentError(f"{name} must not contain 0 or numbers too small for float32 (it divides), got {value!r}")
    return floats


def normalize_mean(value: Any, name: str = "image_mean") -> tuple[float, ...] | None:
    """Per-channel means as a tuple of floats."""
    return _floats(value, name, nonzero=False)


def normalize_std(value: Any, name: str = "image_std") -> tuple[float, ...] | None:
    """Per-channel standard deviations as a tuple of non-zero floats."""
    return _floats(value, name, nonzero=True)


def normalize_data_format(value: Any, name: str = "data_format") -> str | None:
    """"channels_first" or "channels_last" (transformers' ChannelDimension enum accepted)."""
    if value is None:
        return None
    text = str(getattr(value, "value", value))
    if text not in ("channels_first", "channels_last"):
        raise InvalidArgumentError(f"{name} must be 'channels_first' or 'channels_last', got {value!r}")
    return text


def normalize_return_tensors(value: Any, name: str = "return_tensors") -> str | None:
    """"pt", "np", "jax", "mlx" or None."""
    from .features import _tensor_type_name

    return _tensor_type_name(value)


def normalize_device(value: Any, name: str = "device") -> Any:
    """A device spec kept as given ("cpu", "cuda", "cuda:1" or a torch.device); the backend checks it can use it."""
    if value is None or isinstance(value, str) or type(value).__name__ == "device":
        return value
    raise InvalidArgumentError(f"{name} must be a device name such as 'cpu' or 'cuda', got {value!r}")


def is_cpu_device(device: Any) -> bool:
    """True for None, "cpu", "cpu:N" or a torch.device of type cpu."""
    if device is None:
        return True
    text = str(getattr(device, "type", device)).strip().lower()
    return text == "cpu" or text.startswith("cpu:")


#: Opt-in speed-ups that change the output slightly (see the README): name -> what it does.
APPROXIMATIONS = {
    "jpeg_draft": "decode JPEG files at 1/2, 1/4 or 1/8 scale (libjpeg DCT scaling) when the resize shrinks them at least 2x further",
    "resize_crop_region": "resize only the region the center crop keeps (pil backend; Pillow's box resize)",
}


def normalize_approximations(value: Any, name: str = "approximations") -> tuple[str, ...] | None:
    """Names of opt-in approximations (one name or several), sorted; unknown names are an error."""
    if value is None:
        return None
    names = (value,) if isinstance(value, str) else value
    # A mapping ({"jpeg_draft": False}) would be read as its keys, turning on what it switches off.
    if not isinstance(names, (list, tuple, set, frozenset)) or not all(isinstance(n, str) for n in names):
        raise InvalidArgumentError(f"{name} must be a name or a list of names from {sorted(APPROXIMATIONS)}, got {value!r}")
    names = tuple(sorted(set(names)))
    unknown = [n for n in names if n not in APPROXIMATIONS]
    if unknown:
        raise InvalidArgumentError(f"{name}: unknown approximation(s) {unknown}; choose from {sorted(APPROXIMATIONS)}")
    return names


# name -> normaliser. "size" is special-cased by the processor because it depends on default_to_square.
COMMON_PARAMS: dict[str, Callable[[Any, str], Any]] = {
    "do_resize": normalize_bool,
    "size": normalize_size,
    "resample": normalize_resample,
    "default_to_square": normalize_bool,
    "do_center_crop": normalize_bool,
    "crop_size": normalize_square_size,
    "do_rescale": normalize_bool,
    "rescale_factor": normalize_positive_float,
    "do_normalize": normalize_bool,
    "image_mean": normalize_mean,
    "image_std": normalize_std,
    "do_convert_rgb": normalize_bool,
    "do_pad": normalize_bool,
    "pad_size": normalize_square_size,
    "size_divisor": lambda v, n: None if v is None else _positive_int(v, n),
    "return_pixel_mask": normalize_bool,
    "data_format": normalize_data_format,
    "input_data_format": normalize_data_format,
    "return_tensors": normalize_return_tensors,
    "device": normalize_device,
    "approximations": normalize_approximations,
}

# Parameters that describe a call rather than a model; they are never written to a config file.
CALL_ONLY_PARAMS = frozenset({"return_tensors", "device", "input_data_format", "approximations"})
