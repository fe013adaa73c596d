"""The dataset runner behind ``pixelprep run``: inputs in, sharded safetensors and a manifest out.

Crash safety rests on two facts. Inputs are listed in a fixed order and cut into fixed chunks of
``shard_size``, so chunk ``k`` always becomes ``shard-k``. And a chunk's manifest lines (one per
input, in order) are appended only after its shard file is durable. On restart, the manifest's
complete lines say how many whole chunks are done; a torn tail is cut off and that chunk redone.

Memory stays bounded by the batch and shard sizes: the input list holds names and locations only,
images are read a batch at a time, and table files are read forwards (Arrow files memory-mapped,
Parquet files at most a row group at a time).
"""

from __future__ import annotations

import copy
import functools
import glob
import hashlib
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .errors import InvalidArgumentError, PixelprepError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
TABLE_EXTENSIONS = (".parquet", ".arrow")
MANIFEST = "manifest.jsonl"
RUN_FILE = "run.json"
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
    before the current batch (a Ray actor given an earlier range) reopens the file.
    """

    def __init__(self, path: str, column: str) -> None:
        self.path, self.column = path, column
        self.lock = threading.Lock()
        self._rewind()

    def _rewind(self) -> None:
        if self.path.endswith(".parquet"):
            import pyarrow.parquet as pq

            # No pre-buffering and a buffered stream: Arrow then holds one row group's pages, not the whole file.
            parquet = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
            reader = parquet.iter_batches(batch_size=PARQUET_READ_ROWS, columns=[self.column])
            self.batches = (batch.column(0) for batch in reader)
        else:
            import pyarrow as pa

            # Arrow stream files are memory-mapped: a record batch is a view of the file, not a copy.
            reader = pa.ipc.open_stream(pa.memory_map(self.path))
            self.batches = (batch.column(self.column) for batch in reader)
        self.start, self.values = 0, []

    def value(self, row: int) -> Any:
        """The cell at ``row`` as a Python value (``{"bytes", "path"}`` dict, bytes or a path)."""
        with self.lock:
            if row < self.start:
                self._rewind()
            while row >= self.start + len(self.values):
                self.start += len(self.values)
                values = next(self.batches, None)
                if values is None:
                    raise InvalidArgumentError(f"{self.path} has no row {row}")
                self.values = values
            return self.values[row - self.start].as_py()


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
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        schema, rows = parquet.schema_arrow, parquet.metadata.num_rows
    else:
        import pyarrow as pa

        with pa.memory_map(path) as mapped:
            reader = pa.ipc.open_stream(mapped)
            schema, rows = reader.schema, sum(batch.num_rows for batch in reader)
    name = _image_column(schema, column, path)
    return (Source(f"{path}#{row}", path, name, row) for row in range(rows))


def _saved_dataset_files(folder: str) -> list[str]:
    """The Arrow files of a Hugging Face ``datasets`` dataset written by ``save_to_disk``, in order."""
    with open(os.path.join(folder, "state.json"), encoding="utf-8") as handle:
        return [os.path.join(folder, entry["filename"]) for entry in json.load(handle)["_data_files"]]


def _walk(folder: str) -> Iterator[str]:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(IMAGE_EXTENSIONS):
                yield os.path.join(root, name)


def expand_inputs(inputs: Sequence[str], column: str | None = None) -> Iterator[Source]:
    """Every image named by ``inputs``: files, folders (recursive), globs, ``@list.txt`` files (one path a line),
    rows of ``.parquet``/``.arrow`` files and of saved ``datasets`` folders (image column detected or ``column``)."""
    for item in inputs:
        if item.startswith("@"):
            with open(item[1:], encoding="utf-8") as handle:
                lines = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
            yield from expand_inputs(lines, column)
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
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(os.path.dirname(path) or ".")


def _complete_manifest_lines(path: str) -> list[str]:
    """The manifest's lines up to the first torn or unparsable one."""
    if not os.path.exists(path):
        return []
    lines = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                break
            try:
                json.loads(line)
            except json.JSONDecodeError:
                break
            lines.append(line)
    return lines


