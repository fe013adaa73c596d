"""Without torch installed: the pil backend runs every family, and what needs torch says so with our error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pixelprep.models import __all__ as FAMILY_NAMES

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter where importing torch or torchvision fails as if they were not installed.
SCRIPT = r"""
import inspect, json, sys, warnings
sys.modules["torch"] = None
sys.modules["torchvision"] = None
warnings.filterwarnings("ignore")
import numpy as np
import pixelprep
from pixelprep import PixelprepError
from pixelprep.models import __all__ as NAMES

REQUIRED = {
    "ImageGPTImageProcessor": {"clusters": [[0.1, -0.2, 0.3], [-0.5, 0.5, 0.0]]},
    "TimmWrapperImageProcessor": {"architecture": "resnet50", "pretrained_cfg": {"input_size": [3, 64, 64], "mean": [0.5] * 3, "std": [0.4] * 3}},
}
rng = np.random.default_rng(0)
images = [rng.integers(0, 256, (60, 80, 3), dtype=np.uint8), rng.integers(0, 256, (50, 40, 3), dtype=np.uint8)]
report = {"ok": [], "ours": {}, "foreign": {}}
for name in NAMES:
    try:
        processor = getattr(pixelprep, name)(backend="pil", **REQUIRED.get(name, {}))
        parameters = inspect.signature(processor.preprocess).parameters
        extras = {}
        if "trimaps" in parameters:
            extras["trimaps"] = [np.zeros(image.shape[:2], np.uint8) for image in images]
        processor(images, return_tensors=None, **extras)
        report["ok"].append(name)
    except PixelprepError as exc:
        report["ours"][name] = f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        report["foreign"][name] = f"{type(exc).__name__}: {exc}"
for what, call in {
    "return_tensors_pt": lambda: pixelprep.CLIPImageProcessor(backend="pil")(images[0], return_tensors="pt"),
    "sapiens2_boxes": lambda: pixelprep.Sapiens2ImageProcessor(backend="pil")(images[:1], boxes=[[[5, 5, 20, 30]]], return_tensors="np"),
    "post_processing": lambda: pixelprep.DetrImageProcessor(backend="pil").post_process_object_detection(
        {"logits": np.zeros((1, 5, 3), np.float32), "pred_boxes": np.zeros((1, 5, 4), np.float32)}
    ),
}.items():
    try:
        call()
        report["ok"].append(what)
    except PixelprepError as exc:
        report["ours"][what] = f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        report["foreign"][what] = f"{type(exc).__name__}: {exc}"
report["torch_loaded"] = sys.modules.get("torch") is not None
print(json.dumps(report))
"""


def test_pil_backend_without_torch() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert not report["foreign"], report["foreign"]
    assert not report["torch_loaded"]
    needs_torch = {name for name, message in report["ours"].items() if "needs torch" in message}
    assert set(report["ok"]) | needs_torch == {*FAMILY_NAMES, "return_tensors_pt", "sapiens2_boxes", "post_processing"}
    # Kosmos-2.5, Pix2Struct and ZoeDepth: transformers' pil classes use torch too (patches, resize); DepthPro, RF-DETR and
    # UVDoc: transformers has a torchvision class only, whose float resizes ours runs on both backends; and three calls
    assert needs_torch == {
        "Kosmos2_5ImageProcessor", "Pix2StructImageProcessor", "ZoeDepthImageProcessor", "DepthProImageProcessor",
        "RfDetrImageProcessor", "UVDocImageProcessor", "return_tensors_pt", "sapiens2_boxes", "post_processing",
    }  # fmt: skip
    assert "pip install 'pixelprep[torch]'" in report["ours"]["return_tensors_pt"]
    assert report["ours"]["return_tensors_pt"].startswith("BackendUnavailableError: return_tensors='pt' needs torch")
