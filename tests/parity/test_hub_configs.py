"""Configs shaped like the ones real checkpoints ship, loaded from a folder by both AutoImageProcessors.

``tests/fixtures/hub_configs.json`` holds one ``preprocessor_config.json`` per entry, written in the
form of the checkpoint named in ``like`` (legacy ``feature_extractor_type`` names, int sizes,
``max_size``, ``reduce_labels``, ``size_divisibility``, nulls, ``...Fast`` names). They were written
by hand from what those checkpoints are known to ship, not downloaded: nothing here reads the hub.

Each folder is loaded by ``pixelprep.AutoImageProcessor`` and ``transformers.AutoImageProcessor``
(same backend), so the legacy-key handling of both loaders is compared, not just the classes. Ours
reads the image files itself (decode, EXIF); transformers gets the decoded image, converted to RGB
with its own ``convert_to_rgb`` where pixelprep documents that it converts (README, "Where
pixelprep differs from transformers on purpose").
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import transformers
from PIL import Image
from transformers.image_processing_backends import TorchvisionBackend
from transformers.image_transforms import convert_to_rgb

import pixelprep

FIXTURES = Path(__file__).parent.parent / "fixtures"
HUB_CONFIGS: dict[str, dict[str, Any]] = json.loads((FIXTURES / "hub_configs.json").read_text())
IMAGES = [
    "photo_rgb_640x427.jpg",
    "exif_orientation6_stored240x320_display320x240.jpg",
    "gray_l_257x257.jpg",
    "cmyk_photo_320x213.jpg",
    "palette_p_trns_240x160.png",
    "rgba_alpha_radial_256x192.png",
    "wide_rgb_1200x90.jpg",
    "gray16_i16_301x203.png",
]
BATCH = ["photo_rgb_640x427.jpg", "photo_rgb_333x517.jpg", "tall_rgb_90x1200.jpg"]
ATOL = 1e-4
#: batch images a family refuses (checked one by one above), left out of its batch
REFUSED = {"glm-image": ("tall_rgb_90x1200.jpg",)}
BFLOAT16_OUTPUTS = {"llama4"}
PIL_ONLY_ATOL = 0.1
#: wider bounds for ours on pil against a torchvision-only class where the filters differ most: Pillow's bicubic
#: (a=-0.5) against torchvision's (a=-0.75) reaches ~12 uint8 levels at sharp edges, 0.18 after CLIP's std (0.26)
PIL_ONLY_ATOL_BY_NAME = {"minimax-m3-vl": 0.18}
#: families whose transformers class makes PIL images RGB itself, not through convert_to_rgb (Inkling2: transparency onto a
#: checkerboard, as ours does): transformers gets the decoded image unconverted
OWN_RGB_CONVERSION = {"inkling2"}
#: families whose crop pads photos, where transformers' pil class puts the odd pixel top/left and ours (as its torchvision
#: class) bottom/right (README): on pil, its torchvision class is the reference, within the resize filters' rounding
ODD_CROP_PIXEL = {"tvp-base"}


def _config(name: str) -> dict[str, Any]:
    config = dict(HUB_CONFIGS[name]["config"])
    if name == "imagegpt":  # 512 colour clusters, as the real file has, drawn here instead of stored
        rng = random.Random(0)
        config["clusters"] = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(512)]
    return config


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hub_configs")
    out = {}
    for name in HUB_CONFIGS:
        folder = root / name
        folder.mkdir()
        (folder / "preprocessor_config.json").write_text(json.dumps(_config(name)))
        out[name] = folder
    return out


@functools.lru_cache(maxsize=None)
def _processors(folder: Path, backend: str) -> tuple[Any, Any]:
    transformers.logging.set_verbosity_error()
    theirs = transformers.AutoImageProcessor.from_pretrained(str(folder), backend=backend)
    ours = pixelprep.AutoImageProcessor.from_pretrained(str(folder), backend=backend)
    return ours, theirs


def _reference_input(path: Path, load_image, to_eight_bit, converts: bool) -> Image.Image:
    image = load_image(path)
    if image.mode.startswith("I"):
        image = to_eight_bit(image)
    if converts:
        return convert_to_rgb(image)
    # families with neither a 3-value mean nor do_convert_rgb (GLPN, Swin2SR): palette and CMYK images become RGB(A) (README)
    if image.mode == "P":
        return image.convert("RGBA" if image.info.get("transparency") is not None else "RGB")
    return image.convert("RGB") if image.mode == "CMYK" else image


def _outputs(result: Any) -> Any:
    """transformers' outputs by name: its IDEFICS (v1) class returns the pixel values alone."""
    return result if hasattr(result, "keys") else {"pixel_values": result}


def _stacked(value: Any) -> Any:
    """A per-sample list of per-image arrays or numbers (Fuyu's images and scale factors without return_tensors) as one array;
    other values as they are."""
    if isinstance(value, list) and value and isinstance(value[0], list) and value[0]:
        return np.stack([np.stack([np.asarray(item) for item in sample]) for sample in value])
    return value


def _is_integer(value: Any) -> bool:
    """Whether an output (an array, or a per-image list of arrays, tuples or ints) holds integers."""
    first = value[0] if isinstance(value, list) and value else value
    return np.asarray(first).dtype.kind in "iub"


