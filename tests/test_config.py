"""Config files: round trips with transformers, legacy forms, overrides, and loading from a hub cache offline."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import transformers
from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

import pixelprep
from pixelprep import AutoImageProcessor, ConfigNotFoundError, PixelprepError, UnknownArgumentError
from pixelprep.models import __all__ as FAMILY_NAMES

BACKENDS = ("torchvision", "pil")
FAMILIES = [getattr(pixelprep, name) for name in FAMILY_NAMES]
CLUSTERS = np.random.default_rng(7).uniform(-1.0, 1.0, size=(16, 3)).tolist()
IMAGE = "photo_rgb_333x517.jpg"
# a config that changes settings every family has, so a round trip that dropped them would show
TWEAKS = {"resample": 2, "image_mean": [0.1, 0.2, 0.3], "image_std": [0.9, 0.8, 0.7], "rescale_factor": 1 / 200}


def family_config(family: type, tweaked: bool) -> dict[str, Any]:
    """A config for ``family``: its defaults, or with :data:`TWEAKS`; ImageGPT always gets small clusters."""
    config = dict(TWEAKS) if tweaked else {}
    if family is pixelprep.ImageGPTImageProcessor:
        config.update(clusters=CLUSTERS, size={"height": 16, "width": 16})
    return config


def transformers_class(family: type, backend: str) -> type:
    return getattr(transformers, transformers_class_name(family, backend))


def transformers_class_name(family: type, backend: str) -> str | None:
    """The name of transformers' class of ``family`` for ``backend`` per its auto mapping (None where it has none, e.g. Emu3 on torchvision)."""
    for model_type in family.model_types:
        entry = IMAGE_PROCESSOR_MAPPING_NAMES.get(model_type)
        if entry and family.transformers_class in entry.values():
            return entry.get(backend)
    name = family.transformers_class + ("Pil" if backend == "pil" else "")
    return name if hasattr(transformers, name) else None


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def saved_config(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "preprocessor_config.json").read_text(encoding="utf-8"))


# transformers cannot give these families' bfloat16 outputs as NumPy: they are compared as torch tensors
BFLOAT16_FAMILIES = {"Llama4ImageProcessor"}


def assert_same_outputs(ours: Any, theirs: Any, image: Any, compare, to_numpy, what: str) -> None:
    if isinstance(ours, pixelprep.SuperGlueImageProcessor):  # the matching families take image pairs
        image = [image, image]
    tensors = "pt" if ours.transformers_class in BFLOAT16_FAMILIES else "np"
    if isinstance(ours, pixelprep.VitPoseImageProcessor):  # ViTPose crops person boxes
        got, expected = (proc(image, [[[10, 20, 150, 300]]], return_tensors=tensors) for proc in (ours, theirs))
    else:
        got, expected = ours(image, return_tensors=tensors), theirs(image, return_tensors=tensors)
    if not hasattr(expected, "keys"):  # transformers' IDEFICS (v1) returns the pixel values alone
        expected = {"pixel_values": expected}
    assert set(got) == set(expected), f"{what}: keys {sorted(got)} vs {sorted(expected)}"
    for key in got:
        # an empty list (EoMT's patch_offsets without patches) is compared as an empty array
        nested_ints = isinstance(expected[key], list) and bool(expected[key]) and not hasattr(expected[key][0], "shape")
        if nested_ints or np.ndim(to_numpy(expected[key])) == 0:
            # counts: Mllama's num_tiles stays a nested list, Aria's num_crops is one number; both exact
            assert got[key] == expected[key] if nested_ints else to_numpy(got[key]) == to_numpy(expected[key]), f"{what} {key}"
        else:
            compare(got[key], to_numpy(expected[key]), atol=_atol(ours), what=f"{what} {key}")