# -------------------------------------------------------------------------------------------- engines

# One input's outcome: (tensors, None) when processed, (None, error message) when not.
Outcome = tuple["dict[str, np.ndarray] | None", "str | None"]
# An engine turns a list of sources into their outcomes, yielded in the same order.
Engine = Callable[[Sequence[Source]], Iterable[Outcome]]


def _pads_to_the_batch(processor: Any) -> bool:
    """Whether an image's output depends on its batch-mates (padding to the largest image of the batch), or a
    multi-view family's batch output cannot be cut back into per-image outputs."""
    params = processor.resolve()
    split_batch = getattr(processor, "split_batch", None)
    if split_batch is not None:
        return not processor.can_split_batch(params)
    return bool(params.get("do_pad")) and params.get("pad_size") is None


def process_batch(processor: Any, items: list[Any]) -> list[Outcome]:
    """Process items as one batch; if the batch fails, redo it item by item so one bad input costs only itself.

    Each outcome equals what the processor returns for that item alone: a processor that pads to the
    batch gets its items one at a time.
    """
    if len(items) > 1 and _pads_to_the_batch(processor):
        return [outcome for item in items for outcome in process_batch(processor, [item])]
    try:
        outputs = processor(items, return_tensors="np")
    except (PixelprepError, OSError) as error:
        if len(items) == 1:
            return [(None, str(error))]
        return [outcome for item in items for outcome in process_batch(processor, [item])]
    split_batch = getattr(processor, "split_batch", None)
    if split_batch is not None:  # multi-view families: outputs concatenated over the batch (Qwen's patch rows, ...)
        return [({k: np.asarray(v) for k, v in row.items()}, None) for row in split_batch(outputs, len(items))]
    # images of different output sizes come back as a list of arrays rather than one stacked array
    tensors = {k: v for k, v in outputs.items() if isinstance(v, list) or hasattr(v, "shape")}
    return [({k: np.asarray(v[i]) for k, v in tensors.items()}, None) for i in range(len(items))]


def local_engine(processor: Any, batch_size: int) -> Engine:
    """Process sources in this process, ``batch_size`` at a time (the processor's own threads decode and resize)."""

    def process(sources: Sequence[Source]) -> Iterator[Outcome]:
        for start in range(0, len(sources), batch_size):
            yield from process_batch(processor, [s.load() for s in sources[start : start + batch_size]])

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


def _fingerprint(processor: Any, names: list[str], shard_size: int) -> dict[str, Any]:
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()
    return {"config": processor.to_dict(), "backend": processor.backend_name, "shard_size": shard_size, "inputs": len(names), "inputs_sha256": digest}


def _prepare_out(out: str, fingerprint: dict[str, Any], overwrite: bool) -> None:
    """Check that ``out`` is empty or holds this very job (else refuse, or clear it with ``overwrite``); record the job."""
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):  # half-written files of a killed run; the manifest never points at them
        if ".tmp-" in name:
            os.remove(os.path.join(out, name))
    run_path = os.path.join(out, RUN_FILE)
    if os.path.exists(run_path):
        with open(run_path, encoding="utf-8") as handle:
            previous = json.load(handle)
        if previous == json.loads(json.dumps(fingerprint)):
            return
        if not overwrite:
            raise InvalidArgumentError(f"{out} holds a run with other settings or inputs; use another --out, or --overwrite to start over")
        for name in os.listdir(out):
            if name.startswith("shard-") or name in (MANIFEST, RUN_FILE):
                os.remove(os.path.join(out, name))
    write_atomic(run_path, json.dumps(fingerprint, indent=2).encode())


