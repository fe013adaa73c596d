"""Per-call times of pixelprep with and without reuse of dropped outputs' memory, between calls of transformers.

    python bench/output_reuse.py [--scenario qwen2vl] [--rounds 5] [--calls 4]

Each round makes one call of transformers' torchvision class (as a benchmark round of another contender
would, freeing its memory after), then ``--calls`` calls of pixelprep's torchvision backend, each output
dropped before the next call. The same rounds run with output reuse on (the default) and off
(``PIXELPREP_OUTPUT_CACHE_MB=0``), alternating. It prints the median time of the first pixelprep call of a
round and of the calls after it, and checks each mode's output equals transformers'.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from pixelprep import benchmark, buffers


def main() -> None:
    """Parse the options, run the rounds, print the medians and whether the outputs are equal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="qwen2vl", choices=sorted(benchmark.MODEL_SCENARIOS))
    parser.add_argument("--images", default="tests/fixtures/images")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=4)
    args = parser.parse_args()
    scenario = benchmark.MODEL_SCENARIOS[args.scenario]
    images = [*benchmark.photo_variants(args.images), benchmark.document_page(*benchmark.DOCUMENT_SIZE)]
    inputs = [[image] for image in images] if scenario.per_sample else images
    contenders = benchmark.build_contenders(scenario.default, approximations=False, open_clip=False, call_kwargs=dict(scenario.call_kwargs))
    by_name = {c.name: c for c in contenders}
    theirs, ours = by_name["transformers-torchvision"], by_name["pixelprep-torchvision"]
    reference = theirs.run(inputs)
    times: dict[str, dict[str, list[float]]] = {mode: {"first": [], "later": []} for mode in ("reuse", "no reuse")}
    equal = {}
    for _ in range(args.rounds):
        for mode, limit in (("reuse", ""), ("no reuse", "0")):
            os.environ["PIXELPREP_OUTPUT_CACHE_MB"] = limit
            buffers.release_cached_memory()
            ours.run(inputs)  # a first call in this mode, so that reuse has a dropped output to take
            theirs.run(inputs)
            for call in range(args.calls):
                start = time.perf_counter()
                output = ours.run(inputs)
                times[mode]["first" if call == 0 else "later"].append(time.perf_counter() - start)
                equal[mode] = equal.get(mode, True) and benchmark._difference(output, reference)[0] == 0  # nan (shapes differ) is not 0
                del output
    os.environ.pop("PIXELPREP_OUTPUT_CACHE_MB", None)
    print(f"{args.scenario}: pixelprep-torchvision, {len(inputs)} images per call, {args.rounds} rounds of 1 transformers call + {args.calls} calls")
    for mode, series in times.items():
        print(
            f"  {mode:9s} first call after transformers' {statistics.median(series['first']):.3f} s, "
            f"later calls {statistics.median(series['later']):.3f} s (medians); output equal to transformers': {equal[mode]}"
        )


if __name__ == "__main__":
    main()
