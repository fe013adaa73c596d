"""``pixelprep run`` against hostile conditions: concurrent runs, kills during --overwrite, a full disk,
output folders that hold another job, inputs that fail in unusual ways, and environment problems."""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pixelprep import AutoImageProcessor, InvalidArgumentError, OutputError, OutputLockedError
from pixelprep.cli import main
from pixelprep.runner import JobLock, expand_inputs, process_sources, read_row

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "tests" / "fixtures" / "images"
GARBAGE = ROOT / "tests" / "fixtures" / "broken" / "garbage.jpg"
SMALL_IMAGES = [
    IMAGES / name
    for name in (
        "photo_rgb_251x167.bmp",
        "photo_rgb_251x167.webp",
        "gray_l_200x131.png",
        "tiny_rgb_7x5.png",
        "palette_p_opaque_240x160.png",
        "la_alpha_ramp_200x150.png",
        "single_pixel_rgb_1x1.png",
        "photo_rgb_301x200.png",
    )
]
HOST = socket.gethostname()

# The CLI with its first shard write held until a gate file appears: the run then holds --out for as long as a test needs.
GATED = """
import os, sys, time
from pixelprep.cli import main
gate, real_replace = sys.argv[1], os.replace
def replace(src, dst):
    while str(dst).endswith(".safetensors") and not os.path.exists(gate):
        time.sleep(0.01)
    real_replace(src, dst)
os.replace = replace
sys.exit(main(sys.argv[2:]))
"""

# The CLI, SIGKILLed by itself just before or after its n-th file system operation (rename, remove, fsync);
# n = 0 never kills and prints the operations as a JSON list. The patches only decide *when* it dies.
KILL_AT_OPERATION = """
import json, os, signal, sys
from pixelprep.cli import main
target, when, done = int(sys.argv[1]), sys.argv[2], []
def counted(name, real):
    def operation(*args, **kwargs):
        done.append(f"{name} {os.path.basename(args[0]) if isinstance(args[0], str) else ''}".strip())
        if len(done) == target and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*args, **kwargs)
        if len(done) == target and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return operation
for name in ("replace", "rename", "remove", "unlink", "fsync"):
    setattr(os, name, counted(name, getattr(os, name)))
code = main(sys.argv[3:])
print(json.dumps(done))
sys.exit(code)
"""

