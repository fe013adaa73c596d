"""ImageGPT: colour-cluster ids against transformers (both backends), and ids decoded back into images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers

import pixelprep

BACKENDS = {"torchvision": transformers.ImageGPTImageProcessor, "pil": transformers.ImageGPTImageProcessorPil}
SIDE = 32
# ids equal to transformers' for at least this share of pixels: we pick the nearest cluster in float64,
# transformers in float32, so a pixel almost equidistant from two clusters may legitimately differ
MIN_ID_AGREEMENT = 0.999


@pytest.fixture(scope="module")
def clusters() -> np.ndarray:
    """512 deterministic colour clusters in the normalised [-1, 1] cube."""
    return np.random.default_rng(20240607).uniform(-1.0, 1.0, size=(512, 3))


@pytest.fixture(scope="module")
def config(clusters: np.ndarray) -> dict:
    return {"clusters": clusters, "size": {"height": SIDE, "width": SIDE}}


@pytest.fixture(scope="module")
def rgb_images(fixture_images, load_image) -> list:
    """Every RGB fixture image (ImageGPT has no RGB conversion, so transformers refuses the others)."""
    return [load_image(path) for path in fixture_images if load_image(path).mode == "RGB"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_ids_match_transformers(backend: str, config: dict, rgb_images: list, to_numpy) -> None:
    """Cluster ids agree with transformers' class of the same backend on >= 99.9% of pixels."""
    ours = pixelprep.ImageGPTImageProcessor.from_dict(config, backend=backend)
    got = ours(rgb_images, return_tensors="np")["input_ids"]
    expected = to_numpy(BACKENDS[backend](**config)(rgb_images, return_tensors="np")["input_ids"])
    assert got.shape == expected.shape == (len(rgb_images), SIDE * SIDE)
    agreement = float((got == expected).mean())
    assert agreement >= MIN_ID_AGREEMENT, f"[{backend}] only {agreement:.4%} of ids equal transformers'"


@pytest.mark.parametrize("backend", BACKENDS)
def test_pixels_without_quantization_match_transformers(backend: str, config: dict, rgb_images: list, compare, to_numpy) -> None:
    """do_color_quantize=False returns pixel_values equal to transformers'."""
    config = {**config, "do_color_quantize": False}
    got = pixelprep.ImageGPTImageProcessor.from_dict(config, backend=backend)(rgb_images, return_tensors="np")
    expected = BACKENDS[backend](**config)(rgb_images, return_tensors="np")
    assert set(got) == {"pixel_values"}
    compare(got["pixel_values"], to_numpy(expected["pixel_values"]), what=f"ImageGPT pixels [{backend}]")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("return_tensors", ["np", "pt"])
def test_ids_shape_and_dtype(backend: str, return_tensors: str, config: dict, rgb_images: list) -> None:
    """input_ids is (N, H*W) int64, the only output key, for NumPy and torch outputs."""
    out = pixelprep.ImageGPTImageProcessor.from_dict(config, backend=backend)(rgb_images[:3], return_tensors=return_tensors)
    assert set(out) == {"input_ids"}
    ids = out["input_ids"]
    assert tuple(ids.shape) == (3, SIDE * SIDE)
    assert ids.dtype == (torch.int64 if return_tensors == "pt" else np.int64)


@pytest.mark.parametrize("backend", BACKENDS)
def test_decode_ids_gives_cluster_colours(backend: str, clusters: np.ndarray, config: dict, rgb_images: list) -> None:
    """decode_ids maps ids to uint8 HxWx3 images of the clusters' colours, from NumPy or torch ids."""
    processor = pixelprep.ImageGPTImageProcessor.from_dict(config, backend=backend)
    ids = processor(rgb_images, return_tensors="np")["input_ids"]
    expected = np.rint(127.5 * (clusters[ids] + 1.0)).reshape(len(ids), SIDE, SIDE, 3)
    for decoded in (processor.decode_ids(ids), processor.decode_ids(torch.from_numpy(ids))):
        assert len(decoded) == len(ids)
        for image, reference in zip(decoded, expected):
            assert image.dtype == np.uint8 and image.shape == (SIDE, SIDE, 3)
            np.testing.assert_array_equal(image, reference)
    single = processor.decode_ids(ids[0])
    assert len(single) == 1
    np.testing.assert_array_equal(single[0], expected[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_decode_ids_reconstructs_the_downsized_input(backend: str, config: dict, rgb_images: list) -> None:
    """Decoded ids look like the 32x32 input: far closer to it than the same colours in shuffled positions."""
    processor = pixelprep.ImageGPTImageProcessor.from_dict(config, backend=backend)
    pixels = processor(rgb_images, do_color_quantize=False, return_tensors="np")["pixel_values"]
    downsized = np.rint((np.moveaxis(pixels, 1, -1) + 1.0) * 127.5)
    ids = processor(rgb_images, return_tensors="np")["input_ids"]
    error = np.abs(np.stack(processor.decode_ids(ids)).astype(np.float64) - downsized).mean()
    shuffled_ids = np.random.default_rng(0).permutation(ids.ravel()).reshape(ids.shape)
    shuffled_error = np.abs(np.stack(processor.decode_ids(shuffled_ids)).astype(np.float64) - downsized).mean()
    # 512 random clusters leave a nearest colour about 10 levels away on average
    assert error < 16, f"[{backend}] mean |decoded - input| = {error:.2f} levels"
    assert error < shuffled_error / 3, f"[{backend}] decoded error {error:.2f} vs shuffled {shuffled_error:.2f}"
