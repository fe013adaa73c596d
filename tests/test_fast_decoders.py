"""PNG and WebP files decode to exactly Pillow's pixels, whichever decoder runs (see ``pixelprep.decoders``).

Every kind of PNG is written here (a small writer below covers every colour type, bit depth, filter,
Adam7, tRNS and extra chunks; Pillow writes the APNGs and WebPs), then processed from a path, bytes
and a file object on both backends, and compared with the same processor given the image Pillow
decodes from the same file. The fast kinds (8-bit RGB and RGBA PNGs, still WebPs) must actually take
the imagecodecs path.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

import pixelprep
from pixelprep import ImageDecodeError, decoders
from pixelprep.inputs import LoadOptions, to_canonical

# ------------------------------------------------------------------------------------ a PNG writer

_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _row_bytes(row: np.ndarray, bit_depth: int) -> np.ndarray:
    if bit_depth == 16:
        return row.astype(">u2").view(np.uint8).reshape(-1)
    samples = row.reshape(-1).astype(np.uint8)
    if bit_depth == 8:
        return samples
    per_byte = 8 // bit_depth
    padded = np.zeros(-(-samples.size // per_byte) * per_byte, np.uint8)
    padded[: samples.size] = samples
    shifts = (np.arange(per_byte - 1, -1, -1) * bit_depth).astype(np.uint8)
    return np.bitwise_or.reduce(padded.reshape(-1, per_byte) << shifts, axis=1).astype(np.uint8)


def _filtered(raw: np.ndarray, prior: np.ndarray, kind: int, bpp: int) -> np.ndarray:
    """One scanline under PNG filter ``kind`` (0 none, 1 sub, 2 up, 3 average, 4 Paeth)."""
    x, b = raw.astype(np.int16), prior.astype(np.int16)
    a = np.concatenate([np.zeros(bpp, np.int16), x[:-bpp]])[: x.size]
    c = np.concatenate([np.zeros(bpp, np.int16), b[:-bpp]])[: x.size]
    if kind == 4:
        p = a + b - c
        pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
        predictor = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    else:
        predictor = [np.zeros_like(x), a, b, (a + b) // 2][kind]
    return ((x - predictor) % 256).astype(np.uint8)


def _scanlines(pixels: np.ndarray, bit_depth: int) -> bytes:
    bpp = max(1, pixels.shape[2] * bit_depth // 8)
    out, prior = [], None
    for y in range(pixels.shape[0]):
        raw = _row_bytes(pixels[y], bit_depth)
        prior = np.zeros_like(raw) if prior is None else prior
        out.append(bytes([y % 5]) + _filtered(raw, prior, y % 5, bpp).tobytes())  # every filter type, row by row
        prior = raw
    return b"".join(out)


def png_file(pixels: np.ndarray, color_type: int, bit_depth: int = 8, *, palette=None, trns: bytes | None = None,
             interlace: bool = False, before_pixels=(), after_pixels=()) -> bytes:  # fmt: skip
    """A PNG of ``pixels`` (samples, or palette indices) with the given header fields and extra chunks."""
    pixels = np.asarray(pixels).reshape(*np.shape(pixels)[:2], _CHANNELS[color_type])
    height, width = pixels.shape[:2]
    out = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, int(interlace)))
    out += b"".join(_chunk(kind, body) for kind, body in before_pixels)
    if palette is not None:
        out += _chunk(b"PLTE", np.asarray(palette, np.uint8).tobytes())
    if trns is not None:
        out += _chunk(b"tRNS", trns)
    if interlace:
        passes = [pixels[y0::dy, x0::dx] for x0, y0, dx, dy in _ADAM7]
        raw = b"".join(_scanlines(p, bit_depth) for p in passes if p.size)
    else:
        raw = _scanlines(pixels, bit_depth)
    compressed = zlib.compress(raw)
    out += b"".join(_chunk(b"IDAT", compressed[i : i + 997]) for i in range(0, len(compressed), 997))  # several IDATs
    out += b"".join(_chunk(kind, body) for kind, body in after_pixels)
    return out + _chunk(b"IEND", b"")


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _pillow_png(image: Image.Image, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **save)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------- the kinds

_RNG = np.random.default_rng(1234)
_H, _W = 45, 67  # odd sizes: partial Adam7 blocks, partial bytes at low bit depths


def _samples(channels: int, bit_depth: int) -> np.ndarray:
    values = _RNG.integers(0, 1 << bit_depth, size=(_H, _W, channels))
    values[:, : _W // 3] = values[:1, : _W // 3]  # flat columns, so the transparent colour key below matches many pixels
    return values


def _palette(entries: int) -> np.ndarray:
    return _RNG.integers(0, 256, size=(entries, 3))


def _srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _apng(default_image: bool) -> bytes:
    frames = [Image.fromarray(_RNG.integers(0, 256, size=(_H, _W, 3), dtype=np.uint8)) for _ in range(3)]
    return _pillow_png(frames[0], save_all=True, append_images=frames[1:], default_image=default_image, duration=40)


def _kinds() -> dict[str, tuple[bytes, bool]]:
    """name -> (PNG bytes, whether libspng decodes it: 8-bit RGB and RGBA; the rest decode with Pillow, measured faster)."""
    rgb, rgba = _samples(3, 8), _samples(4, 8)
    key = struct.pack(">HHH", *rgb[0, 0])
    photo = Image.fromarray(rgb.astype(np.uint8))
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Orientation="6"/></x:xmpmeta>'
    palette16 = _palette(16)
    return {
        "rgb": (png_file(rgb, 2), True),
        "rgb_pillow_encoder": (_pillow_png(photo), True),
        "rgba": (png_file(rgba, 6), True),
        "rgb_trns_colour_key": (png_file(rgb, 2, trns=key), True),
        "rgb_adam7": (png_file(rgb, 2, interlace=True), True),
        "rgba_adam7": (png_file(rgba, 6, interlace=True), True),
        "rgb_iccp_gama_chrm": (
            png_file(rgb, 2, before_pixels=[(b"gAMA", struct.pack(">I", 100000)), (b"cHRM", bytes(32)),
                                            (b"iCCP", b"sRGB\x00\x00" + zlib.compress(_srgb_profile()))]),
            True,
        ),  # fmt: skip
        "rgba_gama_far_from_srgb": (png_file(rgba, 6, before_pixels=[(b"gAMA", struct.pack(">I", 20000))]), True),
        "rgb_exif_orientation_6": (png_file(rgb, 2, before_pixels=[(b"eXIf", _exif(6))]), True),
        "rgba_exif_orientation_8": (png_file(rgba, 6, before_pixels=[(b"eXIf", _exif(8))]), True),
        "rgb_trns_exif_orientation_3": (png_file(rgb, 2, trns=key, before_pixels=[(b"eXIf", _exif(3))]), True),
        "rgb_exif_after_pixels": (png_file(rgb, 2, after_pixels=[(b"eXIf", _exif(6))]), False),
        "rgb_xmp_orientation": (png_file(rgb, 2, before_pixels=[(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp)]), False),
        "rgb_xmp_after_pixels": (png_file(rgb, 2, after_pixels=[(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp)]), False),
        "rgb_text_after_pixels": (png_file(rgb, 2, after_pixels=[(b"tEXt", b"Comment\x00made by a test")]), True),
        "apng_first_frame": (_apng(default_image=False), True),
        "apng_default_image": (_apng(default_image=True), True),
        "gray_l": (png_file(_samples(1, 8), 0), False),
        "gray_l_trns": (png_file(_samples(1, 8), 0, trns=struct.pack(">H", 7)), False),
        "gray_1bit": (png_file(_samples(1, 1), 0, 1), False),
        "gray_1bit_adam7": (png_file(_samples(1, 1), 0, 1, interlace=True), False),
        "gray_2bit": (png_file(_samples(1, 2), 0, 2), False),
        "gray_4bit_adam7": (png_file(_samples(1, 4), 0, 4, interlace=True), False),
        "gray_la": (png_file(_samples(2, 8), 4), False),
        "palette": (png_file(_samples(1, 4), 3, 8, palette=palette16), False),
        "palette_4bit_adam7": (png_file(_samples(1, 4), 3, 4, palette=palette16, interlace=True), False),
        "palette_trns_partial": (png_file(_samples(1, 4), 3, 8, palette=palette16, trns=bytes([0, 90, 180])), False),
        "palette_trns_single": (_pillow_png(photo.quantize(64), transparency=5), False),
        "palette_1bit": (png_file(_samples(1, 1), 3, 1, palette=_palette(2)), False),
        "gray_16bit": (png_file(_samples(1, 16), 0, 16), False),
        "rgb_16bit": (png_file(_samples(3, 16), 2, 16), False),
        "rgba_16bit_adam7": (png_file(_samples(4, 16), 6, 16, interlace=True), False),
        "gray_la_16bit": (png_file(_samples(2, 16), 4, 16), False),
    }


KINDS = _kinds()


def pillow_reference(data: bytes) -> Image.Image:
    """What Pillow decodes from the file: first frame, loaded, EXIF-oriented."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return ImageOps.exif_transpose(image)


