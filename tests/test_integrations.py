"""Pickling and DataLoader workers, collate, datasets transforms, the Ray Data callable, to_torchvision."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import pixelprep
from pixelprep import AutoImageProcessor, collate, datasets_transform, from_open_clip, from_timm
from pixelprep.errors import InvalidArgumentError
from pixelprep.ray_engine import RayImageProcessor

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "examples" / "clip-vit-base-patch32")
IMAGES = ROOT / "tests" / "fixtures" / "images"
PHOTOS = sorted(str(p) for p in IMAGES.glob("photo_*"))
ODD_SHAPES = [str(IMAGES / name) for name in ("tall_rgb_90x1200.jpg", "wide_rgb_1200x90.jpg", "tiny_rgb_7x5.png")]


def _expected(processor, paths):
    return processor(paths, return_tensors="pt")["pixel_values"]


# ------------------------------------------------------------------------------------ pickling, workers


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_processors_pickle_with_their_settings(backend):
    processors = [
        AutoImageProcessor.from_pretrained(MODEL, backend=backend),
        from_timm({"input_size": (3, 224, 224), "crop_mode": "border", "crop_pct": 0.9}, backend=backend),
    ]
    for processor in processors:
        clone = pickle.loads(pickle.dumps(processor))
        assert type(clone) is type(processor) and clone.backend_name == backend
        assert clone.to_dict() == processor.to_dict()
        torch.testing.assert_close(_expected(clone, PHOTOS), _expected(processor, PHOTOS), rtol=0, atol=0)


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_dataloader_fork_workers_after_the_parent_used_the_thread_pool(backend):
    processor = AutoImageProcessor.from_pretrained(MODEL, backend=backend)
    expected = _expected(processor, PHOTOS)  # the parent's thread pool now exists; forked workers must not reuse it
    pairs = [(path, i) for i, path in enumerate(PHOTOS)]
    loader = torch.utils.data.DataLoader(pairs, batch_size=3, num_workers=2, collate_fn=collate(processor), timeout=30)
    batches = list(loader)
    assert torch.cat([b["labels"] for b in batches]).tolist() == list(range(len(PHOTOS)))
    torch.testing.assert_close(torch.cat([b["pixel_values"] for b in batches]), expected, rtol=0, atol=0)


def test_dataloader_spawn_workers_receive_a_pickled_processor():
    processor = from_open_clip({"image_size": 224, "resize_mode": "longest", "fill_color": 90}, backend="pil")
    loader = torch.utils.data.DataLoader(PHOTOS, batch_size=3, num_workers=2, multiprocessing_context="spawn", collate_fn=collate(processor), timeout=120)
    torch.testing.assert_close(torch.cat([b["pixel_values"] for b in loader]), _expected(processor, PHOTOS), rtol=0, atol=0)


# --------------------------------------------------------------------------------------------- collate


def test_collate_takes_images_pairs_and_dicts():
    processor = AutoImageProcessor.from_pretrained(MODEL, backend="pil")
    expected = _expected(processor, PHOTOS[:2])
    plain = collate(processor)(PHOTOS[:2])
    assert set(plain) == {"pixel_values"}
    torch.testing.assert_close(plain["pixel_values"], expected, rtol=0, atol=0)

    rows = [{"image": {"bytes": Path(p).read_bytes(), "path": None}, "label": i, "caption": f"c{i}"} for i, p in enumerate(PHOTOS[:2])]
    batch = collate(processor)(rows)
    torch.testing.assert_close(batch["pixel_values"], expected, rtol=0, atol=0)
    assert batch["label"].tolist() == [0, 1] and batch["caption"] == ["c0", "c1"]

    numpy_batch = collate(processor, return_tensors="np")([(p, i) for i, p in enumerate(PHOTOS[:2])])
    assert isinstance(numpy_batch["pixel_values"], np.ndarray) and numpy_batch["labels"].tolist() == [0, 1]


def test_collate_errors_name_the_problem():
    processor = AutoImageProcessor.from_pretrained(MODEL, backend="pil")
    with pytest.raises(InvalidArgumentError, match="no key 'img'"):
        collate(processor, image_key="img")([{"image": PHOTOS[0]}])
    with pytest.raises(InvalidArgumentError, match="tuple of 3"):
        collate(processor)([(PHOTOS[0], 0, "x")])
    with pytest.raises(InvalidArgumentError, match="empty"):
        collate(processor)([])


# -------------------------------------------------------------------------------------------- datasets


@pytest.fixture(scope="module")
def hf_dataset():
    datasets = pytest.importorskip("datasets")
    return datasets.Dataset.from_dict({"image": PHOTOS, "label": list(range(len(PHOTOS)))}).cast_column("image", datasets.Image())


def test_datasets_with_transform_on_decoded_images(hf_dataset):
    processor = AutoImageProcessor.from_pretrained(MODEL, backend="pil")
    batch = hf_dataset.with_transform(datasets_transform(processor))[:3]
    assert batch["label"] == [0, 1, 2] and "image" not in batch
    expected = processor([Image.open(p) for p in PHOTOS[:3]], return_tensors="pt")["pixel_values"]
    torch.testing.assert_close(batch["pixel_values"], expected, rtol=0, atol=0)


def test_datasets_set_transform_on_undecoded_images(hf_dataset):
    import datasets

    processor = AutoImageProcessor.from_pretrained(MODEL, backend="torchvision")
    undecoded = hf_dataset.cast_column("image", datasets.Image(decode=False))
    undecoded.set_transform(datasets_transform(processor, keep_columns=False, return_tensors="np"))
    row = undecoded[1]
    assert set(row) == {"pixel_values"}
    np.testing.assert_array_equal(row["pixel_values"], processor(PHOTOS[1], return_tensors="np")["pixel_values"][0])
    with pytest.raises(InvalidArgumentError, match="no column 'img'"):
        datasets_transform(processor, image_column="img")({"image": []})


def test_dataloader_over_a_hf_dataset_with_collate(hf_dataset):
    processor = AutoImageProcessor.from_pretrained(MODEL, backend="pil")
    loader = torch.utils.data.DataLoader(hf_dataset, batch_size=4, collate_fn=collate(processor))
    batch = next(iter(loader))
    assert batch["label"].tolist() == [0, 1, 2, 3]
    expected = processor([Image.open(p) for p in PHOTOS[:4]], return_tensors="pt")["pixel_values"]
    torch.testing.assert_close(batch["pixel_values"], expected, rtol=0, atol=0)


# ------------------------------------------------------------------------------------------------- Ray


@pytest.mark.parametrize("model", ["path", "processor"])
def test_ray_map_batches_callable_on_a_numpy_batch(model):
    """Called the way Ray Data's ``map_batches(..., batch_format="numpy")`` calls it: a dict of column arrays."""
    processor = AutoImageProcessor.from_pretrained(MODEL, backend="pil")
    mapper = RayImageProcessor(MODEL, backend="pil") if model == "path" else RayImageProcessor(processor)
    images = np.array([Path(PHOTOS[0]).read_bytes(), {"bytes": None, "path": PHOTOS[1]}, PHOTOS[2]], dtype=object)
    out = mapper({"image": images, "id": np.array([7, 8, 9])})
    assert set(out) == {"pixel_values", "id"} and out["id"].tolist() == [7, 8, 9]
    assert isinstance(out["pixel_values"], np.ndarray)
    np.testing.assert_array_equal(out["pixel_values"], processor(PHOTOS[:3], return_tensors="np")["pixel_values"])
    kept = RayImageProcessor(processor, keep_input=True)({"image": images[:1]})
    assert set(kept) == {"image", "pixel_values"}


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_ray_map_batches_callable_with_outputs_of_different_sizes(backend):
    """Without a crop, rows differ in size: an object column of per-row arrays, each equal to the Python API's."""
    processor = AutoImageProcessor.from_pretrained(MODEL, backend=backend, do_center_crop=False)
    out = RayImageProcessor(processor)({"image": np.array(PHOTOS[:3], dtype=object)})
    assert out["pixel_values"].dtype == object and len(out["pixel_values"]) == 3
    for row, path in zip(out["pixel_values"], PHOTOS[:3]):
        assert isinstance(row, np.ndarray)
        np.testing.assert_array_equal(row, processor(path, return_tensors="np")["pixel_values"][0])


