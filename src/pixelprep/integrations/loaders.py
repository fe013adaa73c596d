"""Feeding a processor from torch ``DataLoader``s and Hugging Face ``datasets``.

Both helpers return instances of module-level classes rather than closures, so they pickle: DataLoader
workers started with ``spawn``/``forkserver`` and ``datasets`` (which fingerprints and ships its
transforms) need that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..features import BatchFeature, convert_value


def image_from_record(value: Any) -> Any:
    """An image as pixelprep reads it from a dataset cell: ``{"bytes", "path"}`` dicts (Hugging Face
    ``Image(decode=False)``, Arrow structs) give their bytes, else their path; one-item object arrays are unwrapped."""
    if isinstance(value, Mapping):
        return value.get("bytes") or value.get("path")
    if isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        return value.item()
    return value


def _stack(values: list[Any], return_tensors: str | None) -> Any:
    """Labels and other per-item fields as one batch value (torch's default collation for ``pt``)."""
    if return_tensors == "pt":
        from torch.utils.data import default_collate

        return default_collate(values)
    return convert_value(values, return_tensors)


class _Collate:
    def __init__(self, processor: Any, image_key: str, return_tensors: str | None) -> None:
        self.processor, self.image_key, self.return_tensors = processor, image_key, return_tensors

    def __call__(self, items: list[Any]) -> BatchFeature:
        if not items:
            raise InvalidArgumentError("collate got an empty list of items")
        first = items[0]
        if isinstance(first, Mapping):
            if self.image_key not in first:
                raise InvalidArgumentError(f"collate: the items have no key {self.image_key!r}; keys are {sorted(first)}")
            images = [image_from_record(item[self.image_key]) for item in items]
            others = {key: [item[key] for item in items] for key in first if key != self.image_key}
        elif isinstance(first, tuple):
            if len(first) != 2:
                raise InvalidArgumentError(f"collate takes (image, label) pairs; got a tuple of {len(first)}: return a dict for more fields")
            images = [image_from_record(image) for image, _ in items]
            others = {"labels": [label for _, label in items]}
        else:
            images, others = [image_from_record(item) for item in items], {}
        batch = self.processor(images, return_tensors=self.return_tensors)
        for key, values in others.items():
            batch[key] = _stack(values, self.return_tensors)
        return batch

    def __repr__(self) -> str:
        return f"collate({type(self.processor).__name__}, image_key={self.image_key!r}, return_tensors={self.return_tensors!r})"


def collate(processor: Any, image_key: str = "image", return_tensors: str | None = "pt") -> Any:
    """A DataLoader ``collate_fn``: a list of images, (image, label) pairs or dicts becomes one :class:`BatchFeature`.

    Pairs put their labels under ``labels``; dicts (Hugging Face dataset rows) take the image from
    ``image_key`` and keep their other keys. The result pickles, so it works in DataLoader workers.
    """
    return _Collate(processor, image_key, return_tensors)


class _DatasetsTransform:
    def __init__(self, processor: Any, image_column: str, keep_columns: bool, return_tensors: str | None) -> None:
        self.processor, self.image_column = processor, image_column
        self.keep_columns, self.return_tensors = keep_columns, return_tensors

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, Any]:
        if self.image_column not in batch:
            raise InvalidArgumentError(f"the batch has no column {self.image_column!r}; columns are {sorted(batch)}")
        images = [image_from_record(value) for value in batch[self.image_column]]
        out = {k: v for k, v in batch.items() if self.keep_columns and k != self.image_column}
        out.update(self.processor(images, return_tensors=self.return_tensors))
        return out


def datasets_transform(processor: Any, image_column: str = "image", keep_columns: bool = True, return_tensors: str | None = "pt") -> Any:
    """A transform for ``datasets.Dataset.with_transform`` / ``set_transform``: the image column becomes ``pixel_values``.

    Decoded (PIL) and undecoded (``{"bytes", "path"}``) image columns both work; other columns are kept
    unless ``keep_columns=False``.
    """
    return _DatasetsTransform(processor, image_column, keep_columns, return_tensors)