def _processors(backend: str) -> list:
    """CLIP (RGB conversion, crop, normalize), and a processor that keeps the file's own channels."""
    keep_channels = pixelprep.ViTImageProcessor(
        backend=backend, do_convert_rgb=False, do_normalize=False, size={"height": 40, "width": 50}
    )
    return [pixelprep.CLIPImageProcessor(backend=backend, size={"shortest_edge": 30}, crop_size={"height": 28, "width": 28}), keep_channels]


def assert_loads_as_pillow_decodes(data: bytes, convert_rgb: bool, sources: tuple) -> None:
    """Each of ``sources`` (``data`` as bytes, a stream, a file) loads to the image handed to the backends that the same
    Pillow decode gives: shape, dtype and every value."""
    options = LoadOptions(convert_rgb=convert_rgb)
    expected = to_canonical(pillow_reference(data), options)
    for source in sources:
        got = to_canonical(source, options)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def assert_file_processes_as_pillow_decodes(data: bytes, path: Path, backend: str) -> None:
    """``data`` written to ``path``, given as a str and as a Path, gives every processor what Pillow's decode of it gives."""
    path.write_bytes(data)
    reference = pillow_reference(data)
    for processor in _processors(backend):
        expected = processor(reference, return_tensors="np")["pixel_values"]
        for source in (str(path), path):
            np.testing.assert_array_equal(processor(source, return_tensors="np")["pixel_values"], expected)


