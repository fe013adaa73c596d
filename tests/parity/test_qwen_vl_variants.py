"""Families declared on Qwen2-VL and GLM-4.1V: parity with transformers 5.23, both backends, same-backend classes.

HunYuan-VL, VideoLLaMA3, PaddleOCR-VL and ERNIE-4.5-VL-MoE (on Qwen2-VL); Glmga, GLM-Image and
Glm5Next (on GLM-4.1V). Every output key against transformers' class of the same backend, on every
fixture, mixed batches, nested samples and each family's call-time options; plus the token-count
helper, our errors where transformers fails deep inside, name resolution, print(processor) and the
runner. Ours reads the fixture files itself; transformers gets them decoded (EXIF applied) and, for
16-bit images, scaled to 8 bits by value as pixelprep documents. All seven convert to RGB.
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
QWEN_LIKE = ("HunYuanVLImageProcessor", "VideoLlama3ImageProcessor", "PaddleOCRVLImageProcessor", "Ernie4_5_VLMoeImageProcessor")
GLM_LIKE = ("GlmgaImageProcessor", "GlmImageImageProcessor", "Glm5NextImageProcessor")
FAMILIES = QWEN_LIKE + GLM_LIKE
MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tiny_rgb_7x5.png", "wide_rgb_1200x90.jpg", "gray_l_200x131.png"]
#: GLM-Image refuses sides under 28 and aspect ratios over 4: its batch is of images it takes
GLM_IMAGE_MIXED = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "gray_l_200x131.png", "cmyk_photo_320x213.jpg", "photo_rgb_1023x768.jpg"]
MERGE_SIZES = {"VideoLlama3ImageProcessor": "image_merge_sizes"}
#: call-time options per family (the budget, patch settings, normalisation, filter, and each family's own)
PIXEL_OPTIONS = [{"max_pixels": 300_000}, {"min_pixels": 600_000}]
SHARED_CALLS = [{}, {"do_normalize": False}, {"resample": 1}]
QWEN_CALLS = [*SHARED_CALLS, {"size": {"shortest_edge": 50_000, "longest_edge": 200_000}}]
GLM_CALLS = [*SHARED_CALLS, {"patch_size": 16, "merge_size": 2}, {"temporal_patch_size": 1}]
CALLS: dict[str, list[dict[str, Any]]] = {
    "HunYuanVLImageProcessor": [*QWEN_CALLS, *PIXEL_OPTIONS, {"patch_size": 14, "merge_size": 2}, {"resample": 2}],
    "VideoLlama3ImageProcessor": [*QWEN_CALLS, *PIXEL_OPTIONS, {"merge_size": 2}, {"temporal_patch_size": 2}],
    "PaddleOCRVLImageProcessor": [*QWEN_CALLS, *PIXEL_OPTIONS, {"patch_size": 16, "merge_size": 1}, {"temporal_patch_size": 2}],
    "Ernie4_5_VLMoeImageProcessor": [*QWEN_CALLS, {"temporal_patch_size": 2}, {"patch_size": 16, "merge_size": 1}],
    "GlmgaImageProcessor": [*GLM_CALLS, {"size": {"shortest_edge": 12544, "longest_edge": 200_000}}, {"merge_size": 1, "temporal_patch_size": 1}],
    "GlmImageImageProcessor": [*GLM_CALLS, {"min_pixels": 400_000}, {"max_pixels": 200_000}, {"size": {"shortest_edge": 3136, "longest_edge": 150_000}}],
    "Glm5NextImageProcessor": [*GLM_CALLS, {"min_image_tokens": 500, "max_image_tokens": 900}, {"max_image_tokens": 40},
                               {"min_image_tokens": 2000, "max_image_tokens": 9000}],
}
#: the patch block a do_resize=False image must be made of, per family
BLOCKS = {"HunYuanVLImageProcessor": 32, "VideoLlama3ImageProcessor": 14, "PaddleOCRVLImageProcessor": 14}


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
    """Every fixture (EXIF, gray, RGBA, palette, CMYK, 16-bit, 7x5, 1x1, 1200x90, the large photo): every output;
    where transformers refuses the image (GLM-Image: a small side, the aspect ratio), ours raises our error."""
    ours, theirs = _pair(family, backend)
    try:
        expected = theirs(_reference(load_image(image_path), to_eight_bit), return_tensors="np")
    except ValueError as error:
        assert family == "GlmImageImageProcessor", error
        with pytest.raises(InvalidImageError, match="under 28 pixels|over the limit of 4"):
            ours(str(image_path))
        return
    got = ours(str(image_path), return_tensors="np")
    _compare_outputs(family, got, expected, compare, to_numpy, f"{family} [{backend}] {image_path.name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("family", "call"), [(f, c) for f in FAMILIES for c in CALLS[f]], ids=repr)
def test_mixed_batch_and_call_time_options(family: str, call: dict, backend: str, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """A batch of five sizes (7x5 and 1200x90 included where the family takes them) with each family's call-time options."""
    names = GLM_IMAGE_MIXED if family == "GlmImageImageProcessor" else MIXED
    images = [_reference(load_image(fixture_path(name)), to_eight_bit) for name in names]
    ours, theirs = _pair(family, backend)
    expected = _call(theirs, images, return_tensors="np", **call)
    got = _call(ours, [str(fixture_path(name)) for name in names], return_tensors="np", **call)
    _compare_outputs(family, got, expected, compare, to_numpy, f"{family} [{backend}] {call}")


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_inputs_arrays_and_return_types(family: str, backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """[[a, b], [c]] (flattened by both), a uint8 array, a CHW tensor; return_tensors None/"pt" give transformers' types."""
    names = [["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg"], ["photo_rgb_301x200.png"]]
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
    images = [load_image(fixture_path(n)) for n in GLM_IMAGE_MIXED[:3]]
    configs = {
        "HunYuanVLImageProcessor": {"min_pixels": 100_000, "max_pixels": 500_000},
        "VideoLlama3ImageProcessor": {"max_pixels": 300_000, "merge_size": 2},
        "PaddleOCRVLImageProcessor": {"min_pixels": 147_384, "max_pixels": 400_000, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
        "Ernie4_5_VLMoeImageProcessor": {"size": {"shortest_edge": 3136, "longest_edge": 300_000}, "patch_size": 16},
        "GlmgaImageProcessor": {"size": {"shortest_edge": 12544, "longest_edge": 400_000}, "image_mean": [0.5, 0.5, 0.5]},
        "GlmImageImageProcessor": {"min_pixels": 300_000, "max_pixels": 700_000, "patch_size": 16},
        "Glm5NextImageProcessor": {"min_image_tokens": 64, "max_image_tokens": 1000},
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
    sizes = [(1, 1), (5, 7), (2, 600), (28, 28), (29, 112), (427, 640), (2200, 1700), (3024, 4032), (90, 1200), (1, 200), (10_000, 60)]
    sizes += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(150)]
    qwen_kwargs = [{"min_pixels": 100_000}, {"max_pixels": 500_000}, {"patch_size": 16, "merge_size": 2}]
    kwargs_lists = {
        **{family: qwen_kwargs for family in QWEN_LIKE},
        "GlmgaImageProcessor": [{"size": {"shortest_edge": 100_000, "longest_edge": 400_000}}, {"patch_size": 16}],
        "GlmImageImageProcessor": qwen_kwargs,
        "Glm5NextImageProcessor": [{"min_image_tokens": 500, "max_image_tokens": 900}, {"max_image_tokens": 3}, {"patch_size": 16}],
    }
    for family, kwargs_list in kwargs_lists.items():
        ours, theirs = _pair(family, "pil")
        for height, width in sizes:
            for kwargs in [None, *kwargs_list, {"do_resize": False, "other": 1}]:
                try:
                    expected = theirs.get_number_of_image_patches(height, width, kwargs)
                except ValueError:  # aspect ratio over the limit, or (GLM-Image) a side under the factor
                    with pytest.raises(InvalidImageError, match="aspect ratio|side under"):
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
    if family not in ("GlmImageImageProcessor", "Glm5NextImageProcessor"):  # GLM-Image's limit is 4 (below); Glm5Next has none
        with pytest.raises(InvalidImageError, match=r"30x7000 .*aspect ratio of 233.3.*over the limit of 200"):
            ours(np.zeros((30, 7000, 3), np.uint8))
    block = BLOCKS.get(family, 28)
    odd = np.zeros((block + 2, 2 * block, 3), np.uint8)
    with pytest.raises(InvalidImageError, match=rf"image 1 is {block + 2}x{2 * block}, .*{block}x{block}-pixel blocks"):
        ours([np.zeros((block, block, 3), np.uint8), odd], do_resize=False)
    with pytest.raises(Exception):  # transformers fails inside its patch reshape
        theirs(odd, do_resize=False)
    if family != "Glm5NextImageProcessor":  # which does not read size
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
    assert "image_merge_sizes: merge_size (1) once per image" in repr(ours)


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


@pytest.mark.parametrize("family", ["GlmgaImageProcessor", "Glm5NextImageProcessor"])
def test_patch_expand_factor_follows_the_torchvision_class(family: str) -> None:
    """transformers' torchvision class resizes to multiples of patch x merge x patch_expand_factor; its pil class ignores
    the factor. Ours applies it on both backends (README), so both give the torchvision class's grid."""
    image = (np.arange(333 * 517 * 3) % 251).astype(np.uint8).reshape(333, 517, 3)
    reference = getattr(transformers, family)(patch_expand_factor=2)(image, return_tensors="np")
    for backend in BACKENDS:
        ours = getattr(pixelprep, family)(backend=backend, patch_expand_factor=2)
        got = ours(image, return_tensors="np")
        assert np.array_equal(got["image_grid_thw"], reference["image_grid_thw"]), backend
        assert all(side % 4 == 0 for side in got["image_grid_thw"][0][1:])
        assert ours.get_number_of_image_patches(333, 517) == got["pixel_values"].shape[0]
        if backend == "torchvision":
            assert np.abs(got["pixel_values"] - reference["pixel_values"]).max() <= ATOL
    assert "multiples of 56" in repr(getattr(pixelprep, family)(patch_expand_factor=2))


@pytest.mark.parametrize("backend", BACKENDS)
def test_glm_image_limits_and_glm5_next_settings(backend: str) -> None:
    """GLM-Image refuses sides under 28 and aspect ratios over 4 naming the image; Glm5Next checks its token budget."""
    glm_image = pixelprep.GlmImageImageProcessor(backend=backend)
    with pytest.raises(InvalidImageError, match=r"100x500 has an aspect ratio of 5.0, over the limit of 4"):
        glm_image([np.zeros((300, 300, 3), np.uint8), np.zeros((100, 500, 3), np.uint8)])
    with pytest.raises(InvalidImageError, match=r"20x60 has a side under 28 pixels"):
        glm_image(np.zeros((20, 60, 3), np.uint8))
    with pytest.raises(InvalidArgumentError, match="max_image_tokens must be a positive integer"):
        pixelprep.Glm5NextImageProcessor(max_image_tokens=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_glm5_next_thin_and_tiny_images_are_padded_like_transformers(backend: str) -> None:
    """Glm5Next has no aspect limit: a 2x3000 strip and a 3x3 image are fitted into their canvases and zero-padded."""
    ours, theirs = _pair("Glm5NextImageProcessor", backend)
    for shape in ((2, 3000, 3), (3, 3, 3), (3000, 40, 3)):
        image = (np.arange(np.prod(shape)) % 249).astype(np.uint8).reshape(shape)
        got, expected = ours(image, return_tensors="np"), theirs(image, return_tensors="np")
        assert np.array_equal(got["image_grid_thw"], expected["image_grid_thw"]), shape
        assert np.abs(got["pixel_values"] - expected["pixel_values"]).max() <= ATOL, shape


def test_repr_shows_each_rule_and_the_patch_grid() -> None:
    text = repr(pixelprep.GlmImageImageProcessor(backend="pil"))
    assert "half of the image scaled to a short side of at least 56 and a long side of at most 1002" in text and "GLM-Image" in text
    text = repr(pixelprep.Glm5NextImageProcessor(backend="pil"))
    assert "canvas of multiples of 28 holding 16..8000 tokens of 2 frames x 28x28 pixels" in text and "pad bottom/right with 0" in text
    text = repr(pixelprep.GlmgaImageProcessor(backend="pil"))
    assert "multiples of 28, 2 frames x 12544..11760000 pixels" in text
    for family in GLM_LIKE:
        text = repr(getattr(pixelprep, family)())
        assert "14x14 patches in 2x2 blocks, each repeated over 2 frames" in text and "image_grid_thw" in text
    assert "14x14 patches, vectors (C, T, p, p)" in repr(pixelprep.VideoLlama3ImageProcessor())


@pytest.mark.parametrize("family", FAMILIES)
def test_resolves_by_every_name_and_model_type_transformers_maps(family: str) -> None:
    """Its class names (plain, Fast, Pil, deprecated spellings) and exactly the model types transformers maps to it."""
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    model_types = {model_type for model_type, classes in IMAGE_PROCESSOR_MAPPING_NAMES.items() if classes.get("torchvision") == family}
    assert set(getattr(pixelprep, family).model_types) == model_types and model_types
    names = [family, family + "Fast", family + "Pil", *(["Ernie4_5_VL_MoeImageProcessor"] if family.startswith("Ernie") else [])]
    for given in [{"image_processor_type": name} for name in names] + [{"model_type": model_type} for model_type in model_types]:
        assert type(pixelprep.AutoImageProcessor.from_config({"patch_size": 14, **given})) is getattr(pixelprep, family), given


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_runner_rows_equal_each_image_alone(tmp_path, family: str, backend: str, fixture_path) -> None:
    budget = {"max_image_tokens": 160} if family == "Glm5NextImageProcessor" else {"size": {"shortest_edge": 3136, "longest_edge": 120_000}}
    processor = getattr(pixelprep, family)(backend=backend, **budget)
    names = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png", "photo_rgb_333x517.jpg"]
    if family == "GlmImageImageProcessor":  # which refuses the thin and the tiny image
        names[1:3] = ["photo_rgb_301x200.png", "cmyk_photo_320x213.jpg"]
    result = run_job(processor, [str(fixture_path(n)) for n in names], str(tmp_path), shard_size=4, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (0, 5)
    for entry in map(json.loads, (tmp_path / "manifest.jsonl").read_text().splitlines()):
        alone, row = processor(entry["source"], return_tensors="np"), read_row(tmp_path, entry)
        assert row.keys() == _keys(family)
        for key in row:
            np.testing.assert_array_equal(row[key], alone[key])