# The CLI with files limited to FSIZE bytes and SIGXFSZ ignored: a write past the limit fails with EFBIG, as on a full disk.
WITH_FILE_SIZE_LIMIT = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from pixelprep.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two small CLIP-like configs (32 and 24 pixels, different normalisation): fast, and with different outputs."""
    base = json.loads((ROOT / "examples" / "clip-vit-base-patch32" / "preprocessor_config.json").read_text())
    folder = tmp_path_factory.mktemp("models")
    changes = {
        "small": {"size": 32, "crop_size": 32},
        "other": {"size": 24, "crop_size": 24, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
    }
    paths = {}
    for name, change in changes.items():
        (folder / name).mkdir()
        (folder / name / "preprocessor_config.json").write_text(json.dumps({**base, **change}))
        paths[name] = str(folder / name)
    return paths


def image_folder(folder: Path, count: int, broken: tuple[int, ...] = ()) -> list[str]:
    """``count`` small images (garbage at the ``broken`` positions) in ``folder``; their paths in listing order."""
    folder.mkdir(parents=True)
    for i in range(count):
        source = GARBAGE if i in broken else SMALL_IMAGES[i % len(SMALL_IMAGES)]
        shutil.copy(source, folder / f"img{i:02d}{source.suffix}")
    return sorted(str(p) for p in folder.iterdir())


def run_args(inputs: list[str], model: str, out: Path, *extra: str) -> list[str]:
    common = ["--backend", "pil", "--shard-size", "2", "--batch-size", "2", "--workers", "1"]
    return ["run", *inputs, "--model", model, "--out", str(out), *common, *extra]


def read_manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def assert_complete(out: Path, model: str, sources: list[str], failed: set[str] = frozenset()) -> None:
    """``out`` holds the whole job of ``model`` on ``sources``: one entry per source in order, the ``failed`` ones errors,
    every other one reading back to what the model gives for that source alone, no shard that no entry uses."""
    processor = AutoImageProcessor.from_pretrained(model, backend="pil")
    manifest = read_manifest(out)
    assert [entry["source"] for entry in manifest] == sources
    assert {entry["source"] for entry in manifest if "error" in entry} == set(failed)
    assert len({entry["job"] for entry in manifest}) == 1 and json.loads((out / "run.json").read_text())["job"] == manifest[0]["job"]
    for entry in manifest:
        if "error" not in entry:
            expected = processor(entry["source"], return_tensors="np")["pixel_values"][0]
            np.testing.assert_array_equal(read_row(out, entry)["pixel_values"], expected)
    used = {entry["shard"] for entry in manifest if "error" not in entry}
    assert {p.name for p in out.iterdir() if p.name.startswith("shard-")} == used
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name or p.name.endswith(".discarded")]


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ------------------------------------------------------------------------------------------------ the lock


def test_two_runs_at_once_one_wins_the_other_is_refused(tmp_path, models):
    sources = image_folder(tmp_path / "images", 9, broken=(4,))
    out, gate = tmp_path / "out", tmp_path / "gate"
    args = run_args([str(tmp_path / "images")], models["small"], out)
    runs = [subprocess.Popen([sys.executable, "-c", GATED, str(gate), *args], stderr=subprocess.PIPE, text=True) for _ in range(2)]
    deadline = time.monotonic() + 60
    while all(run.poll() is None for run in runs) and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.touch()
    loser = next(run for run in runs if run.returncode is not None)
    winner = runs[1 - runs.index(loser)]
    assert winner.wait(60) == 1, winner.stderr.read()  # 1: the broken input failed, everything else was written
    assert loser.returncode == 2
    message = one_line(loser.stderr.read())
    assert message.startswith(f"pixelprep run: {out} is in use by another pixelprep run (pid {winner.pid} on {HOST}, started 20")
    assert_complete(out, models["small"], sources, failed={sources[4]})
    assert (out / "run.lock").read_bytes() == b""  # released: it names no holder
    assert main(args) == 1 and read_manifest(out)[4]["source"] == sources[4]  # the finished job: nothing to do


def test_a_killed_runs_lock_is_taken_over(tmp_path, models, capsys):
    sources = image_folder(tmp_path / "images", 5)
    out = tmp_path / "out"
    args = run_args([str(tmp_path / "images")], models["small"], out)
    holder = subprocess.Popen([sys.executable, "-c", GATED, str(tmp_path / "never"), *args], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not ((out / "run.lock").exists() and (out / "run.lock").read_bytes()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert json.loads((out / "run.lock").read_bytes())["pid"] == holder.pid
    with pytest.raises(OutputLockedError, match=f"pid {holder.pid} on {HOST}"):
        with JobLock(str(out)):
            pass
    holder.kill()
    assert holder.wait() == -signal.SIGKILL
    assert main(args) == 0
    assert f"taking over the lock of a run that ended without releasing it (pid {holder.pid} on {HOST}" in capsys.readouterr().err
    assert_complete(out, models["small"], sources)


def test_the_lock_without_flock(tmp_path, monkeypatch):
    """Where flock is not supported, an exclusively created owner file does the job; a dead holder's is taken over."""
    import fcntl

    def unsupported(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", unsupported)
    owner = tmp_path / "run.lock.owner"
    with JobLock(str(tmp_path)):
        assert json.loads(owner.read_text())["pid"] == os.getpid()
        with pytest.raises(OutputLockedError, match=f"pid {os.getpid()} on {HOST}"):
            JobLock(str(tmp_path)).__enter__()
    assert not owner.exists()
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_pid = int(ended.stdout)
    owner.write_text(json.dumps({"pid": dead_pid, "host": HOST, "started": "2026-01-01T00:00:00+00:00"}))
    messages: list[str] = []
    with JobLock(str(tmp_path), messages.append):
        assert json.loads(owner.read_text())["pid"] == os.getpid()
    assert len(messages) == 1 and f"pid {dead_pid} on {HOST}" in messages[0]
    # two runs judged the same dead holder's file stale; the other one has already replaced it with its own
    stale = json.dumps({"pid": dead_pid, "host": HOST, "started": "2026-01-01T00:00:00+00:00"}).encode()
    owner.write_text(json.dumps({"pid": os.getppid(), "host": HOST, "started": "2026-01-01T00:00:01+00:00"}))
    JobLock._move_aside(str(owner), stale)
    assert json.loads(owner.read_text())["pid"] == os.getppid() and not list(tmp_path.glob("*.stale-*"))
    JobLock._move_aside(str(owner), owner.read_bytes())  # the file it judged: removed
    assert not owner.exists()
    owner.write_text(json.dumps({"pid": 1, "host": "another-host", "started": "2026-01-01T00:00:00+00:00"}))
    with pytest.raises(OutputLockedError, match=f"pid 1 on another-host.*remove {owner}"):
        JobLock(str(tmp_path)).__enter__()  # a holder on another host cannot be checked: never taken over


def test_one_process_cannot_take_the_lock_twice(tmp_path):
    with JobLock(str(tmp_path)):
        with pytest.raises(OutputLockedError, match=f"pid {os.getpid()}"):
            JobLock(str(tmp_path)).__enter__()
    with JobLock(str(tmp_path)):  # released
        pass


# ------------------------------------------------------------------------------------------- job identity


def test_a_manifest_without_its_run_json_is_never_adopted(tmp_path, models, capsys):
    sources = image_folder(tmp_path / "images", 5)
    out = tmp_path / "out"
    assert main(run_args(sources, models["small"], out)) == 0
    (out / "run.json").unlink()
    (out / "notes.txt").write_text("the user's own file")
    capsys.readouterr()
    assert main(run_args(sources, models["other"], out)) == 2
    message = one_line(capsys.readouterr().err)
    assert f"--out {out} cannot be resumed: it holds manifest.jsonl, shard-00000.safetensors, shard-00001.safetensors ..." in message
    assert "no run.json" in message and "--overwrite" in message
    assert main(run_args(sources, models["small"], out)) == 2  # not even by the job that wrote it: nothing says it did
    assert main(run_args(sources, models["other"], out, "--overwrite")) == 0
    assert_complete(out, models["other"], sources)
    assert (out / "notes.txt").read_text() == "the user's own file"  # --overwrite deletes job files only


def test_a_manifest_of_another_job_is_refused(tmp_path, models, capsys):
    sources = image_folder(tmp_path / "images", 4)
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(run_args(sources, models["small"], first)) == 0
    assert main(run_args(sources, models["other"], second)) == 0
    shutil.copy(first / "manifest.jsonl", second / "manifest.jsonl")
    capsys.readouterr()
    assert main(run_args(sources, models["other"], second)) == 2
    assert "manifest.jsonl holds entries of job" in one_line(capsys.readouterr().err)


def test_a_manifest_that_does_not_match_the_inputs_is_redone(tmp_path, models, capsys):
    """What two unlocked writers left: as many lines as inputs, some twice, some missing. Not "nothing to do"."""
    sources = image_folder(tmp_path / "images", 8, broken=(5,))
    out = tmp_path / "out"
    assert main(run_args(sources, models["small"], out)) == 1
    lines = (out / "manifest.jsonl").read_text().splitlines(keepends=True)
    (out / "manifest.jsonl").write_text("".join(lines[:4] + lines[2:6]))
    capsys.readouterr()
    assert main(run_args(sources, models["small"], out)) == 1
    assert f"an entry for {sources[2]!r} where {sources[4]!r} was expected; redoing it" in capsys.readouterr().err
    assert_complete(out, models["small"], sources, failed={sources[5]})
    (out / "shard-00003.safetensors").unlink()  # and an entry pointing to a missing shard is redone, not adopted
    assert main(run_args(sources, models["small"], out)) == 1
    assert_complete(out, models["small"], sources, failed={sources[5]})


def test_sigkill_at_random_moments_of_overwrite(tmp_path, models):
    """Replace a finished job by another with --overwrite, SIGKILLed at seeded random file system operations (most
    of them in the clean-up of the old job). After each kill --out holds the old job whole or a clean start:
    rerunning the new job without --overwrite either refuses (and the old job reads back whole) or completes
    it, and with --overwrite always completes it. Nothing lost, nothing of the old model's mixed in."""
    sources = image_folder(tmp_path / "images", 5, broken=(3,))
    old, new = models["small"], models["other"]
    template = tmp_path / "old-job"
    assert main(run_args(sources, old, template)) == 1
    uninterrupted = tmp_path / "uninterrupted"
    shutil.copytree(template, uninterrupted)
    overwrite = [sys.executable, "-c", KILL_AT_OPERATION]
    listed = subprocess.run([*overwrite, "0", "-", *run_args(sources, new, uninterrupted, "--overwrite")], capture_output=True, text=True)
    assert listed.returncode == 1, listed.stderr
    assert_complete(uninterrupted, new, sources, failed={sources[3]})
    operations = json.loads(listed.stdout)
    # the old job's clean-up: everything up to the new run.json's rename
    cleanup = operations.index(next(op for op in operations if op.startswith("replace run.json.tmp-"))) + 1
    assert "remove manifest.jsonl" in operations[:cleanup] and cleanup >= 5
    rng = random.Random(20261201)
    moments = [(1, "before")]  # the only moment that leaves the old job in place
    moments += [(operations.index("remove manifest.jsonl") + 1, "before")]  # the old job's run.json gone, its manifest not yet
    moments += [(n, rng.choice(["before", "after"])) for n in rng.sample(range(2, cleanup + 1), 3)]
    moments += [(n, rng.choice(["before", "after"])) for n in rng.sample(range(cleanup + 1, len(operations) + 1), 1)]
    outcomes = set()
    for n, when in moments:
        out = tmp_path / f"killed-{when}-{n}"
        shutil.copytree(template, out)
        killed = subprocess.run([*overwrite, str(n), when, *run_args(sources, new, out, "--overwrite")], capture_output=True)
        assert killed.returncode == -signal.SIGKILL, (n, when, killed.stderr)
        code = main(run_args(sources, new, out))
        outcomes.add(code)
        if code == 2:  # killed before the old job was set aside: it is still there, whole
            assert_complete(out, old, sources, failed={sources[3]})
        else:
            assert code == 1, (n, when, operations[n - 1])
            assert_complete(out, new, sources, failed={sources[3]})
        assert main(run_args(sources, new, out, "--overwrite")) == 1
        assert_complete(out, new, sources, failed={sources[3]})
    assert outcomes == {1, 2}


# ---------------------------------------------------------------------------------------- inputs that fail


class _BadStatusLine(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(4096)
        self.request.sendall(b"HELLO\r\n\r\n")


def test_any_failing_input_is_an_error_row_and_the_job_goes_on(tmp_path, models, capsys, no_network):
    """A URL answering with a bad status line, Parquet rows behind a corrupt page, a file name that is not UTF-8."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    server = socketserver.TCPServer(("127.0.0.1", 0), _BadStatusLine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/cat.jpg"
    cells = [{"bytes": SMALL_IMAGES[i].read_bytes(), "path": None} for i in range(6)]
    parquet = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"image": cells}), parquet, row_group_size=2, compression="none")
    second_group = pq.ParquetFile(parquet).metadata.row_group(1).column(0).data_page_offset
    data = bytearray(parquet.read_bytes())
    data[second_group : second_group + 16] = b"\xff" * 16  # the page header of rows 2-3: undecodable
    parquet.write_bytes(bytes(data))
    folder = tmp_path / "names"
    folder.mkdir()
    odd_name = os.path.join(os.fsencode(folder), b"caf\xe9.png")  # Latin-1 bytes: not a valid UTF-8 file name
    shutil.copy(SMALL_IMAGES[0], odd_name)
    inputs = [SMALL_IMAGES[1].as_posix(), url, str(parquet), str(folder)]
    out = tmp_path / "out"
    try:
        assert main(run_args(inputs, models["small"], out)) == 1
        err = capsys.readouterr().err
        rows = [f"{parquet}#{i}" for i in range(6)]
        sources = [inputs[0], url, *rows, os.fsdecode(odd_name)]
        manifest = read_manifest(out)
        assert [entry["source"] for entry in manifest] == sources
        assert [("error" in entry) for entry in manifest] == [False, True, False, False, True, True, False, False, False]
        assert f"failed: {url}" in err
        assert "Couldn't deserialize thrift" in manifest[4]["error"] and manifest[4]["error"].startswith(f"{parquet}#2")
        processor = AutoImageProcessor.from_pretrained(models["small"], backend="pil")
        for entry, image in zip([manifest[i] for i in (2, 3, 6, 7)], [cells[i]["bytes"] for i in (0, 1, 4, 5)]):
            np.testing.assert_array_equal(read_row(out, entry)["pixel_values"], processor(image, return_tensors="np")["pixel_values"][0])
        alone = processor(str(SMALL_IMAGES[0]), return_tensors="np")["pixel_values"][0]
        np.testing.assert_array_equal(read_row(out, manifest[8])["pixel_values"], alone)
        assert main(run_args(inputs, models["small"], out)) == 1  # the rerun: nothing to do, the same failures
        assert "nothing to do, all 9 inputs" in capsys.readouterr().err
    finally:
        server.shutdown()
        server.server_close()


def test_table_rows_that_break_after_listing_are_error_rows(tmp_path, models):
    """An Arrow stream (a saved dataset's file) cut short after the job listed it: the rows before the break are
    processed, the rest are errors (a stream cannot be read past a broken message); a Parquet file gone: all errors."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    cells = [{"bytes": SMALL_IMAGES[i].read_bytes(), "path": None} for i in range(4)]
    table = pa.table({"image": cells})
    arrow, parquet = tmp_path / "rows.arrow", tmp_path / "rows.parquet"
    with pa.OSFile(str(arrow), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=2):
            writer.write_batch(batch)
    pq.write_table(table, parquet)
    sources = list(expand_inputs([str(arrow), str(parquet)]))
    assert len(sources) == 8
    arrow.write_bytes(arrow.read_bytes()[: arrow.stat().st_size - 500])  # the second record batch loses its end
    parquet.unlink()
    processor = AutoImageProcessor.from_pretrained(models["small"], backend="pil")
    outcomes = process_sources(processor, sources)
    for (tensors, error), cell in zip(outcomes[:2], cells):
        assert error is None
        np.testing.assert_array_equal(tensors["pixel_values"], processor(cell["bytes"], return_tensors="np")["pixel_values"][0])
    for row, (tensors, error) in enumerate(outcomes[2:4], start=2):
        assert tensors is None and error.startswith(f"{arrow}#{row}: cannot read the 'image' column there")
    assert all(tensors is None and "FileNotFoundError" in error for tensors, error in outcomes[4:])


def test_a_source_named_error_is_not_a_failure(tmp_path, models, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(SMALL_IMAGES[0], tmp_path / "error")
    assert main(run_args(["error"], models["small"], tmp_path / "out")) == 0
    assert read_manifest(tmp_path / "out")[0]["source"] == "error"
    assert main(run_args(["error"], models["small"], tmp_path / "out")) == 0  # failures are entries with an error, not the text


# ------------------------------------------------------------------------------------- environment problems


def _garbage_table(tmp_path: Path, suffix: str) -> tuple[list[str], str]:
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(b"these bytes are not a table" * 10)
    return [str(path)], f"{path}: not a readable"


def _bad_state(tmp_path: Path) -> tuple[list[str], str]:
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "state.json").write_text('{"_data_files": [{"file": "x.arrow"}]}')
    return [str(tmp_path / "ds")], f"{tmp_path / 'ds' / 'state.json'}: not a readable datasets state file (KeyError"


def _list_not_utf8(tmp_path: Path) -> tuple[list[str], str]:
    (tmp_path / "list.txt").write_bytes(b"caf\xe9.jpg\n")
    return [f"@{tmp_path / 'list.txt'}"], f"@{tmp_path / 'list.txt'}: not UTF-8 text (byte 3)"


def _list_includes_itself(tmp_path: Path) -> tuple[list[str], str]:
    (tmp_path / "a.txt").write_text(f"{SMALL_IMAGES[0]}\n@{tmp_path / 'b.txt'}\n")
    (tmp_path / "b.txt").write_text(f"@{tmp_path / 'a.txt'}\n")
    return [f"@{tmp_path / 'a.txt'}"], f"@{tmp_path / 'a.txt'} includes itself (through {tmp_path / 'a.txt'} -> {tmp_path / 'b.txt'})"


@pytest.mark.parametrize(
    "make_inputs",
    [lambda p: _garbage_table(p, ".parquet"), lambda p: _garbage_table(p, ".arrow"), _bad_state, _list_not_utf8, _list_includes_itself],
    ids=["garbage parquet", "garbage arrow", "bad state.json", "list not utf-8", "list includes itself"],
)
def test_inputs_that_cannot_be_listed_exit_2_with_one_line(tmp_path, models, capsys, make_inputs):
    inputs, expected = make_inputs(tmp_path)
    assert main(run_args(inputs, models["small"], tmp_path / "out")) == 2
    assert one_line(capsys.readouterr().err).startswith(f"pixelprep run: {expected}")
    assert not (tmp_path / "out").exists()  # nothing is written before the inputs are listed


def test_output_folder_problems_exit_2_with_one_line(tmp_path, models, capsys):
    sources = image_folder(tmp_path / "images", 3)
    file = tmp_path / "file.txt"
    file.write_text("not a folder")
    assert main(run_args(sources, models["small"], file)) == 2
    assert one_line(capsys.readouterr().err) == f"pixelprep run: --out {file} is a file, not a folder"
    assert main(run_args(sources, models["small"], file / "out")) == 2
    assert one_line(capsys.readouterr().err) == f"pixelprep run: cannot create the output folder {file / 'out'}: Not a directory"
    out = tmp_path / "out"
    assert main(run_args(sources, models["small"], out)) == 0
    (out / "run.json").write_text('{"job": "abc", ')  # torn by hand: run.json itself is always replaced atomically
    capsys.readouterr()
    assert main(run_args(sources, models["small"], out)) == 2
    message = one_line(capsys.readouterr().err)
    assert f"--out {out} cannot be resumed: its run.json is corrupt" in message and "--overwrite" in message
    assert main(run_args(sources, models["small"], out, "--overwrite")) == 0
    assert_complete(out, models["small"], sources)
    with pytest.raises(OutputError, match="is a file, not a folder"):  # the Python API raises the same, as our error
        from pixelprep.runner import run_job

        run_job(AutoImageProcessor.from_pretrained(models["small"], backend="pil"), sources, str(file))


def test_explain_out_under_a_file_exits_2(tmp_path, models, capsys):
    file = tmp_path / "file.txt"
    file.write_text("not a folder")
    explain = ["explain", str(SMALL_IMAGES[0]), "--model", models["small"], "--backend", "pil", "--out"]
    assert main([*explain, str(file / "steps.png")]) == 2
    assert one_line(capsys.readouterr().err) == f"pixelprep explain: cannot write {file / 'steps.png'}: Not a directory"
    assert main([*explain, str(tmp_path / "steps.nosuchformat")]) == 2
    assert one_line(capsys.readouterr().err).startswith(f"pixelprep explain: cannot write {tmp_path / 'steps.nosuchformat'}: unknown file extension")


def test_a_bug_exits_3_with_its_traceback_not_1(tmp_path, models, capsys, monkeypatch):
    """1 means "some inputs failed": an unexpected exception must not look like that."""
    import pixelprep.runner

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(pixelprep.runner, "run_job", broken)
    assert main(run_args([str(SMALL_IMAGES[0])], models["small"], tmp_path / "out")) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: a bug" in err and err.strip().endswith("internal error (a bug in pixelprep; the traceback is above)")


def test_a_full_disk_stops_the_job_with_exit_2_and_a_rerun_completes_it(tmp_path, models):
    """Files limited to 30 kB: the first shard (one image, about 12 kB) fits, the second (four images, about 49 kB) does not."""
    sources = image_folder(tmp_path / "images", 8, broken=(0, 1, 2))
    out = tmp_path / "out"
    args = [*run_args([str(tmp_path / "images")], models["small"], out), "--shard-size", "4"]
    full = subprocess.run([sys.executable, "-c", WITH_FILE_SIZE_LIMIT, "30000", *args], capture_output=True, text=True)
    assert full.returncode == 2, full.stderr
    message = full.stderr.strip().splitlines()[-1]
    assert message == f"pixelprep run: cannot write {out / 'shard-00001.safetensors'}: File too large; make room and rerun the same command to resume"
    assert "Traceback" not in full.stderr
    assert not list(out.glob("*.tmp-*"))  # the half-written shard was removed
    assert len(read_manifest(out)) == 4  # the first chunk is done and kept
    assert main(args) == 1
    assert_complete(out, models["small"], sources, failed=set(sources[:3]))


# ---------------------------------------------------------------------------------------------- read_row


def test_read_row_raises_our_errors(tmp_path, models):
    sources = image_folder(tmp_path / "images", 3)
    out = tmp_path / "out"
    assert main(run_args(sources, models["small"], out)) == 0
    entry = read_manifest(out)[2]  # row 0 of the second shard, which holds one row
    assert read_row(out, entry)["pixel_values"].shape == (3, 32, 32)
    for bad in ({**entry, "row": 1}, {**entry, "row": -1}, {**entry, "row": "0"}, {**entry, "shard": "../out/shard-00001.safetensors"}, {"row": 0}):
        with pytest.raises(InvalidArgumentError):
            read_row(out, bad)
    with pytest.raises(InvalidArgumentError, match="has no row 1"):
        read_row(out, {**entry, "row": 1})
    with pytest.raises(OutputError, match="shard-00009.safetensors does not exist"):
        read_row(out, {**entry, "shard": "shard-00009.safetensors"})
    (out / "shard-00001.safetensors").write_bytes(b"garbage")
    with pytest.raises(OutputError, match="not a readable shard"):
        read_row(out, entry)
