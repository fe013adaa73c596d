"""The inputs layer: every way of passing a picture gives the same pixels; EXIF, modes and animations decode right."""

from __future__ import annotations

import base64
import http.server
import io
import pathlib
import threading

import numpy as np
import pytest
import torch
from PIL import Image

import pixelprep.inputs
from pixelprep import CLIPImageProcessor, DownloadError, ViTImageProcessor

IMAGES = pathlib.Path(__file__).parent / "fixtures" / "images"
PHOTO = IMAGES / "photo_rgb_301x200.png"
BACKENDS = ["pil", "torchvision"]
# No geometry and no arithmetic: pixel_values are the decoded uint8 pixels, channels first.
IDENTITY = dict(do_resize=False, do_center_crop=False, do_rescale=False, do_normalize=False)


def decode(image: object, backend: str = "pil", convert_rgb: bool = True) -> np.ndarray:
    """What pixelprep decodes one image to (a path, bytes, array...), as an HWC uint8 array."""
    processor = CLIPImageProcessor(backend=backend, do_convert_rgb=convert_rgb, **IDENTITY)
    values = processor(image, return_tensors="np")["pixel_values"]
    assert values.dtype == np.uint8 and values.shape[0] == 1
    return np.moveaxis(values[0], 0, -1)


def photo_array() -> np.ndarray:
    return np.asarray(Image.open(PHOTO).convert("RGB"))


# ------------------------------------------------------------------------------ one picture, every kind

