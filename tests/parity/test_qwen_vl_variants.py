"""Families declared on Qwen2-VL (HunYuan-VL, VideoLLaMA3, PaddleOCR-VL, ERNIE-4.5-VL-MoE): parity with transformers 5.23.

Every output key, both backends, against transformers' class of the same backend, on every fixture,
mixed batches, nested samples and each family's call-time options; plus the token-count helper, our
errors where transformers fails deep inside, name resolution, print(processor) and the runner.
Ours reads the fixture files itself; transformers gets them decoded (EXIF applied) and, for 16-bit
images, scaled to 8 bits by value as pixelprep documents. All four convert to RGB on both sides.
"""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

import numpy as np
import pytest
import torch
import transformers

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.errors import UnknownArgumentError
from pixelprep.runner import read_row, run_job

BACKENDS = ("torchvision", "pil")
ATOL = 1e-5
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]
FAMILIES = ("HunYuanVLImageProcessor", "VideoLlama3ImageProcessor", "PaddleOCRVLImageProcessor", "Ernie4_5_VLMoeImageProcessor")
MERGE_SIZES = {"VideoLlama3ImageProcessor": "image_merge_sizes"}
#: call-time options per family (the budget, patch settings, normalisation, filter, and each family's own)
PIXEL_OPTIONS = [{"max_pixels": 300_000}, {"min_pixels": 600_000}]
CALLS: dict[str, list[dict[str, Any]]] = {
    "HunYuanVLImageProcessor": [*PIXEL_OPTIONS, {"patch_size": 14, "merge_size": 2}, {"resample": 2}],
    "VideoLlama3ImageProcessor": [*PIXEL_OPTIONS, {"merge_size": 2}, {"temporal_patch_size": 2}],
    "PaddleOCRVLImageProcessor": [*PIXEL_OPTIONS, {"patch_size": 16, "merge_size": 1}, {"temporal_patch_size": 2}],
    "Ernie4_5_VLMoeImageProcessor": [{"temporal_patch_size": 2}, {"patch_size": 16, "merge_size": 1}],
}
COMMON_CALLS = [{}, {"size": {"shortest_edge": 50_000, "longest_edge": 200_000}}, {"do_normalize": False}, {"resample": 1}]
#: the patch block a do_resize=False image must be made of, per family
BLOCKS = {"HunYuanVLImageProcessor": 32, "VideoLlama3ImageProcessor": 14, "PaddleOCRVLImageProcessor": 14, "Ernie4_5_VLMoeImageProcessor": 28}


def _pair(family: str, backend: str, **config: Any) -> tuple[Any, Any]:
    theirs = getattr(transformers, family + ("Pil" if backend == "pil" else ""))(**config)
    return getattr(pixelprep, family)(backend=backend, **config), theirs


def _reference(image, to_eight_bit):
    return to_eight_bit(image) if image.mode.startswith("I") else image


def _keys(family: str) -> set[str]:
    return {"pixel_values", "image_grid_thw", *([MERGE_SIZES[family]] if family in MERGE_SIZES else [])}


def _compare_outputs(family: str, got: Any, expected: Any, compare, to_numpy, what: str) -> None:
    assert set(got) == set(expected) == _keys(family), f"{what}: output keys {sorted(got)}"
    for key in _keys(family) - {"pixel_values"}:
        assert np.array_equal(to_numpy(got[key]), to_numpy(expected[key])), f"{what}: {key}"
        assert to_numpy(got[key]).dtype == np.int64, f"{what}: {key} dtype"
    compare(to_numpy(got["pixel_values"])[None], to_numpy(expected["pixel_values"])[None], atol=ATOL, what=what)