def _atol(ours: Any) -> float:
    """1e-4; one 8-bit level in output units where transformers' only class resizes with Pillow and ours runs torchvision (ViViT)."""
    if isinstance(ours, pixelprep.VivitImageProcessor) and ours.backend_name == "torchvision":
        return ours.rescale_factor / min(ours.image_std) + 1e-6
    return 1e-4


# only the backends transformers has a class for (DINOv3 and TIPSv2 have no pil class, Emu3 no torchvision one); ViTMatte needs a
# trimap beside each image, so its round trips through transformers are in tests/parity/test_classic.py
ROUND_TRIPS = [
    (family, backend, tweaked)
    for family in FAMILIES
    if family is not pixelprep.VitMatteImageProcessor
    # transformers' TimmWrapper reads config.json, never a saved preprocessor config (test_timm_wrapper.py loads those)
    and family is not pixelprep.TimmWrapperImageProcessor
    for backend in BACKENDS
    if transformers_class_name(family, backend) is not None
    for tweaked in (False, True)
]
ROUND_TRIP_IDS = [f"{family.__name__}-{backend}-{'tweaked' if tweaked else 'default'}" for family, backend, tweaked in ROUND_TRIPS]


@pytest.mark.parametrize(("family", "backend", "tweaked"), ROUND_TRIPS, ids=ROUND_TRIP_IDS)
def test_our_config_loads_in_transformers(
    family: type, backend: str, tweaked: bool, tmp_path, no_network, fixture_path, load_image, compare, to_numpy
) -> None:
    """Our save_pretrained -> transformers' AutoImageProcessor: same class and the same output."""
    ours = family.from_dict(family_config(family, tweaked), backend=backend)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoImageProcessor.from_pretrained(tmp_path, backend=backend)
    assert type(theirs) is transformers_class(family, backend)
    assert_same_outputs(ours, theirs, load_image(fixture_path(IMAGE)), compare, to_numpy, f"{family.__name__} [{backend}]")


@pytest.mark.parametrize(("family", "backend", "tweaked"), ROUND_TRIPS, ids=ROUND_TRIP_IDS)
def test_transformers_config_loads_in_pixelprep(
    family: type, backend: str, tweaked: bool, tmp_path, no_network, fixture_path, load_image, compare, to_numpy
) -> None:
    """transformers' save_pretrained -> our AutoImageProcessor: same family and the same output."""
    theirs = transformers_class(family, backend)(**family_config(family, tweaked))
    theirs.save_pretrained(tmp_path)
    ours = AutoImageProcessor.from_pretrained(tmp_path, backend=backend)
    assert type(ours) is family and ours.backend_name == backend
    assert_same_outputs(ours, theirs, load_image(fixture_path(IMAGE)), compare, to_numpy, f"{family.__name__} [{backend}]")


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.__name__)
def test_our_round_trip_is_lossless(family: type, tmp_path) -> None:
    """Saving and loading again gives the same settings, unknown keys included."""
    config = {**family_config(family, tweaked=True), "my_unknown_key": {"nested": [1, 2, 3]}}
    first = family.from_dict(config)
    first.save_pretrained(tmp_path / "first")
    second = AutoImageProcessor.from_pretrained(tmp_path / "first")
    second.save_pretrained(tmp_path / "second")
    assert type(second) is family
    assert saved_config(tmp_path / "first") == saved_config(tmp_path / "second") == first.to_dict()
    assert saved_config(tmp_path / "second")["my_unknown_key"] == {"nested": [1, 2, 3]}


# ------------------------------------------------------------------------------------- legacy forms


