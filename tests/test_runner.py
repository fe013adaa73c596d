"""The dataset runner: shards and manifest, broken inputs, input kinds, resume, and SIGKILL safety."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from pixelprep import AutoImageProcessor
from pixelprep.cli import main
from pixelprep.runner import expand_inputs, run_job

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "examples" / "clip-vit-base-patch32")
IMAGES = ROOT / "tests" / "fixtures" / "images"
BROKEN = ROOT / "tests" / "fixtures" / "broken"
PHOTOS = sorted(str(p) for p in IMAGES.glob("photo_*.jpg"))


def read_manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def rows_by_source(out: Path) -> dict[str, np.ndarray]:
    """Every successful input's pixel_values row, looked up through the manifest."""
    shards: dict[str, dict[str, np.ndarray]] = {}
    rows = {}
    for entry in read_manifest(out):
        if "error" in entry:
            continue
        shard = shards.setdefault(entry["shard"], load_file(str(out / entry["shard"])))
        rows[entry["source"]] = shard["pixel_values"][entry["row"]]
    return rows


@pytest.fixture(scope="module")
def processor():
    return AutoImageProcessor.from_pretrained(MODEL, backend="pil")


def test_rows_equal_the_python_api_and_errors_are_reported(tmp_path, processor):
    inputs = PHOTOS + [str(BROKEN / "garbage.jpg"), str(BROKEN / "truncated_half.jpg")]
    result = run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=3)
    assert (result.total, result.failed) == (len(inputs), 2)
    manifest = read_manifest(tmp_path)
    assert [e["source"] for e in manifest] == inputs  # one line per input, in input order
    errors = {e["source"]: e["error"] for e in manifest if "error" in e}
    assert set(errors) == {str(BROKEN / "garbage.jpg"), str(BROKEN / "truncated_half.jpg")}
    assert all(source in message for source, message in errors.items())
    rows = rows_by_source(tmp_path)
    for path in PHOTOS:
        expected = processor(path, return_tensors="np")["pixel_values"][0]
        np.testing.assert_array_equal(rows[path], expected)
    for shard in tmp_path.glob("shard-*.safetensors"):
        assert load_file(str(shard))["pixel_values"].shape[0] <= 2


def test_finished_job_does_nothing_and_changed_settings_are_refused(tmp_path, processor):
    run_job(processor, PHOTOS, str(tmp_path), shard_size=2)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    again = run_job(processor, PHOTOS, str(tmp_path), shard_size=2)
    assert (again.processed, again.skipped) == (0, len(PHOTOS))
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.name != "run.json"} == {
        k: v for k, v in before.items() if k != "run.json"
    }
    assert main(["run", *PHOTOS, "--model", MODEL, "--backend", "pil", "--out", str(tmp_path), "--shard-size", "3"]) == 2
    assert main(["run", *PHOTOS, "--model", MODEL, "--backend", "pil", "--out", str(tmp_path), "--shard-size", "3", "--overwrite"]) == 0
    assert len(read_manifest(tmp_path)) == len(PHOTOS)


def test_torn_manifest_tail_is_redone(tmp_path, processor):
    run_job(processor, PHOTOS, str(tmp_path), shard_size=1)
    clean = rows_by_source(tmp_path)
    manifest = tmp_path / "manifest.jsonl"
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join(lines[:1]) + lines[1][:10])  # a crash in the middle of a write
    result = run_job(processor, PHOTOS, str(tmp_path), shard_size=1)
    assert (result.skipped, result.processed) == (1, len(PHOTOS) - 1)
    assert [e["source"] for e in read_manifest(tmp_path)] == PHOTOS
    assert rows_by_source(tmp_path).keys() == clean.keys()


def test_input_kinds(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(PHOTOS[:2]) + "\n")
    assert [s.name for s in expand_inputs([f"@{listing}"])] == PHOTOS[:2]
    assert [s.name for s in expand_inputs([str(IMAGES / "photo_*.jpg")])] == PHOTOS
    folder = [s.name for s in expand_inputs([str(IMAGES)])]
    assert set(PHOTOS) <= set(folder) and folder == sorted(folder)

    blobs = [Path(p).read_bytes() for p in PHOTOS[:3]]
    table = pa.table({"label": [0, 1, 2], "image": [{"bytes": b, "path": None} for b in blobs]})
    parquet = tmp_path / "images.parquet"
    pq.write_table(table, parquet)
    sources = list(expand_inputs([str(parquet)]))
    assert [s.load() for s in sources] == blobs
    assert [s.name for s in sources] == [f"{parquet}#{i}" for i in range(3)]


def test_saved_huggingface_dataset(tmp_path, processor):
    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_dict({"image": PHOTOS[:3], "label": [0, 1, 2]}).cast_column("image", datasets.Image())
    dataset.save_to_disk(str(tmp_path / "ds"))
    out = tmp_path / "out"
    result = run_job(processor, [str(tmp_path / "ds")], str(out), shard_size=2)
    assert (result.total, result.failed) == (3, 0)
    rows = [rows_by_source(out)[s] for s in (e["source"] for e in read_manifest(out))]
    for row, path in zip(rows, PHOTOS[:3]):
        np.testing.assert_array_equal(row, processor(path, return_tensors="np")["pixel_values"][0])


def test_sigkill_at_any_moment_then_resume_equals_a_clean_run(tmp_path):
    """Kill the CLI with SIGKILL at several moments, resume each time, and compare with an uninterrupted run."""
    images = tmp_path / "images"
    images.mkdir()
    sources = sorted(IMAGES.glob("*.jpg")) + sorted(IMAGES.glob("*.png"))
    for i in range(40):
        shutil.copy(sources[i % len(sources)], images / f"img{i:02d}{sources[i % len(sources)].suffix}")
    command = [sys.executable, "-m", "pixelprep.cli", "run", str(images), "--model", MODEL, "--backend", "pil",
               "--shard-size", "4", "--batch-size", "2", "--workers", "1"]
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    subprocess.run([*command, "--out", str(clean)], check=True, capture_output=True)
    kills = []
    # Kill before anything is written, then each time more of the job is done (polling the manifest).
    for lines_before_kill in (0, 4, 13, 22, 31):
        process = subprocess.Popen([*command, "--out", str(crashed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        manifest = crashed / "manifest.jsonl"
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            done = len(manifest.read_bytes().splitlines()) if manifest.exists() else 0
            if done >= lines_before_kill:
                process.send_signal(signal.SIGKILL)
                kills.append(done)
                break
            time.sleep(0.002)
        process.wait()
    final = subprocess.run([*command, "--out", str(crashed)], capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert len(kills) >= 4, f"too few runs were killed mid-job: {kills}"
    clean_manifest, crashed_manifest = read_manifest(clean), read_manifest(crashed)
    assert crashed_manifest == clean_manifest  # no input lost, none twice, same shard and row for each
    clean_rows, crashed_rows = rows_by_source(clean), rows_by_source(crashed)
    assert clean_rows.keys() == crashed_rows.keys()
    for source, row in clean_rows.items():
        np.testing.assert_array_equal(crashed_rows[source], row)
    assert not [p for p in os.listdir(crashed) if ".tmp-" in p]  # temp files of killed writes are cleaned up
