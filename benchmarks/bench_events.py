#!/usr/bin/env python3
"""Speed of reading a TensorBoard event file of 1,000,000 scalars, all of them (none sampled).

    python benchmarks/bench_events.py [--out DIR] [--rounds 5] [--compare PYTHON]

The file is written once by tensorboardX (10 tags x 100,000 steps, the way a training
loop records loss, lr, eval metrics...) under --out (default /tmp/epochscope-bench).
Timed, best of --rounds in this process: ``read_event_file`` (framing, CRC32C of every
record, decoding: the long scalars table) and ``parse_events`` (that plus the steps and
evals tables).  Target: under 2 s.

Wall and CPU time are both printed, with the load average: on a shared machine the CPU
time says what reading costs, the wall time what a user waits.

``--compare PYTHON`` times the same file with tbparse's ``SummaryReader`` and with
TensorBoard's own ``EventAccumulator`` (told to keep every scalar: by default it keeps
1,000 per tag), in that interpreter -- a throwaway venv where ``pip install tbparse
tensorboard`` worked; epochscope does not depend on either -- and prints the ratios.
One JSON object is printed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TAGS = ("train/loss", "train/lr", "train/loss_scale", "grad_norm", "throughput", "eval/acc", "eval/loss",
        "memory", "step_time", "tokens")  # fmt: skip
STEPS = 100_000
TARGET_S = 2.0

OTHERS = r"""
import sys, time, json, warnings
warnings.simplefilter("ignore")
path, rounds = sys.argv[1], int(sys.argv[2])
out = {}
def best(name, fn):
    times, cpu = [], []
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        n = fn()
        times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    out[name + "_s"], out[name + "_cpu_s"], out[name + "_scalars"] = min(times), min(cpu), n
try:
    from tbparse import SummaryReader
    best("tbparse", lambda: len(SummaryReader(path).scalars))
except Exception as exc:
    out["tbparse_error"] = repr(exc)
try:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    def load():
        acc = EventAccumulator(path, size_guidance={"scalars": 0})
        acc.Reload()
        return sum(len(acc.Scalars(t)) for t in acc.Tags()["scalars"])
    best("tensorboard", load)
except Exception as exc:
    out["tensorboard_error"] = repr(exc)
print(json.dumps(out))
"""


def event_file(out: Path) -> Path:
    """The 1M-scalar file, written once by tensorboardX (about two minutes)."""
    folder = out / "events-1m"
    done = folder / "complete"
    if not done.exists():
        import warnings

        warnings.simplefilter("ignore")
        from tensorboardX import SummaryWriter

        for old in folder.glob("events.out.tfevents.*"):
            old.unlink()
        writer = SummaryWriter(str(folder), flush_secs=3600, max_queue=100_000)
        for step in range(STEPS):
            for i, tag in enumerate(TAGS):
                writer.add_scalar(tag, math.sin(step * 1e-3 + i), step, walltime=1.7e9 + step * 0.1)
        writer.close()
        done.write_text("ok\n")
    (path,) = folder.glob("events.out.tfevents.*")
    return path


def best_of(rounds: int, fn) -> tuple[float, int, float]:
    """(best wall time, what ``fn`` returned, best CPU time of this process): on a machine other
    jobs load, the CPU time says what the reading costs, the wall time what a user waits."""
    times, cpu, n = [], [], 0
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        n = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(times), n, min(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/epochscope-bench"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compare", metavar="PYTHON", help="interpreter with tbparse and tensorboard")
    args = parser.parse_args()
    path = event_file(args.out)
    from parsers.events import parse_events, read_event_file
    from parsers.events.records import COMPILED

    read_s, scalars, read_cpu = best_of(args.rounds, lambda: len(read_event_file(path).scalars))
    parse_s, _, parse_cpu = best_of(args.rounds, lambda: len(parse_events(path).scalars))
    result = {
        "file": str(path),
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "scalars": scalars,
        "read_event_file_s": round(read_s, 3),
        "parse_events_s": round(parse_s, 3),
        "read_event_file_cpu_s": round(read_cpu, 3),
        "parse_events_cpu_s": round(parse_cpu, 3),
        "load_average": round(os.getloadavg()[0], 1),
        "compiled": COMPILED,  # False: the numpy twin (an install without a compiler)
        "scalars_per_s": round(scalars / read_s),
        "target_s": TARGET_S,
        "met": parse_s < TARGET_S,
    }
    if args.compare:
        ran = subprocess.run(
            [args.compare, "-c", OTHERS, str(path), str(max(1, min(args.rounds, 3)))],
            capture_output=True,
            text=True,
            check=True,
        )
        others = json.loads(ran.stdout.strip().splitlines()[-1])
        result.update(others)
        for name in ("tbparse", "tensorboard"):  # how many times slower than parse_events
            if f"{name}_s" in others:
                result[f"{name}_ratio"] = round(others[f"{name}_s"] / parse_s, 1)
                result[f"{name}_cpu_ratio"] = round(others[f"{name}_cpu_s"] / parse_cpu, 1)
        result["load_average_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
