"""The ``pixelprep`` command line: run, explain, inspect, bench."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from typing import Any


def _load(args: argparse.Namespace) -> Any:
    from . import AutoImageProcessor

    return AutoImageProcessor.from_pretrained(args.model, backend=args.backend)


def _run(args: argparse.Namespace) -> int:
    from .runner import run_job

    result = run_job(
        _load(args), args.inputs, args.out, args.shard_size, args.batch_size, args.column, args.overwrite, args.workers, args.engine
    )
    if result.skipped == result.total:
        print(f"pixelprep run: nothing to do, all {result.total} inputs are already in {args.out}", file=sys.stderr)
    else:
        print(
            f"pixelprep run: {result.processed} processed ({result.skipped} already done), {result.failed} failed, "
            f"{result.shards_written} shard(s) written to {args.out}",
            file=sys.stderr,
        )
    return 1 if result.failed else 0


def _explain(args: argparse.Namespace) -> int:
    from .explain import explain

    captions = explain(_load(args), args.image, args.out)
    print(" → ".join(captions))
    print(f"wrote {args.out}")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    processor = _load(args)
    print(f"family:   {type(processor).__name__} (transformers class {processor.transformers_class})")
    print(f"backend:  {processor.backend.describe()}")
    print(f"pipeline:\n{processor!r}")
    print(f"settings:\n{processor.to_json_string()}", end="")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="pixelprep", description="Turn images into model-ready tensors.")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_model(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--model", required=True, help="hub id, folder or preprocessor_config.json")
        sub.add_argument("--backend", default=None, help="pil, torchvision or a registered backend")
        return sub

    run = with_model(commands.add_parser("run", help="process images into sharded safetensors (resumable)"))
    run.add_argument("inputs", nargs="+", help="files, folders, globs, @list.txt, .parquet files, saved datasets")
    run.add_argument("--out", required=True, help="output folder (shards, manifest.jsonl, run.json; locked while a run uses it)")
    run.add_argument("--batch-size", type=_positive, default=32)
    run.add_argument("--shard-size", type=_positive, default=1000)
    run.add_argument(
        "--workers", type=_positive, default=None, help="local: threads decoding and processing each batch; ray: actors (default: one per core)"
    )
    run.add_argument("--engine", choices=("local", "ray"), default="local")
    run.add_argument("--column", default=None, help="image column of Parquet files or datasets (default: detected)")
    run.add_argument(
        "--overwrite", action="store_true", help="discard what --out holds (another job, or job files without run.json) and start over"
    )
    run.set_defaults(handler=_run)

    explain = with_model(commands.add_parser("explain", help="draw what the model will see, step by step"))
    explain.add_argument("image")
    explain.add_argument("--out", required=True, help="PNG file to write")
    explain.set_defaults(handler=_explain)

    inspect = with_model(commands.add_parser("inspect", help="print the resolved family, backend, pipeline and settings"))
    inspect.set_defaults(handler=_inspect)

    from . import benchmark

    bench = commands.add_parser("bench", help="compare speed and output with transformers (and open_clip)")
    benchmark.add_arguments(bench)
    bench.set_defaults(handler=benchmark.run_benchmark)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pixelprep`` console script.

    Exit 0: all good; 1: some inputs failed (the rest are written); 2: the command cannot run (bad
    arguments or inputs, an output folder that is in use, full or holds another job), with one line on
    stderr; 3: pixelprep itself failed (a bug: the traceback is printed); 130: interrupted.
    """
    from .errors import PixelprepError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (PixelprepError, OSError) as exc:  # OSError: the environment (files, disk), never an input of run
        print(f"pixelprep {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"pixelprep {args.command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print(f"pixelprep {args.command}: internal error (a bug in pixelprep; the traceback is above)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
