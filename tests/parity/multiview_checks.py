"""Checks shared by the parity tests of the vision-language families (imported by their test modules)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from pixelprep.runner import read_row, run_job

#: Ours on pil against transformers' torchvision-only class: Pillow's bicubic against torchvision's differs by a
#: few levels on some pixels (as transformers' own two backends do, FAMILIES-SPEC A.1): at most 6 levels after a
#: 0.5/0.5 normalize anywhere, 0.002 on average.
PIL_MAX, PIL_MEAN = 6 / 255 / 0.5, 0.002


def assert_pil_close(ours: Any, theirs: Any, what: str) -> None:
    """Ours (pil backend) within PIL_MAX anywhere and PIL_MEAN on average of transformers' torchvision class."""
    diff = np.abs(np.asarray(ours, dtype=np.float64) - np.asarray(theirs, dtype=np.float64))
    assert diff.max() <= PIL_MAX and diff.mean() <= PIL_MEAN, f"{what}: max {diff.max()}, mean {diff.mean()}"


def assert_runner_rows_equal_each_image_alone(processor: Any, inputs: list[str], out: Path) -> None:
    """``pixelprep run`` over ``inputs`` processes them all, and every stored row reads back as that image alone gives it."""
    result = run_job(processor, inputs, str(out), shard_size=3, batch_size=4, log=io.StringIO())
    assert (result.failed, result.processed) == (0, len(inputs))
    for line in (out / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        alone = processor(entry["source"], return_tensors="np")
        row = read_row(out, entry)
        assert row.keys() == alone.keys()
        for key in row:
            np.testing.assert_array_equal(np.asarray(row[key]), np.asarray(alone[key]))


def assert_same_return_types(ours: Any, theirs: Any, image: Any) -> None:
    """With ``return_tensors`` None and "pt", every output of ours has the type and dtype of transformers' (same backend)."""
    for tensors in (None, "pt"):
        got, expected = ours(image, return_tensors=tensors), theirs(image, return_tensors=tensors)
        for key in expected:
            assert type(got[key]) is type(expected[key]) and got[key].dtype == expected[key].dtype, f"{tensors} {key}"
