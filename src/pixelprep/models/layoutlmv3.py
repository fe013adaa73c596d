"""LayoutLMv3 (and UDOP): a 224x224 squash normalised to [-1, 1], plus Tesseract OCR words and boxes (``apply_ocr``).

The OCR runs on each page as pixelprep reads it (RGB, EXIF-oriented), before any resize, through
pytesseract: the optional extra ``pixelprep[ocr]`` and the ``tesseract`` program (Debian:
``apt-get install tesseract-ocr``). A missing piece is an error when the processor is built.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

import numpy as np

from ..auto import register_family
from ..errors import BackendUnavailableError, InvalidArgumentError
from ..features import BatchFeature
from ..inputs import LoadOptions, flatten_inputs, to_canonical
from ..params import normalize_bool
from ..processor import ImageProcessor
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD

INSTALL_OCR = "install it with: pip install 'pixelprep[ocr]' (pytesseract) and the tesseract program (Debian/Ubuntu: apt-get install tesseract-ocr)"


def _optional_text(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string or None, got {value!r}")
    return value


@functools.lru_cache(maxsize=None)
def _tesseract_problem() -> str | None:
    """Why OCR cannot run here (None when pytesseract and the tesseract program are both found); checked once per process."""
    if importlib.util.find_spec("pytesseract") is None:
        return "the pytesseract package is not installed"
    import pytesseract

    try:
        pytesseract.get_tesseract_version()
    except Exception as error:  # TesseractNotFoundError, or a program that fails to start
        return f"the tesseract program cannot be run ({type(error).__name__}: {' '.join(str(error).split())})"
    return None


def require_ocr() -> None:
    """Raise :class:`BackendUnavailableError` saying what to install when OCR cannot run."""
    problem = _tesseract_problem()
    if problem is not None:
        raise BackendUnavailableError(f"apply_ocr=True needs Tesseract OCR, but {problem}; {INSTALL_OCR}")


def ocr_words_and_boxes(page: np.ndarray, lang: str | None, config: str | None) -> tuple[list[str], list[list[int]]]:
    """Tesseract's words on an HWC uint8 page and their boxes (left, top, right, bottom) in thousandths of the page, truncated."""
    import pytesseract

    height, width = page.shape[:2]
    data = pytesseract.image_to_data(page[:, :, 0] if page.shape[2] == 1 else page, lang=lang, output_type="dict", config=config or "")
    words, boxes = [], []
    for text, left, top, box_width, box_height in zip(data["text"], data["left"], data["top"], data["width"], data["height"]):
        if not text.strip():  # Tesseract also reports blocks, lines and empty words
            continue
        words.append(text)
        boxes.append([int(1000 * (left / width)), int(1000 * (top / height)), int(1000 * ((left + box_width) / width)), int(1000 * ((top + box_height) / height))])
    return words, boxes


class OcrProcessor(ImageProcessor):
    """A family whose pages may also be read by Tesseract: ``words`` and ``boxes`` per image with ``apply_ocr``."""

    defaults = {"apply_ocr": True, "ocr_lang": None, "tesseract_config": ""}
    extra_params = {"apply_ocr": normalize_bool, "ocr_lang": _optional_text, "tesseract_config": _optional_text}

    def _setup(self, params: dict[str, Any], extra: dict[str, Any], backend: str | None, num_threads: int | None) -> None:
        super()._setup(params, extra, backend, num_threads)
        if self._params.get("apply_ocr"):
            require_ocr()

    def preprocess(self, images: Any, **kwargs: Any) -> BatchFeature:
        """The family's pixels; with ``apply_ocr``, Tesseract's ``words`` and ``boxes`` (0-1000) per image, read before any resize."""
        params = self.resolve(kwargs)
        if not params.get("apply_ocr"):
            return super().preprocess(images, **kwargs)
        require_ocr()
        backend = self._backend_for(params.get("device"))
        items = flatten_inputs(images)
        if not items:
            raise InvalidArgumentError("images is empty: pass at least one image")
        # each page is read once, as the pipeline reads it; the OCR and the pipeline both take that array
        pages = [to_canonical(item, LoadOptions(self.converts_to_rgb(params), params.get("input_data_format"))) for item in items]
        pages = [page.detach().cpu().numpy() if hasattr(page, "detach") else page for page in pages]
        ocr = [ocr_words_and_boxes(_eight_bit(page), params.get("ocr_lang"), params.get("tesseract_config")) for page in pages]
        features = self.finalize(self.process_images(pages, dict(params, input_data_format="channels_last"), backend), params, backend)
        features["words"] = [words for words, _ in ocr]
        features["boxes"] = [boxes for _, boxes in ocr]
        return features

    def runner_refusal(self) -> str | None:
        """Why ``pixelprep run`` cannot store this processor's outputs, or None: OCR words are text, which tensor shards cannot hold."""
        if self._params.get("apply_ocr"):
            return "apply_ocr=True makes words (text); run with a config that sets \"apply_ocr\": false (pixels only)"
        return None

    def describe_finalize(self, params: dict[str, Any]) -> list[str]:
        """The OCR, when on."""
        lines = super().describe_finalize(params)
        if params.get("apply_ocr"):
            lines.append(f"OCR with Tesseract (lang={params.get('ocr_lang') or 'eng'}) before resizing: words, boxes in 0-1000")
        return lines


def _eight_bit(page: np.ndarray) -> np.ndarray:
    """A page as Tesseract is given it: 8-bit (float pages in 0..1 scaled to 0..255, as transformers' ``to_pil_image`` does)."""
    if page.dtype == np.uint8:
        return page
    scale = 255 if page.size and float(page.max()) <= 1 else 1
    return np.clip(np.asarray(page, np.float64) * scale, 0, 255).astype(np.uint8)


@register_family
class LayoutLMv3ImageProcessor(OcrProcessor):
    """LayoutLMv3 and UDOP (document understanding with OCR)."""

    transformers_class = "LayoutLMv3ImageProcessor"
    model_types = ("layoutlmv3", "udop")
    class_aliases = ("LayoutLMv3FeatureExtractor",)
    defaults = {
        "do_resize": True,
        "size": {"height": 224, "width": 224},
        "resample": 2,
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
    }

