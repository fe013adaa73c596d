"""The dataset runner behind ``pixelprep run``: inputs in, sharded safetensors and a manifest out.

Crash safety rests on two facts. Inputs are listed in a fixed order and cut into fixed chunks of
``shard_size``, so chunk ``k`` always becomes ``shard-k``. And a chunk's manifest lines (one per
input, in order) are appended only after its shard file is durable. On restart, the manifest's
complete lines that match the inputs say how many whole chunks are done; the rest is cut off and redone.

A job has an identity: ``run.json`` records its settings and a job id derived from them, and every
manifest line carries that id, so a manifest is only ever resumed by the job that wrote it. One run
at a time holds ``run.lock`` on the output folder (an OS lock the kernel drops when the holder dies).

Memory stays bounded by the batch and shard sizes: the input list holds names and locations only,
images are read a batch at a time, and table files are read forwards (Arrow files memory-mapped,
Parquet files at most a row group at a time).
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import datetime
import errno
import functools
import glob
import hashlib
import itertools
import json
import math
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .errors import ImageDecodeError, InvalidArgumentError, OutputError, OutputLockedError, PixelprepError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
TABLE_EXTENSIONS = (".parquet", ".arrow")
MANIFEST = "manifest.jsonl"
RUN_FILE = "run.json"
LOCK_FILE = "run.lock"
# run.json renamed aside: the first, atomic step of --overwrite. While it exists, the folder's job files
# belong to no job and the next run finishes deleting them.
DISCARDED_RUN_FILE = "run.json.discarded"
# Rows read from a Parquet file at a time: the most image bytes a reader holds is this many cells.
PARQUET_READ_ROWS = 64


@dataclass(frozen=True)
class Source:
    """One input: its name in the manifest, and where its image is (a file, or a row of a table file's image column)."""

    name: str
    path: str
    column: str | None = None
    row: int = 0

    def load(self) -> Any:
        """What the processor takes for this input: the file's path, or the table cell's bytes (or path)."""
        if self.column is None:
            return self.path
        from .integrations.loaders import image_from_record

        return image_from_record(_column_reader(self.path, self.column).value(self.row))

    def to_json(self) -> str:
        """The source as a JSON string (how the Ray engine ships it to its actors)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Source:
        """The inverse of :meth:`to_json`."""
        return cls(**json.loads(text))


# ----------------------------------------------------------------------------------------------- inputs


class _ColumnReader:
    """One column of a Parquet or Arrow stream file, read forwards a record batch at a time.

    The runner asks for rows in increasing order, so holding one record batch is enough; a row
    before the current batch (a Ray actor given an earlier range) reopens the file. A part of the
    file that cannot be read (a corrupt page) fails only its own rows: the rest of its Parquet row
    group, or the rest of an Arrow stream, which cannot be read past a broken message.
    """

    def __init__(self, path: str, column: str) -> None:
        self.path, self.column = path, column
        self.lock = threading.Lock()
        self.unreadable: tuple[int, float, str] | None = None  # rows [first, end) and why
        self._open_at(0)

    def _open_at(self, row: int) -> None:
        """Position the reader at the start of the row group (Parquet) or file (Arrow) holding ``row``."""
        self.values: Any = []
        if self.path.endswith(".parquet"):
            import pyarrow.parquet as pq

            # No pre-buffering and a buffered stream: Arrow then holds one row group's pages, not the whole file.
            parquet = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
            sizes = [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)]
            self.group_starts = list(itertools.accumulate(sizes, initial=0))
            group = bisect.bisect_right(self.group_starts, row) - 1
            self.start = self.group_starts[group]
            # One row group at a time: a batch never spans two, so a corrupt page costs rows of its own group only.
            groups = (parquet.iter_batches(batch_size=PARQUET_READ_ROWS, columns=[self.column], row_groups=[g]) for g in range(group, len(sizes)))
            self.batches = (batch.column(0) for batches in groups for batch in batches)
        else:
            import pyarrow as pa

            # Arrow stream files are memory-mapped: a record batch is a view of the file, not a copy.
            reader = pa.ipc.open_stream(pa.memory_map(self.path))
            self.batches = (batch.column(self.column) for batch in reader)
            self.start = 0

    def _unreadable_from(self, first: int, error: Exception) -> None:
        """Mark the rows from ``first`` to the end of their row group (Parquet, read on from the next) or of the file (Arrow) unreadable."""
        if self.path.endswith(".parquet"):
            end = self.group_starts[min(bisect.bisect_right(self.group_starts, first), len(self.group_starts) - 1)]
            self.unreadable = (first, end, f"{type(error).__name__}: {error}")
            self._open_at(end)
        else:
            self.unreadable = (first, math.inf, f"{type(error).__name__}: {error}")
            self.batches, self.start, self.values = iter(()), first, []

    def value(self, row: int) -> Any:
        """The cell at ``row`` as a Python value (``{"bytes", "path"}`` dict, bytes or a path)."""
        with self.lock:
            while True:
                if self.unreadable and self.unreadable[0] <= row < self.unreadable[1]:
                    raise ImageDecodeError(f"{self.path}#{row}: cannot read the {self.column!r} column there: {self.unreadable[2]}")
                if row < self.start:
                    self._open_at(row)
                if row < self.start + len(self.values):
                    return self.values[row - self.start].as_py()
                self.start += len(self.values)
                self.values = []
                try:
                    values = next(self.batches, None)
                except Exception as error:  # pyarrow raises several types (OSError, ArrowInvalid, ...) for a corrupt page
                    self._unreadable_from(self.start, error)
                    continue
                if values is None:
                    raise InvalidArgumentError(f"{self.path} has no row {row}")
                self.values = values


@functools.lru_cache(maxsize=4)
def _column_reader(path: str, column: str) -> _ColumnReader:
    return _ColumnReader(path, column)


def _image_column(schema: Any, column: str | None, where: str) -> str:
    """``column`` checked against ``schema``, or the first column holding encoded images (binary or ``{bytes, path}``)."""
    if column is not None:
        if column not in schema.names:
            raise InvalidArgumentError(f"{where}: no column {column!r}; columns are {schema.names}")
        return column
    import pyarrow as pa

    for field in schema:
        is_struct = pa.types.is_struct(field.type) and "bytes" in [f.name for f in field.type]
        if is_struct or pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            return field.name
    raise InvalidArgumentError(f"{where}: no image column found (binary or {{bytes, path}}); pass --column")


def _table_sources(path: str, column: str | None) -> Iterator[Source]:
    """One source per row of a Parquet or Arrow stream file; only the row count is read here, never the cells."""
    kind = "Parquet" if path.endswith(".parquet") else "Arrow stream"
    try:
        if path.endswith(".parquet"):
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(path)
            schema, rows = parquet.schema_arrow, parquet.metadata.num_rows
        else:
            import pyarrow as pa

            with pa.memory_map(path) as mapped:
                reader = pa.ipc.open_stream(mapped)
                schema, rows = reader.schema, sum(batch.num_rows for batch in reader)
    except Exception as error:  # pyarrow's errors for unreadable files are of several types, none of them ours
        raise InvalidArgumentError(f"{path}: not a readable {kind} file ({type(error).__name__}: {error})") from error
    name = _image_column(schema, column, path)
    return (Source(f"{path}#{row}", path, name, row) for row in range(rows))


def _saved_dataset_files(folder: str) -> list[str]:
    """The Arrow files of a Hugging Face ``datasets`` dataset written by ``save_to_disk``, in order."""
    state = os.path.join(folder, "state.json")
    try:
        with open(state, encoding="utf-8") as handle:
            return [os.path.join(folder, entry["filename"]) for entry in json.load(handle)["_data_files"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InvalidArgumentError(f"{state}: not a readable datasets state file ({type(error).__name__}: {error})") from error


def _list_file_lines(path: str, open_lists: tuple[str, ...]) -> list[str]:
    """The paths an ``@list`` file names (one a line, ``#`` comments), refusing lists that include themselves."""
    if os.path.realpath(path) in open_lists:
        raise InvalidArgumentError(f"@{path} includes itself (through {' -> '.join(open_lists)})")
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidArgumentError(f"@{path}: not UTF-8 text (byte {error.start}); write list files in UTF-8") from error
    except OSError as error:
        raise InvalidArgumentError(f"@{path}: cannot read the list file: {error.strerror or error}") from error
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _walk(folder: str) -> Iterator[str]:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(IMAGE_EXTENSIONS):
                yield os.path.join(root, name)


def expand_inputs(inputs: Sequence[str], column: str | None = None) -> Iterator[Source]:
    """Every image named by ``inputs``: files, folders (recursive), globs, ``@list.txt`` files (one path a line),
    rows of ``.parquet``/``.arrow`` files and of saved ``datasets`` folders (image column detected or ``column``).

    Raises :class:`InvalidArgumentError` for inputs that cannot be listed (a list file that is missing,
    not UTF-8 or includes itself; an unreadable table file or datasets state); a missing image file is
    listed, and becomes an error row when it is processed.
    """
    return _expand(inputs, column, ())


def _expand(inputs: Sequence[str], column: str | None, open_lists: tuple[str, ...]) -> Iterator[Source]:
    for item in inputs:
        if item.startswith("@"):
            lines = _list_file_lines(item[1:], open_lists)
            yield from _expand(lines, column, (*open_lists, os.path.realpath(item[1:])))
        elif item.endswith(TABLE_EXTENSIONS) and os.path.isfile(item):
            yield from _table_sources(item, column)
        elif os.path.isdir(item) and os.path.isfile(os.path.join(item, "state.json")):
            for path in _saved_dataset_files(item):
                yield from _table_sources(path, column)
        elif os.path.isdir(item):
            yield from (Source(p, p) for p in _walk(item))
        elif glob.has_magic(item):
            yield from (Source(p, p) for p in sorted(glob.glob(item, recursive=True)) if os.path.isfile(p))
        else:
            yield Source(item, item)  # a missing file becomes an error row, not a crash


# ------------------------------------------------------------------------------------------ durability


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one, never a torn one."""
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):  # a full disk keeps no half-written file (a SIGKILL's is removed on rerun)
            os.remove(temporary)
        raise
    _fsync_dir(os.path.dirname(path) or ".")


def _append_durably(path: str, data: bytes) -> None:
    """Append ``data`` to ``path`` and wait until it is on disk."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _output_step(what: str) -> Iterator[None]:
    """Turn an OSError while doing ``what`` to the output folder into one :class:`OutputError` that says so."""
    try:
        yield
    except PixelprepError:
        raise
    except OSError as error:
        hint = "; make room and rerun the same command to resume" if error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) else ""
        raise OutputError(f"cannot {what}: {error.strerror or error}{hint}") from error


def _manifest_lines(path: str) -> list[tuple[bytes, dict[str, Any]]]:
    """The manifest's lines and their entries, up to the first torn or unparsable line."""
    if not os.path.exists(path):
        return []
    entries = []
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            try:
                entry = json.loads(line)
            except ValueError:  # bad JSON or bytes that are not UTF-8: a torn write
                break
            if not isinstance(entry, dict):
                break
            entries.append((line, entry))
    return entries


# -------------------------------------------------------------------------------------------- engines

# One input's outcome: (tensors, None) when processed, (None, error message) when not.
Outcome = tuple["dict[str, np.ndarray] | None", "str | None"]
# An engine turns a list of sources into their outcomes, yielded in the same order.
Engine = Callable[[Sequence[Source]], Iterable[Outcome]]


def _pads_to_the_batch(processor: Any) -> bool:
    """Whether an image's output depends on its batch-mates (padding to the largest image of the batch), or a
    multi-view family's batch output cannot be cut back into per-image outputs."""
    params = processor.resolve()
    if getattr(processor, "sizes_depend_on_batch", False):  # e.g. text lines resized to the batch's widest (PP-OCR recognition)
        return True
    split_batch = getattr(processor, "split_batch", None)
    if split_batch is not None:
        return not processor.can_split_batch(params)
    return processor.pads_batch(params) and params.get("pad_size") is None


def _error_text(error: Exception) -> str:
    """An input's error as one line; a dependency's message may be a bare value ("HELLO"), so it gets its type."""
    text = str(error) if isinstance(error, PixelprepError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split())


def process_batch(processor: Any, items: list[Any]) -> list[Outcome]:
    """Process items as one batch; if the batch fails, redo it item by item so one bad input costs only itself.

    Each outcome equals what the processor returns for that item alone: a processor that pads to the
    batch gets its items one at a time. Any exception an item raises becomes its error: a broken input
    must never stop a job.
    """
    if len(items) > 1 and _pads_to_the_batch(processor):
        return [outcome for item in items for outcome in process_batch(processor, [item])]
    try:
        outputs = processor(items, return_tensors="np")
    except Exception as error:
        if len(items) == 1:
            return [(None, _error_text(error))]
        return [outcome for item in items for outcome in process_batch(processor, [item])]
    split_batch = getattr(processor, "split_batch", None)
    if split_batch is not None:  # multi-view families: outputs concatenated over the batch (Qwen's patch rows, ...)
        return [({k: np.asarray(v) for k, v in row.items()}, None) for row in split_batch(outputs, len(items))]
    # images of different output sizes come back as a list of arrays rather than one stacked array; text outputs
    # (OneFormer's task prompts for its tokenizer) are not tensors and are not stored
    tensors = {k: v for k, v in outputs.items() if (isinstance(v, list) and not all(isinstance(x, str) for x in v)) or hasattr(v, "shape")}
    return [({k: np.asarray(v[i]) for k, v in tensors.items()}, None) for i in range(len(items))]


def process_sources(processor: Any, sources: Sequence[Source]) -> list[Outcome]:
    """Load and process sources as one batch; a source that cannot be loaded (an unreadable table row) gets its error."""
    outcomes: list[Outcome] = [(None, None)] * len(sources)
    items, positions = [], []
    for position, source in enumerate(sources):
        try:
            items.append(source.load())
            positions.append(position)
        except Exception as error:
            outcomes[position] = (None, _error_text(error))
    for position, outcome in zip(positions, process_batch(processor, items) if items else []):
        outcomes[position] = outcome
    return outcomes


def local_engine(processor: Any, batch_size: int) -> Engine:
    """Process sources in this process, ``batch_size`` at a time (the processor's own threads decode and resize)."""

    def process(sources: Sequence[Source]) -> Iterator[Outcome]:
        for start in range(0, len(sources), batch_size):
            yield from process_sources(processor, sources[start : start + batch_size])

    return process


# -------------------------------------------------------------------------------------------- the job


@dataclass
class RunResult:
    """What a run did: inputs seen, processed now, failed (in total), shards written now, and already done before."""

    total: int
    processed: int
    failed: int
    shards_written: int
    skipped: int


class Progress:
    """A tqdm bar (images, images/s, ETA) on a terminal, plain periodic lines otherwise."""

    def __init__(self, total: int, done: int, stream: Any = None, every_s: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.total, self.done, self.every_s = total, done, every_s
        self.start, self.last, self.start_done = time.monotonic(), 0.0, done
        self.bar = None
        if hasattr(self.stream, "isatty") and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="img", file=self.stream, dynamic_ncols=True)

    def update(self, count: int) -> None:
        """Count ``count`` more images done."""
        self.done += count
        if self.bar is not None:
            self.bar.update(count)
            return
        now = time.monotonic()
        if now - self.last >= self.every_s or self.done == self.total:
            rate = (self.done - self.start_done) / max(now - self.start, 1e-9)
            eta = f"{(self.total - self.done) / rate:.0f}s" if rate > 0 else "?"
            print(f"pixelprep: {self.done}/{self.total} images, {rate:.1f} img/s, ETA {eta}", file=self.stream, flush=True)
            self.last = now

    def message(self, text: str) -> None:
        """Print a line without breaking the bar."""
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """Finish the bar."""
        if self.bar is not None:
            self.bar.close()


# ------------------------------------------------------------------------------------------- the lock

# flock's errors on file systems that do not support it (some NFS and FUSE mounts).
_NO_FLOCK = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


def _holder_record() -> bytes:
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": started}).encode()


def _describe_holder(record: bytes) -> str:
    try:
        holder = json.loads(record)
        return f"pid {holder['pid']} on {holder['host']}, started {holder['started']}"
    except (ValueError, KeyError, TypeError):
        return "a run that has not yet written who it is"


class JobLock:
    """The one-run-at-a-time lock on an output folder, held from before ``run.json`` is read until the job ends.

    ``run.lock`` is locked with ``flock``, which the kernel releases when the holder exits, SIGKILL
    included, so a killed run's lock is simply taken over; the file names the holder (pid, host, start
    time) for the message a refused run prints, and is emptied on release. Where ``flock`` is not
    available, ``run.lock.owner`` is created exclusively instead and taken over when its holder, on
    this host, is no longer running.
    """

    def __init__(self, out: str, log: Callable[[str], None] | None = None) -> None:
        self.out, self.log = out, log or (lambda text: print(text, file=sys.stderr, flush=True))
        self.path = os.path.join(out, LOCK_FILE)
        self.fd: int | None = None
        self.owner_file: str | None = None

    def __enter__(self) -> JobLock:
        with _output_step(f"lock {self.path}"):
            if not self._flock():
                self._owner_file()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)  # a released lock names no holder: what a later run finds there is stale
            os.close(self.fd)  # releases the flock
            self.fd = None
        if self.owner_file is not None:
            with contextlib.suppress(OSError):
                os.remove(self.owner_file)
            self.owner_file = None

    def _refuse(self, record: bytes, hint: str = "") -> None:
        raise OutputLockedError(
            f"{self.out} is in use by another pixelprep run ({_describe_holder(record)}); wait for it to end, or stop it{hint}"
        )

    def _flock(self) -> bool:
        """Take the flock; False where the platform or file system has none."""
        try:
            import fcntl
        except ImportError:
            return False
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            self._refuse(self._read_record(self.path))
        except OSError as error:
            os.close(fd)
            if error.errno in _NO_FLOCK:
                return False
            raise
        try:
            previous = os.pread(fd, 4096, 0)
            os.ftruncate(fd, 0)
            os.pwrite(fd, _holder_record(), 0)
        except BaseException:
            os.close(fd)  # a lock this run cannot record is not kept
            raise
        self.fd = fd
        if previous.strip():
            self.log(f"pixelprep: taking over the lock of a run that ended without releasing it ({_describe_holder(previous)})")
        return True

    @staticmethod
    def _read_record(path: str) -> bytes:
        # The holder writes its record right after locking: give it a moment before calling it unknown.
        for _ in range(20):
            with contextlib.suppress(FileNotFoundError), open(path, "rb") as handle:
                record = handle.read(4096)
                if record.strip():
                    return record
            time.sleep(0.05)
        return b""

    def _owner_file(self) -> None:
        """The fallback lock: an exclusively created file naming the holder; a dead holder's file is taken over."""
        path = self.path + ".owner"
        for _ in range(5):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                record = self._read_record(path)
                if not self._holder_is_gone(record):
                    self._refuse(record, f" (if no run is using {self.out}, remove {path})")
                self.log(f"pixelprep: taking over the lock of a run that is no longer running ({_describe_holder(record)})")
                self._move_aside(path, record)
                continue
            try:
                os.write(fd, _holder_record())
                os.fsync(fd)
            except BaseException:
                os.close(fd)
                os.remove(path)  # an owner file naming no one would block every later run
                raise
            os.close(fd)
            self.owner_file = path
            return
        self._refuse(self._read_record(path))

    @staticmethod
    def _move_aside(path: str, record: bytes) -> None:
        """Remove the dead holder's owner file ``record`` was read from; if another run took it over first and
        what is there now is that run's, put it back."""
        aside = f"{path}.stale-{os.getpid()}"
        try:
            os.rename(path, aside)  # of runs taking over at once, one rename wins
        except FileNotFoundError:
            return
        with open(aside, "rb") as handle:
            moved = handle.read()
        if moved != record:
            with contextlib.suppress(FileExistsError):
                os.link(aside, path)
        os.remove(aside)

    @staticmethod
    def _holder_is_gone(record: bytes) -> bool:
        """Whether the run a lock record names has certainly ended: it ran on this host and its pid is gone."""
        try:
            holder = json.loads(record)
            pid, host = int(holder["pid"]), holder["host"]
        except (ValueError, KeyError, TypeError):
            return False
        if host != socket.gethostname() or os.name != "posix":  # elsewhere, signal 0 does not merely probe
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # alive, but another user's
            return False
        return False