INPUT_KINDS = {
    "path str": lambda: str(PHOTO),
    "pathlib.Path": lambda: PHOTO,
    "bytes": lambda: PHOTO.read_bytes(),
    "bytearray": lambda: bytearray(PHOTO.read_bytes()),
    "memoryview": lambda: memoryview(PHOTO.read_bytes()),
    "file object": lambda: open(PHOTO, "rb"),  # noqa: SIM115 - closed by the test
    "BytesIO": lambda: io.BytesIO(PHOTO.read_bytes()),
    "data URI": lambda: "data:image/png;base64," + base64.b64encode(PHOTO.read_bytes()).decode("ascii"),
    "PIL image": lambda: Image.open(PHOTO),
    "numpy HWC uint8": photo_array,
    "numpy CHW uint8": lambda: np.ascontiguousarray(np.moveaxis(photo_array(), -1, 0)),
    "torch CHW uint8": lambda: torch.from_numpy(photo_array()).permute(2, 0, 1).contiguous(),
    "torch HWC uint8": lambda: torch.from_numpy(photo_array().copy()),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", list(INPUT_KINDS))
def test_every_input_kind_gives_the_same_pixel_values(kind: str, backend: str) -> None:
    processor = CLIPImageProcessor(backend=backend)
    expected = processor(str(PHOTO), return_tensors="np")["pixel_values"]
    image = INPUT_KINDS[kind]()
    try:
        got = processor(image, return_tensors="np")["pixel_values"]
    finally:
        if hasattr(image, "close"):
            image.close()
    assert got.shape == (1, 3, 224, 224)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float_inputs_match_uint8_inputs(backend: str) -> None:
    """Floats in [0, 1] with do_rescale=False give what uint8 with do_rescale=True gives."""
    pixels = photo_array()
    floats = pixels.astype(np.float32) / np.float32(255)
    processor = CLIPImageProcessor(backend=backend, do_resize=False, do_center_crop=False)
    expected = processor(pixels, return_tensors="np")["pixel_values"]
    for image in (floats, np.moveaxis(floats, -1, 0), torch.from_numpy(floats).permute(2, 0, 1)):
        got = processor(image, do_rescale=False, return_tensors="np")["pixel_values"]
        np.testing.assert_allclose(got, expected, atol=1e-5)
    # Through the resize the float path skips uint8 rounding, so it is close, not equal.
    full = CLIPImageProcessor(backend=backend)
    resized = full(floats, do_rescale=False, return_tensors="np")["pixel_values"]
    reference = full(pixels, return_tensors="np")["pixel_values"]
    assert resized.shape == reference.shape == (1, 3, 224, 224)
    assert np.abs(resized - reference).max() < 0.05


def test_grayscale_2d_array_is_one_image() -> None:
    gray = np.asarray(Image.open(IMAGES / "gray_l_200x131.png"))
    assert gray.ndim == 2
    got = decode(gray)
    assert got.shape == (131, 200, 3)
    for c in range(3):
        np.testing.assert_array_equal(got[:, :, c], gray)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lists_nested_lists_and_batches(backend: str) -> None:
    processor = CLIPImageProcessor(backend=backend)
    pixels = photo_array()
    flipped = np.ascontiguousarray(pixels[::-1])
    single = processor(pixels, return_tensors="np")["pixel_values"][0]
    single_flipped = processor(flipped, return_tensors="np")["pixel_values"][0]
    assert not np.array_equal(single, single_flipped)
    expected = [single, single_flipped, single]
    cases = {
        "list": [pixels, flipped, str(PHOTO)],
        "tuple": (PHOTO, flipped, pixels),
        "nested": [[pixels], [flipped, [PHOTO.read_bytes()]]],
        "NHWC array": np.stack([pixels, flipped, pixels]),
        "NCHW array": np.stack([pixels, flipped, pixels]).transpose(0, 3, 1, 2),
        "NCHW tensor": torch.from_numpy(np.stack([pixels, flipped, pixels])).permute(0, 3, 1, 2),
    }
    for name, images in cases.items():
        got = processor(images, return_tensors="np")["pixel_values"]
        assert got.shape == (3, 3, 224, 224), name
        for i in range(3):
            np.testing.assert_array_equal(got[i], expected[i], err_msg=f"{name}[{i}]")


# ---------------------------------------------------------------------------------------------- URLs


class _FixtureHandler(http.server.BaseHTTPRequestHandler):
    """Serves fixture files; under /nolength/ without a Content-Length header (the body ends at close)."""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        declare_length = not self.path.startswith("/nolength/")
        path = IMAGES / self.path.rsplit("/", 1)[-1]
        if not path.is_file():
            self.send_error(404, "no such fixture")
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if declare_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture(scope="module")
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FixtureHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def base_url(http_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    # A proxy configured in the environment must not intercept the local server.
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return http_server


@pytest.mark.parametrize("backend", BACKENDS)
def test_url_gives_the_same_pixel_values(base_url: str, backend: str) -> None:
    processor = CLIPImageProcessor(backend=backend)
    expected = processor(str(PHOTO), return_tensors="np")["pixel_values"]
    for url in (f"{base_url}/{PHOTO.name}", f"{base_url}/nolength/{PHOTO.name}"):
        np.testing.assert_array_equal(processor(url, return_tensors="np")["pixel_values"], expected)


def test_url_over_the_size_cap_is_a_download_error(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pixelprep.inputs, "URL_MAX_BYTES", 1000)
    processor = CLIPImageProcessor(backend="pil")
    assert PHOTO.stat().st_size > 1000
    # Once refused on the declared Content-Length, once while reading a body of unknown length.
    for url in (f"{base_url}/{PHOTO.name}", f"{base_url}/nolength/{PHOTO.name}"):
        with pytest.raises(DownloadError, match="1000-byte") as info:
            processor(url)
        assert url in str(info.value)
        assert isinstance(info.value, OSError)
    small = IMAGES / "tiny_rgb_7x5.png"
    assert small.stat().st_size < 1000
    assert processor(f"{base_url}/{small.name}", return_tensors="np")["pixel_values"].shape == (1, 3, 224, 224)


def test_url_404_is_a_download_error(base_url: str) -> None:
    url = f"{base_url}/no_such_file.png"
    with pytest.raises(DownloadError, match="404") as info:
        CLIPImageProcessor(backend="pil")(url)
    assert url in str(info.value)


# --------------------------------------------------------------------------------------------- EXIF

EXIF_FILES = [
    "exif_orientation3_stored320x240_display320x240.jpg",
    "exif_orientation6_stored240x320_display320x240.jpg",
    "exif_orientation8_stored240x320_display320x240.jpg",
]


@pytest.mark.parametrize("name", EXIF_FILES)
def test_exif_orientation_is_applied(name: str) -> None:
    upright = decode(str(IMAGES / "exif_upright_reference_320x240.jpg")).astype(np.float64)
    for image in (str(IMAGES / name), (IMAGES / name).read_bytes()):
        got = decode(image).astype(np.float64)
        assert got.shape == upright.shape == (240, 320, 3)
        # JPEG noise only (about 0.5-1.5); a wrong orientation differs by about 35.
        assert np.abs(got - upright).mean() < 3.0
        assert np.abs(np.rot90(got, 2) - upright).mean() > 20.0


# --------------------------------------------------------------------------------------------- modes


def _blend_on_white(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float64)[..., None] / 255.0
    return a * color.astype(np.float64) + (1.0 - a) * 255.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_modes_convert_to_rgb(backend: str) -> None:
    def load(name: str) -> tuple[Image.Image, np.ndarray]:
        return Image.open(IMAGES / name), decode(str(IMAGES / name), backend).astype(np.float64)

    image, got = load("gray_l_200x131.png")
    np.testing.assert_array_equal(got, np.repeat(np.asarray(image)[:, :, None], 3, axis=-1))

    image, got = load("la_alpha_ramp_200x150.png")
    la = np.asarray(image)
    expected = _blend_on_white(np.repeat(la[:, :, :1], 3, axis=-1), la[:, :, 1])
    assert np.abs(got - expected).max() <= 1.0

    image, got = load("rgba_alpha_radial_256x192.png")
    rgba = np.asarray(image)
    assert rgba[0, 0, 3] == 0
    assert np.abs(got - _blend_on_white(rgba[:, :, :3], rgba[:, :, 3])).max() <= 1.0
    np.testing.assert_array_equal(got[0, 0], [255, 255, 255])

    image, got = load("palette_p_trns_240x160.png")
    assert image.mode == "P" and image.info.get("transparency") is not None
    transparent = np.asarray(image) == image.info["transparency"]
    assert transparent.sum() == 5145
    assert (got[transparent] == 255).all()
    opaque_rgb = np.asarray(image.convert("RGB"))
    np.testing.assert_array_equal(got[~transparent], opaque_rgb[~transparent])

    image, got = load("palette_p_opaque_240x160.png")
    np.testing.assert_array_equal(got, np.asarray(image.convert("RGB")))

    image, got = load("bilevel_1bit_257x171.png")
    bits = np.asarray(image)
    assert bits.dtype == np.bool_ and got.shape == (171, 257, 3)
    np.testing.assert_array_equal(got, np.repeat(bits[:, :, None].astype(np.float64) * 255, 3, axis=-1))

    image, got = load("cmyk_photo_320x213.jpg")
    assert image.mode == "CMYK"
    np.testing.assert_array_equal(got, np.asarray(image.convert("RGB")))


def test_modes_without_rgb_conversion_keep_their_channels() -> None:
    """Without do_convert_rgb: gray stays 1 channel, palette+tRNS becomes RGBA, CMYK becomes RGB, 1-bit becomes L."""
    gray = decode(str(IMAGES / "gray_l_200x131.png"), convert_rgb=False)
    assert gray.shape == (131, 200, 1)
    p_trns = decode(str(IMAGES / "palette_p_trns_240x160.png"), convert_rgb=False)
    np.testing.assert_array_equal(p_trns, np.asarray(Image.open(IMAGES / "palette_p_trns_240x160.png").convert("RGBA")))
    cmyk = decode(str(IMAGES / "cmyk_photo_320x213.jpg"), convert_rgb=False)
    assert cmyk.shape == (213, 320, 3)
    bits = decode(str(IMAGES / "bilevel_1bit_257x171.png"), convert_rgb=False)
    assert bits.shape == (171, 257, 1) and set(np.unique(bits)) == {0, 255}


@pytest.mark.parametrize("backend", BACKENDS)
def test_grayscale_meets_a_three_value_mean_as_gray_rgb(backend: str) -> None:
    """ViT has no do_convert_rgb; a 1-channel image still gives 3 equal channels (transformers errors here)."""
    out = ViTImageProcessor(backend=backend)(str(IMAGES / "gray_l_200x131.png"), return_tensors="np")["pixel_values"]
    assert out.shape == (1, 3, 224, 224)
    np.testing.assert_array_equal(out[0, 0], out[0, 1])
    np.testing.assert_array_equal(out[0, 0], out[0, 2])


# ------------------------------------------------------------------------------------------- 16 bit

SIXTEEN_BIT = IMAGES / "gray16_i16_301x203.png"


def _sixteen_bit_values() -> np.ndarray:
    values = np.asarray(Image.open(SIXTEEN_BIT)).astype(np.int64)
    assert values.max() > 255  # the fixture uses the full 16-bit range
    return values


@pytest.mark.parametrize("backend", BACKENDS)
def test_sixteen_bit_is_scaled_to_eight_bit(backend: str) -> None:
    """65535 maps to 255 by value, rounded to nearest: v -> round(v / 257)."""
    expected = (_sixteen_bit_values() + 128) // 257
    for convert_rgb in (True, False):
        got = decode(str(SIXTEEN_BIT), backend, convert_rgb=convert_rgb)
        assert got.shape == (203, 301, 3 if convert_rgb else 1)
        for c in range(got.shape[-1]):
            np.testing.assert_array_equal(got[:, :, c], expected)
    # A uint16 array is scaled the same way.
    as_array = decode(_sixteen_bit_values().astype(np.uint16), backend)
    np.testing.assert_array_equal(as_array[:, :, 0], expected)


@pytest.mark.parametrize("reference", ["CLIPImageProcessorPil", "CLIPImageProcessor"])
def test_sixteen_bit_deliberately_differs_from_transformers(reference: str) -> None:
    """transformers clips 16-bit values to 255 (most of the picture turns white); pixelprep scales them."""
    import transformers

    processor = getattr(transformers, reference)(**IDENTITY)
    theirs = np.asarray(processor(Image.open(SIXTEEN_BIT), return_tensors="np")["pixel_values"])[0, 0]
    values = _sixteen_bit_values()
    np.testing.assert_array_equal(theirs, np.clip(values, 0, 255))
    ours = decode(str(SIXTEEN_BIT))[:, :, 0]
    np.testing.assert_array_equal(ours, (values + 128) // 257)
    assert (ours != theirs).mean() > 0.5


# ---------------------------------------------------------------------------------------- animations

ANIMATIONS = ["animated_3frames_64x48.gif", "animated_3frames_64x48.webp"]


def _assert_is_frame_zero(rgb: np.ndarray) -> None:
    """Frame 0 is red with a white 13x13 square at x=4, y=4 (frame i has it at x = 4 + 20 i)."""
    assert rgb.shape == (48, 64, 3)
    np.testing.assert_array_equal(rgb[4:17, 4:17], np.full((13, 13, 3), 255))
    np.testing.assert_array_equal(rgb[10, 30], [220, 30, 30])  # where frame 1's square would be
    np.testing.assert_array_equal(rgb[10, 50], [220, 30, 30])  # where frame 2's square would be
    np.testing.assert_array_equal(rgb[40, 60], [220, 30, 30])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ANIMATIONS)
def test_animated_images_give_their_first_frame(name: str, backend: str) -> None:
    _assert_is_frame_zero(decode(str(IMAGES / name), backend))
    _assert_is_frame_zero(decode((IMAGES / name).read_bytes(), backend))
    with Image.open(IMAGES / name) as image:
        assert image.n_frames == 3
        image.seek(2)  # a PIL image left on a later frame still gives frame 0
        _assert_is_frame_zero(decode(image, backend))


@pytest.mark.parametrize("backend", ["torchvision", "pil"])
def test_unconverted_gray_and_rgb_images_keep_their_channels_in_a_list(backend: str) -> None:
    """With conversion off and no mean, a gray image stays 1-channel beside RGB ones (as in transformers)."""
    processor = pixelprep.ViTImageProcessor(backend=backend, do_convert_rgb=False, do_normalize=False, size={"height": 8, "width": 8})
    rgb = np.full((10, 12, 3), 51, np.uint8)
    gray = np.full((10, 12), 102, np.uint8)
    values = processor([rgb, gray], return_tensors=None)["pixel_values"]
    assert [tuple(v.shape) for v in values] == [(3, 8, 8), (1, 8, 8)]
    np.testing.assert_allclose(np.asarray(values[0]), 0.2, atol=1e-6)
    np.testing.assert_allclose(np.asarray(values[1]), 0.4, atol=1e-6)


@pytest.mark.parametrize("backend", ["torchvision", "pil"])
def test_alpha_images_meet_a_three_value_mean_as_rgb_on_white(backend: str) -> None:
    """ViT leaves do_convert_rgb unset: an RGBA image is blended onto white, exactly as do_convert_rgb=True does."""
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = np.linspace(0, 255, 16, dtype=np.uint8)[None, :]
    processor = pixelprep.ViTImageProcessor(backend=backend)
    unset = processor(rgba, return_tensors="np")["pixel_values"]
    converted = processor(rgba, do_convert_rgb=True, return_tensors="np")["pixel_values"]
    assert unset.shape == (1, 3, 224, 224)
    np.testing.assert_array_equal(unset, converted)
    with pytest.raises(pixelprep.InvalidArgumentError, match="image_mean has 3 values but the image has 4"):
        processor(rgba, do_convert_rgb=False)
