#!/usr/bin/env python
"""Generate the image fixtures in ``tests/fixtures/images`` and ``tests/fixtures/broken``.

The fixtures are committed to the repository; tests never run this script.
It exists to document exactly how every file was made and to let us
regenerate them. Run it from anywhere::

    python scripts/make_fixtures.py            # (re)write fixtures, then verify
    python scripts/make_fixtures.py --check    # only verify the committed files

Sources are the sample photos *bundled inside* the installed scikit-image
package (``skimage/data/*.png|jpg``); nothing is downloaded. Only photos whose
scikit-image docstring states public domain / CC0 are used (see
``tests/fixtures/README.md``). Every source is decoded to plain pixels first,
so no ICC profile, EXIF or XMP from the originals is carried over.

Generation is deterministic (fixed seeds, fixed encoder settings). Byte-exact
output still depends on the zlib / libjpeg / libwebp versions bundled with
Pillow, so re-running with a different Pillow may change bytes but not content.
"""

from __future__ import annotations

import argparse
import io
import random
import struct
import sys
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import skimage
from PIL import Image, ImageDraw, ImageOps

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
IMAGES = FIXTURES / "images"
BROKEN = FIXTURES / "broken"
SKIMAGE_DATA = Path(skimage.__file__).resolve().parent / "data"

JPEG_KW: dict[str, object] = {"quality": 90, "optimize": False, "progressive": False}
EXIF_ORIENTATION = 0x0112

# Inverse of the transpose that ImageOps.exif_transpose applies for each tag,
# i.e. how to turn an upright picture into the "sensor" pixels we store.
_STORE_FOR_ORIENTATION: dict[int, Image.Transpose] = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,  # viewer rotates 90 deg clockwise to display
    8: Image.Transpose.ROTATE_270,  # viewer rotates 90 deg counter-clockwise
}


# --------------------------------------------------------------------------- helpers


def photo(name: str, mode: str = "RGB") -> Image.Image:
    """Load a bundled scikit-image sample as a metadata-free image in ``mode``."""
    path = SKIMAGE_DATA / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not bundled with this scikit-image install")
    with Image.open(path) as im:
        arr = np.asarray(im.convert(mode))
    return Image.fromarray(arr, mode)


def fit(im: Image.Image, width: int, height: int) -> Image.Image:
    """Centre-crop to the target aspect ratio and resize with Lanczos."""
    return ImageOps.fit(im, (width, height), method=Image.Resampling.LANCZOS)