# -------------------------------------------------------------------------------------------- the job


def _fingerprint(processor: Any, names: list[str], shard_size: int) -> dict[str, Any]:
    """What identifies a job, with ``job``: a hash of the rest, which every manifest line of the job carries."""
    digest = hashlib.sha256(json.dumps(names).encode()).hexdigest()  # JSON: unambiguous, and takes undecodable names
    settings = {
        "config": processor.to_dict(),
        "backend": processor.backend_name,
        "shard_size": shard_size,
        "inputs": len(names),
        "inputs_sha256": digest,
    }
    settings = json.loads(json.dumps(settings))  # as it reads back from run.json (tuples become lists ...)
    job = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    return {"job": job, **settings}


# A job's files besides run.json and the lock: shards, the manifest, and what write_atomic leaves when killed.
_JOB_FILE = re.compile(r"(shard-\d+\.safetensors|manifest\.jsonl)(\.tmp-\d+)?|run\.json(\.discarded)?\.tmp-\d+")


def _job_files(out: str) -> list[str]:
    """The names of the job files in ``out``; other files there are the user's and are left alone."""
    return sorted(name for name in os.listdir(out) if _JOB_FILE.fullmatch(name))


def _clear(out: str) -> None:
    """Delete a discarded job's files, then the marker that said they were being deleted."""
    for name in sorted(_job_files(out), key=lambda name: name != MANIFEST):  # the manifest first: nothing points at a deleted shard
        os.remove(os.path.join(out, name))
    _fsync_dir(out)
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(out, DISCARDED_RUN_FILE))
    _fsync_dir(out)


