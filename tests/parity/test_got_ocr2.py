"""GOT-OCR2 / InternVL (and Cohere2-Vision) parity with transformers 5.23: every output key, both backends, against the class of the same backend.

Cohere2-Vision has only a torchvision class in transformers: its pil backend is compared with that
(they share every step but the resize, so only the tile grid and counts are compared exactly there).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import transformers

import pixelprep
from multiview_checks import (
    assert_outputs_match_transformers,
    assert_return_types_and_array_inputs,
    assert_runner_rows_equal_each_image_alone,
    assert_views_and_counts_equal,
    ramp_image,
    saved_and_reloaded,
)
from pixelprep import InvalidArgumentError
from pixelprep.errors import OutputShapeError

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
INTERNVL = {"size": {"height": 448, "width": 448}, "crop_to_patches": True, "max_patches": 12, "image_mean": [0.485, 0.456, 0.406],
            "image_std": [0.229, 0.224, 0.225]}
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]


def _theirs(backend: str, family: str = "GotOcr2ImageProcessor", **config: Any) -> Any:
    return getattr(transformers, family + ("Pil" if backend == "pil" else ""))(**config)


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _compare(got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert_views_and_counts_equal(got, expected, "num_patches", compare, to_numpy, ATOL, what)


@pytest.mark.parametrize("config", [{}, INTERNVL], ids=["got_ocr2", "internvl"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(config: dict, backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1200x90, large), GOT-OCR2's defaults and InternVL's tiles."""
    ours, theirs = pixelprep.GotOcr2ImageProcessor(backend=backend, **config), _theirs(backend, **config)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    _compare(ours(str(image_path), return_tensors="np"), expected, compare, to_numpy, f"[{backend}] {image_path.name}")