@pytest.mark.parametrize(
    ("type_field", "name", "family"),
    [
        ("feature_extractor_type", "CLIPFeatureExtractor", pixelprep.CLIPImageProcessor),
        ("feature_extractor_type", "ViTFeatureExtractor", pixelprep.ViTImageProcessor),
        ("image_processor_type", "CLIPImageProcessorFast", pixelprep.CLIPImageProcessor),
        ("image_processor_type", "CLIPImageProcessorPil", pixelprep.CLIPImageProcessor),
        ("image_processor_type", "ConvNextImageProcessorFast", pixelprep.ConvNextImageProcessor),
        ("image_processor_type", "SiglipImageProcessorPil", pixelprep.SiglipImageProcessor),
    ],
)
def test_legacy_class_names(type_field: str, name: str, family: type, tmp_path, no_network, fixture_path, load_image, compare, to_numpy) -> None:
    """Feature-extractor and backend-suffixed class names load the family, as in transformers."""
    write_json(tmp_path / "preprocessor_config.json", {type_field: name, "size": 256 if family is pixelprep.ViTImageProcessor else {"shortest_edge": 256}})
    ours = AutoImageProcessor.from_pretrained(tmp_path, backend="pil")
    assert type(ours) is family
    assert ours.to_dict()["image_processor_type"] == family.transformers_class
    theirs = transformers.AutoImageProcessor.from_pretrained(tmp_path, backend="pil")
    assert_same_outputs(ours, theirs, load_image(fixture_path(IMAGE)), compare, to_numpy, name)


