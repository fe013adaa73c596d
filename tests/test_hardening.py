"""Issue 12 (hardening, API part): inputs, arguments and configs a careless or hostile user passes.

Each test pins a case that used to raise an exception that was not ours, exhaust memory, give a silent
wrong answer, race or hang.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import pathlib
import socketserver
import threading
import time
import tracemalloc

import numpy as np
import pytest
import torch
from PIL import Image

import pixelprep
from pixelprep import (
    AutoImageProcessor,
    CLIPImageProcessor,
    ConfigError,
    DetrImageProcessor,
    DownloadError,
    ImageDecodeError,
    InvalidArgumentError,
    InvalidImageError,
    PixelprepError,
    UnknownArgumentError,
    UnsupportedInputError,
)
from pixelprep import inputs
from pixelprep.models import __all__ as FAMILY_NAMES

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
PHOTO = FIXTURES / "images" / "photo_rgb_301x200.png"
BACKENDS = ["pil", "torchvision"]


@pytest.fixture(scope="module", params=BACKENDS)
def clip(request: pytest.FixtureRequest) -> CLIPImageProcessor:
    return CLIPImageProcessor(backend=request.param)


def _jpeg_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


# ------------------------------------------------------------------------------ exceptions that were not ours


def test_negative_strides_are_read(clip: CLIPImageProcessor) -> None:
    image = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    flipped = clip(image[::-1, ::-1], return_tensors="np")["pixel_values"]
    np.testing.assert_array_equal(flipped, clip(np.ascontiguousarray(image[::-1, ::-1]), return_tensors="np")["pixel_values"])


@pytest.mark.parametrize("size", [(0, 10), (10, 0)])
def test_empty_pil_image_is_invalid(clip: CLIPImageProcessor, size: tuple[int, int]) -> None:
    with pytest.raises(InvalidImageError, match="empty image"):
        clip(Image.new("RGB", size))


@pytest.mark.parametrize("mode", ["La", "RGBa", "PA", "RGBX", "HSV", "LAB", "I", "1"])
def test_every_pil_mode_gives_rgb(clip: CLIPImageProcessor, mode: str) -> None:
    out = clip(Image.new(mode, (20, 30)), return_tensors="np")["pixel_values"]
    assert out.shape == (1, 3, 224, 224) and np.isfinite(out).all()


def test_la_matches_its_la_conversion(clip: CLIPImageProcessor) -> None:
    la = Image.new("La", (20, 30), (100, 200))
    np.testing.assert_array_equal(clip(la, return_tensors="np")["pixel_values"], clip(la.convert("LA"), return_tensors="np")["pixel_values"])


def test_closed_lazy_pil_image_is_a_decode_error(clip: CLIPImageProcessor) -> None:
    image = Image.open(PHOTO)
    image.close()
    with pytest.raises(ImageDecodeError, match="photo_rgb_301x200.png"):
        clip(image)


def test_numpy_matrix_is_read_as_its_array(clip: CLIPImageProcessor) -> None:
    gray = np.random.default_rng(2).integers(0, 256, (30, 40), dtype=np.uint8)
    np.testing.assert_array_equal(clip(np.matrix(gray), return_tensors="np")["pixel_values"], clip(gray, return_tensors="np")["pixel_values"])


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda: torch.zeros(3, 10, 10, device="meta"), UnsupportedInputError),
        (lambda: torch.zeros(3, 10, 10).to_sparse(), UnsupportedInputError),
        (lambda: torch.quantize_per_tensor(torch.zeros(3, 10, 10), 0.1, 0, torch.quint8), InvalidImageError),
        (lambda: torch.zeros(3, 10, 10, dtype=torch.complex64), InvalidImageError),
    ],
    ids=["meta", "sparse", "quantized", "complex"],
)
def test_odd_tensors_are_our_errors(clip: CLIPImageProcessor, make, error: type) -> None:
    with pytest.raises(error):
        clip(make())


def test_file_objects_must_read_bytes(clip: CLIPImageProcessor) -> None:
    class NotCallable:
        read = 5

    class Text:
        def read(self, *args: object) -> str:
            return "not bytes"

    class Broken:
        def read(self, *args: object) -> bytes:
            raise RuntimeError("device unplugged")

    with pytest.raises(UnsupportedInputError, match="NotCallable"):
        clip(NotCallable())
    with pytest.raises(UnsupportedInputError, match="binary mode"):
        clip(Text())
    with pytest.raises(ImageDecodeError, match="device unplugged"):
        clip(Broken())
    assert clip(io.BytesIO(PHOTO.read_bytes()))["pixel_values"].shape[0] == 1


def test_deeply_nested_and_self_containing_lists(clip: CLIPImageProcessor) -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    deep: list = [image]
    for _ in range(3000):
        deep = [deep]
    with pytest.raises(InvalidArgumentError, match="nested more than"):
        clip(deep)
    loop: list = [image]
    loop.append(loop)
    with pytest.raises(InvalidArgumentError, match="contains itself"):
        clip(loop)
    assert clip([[image, [image]], (image,)])["pixel_values"].shape[0] == 3  # nesting that is fine stays fine
    assert clip([[image], [image]])["pixel_values"].shape[0] == 2  # the same list twice is not a cycle


def test_hostile_config_files(tmp_path: pathlib.Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"image_processor_type": "CLIPImageProcessor", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ConfigError, match="deep"):
        AutoImageProcessor.from_pretrained(deep)
    nested = tmp_path / "nested.json"  # parses, but is too deep to copy or save
    nested.write_text('{"image_processor_type": "CLIPImageProcessor", "x": ' + "[" * 500 + "]" * 500 + "}")
    with pytest.raises(ConfigError, match="nested more than"):
        AutoImageProcessor.from_pretrained(nested)
    digits = tmp_path / "digits.json"
    digits.write_text('{"image_processor_type": "CLIPImageProcessor", "size": ' + "9" * 5000 + "}")
    with pytest.raises(ConfigError, match="digits"):
        AutoImageProcessor.from_pretrained(digits)


@pytest.mark.parametrize("location", [123, b"openai/clip", None, ""], ids=repr)
def test_from_pretrained_needs_a_string(location: object) -> None:
    with pytest.raises(ConfigError, match="pretrained_model_name_or_path"):
        AutoImageProcessor.from_pretrained(location)


@pytest.mark.parametrize("hub", [{"cache_dir": 5}, {"revision": 3}, {"local_files_only": "yes"}, {"token": 1.5}], ids=repr)
def test_hub_arguments_are_checked(hub: dict, no_network: None) -> None:
    name = next(iter(hub))
    with pytest.raises(ConfigError, match=name):
        AutoImageProcessor.from_pretrained("openai/clip-vit-base-patch32", **hub)


def test_unreadable_file_is_a_decode_error(clip: CLIPImageProcessor, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.jpg"
    path.write_bytes(_jpeg_bytes())
    path.chmod(0)
    if os.geteuid() == 0:  # root reads any file: make opening it fail as it does for everyone else

        def refuse(file: object, *args: object, **kwargs: object) -> object:
            raise PermissionError(13, "Permission denied", str(file))

        monkeypatch.setattr(inputs, "open", refuse, raising=False)
    with pytest.raises(ImageDecodeError, match="locked.jpg"):
        clip(str(path))


def test_num_threads_is_checked() -> None:
    for bad in ("4", 0, -1, 2.5, True):
        with pytest.raises(InvalidArgumentError, match="num_threads"):
            CLIPImageProcessor(num_threads=bad)
    processor = CLIPImageProcessor(num_threads=2)
    with pytest.raises(InvalidArgumentError, match="num_threads"):
        processor.num_threads = "4"
    processor.num_threads = 3
    assert processor.num_threads == 3


def test_save_pretrained_under_a_file(tmp_path: pathlib.Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidArgumentError, match="save_directory"):
        CLIPImageProcessor().save_pretrained(tmp_path / "file" / "sub")


# --------------------------------------------------------------------------------- HTTP, on 127.0.0.1 only


class _RawServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _serve(respond) -> tuple[_RawServer, str]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(65536)
            try:
                respond(self.request)
            except OSError:  # the client hung up
                pass

    server = _RawServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/image.jpg"


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 2OO FINE\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbroken",
        b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(200)) + b"\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n",
    ],
    ids=["bad-status-line", "broken-chunked", "too-many-headers", "bad-content-length"],
)
def test_broken_http_responses_are_download_errors(clip: CLIPImageProcessor, response: bytes, no_network: None) -> None:
    server, url = _serve(lambda conn: conn.sendall(response))
    try:
        with pytest.raises(DownloadError, match="127.0.0.1"):
            clip(url)
    finally:
        server.shutdown()


def test_a_trickling_server_meets_the_overall_deadline(monkeypatch: pytest.MonkeyPatch, no_network: None) -> None:
    body = _jpeg_bytes()

    def trickle(conn) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        for byte in body:  # one byte every 0.3 s: each read is quick, the whole would take minutes
            conn.sendall(bytes([byte]))
            time.sleep(0.3)

    server, url = _serve(trickle)
    monkeypatch.setattr(inputs, "URL_DEADLINE_S", 1.5)
    start = time.monotonic()
    try:
        with pytest.raises(DownloadError, match="URL_DEADLINE_S"):
            CLIPImageProcessor(backend="pil")(url)
    finally:
        server.shutdown()
    assert time.monotonic() - start < 5


def test_a_slow_header_meets_the_overall_deadline(monkeypatch: pytest.MonkeyPatch, no_network: None) -> None:
    def slow_status_line(conn) -> None:
        for byte in b"HTTP/1.1 200 OK\r\n":
            conn.sendall(bytes([byte]))
            time.sleep(0.3)

    server, url = _serve(slow_status_line)
    monkeypatch.setattr(inputs, "URL_DEADLINE_S", 1.0)
    start = time.monotonic()
    try:
        with pytest.raises(DownloadError, match="within 1 s"):
            CLIPImageProcessor(backend="pil")(url)
    finally:
        server.shutdown()
    assert time.monotonic() - start < 4


def test_a_good_server_still_downloads(no_network: None) -> None:
    body = PHOTO.read_bytes()
    server, url = _serve(lambda conn: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body))
    try:
        for backend in BACKENDS:
            processor = CLIPImageProcessor(backend=backend)
            np.testing.assert_array_equal(processor(url, return_tensors="np")["pixel_values"], processor(str(PHOTO), return_tensors="np")["pixel_values"])
    finally:
        server.shutdown()


# ------------------------------------------------------------------------------------------ huge sizes


@pytest.mark.parametrize(
    "kwargs",
    [{"size": 10**9}, {"size": {"shortest_edge": 10**9}}, {"crop_size": 10**30}, {"size": 10**400}],
    ids=["size", "shortest_edge", "crop_size", "size-400-digits"],
)
def test_huge_sizes_are_refused(clip: CLIPImageProcessor, kwargs: dict) -> None:
    with pytest.raises(InvalidArgumentError):
        clip(np.zeros((20, 30, 3), np.uint8), **kwargs)


def test_huge_pad_size_is_refused_before_allocating() -> None:
    for backend in BACKENDS:
        with pytest.raises(InvalidArgumentError, match="MAX_OUTPUT_PIXELS"):
            DetrImageProcessor(backend=backend, pad_size=1e9)(np.zeros((20, 30, 3), np.uint8))


def test_a_thin_array_is_refused_not_resized_to_gigapixels(clip: CLIPImageProcessor) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(InvalidArgumentError, match="MAX_OUTPUT_PIXELS"):
            clip(np.zeros((1, 100_000), np.uint8), do_center_crop=False)
        assert tracemalloc.get_traced_memory()[1] < 50 << 20
    finally:
        tracemalloc.stop()


def test_the_limit_can_be_raised_and_covers_inputs(clip: CLIPImageProcessor, monkeypatch: pytest.MonkeyPatch) -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    monkeypatch.setattr(pixelprep, "MAX_OUTPUT_PIXELS", 100 * 100)
    with pytest.raises(InvalidArgumentError, match="MAX_OUTPUT_PIXELS"):
        clip(image)  # a 224x224 output
    with pytest.raises(InvalidImageError, match="MAX_OUTPUT_PIXELS"):
        clip(np.zeros((200, 200, 3), np.uint8), do_resize=False, do_center_crop=False)  # a 200x200 input
    with pytest.raises(InvalidImageError, match="MAX_OUTPUT_PIXELS"):
        clip(np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (10**5, 10**5, 3)))  # costs no memory, would cost 30 GB
    monkeypatch.setattr(pixelprep, "MAX_OUTPUT_PIXELS", 224 * 224)
    assert clip(image)["pixel_values"].shape == (1, 3, 224, 224)
    monkeypatch.setattr(pixelprep, "MAX_OUTPUT_PIXELS", None)
    assert clip(image, size={"shortest_edge": 3000}, crop_size=3000)["pixel_values"].shape == (1, 3, 3000, 3000)


# ----------------------------------------------------------------------------------- silent wrong answers


@pytest.mark.parametrize("name", ["image_mean", "image_std"])
@pytest.mark.parametrize("value", ["224", "0.5", {0.5, 0.4, 0.3}, {"r": 0.5}, b"12"], ids=repr)
def test_means_must_be_numbers_in_order(name: str, value: object, tmp_path: pathlib.Path) -> None:
    with pytest.raises(InvalidArgumentError, match=name):
        CLIPImageProcessor(**{name: value})
    with pytest.raises(InvalidArgumentError, match=name):
        CLIPImageProcessor()(np.zeros((8, 8, 3), np.uint8), **{name: value})
    if isinstance(value, str):
        config = tmp_path / "preprocessor_config.json"
        config.write_text(json.dumps({"image_processor_type": "CLIPImageProcessor", name: value}))
        with pytest.raises(InvalidArgumentError, match=name):
            AutoImageProcessor.from_pretrained(tmp_path)


def test_means_from_arrays_and_tensors_still_work() -> None:
    for mean in (np.array([0.5, 0.4, 0.3]), torch.tensor([0.5, 0.4, 0.3]), (0.5, 0.4, 0.3), 0.5, np.float32(0.5)):
        assert len(CLIPImageProcessor(image_mean=mean).image_mean) in (1, 3)


@pytest.mark.parametrize(
    "kwargs",
    [{"image_std": 1e-45}, {"image_std": [1e-39] * 3}, {"image_mean": [1e300] * 3}, {"rescale_factor": 1e300}, {"rescale_factor": 1e-320}, {"image_std": 1e-37, "do_rescale": False}],
    ids=repr,
)
def test_factors_that_overflow_float32_are_refused(clip: CLIPImageProcessor, kwargs: dict) -> None:
    with pytest.raises(InvalidArgumentError):
        clip(np.full((8, 8, 3), 200, np.uint8), **kwargs)


def test_float_images_that_overflow_are_refused(clip: CLIPImageProcessor) -> None:
    with pytest.raises(InvalidImageError, match="float32"):
        clip(np.full((10, 10, 3), 1e308))
    with pytest.raises(InvalidImageError, match="float32 range"):  # fits float32, but not once divided by a small std
        clip(np.full((10, 10, 3), 3e38, np.float32), do_rescale=False, image_std=[0.01] * 3)


@pytest.mark.parametrize("max_size", [0, [], {}, -1, "big"], ids=repr)
def test_detr_legacy_max_size_must_be_a_size(max_size: object) -> None:
    with pytest.raises(InvalidArgumentError, match="longest_edge"):
        DetrImageProcessor(size=800, max_size=max_size)
    with pytest.raises(InvalidArgumentError, match="longest_edge"):
        DetrImageProcessor.from_dict({"size": 800, "max_size": max_size})
    assert DetrImageProcessor(size=800).size == {"shortest_edge": 800, "longest_edge": 1333}
    assert DetrImageProcessor(size=800, max_size=1000).size == {"shortest_edge": 800, "longest_edge": 1000}


@pytest.mark.parametrize("value", [{"jpeg_draft": False}, {"jpeg_draft": True}, [1], "jpeg_drafts"], ids=repr)
def test_approximations_must_be_names(value: object) -> None:
    with pytest.raises(InvalidArgumentError, match="approximations"):
        CLIPImageProcessor(approximations=value)


def test_pil_backend_refuses_other_devices() -> None:
    for device in ("foo", "cuda", "mps", "cuda:0"):
        with pytest.raises(InvalidArgumentError, match="pil backend runs on the CPU"):
            CLIPImageProcessor(backend="pil", device=device)
        with pytest.raises(InvalidArgumentError, match="pil backend runs on the CPU"):
            CLIPImageProcessor(backend="pil")(np.zeros((8, 8, 3), np.uint8), device=device)
    for device in ("cpu", torch.device("cpu")):
        assert CLIPImageProcessor(backend="pil", device=device)(np.zeros((8, 8, 3), np.uint8))["pixel_values"].shape[0] == 1


def test_misspelt_attributes_are_refused() -> None:
    processor = CLIPImageProcessor()
    with pytest.raises(UnknownArgumentError, match="Did you mean 'do_normalize'"):
        processor.do_normalise = False
    assert not hasattr(processor, "do_normalise")
    processor._scratch = 1  # private attributes stay allowed
    processor.do_normalize = False
    assert processor.do_normalize is False
    with pytest.raises(UnknownArgumentError, match="Did you mean 'do_normalize'"):
        processor(np.zeros((8, 8, 3), np.uint8), do_normalise=False)


# -------------------------------------------------------------------------------------- races and hangs


def test_the_same_lazy_pil_image_twice_in_one_call() -> None:
    for backend in BACKENDS:
        processor = CLIPImageProcessor(backend=backend, num_threads=4)
        expected = processor(str(PHOTO), return_tensors="np")["pixel_values"][0]
        for _ in range(30):
            image = Image.open(PHOTO)  # lazily opened: nothing decoded yet
            out = processor([image, image, image, image], return_tensors="np")["pixel_values"]
            for row in out:
                np.testing.assert_array_equal(row, expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_jpeg_header_then_zeros_is_refused_quickly_in_little_memory(backend: str, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "zeros.jpg"
    with open(path, "wb") as handle:
        handle.write(b"\xff\xd8\xff")
        handle.truncate(2 << 30)  # sparse: 2 GiB of zeros that take no disk space
    processor = CLIPImageProcessor(backend=backend)
    tracemalloc.start()
    start = time.monotonic()
    try:
        with pytest.raises(ImageDecodeError, match="junk"):
            processor(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - start < 10
    assert peak < 64 << 20


@pytest.mark.parametrize("backend", BACKENDS)
def test_huge_png_is_identified_from_its_header(backend: str, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "zeros.png"
    with open(path, "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.truncate(2 << 30)
    tracemalloc.start()
    try:
        with pytest.raises(ImageDecodeError, match="zeros.png"):
            CLIPImageProcessor(backend=backend)(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_good_jpeg_with_a_huge_tail_decodes_like_pillow(backend: str, tmp_path: pathlib.Path) -> None:
    data = _jpeg_bytes()
    path = tmp_path / "tail.jpg"
    with open(path, "wb") as handle:
        handle.write(data)
        handle.truncate(1 << 30)  # 1 GiB of zeros after the end-of-image marker
    processor = CLIPImageProcessor(backend=backend)
    tracemalloc.start()
    try:
        out = processor(str(path), return_tensors="np")["pixel_values"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(out, processor(data, return_tensors="np")["pixel_values"])
    assert peak < 64 << 20


def test_pixelprep_errors_everywhere_above(clip: CLIPImageProcessor) -> None:
    """The base class still catches all of the above."""
    with pytest.raises(PixelprepError):
        clip(torch.zeros(3, 4, 4, device="meta"))


def test_a_jpeg_segment_length_below_two_does_not_loop(clip: CLIPImageProcessor) -> None:
    data = b"\xff\xd8\xff\xe0\x00\x00" + b"\x00" * 100  # an APP0 segment that claims to be 0 bytes long
    start = time.monotonic()
    with pytest.raises(ImageDecodeError):
        clip(data)
    assert time.monotonic() - start < 5


def test_from_dict_refuses_deep_and_non_dict_configs() -> None:
    deep: dict = {}
    for _ in range(5000):
        deep = {"x": deep}
    with pytest.raises(ConfigError, match="nested more than"):
        CLIPImageProcessor.from_dict({"unknown": deep})
    with pytest.raises(ConfigError, match="must be a dict"):
        CLIPImageProcessor.from_dict([("size", 224)])


def test_user_objects_that_raise_are_described_by_type(clip: CLIPImageProcessor) -> None:
    class BrokenPath(os.PathLike):
        def __fspath__(self) -> str:
            raise RuntimeError("no path today")

    class BrokenName:
        name = property(lambda self: 1 / 0)

        def read(self) -> bytes:
            return PHOTO.read_bytes()

    with pytest.raises(UnsupportedInputError, match="no path today"):
        clip(BrokenPath())
    assert clip(BrokenName())["pixel_values"].shape[0] == 1


def test_numpy_integers_are_sizes(clip: CLIPImageProcessor) -> None:
    out = clip(np.zeros((20, 30, 3), np.uint8), size=np.int64(40), crop_size=np.int32(32), return_tensors="np")["pixel_values"]
    assert out.shape == (1, 3, 32, 32)


@pytest.mark.parametrize("family_name", FAMILY_NAMES)
def test_no_family_makes_an_output_over_the_limit(family_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every family's own size rules (the classic families' included) are checked: an output over the limit is refused."""
    limit = 40 * 40
    monkeypatch.setattr(pixelprep, "MAX_OUTPUT_PIXELS", limit)
    processor = getattr(pixelprep, family_name)(backend="pil")
    image = np.zeros((36, 40, 3), np.uint8)  # under the limit, and large enough for every family (GLPN needs 32x32)
    extras = {"trimaps": [np.zeros((36, 40), np.uint8)]} if "trimaps" in inspect.signature(processor.preprocess).parameters else {}
    if isinstance(processor, pixelprep.SuperGlueImageProcessor):  # the matching families take image pairs
        image = [image, image]
    try:
        outputs = processor(image, **extras)
    except (InvalidArgumentError, InvalidImageError) as error:
        assert "MAX_OUTPUT_PIXELS" in str(error)
        return
    for value in outputs["pixel_values"]:
        if value.ndim >= 3:  # an image (patch-row families, whose rows are 1-D here, refuse above)
            assert value.shape[-2] * value.shape[-1] <= limit