def _resume_point(manifest_path: str, total: int, shard_size: int) -> tuple[int, int]:
    """(chunks already done, failures among them), cutting the manifest back to whole chunks."""
    lines = _complete_manifest_lines(manifest_path)
    chunks_done = -(-total // shard_size) if len(lines) >= total else len(lines) // shard_size
    kept = lines[: chunks_done * shard_size]
    text = "".join(kept).encode()
    if os.path.exists(manifest_path) and os.path.getsize(manifest_path) != len(text):
        write_atomic(manifest_path, text)  # cut a torn tail and any lines of an unfinished chunk
    return chunks_done, sum('"error"' in line for line in kept)


def _shard_tensors(good: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One shard's tensors: each output stacked over its rows as ``name``; an output whose shape differs
    between rows (padding to the batch, no crop) as one tensor per row, ``name.<row>``."""
    tensors = {}
    for key in good[0]:
        values = [outputs[key] for outputs in good]
        if len({value.shape for value in values}) == 1:
            tensors[key] = np.ascontiguousarray(np.stack(values))
        else:
            tensors.update({f"{key}.{row}": np.ascontiguousarray(value) for row, value in enumerate(values)})
    return tensors


def read_row(out: str | os.PathLike, entry: dict[str, Any]) -> dict[str, np.ndarray]:
    """The outputs of one manifest entry, as the Python API returns them for that input alone (without the batch axis).

    Reads only that row from its shard, whichever layout the shard uses (see :func:`run_job`).
    """
    from safetensors import safe_open

    if "error" in entry:
        raise InvalidArgumentError(f"{entry['source']} was not processed: {entry['error']}")
    row = int(entry["row"])
    outputs = {}
    with safe_open(os.path.join(os.fspath(out), entry["shard"]), framework="np") as shard:
        for key in shard.keys():
            name, _, index = key.rpartition(".")
            if not (name and index.isdigit()):
                outputs[key] = shard.get_slice(key)[row]
            elif int(index) == row:
                outputs[name] = shard.get_tensor(key)
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
    """
    from safetensors.numpy import save

    if shard_size < 1 or batch_size < 1:
        raise InvalidArgumentError(f"shard size and batch size must be at least 1, got {shard_size} and {batch_size}")
    sources = list(expand_inputs(inputs, column))
    if not sources:
        raise InvalidArgumentError(f"no images found in {list(inputs)}")
    _prepare_out(out, _fingerprint(processor, [s.name for s in sources], shard_size), overwrite)
    manifest_path = os.path.join(out, MANIFEST)
    chunks_done, failed = _resume_point(manifest_path, len(sources), shard_size)
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
    elif isinstance(engine, str):
        raise InvalidArgumentError(f"unknown engine {engine!r}: use 'local' or 'ray'")
    outcomes = iter(engine(sources[skipped:]))

    progress = Progress(len(sources), skipped, log or sys.stderr)
    processed = shards = 0
    try:
        with open(manifest_path, "a", encoding="utf-8") as manifest:
            for chunk_index in range(chunks_done, -(-len(sources) // shard_size)):
                chunk = sources[chunk_index * shard_size : (chunk_index + 1) * shard_size]
                results = list(itertools.islice(outcomes, len(chunk)))
                if len(results) != len(chunk):
                    raise RuntimeError(f"the engine returned {len(results)} outcomes for {len(chunk)} inputs")
                shard_name = f"shard-{chunk_index:05d}.safetensors"
                good = [tensors for tensors, _ in results if tensors is not None]
                if good:
                    write_atomic(os.path.join(out, shard_name), save(_shard_tensors(good)))
                    shards += 1
                rows = itertools.count()
                entries = []
                for source, (tensors, error) in zip(chunk, results):
                    if tensors is None:
                        entries.append({"source": source.name, "error": error})
                        progress.message(f"pixelprep: failed: {error if source.name in error else f'{source.name}: {error}'}")
                    else:
                        entries.append({"source": source.name, "shard": shard_name, "row": next(rows)})
                manifest.write("".join(json.dumps(e) + "\n" for e in entries))
                manifest.flush()
                os.fsync(manifest.fileno())
                failed += len(chunk) - len(good)
                processed += len(chunk)
                progress.update(len(chunk))
    finally:
        progress.close()
    return RunResult(total=len(sources), processed=processed, failed=failed, shards_written=shards, skipped=skipped)
