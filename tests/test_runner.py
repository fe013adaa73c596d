"""The dataset runner: shards and manifest, broken inputs, input kinds, streaming, resume, and SIGKILL safety."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import pixelprep.models
from pixelprep import AutoImageProcessor, InvalidArgumentError
from pixelprep.cli import main
from pixelprep.runner import expand_inputs, read_row, run_job

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "examples" / "clip-vit-base-patch32")
IMAGES = ROOT / "tests" / "fixtures" / "images"
BROKEN = ROOT / "tests" / "fixtures" / "broken"
PHOTOS = sorted(str(p) for p in IMAGES.glob("photo_*.jpg"))
FIVE = PHOTOS + [str(IMAGES / "gray_l_257x257.jpg"), str(IMAGES / "palette_p_trns_240x160.png")]


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


def expected_row(processor, image) -> np.ndarray:
    return processor(image, return_tensors="np")["pixel_values"][0]


@pytest.fixture(scope="module")
def processor():
    return AutoImageProcessor.from_pretrained(MODEL, backend="pil")


def test_rows_equal_the_python_api_and_errors_are_reported(tmp_path, processor):
    inputs = PHOTOS + [str(BROKEN / "garbage.jpg"), str(BROKEN / "truncated_half.jpg")]
    log = io.StringIO()
    result = run_job(processor, inputs, str(tmp_path), shard_size=2, batch_size=3, log=log)
    assert (result.total, result.processed, result.failed) == (len(inputs), len(inputs), 2)
    manifest = read_manifest(tmp_path)
    assert [e["source"] for e in manifest] == inputs  # one line per input, in input order
    errors = {e["source"]: e["error"] for e in manifest if "error" in e}
    assert set(errors) == {str(BROKEN / "garbage.jpg"), str(BROKEN / "truncated_half.jpg")}
    assert all(source in message for source, message in errors.items())
    assert all(source in log.getvalue() for source in errors)  # and on the log (stderr in the CLI)
    rows = rows_by_source(tmp_path)
    for path in PHOTOS:  # the broken files' batch-mates were processed, and equal the Python API's rows
        np.testing.assert_array_equal(rows[path], expected_row(processor, path))
    shards = sorted(tmp_path.glob("shard-*.safetensors"))
    # chunks [photo, photo], [photo, broken], [broken]: a chunk whose inputs all failed writes no shard
    assert [load_file(str(s))["pixel_values"].shape[0] for s in shards] == [2, 1]


def test_outputs_that_depend_on_the_batch_or_differ_in_size(tmp_path):
    """DETR pads to the largest image of a batch: each row still equals the image processed alone; outputs
    of different sizes in one shard are stored one tensor per row, and read_row reads both layouts."""
    detr = pixelprep.models.DetrImageProcessor(backend="pil", size={"shortest_edge": 64, "longest_edge": 96})
    inputs = [PHOTOS[0], str(IMAGES / "tall_rgb_90x1200.jpg"), PHOTOS[1], str(BROKEN / "garbage.jpg")]
    for shard_size in (1, 2, 4):
        out = tmp_path / f"shards-of-{shard_size}"
        result = run_job(detr, inputs, str(out), shard_size=shard_size, batch_size=2, log=io.StringIO())
        assert (result.failed, result.processed) == (1, 4)
        entries = [entry for entry in read_manifest(out) if "error" not in entry]
        assert [entry["source"] for entry in entries] == inputs[:3]
        for entry, path in zip(entries, inputs):
            alone = detr(path, return_tensors="np")
            row = read_row(out, entry)
            assert row.keys() == {"pixel_values", "pixel_mask"}
            for key in row:
                np.testing.assert_array_equal(row[key], alone[key][0])
    mixed = load_file(str(tmp_path / "shards-of-4" / "shard-00000.safetensors"))
    assert sorted(mixed) == [f"{key}.{row}" for key in ("pixel_mask", "pixel_values") for row in range(3)]
    assert sorted(load_file(str(tmp_path / "shards-of-1" / "shard-00000.safetensors"))) == ["pixel_mask", "pixel_values"]
    with pytest.raises(InvalidArgumentError, match="garbage.jpg was not processed"):
        read_row(tmp_path / "shards-of-1", read_manifest(tmp_path / "shards-of-1")[3])


def test_finished_job_does_nothing_and_changed_settings_are_refused(tmp_path, processor):
    run_job(processor, PHOTOS, str(tmp_path), shard_size=2)
    job_files = lambda: {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.name != "run.lock"}  # noqa: E731
    before = job_files()
    again = run_job(processor, PHOTOS, str(tmp_path), shard_size=2)
    assert (again.processed, again.skipped, again.shards_written) == (0, len(PHOTOS), 0)
    assert job_files() == before  # only the lock was taken and released
    base = ["run", *PHOTOS, "--model", MODEL, "--backend", "pil", "--out", str(tmp_path)]
    assert main([*base, "--shard-size", "3"]) == 2  # other shard size
    assert main(["run", *PHOTOS[:2], *base[-6:], "--shard-size", "2"]) == 2  # other inputs
    assert main([*base, "--shard-size", "3", "--overwrite"]) == 0
    assert len(read_manifest(tmp_path)) == len(PHOTOS) and len(list(tmp_path.glob("shard-*"))) == 1


@pytest.mark.parametrize("cut", ["torn line", "unfinished chunk"])
def test_an_unfinished_manifest_tail_is_redone(tmp_path, processor, cut):
    run_job(processor, FIVE, str(tmp_path), shard_size=2)
    clean = rows_by_source(tmp_path)
    manifest = tmp_path / "manifest.jsonl"
    lines = manifest.read_text().splitlines(keepends=True)
    # a kill in the middle of a write; or after some, not all, of a chunk's lines reached the disk
    manifest.write_text("".join(lines[:2]) + (lines[2][:10] if cut == "torn line" else lines[2]))
    result = run_job(processor, FIVE, str(tmp_path), shard_size=2)
    assert (result.skipped, result.processed) == (2, 3)
    assert [e["source"] for e in read_manifest(tmp_path)] == FIVE
    redone = rows_by_source(tmp_path)
    assert redone.keys() == clean.keys()
    for source, row in clean.items():
        np.testing.assert_array_equal(redone[source], row)


def test_files_folders_globs_and_lists(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text("# a comment\n" + "\n".join(PHOTOS[:2]) + "\n\n")
    assert [s.name for s in expand_inputs([f"@{listing}"])] == PHOTOS[:2]
    assert [s.name for s in expand_inputs([str(IMAGES / "photo_*.jpg")])] == PHOTOS
    nested = tmp_path / "tree" / "b"
    nested.mkdir(parents=True)
    for i, photo in enumerate(PHOTOS):
        shutil.copy(photo, (nested if i else nested.parent) / f"{i}.JPG")
    (nested / "notes.txt").write_text("not an image")
    assert [s.name for s in expand_inputs([str(tmp_path / "tree")])] == [str(nested.parent / "0.JPG"), str(nested / "1.JPG"), str(nested / "2.JPG")]
    assert [(s.name, s.load()) for s in expand_inputs(["missing.jpg"])] == [("missing.jpg", "missing.jpg")]  # an error row later
    with pytest.raises(InvalidArgumentError, match="no images found"):
        run_job(AutoImageProcessor.from_pretrained(MODEL, backend="pil"), [str(tmp_path / "tree" / "*.png")], str(tmp_path / "out"))


def test_parquet_image_column(tmp_path, processor):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    cells = [
        {"bytes": Path(PHOTOS[0]).read_bytes(), "path": None},  # how Hugging Face datasets writes images
        {"bytes": b"not an image", "path": "x.jpg"},
        {"bytes": None, "path": PHOTOS[1]},  # an image kept as a file reference
        None,
    ]
    parquet = tmp_path / "images.parquet"
    pq.write_table(pa.table({"label": [0, 1, 2, 3], "image": cells}), parquet)
    binary = tmp_path / "binary.parquet"
    pq.write_table(pa.table({"caption": ["a"], "jpeg": [Path(PHOTOS[2]).read_bytes()]}), binary)
    log = io.StringIO()
    result = run_job(processor, [str(parquet), str(binary)], str(tmp_path / "out"), shard_size=3, batch_size=4, log=log)
    assert (result.total, result.failed) == (5, 2)
    names = [f"{parquet}#{i}" for i in range(4)] + [f"{binary}#0"]
    manifest = read_manifest(tmp_path / "out")
    assert [e["source"] for e in manifest] == names and ["error" in e for e in manifest] == [False, True, False, True, False]
    assert f"{parquet}#1" in log.getvalue() and f"{parquet}#3" in log.getvalue()  # errors on bytes still name their source
    rows = rows_by_source(tmp_path / "out")
    for name, photo in zip([names[0], names[2], names[4]], PHOTOS):
        np.testing.assert_array_equal(rows[name], expected_row(processor, photo))
    with pytest.raises(InvalidArgumentError, match="no column 'img'"):
        list(expand_inputs([str(parquet)], column="img"))
    pq.write_table(pa.table({"label": [1]}), tmp_path / "labels.parquet")
    with pytest.raises(InvalidArgumentError, match="pass --column"):
        list(expand_inputs([str(tmp_path / "labels.parquet")]))


def test_saved_huggingface_dataset(tmp_path, processor):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"label": datasets.Value("int64"), "image": datasets.Image()})
    cells = [{"bytes": Path(p).read_bytes(), "path": None} for p in PHOTOS]
    dataset = datasets.Dataset.from_dict({"label": [0, 1, 2], "image": cells}, features=features)
    dataset.save_to_disk(str(tmp_path / "ds"), num_shards=2)  # two Arrow files, read in order
    assert len(list((tmp_path / "ds").glob("*.arrow"))) == 2
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "ds"), "--model", MODEL, "--backend", "pil", "--out", str(out), "--shard-size", "2"]) == 0
    rows = rows_by_source(out)
    manifest = read_manifest(out)
    assert len(manifest) == 3
    for entry, path in zip(manifest, PHOTOS):
        np.testing.assert_array_equal(rows[entry["source"]], expected_row(processor, path))


def test_table_files_are_streamed_not_loaded(tmp_path):
    """Listing a table reads no cells, and reading every cell in order holds a row group at a time, not the file."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rng = np.random.default_rng(0)
    blobs = [rng.bytes(10_000) for _ in range(2000)]  # 20 MB that do not compress
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"image": [{"bytes": b, "path": None} for b in blobs]}), path, row_group_size=50)
    sources = list(expand_inputs([str(path)]))
    total = sum(map(len, blobs))
    assert len(sources) == len(blobs) and len(pickle.dumps(sources)) < total / 10  # names and locations only
    before, peak = pa.total_allocated_bytes(), 0
    for source, blob in zip(sources, blobs):
        assert source.load() == blob
        peak = max(peak, pa.total_allocated_bytes() - before)
    assert peak < total / 5