CALLS = [{}, {"crop_to_patches": False}, {"max_patches": 4}, {"min_patches": 3, "max_patches": 6}, {"max_patches": 1},
         {"size": {"height": 224, "width": 336}}, {"do_resize": False, "crop_to_patches": True}, {"do_normalize": False, "resample": 2}]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of five sizes with the crop_to_patches options at call time: tiles, thumbnail last, num_patches."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = pixelprep.GotOcr2ImageProcessor(backend=backend, **INTERNVL), _theirs(backend, **INTERNVL)
    expected = theirs(images, return_tensors="np", **call)
    got = ours([str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare(got, expected, compare, to_numpy, f"[{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]]: views of every image stacked in order, num_patches per image."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    images = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = pixelprep.GotOcr2ImageProcessor(backend=backend, **INTERNVL), _theirs(backend, **INTERNVL)
    got = ours(images, return_tensors="np")
    _compare(got, theirs(images, return_tensors="np"), compare, to_numpy, f"[{backend}] nested")
    assert len(got["num_patches"]) == 3 and got["pixel_values"].shape[0] == got["num_patches"].sum()


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_types_and_arrays(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    image = np.asarray(load_image(fixture_path("photo_rgb_640x427.jpg")))
    ours, theirs = pixelprep.GotOcr2ImageProcessor(backend=backend, **INTERNVL), _theirs(backend, **INTERNVL)
    # types with "pt" only: with return_tensors=None transformers' class gives lists
    assert_return_types_and_array_inputs(
        ours, theirs, image, lambda got, expected, what: _compare(got, expected, compare, to_numpy, what), f"[{backend}]", return_tensors=("pt",)
    )


@pytest.mark.parametrize("config", [{}, {"min_patches": 1, "max_patches": 12}], ids=["cohere_default", "explicit"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_cohere2_vision(config: dict, backend: str, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Cohere2-Vision: 512 tiles in the least-upscaling grid; transformers has only the torchvision class."""
    names = MIXED + ["photo_rgb_1023x768.jpg", "rgba_alpha_radial_256x192.png", "gray16_i16_301x203.png"]
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in names]
    ours, theirs = pixelprep.Cohere2VisionImageProcessor(backend=backend, **config), _theirs("torchvision", "Cohere2VisionImageProcessor", **config)
    for call in ({}, {"max_patches": 3}, {"crop_to_patches": False}):
        expected = theirs(images, return_tensors="np", **call)
        got = ours([str(fixture_path(name)) for name in names], return_tensors="np", **call)
        if backend == "torchvision":
            _compare(got, expected, compare, to_numpy, f"[{backend}] cohere2 {call}")
        else:  # Pillow's bicubic against torchvision's: a few levels apart, same views
            assert np.array_equal(got["num_patches"], expected["num_patches"]) and got["pixel_values"].shape == expected["pixel_values"].shape
            assert np.abs(got["pixel_values"] - expected["pixel_values"]).mean() < 0.02
        for (height, width), count in zip([np.asarray(load_image(fixture_path(n))).shape[:2] for n in names], got["num_patches"]):
            assert ours.get_number_of_image_patches(height, width, call) == theirs.get_number_of_image_patches(height, width, call) == count


@pytest.mark.parametrize("family", ["GotOcr2ImageProcessor", "Cohere2VisionImageProcessor"])
def test_number_of_image_patches_matches_transformers(family: str) -> None:
    """get_number_of_image_patches agrees with transformers for many sizes and images_kwargs (patch_size is another name for size there)."""
    config = INTERNVL if family == "GotOcr2ImageProcessor" else {}
    ours, theirs = getattr(pixelprep, family)(backend="torchvision", **config), _theirs("torchvision", family, **config)
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (448, 448), (427, 640), (2200, 1700), (3024, 4032), (90, 1200), (1, 5000), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(200)]
    kwargs_list = [None, {"max_patches": 6}, {"min_patches": 4, "max_patches": 8}, {"crop_to_patches": False}, {"max_patches": 1},
                   {"patch_size": {"height": 224, "width": 224}, "other": 1}]
    for height, width in sizes:
        for kwargs in kwargs_list:
            assert ours.get_number_of_image_patches(height, width, kwargs) == theirs.get_number_of_image_patches(height, width, kwargs), (height, width, kwargs)
    image = np.zeros((333, 517, 3), np.uint8)
    assert ours(image)["pixel_values"].shape[0] == ours.get_number_of_image_patches(333, 517)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(backend: str) -> None:
    ours = pixelprep.GotOcr2ImageProcessor(backend=backend, **INTERNVL)
    with pytest.raises(OutputShapeError, match=r"views of sizes \[\(30, 50\), \(56, 56\)\] cannot be stacked"):
        ours([np.zeros((56, 56, 3), np.uint8), np.zeros((30, 50, 3), np.uint8)], do_resize=False, crop_to_patches=False)
    with pytest.raises(InvalidArgumentError, match=r"size must give 'height' and 'width' \(the tile size\)"):
        ours(np.zeros((56, 56, 3), np.uint8), size={"shortest_edge": 448})
    with pytest.raises(InvalidArgumentError, match="max_patches must be a positive integer"):
        ours(np.zeros((56, 56, 3), np.uint8), max_patches=0)
    # an extreme aspect ratio is one column of tiles, as in transformers: a 2x5000 image makes 12 tiles and a thumbnail
    assert ours(np.zeros((2, 5000, 3), np.uint8))["num_patches"].tolist() == [13]


@pytest.mark.parametrize(
    ("config", "family"),
    [({"image_processor_type": "GotOcr2ImageProcessorFast"}, "GotOcr2ImageProcessor"), ({"image_processor_type": "GotOcr2ImageProcessorPil"}, "GotOcr2ImageProcessor"),
     ({"model_type": "internvl"}, "GotOcr2ImageProcessor"), ({"model_type": "aya_vision"}, "GotOcr2ImageProcessor"),
     ({"model_type": "qianfan_ocr"}, "GotOcr2ImageProcessor"), ({"model_type": "got_ocr2"}, "GotOcr2ImageProcessor"),
     ({"image_processor_type": "Cohere2VisionImageProcessorFast"}, "Cohere2VisionImageProcessor"), ({"model_type": "cohere2_vision"}, "Cohere2VisionImageProcessor")],
)
def test_resolves_by_class_name_and_model_type(config: dict, family: str) -> None:
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is getattr(pixelprep, family)


@pytest.mark.parametrize("family", ["GotOcr2ImageProcessor", "Cohere2VisionImageProcessor"])
def test_model_types_are_the_ones_transformers_maps(family: str) -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    theirs = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == family}
    assert set(getattr(pixelprep, family).model_types) == theirs


def test_repr_shows_the_views() -> None:
    text = repr(pixelprep.GotOcr2ImageProcessor(backend="pil", **INTERNVL))
    assert "views: 448x448 tiles, row-major, of the image resized (bicubic) to the grid of 1..12 tiles whose aspect ratio is closest" in text
    assert "a 448x448 thumbnail of the whole image" in text and "stack every view into pixel_values (views, C, H, W) + num_patches" in text
    assert "tiles" not in repr(pixelprep.GotOcr2ImageProcessor(backend="pil"))
    assert "the grid of up to 12 tiles that needs the least upscaling" in repr(pixelprep.Cohere2VisionImageProcessor(backend="pil"))


def test_saved_config_loads_in_transformers_and_back(tmp_path) -> None:
    ours = pixelprep.GotOcr2ImageProcessor(backend="pil", **INTERNVL)
    theirs, again = saved_and_reloaded(ours, tmp_path, "pil")
    assert type(theirs).__name__ == "GotOcr2ImageProcessorPil"
    assert_outputs_match_transformers((ours, again), theirs, ramp_image(300, 700), "num_patches", ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_splits_batches_and_rows_equal_each_image_alone(backend: str, tmp_path, fixture_path) -> None:
    """Views per image vary: the runner cuts the stacked batch by num_patches; read_row equals the image alone."""
    ours = pixelprep.GotOcr2ImageProcessor(backend=backend, **INTERNVL)
    assert ours.can_split_batch(ours.resolve())
    inputs = [str(fixture_path(name)) for name in ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "photo_rgb_333x517.jpg"]]
    assert_runner_rows_equal_each_image_alone(ours, inputs, tmp_path)
