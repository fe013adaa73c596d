"""The command line: exit codes, inspect, explain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixelprep import AutoImageProcessor
from pixelprep.cli import main
from pixelprep.explain import explain_steps

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "examples" / "clip-vit-base-patch32")
PHOTO = str(ROOT / "tests" / "fixtures" / "images" / "photo_rgb_640x427.jpg")
GARBAGE = str(ROOT / "tests" / "fixtures" / "broken" / "garbage.jpg")


def test_exit_codes(tmp_path, capsys):
    assert main(["run", PHOTO, "--model", MODEL, "--out", str(tmp_path / "ok")]) == 0
    assert main(["run", PHOTO, GARBAGE, "--model", MODEL, "--out", str(tmp_path / "some")]) == 1
    assert "garbage.jpg" in capsys.readouterr().err
    assert main(["run", PHOTO, "--model", str(tmp_path / "no-such-model"), "--out", str(tmp_path / "x")]) == 2
    with pytest.raises(SystemExit) as usage:
        main(["run", PHOTO, "--out", str(tmp_path / "y")])  # --model missing
    assert usage.value.code == 2
    with pytest.raises(SystemExit):
        main(["run", PHOTO, "--model", MODEL, "--out", str(tmp_path / "z"), "--shard-size", "0"])


def test_inspect_prints_family_backend_pipeline_and_settings(capsys):
    assert main(["inspect", "--model", MODEL, "--backend", "pil"]) == 0
    out = capsys.readouterr().out
    assert "CLIPImageProcessor" in out and "backend:  pil" in out
    assert out.index("resize shortest edge 224 bicubic") < out.index("center crop 224x224") < out.index("normalize")
    settings = json.loads(out.split("settings:\n", 1)[1])
    assert settings["image_processor_type"] == "CLIPImageProcessor" and settings["crop_size"] == {"height": 224, "width": 224}


def test_explain_shows_every_step_and_the_model_view(tmp_path, capsys):
    out = tmp_path / "steps.png"
    assert main(["explain", PHOTO, "--model", MODEL, "--out", str(out)]) == 0
    assert Image.open(out).size[0] > 4 * 200
    panels = explain_steps(AutoImageProcessor.from_pretrained(MODEL), PHOTO)
    assert [caption for caption, _ in panels] == ["input", "resize shortest edge 224 bicubic", "center crop 224x224", "model input, de-normalised"]
    assert [p.shape[:2] for _, p in panels] == [(427, 640), (224, 335), (224, 224), (224, 224)]
    # de-normalising the tensor gives back the cropped pixels (within rounding)
    assert np.abs(panels[3][1].astype(int) - panels[2][1].astype(int)).max() <= 1