def assert_pillows_verdict(data: bytes, sources: tuple) -> None:
    """Where Pillow refuses ``data``, each of ``sources`` is our ImageDecodeError; where it decodes it (it is lenient), Pillow's pixels."""
    try:
        expected = to_canonical(pillow_reference(data), LoadOptions(convert_rgb=True))
    except Exception:  # noqa: BLE001 - any refusal by Pillow: ours must refuse too
        expected = None
    for source in sources:
        if expected is None:
            with pytest.raises(ImageDecodeError):
                to_canonical(source, LoadOptions(convert_rgb=True))
        else:
            np.testing.assert_array_equal(to_canonical(source, LoadOptions(convert_rgb=True)), expected)


# ------------------------------------------------------------------------------------------ tests


def test_imagecodecs_is_installed_with_the_dev_extra() -> None:
    assert decoders.fast_decoders_available()


@pytest.mark.parametrize("name", list(KINDS))
def test_each_kind_takes_the_decoder_measured_fastest_for_it(name: str) -> None:
    data, fast = KINDS[name]
    assert (decoders.decode(data, "test") is not None) == fast


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
@pytest.mark.parametrize("name", list(KINDS))
def test_png_paths_give_what_pillow_decodes(name: str, backend: str, tmp_path: Path) -> None:
    assert_file_processes_as_pillow_decodes(KINDS[name][0], tmp_path / f"{name}.png", backend)


