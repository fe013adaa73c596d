"""``BatchFeature``: the dict a processor returns, with attribute access and tensor conversion."""

from __future__ import annotations

from collections import UserDict
from typing import Any

import numpy as np

from .errors import ArgumentTypeError, BackendUnavailableError, InvalidArgumentError, OutputShapeError

TENSOR_TYPES = ("pt", "np", "jax", "mlx")


def _tensor_type_name(tensor_type: Any) -> str | None:
    """Accept "pt"/"np"/"jax"/"mlx", transformers' ``TensorType`` enum, or None."""
    if tensor_type is None:
        return None
    name = str(getattr(tensor_type, "value", tensor_type))
    if name not in TENSOR_TYPES:
        raise InvalidArgumentError(f"return_tensors must be one of {', '.join(TENSOR_TYPES)} or None, got {tensor_type!r}")
    return name


def _is_torch(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "device")


def as_numpy(value: Any) -> np.ndarray:
    """A value (array, torch tensor, or list of same-shaped ones, stacked) as one NumPy array; our error for mixed shapes."""
    if _is_torch(value):
        return value.detach().cpu().numpy()
    if isinstance(value, (list, tuple)):
        parts = [as_numpy(v) for v in value]
        shapes = {p.shape for p in parts}
        if len(shapes) > 1:
            raise OutputShapeError(
                f"cannot stack arrays of different shapes {sorted(shapes)} into one tensor; resize and crop to one size, "
                "enable padding, or pass return_tensors=None to get a list"
            )
        return np.stack(parts) if parts else np.zeros((0,))
    return np.asarray(value)


def convert_value(value: Any, tensor_type: str | None) -> Any:
    """Convert one value (array, tensor, or list of them) to ``tensor_type``."""
    if tensor_type is None or isinstance(value, (str, dict)) or value is None:
        return value
    if tensor_type == "pt":
        try:
            import torch
        except ImportError as exc:
            raise BackendUnavailableError("return_tensors='pt' needs torch, which is not installed here: pip install 'pixelprep[torch]', or pass return_tensors='np'") from exc

        if _is_torch(value):
            return value
        if isinstance(value, (list, tuple)) and value and all(_is_torch(v) for v in value):
            shapes = {tuple(v.shape) for v in value}
            if len(shapes) > 1:
                as_numpy(value)  # raises the shape error
            return torch.stack(list(value))
        array = as_numpy(value)
        # asarray(order="C") rather than ascontiguousarray, which turns a 0-d value (a count) into shape (1,)
        return torch.from_numpy(np.asarray(array, order="C"))
    array = as_numpy(value)
    if tensor_type == "np":
        return array
    if tensor_type == "jax":
        return _optional_module("jax.numpy", "jax").asarray(array)
    return _optional_module("mlx.core", "mlx").array(array)


def _optional_module(module: str, package: str) -> Any:
    """Import ``module`` for a tensor type, or say which package ``return_tensors`` needs."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendUnavailableError(f"return_tensors={package!r} needs the {package} package (pip install {package})") from exc


class BatchFeature(UserDict):
    """A dict of model inputs (``pixel_values``, ``pixel_mask``, ``input_ids``, ...) with attribute access."""

    def __init__(self, data: dict[str, Any] | None = None, tensor_type: Any = None) -> None:
        super().__init__(data or {})
        self.convert_to_tensors(tensor_type)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(f"BatchFeature has no key {name!r}; keys are {list(self.data)}") from None

    def __getstate__(self) -> dict[str, Any]:
        return {"data": self.data}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.data = state["data"]

    def convert_to_tensors(self, tensor_type: Any = None) -> "BatchFeature":
        """Convert every value in place to ``"pt"``, ``"np"``, ``"jax"`` or ``"mlx"``; None leaves them as they are."""
        name = _tensor_type_name(tensor_type)
        if name is not None:
            for key, value in list(self.data.items()):
                self.data[key] = convert_value(value, name)
        return self

    def to(self, *args: Any, **kwargs: Any) -> "BatchFeature":
        """Move torch values (also inside lists, such as per-image labels) to a device and/or cast floating-point ones to a dtype.

        Positional arguments follow ``Tensor.to``: ``(device)``, ``(device, dtype)`` or ``(dtype)``. Integer tensors
        (ids, masks) keep their dtype when a dtype is given; ``non_blocking`` is passed on.
        """
        import torch

        device, dtype = _device_and_dtype(args, kwargs, torch)
        non_blocking = kwargs.get("non_blocking", False)

        def move(value: Any) -> Any:
            if isinstance(value, torch.Tensor):
                target_dtype = dtype if dtype is not None and value.is_floating_point() else None
                return value.to(device=device, dtype=target_dtype, non_blocking=non_blocking)
            if isinstance(value, (list, tuple)):
                return type(value)(move(item) for item in value)
            return value

        for key, value in list(self.data.items()):
            self.data[key] = move(value)
        return self


def _is_device(value: Any, torch: Any) -> bool:
    return isinstance(value, (str, torch.device)) or (isinstance(value, int) and not isinstance(value, bool))


def _device_and_dtype(args: tuple[Any, ...], kwargs: dict[str, Any], torch: Any) -> tuple[Any, Any]:
    """(device, dtype) from ``BatchFeature.to``'s arguments, in ``Tensor.to``'s order: the device first, then the dtype."""
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    if not args:
        return device, dtype
    first, rest = args[0], args[1:]
    if isinstance(first, torch.dtype):
        dtype = first
    elif _is_device(first, torch):
        device = first
        if rest and isinstance(rest[0], torch.dtype):
            dtype, rest = rest[0], rest[1:]
    else:
        raise InvalidArgumentError(f"BatchFeature.to: the first argument must be a device or a torch dtype, got {first!r}")
    if rest:
        # Tensor.to takes (device, dtype) or (dtype): anything else (a device after a dtype, two devices) is a call error
        raise ArgumentTypeError(
            f"BatchFeature.to{tuple(args)!r}: pass (device), (device, dtype) or (dtype), or use the device= and dtype= keywords"
        )
    return device, dtype