def _call(processor: Any, images: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers' deprecation of call-time min/max_pixels
        return processor(images, **kwargs)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_fixture_image(family: str, backend: str, image_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1x1, 1200x90, the large photo): every output."""
    ours, theirs = _pair(family, backend)
    expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    got = ours(str(image_path), return_tensors="np")
    _compare_outputs(family, got, expected, compare, to_numpy, f"{family} [{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("family", "call"), [(f, c) for f in FAMILIES for c in COMMON_CALLS + CALLS[f]], ids=repr)
def test_mixed_batch_and_call_time_options(family: str, call: dict, backend: str, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of five sizes (7x5 and 1200x90 included) with each family's call-time options."""
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in MIXED]
    ours, theirs = _pair(family, backend)
    expected = _call(theirs, images, return_tensors="np", **call)
    got = _call(ours, [str(fixture_path(name)) for name in MIXED], return_tensors="np", **call)
    _compare_outputs(family, got, expected, compare, to_numpy, f"{family} [{backend}] {call}")


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_arrays_and_return_types(family: str, backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]] (flattened by both), a uint8 array, a CHW tensor; return_tensors None/"pt" give transformers' types."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["tall_rgb_90x1200.jpg"]]
    nested = [[load_image(fixture_path(n)) for n in sample] for sample in names]
    ours, theirs = _pair(family, backend)
    _compare_outputs(family, ours(nested, return_tensors="np"), theirs(nested, return_tensors="np"), compare, to_numpy, f"{family} [{backend}] nested")
    image = np.asarray(load_image(fixture_path("photo_rgb_333x517.jpg")))
    for value in (image, torch.from_numpy(image.copy()).permute(2, 0, 1)):
        _compare_outputs(family, ours(value, return_tensors="np"), theirs(value, return_tensors="np"), compare, to_numpy, f"{family} [{backend}] {type(value)}")
    for tensors in (None, "pt"):
        got, expected = ours(image, return_tensors=tensors), theirs(image, return_tensors=tensors)
        for key in expected:
            assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, f"{family} [{backend}] {tensors} {key}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_construction_settings_and_saved_config(backend: str, fixture_path, load_image, compare, to_numpy, tmp_path) -> None:
    """Settings given at construction (min/max_pixels folded into size where the family takes them); saved configs load in both."""
    images = [load_image(fixture_path(n)) for n in MIXED[:3]]
    configs = {
        "HunYuanVLImageProcessor": {"min_pixels": 100_000, "max_pixels": 500_000},
        "VideoLlama3ImageProcessor": {"max_pixels": 300_000, "merge_size": 2},
        "PaddleOCRVLImageProcessor": {"min_pixels": 147_384, "max_pixels": 400_000, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
        "Ernie4_5_VLMoeImageProcessor": {"size": {"shortest_edge": 3136, "longest_edge": 300_000}, "patch_size": 16},
    }
    for family, config in configs.items():
        ours, theirs = _pair(family, backend, **config)
        _compare_outputs(family, ours(images, return_tensors="np"), theirs(images, return_tensors="np"), compare, to_numpy, f"{family} [{backend}] {config}")
        folder = tmp_path / family
        ours.save_pretrained(folder)
        loaded = transformers.AutoImageProcessor.from_pretrained(str(folder), backend=backend)
        assert type(loaded) is type(theirs)
        again = pixelprep.AutoImageProcessor.from_pretrained(str(folder), backend=backend)
        _compare_outputs(family, again(images, return_tensors="np"), loaded(images, return_tensors="np"), compare, to_numpy, f"{family} [{backend}] saved")


def test_number_of_image_patches_matches_transformers() -> None:
    """get_number_of_image_patches agrees with transformers for many sizes and images_kwargs, and with the real output."""
    rng = np.random.default_rng(0)
    sizes = [(1, 1), (5, 7), (2, 600), (28, 28), (427, 640), (2200, 1700), (3024, 4032), (90, 1200), (1, 200), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(150)]
    kwargs_list = [None, {"min_pixels": 100_000}, {"max_pixels": 500_000}, {"patch_size": 16, "merge_size": 2}, {"do_resize": False, "other": 1}]
    for family in FAMILIES:
        ours, theirs = _pair(family, "pil")
        for height, width in sizes:
            for kwargs in kwargs_list:
                try:
                    expected = theirs.get_number_of_image_patches(height, width, kwargs)
                except ValueError:  # aspect ratio over 200
                    with pytest.raises(InvalidImageError, match="aspect ratio"):
                        ours.get_number_of_image_patches(height, width, kwargs)
                    continue
                assert ours.get_number_of_image_patches(height, width, kwargs) == expected, (family, height, width, kwargs)
        image = np.zeros((333, 517, 3), np.uint8)
        grid = ours(image, return_tensors="np")["image_grid_thw"][0]
        count = ours.get_number_of_image_patches(333, 517)
        assert (count == (grid[1], grid[2])) if family == "HunYuanVLImageProcessor" else (count == grid[1] * grid[2]), family


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_our_errors(family: str, backend: str) -> None:
    """Where transformers raises a ValueError or a reshape error from deep inside, ours names the image and the limit."""
    ours, theirs = _pair(family, backend)
    with pytest.raises(InvalidImageError, match=r"30x7000 .*aspect ratio of 233.3.*over the limit of 200"):
        ours(np.zeros((30, 7000, 3), np.uint8))
    block = BLOCKS[family]
    odd = np.zeros((block + 2, 2 * block, 3), np.uint8)
    with pytest.raises(InvalidImageError, match=rf"image 1 is {block + 2}x{2 * block}, .*{block}x{block}-pixel blocks"):
        ours([np.zeros((block, block, 3), np.uint8), odd], do_resize=False)
    with pytest.raises(Exception):  # transformers fails inside its patch reshape
        theirs(odd, do_resize=False)
    with pytest.raises(InvalidArgumentError, match="shortest_edge' and 'longest_edge"):
        ours(np.zeros((56, 56, 3), np.uint8), size={"height": 56, "width": 56})
    with pytest.raises(InvalidArgumentError, match="merge_size must be a positive integer"):
        ours(np.zeros((56, 56, 3), np.uint8), merge_size=0)
    # whole blocks need no resize: the same output as transformers with do_resize=False
    image = (np.arange(4 * block * 6 * block * 3) % 251).astype(np.uint8).reshape(4 * block, 6 * block, 3)
    got, expected = ours(image, do_resize=False, return_tensors="np"), theirs(image, do_resize=False, return_tensors="np")
    assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
    assert np.array_equal(got["image_grid_thw"], expected["image_grid_thw"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_patchify_matches_transformers(family: str, backend: str) -> None:
    ours, theirs = _pair(family, backend)
    image = np.random.default_rng(0).random((3, 56, 84)).astype(np.float32)
    given = torch.from_numpy(np.stack([image, image[:, ::-1].copy()])) if backend == "torchvision" else image
    for sizes in ((14, 2, 2), (7, 4, 1), (14, 1, 1)):
        mine, reference = ours.patchify(given, *sizes), theirs.patchify(given, *sizes)
        assert type(mine[0]) is type(reference[0]) and tuple(mine[0].shape) == tuple(reference[0].shape), (family, sizes)
        assert np.abs(np.asarray(mine[0], dtype=np.float64) - np.asarray(reference[0], dtype=np.float64)).max() <= 1e-6
        assert mine[1:] == reference[1:]


def test_hunyuan_resizes_bicubic_whatever_resample_says() -> None:
    """transformers' HunYuan-VL resize ignores ``resample``: a call with nearest gives the bicubic output, in print too."""
    for backend in BACKENDS:
        ours, theirs = _pair("HunYuanVLImageProcessor", backend)
        image = (np.arange(300 * 500 * 3) % 253).astype(np.uint8).reshape(300, 500, 3)
        nearest = ours(image, resample=0, return_tensors="np")
        assert np.array_equal(nearest["pixel_values"], ours(image, return_tensors="np")["pixel_values"])
        assert np.abs(nearest["pixel_values"] - theirs(image, resample=0, return_tensors="np")["pixel_values"]).max() <= ATOL
    text = repr(pixelprep.HunYuanVLImageProcessor(resample=0))
    assert "bicubic" in text and "rows in plain row-major order" in text and "16x16 patches" in text


def test_ernie_takes_no_pixel_keywords() -> None:
    """ERNIE keeps a config file's min/max_pixels without reading them (as transformers); a call with them is our error."""
    config = {"min_pixels": 500_000, "max_pixels": 600_000}
    ours = pixelprep.AutoImageProcessor.from_config({"image_processor_type": "Ernie4_5_VLMoeImageProcessor", **config}, backend="pil")
    theirs = transformers.Ernie4_5_VLMoeImageProcessorPil(**config)
    image = np.zeros((300, 500, 3), np.uint8)
    assert np.array_equal(ours(image)["image_grid_thw"], theirs(image)["image_grid_thw"])
    assert ours.to_dict()["min_pixels"] == 500_000 and ours.size == {"shortest_edge": 3136, "longest_edge": 4842768}
    with pytest.raises(UnknownArgumentError, match="min_pixels"):
        ours(image, min_pixels=100_000)
    with pytest.raises(UnknownArgumentError, match="max_pixels"):
        pixelprep.Ernie4_5_VLMoeImageProcessor(max_pixels=100_000)
    with pytest.raises(TypeError):
        theirs(image, min_pixels=100_000)


def test_video_llama3_merge_sizes_follow_the_call() -> None:
    ours = pixelprep.VideoLlama3ImageProcessor(backend="pil")
    images = [np.zeros((300, 500, 3), np.uint8), np.zeros((90, 120, 3), np.uint8)]
    assert ours(images, merge_size=2, return_tensors="np")["image_merge_sizes"].tolist() == [2, 2]
    assert "image_merge_sizes (merge_size per image)" in repr(ours)


def test_paddleocr_enlarges_thin_images_first() -> None:
    """A 2x600 image is brought to 28 high before smart_resize (transformers too); once enlarged, the aspect limit still applies."""
    for backend in BACKENDS:
        ours, theirs = _pair("PaddleOCRVLImageProcessor", backend)
        image = (np.arange(5 * 600 * 3) % 255).astype(np.uint8).reshape(5, 600, 3)
        got, expected = ours(image, return_tensors="np"), theirs(image, return_tensors="np")
        assert np.array_equal(got["image_grid_thw"], expected["image_grid_thw"])
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL
        with pytest.raises(InvalidImageError, match=r"2x600 .*aspect ratio of 300.0 once enlarged to 28x8400, over the limit of 200"):
            ours(np.zeros((2, 600, 3), np.uint8))
    text = repr(pixelprep.PaddleOCRVLImageProcessor())
    assert "sides under 28 enlarged first" in text and "(patches, C*T, p, p)" in text


@pytest.mark.parametrize(
    ("name", "model_type", "family"),
    [("HunYuanVLImageProcessorFast", None, "HunYuanVLImageProcessor"), ("HunYuanVLImageProcessorPil", None, "HunYuanVLImageProcessor"),
     ("VideoLlama3ImageProcessorPil", None, "VideoLlama3ImageProcessor"), ("PaddleOCRVLImageProcessorFast", None, "PaddleOCRVLImageProcessor"),
     ("Ernie4_5_VLMoeImageProcessorPil", None, "Ernie4_5_VLMoeImageProcessor"), ("Ernie4_5_VL_MoeImageProcessor", None, "Ernie4_5_VLMoeImageProcessor"),
     (None, "hunyuan_vl", "HunYuanVLImageProcessor"), (None, "video_llama_3", "VideoLlama3ImageProcessor"),
     (None, "paddleocr_vl", "PaddleOCRVLImageProcessor"), (None, "ernie4_5_vl_moe", "Ernie4_5_VLMoeImageProcessor")],
)
def test_resolves_by_class_name_and_model_type(name, model_type, family) -> None:
    config: dict[str, Any] = {"patch_size": 14}
    config.update({"image_processor_type": name} if name else {"model_type": model_type})
    assert type(pixelprep.AutoImageProcessor.from_config(config)) is getattr(pixelprep, family)


def test_model_types_are_the_ones_transformers_maps() -> None:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    for family in FAMILIES:
        theirs = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == family}
        assert set(getattr(pixelprep, family).model_types) == theirs, family


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(tmp_path, family: str, backend: str, fixture_path) -> None:
    processor = getattr(pixelprep, family)(backend=backend, size={"shortest_edge": 3136, "longest_edge": 120_000})
    names = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png", "photo_rgb_333x517.jpg"]
    result = run_job(processor, [str(fixture_path(n)) for n in names], str(tmp_path), shard_size=4, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 5)
    for entry in map(json.loads, (tmp_path / "manifest.jsonl").read_text().splitlines()):
        alone, row = processor(entry["source"], return_tensors="np"), read_row(tmp_path, entry)
        assert row.keys() == _keys(family)
        for key in row:
            np.testing.assert_array_equal(row[key], alone[key])
