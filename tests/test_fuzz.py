"""Fuzzing: whatever a user passes, pixelprep answers or raises a PixelprepError, finitely and in time.

Seeded and short inside the normal test run; ``PIXELPREP_FUZZ_LONG=1 python -m pytest -s tests/test_fuzz.py``
runs many more cases and prints, per category, the cases tried and their outcomes (ok / our error).
Properties checked for every case: no exception other than :class:`PixelprepError`, no NaN or infinity
in the output of a finite input, no case slower than ``CASE_DEADLINE_S``; for corrupt files also one
verdict (decoded or refused) for bytes, paths and file objects on both backends.
"""

from __future__ import annotations

import collections
import faulthandler
import io
import json
import os
import random
import time
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from pixelprep import CLIPImageProcessor, DetrImageProcessor, PixelprepError

LONG = os.environ.get("PIXELPREP_FUZZ_LONG") == "1"
EXAMPLES = 1000 if LONG else 60
FILE_CASES = 300 if LONG else 40
CASE_DEADLINE_S = 30.0  # generous: the machines running the suite are shared and noisy
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
BACKENDS = ("pil", "torchvision")
PROCESSORS = {backend: CLIPImageProcessor(backend=backend, num_threads=2) for backend in BACKENDS}
OUTCOMES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    """Print the per-category outcome counts after the module (visible with ``-s``)."""
    yield
    if LONG:
        print("\nfuzz outcomes (cases: ok / our error)")
        for category, counts in sorted(OUTCOMES.items()):
            total = sum(counts.values())
            print(f"  {category:16s} {total:6d} cases: {counts['ok']:6d} ok / {counts['error']:6d} PixelprepError")


def _finite(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
    return not np.issubdtype(array.dtype, np.floating) or bool(np.isfinite(array).all())


def _run(category: str, call, finite_input: bool = True) -> str:
    """Run one case: "ok" or "error" (a PixelprepError); anything else fails the test."""
    start = time.monotonic()
    # A hang (even inside C code) ends the test process with every thread's traceback, instead of waiting forever.
    faulthandler.dump_traceback_later(2 * CASE_DEADLINE_S, exit=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            features = call()
        outcome = "ok"
    except PixelprepError:
        outcome, features = "error", None
    finally:
        faulthandler.cancel_dump_traceback_later()
    elapsed = time.monotonic() - start
    assert elapsed < CASE_DEADLINE_S, f"{category}: one case took {elapsed:.1f} s"
    if features is not None and finite_input:
        for key, value in features.items():
            assert _finite(value), f"{category}: non-finite {key} from a finite input"
    OUTCOMES[category][outcome] += 1
    return outcome


# ------------------------------------------------------------------------------------------- arrays

_DTYPES = st.sampled_from(
    ["uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64", "float16", "float32", "float64", "bool", "complex64", ">f4", ">u2", "<i4", "longdouble", "O", "U3", "datetime64[s]"]
)


@st.composite
def odd_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(_DTYPES))
    plausible = st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 3, 4])).map(lambda s: s if s[0] % 2 else (s[2], s[0], s[1]))
    shape = draw(plausible | st.tuples(st.integers(1, 40), st.integers(1, 40)) | hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=9))
    if dtype.kind in "fc":
        elements = st.floats(allow_nan=True, allow_infinity=True, width=16 if dtype.itemsize == 2 else 32 if dtype.itemsize <= 4 else 64)
        elements = elements if draw(st.booleans()) else st.floats(-1e6, 1e6, width=32)
        array = draw(hnp.arrays(dtype, shape, elements=elements if dtype.kind == "f" else None))
    else:
        array = draw(hnp.arrays(dtype, shape))
    if array.ndim >= 2 and draw(st.booleans()):
        array = array[::-1, ::2]  # negative and skipping strides
    if array.ndim >= 3 and draw(st.booleans()):
        array = np.moveaxis(array, -1, 0)
    return array


