"""SuperGlue, LightGlue and EfficientLoFTR against transformers 5.23's classes of the same backend.

Image pairs built from every fixture file, mixed sizes, call-time options, the list form without
resizing, and keypoint-matching post-processing on seeded random model outputs; tolerances 1e-5,
integers equal. transformers keeps gray images 1-channel (its pairs then fail to stack) and RGBA
4-channel; ours makes them RGB (README), so transformers is given the RGB images as reference.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep
from pixelprep import InvalidArgumentError, InvalidImageError
from pixelprep.runner import run_job

ATOL = 1e-5
BACKENDS = ("torchvision", "pil")
FAMILIES = ("SuperGlue", "LightGlue", "EfficientLoFTR")
PARTNER = "photo_rgb_333x517.jpg"


def _theirs(family: str, backend: str, **config) -> object:
    return getattr(transformers, f"{family}ImageProcessor" + ("Pil" if backend == "pil" else ""))(**config)


def _ours(family: str, backend: str, **config) -> pixelprep.ImageProcessor:
    return getattr(pixelprep, f"{family}ImageProcessor").from_dict(config, backend=backend)


def _reference(image, to_eight_bit):
    return convert_to_rgb(to_eight_bit(image) if image.mode.startswith("I") else image)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_every_fixture_in_a_pair_matches(family: str, backend: str, image_path, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    """Each fixture file paired with a photo (and the pair reversed): (2, 2, 3, 480, 640), equal to transformers."""
    partner = load_image(fixture_path(PARTNER))
    image = load_image(image_path)
    reference = [[_reference(image, to_eight_bit), partner], [partner, _reference(image, to_eight_bit)]]
    expected = to_numpy(_theirs(family, backend)(reference, return_tensors="np")["pixel_values"])
    got = _ours(family, backend)([[str(image_path), partner], [partner, str(image_path)]], return_tensors="np")["pixel_values"]
    assert got.shape == (2, 2, 3, 480, 640)
    compare(got, expected, atol=ATOL, what=f"{family} [{backend}] {image_path.name}")


CALLS = [
    {"return_tensors": "pt"},
    {"do_grayscale": False, "return_tensors": "np"},
    {"size": {"height": 240, "width": 320}, "resample": 3, "return_tensors": "pt"},
    {"rescale_factor": 0.5 / 255, "return_tensors": "np"},
    {"do_rescale": False, "do_grayscale": False, "return_tensors": "np"},
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", CALLS, ids=[str(sorted(c)) + str(i) for i, c in enumerate(CALLS)])
@pytest.mark.parametrize("family", FAMILIES)
def test_call_options_on_mixed_pairs(family: str, backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    names = [["photo_rgb_640x427.jpg", "gray_l_257x257.jpg"], ["tall_rgb_90x1200.jpg", "rgba_alpha_radial_256x192.png"], ["tiny_rgb_7x5.png", PARTNER]]
    images = [[convert_to_rgb(load_image(fixture_path(name))) for name in pair] for pair in names]
    expected = _theirs(family, backend)(images, **call)["pixel_values"]
    got = _ours(family, backend)(images, **call)["pixel_values"]
    assert type(got) is type(expected) and tuple(got.shape) == tuple(expected.shape)
    assert to_numpy(got).dtype == to_numpy(expected).dtype
    compare(got, to_numpy(expected), atol=ATOL, what=f"{family} [{backend}] {call}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_unresized_pairs_of_different_sizes_are_lists(backend: str, fixture_path, load_image, compare, to_numpy) -> None:
    """Without resizing each pair is a list of its two images, equal to transformers' pil class (its torchvision class cannot stack them)."""
    images = [[convert_to_rgb(load_image(fixture_path(name))) for name in ("photo_rgb_640x427.jpg", "tiny_rgb_7x5.png")]]
    got = _ours("SuperGlue", backend)(images, do_resize=False)["pixel_values"]
    expected = _theirs("SuperGlue", "pil")(images, do_resize=False)["pixel_values"]
    assert len(got) == 1 and len(got[0]) == 2
    for mine, ref in zip(got[0], expected[0]):
        compare(mine, ref, atol=ATOL, what=f"SuperGlue [{backend}] unresized")
    with pytest.raises(InvalidImageError, match="different sizes"):
        _ours("SuperGlue", backend)(images, do_resize=False, return_tensors="pt")


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (["a.png"], "list of 1 item"),
        (["a.png", "b.png", "c.png"], "list of 3 item"),
        ([["a.png", "b.png"], ["c.png"]], "pair 1 holds 1 item"),
        ([["a.png", ["b.png"]]], "pair 0 holds 2 item"),
        ("a.png", "got str"),
        ([], "got list"),
        ([np.zeros((2, 8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)], "list of 2 item"),
    ],
)
def test_anything_but_pairs_is_our_error(images, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        pixelprep.SuperGlueImageProcessor()(images)


def test_runner_refuses_pair_families(tmp_path, fixture_path) -> None:
    with pytest.raises(InvalidArgumentError, match="image pairs"):
        run_job(pixelprep.LightGlueImageProcessor(), [str(fixture_path(PARTNER))], str(tmp_path / "out"))


# ------------------------------------------------------------------------------------ post-processing


def _outputs(seed: int, pairs: int = 3, keypoints: int = 60) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(seed)
    mask = (torch.rand(pairs, 2, keypoints, generator=generator) > 0.3).to(torch.int32)
    # indices into the other image's keypoints, -1 for no match, some beyond the real ones
    matches = torch.randint(-1, keypoints, (pairs, 2, keypoints), generator=generator)
    return SimpleNamespace(
        mask=mask,
        keypoints=torch.rand(pairs, 2, keypoints, 2, generator=generator),
        matches=matches,
        matching_scores=torch.rand(pairs, 2, keypoints, generator=generator),
    )


TARGETS = [[[(480, 640), (333, 517)], [(90, 1200), (7, 5)], [(256, 192), (640, 427)]]]
TARGETS.append(torch.tensor(TARGETS[0]))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("threshold", [0.0, 0.5])
@pytest.mark.parametrize("target_index", range(len(TARGETS)))
@pytest.mark.parametrize("family", FAMILIES)
def test_keypoint_matching_matches(family: str, backend: str, threshold: float, target_index: int) -> None:
    outputs = _outputs(7)
    theirs = _theirs(family, backend).post_process_keypoint_matching(outputs, TARGETS[target_index], threshold=threshold)
    ours = _ours(family, backend).post_process_keypoint_matching(outputs, TARGETS[target_index], threshold=threshold)
    assert len(ours) == len(theirs) == 3
    assert sum(len(r["matching_scores"]) for r in theirs) > 0, "the outputs should produce matches"
    for mine, ref in zip(ours, theirs):
        assert set(mine) == set(ref)
        for key in ("keypoints0", "keypoints1"):
            assert mine[key].dtype == torch.int32 and torch.equal(mine[key], ref[key]), key
        torch.testing.assert_close(mine["matching_scores"], ref["matching_scores"], rtol=0, atol=0)


@pytest.mark.parametrize("family", FAMILIES)
def test_keypoint_matching_takes_numpy(family: str) -> None:
    outputs = _outputs(8)
    theirs = _theirs(family, "torchvision").post_process_keypoint_matching(outputs, TARGETS[0])
    as_numpy = {key: value.numpy() for key, value in vars(outputs).items()}
    ours = _ours(family, "pil").post_process_keypoint_matching(as_numpy, np.array(TARGETS[0]))
    for mine, ref in zip(ours, theirs):
        assert isinstance(mine["keypoints0"], np.ndarray)
        assert np.array_equal(mine["keypoints1"], ref["keypoints1"].numpy())


@pytest.mark.parametrize("target_sizes", [[(480, 640)] * 3, TARGETS[0][:2], None])
def test_bad_target_sizes_are_our_errors(target_sizes) -> None:
    with pytest.raises(InvalidArgumentError, match="target_sizes"):
        pixelprep.SuperGlueImageProcessor().post_process_keypoint_matching(_outputs(1), target_sizes)


def test_missing_outputs_are_our_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="mask"):
        pixelprep.LightGlueImageProcessor().post_process_keypoint_matching({"keypoints": torch.zeros(1, 2, 3, 2)}, TARGETS[0][:1])


