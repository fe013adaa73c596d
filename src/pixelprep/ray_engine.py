"""Running pixelprep on Ray Data: a ``map_batches`` callable, and the ``--engine ray`` runner.

The runner keeps its chunking, shard writing and manifest on the driver (so output and resume
behave exactly as with the local engine) and sends each chunk's decoding and processing to a pool
of Ray actors that each hold one processor.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .runner import Outcome, RunResult, Source, process_batch, run_job


class RayImageProcessor:
    """A callable class for ``Dataset.map_batches``: images in ``column`` -> the processor's tensors.

    ``ds.map_batches(RayImageProcessor, fn_constructor_kwargs={"model": "openai/clip-vit-base-patch32"}, concurrency=2)``
    adds ``pixel_values`` (and any other output) to each batch; the image column may hold paths,
    encoded bytes, ``{"bytes", "path"}`` dicts (Hugging Face image features) or decoded arrays.
    """

    def __init__(self, model: str | Any, backend: str | None = None, column: str = "image", keep_input: bool = False) -> None:
        from . import AutoImageProcessor

        self.processor = AutoImageProcessor.from_pretrained(model, backend=backend) if isinstance(model, (str, os.PathLike)) else model
        self.column = column
        self.keep_input = keep_input

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Process one batch (a dict of columns) and return it with the output tensors added."""
        images = [_image_value(value) for value in batch[self.column]]
        outputs = self.processor(images, return_tensors="np")
        result = {k: v for k, v in batch.items() if self.keep_input or k != self.column}
        result.update({k: np.asarray(v) for k, v in outputs.items() if hasattr(v, "shape")})
        return result


def _image_value(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("bytes") or value.get("path")
    if isinstance(value, np.ndarray) and value.dtype == object:
        return value.item()
    return value


class _ChunkWorker:
    """The actor of ``--engine ray``: processes rows and reports per-row outcomes as serialised tensors."""

    def __init__(self, model: str, backend: str | None) -> None:
        from . import AutoImageProcessor

        self.processor = AutoImageProcessor.from_pretrained(model, backend=backend)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from safetensors.numpy import save

        outcomes = process_batch(self.processor, [_image_value(v) for v in batch["data"]])
        payloads = [save(tensors) if tensors is not None else b"" for tensors, _ in outcomes]
        errors = [error or "" for _, error in outcomes]
        return {"index": batch["index"], "payload": np.array(payloads, dtype=object), "error": np.array(errors, dtype=object)}


def ray_engine(model: str, backend: str | None, batch_size: int, actors: int = 2) -> Callable[[list[Source]], list[Outcome]]:
    """A chunk engine for :func:`run_job` that processes each chunk on a Ray Data actor pool."""
    import ray
    from safetensors.numpy import load

    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False, log_to_driver=False)

    def process(chunk: list[Source]) -> list[Outcome]:
        rows = [{"index": i, "data": source.load()} for i, source in enumerate(chunk)]
        dataset = ray.data.from_items(rows).map_batches(
            _ChunkWorker,
            fn_constructor_kwargs={"model": model, "backend": backend},
            batch_size=batch_size,
            concurrency=actors,
            batch_format="numpy",
        )
        outcomes: list[Outcome] = [(None, "not processed")] * len(chunk)
        for row in dataset.iter_rows():
            payload = row["payload"]
            outcomes[int(row["index"])] = (load(payload), None) if payload else (None, row["error"])
        return outcomes

    return process


def run_job_on_ray(
    model: str,
    backend: str | None,
    inputs: list[str],
    out: str,
    shard_size: int = 1000,
    batch_size: int = 32,
    column: str | None = None,
    overwrite: bool = False,
    actors: int = 2,
) -> RunResult:
    """``pixelprep run --engine ray``: the local runner's job, with chunks processed by Ray actors."""
    from . import AutoImageProcessor

    processor = AutoImageProcessor.from_pretrained(model, backend=backend)
    engine = ray_engine(model, backend, batch_size, actors)
    return run_job(processor, inputs, out, shard_size, batch_size, column, overwrite, engine=engine)