def _prepare_out(out: str, fingerprint: dict[str, Any], overwrite: bool, log: Callable[[str], None]) -> None:
    """Make ``out`` hold this job: keep it if it already does, start it if ``out`` holds no job files.

    Job files without a ``run.json`` naming this job are never adopted: refused, or with ``overwrite``
    discarded, crash-safely (``run.json`` is renamed aside in one step, so a crash leaves either the old
    job whole or a folder whose clean-up the next run finishes).
    """
    run_path, discarded = os.path.join(out, RUN_FILE), os.path.join(out, DISCARDED_RUN_FILE)
    if os.path.exists(discarded):
        log(f"pixelprep: finishing the clean-up of an interrupted --overwrite in {out}")
        _clear(out)
    for name in _job_files(out):  # half-written files of a killed run; the manifest never points at them
        if ".tmp-" in name:
            os.remove(os.path.join(out, name))
    problem, leftovers = "", _job_files(out)
    if os.path.exists(run_path):
        try:
            with open(run_path, "rb") as handle:
                previous = json.loads(handle.read())
        except ValueError as error:
            problem = f"its {RUN_FILE} is corrupt ({error})"
        else:
            if previous == fingerprint:
                return
            problem = "it holds a run with other settings or inputs"
    elif leftovers:
        problem = f"it holds {', '.join(leftovers[:3])}{' ...' if len(leftovers) > 3 else ''} but no {RUN_FILE} saying which job wrote them"
    if problem:
        if not overwrite:
            raise OutputError(f"--out {out} cannot be resumed: {problem}; use another --out, or --overwrite to discard it and start over")
        if os.path.exists(run_path):
            os.replace(run_path, discarded)
        else:
            write_atomic(discarded, b"{}")
        _fsync_dir(out)
        _clear(out)
    write_atomic(run_path, json.dumps(fingerprint, indent=2).encode())


