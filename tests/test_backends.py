"""The backend registry: listing, registering (globally or per family), fallback, defaults, devices."""

from __future__ import annotations

import json
import pathlib
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import pixelprep.backends
from pixelprep import (
    AutoImageProcessor,
    Backend,
    BackendUnavailableError,
    ChameleonImageProcessor,
    CLIPImageProcessor,
    InvalidArgumentError,
    ViTImageProcessor,
    available_backends,
    register_backend,
)
from pixelprep.backends import Affine

IMAGES = pathlib.Path(__file__).parent / "fixtures" / "images"
PHOTO = IMAGES / "photo_rgb_301x200.png"


class NearestNumpyBackend(Backend):
    """A user backend in a few lines: plain NumPy, nearest-neighbour resizing whatever the filter."""

    name = "numpy-test"

    def from_canonical(self, image: Any) -> np.ndarray:
        return np.asarray(image)

    def size(self, image: np.ndarray) -> tuple[int, int]:
        return image.shape[0], image.shape[1]

    def resize(self, image: np.ndarray, size: tuple[int, int], resample: int) -> np.ndarray:
        rows = (np.arange(size[0]) + 0.5) * image.shape[0] / size[0]
        cols = (np.arange(size[1]) + 0.5) * image.shape[1] / size[1]
        return image[rows.astype(int)][:, cols.astype(int)]

    def crop(self, image: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
        return image[top : top + height, left : left + width]

    def pad(self, image: np.ndarray, top: int, bottom: int, left: int, right: int, fill: float = 0) -> np.ndarray:
        return np.pad(image, ((top, bottom), (left, right), (0, 0)), constant_values=fill)

    def allocate(self, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        return np.zeros(shape, dtype=dtype)

    def write_chw(self, image: np.ndarray, out: np.ndarray, affine: Affine | None) -> None:
        out[...] = np.moveaxis(image if affine is None else affine.apply(image), -1, 0)

    def to_numpy(self, array: Any) -> np.ndarray:
        return np.asarray(array)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register global backends without leaking them into other tests."""
    monkeypatch.setattr(pixelprep.backends, "_GLOBAL", dict(pixelprep.backends._GLOBAL))


def _clip_folder(tmp_path: pathlib.Path, **config: Any) -> pathlib.Path:
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"image_processor_type": "CLIPImageProcessor", **config}))
    return tmp_path


def test_available_backends() -> None:
    names = available_backends()
    assert names[:2] == ["pil", "torchvision"]
    assert available_backends(CLIPImageProcessor) == names


def test_a_registered_backend_is_selectable_by_name(registry: None, tmp_path: pathlib.Path) -> None:
    register_backend("numpy-test", NearestNumpyBackend)
    assert "numpy-test" in available_backends()
    processor = AutoImageProcessor.from_pretrained(_clip_folder(tmp_path), backend="numpy-test")
    assert isinstance(processor.backend, NearestNumpyBackend)
    assert processor.backend_name == "numpy-test"
    assert "numpy-test" in repr(processor)
    out = processor([str(PHOTO), str(IMAGES / "tall_rgb_90x1200.jpg")], return_tensors="np")["pixel_values"]
    assert out.shape == (2, 3, 224, 224) and out.dtype == np.float32
    # Nearest neighbour is not bicubic, but it is the same picture.
    reference = CLIPImageProcessor(backend="pil")(str(PHOTO), return_tensors="np")["pixel_values"][0]
    assert np.abs(out[0] - reference).mean() < 0.1
    # return_tensors="pt" works through the base class's to_torch.
    assert processor(str(PHOTO), return_tensors="pt")["pixel_values"].shape == (1, 3, 224, 224)


def test_a_backend_registered_for_one_family_is_not_available_to_another() -> None:
    class OwnFamily(CLIPImageProcessor):
        """A user family that brings its own backend."""

    class OwnFamilyChild(OwnFamily):
        """Inherits its parent's backends."""

    register_backend("numpy-family-only", NearestNumpyBackend, family=OwnFamily)
    assert "numpy-family-only" in available_backends(OwnFamily)
    assert "numpy-family-only" in available_backends(OwnFamilyChild)
    assert "numpy-family-only" not in available_backends(CLIPImageProcessor)
    assert "numpy-family-only" not in available_backends()
    assert OwnFamily(backend="numpy-family-only")(str(PHOTO), return_tensors="np")["pixel_values"].shape == (1, 3, 224, 224)
    with pytest.raises(InvalidArgumentError, match="numpy-family-only"):
        CLIPImageProcessor(backend="numpy-family-only")
    with pytest.raises(InvalidArgumentError):
        ViTImageProcessor(backend="numpy-family-only")


def test_an_unavailable_backend_falls_back_with_a_warning(registry: None) -> None:
    register_backend("never-here", NearestNumpyBackend, available=lambda: False)
    assert "never-here" not in available_backends()
    with pytest.warns(RuntimeWarning) as caught:
        processor = CLIPImageProcessor(backend="never-here")
    message = str(caught[0].message)
    assert "'never-here'" in message and "'torchvision'" in message
    assert processor.backend_name == "torchvision"
    # Chameleon's default is pil, so that is where it falls back to.
    with pytest.warns(RuntimeWarning, match="'never-here'.*'pil'"):
        chameleon = ChameleonImageProcessor(backend="never-here")
    assert chameleon.backend_name == "pil"


def test_no_fallback_available_is_an_error(registry: None) -> None:
    register_backend("never-here", NearestNumpyBackend, available=lambda: False)
    for name in ("pil", "torchvision"):
        register_backend(name, NearestNumpyBackend, available=lambda: False)
    with pytest.raises(BackendUnavailableError, match="never-here") as info:
        CLIPImageProcessor(backend="never-here")
    assert isinstance(info.value, ImportError)


def test_unknown_backend_lists_the_registered_ones() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        CLIPImageProcessor(backend="cv2")
    message = str(info.value)
    assert "'cv2'" in message
    for name in available_backends():
        assert name in message


def test_register_backend_rejects_a_bad_name() -> None:
    with pytest.raises(InvalidArgumentError):
        register_backend("", NearestNumpyBackend)


def test_default_backends(tmp_path: pathlib.Path) -> None:
    """torchvision by default; Chameleon's LANCZOS makes pil its default (LANCZOS is a Pillow filter)."""
    assert CLIPImageProcessor().backend_name == "torchvision"
    assert ChameleonImageProcessor().backend_name == "pil"
    assert ChameleonImageProcessor(resample="bicubic").backend_name == "torchvision"
    assert ChameleonImageProcessor(backend="torchvision").backend_name == "torchvision"
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"image_processor_type": "ChameleonImageProcessor"}))
    assert AutoImageProcessor.from_pretrained(tmp_path).backend_name == "pil"


