#!/usr/bin/env python3
"""Write epochscope's reference log: the ResNet-50 / Ascend 910 job of the origin story.

The speed and memory targets are stated on this shape -- 90 epochs of 18,810 steps,
MindSpore's ``LossMonitor`` line every step, the model zoo's per-epoch throughput line and
``TimeMonitor``'s epoch line, a framework warning every 5,000 steps, an eval result at the
end: about 1.7 million lines and 90 MB with the defaults.  The project keeps its own
generator (tests make small logs with it; a user's clone has nothing beside the repo), and
the bytes depend only on the arguments, so two machines benchmark the same file.

    python benchmarks/make_reference_log.py OUT.log [--epochs 90] [--steps 18810] [--batch 32]
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Iterator
from pathlib import Path

__all__ = ["reference_lines", "write_log"]

SEED = 90_18810
WARNING_EVERY = 5000
FIRST_EPOCH_EXTRA_MS = 70_000.0  # graph compilation makes epoch 1 slower, as on real jobs


def reference_lines(epochs: int, steps: int, batch: int) -> Iterator[str]:
    """The log's lines, newline included; the same arguments always give the same text."""
    rng = random.Random(SEED)
    total = epochs * steps
    yield f"Start run training, total epoch: {epochs}.\n"
    for epoch in range(1, epochs + 1):
        for step in range(1, steps + 1):
            done = ((epoch - 1) * steps + step) / total
            # From ln(1000) (a 1000-class classifier's first loss) down towards 0.8, with noise.
            loss = max(1e-4, (0.8 + 6.1 * math.exp(-5.0 * done)) * (1.0 + rng.gauss(0.0, 0.03)))
            yield f"epoch: {epoch} step: {step}, loss is {loss}\n"
            if step % WARNING_EVERY == 0:
                yield (
                    "[WARNING] ME(2276:139885872941952,MainProcess):"
                    f"2024-05-06-19:{epoch % 60:02d}:42.939.000 [mindspore/train/callback/_checkpoint.py:55]"
                    " checkpoint file exists, it will be overwritten.\n"
                )
        epoch_ms = 445_000.0 + 10_000.0 * rng.random() + (FIRST_EPOCH_EXTRA_MS if epoch == 1 else 0.0)
        step_ms = epoch_ms / steps
        yield (
            f"epoch {epoch} cost time = {epoch_ms / 1000.0}, train step num: {steps}, one step time: "
            f"{step_ms} ms, train samples per second of cluster: {batch * 1000.0 / step_ms:.1f}\n"
        )
        yield f"epoch time: {epoch_ms:.3f} ms, per step time: {step_ms:.3f} ms\n"
    yield "Upload checkpoint.\n"
    yield "result: {'top_1_accuracy': 0.7613, 'top_5_accuracy': 0.9286}\n"
    yield "ResNet50 training success\n"


def write_log(path: str | Path, epochs: int = 90, steps: int = 18810, batch: int = 32) -> Path:
    """Write the log to ``path`` (in 1 MB chunks, so memory stays flat) and return the path."""
    path = Path(path)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        chunk: list[str] = []
        size = 0
        for line in reference_lines(epochs, steps, batch):
            chunk.append(line)
            size += len(line)
            if size >= 1 << 20:
                out.write("".join(chunk))
                chunk, size = [], 0
        out.write("".join(chunk))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=int, default=90)
    parser.add_argument("--steps", type=int, default=18810)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    write_log(args.out, args.epochs, args.steps, args.batch)


if __name__ == "__main__":
    main()
