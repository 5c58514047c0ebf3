#!/usr/bin/env python3
"""Time the embedded default (ResNet-18 on scikit-learn's digits) and check its targets.

Runs ``python -m training --config training/configs/digits.yaml`` as a user would, in a
fresh process and a fresh runs folder (so writing the digits tree and MindSpore's start-up
count), then prints validation accuracy and wall time against the README's promise:
at least 95% accuracy in under 3 minutes on a 2-core CPU. Exits 1 if a target is missed.

    python benchmarks/bench_digits.py [--runs-dir DIR] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "training" / "configs" / "digits.yaml"
MIN_ACCURACY = 0.95
MAX_SECONDS = 180.0


def run_default(runs_dir: Path, overrides: list[str]) -> tuple[float, dict]:
    """Train the digits config once; return (wall seconds, metrics.json)."""
    sets = [arg for item in overrides for arg in ("--set", item)]
    argv = [
        sys.executable,
        "-m",
        "training",
        "--config",
        str(CONFIG),
        *sets,
        "--runs-dir",
        str(runs_dir),
        "--name",
        "bench-digits",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    started = time.perf_counter()
    subprocess.run(argv, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    metrics = json.loads((runs_dir / "bench-digits" / "metrics.json").read_text(encoding="utf-8"))
    return seconds, metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs-dir",
        type=Path,
        help="keep the run here (default: a temporary folder, removed after)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (repeatable)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-digits-") as tmp:
        seconds, metrics = run_default(args.runs_dir or Path(tmp), args.overrides)
    accuracy = metrics["acc"]
    ok = accuracy >= MIN_ACCURACY and seconds < MAX_SECONDS
    print(
        f"digits default on {os.cpu_count()} CPU cores: val accuracy {accuracy:.4f} "
        f"(target >= {MIN_ACCURACY}), wall time {seconds:.1f} s (target < {MAX_SECONDS:.0f} s)"
        f": {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
