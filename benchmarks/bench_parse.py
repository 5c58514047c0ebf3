#!/usr/bin/env python3
"""Speed and memory of ``parsers.parse_log`` on the reference log, against the baseline.

The reference log is the origin story's job (90 epochs x 18810 steps, 83 MB, 1.7 M
lines) written by ``benchmarks/make_reference_log.py``; the baseline is the
hand-written loop epochscope replaces (``baseline.py`` here: the seed project's loop,
``seed_baseline.py``, restated so a clone needs nothing beside it), which
extracts two numbers a line.  Both run in this one process, alternately, and the best of ``--rounds`` is
kept for each, so a busy neighbour on the machine hurts both alike.  Peak memory is
that of a whole ``parse-log ref.log --to parquet -o DIR`` process.

    python benchmarks/bench_parse.py [--rounds 5]

Prints one JSON object; exits 1 when a target (6x, 400 MB) is missed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = REPO / "benchmarks" / "out"
TARGET_RATIO = 6.0
TARGET_PEAK_MB = 400.0


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_log() -> Path:
    """The reference log, written once into benchmarks/out (same bytes every time)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "reference.log"
    maker = _load(HERE / "make_reference_log.py", "make_reference_log")
    if not path.exists() or path.stat().st_size < 80_000_000:
        maker.write_log(path)
    return path


def best_times(path: Path, baseline, rounds: int) -> tuple[float, float, dict]:
    import parsers

    parsers.parse_log("epoch: 1 step: 1, loss is 0.5\n")  # imports and first-call set-up
    ours, theirs = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        log = parsers.parse_log(path)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        baseline.parse(str(path))
        theirs.append(time.perf_counter() - start)
    counts = {name: len(table) for name, table in log.tables().items()}
    counts["lines_read"] = log.meta["lines_read"]
    return min(ours), min(theirs), counts


def cli_peak_mb(path: Path) -> float:
    """Peak resident memory of a whole parse-log --to parquet process, in MB."""
    with tempfile.TemporaryDirectory() as out:
        code = (
            "import resource, sys; from parsers.cli import main; rc = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(path), "--to", "parquet", "-o", out],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(done.stderr.strip().splitlines()[-1]) / 1024.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    path = reference_log()
    # First, while this process is small: Linux carries a forked child's peak RSS
    # over from the parent, so measuring after the timing rounds would count ours.
    peak = cli_peak_mb(path)
    baseline = _load(HERE / "baseline.py", "baseline")
    ours, theirs, counts = best_times(path, baseline, args.rounds)
    result = {
        "log_mb": round(path.stat().st_size / 1e6, 1),
        "parse_log_s": round(ours, 3),
        "baseline_s": round(theirs, 3),
        "speedup": round(theirs / ours, 2),
        "lines_per_s": round(counts["lines_read"] / ours),
        "cli_to_parquet_peak_mb": round(peak, 1),
        "tables": counts,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    return 0 if result["speedup"] >= TARGET_RATIO and peak < TARGET_PEAK_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