@FUZZ
@given(array=odd_arrays(), backend=st.sampled_from(BACKENDS))
def test_fuzz_arrays(array: np.ndarray, backend: str) -> None:
    finite = array.dtype.kind not in "fc" or bool(np.isfinite(array).all()) if array.dtype.kind in "biufc" else True
    _run("arrays", lambda: PROCESSORS[backend](array), finite)


# ------------------------------------------------------------------------------------------ tensors

_TORCH_DTYPES = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.bool, torch.complex64, torch.uint16, torch.float8_e4m3fn]


@FUZZ
@given(
    shape=st.tuples(st.sampled_from([1, 3, 4]), st.integers(1, 30), st.integers(1, 30)) | hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=9),
    dtype=st.sampled_from(_TORCH_DTYPES),
    kind=st.sampled_from(["dense", "transposed", "expanded", "sparse", "meta", "grad", "nan"]),
    backend=st.sampled_from(BACKENDS),
    seed=st.integers(0, 2**16),
)
def test_fuzz_tensors(shape: tuple[int, ...], dtype: torch.dtype, kind: str, backend: str, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    tensor = (torch.rand(shape, generator=generator) * 300).to(dtype) if dtype != torch.bool else torch.rand(shape, generator=generator) > 0.5
    if kind == "transposed" and tensor.ndim >= 2:
        tensor = tensor.transpose(0, -1)
    elif kind == "expanded" and tensor.ndim >= 1 and tensor.shape[-1] >= 1:
        tensor = tensor[..., :1].expand(*tensor.shape[:-1], 3)
    elif kind == "sparse" and tensor.ndim >= 1 and dtype not in (torch.float8_e4m3fn, torch.uint16):
        tensor = tensor.to_sparse()
    elif kind == "meta":
        tensor = tensor.to("meta")
    elif kind == "grad" and tensor.is_floating_point():
        tensor = tensor.float().requires_grad_()
    elif kind == "nan" and tensor.is_floating_point() and tensor.numel():
        tensor = tensor.float()
        tensor.view(-1)[0] = float("nan")
    finite = kind in ("meta", "sparse") or not tensor.is_floating_point() or bool(torch.isfinite(tensor.detach().float()).all())
    _run("tensors", lambda: PROCESSORS[backend](tensor), finite)


# ---------------------------------------------------------------------------------------- PIL modes


@FUZZ
@given(
    mode=st.sampled_from(Image.MODES),
    size=st.tuples(st.integers(0, 40), st.integers(0, 40)),
    transparency=st.sampled_from([None, 0, 7, (1, 2, 3), b"\x00\x01", "x", -5]),
    lazy=st.booleans(),
    backend=st.sampled_from(BACKENDS),
)
def test_fuzz_pil_modes(mode: str, size: tuple[int, int], transparency: Any, lazy: bool, backend: str) -> None:
    image = Image.new(mode, size)
    if lazy and min(size) > 0 and mode in ("L", "RGB", "RGBA", "P", "LA", "I;16", "1", "CMYK"):
        buffer = io.BytesIO()
        image.save(buffer, "PNG" if mode != "CMYK" else "TIFF")
        buffer.seek(0)
        image = Image.open(buffer)
    if transparency is not None:
        image.info["transparency"] = transparency
    _run("pil_modes", lambda: PROCESSORS[backend]([image, image]))


# ------------------------------------------------------------------------------------------- kwargs

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.sampled_from([0, 1, 2, 3, 224, 10**9, 10**30, 10**400, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e-320, 1e-45, 1e300, 0.5, 1 / 255]),
    st.text(max_size=6),
    st.sampled_from(["224", "bicubic", "channels_last", "pt", "np", "cpu", "cuda", "jpeg_draft", "foo"]),
    st.lists(st.floats(-1e3, 1e3), max_size=4),
    st.sampled_from([{"height": 30, "width": 20}, {"shortest_edge": 32}, {"longest_edge": 0}, {"max_height": 10, "max_width": 10}, {"jpeg_draft": False}, {1, 2, 3}, [[1, 2]], (), b"12"]),
)


