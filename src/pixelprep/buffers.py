"""Reuse of the memory of large outputs the caller has dropped.

A processor's output is written into fresh memory on every call, and the first write into fresh memory
costs a page fault per page: on a virtual machine that returns freed memory to its host, a 440 MB batch
of Qwen2-VL patches then takes longer to fault in than to compute. Outputs of 4 MB or more are therefore
carved from buffers kept here: when the last array, view or tensor sharing an output is gone, its
buffer returns to a cache, and a later output of the same order of size takes it, already mapped.

The cache holds at most ``PIXELPREP_OUTPUT_CACHE_MB`` megabytes (default 1024; 0 turns reuse off);
:func:`release_cached_memory` empties it. A buffer is only ever reused after every object that can reach
its memory (NumPy views, torch tensors made with ``torch.from_numpy``, their views) has been freed.
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from collections import deque
from typing import Any

import numpy as np

from .errors import InvalidArgumentError

#: Outputs smaller than this come straight from NumPy (its own allocator serves them well).
MIN_BYTES = 4 << 20
_DEFAULT_LIMIT_MB = 1024

_lock = threading.Lock()
_free: list[np.ndarray] = []  # raw uint8 buffers that no output uses, oldest first; changed only under _lock
# Buffers whose last output has gone. The finalizer that returns one can run anywhere (a garbage collection can
# free an output inside a locked section below), so it only appends here, and settles into _free when it can.
_returned: deque[np.ndarray] = deque()


def _new_lock_after_fork() -> None:
    # A forked child (a DataLoader worker) may inherit the lock held by a thread it does not have; its cached
    # buffers are its own copies, so it keeps them and only needs a lock of its own.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # no fork on Windows
    os.register_at_fork(after_in_child=_new_lock_after_fork)


def cache_limit() -> int:
    """Bytes the cache may hold, from ``PIXELPREP_OUTPUT_CACHE_MB`` (read on every call, so it can change at run time)."""
    value = os.environ.get("PIXELPREP_OUTPUT_CACHE_MB", "")
    if not value.strip():
        return _DEFAULT_LIMIT_MB << 20
    try:
        megabytes = float(value)
    except ValueError:
        megabytes = -1.0
    if not math.isfinite(megabytes) or megabytes < 0:
        raise InvalidArgumentError(f"PIXELPREP_OUTPUT_CACHE_MB={value!r}: expected a number of megabytes >= 0 (0 turns output reuse off)")
    return int(megabytes * (1 << 20))


def cached_bytes() -> int:
    """Bytes held in the cache now (buffers no output uses)."""
    with _lock:
        dropped = _settle()
        held = sum(raw.nbytes for raw in _free)
    del dropped
    return held


def release_cached_memory() -> int:
    """Free every cached buffer; return the bytes freed. Outputs still in use are not affected."""
    with _lock:
        dropped = _settle() + _free[:]
        _free.clear()
    return sum(raw.nbytes for raw in dropped)


class _Owner:
    """The base object of the arrays viewing one pooled buffer: NumPy stops collapsing view bases at a non-array,
    so every view made from an output keeps this object (and not the buffer) alive, and its end is the end of all."""

    __slots__ = ("__array_interface__", "__weakref__")


def empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised C-contiguous array, carved from a cached buffer where one fits (see the module docstring)."""
    dtype = np.dtype(dtype)
    shape = tuple(int(n) for n in shape)
    nbytes = math.prod(shape) * dtype.itemsize
    limit = cache_limit()
    if nbytes < MIN_BYTES or nbytes > limit or dtype.hasobject:
        return np.empty(shape, dtype)
    raw = _take(nbytes)
    if raw is None:
        raw = np.empty(nbytes, np.uint8)
    owner = _Owner()
    owner.__array_interface__ = {"version": 3, "shape": shape, "typestr": dtype.str, "data": (raw.ctypes.data, False)}
    array = np.asarray(owner)
    finalizer = weakref.finalize(owner, _give_back, raw)
    finalizer.atexit = False
    return array


def zeros(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Like :func:`empty`, filled with zeros (NumPy's own zeroed pages below the pooled size)."""
    dtype = np.dtype(dtype)
    if math.prod(int(n) for n in shape) * dtype.itemsize < MIN_BYTES:
        return np.zeros(shape, dtype)
    array = empty(shape, dtype)
    array.fill(0)
    return array


def _take(nbytes: int) -> np.ndarray | None:
    """The smallest cached buffer of ``nbytes`` to twice that, removed from the cache; None if there is none."""
    with _lock:
        dropped = _settle()
        fitting = [index for index, raw in enumerate(_free) if nbytes <= raw.nbytes <= 2 * nbytes]
        best = _free.pop(min(fitting, key=lambda index: _free[index].nbytes)) if fitting else None
    del dropped  # freed outside the lock
    return best


def _settle() -> list[np.ndarray]:
    """Move returned buffers into the cache and take out the oldest beyond the limit (called under ``_lock``); return
    those, for the caller to free once it has released the lock."""
    while _returned:
        _free.append(_returned.popleft())
    try:
        limit = cache_limit()
    except InvalidArgumentError:  # reported by the next allocation
        limit = 0
    dropped, held = [], sum(raw.nbytes for raw in _free)
    while _free and held > limit:
        dropped.append(_free.pop(0))
        held -= dropped[-1].nbytes
    return dropped


def _give_back(raw: np.ndarray) -> None:
    """Return a buffer whose last output has gone; settle the cache now unless a locked section is under way."""
    _returned.append(raw)
    if _lock.acquire(blocking=False):
        try:
            dropped = _settle()
        finally:
            _lock.release()
        del dropped
