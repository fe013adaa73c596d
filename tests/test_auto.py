"""AutoImageProcessor: family resolution, remote code refusal, user registration, use_fast, and the printed pipeline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pixelprep
import pixelprep.auto
import pixelprep.models
from pixelprep import AutoImageProcessor, ConfigError, ImageProcessor, InvalidArgumentError, RemoteCodeError


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------- remote code

REMOTE_MODULE = "pixelprep_test_remote_processor"


@pytest.fixture
def remote_code_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A folder whose auto_map points at a Python file that would leave a marker file if it were ever run."""
    marker = tmp_path / "EXECUTED"
    (tmp_path / f"{REMOTE_MODULE}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('remote code ran')\n\nclass MyImageProcessor:\n    pass\n",
        encoding="utf-8",
    )
    return tmp_path, marker


def _assert_not_executed(marker: Path) -> None:
    assert not marker.exists(), "the remote code file was executed"
    assert REMOTE_MODULE not in sys.modules, "the remote code module was imported"


@pytest.mark.parametrize("trust_remote_code", [False, True])
@pytest.mark.parametrize("where", ["preprocessor_config.json", "config.json"])
def test_remote_code_only_is_refused(trust_remote_code: bool, where: str, remote_code_folder) -> None:
    """auto_map with no known type raises RemoteCodeError mentioning remote code, trusted or not, and runs nothing."""
    folder, marker = remote_code_folder
    auto_map = {"auto_map": {"AutoImageProcessor": f"{REMOTE_MODULE}.MyImageProcessor"}}
    write_json(folder / "preprocessor_config.json", {"size": {"shortest_edge": 224}, **(auto_map if where != "config.json" else {})})
    write_json(folder / "config.json", {"model_type": "my_remote_model", **(auto_map if where == "config.json" else {})})
    with pytest.raises(RemoteCodeError, match="remote code") as caught:
        AutoImageProcessor.from_pretrained(folder, trust_remote_code=trust_remote_code)
    assert f"{REMOTE_MODULE}.MyImageProcessor" in str(caught.value)
    assert isinstance(caught.value, ConfigError)
    _assert_not_executed(marker)


def test_remote_code_with_a_known_type_uses_the_built_in_family(remote_code_folder) -> None:
    """auto_map next to a known processor type loads our family, unless remote code is explicitly trusted."""
    folder, marker = remote_code_folder
    write_json(
        folder / "preprocessor_config.json",
        {"image_processor_type": "CLIPImageProcessor", "auto_map": {"AutoImageProcessor": f"{REMOTE_MODULE}.MyImageProcessor"}},
    )
    processor = AutoImageProcessor.from_pretrained(folder)
    assert type(processor) is pixelprep.CLIPImageProcessor
    assert "auto_map" not in processor.to_dict()
    with pytest.raises(RemoteCodeError, match="remote code"):
        AutoImageProcessor.from_pretrained(folder, trust_remote_code=True)
    _assert_not_executed(marker)


# -------------------------------------------------------------------------------------- registration


class MyProcessor(ImageProcessor):
    """A user family: a plain resize to 64x64, saved under a class name that differs from its Python name."""

    transformers_class = "MyModelImageProcessor"
    defaults = {"do_resize": True, "size": {"height": 64, "width": 64}, "do_rescale": True}


class MyPilProcessor(MyProcessor):
    """The same family, registered for the pil backend only."""


