"""Helpers of the CLI, report and compare tests: real logs, variants of them, and running parse-log.

Logs come from ``tests/data/mindspore-2.10-cpu`` (real MindSpore 2.10 CPU runs) and the
project's reference-log generator (``benchmarks/make_reference_log.py``: the ResNet-50
job's shape, LossMonitor, throughput and TimeMonitor lines, an eval result), written small.  Variants are
that text with one kind of line edited, so every expected figure is read back
from the text the test wrote, never typed in.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import DATA, reference_generator

REPO = Path(__file__).resolve().parent.parent
CORPUS = DATA / "mindspore-2.10-cpu"

LOSS = re.compile(r"loss is (\S+)$", re.MULTILINE)
EPOCH_MS = re.compile(r"^epoch time: ([\d.]+) ms", re.MULTILINE)
THROUGHPUT = re.compile(r"samples per second of cluster: ([\d.]+)", re.MULTILINE)
TOTAL_EPOCHS = re.compile(r"total epoch: (\d+)")
EVAL_DICT = re.compile(r"result: (\{.*\})")


def corpus_log(name: str) -> Path:
    """A real MindSpore 2.10 CPU log of tests/data (basic, fit, nan, sink)."""
    path = CORPUS / name
    assert path.is_file(), f"{path} is part of the repository"
    return path


def reference_log(path: Path, *, epochs: int = 4, steps: int = 60, batch: int = 32) -> Path:
    """A small log of the benchmark's shape, by the benchmark's own generator."""
    return reference_generator().write_log(path, epochs, steps, batch)


def edited(
    src: Path, dst: Path, pattern: str, change: Callable[[re.Match[str]], str], *, count: int = 0
) -> Path:
    """``src`` with every (or the first ``count``) match of ``pattern`` replaced by ``change(match)``."""
    text = src.read_text(encoding="utf-8")
    dst.write_text(re.sub(pattern, change, text, count=count, flags=re.MULTILINE), encoding="utf-8")
    return dst


def numbers(pattern: re.Pattern[str], path: Path) -> list[float]:
    return [float(v) for v in pattern.findall(path.read_text(encoding="utf-8"))]


def timed_epochs(times_ms: list[int], *, first: int = 1) -> str:
    """A LossMonitor/TimeMonitor log of one step line and one ``Train epoch time`` line an
    epoch, epochs numbered from ``first``, taking ``times_ms`` each."""
    return "".join(
        f"epoch: {e} step: 1, loss is {1.0 / e}\nTrain epoch time: {t:.3f} ms, per step time: {t:.3f} ms\n"
        for e, t in enumerate(times_ms, start=first)
    )


def mean_without_first(values: list[float]) -> float:
    return statistics.fmean(values[1:] if len(values) > 1 else values)


def call_cli(capsys, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess:
    """``parsers.cli.main(ARGS)`` in this process (fast), shaped like ``run_cli``'s result."""
    from parsers.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def run_cli(*args: str | os.PathLike[str], env: dict[str, str] | None = None, cwd: Path | None = None):
    """``python -m parsers.cli ARGS`` as a real process: exit code, stdout, stderr as a user sees them."""
    return subprocess.run(
        [sys.executable, "-m", "parsers.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        timeout=300,
    )
