"""Shared test fixtures: the fixture images, a reference loader for them, and output comparison helpers.

Tests that take an ``image_path`` argument run once per file in ``tests/fixtures/images`` (see
:func:`pytest_generate_tests`); the other helpers are fixtures returning functions, so test modules
never import this file.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageOps

FIXTURES_DIR = Path(__file__).parent / "fixtures"
IMAGES_DIR = FIXTURES_DIR / "images"
FIXTURE_IMAGES = sorted(path for path in IMAGES_DIR.iterdir() if path.is_file())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that asks for ``image_path`` once per fixture image (ids are the file names)."""
    if "image_path" in metafunc.fixturenames and not any(
        "image_path" in mark.args[0] for mark in metafunc.definition.iter_markers("parametrize")
    ):
        metafunc.parametrize("image_path", FIXTURE_IMAGES, ids=[path.name for path in FIXTURE_IMAGES])


@functools.lru_cache(maxsize=None)
def _load_reference_image(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()
    # exif_transpose returns the image itself when there is no orientation tag; a loaded copy otherwise
    return ImageOps.exif_transpose(image)


def load_reference_image(path: str | Path) -> Image.Image:
    """A fixture image decoded by Pillow with EXIF orientation applied (first frame of animations); cached, do not mutate."""
    return _load_reference_image(Path(path))


def eight_bit_from_sixteen(image: Image.Image) -> Image.Image:
    """The 16-bit grayscale image scaled by value to 8 bits (65535 -> 255, rounded), computed independently of pixelprep."""
    values = np.asarray(image).astype(np.int64)
    # round(v * 255 / 65535) = round(v / 257); integer arithmetic, and v / 257 is never exactly halfway
    scaled = (2 * values + 257) // 514
    return Image.fromarray(scaled.astype(np.uint8), mode="L")


def as_numpy(value: Any) -> Any:
    """A torch tensor, array or nested list of them as NumPy (lists stay lists)."""
    if isinstance(value, (list, tuple)):
        return [as_numpy(v) for v in value]
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        # NumPy has no bfloat16 (Llama 4's outputs): its values are exact in float32
        return (value.float() if str(value.dtype) == "torch.bfloat16" else value).numpy()
    return np.asarray(value)


def as_image_list(value: Any) -> list[np.ndarray]:
    """Batch output (one 4-D array or a list of 3-D ones) as a list of per-image NumPy arrays."""
    value = as_numpy(value)
    return list(value) if isinstance(value, np.ndarray) else value


def max_abs_diff(ours: Any, theirs: Any) -> float:
    """Largest absolute difference between two arrays of the same shape, in float64."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.size == 0:
        return 0.0
    return float(np.abs(ours.astype(np.float64) - theirs.astype(np.float64)).max())


def assert_close(ours: Any, theirs: Any, atol: float = 1e-4, what: str = "") -> float:
    """Assert equal shapes and max |ours - theirs| <= atol for arrays or lists of arrays; returns the max difference."""
    ours_list, theirs_list = as_image_list(ours), as_image_list(theirs)
    label = f"{what}: " if what else ""
    assert len(ours_list) == len(theirs_list), f"{label}{len(ours_list)} outputs from pixelprep, {len(theirs_list)} from the reference"
    worst = 0.0
    for index, (a, b) in enumerate(zip(ours_list, theirs_list)):
        assert a.shape == b.shape, f"{label}image {index}: shape {a.shape} from pixelprep, {b.shape} from the reference"
        worst = max(worst, max_abs_diff(a, b))
    assert worst <= atol, f"{label}max |ours - reference| = {worst:.6g} > {atol:g}"
    return worst


@pytest.fixture(scope="session")
def fixture_images() -> list[Path]:
    """Paths of every image in ``tests/fixtures/images``."""
    return list(FIXTURE_IMAGES)


@pytest.fixture(scope="session")
def load_image() -> Callable[[str | Path], Image.Image]:
    """The reference loader: Pillow + ``ImageOps.exif_transpose``, cached per path."""
    return load_reference_image


@pytest.fixture(scope="session")
def compare() -> Callable[..., float]:
    """:func:`assert_close` as a fixture: ``compare(ours, theirs, atol=1e-4, what="...")``."""
    return assert_close


@pytest.fixture(scope="session")
def to_numpy() -> Callable[[Any], Any]:
    """:func:`as_numpy` as a fixture."""
    return as_numpy


@pytest.fixture(scope="session")
def to_eight_bit() -> Callable[[Image.Image], Image.Image]:
    """:func:`eight_bit_from_sixteen` as a fixture."""
    return eight_bit_from_sixteen


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection attempt other than to localhost, and put huggingface_hub in offline mode."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and self.family != socket.AF_UNIX:
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="session")
def fixture_path() -> Callable[[str], Path]:
    """The path of a fixture image from its file name (checked to exist)."""

    def path_of(name: str) -> Path:
        path = IMAGES_DIR / name
        assert path.is_file(), f"no fixture image {name}"
        return path

    return path_of


# The LayoutLM families read pages with Tesseract by default (apply_ocr=True), in pixelprep and in transformers alike,
# so the tests that build every family with its defaults need the tesseract program. `make install` / `make test`
# install it where they can (root with apt); elsewhere those tests skip, saying how to install it, and
# tests/parity/test_layoutlmv3.py still checks these families without OCR.
_OCR_FAMILY_IDS = ("layoutlm", "layoutxlm", "udop")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the OCR families' cases of the shared tests when Tesseract cannot run here."""
    from pixelprep.models import layoutlmv3

    problem = layoutlmv3._tesseract_problem()
    if problem is None:
        return
    skip = pytest.mark.skip(reason=f"the LayoutLM families' defaults run Tesseract OCR, but {problem}; {layoutlmv3.INSTALL_OCR}")
    for item in items:
        if item.path.name != "test_layoutlmv3.py" and any(name in item.nodeid.lower() for name in _OCR_FAMILY_IDS):
            item.add_marker(skip)