class OtherImageProcessor(ImageProcessor):
    """A different class competing for the same key."""


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made by a test disappear after it."""
    for table in ("_BY_NAME", "_BY_MODEL_TYPE"):
        copied = {key: dict(entry) for key, entry in getattr(pixelprep.auto, table).items()}
        monkeypatch.setattr(pixelprep.auto, table, copied)


@pytest.fixture
def my_model_folder(tmp_path: Path) -> Path:
    """A checkpoint folder whose only hint is ``model_type: my_model`` in config.json."""
    write_json(tmp_path / "preprocessor_config.json", {"size": {"height": 48, "width": 40}})
    write_json(tmp_path / "config.json", {"model_type": "my_model"})
    return tmp_path


def test_unregistered_model_type_is_a_config_error(my_model_folder: Path) -> None:
    """Before registration, the model type is unknown and the error lists the known processor types."""
    with pytest.raises(ConfigError, match="my_model") as caught:
        AutoImageProcessor.from_pretrained(my_model_folder)
    assert "CLIPImageProcessor" in str(caught.value)


def test_register_a_model_type(isolated_registry, my_model_folder: Path, tmp_path: Path) -> None:
    """register(model_type, cls) makes configs with that model_type load ``cls``; the saved config loads it too."""
    AutoImageProcessor.register("my_model", MyProcessor)
    processor = AutoImageProcessor.from_pretrained(my_model_folder)
    assert type(processor) is MyProcessor
    assert processor.size == {"height": 48, "width": 40}
    out = processor(np.full((30, 20, 3), 128, dtype=np.uint8), return_tensors="np")["pixel_values"]
    assert out.shape == (1, 3, 48, 40)
    processor.save_pretrained(tmp_path / "saved")
    assert (tmp_path / "saved" / "config.json").exists() is False
    assert type(AutoImageProcessor.from_pretrained(tmp_path / "saved")) is MyProcessor, "the saved image_processor_type loads it back"


def test_register_another_backend_merges(isolated_registry, my_model_folder: Path) -> None:
    """A second registration for one backend adds to the first instead of replacing it."""
    AutoImageProcessor.register("my_model", MyProcessor)
    AutoImageProcessor.register("my_model", MyPilProcessor, backend="pil")
    assert type(AutoImageProcessor.from_pretrained(my_model_folder, backend="pil")) is MyPilProcessor
    assert type(AutoImageProcessor.from_pretrained(my_model_folder, backend="torchvision")) is MyProcessor
    assert type(AutoImageProcessor.from_pretrained(my_model_folder)) is MyProcessor


def test_duplicate_registration(isolated_registry, my_model_folder: Path) -> None:
    """Registering a different class for a taken key fails unless exist_ok=True; the same class again is fine."""
    AutoImageProcessor.register("my_model", MyProcessor)
    AutoImageProcessor.register("my_model", MyProcessor)
    with pytest.raises(InvalidArgumentError, match="exist_ok"):
        AutoImageProcessor.register("my_model", OtherImageProcessor)
    assert type(AutoImageProcessor.from_pretrained(my_model_folder)) is MyProcessor
    AutoImageProcessor.register("my_model", OtherImageProcessor, exist_ok=True)
    assert type(AutoImageProcessor.from_pretrained(my_model_folder)) is OtherImageProcessor


def test_register_a_config_class(isolated_registry, my_model_folder: Path) -> None:
    """A config class with a ``model_type`` attribute is accepted as the key, as in transformers."""

    class MyModelConfig:
        model_type = "my_model"

    AutoImageProcessor.register(MyModelConfig, MyProcessor)
    assert type(AutoImageProcessor.from_pretrained(my_model_folder)) is MyProcessor


# ------------------------------------------------------------------------------ use_fast, errors, repr


@pytest.fixture
def clip_folder(tmp_path: Path) -> Path:
    write_json(tmp_path / "preprocessor_config.json", {"image_processor_type": "CLIPImageProcessor"})
    return tmp_path


@pytest.mark.parametrize(("use_fast", "backend"), [(True, "torchvision"), (False, "pil")])
def test_use_fast_maps_to_a_backend_with_a_warning(use_fast: bool, backend: str, clip_folder: Path) -> None:
    """use_fast=True/False still works, as backend='torchvision'/'pil', with a FutureWarning saying so."""
    with pytest.warns(FutureWarning, match=f"backend='{backend}'"):
        processor = AutoImageProcessor.from_pretrained(clip_folder, use_fast=use_fast)
    assert processor.backend_name == backend


def test_explicit_backend_wins_over_use_fast(clip_folder: Path) -> None:
    with pytest.warns(FutureWarning):
        processor = AutoImageProcessor.from_pretrained(clip_folder, use_fast=True, backend="pil")
    assert processor.backend_name == "pil"


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"image_processor_type": "FancyNewImageProcessor"}, "FancyNewImageProcessor"),
        ({"feature_extractor_type": "FancyNewFeatureExtractor"}, "FancyNewFeatureExtractor"),
        ({"size": 224}, "names no image_processor_type and no model_type"),
    ],
    ids=["processor-type", "feature-extractor-type", "no-type"],
)
def test_unknown_type_lists_the_known_ones(config: dict, named: str, tmp_path: Path) -> None:
    """An unknown or missing processor type is a ConfigError naming what was found and every known type."""
    write_json(tmp_path / "preprocessor_config.json", config)
    with pytest.raises(ConfigError) as caught:
        AutoImageProcessor.from_pretrained(tmp_path)
    message = str(caught.value)
    assert not isinstance(caught.value, RemoteCodeError)
    assert named in message
    for known in pixelprep.models.__all__:
        assert getattr(pixelprep, known).transformers_class in message


def test_auto_image_processor_is_not_instantiated() -> None:
    with pytest.raises(TypeError, match="from_pretrained"):
        AutoImageProcessor()


def test_from_config_dict() -> None:
    """from_config takes a plain dict, with backend and overrides."""
    processor = AutoImageProcessor.from_config({"image_processor_type": "ViTImageProcessor"}, backend="pil", size=128)
    assert type(processor) is pixelprep.ViTImageProcessor and processor.backend_name == "pil"
    assert processor.size == {"height": 128, "width": 128}


def test_print_clip_pipeline() -> None:
    """print(processor) lists the steps in the order they run: resize, crop, rescale, normalize."""
    text = repr(pixelprep.CLIPImageProcessor(backend="pil"))
    lines = [line.strip().lstrip("→").strip() for line in text.splitlines()]
    assert lines[0] == "CLIPImageProcessor(backend='pil')"
    steps = lines[1:]
    expected = ["convert to RGB", "resize shortest edge 224 bicubic", "center crop 224x224", "rescale 1/255"]
    assert steps[: len(expected)] == expected
    assert steps[len(expected)].startswith("normalize mean=[0.4815, 0.4578, 0.4082] std=[0.2686, 0.2613, 0.2758]")
    assert len(steps) == len(expected) + 1
    assert str(pixelprep.CLIPImageProcessor(backend="pil")) == text
