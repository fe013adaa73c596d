"""OWL-ViT post-processing against transformers 5.23's OwlViTImageProcessor on the same model outputs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import transformers

import pixelprep

TARGETS = [None, [(480, 640), (333, 517)], torch.tensor([[480, 640], [333, 517]])]


def _outputs(seed: int, queries: int = 40, texts: int = 3) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, queries, texts, generator=generator) * 3
    boxes = torch.rand(2, queries, 4, generator=generator) * 0.4 + 0.3  # many overlaps, so NMS has work
    return SimpleNamespace(logits=logits, pred_boxes=boxes, target_pred_boxes=boxes)


def _same(ours: list[dict], theirs: list[dict]) -> None:
    assert len(ours) == len(theirs)
    assert sum(len(r["scores"]) for r in theirs) > 0, "the outputs should produce detections"
    for mine, ref in zip(ours, theirs):
        assert set(mine) == set(ref)
        for key, value in ref.items():
            if value is None:
                assert mine[key] is None
            else:
                torch.testing.assert_close(mine[key], value, rtol=0, atol=1e-6)


@pytest.mark.parametrize("backend", ["torchvision", "pil"])
@pytest.mark.parametrize("target_index", range(len(TARGETS)))
@pytest.mark.parametrize("threshold", [0.1, 0.6])
def test_object_detection_matches(backend: str, target_index: int, threshold: float) -> None:
    outputs = _outputs(3)
    theirs = transformers.OwlViTImageProcessor().post_process_object_detection(outputs, threshold=threshold, target_sizes=TARGETS[target_index])
    ours = pixelprep.OwlViTImageProcessor(backend=backend).post_process_object_detection(outputs, threshold=threshold, target_sizes=TARGETS[target_index])
    _same(ours, theirs)


@pytest.mark.parametrize("target_index", [0, 2])
@pytest.mark.parametrize(("threshold", "nms_threshold"), [(0.0, 0.3), (0.5, 0.3), (0.2, 1.0), (0.0, 0.05)])
def test_image_guided_detection_matches(target_index: int, threshold: float, nms_threshold: float) -> None:
    outputs = _outputs(5)
    kwargs = {"threshold": threshold, "nms_threshold": nms_threshold, "target_sizes": TARGETS[target_index]}
    theirs = transformers.OwlViTImageProcessor().post_process_image_guided_detection(outputs, **kwargs)
    ours = pixelprep.OwlViTImageProcessor().post_process_image_guided_detection(outputs, **kwargs)
    _same(ours, theirs)


def test_image_guided_detection_keeps_one_result_per_image() -> None:
    """An image with no surviving box still gets a (empty) result, so results stay aligned with images."""
    outputs = _outputs(5)
    outputs.logits[0] = -1e4  # sigmoid is exactly 0: transformers drops this image's entry
    ours = pixelprep.OwlViTImageProcessor().post_process_image_guided_detection(outputs)
    assert len(ours) == 2
    assert len(ours[0]["scores"]) == 0 and len(ours[1]["scores"]) > 0


def test_legacy_rescale_key() -> None:
    """Old OWL-ViT configs say ``rescale``; it sets do_rescale."""
    assert pixelprep.OwlViTImageProcessor.from_dict({"rescale": False}).do_rescale is False