@pytest.mark.parametrize("convert_rgb", [False, True])
@pytest.mark.parametrize("name", list(KINDS))
def test_png_canonical_images_equal_pillows(name: str, convert_rgb: bool) -> None:
    """The images handed to the backends, before any resize: equal to what the same Pillow image gives."""
    data, _ = KINDS[name]
    assert_loads_as_pillow_decodes(data, convert_rgb, (data, io.BytesIO(data)))


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_bytes_and_file_objects_match_paths(backend: str, tmp_path: Path) -> None:
    data, _ = KINDS["rgba"]
    path = tmp_path / "rgba.png"
    path.write_bytes(data)
    processor = _processors(backend)[0]
    expected = processor(path, return_tensors="np")["pixel_values"]
    with open(path, "rb") as handle:
        np.testing.assert_array_equal(processor(handle, return_tensors="np")["pixel_values"], expected)
    np.testing.assert_array_equal(processor(data, return_tensors="np")["pixel_values"], expected)
    np.testing.assert_array_equal(processor(bytearray(data), return_tensors="np")["pixel_values"], expected)


@pytest.mark.parametrize("name", ["rgb", "rgb_exif_after_pixels"])
def test_file_objects_are_read_from_their_start_like_pillow_and_left_where_they_were(name: str) -> None:
    data, fast = KINDS[name]  # the second one is read, declined, and read again by Pillow
    handle = io.BytesIO(data)
    handle.seek(10)
    assert (decoders.decode(handle, "test") is not None) == fast
    assert handle.tell() == 10
    np.testing.assert_array_equal(to_canonical(handle, LoadOptions()), to_canonical(pillow_reference(data), LoadOptions()))