def _resume_point(out: str, sources: Sequence[Source], shard_size: int, job: str, log: Callable[[str], None]) -> tuple[int, int]:
    """(chunks already done, failures among them), cutting the manifest back to its whole chunks that match the inputs.

    A line of another job is refused, never adopted; a line that does not match the input list, or a
    shard a line points to that is missing, ends the chunks that count as done (they are redone).
    """
    manifest_path = os.path.join(out, MANIFEST)
    lines = _manifest_lines(manifest_path)
    foreign = next((entry for _, entry in lines if entry.get("job") != job), None)
    if foreign is not None:
        raise OutputError(
            f"{manifest_path} holds entries of job {foreign.get('job')!r}, not of job {job!r} that {RUN_FILE} names; "
            "use another --out, or --overwrite to discard it and start over"
        )
    chunks_done = 0
    for chunk_start in range(0, len(sources), shard_size):
        chunk = sources[chunk_start : chunk_start + shard_size]
        entries = [entry for _, entry in lines[chunk_start : chunk_start + len(chunk)]]
        shard = f"shard-{chunk_start // shard_size:05d}.safetensors"
        mismatch = _chunk_mismatch(out, chunk, entries, shard)
        if mismatch:
            if len(entries) == len(chunk):  # a whole chunk that does not check out (a short one is an unfinished write)
                log(f"pixelprep: {manifest_path}: {mismatch}; redoing it and what follows")
            break
        chunks_done += 1
    kept = lines[: min(chunks_done * shard_size, len(sources))]
    text = b"".join(line for line, _ in kept)
    if os.path.exists(manifest_path) and os.path.getsize(manifest_path) != len(text):
        write_atomic(manifest_path, text)  # cut a torn tail and any lines of an unfinished chunk
    return chunks_done, sum("error" in entry for _, entry in kept)


