"""The hand-written log loop epochscope replaces: the speed baseline of ``bench_parse.py``.

What a user wrote for one ResNet-50 job (the seed project's ``seed_baseline.py``, restated
here so the benchmark needs nothing outside the repository): read every line, search each
for a loss and an epoch time, collect two lists.  It understands one layout only.
"""

from __future__ import annotations

import re

LOSS = re.compile(r"loss is (\d+\.\d+(?:e[-+]?\d+)?)")
EPOCH_TIME = re.compile(r"epoch time: (\d+\.\d+)")


def parse(path: str) -> tuple[list[float], list[float]]:
    """(losses, epoch times in ms) of a LossMonitor/TimeMonitor log."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.readlines()
    losses: list[float] = []
    times: list[float] = []
    for line in lines:
        loss = LOSS.search(line)
        spent = EPOCH_TIME.search(line)
        if loss:
            losses.append(float(loss.group(1)))
        if spent:
            times.append(float(spent.group(1)))
    return losses, times
