"""``pixelprep bench``: pixelprep against transformers (and open_clip for CLIP), side by side in one process.

Every contender processes the same images; rounds alternate between contenders and medians are
reported, since shared machines are noisy. Output equality is checked in the same run: each
pixelprep backend is compared with transformers' class of the same backend.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PHOTO_SIZES = ((640, 480), (1920, 1080), (4032, 3024))
SCENARIOS = ("pil", "numpy", "torch", "files", "batch", "threads", "memory", "import")
DEFAULT_SCENARIOS = ("pil", "numpy", "torch", "files", "batch", "threads", "import")


@dataclass
class Contender:
    """One way of turning the scenario's inputs into a batch of pixel values."""

    name: str
    run: Callable[[list[Any]], np.ndarray]
    reference: str | None = None  # name of the contender whose output this one must equal
    times: list[float] = field(default_factory=list)
    output: np.ndarray | None = None


def photo_set(source_dir: str, count: int) -> list[Any]:
    """``count`` real photos cycling through 640x480, 1920x1080 and 4032x3024, rescaled from ``source_dir``."""
    from PIL import Image

    names = sorted(f for f in os.listdir(source_dir) if f.lower().endswith((".jpg", ".jpeg", ".png")))
    if not names:
        raise SystemExit(f"pixelprep bench: no JPEG/PNG photos in {source_dir}")
    sources = [Image.open(os.path.join(source_dir, n)).convert("RGB") for n in names]
    variants = [sources[i % len(sources)].resize(size, Image.BICUBIC) for i, size in enumerate(PHOTO_SIZES)]
    return [variants[i % len(variants)] for i in range(count)]


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if isinstance(value, list):
        return np.stack([_to_numpy(v) for v in value])
    return np.asarray(value)


def build_contenders(model: str, with_open_clip: bool = True) -> list[Contender]:
    """pixelprep on each backend, transformers' two classes, and open_clip's transform for CLIP configs."""
    import transformers

    from . import AutoImageProcessor
    from .config import load_config

    config = load_config(model).config
    contenders = []
    for backend, suffix in (("torchvision", ""), ("pil", "Pil")):
        ours = AutoImageProcessor.from_pretrained(model, backend=backend)
        reference_class = getattr(transformers, ours.transformers_class + suffix)
        theirs = reference_class(**{k: v for k, v in config.items() if k not in ("image_processor_type", "feature_extractor_type")})
        contenders.append(Contender(f"transformers-{backend}", lambda xs, p=theirs: _to_numpy(p(xs, return_tensors="np")["pixel_values"])))
        contenders.append(
            Contender(f"pixelprep-{backend}", lambda xs, p=ours: _to_numpy(p(xs, return_tensors="np")["pixel_values"]), f"transformers-{backend}")
        )
    if with_open_clip and contenders[1].reference and "CLIP" in AutoImageProcessor.from_pretrained(model, backend="pil").transformers_class:
        try:
            import torch
            from open_clip.transform import image_transform
        except ImportError:
            return contenders
        crop = config.get("crop_size", 224)
        crop = crop["height"] if isinstance(crop, dict) else crop
        from PIL import Image

        transform = image_transform(crop, is_train=False)

        def as_pil(x: Any) -> Any:  # open_clip's transform takes PIL images; its users open files themselves
            return Image.open(x) if isinstance(x, str) else Image.fromarray(x) if isinstance(x, np.ndarray) else x

        contenders.append(Contender("open_clip", lambda xs: torch.stack([transform(as_pil(x)) for x in xs]).numpy(), "pixelprep-pil"))
    return contenders


def measure(contenders: list[Contender], inputs: list[Any], rounds: int) -> None:
    """Run every contender ``rounds`` times, alternating, keeping times and the first output."""
    for contender in contenders:  # warm-up, and the output used for the equality check
        contender.output = contender.run(inputs)
    for _ in range(rounds):
        for contender in contenders:
            start = time.perf_counter()
            contender.run(inputs)
            contender.times.append(time.perf_counter() - start)


def report(title: str, contenders: list[Contender], count: int) -> list[dict[str, Any]]:
    """Print images/s, the ratio to the same-backend transformers class, and output differences."""
    by_name = {c.name: c for c in contenders}
    rows = []
    print(f"\n## {title} ({count} images, median of {len(contenders[0].times)} rounds)")
    print(f"{'contender':<24}{'img/s':>9}{'vs transformers':>17}{'max |diff|':>13}{'mean |diff|':>13}  compared with")
    for c in contenders:
        rate = count / statistics.median(c.times)
        backend = c.name.split("-")[-1]
        base = by_name.get(f"transformers-{backend}")
        ratio = rate / (count / statistics.median(base.times)) if base is not None and base is not c else None
        max_diff = mean_diff = None
        if c.reference and by_name.get(c.reference) is not None:
            ref = by_name[c.reference].output
            if ref.shape == c.output.shape:
                diff = np.abs(c.output.astype(np.float64) - ref)
                max_diff, mean_diff = float(diff.max()), float(diff.mean())
        print(
            f"{c.name:<24}{rate:>9.1f}{(f'{ratio:.2f}x' if ratio else '-'):>17}"
            f"{(f'{max_diff:.2e}' if max_diff is not None else '-'):>13}{(f'{mean_diff:.2e}' if mean_diff is not None else '-'):>13}  {c.reference or ''}"
        )
        rows.append({"scenario": title, "contender": c.name, "images_per_s": rate, "ratio": ratio, "max_diff": max_diff, "mean_diff": mean_diff})
    return rows


