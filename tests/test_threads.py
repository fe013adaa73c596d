"""One processor shared between threads, pickled and copied, behaves like a fresh one."""

from __future__ import annotations

import copy
import pathlib
import pickle
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from pixelprep import CLIPImageProcessor, ConvNextImageProcessor

IMAGES = pathlib.Path(__file__).parent / "fixtures" / "images"
EIGHT_IMAGES = [
    "photo_rgb_301x200.png",
    "photo_rgb_333x517.jpg",
    "photo_rgb_251x167.bmp",
    "wide_rgb_1200x90.jpg",
    "tall_rgb_90x1200.jpg",
    "tiny_rgb_7x5.png",
    "rgba_alpha_radial_256x192.png",
    "gray_l_200x131.png",
]
BACKENDS = ["pil", "torchvision"]


def _run_in_threads(work: Callable[[int], Any], count: int) -> list[Any]:
    """Run ``work(i)`` for i in range(count), one thread each, all released at once; re-raise any failure."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("backend", BACKENDS)
def test_shared_processor_in_eight_threads_matches_sequential(backend: str) -> None:
    processor = CLIPImageProcessor(backend=backend)
    paths = [str(IMAGES / name) for name in EIGHT_IMAGES]
    sequential = [processor(path, return_tensors="np")["pixel_values"] for path in paths]
    batched = processor(paths, return_tensors="np")["pixel_values"]

    def work(i: int) -> list[np.ndarray]:
        # Each thread also sends a small batch, so the processor's own pool runs under the user threads.
        return [processor(paths[i], return_tensors="np")["pixel_values"] for _ in range(2)] + [
            processor([paths[i], paths[(i + 1) % 8]], return_tensors="np")["pixel_values"]
        ]

    for i, (first, second, pair) in enumerate(_run_in_threads(work, 8)):
        np.testing.assert_array_equal(first, sequential[i])
        np.testing.assert_array_equal(second, sequential[i])
        np.testing.assert_array_equal(pair[0], sequential[i][0])
        np.testing.assert_array_equal(pair[1], sequential[(i + 1) % 8][0])
        np.testing.assert_array_equal(batched[i], sequential[i][0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_call_time_overrides_do_not_leak_between_threads(backend: str) -> None:
    processor = CLIPImageProcessor(backend=backend)
    path = str(IMAGES / "photo_rgb_333x517.jpg")
    default = processor(path, return_tensors="np")["pixel_values"]
    small = processor(path, size=64, crop_size=48, resample="bilinear", image_mean=0.5, image_std=0.5, return_tensors="np")["pixel_values"]
    assert small.shape == (1, 3, 48, 48)

    def work(i: int) -> list[tuple[int, ...]]:
        shapes = []
        for _ in range(3):
            if i % 2:
                out = processor(path, size=64, crop_size=48, resample="bilinear", image_mean=0.5, image_std=0.5, return_tensors="np")
                np.testing.assert_array_equal(out["pixel_values"], small)
            else:
                out = processor(path, return_tensors="np")
                np.testing.assert_array_equal(out["pixel_values"], default)
            shapes.append(out["pixel_values"].shape)
        return shapes

    for i, shapes in enumerate(_run_in_threads(work, 8)):
        assert set(shapes) == {(1, 3, 48, 48) if i % 2 else (1, 3, 224, 224)}
    # The processor's own settings are untouched.
    assert processor.size == {"shortest_edge": 224} and processor.crop_size == {"height": 224, "width": 224}
    assert processor.resample == 3 and processor.image_mean == CLIPImageProcessor().image_mean


@pytest.mark.parametrize("backend", BACKENDS)
def test_pickle_and_copies_give_equal_output(backend: str) -> None:
    processor = ConvNextImageProcessor.from_dict(
        {"size": {"shortest_edge": 224}, "crop_pct": 0.9, "resample": 2, "a_key_we_do_not_know": [1, 2]}, backend=backend
    )
    path = str(IMAGES / "photo_rgb_640x427.jpg")
    expected = processor(path, return_tensors="np")["pixel_values"]
    for clone in (pickle.loads(pickle.dumps(processor)), copy.deepcopy(processor), copy.copy(processor)):
        assert type(clone) is ConvNextImageProcessor and clone is not processor
        assert clone.backend_name == backend
        assert clone.to_dict() == processor.to_dict()
        assert clone.to_dict()["a_key_we_do_not_know"] == [1, 2]
        np.testing.assert_array_equal(clone(path, return_tensors="np")["pixel_values"], expected)
    # A copy is independent: changing it leaves the original alone.
    clone = copy.deepcopy(processor)
    clone.crop_pct = 0.5
    clone.extra["a_key_we_do_not_know"].append(3)
    assert processor.crop_pct == 0.9 and processor.extra["a_key_we_do_not_know"] == [1, 2]
    np.testing.assert_array_equal(processor(path, return_tensors="np")["pixel_values"], expected)