@pytest.mark.parametrize(
    ("family", "config", "size", "crop_size"),
    [
        (pixelprep.CLIPImageProcessor, {"size": 256, "crop_size": 240}, {"shortest_edge": 256}, {"height": 240, "width": 240}),
        (pixelprep.ViTImageProcessor, {"size": 256}, {"height": 256, "width": 256}, None),
        (pixelprep.DeiTImageProcessor, {"size": 300, "crop_size": 256}, {"height": 300, "width": 300}, {"height": 256, "width": 256}),
        (pixelprep.ConvNextImageProcessor, {"size": 224}, {"shortest_edge": 224}, None),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_int_sizes(family: type, config: dict, size: dict, crop_size: dict | None, tmp_path, no_network, fixture_path, load_image, compare, to_numpy) -> None:
    """Int ``size``/``crop_size`` follow the family's default_to_square, like transformers' get_size_dict."""
    write_json(tmp_path / "preprocessor_config.json", {"image_processor_type": family.transformers_class, **config})
    ours = AutoImageProcessor.from_pretrained(tmp_path, backend="torchvision")
    assert ours.size == size
    if crop_size is not None:
        assert ours.crop_size == crop_size
    assert saved_size(ours, tmp_path / "saved") == size
    theirs = transformers.AutoImageProcessor.from_pretrained(tmp_path, backend="torchvision")
    assert_same_outputs(ours, theirs, load_image(fixture_path(IMAGE)), compare, to_numpy, family.__name__)


def saved_size(processor: Any, folder: Path) -> dict[str, int]:
    processor.save_pretrained(folder)
    return saved_config(folder)["size"]


def test_stray_and_unknown_keys(tmp_path, no_network) -> None:
    """Stray keys load; ``processor_class`` and unknown keys are saved back, ``_valid_processor_keys`` is dropped as transformers does."""
    unknown = {"my_note": "kept", "my_table": {"a": [1, 2]}}
    write_json(
        tmp_path / "in" / "preprocessor_config.json",
        {
            "image_processor_type": "CLIPImageProcessor",
            "_valid_processor_keys": ["images", "do_resize"],
            "processor_class": "CLIPProcessor",
            **unknown,
        },
    )
    processor = AutoImageProcessor.from_pretrained(tmp_path / "in")
    assert type(processor) is pixelprep.CLIPImageProcessor
    assert processor.extra == {"processor_class": "CLIPProcessor", **unknown}
    processor.save_pretrained(tmp_path / "out")
    saved = saved_config(tmp_path / "out")
    assert saved["processor_class"] == "CLIPProcessor"
    assert {key: saved[key] for key in unknown} == unknown
    assert "_valid_processor_keys" not in saved
    # transformers reads the file we wrote, unknown keys and all
    theirs = transformers.AutoImageProcessor.from_pretrained(tmp_path / "out")
    assert type(theirs) is transformers.CLIPImageProcessor


def test_nested_image_processor_in_processor_config(tmp_path) -> None:
    """A processor_config.json whose ``image_processor`` entry holds the settings (no preprocessor_config.json)."""
    write_json(
        tmp_path / "processor_config.json",
        {"processor_class": "SiglipProcessor", "image_processor": {"image_processor_type": "SiglipImageProcessor", "size": {"height": 384, "width": 384}}},
    )
    processor = AutoImageProcessor.from_pretrained(tmp_path)
    assert type(processor) is pixelprep.SiglipImageProcessor
    assert processor.size == {"height": 384, "width": 384}


@pytest.mark.parametrize(
    ("model_type", "family"),
    [("dinov2", pixelprep.BitImageProcessor), ("resnet", pixelprep.ConvNextImageProcessor), ("clip", pixelprep.CLIPImageProcessor), ("swin", pixelprep.ViTImageProcessor)],
)
def test_model_type_from_config_json(model_type: str, family: type, tmp_path, no_network) -> None:
    """With no processor type in the config, ``model_type`` from config.json beside it picks the family (as transformers does)."""
    write_json(tmp_path / "preprocessor_config.json", {"size": {"shortest_edge": 200}, "do_resize": True})
    write_json(tmp_path / "config.json", {"model_type": model_type})
    processor = AutoImageProcessor.from_pretrained(tmp_path)
    assert type(processor) is family
    assert processor.size == {"shortest_edge": 200}
    theirs = transformers.AutoImageProcessor.from_pretrained(tmp_path)
    assert type(theirs).__name__ == family.transformers_class


def test_path_to_the_json_file(tmp_path) -> None:
    """A path to the JSON file itself works, for AutoImageProcessor and a family's from_pretrained / from_json_file."""
    path = write_json(tmp_path / "custom_name.json", {"image_processor_type": "DeiTImageProcessor", "crop_size": 200})
    assert type(AutoImageProcessor.from_pretrained(path)) is pixelprep.DeiTImageProcessor
    for loaded in (pixelprep.DeiTImageProcessor.from_pretrained(str(path)), pixelprep.DeiTImageProcessor.from_json_file(path)):
        assert loaded.crop_size == {"height": 200, "width": 200}


def test_overrides_and_return_unused_kwargs(tmp_path) -> None:
    """Known overrides replace config values; return_unused_kwargs hands back the unknown ones instead of failing."""
    write_json(tmp_path / "preprocessor_config.json", {"image_processor_type": "CLIPImageProcessor"})
    processor = AutoImageProcessor.from_pretrained(tmp_path, size={"shortest_edge": 300}, do_center_crop=False)
    assert processor.size == {"shortest_edge": 300} and processor.do_center_crop is False
    processor, unused = AutoImageProcessor.from_pretrained(tmp_path, return_unused_kwargs=True, crop_size=128, foo=1, bar="x")
    assert type(processor) is pixelprep.CLIPImageProcessor
    assert processor.crop_size == {"height": 128, "width": 128}
    assert unused == {"foo": 1, "bar": "x"}
    processor, unused = pixelprep.CLIPImageProcessor.from_pretrained(tmp_path, return_unused_kwargs=True)
    assert unused == {}


def test_unknown_override_is_an_error(tmp_path) -> None:
    """An unknown keyword is an UnknownArgumentError naming it and listing the valid names."""
    write_json(tmp_path / "preprocessor_config.json", {"image_processor_type": "CLIPImageProcessor"})
    with pytest.raises(UnknownArgumentError, match="reszie") as caught:
        AutoImageProcessor.from_pretrained(tmp_path, do_reszie=False)
    assert isinstance(caught.value, TypeError)
    assert "do_resize" in str(caught.value) and "crop_size" in str(caught.value)
    with pytest.raises(UnknownArgumentError):
        pixelprep.CLIPImageProcessor.from_pretrained(tmp_path, image_size=3)


# ------------------------------------------------------------------------------ hub cache, offline

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fake_hub_repo(cache: Path, repo_id: str, files: dict[str, dict[str, Any]], commit: str = COMMIT) -> None:
    """Lay out ``files`` as huggingface_hub caches a download of ``repo_id`` at ``main``.

    ``<cache>/models--<org>--<name>/refs/main`` holds the commit hash and the files sit in
    ``snapshots/<commit>/`` (huggingface_hub's ``repo_folder_name`` and ``_get_pointer_path``;
    real caches link them to ``blobs/``, plain files are read the same way).
    """
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    for name, content in files.items():
        write_json(repo / "snapshots" / commit / name, content)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")


def test_load_from_the_hub_cache(tmp_path, no_network) -> None:
    """A hub id resolves from a huggingface_hub cache with local_files_only=True, without the network."""
    fake_hub_repo(tmp_path, "acme/tiny-clip", {"preprocessor_config.json": {"image_processor_type": "CLIPImageProcessor", "crop_size": 196}})
    processor = AutoImageProcessor.from_pretrained("acme/tiny-clip", cache_dir=tmp_path, local_files_only=True)
    assert type(processor) is pixelprep.CLIPImageProcessor
    assert processor.crop_size == {"height": 196, "width": 196}
    by_family = pixelprep.CLIPImageProcessor.from_pretrained("acme/tiny-clip", cache_dir=tmp_path, local_files_only=True, revision=COMMIT)
    assert by_family.to_dict() == processor.to_dict()


def test_hub_cache_with_model_type_only(tmp_path, no_network) -> None:
    """A cached config.json's model_type picks the family when the processor config names none."""
    fake_hub_repo(tmp_path, "acme/dino", {"preprocessor_config.json": {"crop_size": 224}, "config.json": {"model_type": "dinov2"}})
    processor = AutoImageProcessor.from_pretrained("acme/dino", cache_dir=tmp_path, local_files_only=True)
    assert type(processor) is pixelprep.BitImageProcessor


def test_hub_offline_mode_reads_the_cache(tmp_path, no_network) -> None:
    """Under HF_HUB_OFFLINE (set by ``no_network``) the cache is used without local_files_only, config.json optional."""
    fake_hub_repo(tmp_path, "acme/tiny-vit", {"preprocessor_config.json": {"image_processor_type": "ViTImageProcessor", "size": 160}})
    processor = AutoImageProcessor.from_pretrained("acme/tiny-vit", cache_dir=tmp_path)
    assert type(processor) is pixelprep.ViTImageProcessor and processor.size == {"height": 160, "width": 160}


@pytest.mark.parametrize("local_files_only", [True, False], ids=["local_files_only", "HF_HUB_OFFLINE"])
def test_missing_repo_offline_fails_fast(local_files_only: bool, tmp_path, no_network) -> None:
    """A repo id absent from the cache raises ConfigNotFoundError (a PixelprepError and OSError) at once, offline."""
    fake_hub_repo(tmp_path, "acme/other", {"preprocessor_config.json": {"image_processor_type": "ViTImageProcessor"}})
    start = time.perf_counter()
    with pytest.raises(ConfigNotFoundError, match="acme/not-cached") as caught:
        AutoImageProcessor.from_pretrained("acme/not-cached", cache_dir=tmp_path, local_files_only=local_files_only)
    assert time.perf_counter() - start < 5.0
    assert isinstance(caught.value, PixelprepError) and isinstance(caught.value, OSError)


def test_missing_local_path_is_not_a_hub_id(tmp_path) -> None:
    """A path that looks like a file or folder and does not exist fails as not found, without a hub lookup."""
    for missing in (tmp_path / "nope", tmp_path / "nope" / "preprocessor_config.json", "./nope/nothing"):
        with pytest.raises(ConfigNotFoundError, match="no such file"):
            AutoImageProcessor.from_pretrained(missing)