def test_non_seekable_streams_and_other_formats_go_to_pillow() -> None:
    data, _ = KINDS["rgb"]

    class Stream(io.RawIOBase):
        def __init__(self) -> None:
            self._inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # noqa: ANN001 - the buffer protocol object io passes
            chunk = self._inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    assert decoders.decode(Stream(), "test") is None
    np.testing.assert_array_equal(to_canonical(io.BufferedReader(Stream()), LoadOptions()), to_canonical(data, LoadOptions()))
    jpeg = io.BytesIO()
    Image.fromarray(_samples(3, 8).astype(np.uint8)).save(jpeg, format="JPEG")
    assert decoders.decode(jpeg.getvalue(), "test") is None
    assert decoders.decode("https://example.invalid/a.png", "test") is None


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_without_imagecodecs_pillow_decodes_the_same(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    processor = _processors(backend)[0]
    fast = {name: processor(KINDS[name][0], return_tensors="np")["pixel_values"] for name in ("rgb", "rgba", "rgb_trns_colour_key")}
    monkeypatch.setattr(decoders, "_imagecodecs", lambda: None)
    assert not decoders.fast_decoders_available()
    for name, values in fast.items():
        assert decoders.decode(KINDS[name][0], "test") is None
        np.testing.assert_array_equal(processor(KINDS[name][0], return_tensors="np")["pixel_values"], values)


# --------------------------------------------------------------------------------- corrupt files


def _corruptions() -> dict[str, bytes]:
    data = KINDS["rgb"][0]
    first_idat = data.index(b"IDAT")
    payload = first_idat + 4
    end = data.index(b"IEND") - 4
    last_idat = data.rindex(b"IDAT")
    ihdr_crc = 8 + 8 + 13
    compressed = zlib.compress(b"".join(bytes([0]) + bytes(3 * _W) for _ in range(_H)))
    bad_adler = compressed[:-4] + bytes(4)
    header = data[:first_idat - 4]
    return {
        "idat_bytes_flipped": data[: payload + 40] + bytes(b ^ 0x5A for b in data[payload + 40 : payload + 60]) + data[payload + 60 :],
        "zlib_header_broken": data[:payload] + b"\x00\x00" + data[payload + 2 :],
        "truncated_in_pixels": data[: (payload + end) // 2],
        "truncated_in_last_crc": data[: end - 2],
        "truncated_in_ihdr": data[:20],
        "signature_only": data[:8],
        "idat_crc_wrong": data[: last_idat - 4] + _bad_crc(data[last_idat - 4 : end]) + data[end:],
        "ihdr_crc_wrong": data[:ihdr_crc] + bytes(4) + data[ihdr_crc + 4 :],
        "no_iend": data[:end],
        "garbage_after_iend": data + b"\x00garbage" * 100,
        "too_few_rows": header + _chunk(b"IDAT", zlib.compress(b"".join(bytes([0]) + bytes(3 * _W) for _ in range(_H // 2)))) + _chunk(b"IEND", b""),
        "too_many_rows": header + _chunk(b"IDAT", zlib.compress(b"".join(bytes([0]) + bytes(3 * _W) for _ in range(_H + 9)))) + _chunk(b"IEND", b""),
        "adler32_wrong": header + _chunk(b"IDAT", bad_adler) + _chunk(b"IEND", b""),
        "bad_filter_type": header + _chunk(b"IDAT", zlib.compress(b"".join(bytes([7]) + bytes(3 * _W) for _ in range(_H)))) + _chunk(b"IEND", b""),
        "no_idat": header + _chunk(b"IEND", b""),
    }


def _bad_crc(chunk: bytes) -> bytes:
    return chunk[:-4] + bytes(b ^ 0xFF for b in chunk[-4:])


CORRUPTIONS = _corruptions()


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corrupt_files_get_pillows_verdict(name: str) -> None:
    """A file Pillow rejects is our ImageDecodeError; a file Pillow decodes (it is lenient) gives Pillow's pixels."""
    data = CORRUPTIONS[name]
    assert_pillows_verdict(data, (data, io.BytesIO(data)))


# ------------------------------------------------------------------------------------------- WebP


def _webp(image: Image.Image, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", **save)
    return buffer.getvalue()


def _webp_kinds() -> dict[str, tuple[bytes, bool]]:
    """name -> (WebP bytes, whether libwebp decodes it straight to an array: every still image)."""
    photo = Image.open(Path(__file__).parent / "fixtures" / "images" / "photo_rgb_640x427.jpg").convert("RGB")
    alpha = Image.fromarray(np.tile(np.linspace(0, 255, photo.width, dtype=np.uint8), (photo.height, 1)))
    rgba = photo.copy()
    rgba.putalpha(alpha)
    exif = Image.Exif()
    exif[0x0112] = 6
    frames = [photo, photo.rotate(90), photo.rotate(180)]
    return {
        "lossy": (_webp(photo, quality=80), True),
        "lossless": (_webp(photo, lossless=True), True),
        "lossy_alpha": (_webp(rgba, quality=80), True),
        "lossless_alpha_exact": (_webp(rgba, lossless=True, exact=True), True),
        "lossy_exif_orientation_6": (_webp(photo, quality=80, exif=exif.tobytes()), True),
        "lossless_alpha_exif_orientation_6": (_webp(rgba, lossless=True, exif=exif.tobytes()), True),
        "animated": (_webp(frames[0], save_all=True, append_images=frames[1:], duration=40), False),
    }


WEBP_KINDS = _webp_kinds()


@pytest.mark.parametrize("name", list(WEBP_KINDS))
def test_each_webp_kind_takes_the_expected_decoder(name: str) -> None:
    data, fast = WEBP_KINDS[name]
    assert (decoders.decode(data, "test") is not None) == fast


@pytest.mark.parametrize("convert_rgb", [False, True])
@pytest.mark.parametrize("name", list(WEBP_KINDS))
def test_webp_canonical_images_equal_pillows(name: str, convert_rgb: bool, tmp_path: Path) -> None:
    data, _ = WEBP_KINDS[name]
    path = tmp_path / f"{name}.webp"
    path.write_bytes(data)
    assert_loads_as_pillow_decodes(data, convert_rgb, (data, io.BytesIO(data), path))


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
@pytest.mark.parametrize("name", list(WEBP_KINDS))
def test_webp_paths_give_what_pillow_decodes(name: str, backend: str, tmp_path: Path) -> None:
    assert_file_processes_as_pillow_decodes(WEBP_KINDS[name][0], tmp_path / f"{name}.webp", backend)


@pytest.mark.parametrize("cut", [0.3, 0.9, 0.999])
def test_truncated_webp_gets_pillows_verdict(cut: float) -> None:
    data, _ = WEBP_KINDS["lossy"]
    truncated = data[: int(len(data) * cut)]
    assert_pillows_verdict(truncated, (truncated,))


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_runner_rows_from_png_and_webp_files_equal_pillows(backend: str, tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    from pixelprep.runner import run_job

    files = {"rgb.png": KINDS["rgb"][0], "rgba_exif.png": KINDS["rgba_exif_orientation_8"][0], "corrupt.png": CORRUPTIONS["idat_bytes_flipped"]}
    files |= {"lossy.webp": WEBP_KINDS["lossy"][0], "alpha.webp": WEBP_KINDS["lossless_alpha_exact"][0]}
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    processor = pixelprep.CLIPImageProcessor(backend=backend)
    out = tmp_path / "out"
    result = run_job(processor, [str(folder / name) for name in files], str(out), batch_size=2, log=io.StringIO())
    assert (result.processed, result.failed) == (5, 1)
    for line in (out / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if Path(entry["source"]).name == "corrupt.png":
            assert "cannot decode image" in entry["error"]
            continue
        row = load_file(str(out / entry["shard"]))["pixel_values"][entry["row"]]
        expected = processor(pillow_reference(files[Path(entry["source"]).name]), return_tensors="np")["pixel_values"][0]
        np.testing.assert_array_equal(row, expected)


# ------------------------------------------------------------------------------------------- TIFF


def _tiff(image: Image.Image, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF", **save)
    return buffer.getvalue()


def _tiff_kinds() -> dict[str, tuple[bytes, bool]]:
    """name -> (TIFF bytes, whether libtiff decodes it straight to an array: one page of 8-bit RGB/RGBA, upright)."""
    photo = Image.open(Path(__file__).parent / "fixtures" / "images" / "photo_rgb_333x517.jpg").convert("RGB")
    rgba = photo.copy()
    rgba.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, photo.width, dtype=np.uint8), (photo.height, 1))))
    kinds = {f"rgb_{c or 'raw'}": (_tiff(photo, compression=c), True) for c in (None, "tiff_lzw", "tiff_adobe_deflate", "jpeg", "packbits")}
    kinds |= {
        "rgb_lzw_horizontal_predictor": (_tiff(photo, compression="tiff_lzw", tiffinfo={317: 2}), True),
        "rgba_unassociated_alpha": (_tiff(rgba, compression="tiff_lzw"), True),
        "rgb_orientation_6": (_tiff(photo, tiffinfo={274: 6}), False),
        "two_pages": (_tiff(photo, save_all=True, append_images=[photo.rotate(90)]), False),
        "cmyk": (_tiff(photo.convert("CMYK")), False),
        "gray": (_tiff(photo.convert("L")), False),
        "gray_16bit": (_tiff(Image.fromarray(np.asarray(photo.convert("L")).astype(np.uint16) * 257)), False),
    }
    return kinds


TIFF_KINDS = _tiff_kinds()


@pytest.mark.parametrize("name", list(TIFF_KINDS))
def test_each_tiff_kind_takes_the_expected_decoder(name: str) -> None:
    data, fast = TIFF_KINDS[name]
    assert (decoders.decode(data, "test") is not None) == fast


@pytest.mark.parametrize("convert_rgb", [False, True])
@pytest.mark.parametrize("name", list(TIFF_KINDS))
def test_tiff_canonical_images_equal_pillows(name: str, convert_rgb: bool) -> None:
    data, _ = TIFF_KINDS[name]
    assert_loads_as_pillow_decodes(data, convert_rgb, (data, io.BytesIO(data)))


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
@pytest.mark.parametrize("name", ["rgb_tiff_lzw", "rgba_unassociated_alpha", "rgb_orientation_6"])
def test_tiff_paths_give_what_pillow_decodes(name: str, backend: str, tmp_path: Path) -> None:
    assert_file_processes_as_pillow_decodes(TIFF_KINDS[name][0], tmp_path / f"{name}.tif", backend)


@pytest.mark.parametrize("cut", [0.5, 0.99])
def test_truncated_tiff_gets_pillows_verdict(cut: float) -> None:
    data, _ = TIFF_KINDS["rgb_tiff_lzw"]
    truncated = data[: int(len(data) * cut)]
    assert_pillows_verdict(truncated, (truncated,))
