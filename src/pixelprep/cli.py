"""The ``pixelprep`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def _expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Files as given; folders walked recursively for image files, in sorted order."""
    paths: list[str] = []
    for item in inputs:
        if os.path.isdir(item):
            for root, dirs, files in os.walk(item):
                dirs.sort()
                paths.extend(os.path.join(root, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS))
        else:
            paths.append(item)
    return paths


def _run(args: argparse.Namespace) -> int:
    from safetensors.numpy import save_file

    from . import AutoImageProcessor
    from .errors import PixelprepError

    processor = AutoImageProcessor.from_pretrained(args.model, backend=args.backend)
    paths = _expand_inputs(args.inputs)
    if not paths:
        print("pixelprep run: no images found in the inputs", file=sys.stderr)
        return 2
    start = time.perf_counter()
    good, failed = [], []
    for path in paths:
        try:
            processor(path, return_tensors="np")  # validate each input on its own so one bad file cannot sink the batch
            good.append(path)
        except PixelprepError as exc:
            failed.append((path, str(exc)))
            print(f"pixelprep run: skipped {exc}", file=sys.stderr)
    if not good:
        return 1
    batch = processor(good, return_tensors="np")
    elapsed = time.perf_counter() - start
    os.makedirs(args.out, exist_ok=True)
    tensors = {k: v for k, v in batch.items() if hasattr(v, "shape")}
    save_file(tensors, os.path.join(args.out, "batch.safetensors"))
    summary = {
        "model": args.model,
        "backend": processor.backend_name,
        "images": len(good),
        "failed": [{"source": p, "error": e} for p, e in failed],
        "seconds": round(elapsed, 3),
        "tensors": {
            k: {"shape": list(v.shape), "dtype": str(v.dtype), "min": float(v.min()), "max": float(v.max())} for k, v in tensors.items()
        },
    }
    with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    for name, info in summary["tensors"].items():
        print(f"{name}: shape={tuple(info['shape'])} dtype={info['dtype']} range=[{info['min']:.4f}, {info['max']:.4f}]")
    print(f"{len(good)} image(s) in {elapsed:.2f}s with {processor.backend_name} -> {args.out}")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="pixelprep", description="Turn images into model-ready tensors.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="process images into safetensors")
    run.add_argument("inputs", nargs="+", help="image files and folders")
    run.add_argument("--model", required=True, help="hub id, folder or preprocessor_config.json")
    run.add_argument("--out", required=True, help="output folder")
    run.add_argument("--backend", default=None, help="pil, torchvision or a registered backend")
    run.set_defaults(handler=_run)

    from . import benchmark

    bench = commands.add_parser("bench", help="compare speed and output with transformers (and open_clip)")
    benchmark.add_arguments(bench)
    bench.set_defaults(handler=benchmark.run_benchmark)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pixelprep`` console script."""
    from .errors import PixelprepError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except PixelprepError as exc:
        print(f"pixelprep {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
