"""``--engine ray`` on a local Ray cluster writes what the local engine writes; the map_batches callable works."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

ray = pytest.importorskip("ray")

from pixelprep import AutoImageProcessor  # noqa: E402
from pixelprep.ray_engine import RayImageProcessor, run_job_on_ray  # noqa: E402
from pixelprep.runner import run_job  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "examples" / "clip-vit-base-patch32")
IMAGES = ROOT / "tests" / "fixtures" / "images"
INPUTS = sorted(str(p) for p in IMAGES.glob("photo_*")) + [str(ROOT / "tests" / "fixtures" / "broken" / "garbage.jpg")]


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_engine_output_equals_local_engine(cluster, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "ray"
    run_job(AutoImageProcessor.from_pretrained(MODEL, backend="pil"), INPUTS, str(local), shard_size=3, batch_size=2)
    result = run_job_on_ray(MODEL, "pil", INPUTS, str(remote), shard_size=3, batch_size=2)
    assert (result.total, result.failed) == (len(INPUTS), 1)
    assert (remote / "manifest.jsonl").read_text() == (local / "manifest.jsonl").read_text()
    shards = sorted(p.name for p in local.glob("shard-*.safetensors"))
    assert shards == sorted(p.name for p in remote.glob("shard-*.safetensors"))
    for name in shards:
        np.testing.assert_array_equal(load_file(str(remote / name))["pixel_values"], load_file(str(local / name))["pixel_values"])
    again = run_job_on_ray(MODEL, "pil", INPUTS, str(remote), shard_size=3, batch_size=2)
    lines = (remote / "manifest.jsonl").read_text().splitlines()
    assert again.processed == 0 and [json.loads(line)["source"] for line in lines] == INPUTS


def test_map_batches_callable_on_a_ray_dataset(cluster):
    rows = [{"image": Path(p).read_bytes(), "label": i} for i, p in enumerate(INPUTS[:3])]
    dataset = ray.data.from_items(rows).map_batches(
        RayImageProcessor, fn_constructor_kwargs={"model": MODEL, "backend": "pil"}, batch_size=2, concurrency=1, batch_format="numpy"
    )
    out = sorted(dataset.take_all(), key=lambda r: r["label"])
    processor = AutoImageProcessor.from_pretrained(MODEL, backend="pil")
    for row, path in zip(out, INPUTS[:3]):
        np.testing.assert_array_equal(row["pixel_values"], processor(path, return_tensors="np")["pixel_values"][0])
        assert "image" not in row