def radial_alpha(width: int, height: int) -> np.ndarray:
    """Alpha map: 255 in the centre, smooth falloff, exactly 0 in the corners."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = np.hypot((x - (width - 1) / 2) / (width / 2), (y - (height - 1) / 2) / (height / 2))
    a = np.clip((1.15 - r) / 0.75, 0.0, 1.0)
    return np.round(a * 255).astype(np.uint8)


def png_chunk(tag: bytes, data: bytes) -> bytes:
    """Serialise one PNG chunk (length, type, data, CRC)."""
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_chunks(blob: bytes) -> list[tuple[int, bytes, bytes]]:
    """Split a PNG byte string into ``(offset, type, data)`` triples."""
    out, pos = [], 8
    while pos < len(blob):
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        tag = blob[pos + 4 : pos + 8]
        out.append((pos, tag, blob[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    """Encode ``im`` in memory and return the bytes."""
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


# --------------------------------------------------------------------------- good images


def make_images() -> None:
    """Write every decodable fixture into ``IMAGES``."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    out = IMAGES
    rocket, coffee, chelsea = photo("rocket.jpg"), photo("coffee.png"), photo("chelsea.png")
    astronaut, camera = photo("astronaut.png"), photo("camera.png", "L")

    # Real photos at odd sizes.
    fit(rocket, 333, 517).save(out / "photo_rgb_333x517.jpg", **JPEG_KW)
    fit(coffee, 640, 427).save(out / "photo_rgb_640x427.jpg", **JPEG_KW)
    fit(astronaut, 1023, 768).save(out / "photo_rgb_1023x768.jpg", quality=85)
    fit(chelsea, 301, 200).save(out / "photo_rgb_301x200.png", optimize=True)

    # Extreme aspect ratios and degenerate sizes.
    fit(coffee, 1200, 90).save(out / "wide_rgb_1200x90.jpg", **JPEG_KW)
    fit(rocket, 90, 1200).save(out / "tall_rgb_90x1200.jpg", **JPEG_KW)
    fit(chelsea, 7, 5).save(out / "tiny_rgb_7x5.png")
    Image.new("RGB", (1, 1), (200, 100, 50)).save(out / "single_pixel_rgb_1x1.png")

    # Modes.
    rgba = fit(astronaut, 256, 192).convert("RGBA")
    rgba.putalpha(Image.fromarray(radial_alpha(256, 192), "L"))
    rgba.save(out / "rgba_alpha_radial_256x192.png", optimize=True)

    la = fit(camera, 200, 150).convert("LA")
    la.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, 200).round().astype(np.uint8), (150, 1)), "L"))
    la.save(out / "la_alpha_ramp_200x150.png", optimize=True)

    fit(camera, 257, 257).save(out / "gray_l_257x257.jpg", **JPEG_KW)
    fit(camera, 200, 131).save(out / "gray_l_200x131.png", optimize=True)

    # Palette with a tRNS transparent index actually used by a disc of pixels.
    base = fit(coffee, 240, 160)
    q = base.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    pal = (q.getpalette() or [])[: 255 * 3]
    pal += [0, 0, 0] * (256 - len(pal) // 3)
    idx = np.asarray(q).copy()
    disc = Image.new("L", (240, 160), 0)
    ImageDraw.Draw(disc).ellipse((150, 20, 230, 100), fill=255)
    idx[np.asarray(disc) > 0] = 255
    p_trns = Image.fromarray(idx, "P")
    p_trns.putpalette(pal)
    p_trns.save(out / "palette_p_trns_240x160.png", transparency=255, optimize=False)

    fit(chelsea, 240, 160).quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(
        out / "palette_p_opaque_240x160.png", optimize=False
    )

    fit(camera, 257, 171).convert("1").save(out / "bilevel_1bit_257x171.png")  # Floyd-Steinberg

    fit(coffee, 320, 213).convert("CMYK").save(out / "cmyk_photo_320x213.jpg", **JPEG_KW)

    # 16-bit grayscale: resample in float so >256 distinct levels exist, then
    # stretch so both 0 and 65535 occur.
    f = np.asarray(fit(camera.convert("F"), 301, 203), dtype=np.float64)
    g16 = np.round((f - f.min()) / (f.max() - f.min()) * 65535).astype(np.uint16)
    Image.fromarray(g16).save(out / "gray16_i16_301x203.png")  # mode I;16
    # 16-bit RGB PNG: not produced, Pillow has no 48-bit RGB mode it can encode.

    # EXIF orientation: stored pixels are the *unrotated* sensor data; applying
    # the tag (ImageOps.exif_transpose) yields the 320x240 upright picture.
    upright = fit(chelsea, 320, 240)
    upright.save(out / "exif_upright_reference_320x240.jpg", **JPEG_KW)
    for tag, op in _STORE_FOR_ORIENTATION.items():
        stored = upright.transpose(op)
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = tag
        w, h = stored.size
        stored.save(out / f"exif_orientation{tag}_stored{w}x{h}_display320x240.jpg", exif=exif, **JPEG_KW)

    # Animations: 3 frames, each a distinct solid colour with a white marker
    # whose position encodes the frame index.
    frames = []
    for i, colour in enumerate([(220, 30, 30), (30, 180, 30), (30, 60, 220)]):
        fr = Image.new("RGB", (64, 48), colour)
        ImageDraw.Draw(fr).rectangle((4 + 20 * i, 4, 16 + 20 * i, 16), fill=(255, 255, 255))
        frames.append(fr)
    frames[0].save(
        out / "animated_3frames_64x48.gif", save_all=True, append_images=frames[1:],
        duration=100, loop=0, optimize=False, disposal=1,
    )
    frames[0].save(
        out / "animated_3frames_64x48.webp", save_all=True, append_images=frames[1:],
        duration=100, loop=0, lossless=True, method=4,
    )

    # Same photo in other containers.
    small = fit(rocket, 251, 167)
    small.save(out / "photo_rgb_251x167.webp", quality=85, method=4)
    small.save(out / "photo_rgb_251x167.bmp")
    small.save(out / "photo_rgb_251x167.tif", compression="tiff_lzw")


# --------------------------------------------------------------------------- broken files


def make_broken() -> None:
    """Write every intentionally undecodable fixture into ``BROKEN``."""
    BROKEN.mkdir(parents=True, exist_ok=True)
    good_jpeg = encode(fit(photo("rocket.jpg"), 333, 517), "JPEG", **JPEG_KW)
    (BROKEN / "truncated_half.jpg").write_bytes(good_jpeg[: len(good_jpeg) // 2])
    (BROKEN / "empty.jpg").write_bytes(b"")
    (BROKEN / "not_an_image.png").write_text(
        "This is a plain UTF-8 text file with a .png extension.\n"
        "Loaders must reject it instead of trusting the file name.\n",
        encoding="utf-8",
    )
    (BROKEN / "garbage.jpg").write_bytes(random.Random(20240601).randbytes(4096))

    # Valid PNG whose IDAT payload is overwritten mid-stream (CRC recomputed, so
    # the chunk layer is fine and the failure happens inside zlib inflate).
    png = encode(fit(photo("coffee.png"), 160, 107), "PNG")
    pieces = [png[:8]]
    for _, tag, data in png_chunks(png):
        if tag == b"IDAT":
            mid = len(data) // 2
            data = data[:mid] + b"\xff" * 64 + data[mid + 64 :]
        pieces.append(png_chunk(tag, data))
    (BROKEN / "corrupt_idat.png").write_bytes(b"".join(pieces))

    # Decompression bomb: IHDR declares 30000x30000 8-bit grayscale (900 Mpx,
    # > 2 * Image.MAX_IMAGE_PIXELS) so Pillow raises DecompressionBombError in
    # Image.open(). IDAT only holds the first 16 rows (a full zero stream would
    # be ~875 KB) and the zlib stream is left unterminated (sync flush, no
    # final block): a *terminated* short stream is silently zero-padded by
    # Pillow, whereas this one fails as truncated if the limit is disabled.
    width = height = 30000
    rows = b"".join(b"\x00" + bytes(width) for _ in range(16))
    deflate = zlib.compressobj(9)
    idat = deflate.compress(rows) + deflate.flush(zlib.Z_SYNC_FLUSH)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )
    (BROKEN / "decompression_bomb_30000x30000.png").write_bytes(bomb)


# --------------------------------------------------------------------------- verification


def _fails_to_load(path: Path) -> str:
    """Return the exception name raised while opening + loading ``path`` ('' if none)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()
    except Exception as exc:  # noqa: BLE001 - we want whatever Pillow raises
        return type(exc).__name__
    return ""


def verify() -> bool:
    """Open/load every fixture, check EXIF tags and broken files; print a table."""
    ok = True

    def check(cond: bool, msg: str) -> None:
        nonlocal ok
        if not cond:
            ok = False
            print(f"  FAIL: {msg}")

    total = 0
    print(f"{'file':58} {'bytes':>8}  {'mode':6} {'WxH':>10}  frames")
    for path in sorted(IMAGES.iterdir()):
        total += path.stat().st_size
        with Image.open(path) as im:
            im.load()
            n = getattr(im, "n_frames", 1)
            print(f"images/{path.name:51} {path.stat().st_size:8}  {im.mode:6} {im.width:>4}x{im.height:<5}  {n}")
            if path.name.startswith("exif_orientation"):
                tag = int(path.name[len("exif_orientation")])
                check(im.getexif().get(EXIF_ORIENTATION) == tag, f"{path.name} lacks Orientation={tag}")
                upright = ImageOps.exif_transpose(im)
                check(upright.size == (320, 240), f"{path.name} transposes to {upright.size}")
                with Image.open(IMAGES / "exif_upright_reference_320x240.jpg") as ref:
                    diff = np.abs(np.asarray(upright, np.int16) - np.asarray(ref, np.int16)).mean()
                check(diff < 4.0, f"{path.name} does not match the upright reference (mean diff {diff:.2f})")
            if path.suffix == ".png" and "trns" in path.name:
                check(im.mode == "P" and "transparency" in im.info, f"{path.name} lacks tRNS")
                check(np.asarray(im.convert("RGBA"))[..., 3].min() == 0, f"{path.name} no transparent px")
            if path.name.startswith("gray16"):
                a = np.asarray(im)
                check(a.min() == 0 and a.max() == 65535, f"{path.name} range {a.min()}..{a.max()}")
            if path.name.startswith("animated"):
                check(n == 3, f"{path.name} has {n} frames")
    for path in sorted(BROKEN.iterdir()):
        total += path.stat().st_size
        err = _fails_to_load(path)
        print(f"broken/{path.name:51} {path.stat().st_size:8}  -> {err or 'LOADED (bad!)'}")
        check(bool(err), f"{path.name} loaded without error")
        if "bomb" in path.name:
            check(err == "DecompressionBombError", f"{path.name} raised {err}")
    readme = FIXTURES / "README.md"
    if readme.exists():
        total += readme.stat().st_size
    print(f"total size of tests/fixtures: {total} bytes ({total / 1024 / 1024:.2f} MiB)")
    print("OK" if ok else "VERIFICATION FAILED")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify existing fixtures")
    args = parser.parse_args(argv)
    steps: list[Callable[[], None]] = [] if args.check else [make_images, make_broken]
    for step in steps:
        step()
    return 0 if verify() else 1


if __name__ == "__main__":
    sys.exit(main())
