"""``pixelprep bench``: pixelprep against transformers (and open_clip for CLIP), side by side in one process.

Every contender processes the same images. Rounds alternate between contenders (the order rotates
each round) and medians are reported, because shared machines are noisy. Outputs are compared in
the same run: each contender against transformers' class of the same backend, built from the same
config. Opt-in approximations run as contenders of their own, so their speed and how far their output
moves are reported next to the exact paths.

The test photos are real photos (a folder of JPEG/PNG files, by default the repository's fixtures)
cropped to the aspect and rescaled to about 640x480, 1920x1080 and 4032x3024 at run time; the files
scenario writes them once into a cache folder as JPEG, PNG and WebP, and runs each format alone and
the three mixed.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PHOTO_SIZES = ((4032, 3024), (1920, 1080), (640, 480))  # (width, height), largest first
SCENARIOS = {
    "pil": "decoded PIL photos",
    "numpy": "the same photos as uint8 HWC NumPy arrays",
    "torch": "the same photos as uint8 CHW torch tensors",
    "files": "JPEG, PNG and WebP files on disk, paths in: each format alone, then the three mixed",
    "png": "PNG files on disk, paths in (also part of files)",
    "batch": "batch sizes 1, 8, 32 and 128 of decoded photos",
    "threads": "pixelprep's thread count",
    "detr": "DETR (shortest edge 800, longest 1333), a padded batch of decoded photos",
    "qwen2vl": "Qwen2.5-VL (max_pixels 12845056), the decoded photos and a 1700x2200 document page",
    "smolvlm": "SmolVLM (1536 long side, 384 tiles, LANCZOS), the decoded photos and a 1700x2200 document page, one sample each",
    "llava_next": "LLaVA-NeXT (anyres: best of 5 grid pinpoints, 336 tiles plus the base image), the decoded photos and a 1700x2200 document page",
    "internvl": "InternVL3 through GOT-OCR2's processor (closest-ratio tiling, up to 12 tiles of 448 plus a thumbnail), the decoded photos and a 1700x2200 document page",
    "memory": "peak memory for a large batch of JPEG paths, one fresh interpreter per contender",
    "import": "import and first call, fresh interpreters",
    "pipeline": "transformers' image-classification pipeline, as transformers builds it and patched by pixelprep",
}
DEFAULT_SCENARIOS = ("pil", "numpy", "torch", "files", "batch", "threads", "detr", "pipeline", "import")
DETR_BATCH = 8


@dataclass(frozen=True)
class ModelScenario:
    """A vision-language scenario: one model's config on the decoded photos plus a document page, all outputs compared."""

    option: str  # the command-line option naming its config
    default: str  # that option's default: a config shipped under examples/
    per_sample: bool = False  # one image per sample ([[a], [b]], as a chat batch has) rather than a flat list
    call_kwargs: tuple[tuple[str, Any], ...] = ()  # what the model's own processor passes at call time


MODEL_SCENARIOS = {
    "qwen2vl": ModelScenario("--qwen-model", os.path.join("examples", "qwen2.5-vl-7b-instruct")),
    "smolvlm": ModelScenario("--smolvlm-model", os.path.join("examples", "smolvlm2-2.2b-instruct"), per_sample=True),
    "llava_next": ModelScenario("--llava-next-model", os.path.join("examples", "llava-v1.6-mistral-7b-hf")),
    # InternVLProcessor turns tiling on at call time; the saved config has it off
    "internvl": ModelScenario("--internvl-model", os.path.join("examples", "internvl3-1b-hf"), call_kwargs=(("crop_to_patches", True),)),
}
DOCUMENT_SIZE = (1700, 2200)  # (width, height): a letter page scanned at 200 dpi
BATCH_SIZES = (1, 8, 32, 128)
# Input kinds, each measured as a table of its own; the file kinds map to the formats written for them.
FILE_KINDS = {"jpeg": ("jpg",), "png": ("png",), "webp": ("webp",), "mixed": ("jpg", "png", "webp")}
INPUT_KINDS = ("pil", "numpy", "torch", *FILE_KINDS)
KIND_TITLES = {
    "pil": "decoded PIL photos",
    "numpy": "the same photos as uint8 HWC NumPy arrays",
    "torch": "the same photos as uint8 CHW torch tensors",
    "jpeg": "JPEG files on disk, paths in",
    "png": "PNG files on disk, paths in",
    "webp": "WebP files on disk, paths in",
    "mixed": "JPEG, PNG and WebP files mixed, paths in",
}
_SCENARIO_KINDS = {"pil": ("pil",), "numpy": ("numpy",), "torch": ("torch",), "files": tuple(FILE_KINDS), "png": ("png",)}
_RESAMPLE_NAMES = {2: "bilinear", 3: "bicubic"}  # the filters open_clip's transform takes by name


