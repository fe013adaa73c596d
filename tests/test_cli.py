"""The command line: run's exit codes, inputs and messages; inspect. (explain: test_explain.py)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pixelprep.cli import main

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "examples" / "clip-vit-base-patch32")
PHOTO = str(ROOT / "tests" / "fixtures" / "images" / "photo_rgb_640x427.jpg")
GARBAGE = str(ROOT / "tests" / "fixtures" / "broken" / "garbage.jpg")


def run(*args: str) -> int:
    return main(["run", *args, "--backend", "pil"])


def test_exit_codes(tmp_path, capsys):
    assert run(PHOTO, "--model", MODEL, "--out", str(tmp_path / "ok")) == 0
    assert run(PHOTO, GARBAGE, "--model", MODEL, "--out", str(tmp_path / "some")) == 1  # some failed, the rest written
    assert "garbage.jpg" in capsys.readouterr().err
    assert run(GARBAGE, "--model", MODEL, "--out", str(tmp_path / "none")) == 1
    # usage errors: a model that does not load, no images, a list file that does not exist, bad numbers, a missing flag
    assert run(PHOTO, "--model", str(tmp_path / "no-such-model"), "--out", str(tmp_path / "x")) == 2
    assert run(str(tmp_path / "empty-dir-*.jpg"), "--model", MODEL, "--out", str(tmp_path / "x")) == 2
    assert run(f"@{tmp_path / 'missing.txt'}", "--model", MODEL, "--out", str(tmp_path / "x")) == 2
    for bad in (["--shard-size", "0"], ["--batch-size", "-1"], ["--workers", "x"], ["--engine", "spark"]):
        with pytest.raises(SystemExit) as usage:
            run(PHOTO, "--model", MODEL, "--out", str(tmp_path / "y"), *bad)
        assert usage.value.code == 2
    with pytest.raises(SystemExit) as usage:
        main(["run", PHOTO, "--out", str(tmp_path / "y")])  # --model missing
    assert usage.value.code == 2


def test_run_reads_a_list_file_and_reports_progress_and_resume(tmp_path, capsys):
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"{PHOTO}\n{GARBAGE}\n{PHOTO}\n")
    out = tmp_path / "out"
    assert run(f"@{listing}", "--model", MODEL, "--out", str(out), "--shard-size", "2", "--batch-size", "2", "--workers", "1") == 1
    err = capsys.readouterr().err
    assert "3/3 images" in err and "img/s" in err and "ETA" in err  # plain progress lines: stderr is not a terminal
    assert "3 processed (0 already done), 1 failed, 2 shard(s) written" in err
    assert [sorted(json.loads(line)) for line in (out / "manifest.jsonl").read_text().splitlines()] == [
        ["job", "row", "shard", "source"],
        ["error", "job", "source"],
        ["job", "row", "shard", "source"],
    ]
    assert run(f"@{listing}", "--model", MODEL, "--out", str(out), "--shard-size", "2", "--batch-size", "2") == 1
    assert "nothing to do, all 3 inputs are already in" in capsys.readouterr().err


def test_inspect_prints_family_backend_pipeline_and_settings(capsys):
    assert main(["inspect", "--model", MODEL, "--backend", "pil"]) == 0
    out = capsys.readouterr().out
    assert "CLIPImageProcessor" in out and "backend:  pil" in out
    assert out.index("resize shortest edge 224 bicubic") < out.index("center crop 224x224") < out.index("normalize")
    settings = json.loads(out.split("settings:\n", 1)[1])
    assert settings["image_processor_type"] == "CLIPImageProcessor" and settings["crop_size"] == {"height": 224, "width": 224}
    assert main(["inspect", "--model", str(Path(MODEL) / "missing")]) == 2