def test_device_cpu_on_torchvision() -> None:
    default = CLIPImageProcessor(backend="torchvision")(str(PHOTO), return_tensors="pt")["pixel_values"]
    on_cpu = CLIPImageProcessor(backend="torchvision", device="cpu")
    assert on_cpu.backend.device == torch.device("cpu")
    assert "cpu" in repr(on_cpu)
    for out in (on_cpu(str(PHOTO), return_tensors="pt"), CLIPImageProcessor(backend="torchvision")(str(PHOTO), device="cpu", return_tensors="pt")):
        values = out["pixel_values"]
        assert values.device.type == "cpu"
        torch.testing.assert_close(values, default, rtol=0, atol=0)


def test_an_unusable_device_is_our_error() -> None:
    unusable = ["gpu", "cuda:99"] + ([] if torch.cuda.is_available() else ["cuda"])
    for device in unusable:
        with pytest.raises(InvalidArgumentError, match=f"device '{device}'"):
            CLIPImageProcessor(backend="torchvision", device=device)
        with pytest.raises(InvalidArgumentError, match=f"device '{device}'"):
            CLIPImageProcessor(backend="torchvision")(str(PHOTO), device=device)


def test_the_pil_backend_ignores_a_device() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        processor = CLIPImageProcessor(backend="pil", device="cpu")
    assert processor.backend.device is None


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_clip_on_cuda_matches_cpu() -> None:
    images = [str(PHOTO), str(IMAGES / "photo_rgb_640x427.jpg"), str(IMAGES / "rgba_alpha_radial_256x192.png")]
    cpu = CLIPImageProcessor(backend="torchvision")(images, return_tensors="pt")["pixel_values"]
    gpu_processor = CLIPImageProcessor(backend="torchvision", device="cuda")
    gpu = gpu_processor(images, return_tensors="pt")["pixel_values"]
    assert gpu.device.type == "cuda" and gpu.shape == cpu.shape == (3, 3, 224, 224)
    # CUDA's resize kernels may round a few pixels the other way: within one uint8 step after normalisation.
    difference = (gpu.cpu() - cpu).abs()
    assert difference.max().item() < 2 / 255 / 0.26
    assert difference.mean().item() < 1e-3
    # Device tensors stay on the device through the whole pipeline.
    tensor = torch.from_numpy(np.asarray(Image.open(PHOTO))).permute(2, 0, 1).cuda()
    assert gpu_processor(tensor, return_tensors="pt")["pixel_values"].device.type == "cuda"