def _chunk_mismatch(out: str, chunk: Sequence[Source], entries: list[dict[str, Any]], shard: str) -> str:
    """Why a chunk's manifest entries are not a finished chunk of these sources ("" when they are)."""
    if len(entries) < len(chunk):
        return "unfinished chunk"
    rows = 0
    for source, entry in zip(chunk, entries):
        if entry.get("source") != source.name:
            return f"an entry for {entry.get('source')!r} where {source.name!r} was expected"
        if "error" not in entry:
            if entry.get("shard") != shard or entry.get("row") != rows:
                return f"the entry for {source.name!r} does not point to its row of {shard}"
            rows += 1
    if rows and not os.path.exists(os.path.join(out, shard)):
        return f"{shard} is missing"
    return ""


def _shard_tensors(good: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One shard's tensors: each output stacked over its rows as ``name``; an output whose shape differs
    between rows (padding to the batch, no crop), or that only some rows have (a multi-view family's crops,
    made only for images that need them), as one tensor per row that has it, ``name.<row>``."""
    tensors = {}
    for key in dict.fromkeys(key for outputs in good for key in outputs):  # every row's keys, in order of first use
        values = {row: outputs[key] for row, outputs in enumerate(good) if key in outputs}
        if len(values) == len(good) and len({value.shape for value in values.values()}) == 1:
            tensors[key] = np.ascontiguousarray(np.stack(list(values.values())))
        else:
            tensors.update({f"{key}.{row}": np.ascontiguousarray(value) for row, value in values.items()})
    return tensors


def read_row(out: str | os.PathLike, entry: dict[str, Any]) -> dict[str, np.ndarray]:
    """The outputs of one manifest entry, as the Python API returns them for that input alone (without the batch axis).

    Reads only that row from its shard, whichever layout the shard uses (see :func:`run_job`).
    Raises :class:`InvalidArgumentError` for an entry that is an error or has no such row, and
    :class:`OutputError` for a shard that is missing or unreadable.
    """
    from safetensors import safe_open

    if not isinstance(entry, dict) or "source" not in entry:
        raise InvalidArgumentError(f"not a manifest entry: {entry!r}")
    if "error" in entry:
        raise InvalidArgumentError(f"{entry['source']} was not processed: {entry['error']}")
    row, shard_name = entry.get("row"), entry.get("shard")
    if not isinstance(row, int) or isinstance(row, bool) or row < 0 or not isinstance(shard_name, str) or os.sep in shard_name:
        raise InvalidArgumentError(f"manifest entry for {entry['source']}: needs a shard file name and a row number, got {entry!r}")
    path = os.path.join(os.fspath(out), shard_name)
    if not os.path.isfile(path):
        raise OutputError(f"{path} does not exist (manifest entry for {entry['source']})")
    outputs = {}
    try:
        with safe_open(path, framework="np") as shard:
            for key in shard.keys():
                name, _, index = key.rpartition(".")
                if not (name and index.isdigit()):
                    stacked = shard.get_slice(key)
                    if row < stacked.get_shape()[0]:
                        outputs[key] = stacked[row]
                elif int(index) == row:
                    outputs[name] = shard.get_tensor(key)
    except Exception as error:  # safetensors raises its own error type (or OSError) for a corrupt file
        raise OutputError(f"{path} is not a readable shard ({type(error).__name__}: {error})") from error
    if not outputs:
        raise InvalidArgumentError(f"{path} has no row {row} (manifest entry for {entry['source']})")
    return outputs


def run_job(
    processor: Any,
    inputs: Sequence[str],
    out: str,
    shard_size: int = 1000,
    batch_size: int = 32,
    column: str | None = None,
    overwrite: bool = False,
    workers: int | None = None,
    engine: str | Engine = "local",
    log: Any = None,
) -> RunResult:
    """Process every input into ``out``; rerunning the same job resumes it, a finished job does nothing.

    Shard ``k`` holds inputs ``k * shard_size`` onwards; an output keeps one tensor stacked over the
    shard's rows, or one tensor per row (``pixel_values.<row>``) where sizes differ; :func:`read_row`
    reads either.

    ``engine`` is ``"local"`` (this process; ``workers`` threads per batch), ``"ray"`` (Ray Data
    actors, ``workers`` of them; see :mod:`pixelprep.ray_engine`) or any :data:`Engine`. Every engine
    writes the same shards and manifest.

    A broken input becomes an error line of the manifest, whatever it raises. What stops the job is our
    error: :class:`InvalidArgumentError` for inputs that cannot be listed, :class:`OutputLockedError`
    while another run holds ``out``, :class:`OutputError` when ``out`` cannot be written or holds
    another job (see ``overwrite``).
    """
    from safetensors.numpy import save

    if shard_size < 1 or batch_size < 1:
        raise InvalidArgumentError(f"shard size and batch size must be at least 1, got {shard_size} and {batch_size}")
    if isinstance(engine, str) and engine not in ("local", "ray"):
        raise InvalidArgumentError(f"unknown engine {engine!r}: use 'local' or 'ray'")
    # A family the runner cannot serve says why: a fixed reason (image pairs, person boxes beside each image), or
    # one that depends on its settings (OCR words are text, which shards of tensors cannot hold).
    refusal = getattr(processor, "runner_refusal", None)
    reason = refusal() if callable(refusal) else refusal
    if reason:
        raise InvalidArgumentError(f"pixelprep run cannot run {type(processor).__name__}: {reason}")
    sources = list(expand_inputs(inputs, column))
    if not sources:
        raise InvalidArgumentError(f"no images found in {list(inputs)}")
    stream = log or sys.stderr

    def say(text: str) -> None:
        print(text, file=stream, flush=True)

    if os.path.exists(out) and not os.path.isdir(out):
        raise OutputError(f"--out {out} is a file, not a folder")
    with _output_step(f"create the output folder {out}"):
        os.makedirs(out, exist_ok=True)
    with JobLock(out, say):
        fingerprint = _fingerprint(processor, [s.name for s in sources], shard_size)
        with _output_step(f"prepare {out}"):
            _prepare_out(out, fingerprint, overwrite, say)
            chunks_done, failed = _resume_point(out, sources, shard_size, fingerprint["job"], say)
        skipped = min(chunks_done * shard_size, len(sources))
        if skipped == len(sources):
            return RunResult(total=len(sources), processed=0, failed=failed, shards_written=0, skipped=skipped)

        if engine == "local":
            if workers:
                processor = copy.copy(processor)
                processor.num_threads = workers  # the runner adds no threads of its own: workers is the whole budget
            engine = local_engine(processor, batch_size)
        elif engine == "ray":
            from .ray_engine import ray_engine

            engine = ray_engine(processor, batch_size, actors=workers)
        outcomes = iter(engine(sources[skipped:]))

        manifest_path = os.path.join(out, MANIFEST)
        progress = Progress(len(sources), skipped, stream)
        processed = shards = 0
        try:
            for chunk_index in range(chunks_done, -(-len(sources) // shard_size)):
                chunk = sources[chunk_index * shard_size : (chunk_index + 1) * shard_size]
                results = list(itertools.islice(outcomes, len(chunk)))
                if len(results) != len(chunk):
                    raise RuntimeError(f"the engine returned {len(results)} outcomes for {len(chunk)} inputs")
                shard_name = f"shard-{chunk_index:05d}.safetensors"
                good = [tensors for tensors, _ in results if tensors is not None]
                if good:
                    with _output_step(f"write {os.path.join(out, shard_name)}"):
                        write_atomic(os.path.join(out, shard_name), save(_shard_tensors(good)))
                    shards += 1
                rows = itertools.count()
                entries = []
                for source, (tensors, error) in zip(chunk, results):
                    if tensors is None:
                        entries.append({"source": source.name, "error": error, "job": fingerprint["job"]})
                        progress.message(f"pixelprep: failed: {error if source.name in error else f'{source.name}: {error}'}")
                    else:
                        entries.append({"source": source.name, "shard": shard_name, "row": next(rows), "job": fingerprint["job"]})
                with _output_step(f"write {manifest_path}"):
                    _append_durably(manifest_path, "".join(json.dumps(e) + "\n" for e in entries).encode())
                failed += len(chunk) - len(good)
                processed += len(chunk)
                progress.update(len(chunk))
        finally:
            progress.close()
    return RunResult(total=len(sources), processed=processed, failed=failed, shards_written=shards, skipped=skipped)