def test_workers_and_progress(tmp_path, processor):
    quiet = run_job(processor, FIVE, str(tmp_path / "one"), shard_size=2, batch_size=2, workers=1, log=io.StringIO())
    assert processor.num_threads != 1 or os.cpu_count() == 1  # the caller's processor is left as it was
    log = io.StringIO()
    run_job(processor, FIVE, str(tmp_path / "default"), shard_size=2, batch_size=2, log=log)
    assert quiet.failed == 0 and rows_by_source(tmp_path / "one").keys() == set(FIVE)
    for source, row in rows_by_source(tmp_path / "one").items():
        np.testing.assert_array_equal(rows_by_source(tmp_path / "default")[source], row)
    assert "5/5 images" in log.getvalue() and "img/s" in log.getvalue() and "ETA" in log.getvalue()

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    run_job(processor, FIVE, str(tmp_path / "bar"), shard_size=2, log=terminal)
    assert "5/5" in terminal.getvalue() and "img/s" in terminal.getvalue() and "\r" in terminal.getvalue()  # a tqdm bar
    with pytest.raises(InvalidArgumentError, match="unknown engine"):
        run_job(processor, FIVE, str(tmp_path / "x"), engine="spark")


# The CLI, SIGKILLed by itself at an exact point of a shard write. Patching os.replace in the child only
# decides *when* it dies; the runner's code runs unchanged.
CRASH_AT_SHARD = """
import os, signal, sys
from pixelprep.cli import main
point, target = sys.argv[1], int(sys.argv[2])
written = 0
real_replace = os.replace
def replace(src, dst):
    global written
    shard = str(dst).endswith(".safetensors")
    written += shard
    if shard and written == target and point == "before-rename":
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
    if shard and written == target and point == "after-rename":
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
sys.exit(main(sys.argv[3:]))
"""