# ----------------------------------------------------------------------------------------- torchvision


def _chw(path: str) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1).contiguous()


@pytest.mark.parametrize(
    "make",
    [
        lambda: pixelprep.CLIPImageProcessor(backend="torchvision"),
        lambda: pixelprep.ViTImageProcessor(backend="torchvision"),
        lambda: pixelprep.DeiTImageProcessor(backend="torchvision"),
        lambda: pixelprep.ConvNextImageProcessor(size={"shortest_edge": 224}, backend="torchvision"),  # the crop_pct path
        lambda: pixelprep.LevitImageProcessor(backend="torchvision"),
        lambda: pixelprep.BlipImageProcessor(backend="torchvision"),
        lambda: from_timm({"input_size": (3, 224, 288), "crop_pct": 0.9}, backend="torchvision"),  # keep-ratio cover
        lambda: from_timm({"input_size": (3, 224, 224), "crop_mode": "border", "crop_pct": 0.95}, backend="torchvision"),  # mean-colour padding
    ],
    ids=["clip", "vit", "deit", "convnext-crop-pct", "levit", "blip", "timm-keep-ratio", "timm-border"],
)
def test_to_torchvision_matches_the_torchvision_backend(make):
    from torchvision.transforms import v2

    processor = make()
    transform = processor.to_torchvision()
    assert isinstance(transform, v2.Compose)
    for path in PHOTOS + ODD_SHAPES:
        tensor = _chw(path)
        expected = processor(tensor, return_tensors="pt")["pixel_values"][0]
        actual = transform(tensor)
        assert actual.shape == expected.shape and actual.dtype == torch.float32, path
        assert (actual - expected).abs().max().item() <= 1e-5, path
    clone = pickle.loads(pickle.dumps(transform))
    torch.testing.assert_close(clone(_chw(PHOTOS[0])), transform(_chw(PHOTOS[0])), rtol=0, atol=0)


def test_to_torchvision_uses_torchvision_transforms_where_they_agree():
    from torchvision.transforms import v2

    steps = from_open_clip({"image_size": 224}).to_torchvision().transforms
    assert [type(t) for t in steps[:2]] == [v2.Resize, v2.CenterCrop]  # open_clip's own Resize(int) + CenterCrop
    clip_steps = pixelprep.CLIPImageProcessor().to_torchvision().transforms
    assert type(clip_steps[1]) is not v2.CenterCrop  # transformers rounds crop offsets toward zero, torchvision half to even


def test_to_torchvision_refuses_what_it_cannot_express():
    clusters = np.random.default_rng(0).uniform(-1, 1, (16, 3))
    with pytest.raises(InvalidArgumentError, match="colour|color|cluster"):
        pixelprep.ImageGPTImageProcessor(clusters=clusters).to_torchvision()
    with pytest.raises(InvalidArgumentError, match="padding"):
        pixelprep.ViTImageProcessor(do_pad=True).to_torchvision()
    with pytest.raises(InvalidArgumentError, match="box"):
        pixelprep.ViTImageProcessor(resample="box", backend="pil").to_torchvision()
