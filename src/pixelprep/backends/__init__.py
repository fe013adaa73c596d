"""The backend registry: backends by name, with availability checks, globally or per family."""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import BackendUnavailableError, InvalidArgumentError
from .base import Affine, Backend

__all__ = ["Affine", "Backend", "register_backend", "available_backends", "create_backend", "BackendEntry"]


@dataclass(frozen=True)
class BackendEntry:
    """A registered backend: how to build it and how to tell whether it can run here."""

    name: str
    implementation: Any  # a Backend subclass, a factory callable, or "module:attribute" loaded on first use
    available: Callable[[], bool]

    def build(self, device: Any = None) -> Backend:
        """Instantiate the backend (importing it on first use)."""
        impl = self.implementation
        if isinstance(impl, str):
            module, _, attr = impl.partition(":")
            impl = getattr(importlib.import_module(module), attr)
        return impl(device=device)


def _has_modules(*names: str) -> Callable[[], bool]:
    def check() -> bool:
        return all(importlib.util.find_spec(n) is not None for n in names)

    return check


_GLOBAL: dict[str, BackendEntry] = {
    "pil": BackendEntry("pil", "pixelprep.backends.pil:PilBackend", _has_modules("PIL", "numpy")),
    "torchvision": BackendEntry(
        "torchvision", "pixelprep.backends.torchvision:TorchvisionBackend", _has_modules("torch", "torchvision")
    ),
}


def register_backend(
    name: str,
    implementation: Any,
    available: Callable[[], bool] | None = None,
    family: type | None = None,
) -> None:
    """Register a backend under ``name`` for every family, or only for ``family`` (a processor class).

    ``implementation`` is a :class:`Backend` subclass (or any callable taking ``device=`` and returning one);
    ``available`` says whether its dependencies are importable (default: always).
    """
    if not name or not isinstance(name, str):
        raise InvalidArgumentError(f"a backend name must be a non-empty string, got {name!r}")
    entry = BackendEntry(name, implementation, available or (lambda: True))
    if family is None:
        _GLOBAL[name] = entry
    else:
        own = family.__dict__.get("_own_backends")
        if own is None:
            own = {}
            setattr(family, "_own_backends", own)
        own[name] = entry


def _entries_for(family: type | None) -> dict[str, BackendEntry]:
    entries = dict(_GLOBAL)
    if family is not None:
        for klass in reversed(family.__mro__):
            entries.update(klass.__dict__.get("_own_backends", {}))
    return entries


def available_backends(family: type | None = None) -> list[str]:
    """Names of the registered backends whose dependencies are importable here."""
    return [name for name, entry in _entries_for(family).items() if entry.available()]


def default_backend_name(prefer_pil: bool = False) -> str:
    """torchvision when it is importable (pil when ``prefer_pil``), else pil."""
    if not prefer_pil and _GLOBAL["torchvision"].available():
        return "torchvision"
    return "pil"


def create_backend(name: str | None, family: type | None = None, device: Any = None, prefer_pil: bool = False) -> Backend:
    """Build the backend ``name`` for ``family``; an unavailable one falls back to the default with a warning."""
    entries = _entries_for(family)
    if name is None:
        name = default_backend_name(prefer_pil)
    if name not in entries:
        raise InvalidArgumentError(f"unknown backend {name!r}; registered backends are: {', '.join(sorted(entries))}")
    entry = entries[name]
    if not entry.available():
        fallback = default_backend_name(prefer_pil)
        if fallback == name or not entries[fallback].available():
            raise BackendUnavailableError(f"backend {name!r} is not available here and no fallback is")
        warnings.warn(
            f"backend {name!r} is not available (its dependencies are not installed); falling back to {fallback!r}",
            RuntimeWarning,
            stacklevel=3,
        )
        entry = entries[fallback]
    return entry.build(device=device)
