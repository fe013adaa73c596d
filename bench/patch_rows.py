"""Time the two ways pixelprep writes Qwen2-VL-style patch rows, in one process, with the outputs compared.

    python bench/patch_rows.py [--sizes 476x644 1512x2016 3024x4032] [--rounds 8]

"staged" is the path every 8-bit image in host memory takes (one contiguous 8-bit copy in the output's
order, cast and normalised once, then copied into every temporal frame); "strided" is the fallback (float views,
GPU tensors): ufuncs straight from the 3-byte pixels into one frame, then a copy per extra frame. Both
run single-threaded on the same random image, in 1 MB pieces as the packer splits them, alternating
rounds; CPU time (``time.process_time``), best of the rounds, so other load on the machine matters less.
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import numpy as np

from pixelprep import multiview
from pixelprep.backends.base import Affine
from pixelprep.models.constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD


def main() -> None:
    """Parse the options, time both paths per size and backend, print ratios and whether the outputs are equal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["476x644", "1512x2016", "3024x4032"], help="HEIGHTxWIDTH, multiples of 28")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from pixelprep.backends.pil import PilBackend
    from pixelprep.backends.torchvision import TorchvisionBackend

    layout = multiview.PatchLayout(14, 2, 2)
    rng = np.random.default_rng(0)
    for size in args.sizes:
        height, width = (int(v) for v in size.split("x"))
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        rows = (height // 14) * (width // 14)
        for backend, source, formula in ((TorchvisionBackend(), torch.from_numpy(image), "torch"), (PilBackend(), image, "numpy")):
            affine = Affine(1 / 255, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, 3, formula)
            tasks = multiview._patch_tasks(layout, [(height, width)], layout.vector_size(3) * 4)
            outputs, times = {}, {"staged": [], "strided": []}
            for round_index in range(args.rounds):
                for name in times:
                    out = np.empty((rows, layout.vector_size(3)), np.float32)
                    target = torch.from_numpy(out) if formula == "torch" else out
                    with mock.patch.object(multiview, "_write_staged", multiview._write_staged if name == "staged" else lambda *a: False):
                        start = time.process_time()
                        for _, block_rows in tasks:
                            multiview.write_patches(backend, source, target, layout, affine, block_rows)
                        times[name].append(time.process_time() - start)
                    outputs[name] = out
            best = {name: min(values) for name, values in times.items()}
            equal = np.array_equal(outputs["staged"], outputs["strided"])
            print(
                f"{size:>10} {backend.name:<11} staged {best['staged'] * 1000:7.1f} ms  strided {best['strided'] * 1000:7.1f} ms"
                f"  {best['strided'] / best['staged']:.2f}x  equal={equal}"
            )


if __name__ == "__main__":
    main()