@dataclass
class Contender:
    """One way of turning a list of inputs into a batch of pixel values, compared with transformers' ``backend`` class."""

    name: str
    backend: str  # "torchvision" or "pil": the transformers class this one is compared with
    run: Callable[[list[Any]], Any]  # an array, or a dict of arrays compared output by output
    kinds: tuple[str, ...] = INPUT_KINDS  # input kinds it takes
    times: list[float] = field(default_factory=list)
    output: Any = None
    warmed: bool = False

    @property
    def reference(self) -> str | None:
        """Name of the contender whose output this one is compared with (None for transformers itself)."""
        own = f"transformers-{self.backend}"
        return None if self.name == own else own


# ------------------------------------------------------------------------------------------- images


def photo_sources(images_dir: str) -> list[Any]:
    """The real photos in ``images_dir``: upright RGB JPEG/PNG files at least 300 px on the short side, largest first."""
    from PIL import Image, ImageOps

    if not os.path.isdir(images_dir):
        raise SystemExit(f"pixelprep bench: {images_dir} is not a folder; pass --images DIR with a few JPEG/PNG photos")
    photos = []
    for name in sorted(os.listdir(images_dir)):
        if not name.lower().endswith((".jpg", ".jpeg", ".png")):
            continue
        with Image.open(os.path.join(images_dir, name)) as opened:
            if opened.mode != "RGB" or min(opened.size) < 300:
                continue
            photos.append(ImageOps.exif_transpose(opened))
    if not photos:
        raise SystemExit(f"pixelprep bench: no RGB JPEG/PNG photo of at least 300x300 in {images_dir}")
    return sorted(photos, key=lambda p: -p.size[0] * p.size[1])


def photo_variants(images_dir: str) -> list[Any]:
    """One decoded photo per size in ``PHOTO_SIZES``: a real photo cropped to the aspect and resized with Pillow."""
    from PIL import Image, ImageOps

    sources = photo_sources(images_dir)
    return [ImageOps.fit(sources[i % len(sources)], size, Image.BICUBIC) for i, size in enumerate(PHOTO_SIZES)]


def cycle(variants: Sequence[Any], count: int) -> list[Any]:
    """``count`` items going round ``variants`` (so every batch mixes every size)."""
    return [variants[i % len(variants)] for i in range(count)]


def default_cache_dir() -> str:
    """Where the files scenario keeps its generated JPEG/PNG/WebP photos."""
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pixelprep", "bench")