@pytest.mark.parametrize("backend", ["torchvision", "pil"])
@pytest.mark.parametrize("name", sorted(HUB_CONFIGS))
def test_hub_config_matches_transformers(name: str, backend: str, folders, fixture_path, load_image, to_eight_bit, compare, to_numpy) -> None:
    ours, theirs = _processors(folders[name], backend)
    assert type(ours).__name__ == type(theirs).__name__.removesuffix("Pil"), "both loaders resolve the same family"
    # A legacy pil-only transformers class (Emu3) is what transformers falls back to when asked for torchvision, and a
    # torchvision-only one (Phi-4-multimodal, PerceptionLM, MiniCPM-OCR, LFM2-VL, the PaddlePaddle families, SAM2/SAM3)
    # when asked for pil; ours runs the same geometry on the backend asked for, so only the resize filter's rounding
    # differs there.
    if backend == "pil" and name in ODD_CROP_PIXEL:
        theirs = _processors(folders[name], "torchvision")[1]
    fell_back = isinstance(theirs, TorchvisionBackend) != (backend == "torchvision")
    atol = PIL_ONLY_ATOL_BY_NAME.get(name, PIL_ONLY_ATOL) if fell_back else ATOL
    # Every image meets a model that sees RGB: families with a 3-value mean make it RGB (see the module docstring).
    rgb_model = (bool(ours.do_convert_rgb) or (ours.image_mean is not None and len(ours.image_mean) == 3)) and name not in OWN_RGB_CONVERSION
    # the matching families take image pairs: each image is paired with itself
    as_input = (lambda image: [image, image]) if isinstance(ours, pixelprep.SuperGlueImageProcessor) else (lambda image: image)
    # ViTPose crops person boxes: one box per image
    extra = (lambda count: {"boxes": [[[5, 10, 60, 80]]] * count}) if isinstance(ours, pixelprep.VitPoseImageProcessor) else (lambda count: {})
    for file_name in IMAGES:
        path = fixture_path(file_name)
        reference = _reference_input(path, load_image, to_eight_bit, rgb_model)
        tensors = "pt" if name in BFLOAT16_OUTPUTS else "np"
        try:
            # transformers cannot give Llama 4's bfloat16 values as NumPy: those come as torch tensors (to_numpy widens them)
            theirs_out = _outputs(theirs(as_input(reference), return_tensors=tensors, **extra(1)))
        except ValueError:  # an image the family refuses (GLM-Image: aspect ratio over 4): ours refuses it too, with our error
            with pytest.raises(pixelprep.InvalidImageError):
                ours(as_input(str(path)), **extra(1))
            continue
        outputs = ours(as_input(str(path)), return_tensors="np", **extra(1))
        # the pixel output's name: Pix2Struct's "flattened_patches", Fuyu's "images", Phi-4-multimodal's
        # "image_pixel_values", Video-LLaVA's legacy "pixel_values_images", else pixel_values
        names = ("flattened_patches", "images", "image_pixel_values", "pixel_values_images")
        key = "input_ids" if name == "imagegpt" else next((k for k in names if k in outputs), "pixel_values")
        expected = to_numpy(theirs_out[key])
        got = outputs[key]
        if key == "input_ids":
            assert got.shape == expected.shape and (got == expected).mean() >= 0.999, f"{name} [{backend}] {file_name}"
        else:
            compare(got, expected, atol=atol, what=f"{name} [{backend}] {file_name}")
    # a batch of differently shaped photos: every output (pixel_mask too, where a family pads)
    batch = BATCH[:2] if isinstance(ours, pixelprep.SuperGlueImageProcessor) else BATCH  # pairs: two images
    paths = [fixture_path(f) for f in batch if f not in REFUSED.get(name, ())]
    # transformers' ViltImageProcessor (torchvision) raises on mixed sizes unless return_tensors="pt" (README): its padded tensors are the reference
    mixed_size_bug = type(theirs).__name__ == "ViltImageProcessor"
    expected = _outputs(theirs([load_image(p) for p in paths], return_tensors="pt" if mixed_size_bug else None, **extra(len(paths))))
    got = ours([str(p) for p in paths], return_tensors=None, **extra(len(paths)))
    assert set(got) == set(expected), f"{name} [{backend}]: output keys"
    for output in expected:
        if output == "input_ids":
            assert np.mean(np.asarray(to_numpy(got[output])) == np.asarray(to_numpy(expected[output]))) >= 0.999
        elif output in ("words", "boxes"):  # OCR (LayoutLM families): per-image lists of words and of int boxes, equal
            assert got[output] == expected[output], f"{name} [{backend}] {output}"
        elif isinstance(expected[output], list) and all(isinstance(item, str) for item in expected[output]):
            assert got[output] == expected[output], f"{name} [{backend}] {output}"  # text (OneFormer's task prompts)
        elif output.endswith("_sizes") or _is_integer(to_numpy(expected[output])):
            # SAM's (height, width) pairs; multi-view counts, shapes, masks and positions (per-image lists in
            # transformers without return_tensors, one array in ours): exact
            assert np.array_equal(np.asarray(to_numpy(got[output])), np.asarray(to_numpy(expected[output]))), f"{name} [{backend}] {output}"
        else:
            # per-sample lists (Fuyu) and pairs as lists of lists (matching families, pil) are stacked first
            compare(_stacked(got[output]), _stacked(expected[output]), atol=atol, what=f"{name} [{backend}] batch {output}")