@FUZZ
@given(kwargs=st.dictionaries(st.sampled_from(sorted(CLIPImageProcessor.param_names()) + ["do_normalise", "sizes", "max_size"]), _VALUES, max_size=3), backend=st.sampled_from(BACKENDS))
def test_fuzz_kwargs(kwargs: dict[str, Any], backend: str) -> None:
    image = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    _run("kwargs", lambda: PROCESSORS[backend](image, **kwargs))
    _run("kwargs", lambda: CLIPImageProcessor(backend=backend, **kwargs)(image))


# ------------------------------------------------------------------------------------------ configs

_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5)),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(
    config=st.dictionaries(st.sampled_from(sorted(DetrImageProcessor.param_names()) + ["max_size", "pad_and_return_pixel_mask", "unknown_key"]), _VALUES | _JSON, max_size=5),
    family=st.sampled_from([CLIPImageProcessor, DetrImageProcessor]),
    backend=st.sampled_from(BACKENDS),
)
def test_fuzz_configs(config: dict[str, Any], family: type, backend: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    image = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    try:
        text = json.dumps({"image_processor_type": family.transformers_class, **config})
    except (TypeError, ValueError):  # not JSON (sets, bytes, NaN): from_dict takes it as a dict
        text = None
    if text is None:
        _run("configs", lambda: family.from_dict(config, backend=backend)(image))
        return
    path = tmp_path_factory.mktemp("config") / "preprocessor_config.json"
    path.write_text(text)
    from pixelprep import AutoImageProcessor

    _run("configs", lambda: AutoImageProcessor.from_pretrained(path, backend=backend)(image))


# ------------------------------------------------------------------------------------ corrupt files

_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP")


def _valid_file(fmt: str, rng: random.Random) -> bytes:
    size = (rng.randint(1, 70), rng.randint(1, 70))
    array = np.random.default_rng(rng.randint(0, 2**31)).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    mode = rng.choice(["RGB", "L", "RGBA", "P"]) if fmt != "JPEG" else rng.choice(["RGB", "L"])
    image = Image.fromarray(array).convert(mode) if mode != "RGBA" else Image.fromarray(array).convert("RGBA")
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": rng.randint(5, 95), "progressive": rng.random() < 0.3} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def _corrupt(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    kind = rng.choice(["truncate", "flip", "splice", "zeros", "several"])
    if kind in ("truncate", "several"):
        data = data[: rng.randint(0, len(data))]
    if kind in ("flip", "several") and data:
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    if kind == "splice" and data:
        at = rng.randrange(len(data))
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    if kind == "zeros" and data:
        at = rng.randrange(len(data))
        data[at : at + rng.randint(1, 256)] = bytes(rng.randint(1, 256))
    return bytes(data)


def test_fuzz_corrupt_files(tmp_path: Any) -> None:
    """Corrupt files of every format get one verdict, Pillow's, for bytes, paths and file objects on both backends."""
    rng = random.Random(12)
    for case in range(FILE_CASES):
        fmt = _FORMATS[case % len(_FORMATS)]
        data = _corrupt(_valid_file(fmt, rng), rng)
        path = tmp_path / f"case{case}.{fmt.lower()}"
        path.write_bytes(data)
        verdicts = {}
        for backend in BACKENDS:
            for kind, source in (("bytes", lambda: data), ("path", lambda: str(path)), ("file", lambda: io.BytesIO(data))):
                verdicts[backend, kind] = _run(f"files_{fmt.lower()}", lambda: PROCESSORS[backend](source()))
        assert len(set(verdicts.values())) == 1, f"case {case} ({fmt}): verdicts differ: {verdicts}"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Image.open(io.BytesIO(data)).load()
            pillow = "ok"
        except Exception:
            pillow = "error"
        if pillow == "error":  # Pillow refuses: so do we (we may also refuse what Pillow decodes, e.g. a 0-pixel image)
            assert set(verdicts.values()) == {"error"}, f"case {case} ({fmt}): Pillow refuses it, pixelprep decodes it"
