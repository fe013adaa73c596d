"""Profile one ``pixelprep bench`` contender on one input scenario with cProfile: where does its time go?

    python bench/profile_contender.py --model examples/clip-vit-base-patch32 --contender pixelprep-torchvision --scenario pil

pixelprep contenders run single-threaded here (``--threads 1`` by default) so that the profile shows
work rather than waiting on the thread pool. For native frames (inside torch or Pillow), run the
same command under ``py-spy record --native``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

from pixelprep import benchmark


def main() -> None:
    """Parse the options, run the contender a few times under cProfile, print the heaviest functions."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--contender", default="pixelprep-torchvision", help="a contender name as `pixelprep bench` prints it")
    parser.add_argument("--scenario", default="pil", choices=benchmark.INPUT_KINDS)
    parser.add_argument("--images", default="tests/fixtures/images")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="pixelprep's num_threads")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()

    contenders = {c.name: c for c in benchmark.build_contenders(args.model, num_threads=args.threads)}
    if args.contender not in contenders:
        parser.error(f"--contender must be one of {sorted(contenders)}")
    contender = contenders[args.contender]
    variants = benchmark.photo_variants(args.images)
    inputs = benchmark.scenario_inputs(args.scenario, variants, args.batch_size, benchmark.default_cache_dir())
    contender.run(inputs[:3])  # imports and first-call setup stay out of the profile
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.calls):
        contender.run(inputs)
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
