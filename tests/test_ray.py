"""``--engine ray`` on a local Ray cluster writes what the local engine writes; the map_batches callable works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

ray = pytest.importorskip("ray")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from pixelprep import AutoImageProcessor  # noqa: E402
from pixelprep.ray_engine import RayImageProcessor  # noqa: E402
from pixelprep.runner import run_job  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "examples" / "clip-vit-base-patch32")
IMAGES = ROOT / "tests" / "fixtures" / "images"
PHOTOS = sorted(str(p) for p in IMAGES.glob("photo_*"))
GARBAGE = ROOT / "tests" / "fixtures" / "broken" / "garbage.jpg"


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_engine_output_equals_local_engine(cluster, tmp_path):
    parquet = tmp_path / "rows.parquet"
    cells = [{"bytes": Path(PHOTOS[2]).read_bytes(), "path": None}, {"bytes": GARBAGE.read_bytes(), "path": None}]
    pq.write_table(pa.table({"image": cells}), parquet)
    inputs = [*PHOTOS[:2], str(GARBAGE), str(parquet)]  # image files, a broken file, rows the actors read from Parquet
    processor = AutoImageProcessor.from_pretrained(MODEL, backend="pil")
    local, remote = tmp_path / "local", tmp_path / "ray"
    run_job(processor, inputs, str(local), shard_size=2, batch_size=2)
    result = run_job(processor, inputs, str(remote), shard_size=2, batch_size=2, workers=2, engine="ray")
    assert (result.total, result.processed, result.failed) == (5, 5, 2)

    def assert_same_output() -> None:
        assert (remote / "manifest.jsonl").read_text() == (local / "manifest.jsonl").read_text()
        shards = sorted(p.name for p in local.glob("shard-*.safetensors"))
        assert shards == sorted(p.name for p in remote.glob("shard-*.safetensors")) and len(shards) == 2  # the last chunk failed whole
        for name in shards:
            np.testing.assert_array_equal(load_file(str(remote / name))["pixel_values"], load_file(str(local / name))["pixel_values"])

    assert_same_output()
    # resume on Ray: the job as a crash after the first chunk would leave it
    manifest = remote / "manifest.jsonl"
    manifest.write_text("".join(manifest.read_text().splitlines(keepends=True)[:2]))
    resumed = run_job(processor, inputs, str(remote), shard_size=2, batch_size=2, engine="ray")
    assert (resumed.skipped, resumed.processed, resumed.failed) == (2, 3, 2)
    assert_same_output()
    assert run_job(processor, inputs, str(remote), shard_size=2, batch_size=2, engine="ray").processed == 0


@pytest.mark.parametrize("crop", [True, False], ids=["fixed-size", "sizes-differ"])
def test_map_batches_callable_on_a_ray_dataset(cluster, crop):
    rows = [{"image": Path(p).read_bytes(), "label": i} for i, p in enumerate(PHOTOS[:3])]
    processor = AutoImageProcessor.from_pretrained(MODEL, backend="pil", do_center_crop=crop)
    dataset = ray.data.from_items(rows).map_batches(
        RayImageProcessor, fn_constructor_kwargs={"model": processor}, batch_size=2, concurrency=1, batch_format="numpy"
    )
    out = sorted(dataset.take_all(), key=lambda r: r["label"])
    for row, path in zip(out, PHOTOS[:3]):
        np.testing.assert_array_equal(row["pixel_values"], processor(path, return_tensors="np")["pixel_values"][0])
        assert "image" not in row