def _scenario_inputs(kind: str, photos: list[Any], workdir: str) -> list[Any]:
    if kind == "numpy":
        return [np.asarray(p) for p in photos]
    if kind == "torch":
        import torch

        return [torch.from_numpy(np.array(p)).permute(2, 0, 1) for p in photos]
    if kind == "files":
        paths = []
        for i, photo in enumerate(photos[: len(PHOTO_SIZES) * 2]):
            path = os.path.join(workdir, f"photo{i}.{'jpg' if i % 2 == 0 else 'png'}")
            if not os.path.exists(path):
                photo.save(path, quality=90) if path.endswith(".jpg") else photo.save(path, compress_level=1)
            paths.append(path)
        return [paths[i % len(paths)] for i in range(len(photos))]
    return photos


def _subprocess_json(code: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def import_times(model: str) -> list[dict[str, Any]]:
    """Time ``import`` plus the first call, in fresh interpreters, for pixelprep and transformers."""
    rows = []
    probe = "import numpy as np; x = [np.zeros((480, 640, 3), np.uint8)]"
    cases = {
        "pixelprep": f"import pixelprep; p = pixelprep.AutoImageProcessor.from_pretrained({model!r}); ",
        "transformers": f"import transformers; p = transformers.AutoImageProcessor.from_pretrained({model!r}); ",
    }
    print("\n## import and first call (fresh interpreter, median of 3)")
    for name, load in cases.items():
        samples = []
        for _ in range(3):
            code = (
                "import time, json, resource; t0 = time.perf_counter(); "
                + load.replace("; p =", "; t1 = time.perf_counter(); p =", 1)
                + f"{probe}; p(x); t2 = time.perf_counter(); "
                "print(json.dumps({'import': t1 - t0, 'first_call': t2 - t1, 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
            )
            samples.append(_subprocess_json(code))
        row = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
        print(f"{name:<14} import {row['import']:.2f}s  load+first call {row['first_call']:.2f}s  peak RSS {row['rss_mb']:.0f} MB")
        rows.append({"scenario": "import", "contender": name, **row})
    return rows


def peak_memory(model: str, source_dir: str, count: int) -> list[dict[str, Any]]:
    """Peak RSS growth while processing ``count`` decoded photos, one fresh interpreter per contender."""
    rows = []
    print(f"\n## peak memory, batch of {count} decoded photos (ru_maxrss growth over the state after loading)")
    for name in ("pixelprep-torchvision", "pixelprep-pil", "transformers-torchvision", "transformers-pil"):
        code = (
            "import json, resource; from pixelprep.benchmark import photo_set, build_contenders; "
            f"photos = photo_set({source_dir!r}, {count}); "
            f"c = {{x.name: x for x in build_contenders({model!r}, with_open_clip=False)}}[{name!r}]; "
            "c.run(photos[:2]); before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; c.run(photos); "
            "print(json.dumps({'peak_growth_mb': (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024}))"
        )
        row = _subprocess_json(code)
        print(f"{name:<26} +{row['peak_growth_mb']:.0f} MB")
        rows.append({"scenario": "memory", "contender": name, **row})
    return rows


def run_benchmark(args: argparse.Namespace) -> int:
    """Run the chosen scenarios and print their tables (and write JSON when ``--json`` is given)."""
    scenarios = DEFAULT_SCENARIOS if args.scenario == ["all"] else tuple(args.scenario)
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        print(f"pixelprep bench: unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    photos = photo_set(args.images, max(args.batch_size, 8))
    contenders = build_contenders(args.model)
    with tempfile.TemporaryDirectory() as workdir:
        for kind in ("pil", "numpy", "torch", "files"):
            if kind in scenarios:
                for c in contenders:
                    c.times = []
                inputs = _scenario_inputs(kind, photos[: args.batch_size], workdir)
                active = [c for c in contenders if kind != "torch" or c.name != "open_clip"]
                measure(active, inputs, args.rounds)
                rows += report(f"{kind} inputs, batch {args.batch_size}", active, len(inputs))
    if "batch" in scenarios:
        for size in (1, 8, 32, 128):
            batch = photo_set(args.images, size)
            pair = [Contender(c.name, c.run, c.reference) for c in contenders if c.name.endswith("torchvision")]
            measure(pair, batch, max(1, args.rounds // 2) if size >= 128 else args.rounds)
            rows += report(f"batch size {size}, decoded photos", pair, size)
    if "threads" in scenarios:
        from . import AutoImageProcessor

        print(f"\n## thread scaling, pixelprep-torchvision, batch {args.batch_size}")
        for threads in sorted({1, 2, os.cpu_count() or 1}):
            proc = AutoImageProcessor.from_pretrained(args.model, backend="torchvision", num_threads=threads)
            one = Contender(f"threads={threads}", lambda xs, p=proc: p(xs, return_tensors="np")["pixel_values"])
            measure([one], photos[: args.batch_size], args.rounds)
            rate = args.batch_size / statistics.median(one.times)
            print(f"threads={threads:<3} {rate:8.1f} img/s")
            rows.append({"scenario": "threads", "contender": f"threads={threads}", "images_per_s": rate})
    if "memory" in scenarios:
        rows += peak_memory(args.model, args.images, 256)
    if "import" in scenarios:
        rows += import_times(args.model)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=2)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``pixelprep bench`` options."""
    parser.add_argument("--model", default="examples/clip-vit-base-patch32", help="hub id, folder or preprocessor_config.json")
    parser.add_argument("--images", default="examples/images", help="folder of real photos to rescale into the test set")
    parser.add_argument("--scenario", nargs="+", default=["all"], help=f"any of {', '.join(SCENARIOS)} (default: all but memory)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per contender (median reported)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", default=None, help="also write the results as JSON here")
