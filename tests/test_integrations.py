"""DataLoader workers and collate, datasets transforms, to_torchvision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import pixelprep
from pixelprep import AutoImageProcessor, collate, datasets_transform
from pixelprep.errors import InvalidArgumentError

ROOT = Path(__file__).resolve().parent.parent
MODEL = str(ROOT / "examples" / "clip-vit-base-patch32")
PHOTOS = sorted(str(p) for p in (ROOT / "tests" / "fixtures" / "images").glob("photo_*.jpg"))


class Paths(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return len(PHOTOS)

    def __getitem__(self, index: int):
        return PHOTOS[index], index


def test_dataloader_workers_with_collate():
    processor = AutoImageProcessor.from_pretrained(MODEL)
    loader = torch.utils.data.DataLoader(Paths(), batch_size=2, num_workers=2, collate_fn=collate(processor))
    batches = list(loader)
    pixel_values = torch.cat([b["pixel_values"] for b in batches])
    labels = torch.cat([b["labels"] for b in batches])
    assert labels.tolist() == list(range(len(PHOTOS)))
    torch.testing.assert_close(pixel_values, processor(PHOTOS, return_tensors="pt")["pixel_values"], rtol=0, atol=0)


def test_datasets_with_transform():
    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_dict({"image": PHOTOS, "label": list(range(len(PHOTOS)))}).cast_column("image", datasets.Image())
    processor = AutoImageProcessor.from_pretrained(MODEL, backend="pil")
    dataset = dataset.with_transform(datasets_transform(processor))
    batch = dataset[:2]
    assert batch["label"] == [0, 1]
    expected = processor([Image.open(p) for p in PHOTOS[:2]], return_tensors="pt")["pixel_values"]
    torch.testing.assert_close(batch["pixel_values"], expected, rtol=0, atol=0)
    with pytest.raises(InvalidArgumentError, match="no column"):
        datasets_transform(processor, image_column="img")({"image": []})


@pytest.mark.parametrize(
    "family, config",
    [
        ("CLIPImageProcessor", {}),
        ("ViTImageProcessor", {}),
        ("DeiTImageProcessor", {}),
        ("ConvNextImageProcessor", {"size": {"shortest_edge": 224}}),
        ("LevitImageProcessor", {}),
        ("BlipImageProcessor", {}),
    ],
)
def test_to_torchvision_matches_the_processor(family, config):
    processor = getattr(pixelprep, family).from_dict(config, backend="torchvision")
    transform = processor.to_torchvision()
    for path in PHOTOS:
        tensor = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1).contiguous()
        expected = processor(tensor, return_tensors="pt")["pixel_values"][0]
        assert (transform(tensor) - expected).abs().max().item() <= 1e-5


def test_to_torchvision_refuses_what_it_cannot_express():
    clusters = np.random.default_rng(0).uniform(-1, 1, (16, 3))
    with pytest.raises(InvalidArgumentError):
        pixelprep.ImageGPTImageProcessor(clusters=clusters).to_torchvision()