def test_sigkill_then_resume_equals_a_clean_run(tmp_path):
    """SIGKILL the CLI at several moments (inside a shard write, between a shard and its manifest lines, at a
    chunk boundary, at arbitrary times), resume each time, and compare everything with an uninterrupted run."""
    images = tmp_path / "images"
    images.mkdir()
    pool = sorted(IMAGES.glob("*.jpg")) + sorted(IMAGES.glob("*.png"))
    for i in range(40):
        source = BROKEN / "garbage.jpg" if i == 17 else pool[i % len(pool)]
        shutil.copy(source, images / f"img{i:02d}{source.suffix}")
    args = ["run", str(images), "--model", MODEL, "--backend", "pil", "--shard-size", "4", "--batch-size", "3", "--workers", "1"]
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    started = time.monotonic()
    assert subprocess.run([sys.executable, "-m", "pixelprep.cli", *args, "--out", str(clean)], capture_output=True).returncode == 1
    clean_seconds = time.monotonic() - started

    def manifest_lines() -> int:
        path = crashed / "manifest.jsonl"
        return len(path.read_bytes().splitlines()) if path.exists() else 0

    def crash_at(point: str, target: int) -> None:
        child = subprocess.run([sys.executable, "-c", CRASH_AT_SHARD, point, str(target), *args, "--out", str(crashed)], capture_output=True)
        assert child.returncode == -signal.SIGKILL, child.stderr

    # 1. the 3rd shard is written and fsynced under its temporary name, not yet renamed
    crash_at("before-rename", 3)
    assert manifest_lines() == 8 and not (crashed / "shard-00002.safetensors").exists()
    assert [p.name for p in crashed.glob("shard-00002.safetensors.tmp-*")]
    # 2. resumed at chunk 2; killed once its 2nd shard (shard-00003) is in place but before its manifest lines
    crash_at("after-rename", 2)
    assert manifest_lines() == 12 and (crashed / "shard-00003.safetensors").exists()
    assert not list(crashed.glob("*.tmp-*"))  # the resumed run removed the first crash's temporary file
    # 3. from outside: right after a chunk's manifest lines; 4. from outside: at arbitrary times (maybe at start-up,
    # maybe after the last chunk: what must hold holds at any moment)
    kills = []
    for trigger in ("lines", 0.5, 0.75):
        child = subprocess.Popen([sys.executable, "-m", "pixelprep.cli", *args, "--out", str(crashed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + (60 if trigger == "lines" else trigger * clean_seconds)
        while child.poll() is None and time.monotonic() < deadline and not (trigger == "lines" and manifest_lines() >= 20):
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
        kills.append((trigger, child.wait(), manifest_lines()))
    assert kills[0][1] == -signal.SIGKILL and kills[0][2] >= 20, kills

    final = subprocess.run([sys.executable, "-m", "pixelprep.cli", *args, "--out", str(crashed)], capture_output=True, text=True)
    assert final.returncode == 1, (final.stderr, kills)  # 1: the one broken input failed, the rest were written
    assert read_manifest(crashed) == read_manifest(clean)  # no input lost, none twice, same shard and row for each
    shards = sorted(p.name for p in clean.iterdir() if p.name.startswith("shard-"))
    assert sorted(p.name for p in crashed.iterdir() if p.name.startswith("shard-")) == shards  # no stray files either
    for name in shards:
        expected, got = load_file(str(clean / name)), load_file(str(crashed / name))
        assert expected.keys() == got.keys()
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key])
    again = subprocess.run([sys.executable, "-m", "pixelprep.cli", *args, "--out", str(crashed)], capture_output=True, text=True)
    assert "nothing to do" in again.stderr and read_manifest(crashed) == read_manifest(clean)


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_multi_view_family_rows_equal_each_image_alone(tmp_path, backend):
    """Qwen2-VL concatenates patch rows over a batch: the runner cuts them back per image (varying row counts
    stored one tensor per row), so read_row equals the image processed alone, for every output key."""
    qwen = pixelprep.models.Qwen2VLImageProcessor(backend=backend, max_pixels=60_000)
    inputs = [PHOTOS[0], str(IMAGES / "tall_rgb_90x1200.jpg"), str(BROKEN / "garbage.jpg"), PHOTOS[1], str(IMAGES / "tiny_rgb_7x5.png")]
    result = run_job(qwen, inputs, str(tmp_path), shard_size=4, batch_size=3, log=io.StringIO())
    assert (result.failed, result.processed) == (1, 5)
    entries = [entry for entry in read_manifest(tmp_path) if "error" not in entry]
    assert [entry["source"] for entry in entries] == [p for p in inputs if "garbage" not in p]
    for entry in entries:
        alone = qwen(entry["source"], return_tensors="np")
        row = read_row(tmp_path, entry)
        assert row.keys() == {"pixel_values", "image_grid_thw"}
        for key in row:
            np.testing.assert_array_equal(row[key], alone[key])


def test_outputs_only_some_rows_have(tmp_path, processor):
    """An output only some images make (a multi-view family's crops, made only where an image needs them) is
    stored one tensor per row that has it, whichever row comes first: read_row gives each row exactly its keys."""
    made = {
        PHOTOS[0]: {"pixel_values": np.full((1, 3), 1.0)},
        PHOTOS[1]: {"pixel_values": np.full((1, 3), 2.0), "crops": np.full((2, 4), 2.0)},
        PHOTOS[2]: {"pixel_values": np.full((1, 3), 3.0), "crops": np.full((3, 4), 3.0)},
    }

    def engine(sources):
        return [({key: value.copy() for key, value in made[source.name].items()}, None) for source in sources]

    for order in (PHOTOS[:3], PHOTOS[2::-1]):  # the key missing from the first row, then from the last
        out = tmp_path / Path(order[0]).stem
        result = run_job(processor, order, str(out), shard_size=3, engine=engine, log=io.StringIO())
        assert (result.failed, result.processed) == (0, 3)
        for entry in read_manifest(out):
            row = read_row(out, entry)
            assert row.keys() == made[entry["source"]].keys()
            for key in row:
                np.testing.assert_array_equal(row[key], made[entry["source"]][key])