@pytest.mark.parametrize("family", FAMILIES)
def test_model_type_and_class_names_resolve(family: str, tmp_path) -> None:
    cls = getattr(pixelprep, f"{family}ImageProcessor")
    for suffix in ("", "Pil", "Fast"):
        assert type(pixelprep.AutoImageProcessor.from_config({"image_processor_type": f"{family}ImageProcessor{suffix}"})) is cls
    (tmp_path / "config.json").write_text('{"model_type": "%s"}' % family.lower())
    (tmp_path / "preprocessor_config.json").write_text("{}")
    assert type(pixelprep.AutoImageProcessor.from_pretrained(tmp_path)) is cls


@pytest.mark.parametrize("family", FAMILIES)
def test_visualize_keypoint_matching_draws_what_transformers_draws(family: str, fixture_path, load_image) -> None:
    """Side-by-side pairs (of different heights) with coloured match lines: pixel-identical PIL images."""
    pairs = [[load_image(fixture_path(name)).convert("RGB") for name in names] for names in (("photo_rgb_640x427.jpg", PARTNER), (PARTNER, "tall_rgb_90x1200.jpg"))]
    matched = _theirs(family, "torchvision").post_process_keypoint_matching(_outputs(9, pairs=2), [[(427, 640), (517, 333)], [(517, 333), (1200, 90)]])
    theirs = _theirs(family, "torchvision").visualize_keypoint_matching(pairs, matched)
    ours = _ours(family, "pil").visualize_keypoint_matching(pairs, matched)
    assert len(ours) == len(theirs) == 2
    for mine, ref in zip(ours, theirs):
        assert mine.size == ref.size and np.array_equal(np.asarray(mine), np.asarray(ref))
    with pytest.raises(InvalidArgumentError, match="2 matching results for 1 image pairs"):
        _ours(family, "pil").visualize_keypoint_matching(pairs[0], matched)
