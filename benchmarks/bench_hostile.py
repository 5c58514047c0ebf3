#!/usr/bin/env python3
"""Time and peak memory of parsing hostile input (issue 12): one huge line, many long lines,
many small logs.

    python benchmarks/bench_hostile.py [line|long|many|runs|all] [--out DIR] [--logs 10000] [--runs 1000]

* ``line``: a real log (tests/data/mindspore-2.10-cpu/basic.log) with one 10 MB line
  without a newline in its middle (a tensor printed whole).  Before RE2 and the line
  limit, a 300 KB line took 35-73 s.
* ``long``: a 50 MB file of long lines: lines of 50 KB to 2 MB (about a third over the
  1 MB limit), each followed by a LossMonitor record.
* ``many``: a folder of ``--logs`` small logs (three lines each) read as the ranks of one
  run by ``parse_log(folder)`` -- the issue's "10,000 tiny logs: 57 s and 946 MB".
* ``runs``: a runs root of ``--runs`` run folders holding one such log each, read by
  ``RunStore(root).refresh()`` into a fresh store (each log is a run: parsed, summarised and
  written to Parquet on its own).

Each case runs in a fresh interpreter, so its peak resident memory is its own; the
files are written once under --out (default /tmp/epochscope-bench-hostile).  One JSON
object per case is printed: wall seconds, CPU seconds (the machine is shared: CPU time is
the steadier figure), peak MB, input MB, records found.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASIC = REPO / "tests" / "data" / "mindspore-2.10-cpu" / "basic.log"
RECORD = b"epoch: 3 step: 17, loss is 0.4321\n"

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
import parsers
start, cpu = time.perf_counter(), time.process_time()
log = parsers.parse_log(sys.argv[1])
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": round(seconds, 2), "cpu_s": round(cpu, 2), "peak_mb": round(peak),
                  "steps": len(log.steps), "lines_skipped": log.meta.get("lines_skipped")}))
"""

STORE_CHILD = r"""
import json, resource, shutil, sys, time
sys.path.insert(0, sys.argv[2])
from parsers.store import RunStore
shutil.rmtree(sys.argv[1] + "/.epochscope", ignore_errors=True)
start, cpu = time.perf_counter(), time.process_time()
result = RunStore(sys.argv[1]).refresh()
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": round(seconds, 2), "cpu_s": round(cpu, 2), "peak_mb": round(peak),
                  "runs": len(result), "new": int((result["status"] == "new").sum())}))
"""


def _one_line(out: Path) -> Path:
    path = out / "one_10mb_line.log"
    if not path.exists():
        text = BASIC.read_bytes()
        cut = text.index(b"epoch: 2")
        line = b"epoch: 1 step: 2, " + b"0.125 " * (10_000_000 // 6) + b"\n"
        path.write_bytes(text[:cut] + line + text[cut:])
    return path


def _long_lines(out: Path) -> Path:
    path = out / "long_lines_50mb.log"
    if not path.exists():
        rng = random.Random(12)
        with path.open("wb") as handle:
            written = 0
            while written < 50_000_000:
                line = b"[INFO] tensor: " + b"0.5, " * (rng.randint(50_000, 2_000_000) // 5) + b"\n"
                handle.write(line + RECORD)
                written += len(line) + len(RECORD)
    return path


def _many(out: Path, n: int) -> Path:
    folder = out / f"many_{n}"
    if not folder.exists():
        folder.mkdir(parents=True)
        text = RECORD + b"epoch: 3 step: 18, loss is 0.4\nepoch time: 12.0 ms, per step time: 6.0 ms\n"
        for rank in range(n):
            (folder / f"rank_{rank}.log").write_bytes(text)
    return folder


def _runs(out: Path, n: int) -> Path:
    root = out / f"runs_{n}"
    if not root.exists():
        text = RECORD + b"epoch: 3 step: 18, loss is 0.4\nepoch time: 12.0 ms, per step time: 6.0 ms\n"
        for run in range(n):
            (root / f"run{run}").mkdir(parents=True)
            (root / f"run{run}" / "train.log").write_bytes(text)
    return root


def _run(case: str, path: Path) -> dict:
    files = [p for p in path.rglob("*") if ".epochscope" not in p.parts] if path.is_dir() else [path]
    size = sum(p.stat().st_size for p in files if p.is_file())
    start = time.perf_counter()
    child = STORE_CHILD if case == "runs" else CHILD
    done = subprocess.run(
        [sys.executable, "-c", child, str(path), str(REPO)], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode:
        return {"case": case, "error": done.stderr.strip().splitlines()[-1:]}
    figures = json.loads(done.stdout)
    return {"case": case, "input_mb": round(size / 1e6, 1), "wall_s": round(wall, 2), **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", nargs="?", default="all", choices=["line", "long", "many", "runs", "all"])
    parser.add_argument("--out", type=Path, default=Path("/tmp/epochscope-bench-hostile"))
    parser.add_argument("--logs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1_000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cases = {
        "line": lambda: _one_line(args.out),
        "long": lambda: _long_lines(args.out),
        "many": lambda: _many(args.out, args.logs),
        "runs": lambda: _runs(args.out, args.runs),
    }
    for name, make in cases.items():
        if args.case in (name, "all"):
            print(json.dumps(_run(name, make())), flush=True)


if __name__ == "__main__":
    main()
