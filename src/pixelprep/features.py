"""``BatchFeature``: the dict a processor returns, with attribute access and tensor conversion."""

from __future__ import annotations

from collections import UserDict
from typing import Any

import numpy as np

from .errors import BackendUnavailableError, InvalidArgumentError, OutputShapeError

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
        import torch

        if _is_torch(value):
            return value
        if isinstance(value, (list, tuple)) and value and all(_is_torch(v) for v in value):
            shapes = {tuple(v.shape) for v in value}
            if len(shapes) > 1:
                as_numpy(value)  # raises the shape error
            return torch.stack(list(value))
        array = as_numpy(value)
        return torch.from_numpy(np.ascontiguousarray(array))
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
        """Move torch values to a device and/or cast floating-point ones to a dtype, like ``Tensor.to``.

        Integer tensors (ids, masks) keep their dtype when a dtype is given; ``non_blocking`` is passed on.
        """
        import torch

        dtype = kwargs.get("dtype")
        for arg in args:
            if isinstance(arg, torch.dtype):
                dtype = arg
        device_args = [a for a in args if not isinstance(a, torch.dtype)]
        device = kwargs.get("device", device_args[0] if device_args else None)
        non_blocking = kwargs.get("non_blocking", False)
        for key, value in list(self.data.items()):
            if not isinstance(value, torch.Tensor):
                continue
            target_dtype = dtype if dtype is not None and value.is_floating_point() else None
            self.data[key] = value.to(device=device, dtype=target_dtype, non_blocking=non_blocking)
        return self
