"""Running pixelprep on Ray Data: a ``map_batches`` callable, and the engine behind ``--engine ray``.

The engine keeps chunking, shard writing and the manifest on the driver (in :func:`pixelprep.runner.run_job`,
so output and resume behave exactly as with the local engine). One Ray Dataset holds the list of
inputs still to do; ``map_batches`` sends it through a pool of actors that each hold a copy of the
processor, read their images themselves and send back each input's tensors or error.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .features import as_numpy
from .integrations.loaders import image_from_record
from .runner import Engine, Outcome, Source, process_sources


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
        images = [image_from_record(value) for value in batch[self.column]]
        outputs = self.processor(images, return_tensors=None)
        result = {k: v for k, v in batch.items() if self.keep_input or k != self.column}
        result.update({k: _batch_column(v) for k, v in outputs.items()})
        return result


def _batch_column(value: Any) -> np.ndarray:
    """An output as a column: one stacked array, or where row shapes differ (no crop) an object array of
    per-row arrays, which Ray Data stores as a variable-shaped tensor column."""
    if not isinstance(value, list):
        return as_numpy(value)
    rows = [as_numpy(row) for row in value]
    if len({row.shape for row in rows}) == 1:
        return np.stack(rows)
    column = np.empty(len(rows), dtype=object)
    for index, row in enumerate(rows):
        column[index] = row
    return column


class _SourceWorker:
    """The actor of ``--engine ray``: loads and processes a batch of sources, returns their tensors serialised."""

    def __init__(self, processor: Any) -> None:
        self.processor = processor

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from safetensors.numpy import save

        outcomes = process_sources(self.processor, [Source.from_json(text) for text in batch["source"]])
        payloads = [save(tensors) if tensors is not None else b"" for tensors, _ in outcomes]
        errors = [error or "" for _, error in outcomes]
        return {"index": batch["index"], "payload": np.array(payloads, dtype=object), "error": np.array(errors, dtype=object)}


def ray_engine(processor: Any, batch_size: int, actors: int | None = None) -> Engine:
    """An engine for :func:`pixelprep.runner.run_job` on Ray Data: ``actors`` actors (default: one per CPU of the cluster).

    Connects to the cluster ``RAY_ADDRESS`` names, or starts a local one, unless Ray is already initialised.
    """
    import ray
    from safetensors.numpy import load

    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False, log_to_driver=False)
    actors = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    # Each actor takes one CPU and runs its processor on one thread, so actors x threads never exceeds the cores Ray hands out.
    single_threaded = copy.copy(processor)
    single_threaded.num_threads = 1

    def process(sources: Sequence[Source]) -> Iterator[Outcome]:
        if not sources:
            return
        rows = [{"index": i, "source": source.to_json()} for i, source in enumerate(sources)]
        dataset = ray.data.from_items(rows).map_batches(
            _SourceWorker,
            fn_constructor_kwargs={"processor": single_threaded},
            batch_size=batch_size,
            concurrency=actors,
            num_cpus=1,
            batch_format="numpy",
        )
        # Ray Data may finish batches out of order: hold early ones until every input before them is in.
        pending: dict[int, Outcome] = {}
        next_index = 0
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for index, payload, error in zip(batch["index"], batch["payload"], batch["error"]):
                pending[int(index)] = (load(payload), None) if len(payload) else (None, str(error))
            while next_index in pending:
                yield pending.pop(next_index)
                next_index += 1
        if next_index != len(sources):
            raise RuntimeError(f"Ray returned outcomes for {next_index} of {len(sources)} inputs")

    return process