def photo_files(variants: list[Any], cache_dir: str, fmt: str) -> list[str]:
    """The variants written once as ``fmt`` ("jpg": quality 90, 4:2:0; "png": Pillow's default level; "webp": quality 90) under ``cache_dir``."""
    key = hashlib.sha1(b"".join(v.tobytes()[:: 1 << 16] for v in variants)).hexdigest()[:12]  # sampled: cheap, changes with the photos
    folder = os.path.join(cache_dir, key)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for variant in variants:
        path = os.path.join(folder, f"{variant.width}x{variant.height}.{fmt}")
        if not os.path.exists(path):
            partial = path + ".part"
            variant.save(partial, format={"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt], **({} if fmt == "png" else {"quality": 90}))
            os.replace(partial, path)
        paths.append(path)
    return paths


def scenario_inputs(kind: str, variants: list[Any], count: int, cache_dir: str) -> list[Any]:
    """``count`` inputs of one kind, cycling through the photo sizes."""
    if kind == "pil":
        return cycle(variants, count)
    if kind == "numpy":
        return cycle([np.asarray(v) for v in variants], count)
    if kind == "torch":
        import torch

        return cycle([torch.from_numpy(np.array(v)).permute(2, 0, 1).contiguous() for v in variants], count)
    formats = FILE_KINDS[kind]
    by_format = [photo_files(variants, cache_dir, fmt) for fmt in formats]
    # Every format at every size, format and size both changing from one path to the next (one format: the sizes in order).
    paths = [by_format[i % len(formats)][(i // len(formats) + i % len(formats)) % len(variants)] for i in range(len(formats) * len(variants))]
    return cycle(paths, count)


# --------------------------------------------------------------------------------------- contenders


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if isinstance(value, list):
        return np.stack([_to_numpy(v) for v in value])
    return np.asarray(value)


def document_page(width: int, height: int) -> Any:
    """A synthetic scanned page: black text lines on an off-white background (deterministic)."""
    from PIL import Image, ImageDraw

    page = Image.new("RGB", (width, height), (246, 244, 238))
    draw = ImageDraw.Draw(page)
    line = "The quick brown fox jumps over the lazy dog. 0123456789 " * 4
    for top in range(height // 20, height - height // 20, max(12, height // 60)):
        draw.text((width // 12, top), line[: (top * 7) % len(line) + 40], fill=(20, 20, 24))
    return page


def _pixel_values(processor: Any, **call_kwargs: Any) -> Callable[[list[Any]], Any]:
    """A contender's run: ``pixel_values``, or every output by name where there are others (DETR's ``pixel_mask``,
    Qwen's ``image_grid_thw``, Idefics3's ``pixel_attention_mask``, LLaVA-NeXT's ``image_sizes``, GOT-OCR2's
    ``num_patches``...), all compared. Nothing is copied here: the timed region is the processor's call.
    """

    def run(inputs: list[Any]) -> Any:
        batch = processor(inputs, return_tensors="np", **call_kwargs)
        values = _to_numpy(batch["pixel_values"])
        extras = {key: _to_numpy(batch[key]) for key in batch if key != "pixel_values"}
        return {"pixel_values": values, **extras} if extras else values

    return run


def _open_clip_contender(processor: Any) -> Contender | None:
    """open_clip's CLIP eval transform built from the same settings, or None when open_clip is not installed."""
    try:
        import torch
        from open_clip.transform import image_transform
    except ImportError:
        return None
    from PIL import Image

    crop = processor.crop_size or {"height": 224, "width": 224}
    transform = image_transform(
        (crop["height"], crop["width"]),
        is_train=False,
        mean=processor.image_mean,
        std=processor.image_std,
        interpolation=_RESAMPLE_NAMES.get(processor.resample, "bicubic"),
    )

    def run(inputs: list[Any]) -> np.ndarray:
        # open_clip takes PIL images: its users open files themselves, one at a time
        return torch.stack([transform(Image.open(x).convert("RGB") if isinstance(x, str) else x) for x in inputs]).numpy()

    return Contender("open_clip", "pil", run, kinds=("pil", *FILE_KINDS))


def build_contenders(
    model: str, approximations: bool = True, open_clip: bool = True, num_threads: int | None = None, call_kwargs: dict[str, Any] | None = None
) -> list[Contender]:
    """transformers' two classes, pixelprep on each backend, open_clip's transform for CLIP, and the approximations.

    ``call_kwargs`` go to every call of the exact contenders (e.g. InternVL's ``crop_to_patches``).
    """
    import transformers

    from . import AutoImageProcessor
    from .config import load_config
    from .processor import SERVICE_KEYS

    transformers.logging.set_verbosity_error()  # the deprecation notes it prints per call would drown the tables
    config = load_config(model).config
    settings = {k: v for k, v in config.items() if k not in SERVICE_KEYS}

    def ours(backend: str, approximate: tuple[str, ...] = ()) -> Any:
        return AutoImageProcessor.from_pretrained(model, backend=backend, num_threads=num_threads, approximations=approximate or None)

    contenders = []
    for backend, suffix in (("torchvision", ""), ("pil", "Pil")):
        processor = ours(backend)
        reference = getattr(transformers, processor.transformers_class + suffix)(**settings)
        contenders.append(Contender(f"transformers-{backend}", backend, _pixel_values(reference, **(call_kwargs or {}))))
        contenders.append(Contender(f"pixelprep-{backend}", backend, _pixel_values(processor, **(call_kwargs or {}))))
    if open_clip and processor.transformers_class.startswith("CLIP"):
        contender = _open_clip_contender(processor)
        if contender is not None:
            contenders.append(contender)
    if approximations:
        region = ("resize_crop_region",)
        contenders.append(Contender("pixelprep-pil +resize_crop_region", "pil", _pixel_values(ours("pil", region)), ("pil", "numpy", "torch", "png")))
        contenders.append(Contender("pixelprep-torchvision +jpeg_draft", "torchvision", _pixel_values(ours("torchvision", ("jpeg_draft",))), ("jpeg",)))
        contenders.append(Contender("pixelprep-pil +jpeg_draft", "pil", _pixel_values(ours("pil", ("jpeg_draft",))), ("jpeg",)))
        both = ("jpeg_draft", "resize_crop_region")
        contenders.append(Contender("pixelprep-pil +jpeg_draft +resize_crop_region", "pil", _pixel_values(ours("pil", both)), ("jpeg",)))
    return contenders


# ------------------------------------------------------------------------------------------ measure


def pipeline_contenders(model: str) -> list[Contender]:
    """transformers' ``pipeline("image-classification")`` over a tiny random ViT saved with ``model``'s image processor,
    once as transformers builds it and once built after :func:`pixelprep.patch_transformers` (drop-in mode).

    The model is small so that preprocessing, the part pixelprep replaces, is most of the pipeline's time; outputs
    compared are the class scores.
    """
    import tempfile

    import torch
    import transformers

    from . import transformers_compat

    folder = tempfile.mkdtemp(prefix="pixelprep-bench-pipeline-")
    processor = transformers.AutoImageProcessor.from_pretrained(model)
    height, width = processor(np.zeros((480, 640, 3), np.uint8), return_tensors="pt")["pixel_values"].shape[-2:]
    if height != width:
        raise SystemExit(f"pixelprep bench: the pipeline scenario needs a model config with a square output (crop), {model} gives {height}x{width}")
    torch.manual_seed(0)
    labels = {0: "a", 1: "b", 2: "c"}
    config = transformers.ViTConfig(
        image_size=int(height), patch_size=16 if height % 16 == 0 else int(height), hidden_size=32, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=37, num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()},
    )
    transformers.ViTForImageClassification(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    plain = transformers.pipeline("image-classification", model=folder)
    transformers_compat.patch_transformers()
    try:
        patched = transformers.pipeline("image-classification", model=folder)
    finally:
        transformers_compat.unpatch_transformers()

    def scores(pipe: Any) -> Callable[[list[Any]], np.ndarray]:
        def run(inputs: list[Any]) -> np.ndarray:
            results = pipe(inputs, top_k=len(labels))
            return np.asarray([[d["score"] for d in sorted(result, key=lambda d: d["label"])] for result in results], dtype=np.float64)

        return run

    # named by backend so the report takes the plain pipeline as the reference and the ratio base
    backend = getattr(processor, "backend", "torchvision")
    return [Contender(f"transformers-{backend}", backend, scores(plain), ("pil",)), Contender(f"pixelprep-{backend} (patched pipeline)", backend, scores(patched), ("pil",))]


def measure(contenders: list[Contender], inputs: list[Any], rounds: int, calls_per_round: int = 1, min_seconds: float = 0.0) -> None:
    """Time ``rounds`` rounds of every contender, alternating (order rotated each round); keep the first output.

    A round makes ``calls_per_round`` calls, and more until it has lasted ``min_seconds``: a round of one
    short call is mostly the machine's noise (a stall of a few tens of ms in a 0.2 s call). Its time is
    the mean per call.
    """
    for contender in contenders:
        contender.times, contender.output = [], None
        if not contender.warmed:  # lazy imports and first-call setup stay out of the timings
            contender.run(inputs[:3])
            contender.warmed = True
    for round_index in range(rounds):
        shift = round_index % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            gc.collect()
            calls, start = 0, time.perf_counter()
            while calls < calls_per_round or time.perf_counter() - start < min_seconds:
                output = contender.run(inputs)
                calls += 1
                if contender.output is None:
                    contender.output = output
                del output
            contender.times.append((time.perf_counter() - start) / calls)


def report(title: str, contenders: list[Contender], count: int, seconds: float | None = None) -> list[dict[str, Any]]:
    """Print a Markdown table: images/s, ratio to transformers' same backend, output differences; return its rows."""
    by_name = {c.name: c for c in contenders}
    rows = []
    took = f" ({seconds:.0f} s)" if seconds is not None else ""
    print(f"\n### {title}: {count} images per call, median of {len(contenders[0].times)} rounds{took}\n")
    print("| contender | img/s | vs transformers (same backend) | max abs diff | mean abs diff | spread |")
    print("|---|---:|---:|---:|---:|---:|")
    for c in contenders:
        median = statistics.median(c.times)
        rate = count / median
        base = by_name.get(f"transformers-{c.backend}")
        ratio = statistics.median(base.times) / median if base is not None and base is not c else None
        max_diff = mean_diff = None
        reference = by_name.get(c.reference) if c.reference else None
        if reference is not None:
            max_diff, mean_diff = _difference(c.output, reference.output)
        spread = (max(c.times) - min(c.times)) / median
        print(
            f"| {c.name} | {rate:.1f} | {f'{ratio:.2f}x' if ratio else '-'} | {_fmt(max_diff)} | {_fmt(mean_diff)} | {spread:.0%} |"
        )
        rows.append(
            {"scenario": title, "contender": c.name, "images_per_s": rate, "ratio": ratio, "max_diff": max_diff, "mean_diff": mean_diff, "spread": spread}
        )
    return rows


def _difference(ours: Any, theirs: Any) -> tuple[float, float]:
    """(max, mean) |ours - theirs| over arrays, or over every output of dicts of them; nan where shapes or keys differ."""
    if isinstance(ours, dict) or isinstance(theirs, dict):
        if not (isinstance(ours, dict) and isinstance(theirs, dict) and ours.keys() == theirs.keys()):
            return float("nan"), float("nan")
        pairs = [_difference(ours[key], theirs[key]) for key in ours]
        return max(pair[0] for pair in pairs), pairs[0][1]  # the mean of the first output (the pixel values)
    if ours.shape != theirs.shape:
        return float("nan"), float("nan")  # shapes differ: shown as nan, never hidden
    diff = np.abs(ours.astype(np.float64) - theirs)
    return float(diff.max()), float(diff.mean())


def _fmt(value: float | None) -> str:
    return "-" if value is None else "0" if value == 0 else f"{value:.2e}"


# ------------------------------------------------------------------------------------ subprocesses


def _subprocess_json(code: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"pixelprep bench: a measuring subprocess failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _proc_status_mb(field_name: str) -> float | None:
    """A memory figure of this process from /proc/self/status (Linux), in MB; None elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    Linux: VmHWM, which belongs to the address space, so the parent that spawned this interpreter never
    counts (``ru_maxrss`` keeps the parent's size across fork and exec). Elsewhere: ``ru_maxrss``.
    """
    peak = _proc_status_mb("VmHWM")
    if peak is not None:
        return peak
    import resource

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (1 << 20) if sys.platform == "darwin" else maxrss / 1024  # bytes on macOS, KiB elsewhere


def _restart_peak_rss() -> float:
    """Restart the peak measurement at the current RSS where the OS allows it (Linux); the baseline in MB."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")  # resets VmHWM to the current RSS
        return _proc_status_mb("VmRSS") or peak_rss_mb()
    except OSError:
        return peak_rss_mb()


def import_times(model: str, samples: int = 3) -> list[dict[str, Any]]:
    """``import`` time, then the time to load the config and process one 640x480 image, in fresh interpreters."""
    load = "AutoImageProcessor.from_pretrained({model!r}{backend})"
    cases = {  # library -> (import statement, {column: first call})
        "pixelprep": (
            "import pixelprep",
            {
                "pil_s": "pixelprep." + load.format(model=model, backend=", backend='pil'") + "(x)",
                "torchvision_s": "pixelprep." + load.format(model=model, backend=", backend='torchvision'") + "(x)",
            },
        ),
        "transformers": (
            "import transformers",
            {"torchvision_s": "transformers.logging.set_verbosity_error(); transformers." + load.format(model=model, backend="") + "(x, return_tensors='pt')"},
        ),
    }
    bytecode = " (this environment sets PYTHONDONTWRITEBYTECODE: modules are compiled on every import)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""
    print(f"\n### import and first call: fresh interpreter, median of {samples}{bytecode}\n")
    print("| library | import | then first call, pil backend | then first call, torchvision backend | peak RSS (VmHWM) |")
    print("|---|---:|---:|---:|---:|")
    rows = []
    for name, (statement, calls) in cases.items():
        code = "import time, json; t0 = time.perf_counter(); " + statement + "; times = {'import_s': time.perf_counter() - t0}; "
        code += "import numpy as np; x = np.zeros((480, 640, 3), np.uint8); "  # after the import is timed: numpy counts in it
        for column, call in calls.items():
            code += f"t0 = time.perf_counter(); {call}; times[{column!r}] = time.perf_counter() - t0; "
        code += "from pixelprep.benchmark import peak_rss_mb; times['peak_rss_mb'] = peak_rss_mb(); print(json.dumps(times))"
        runs = [_subprocess_json(code) for _ in range(samples)]
        row = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        cells = [f"{row[key]:.2f} s" if key in row else "-" for key in ("import_s", "pil_s", "torchvision_s")]
        print(f"| {name} | {' | '.join(cells)} | {row['peak_rss_mb']:.0f} MB |")
        rows.append({"scenario": "import", "contender": name, **row})
    return rows


def memory_probe(model: str, name: str, paths: list[str]) -> dict[str, float]:
    """Run in a fresh interpreter: how far peak RSS rises above the resident size while contender ``name`` processes ``paths``."""
    contender = {c.name: c for c in build_contenders(model)}[name]
    contender.run(paths[:3])  # imports and first-call setup count in the baseline, not in the batch
    gc.collect()
    before = _restart_peak_rss()
    contender.run(paths)
    peak = peak_rss_mb()
    return {"peak_growth_mb": peak - before, "peak_rss_mb": peak}


def peak_memory(model: str, paths: list[str], names: list[str]) -> list[dict[str, Any]]:
    """Peak memory of each contender on one batch of ``paths``, each in its own fresh interpreter."""
    print(f"\n### peak memory: batch of {len(paths)} JPEG paths (mixed sizes), one fresh interpreter per contender\n")
    print("Peak RSS during the call minus RSS before it (Linux VmHWM, reset through /proc/self/clear_refs), after imports and a 3-image warm-up.\n")
    print("| contender | peak RSS growth | peak RSS |")
    print("|---|---:|---:|")
    rows = []
    for name in names:
        code = f"import json; from pixelprep.benchmark import memory_probe; print(json.dumps(memory_probe({model!r}, {name!r}, {paths!r})))"
        row = _subprocess_json(code)
        print(f"| {name} | {row['peak_growth_mb']:.0f} MB | {row['peak_rss_mb']:.0f} MB |")
        rows.append({"scenario": "memory", "contender": name, **row})
    return rows


# ------------------------------------------------------------------------------------------- driver


def run_benchmark(args: argparse.Namespace) -> int:
    """Run the chosen scenarios, print their tables, and write JSON when ``--json`` is given."""
    scenarios = tuple(SCENARIOS) if args.scenario == ["all"] else DEFAULT_SCENARIOS if not args.scenario else tuple(args.scenario)
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        print(f"pixelprep bench: unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)} or all", file=sys.stderr)
        return 2
    import torch

    started = time.perf_counter()
    variants = photo_variants(args.images)
    print(f"# pixelprep bench: {args.model}")
    print(
        f"\n{os.cpu_count()} CPU(s), torch {torch.__version__} with {torch.get_num_threads()} intra-op threads; "
        f"photos {', '.join(f'{w}x{h}' for w, h in PHOTO_SIZES)} made from {args.images}; "
        "ratios and differences are against transformers' class of the same backend, in this run; "
        f"each round repeats calls for at least {args.min_round_seconds:g} s and reports the mean per call."
    )
    rows: list[dict[str, Any]] = []
    contenders = build_contenders(args.model, approximations=not args.no_approximations)
    kinds = {kind for scenario in scenarios for kind in _SCENARIO_KINDS.get(scenario, ())}
    for kind in INPUT_KINDS:
        if kind in kinds:
            start = time.perf_counter()
            inputs = scenario_inputs(kind, variants, args.batch_size, args.cache_dir)
            active = [c for c in contenders if kind in c.kinds]
            measure(active, inputs, args.rounds, min_seconds=args.min_round_seconds)
            rows += report(f"{KIND_TITLES[kind]}, batch {args.batch_size}", active, len(inputs), time.perf_counter() - start)
    exact = [c for c in contenders if c.name.startswith("transformers-") or c.name in ("pixelprep-torchvision", "pixelprep-pil")]
    if "batch" in scenarios:
        for size in BATCH_SIZES:
            # Small batches repeat so that every round processes at least 8 images; batch 128 gets fewer rounds.
            start = time.perf_counter()
            rounds = max(1, round(args.rounds * 32 / max(size, 32)))
            measure(exact, cycle(variants, size), rounds, calls_per_round=max(1, 8 // size), min_seconds=args.min_round_seconds)
            rows += report(f"batch size {size}, decoded photos", exact, size, time.perf_counter() - start)
    if "detr" in scenarios:
        start = time.perf_counter()
        detr = build_contenders(args.detr_model, approximations=False, open_clip=False)
        measure(detr, cycle(variants, DETR_BATCH), args.rounds, min_seconds=args.min_round_seconds)
        title = f"{SCENARIOS['detr']}: {args.detr_model}, batch {DETR_BATCH} (differences cover pixel_values and pixel_mask)"
        rows += report(title, detr, DETR_BATCH, time.perf_counter() - start)
    if "pipeline" in scenarios:
        start = time.perf_counter()
        piped = pipeline_contenders(args.model)
        # the tiny model runs on one torch thread: on a busy machine several intra-op threads make its forward pass,
        # not the preprocessing this row is about, most of the time
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            measure(piped, cycle(variants, args.batch_size), args.rounds, min_seconds=args.min_round_seconds)
        finally:
            torch.set_num_threads(threads)
        title = f"{SCENARIOS['pipeline']}, {args.batch_size} decoded photos, model on 1 torch thread (differences cover the class scores)"
        rows += report(title, piped, args.batch_size, time.perf_counter() - start)
    for name, scenario in MODEL_SCENARIOS.items():
        if name not in scenarios:
            continue
        start = time.perf_counter()
        config = getattr(args, scenario.option[2:].replace("-", "_"))
        models = build_contenders(config, approximations=False, open_clip=False, call_kwargs=dict(scenario.call_kwargs))
        images = [*variants, document_page(*DOCUMENT_SIZE)]
        inputs = [[image] for image in images] if scenario.per_sample else images
        measure(models, inputs, args.rounds, min_seconds=args.min_round_seconds)
        compared = models[0].output.keys() if isinstance(models[0].output, dict) else ("pixel_values",)
        title = f"{SCENARIOS[name]}: {config} (differences cover {' and '.join(compared)})"
        rows += report(title, models, len(inputs), time.perf_counter() - start)
    if "threads" in scenarios:
        from . import AutoImageProcessor

        scaling = [
            Contender(
                f"pixelprep-{backend} threads={n}",
                backend,
                _pixel_values(AutoImageProcessor.from_pretrained(args.model, backend=backend, num_threads=n)),
            )
            for backend in ("torchvision", "pil")
            for n in args.threads
        ]
        start = time.perf_counter()
        measure(scaling, cycle(variants, args.batch_size), args.rounds, min_seconds=args.min_round_seconds)
        rows += report(f"thread scaling, decoded photos, batch {args.batch_size}", scaling, args.batch_size, time.perf_counter() - start)
    if "memory" in scenarios:
        paths = scenario_inputs("jpeg", variants, args.memory_batch, args.cache_dir)
        names = [c.name for c in exact] + (["open_clip"] if any(c.name == "open_clip" for c in contenders) else [])
        rows += peak_memory(args.model, paths, names)
    if "import" in scenarios:
        rows += import_times(args.model)
    print(f"\n(benchmark wall time {time.perf_counter() - started:.0f} s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=2)
    return 0


def _thread_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"thread counts must be positive integers separated by commas, got {text!r}")
    return counts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``pixelprep bench`` options."""
    cores = os.cpu_count() or 1
    parser.add_argument("--model", required=True, help="hub id, folder or preprocessor_config.json")
    parser.add_argument("--images", default=os.path.join("tests", "fixtures", "images"), help="folder of real photos to build the test set from")
    parser.add_argument(
        "--scenario", nargs="+", default=None, help=f"any of {', '.join(SCENARIOS)}, or all (default: all but memory)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per contender and scenario (median reported; default 3)")
    parser.add_argument(
        "--min-round-seconds", type=float, default=1.0,
        help="each round repeats calls until it has lasted this long (default 1; 0: one call per round)",
    )
    parser.add_argument("--batch-size", type=int, default=32, help="images per call in the input scenarios (default 32)")
    parser.add_argument(
        "--threads", type=_thread_counts, default=sorted({1, 2, cores}), help=f"pixelprep thread counts to compare, comma-separated (default {','.join(map(str, sorted({1, 2, cores})))})"
    )
    parser.add_argument(
        "--detr-model", default=os.path.join("examples", "detr-resnet-50"), help="the detection config of the detr scenario (default: examples/detr-resnet-50)"
    )
    for name, scenario in MODEL_SCENARIOS.items():
        parser.add_argument(scenario.option, default=scenario.default, help=f"the config of the {name} scenario (default: {scenario.default})")
    parser.add_argument("--memory-batch", type=int, default=256, help="images in the memory scenario's batch (default 256)")
    parser.add_argument("--no-approximations", action="store_true", help="leave out the opt-in approximation contenders")
    parser.add_argument("--cache-dir", default=default_cache_dir(), help="where generated JPEG/PNG photos are kept")
    parser.add_argument("--json", default=None, help="also write every row as JSON to this file")
