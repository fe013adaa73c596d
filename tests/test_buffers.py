"""Reuse of dropped output memory (pixelprep.buffers): never while anything can still reach it."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest
import torch

from pixelprep import AutoImageProcessor, buffers
from pixelprep.errors import InvalidArgumentError

SHAPE = (3, 1024, 1024)  # 12 MB of float32: pooled


@pytest.fixture(autouse=True)
def _empty_cache(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PIXELPREP_OUTPUT_CACHE_MB", raising=False)
    buffers.release_cached_memory()
    yield
    buffers.release_cached_memory()


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def test_dropped_output_memory_is_reused() -> None:
    first = buffers.empty(SHAPE, "float32")
    address = _address(first)
    del first
    assert buffers.cached_bytes() == 12 << 20
    second = buffers.empty(SHAPE, "float32")
    assert _address(second) == address and buffers.cached_bytes() == 0
    assert second.shape == SHAPE and second.dtype == np.float32 and second.flags.c_contiguous and second.flags.writeable


@pytest.mark.parametrize("keep", ["slice", "view_of_view", "tensor", "tensor_view", "tensor_numpy", "memoryview", "transpose"])
def test_memory_is_not_reused_while_anything_reaches_it(keep: str) -> None:
    first = buffers.empty(SHAPE, "float32")
    first.fill(7.0)
    holders = {
        "slice": lambda a: a[1:],
        "view_of_view": lambda a: a[1:][0, ::2],
        "tensor": torch.from_numpy,
        "tensor_view": lambda a: torch.from_numpy(a)[2, 5:],
        "tensor_numpy": lambda a: torch.from_numpy(a).numpy()[1],
        "memoryview": memoryview,
        "transpose": lambda a: a.T,
    }
    held = holders[keep](first)
    del first
    gc.collect()
    assert buffers.cached_bytes() == 0  # still reachable through `held`
    second = buffers.empty(SHAPE, "float32")
    second.fill(-1.0)
    assert (np.asarray(held) == 7.0).all()
    del held
    gc.collect()
    assert buffers.cached_bytes() == 12 << 20


def test_small_and_oversized_requests_are_not_pooled() -> None:
    small = buffers.empty((10, 10), "float32")
    assert small.base is None  # NumPy's own array
    big = buffers.empty((8 << 20,), "uint8")  # 8 MB
    del small, big
    assert buffers.cached_bytes() == 8 << 20
    # a cached buffer serves requests of half its size up to its size, not smaller ones
    tiny = buffers.empty((3 << 20,), "uint8")
    assert buffers.cached_bytes() == 8 << 20
    half = buffers.empty((4 << 20,), "uint8")
    assert buffers.cached_bytes() == 0
    del tiny, half


def test_limit_and_release(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELPREP_OUTPUT_CACHE_MB", "20")
    arrays = [buffers.empty(SHAPE, "float32") for _ in range(3)]
    del arrays
    assert buffers.cached_bytes() == 12 << 20  # one 12 MB buffer fits under 20 MB, two do not
    assert buffers.release_cached_memory() == 12 << 20 and buffers.cached_bytes() == 0
    monkeypatch.setenv("PIXELPREP_OUTPUT_CACHE_MB", "0")
    off = buffers.empty(SHAPE, "float32")
    assert off.base is None
    del off
    assert buffers.cached_bytes() == 0
    monkeypatch.setenv("PIXELPREP_OUTPUT_CACHE_MB", "lots")
    with pytest.raises(InvalidArgumentError, match="PIXELPREP_OUTPUT_CACHE_MB='lots'"):
        buffers.empty(SHAPE, "float32")


def test_an_output_freed_inside_a_locked_section_is_cached_later() -> None:
    """A garbage collection can free an output while this thread holds the cache's lock: no deadlock, no loss."""
    array = buffers.empty(SHAPE, "float32")
    with buffers._lock:
        del array  # its finalizer runs here, as it would inside a collection
    assert buffers.cached_bytes() == 12 << 20


def test_zeros_from_a_reused_buffer_are_zero() -> None:
    dirty = buffers.empty(SHAPE, "float32")
    dirty.fill(3.0)
    del dirty
    clean = buffers.zeros(SHAPE, "float32")
    assert buffers.cached_bytes() == 0 and not clean.any()


def test_threads_never_share_live_memory() -> None:
    errors: list[str] = []

    def worker(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for step in range(40):
            array = buffers.empty((int(rng.integers(4, 7)) << 20,), "uint8")
            array.fill(seed)
            if not (array == seed).all():
                errors.append(f"thread {seed} step {step}: its live output was overwritten")

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_processor_outputs_kept_alive_stay_intact(backend: str) -> None:
    """Two live outputs never share memory; an output made in reused memory equals one made in fresh memory."""
    processor = AutoImageProcessor.from_pretrained("examples/qwen2.5-vl-7b-instruct", backend=backend)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (1120, 896, 3), dtype=np.uint8), rng.integers(0, 256, (700, 1400, 3), dtype=np.uint8)]
    first = processor(images)["pixel_values"]
    expected = _host(first).copy()
    second = processor(images[::-1])["pixel_values"]
    assert not np.shares_memory(_host(first), _host(second))
    np.testing.assert_array_equal(_host(first), expected)
    del first
    gc.collect()
    assert buffers.cached_bytes() > 0
    third = processor(images)["pixel_values"]
    assert buffers.cached_bytes() == 0  # made in the memory `first` had
    np.testing.assert_array_equal(_host(third), expected)


def _host(array: np.ndarray | torch.Tensor) -> np.ndarray:
    return array.numpy() if isinstance(array, torch.Tensor) else array


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_allocates_while_the_parent_holds_the_lock() -> None:
    """A child forked while another thread holds the cache's lock must not wait for it forever."""
    import os

    kept = buffers.empty(SHAPE, "float32")
    del kept  # one cached buffer for the child to take
    with buffers._lock:
        pid = os.fork()
        if pid == 0:  # the child: take the cached buffer, allocate, free, then leave without running pytest's exit
            import signal

            signal.alarm(20)  # a child stuck on the inherited lock dies (exit status not 0) instead of hanging the suite
            try:
                array = buffers.empty(SHAPE, "float32")
                array.fill(1.0)
                del array
                os._exit(0 if buffers.cached_bytes() == 12 << 20 else 1)
            except BaseException:
                os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
