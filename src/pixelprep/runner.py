"""The dataset runner behind ``pixelprep run``: inputs in, sharded safetensors and a manifest out.

Crash safety rests on two facts. Inputs are listed in a fixed order and cut into fixed chunks of
``shard_size``, so chunk ``k`` always becomes ``shard-k``. And a chunk's manifest lines (one per
input, in order) are appended only after its shard file is durable. On restart, the manifest's
complete lines say how many whole chunks are done; a torn tail is cut off and that chunk redone.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InvalidArgumentError, PixelprepError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MANIFEST = "manifest.jsonl"
RUN_FILE = "run.json"


@dataclass(frozen=True)
class Source:
    """One input: a name for the manifest and a way to get what the processor takes (a path or bytes)."""

    name: str
    load: Callable[[], Any]


# ----------------------------------------------------------------------------------------------- inputs


def _image_column(schema: Any, column: str | None, where: str) -> str:
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


def _table_sources(tables: list[tuple[str, Any]], column: str | None) -> Iterator[Source]:
    """Rows of Arrow tables whose image column holds encoded bytes (or ``{"bytes", "path"}`` structs)."""
    for where, table in tables:
        name = _image_column(table.schema, column, where)
        for row, value in enumerate(table.column(name).to_pylist()):
            data = value.get("bytes") if isinstance(value, dict) else value
            if data is None and isinstance(value, dict) and value.get("path"):
                data = value["path"]
            yield Source(f"{where}#{row}", lambda d=data: d if d is not None else b"")


def _parquet_sources(path: str, column: str | None) -> Iterator[Source]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    name = _image_column(parquet.schema_arrow, column, path)
    row = 0
    for batch in parquet.iter_batches(columns=[name], batch_size=256):  # streamed: memory stays bounded
        for value in batch.column(0).to_pylist():
            data = value.get("bytes") if isinstance(value, dict) else value
            yield Source(f"{path}#{row}", lambda d=data: d if d is not None else b"")
            row += 1


def _saved_dataset_sources(folder: str, column: str | None) -> Iterator[Source]:
    """A Hugging Face ``datasets`` dataset written by ``save_to_disk``: Arrow stream files listed in state.json."""
    import pyarrow as pa

    with open(os.path.join(folder, "state.json"), encoding="utf-8") as handle:
        files = [entry["filename"] for entry in json.load(handle)["_data_files"]]
    for filename in files:
        with pa.memory_map(os.path.join(folder, filename)) as source:
            table = pa.ipc.open_stream(source).read_all()
        yield from _table_sources([(f"{folder}/{filename}", table)], column)


def _walk(folder: str) -> Iterator[str]:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(IMAGE_EXTENSIONS):
                yield os.path.join(root, name)


def expand_inputs(inputs: Sequence[str], column: str | None = None) -> Iterator[Source]:
    """Every image named by ``inputs``: files, folders (recursive), globs, ``@list.txt`` files, Parquet, saved datasets."""
    for item in inputs:
        if item.startswith("@"):
            with open(item[1:], encoding="utf-8") as handle:
                lines = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
            yield from expand_inputs(lines, column)
        elif item.endswith(".parquet") and os.path.isfile(item):
            yield from _parquet_sources(item, column)
        elif os.path.isdir(item) and os.path.isfile(os.path.join(item, "state.json")):
            yield from _saved_dataset_sources(item, column)
        elif os.path.isdir(item):
            yield from (Source(p, lambda p=p: p) for p in _walk(item))
        elif glob.has_magic(item):
            yield from (Source(p, lambda p=p: p) for p in sorted(glob.glob(item, recursive=True)) if os.path.isfile(p))
        else:
            yield Source(item, lambda p=item: p)  # a missing file becomes an error row, not a crash


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


# -------------------------------------------------------------------------------------------- the job


@dataclass
class RunResult:
    """What a run did: inputs seen, processed now, failed (in total), and shards written now."""

    total: int
    processed: int
    failed: int
    shards_written: int
    skipped: int


class Progress:
    """A tqdm bar on a terminal, plain periodic lines otherwise."""

    def __init__(self, total: int, done: int, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.total, self.done, self.start, self.last = total, done, time.monotonic(), 0.0
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
        if now - self.last >= 5 or self.done == self.total:
            rate = self.done / max(now - self.start, 1e-9)
            eta = (self.total - self.done) / rate if rate else float("inf")
            print(f"pixelprep: {self.done}/{self.total} images, {rate:.1f} img/s, ETA {eta:.0f}s", file=self.stream, flush=True)
            self.last = now

    def close(self) -> None:
        """Finish the bar."""
        if self.bar is not None:
            self.bar.close()


# One input's outcome: (tensors, None) when processed, (None, error message) when not.
Outcome = tuple["dict[str, np.ndarray] | None", "str | None"]


def process_batch(processor: Any, items: list[Any]) -> list[Outcome]:
    """Process items as one batch; if the batch fails, redo it item by item so one bad input costs only itself."""
    try:
        outputs = processor(items, return_tensors="np")
    except (PixelprepError, OSError) as error:
        if len(items) == 1:
            return [(None, str(error))]
        return [outcome for item in items for outcome in process_batch(processor, [item])]
    tensors = {k: np.asarray(v) for k, v in outputs.items() if hasattr(v, "shape")}
    return [({k: v[i] for k, v in tensors.items()}, None) for i in range(len(items))]


def local_engine(processor: Any, batch_size: int) -> Callable[[list[Source]], list[Outcome]]:
    """Process a chunk in this process, ``batch_size`` inputs at a time."""

    def process(chunk: list[Source]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for start in range(0, len(chunk), batch_size):
            outcomes += process_batch(processor, [s.load() for s in chunk[start : start + batch_size]])
        return outcomes

    return process


def _fingerprint(processor: Any, names: list[str], shard_size: int) -> dict[str, Any]:
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()
    return {"config": processor.to_dict(), "backend": processor.backend_name, "shard_size": shard_size, "inputs": len(names), "inputs_sha256": digest}


def run_job(
    processor: Any,
    inputs: Sequence[str],
    out: str,
    shard_size: int = 1000,
    batch_size: int = 32,
    column: str | None = None,
    overwrite: bool = False,
    log: Any = None,
    engine: Callable[[list[Source]], list[Outcome]] | None = None,
) -> RunResult:
    """Process every input into ``out``; rerunning the same job resumes it, a finished job does nothing.

    ``engine`` turns one chunk of sources into outcomes in order (default: :func:`local_engine`);
    the Ray engine plugs in here, so both write the same shards and manifest.
    """
    from safetensors.numpy import save

    if shard_size < 1 or batch_size < 1:
        raise InvalidArgumentError(f"shard size and batch size must be at least 1, got {shard_size} and {batch_size}")
    log = log or sys.stderr
    sources = list(expand_inputs(inputs, column))
    if not sources:
        raise InvalidArgumentError(f"no images found in {list(inputs)}")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):  # half-written files of a killed run; the manifest never points at them
        if ".tmp-" in name:
            os.remove(os.path.join(out, name))
    fingerprint = _fingerprint(processor, [s.name for s in sources], shard_size)
    run_path, manifest_path = os.path.join(out, RUN_FILE), os.path.join(out, MANIFEST)
    if os.path.exists(run_path):
        with open(run_path, encoding="utf-8") as handle:
            previous = json.load(handle)
        if previous != json.loads(json.dumps(fingerprint)):
            if not overwrite:
                raise InvalidArgumentError(
                    f"{out} holds a run with other settings or inputs; use another --out, or --overwrite to start over"
                )
            for name in os.listdir(out):
                if name.startswith("shard-") or name in (MANIFEST, RUN_FILE):
                    os.remove(os.path.join(out, name))
    write_atomic(run_path, json.dumps(fingerprint, indent=2).encode())

    lines = _complete_manifest_lines(manifest_path)
    chunks_done = len(lines) // shard_size if len(lines) < len(sources) else -(-len(sources) // shard_size)
    kept = "".join(lines[: chunks_done * shard_size])
    if os.path.exists(manifest_path) and os.path.getsize(manifest_path) != len(kept.encode()):
        write_atomic(manifest_path, kept.encode())  # cut a torn tail and any lines of an unfinished chunk
    kept = kept.splitlines(keepends=True)
    failed = sum('"error"' in line for line in kept)
    skipped = len(kept)

    engine = engine or local_engine(processor, batch_size)
    progress = Progress(len(sources), skipped, log)
    processed = shards = 0
    try:
        with open(manifest_path, "a", encoding="utf-8") as manifest:
            for chunk_index in range(chunks_done, -(-len(sources) // shard_size)):
                chunk = sources[chunk_index * shard_size : (chunk_index + 1) * shard_size]
                results = [(source.name, *outcome) for source, outcome in zip(chunk, engine(chunk))]
                good = [(name, tensors) for name, tensors, _ in results if tensors is not None]
                shard_name = f"shard-{chunk_index:05d}.safetensors"
                if good:
                    shapes = {key: {t[key].shape for _, t in good} for key in good[0][1]}
                    ragged = [key for key, found in shapes.items() if len(found) > 1]
                    if ragged:
                        raise InvalidArgumentError(
                            f"outputs {ragged} have different shapes within one shard ({sorted(shapes[ragged[0]])}); "
                            "configure a fixed output size (crop, resize to height/width or pad_size) or use --shard-size 1"
                        )
                    stacked = {key: np.ascontiguousarray(np.stack([t[key] for _, t in good])) for key in good[0][1]}
                    write_atomic(os.path.join(out, shard_name), save(stacked))
                    shards += 1
                rows = iter(range(len(good)))
                entries = []
                for name, tensors, error in results:
                    if tensors is None:
                        entries.append({"source": name, "error": error})
                        print(f"pixelprep: failed {error}", file=log)
                    else:
                        entries.append({"source": name, "shard": shard_name, "row": next(rows)})
                manifest.write("".join(json.dumps(e) + "\n" for e in entries))
                manifest.flush()
                os.fsync(manifest.fileno())
                failed += sum(1 for _, tensors, _ in results if tensors is None)
                processed += len(chunk)
                progress.update(len(chunk))
    finally:
        progress.close()
    return RunResult(total=len(sources), processed=processed, failed=failed, shards_written=shards, skipped=skipped)
