"""Per-rank health (``dashboard.ranks``) on a real 2-device job and on a generated 8-rank one.

The real job is ``tests/data/modelzoo/hardnet_grep_device_prefix.log``: the model zoo's
``grep`` over ``device0/log`` and ``device1/log`` of a distributed HarDNet run.  Split by that
prefix, it is the job's own per-device logs (``device0.log``, ``device1.log``, flat in one
run folder).  The generated job is eight mindformers logs written with the line of
``tests/data/mindformers/ttp_worker0_grep_epoch.log``: rank 5 steps 1.5 times slower, rank 3
stops after 7 of 19 steps.  Both go through the real store.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from dashboard.ranks import rank_flag, rank_story, rank_table
from parsers.store import RunStore
from tests.conftest import DATA

HARDNET = DATA / "modelzoo" / "hardnet_grep_device_prefix.log"
MINDFORMERS = DATA / "mindformers" / "ttp_worker0_grep_epoch.log"
SLOW, STOPPED, STEPS, STOP_AT = 5, 3, 19, 7


def device_lines() -> dict[int, list[str]]:
    """The hardnet grep block as each device's own lines (prefix removed)."""
    found: dict[int, list[str]] = {}
    for line in HARDNET.read_text(encoding="utf-8").splitlines(keepends=True):
        m = re.match(r"device(\d+)/log:", line)
        if m:
            found.setdefault(int(m.group(1)), []).append(line[m.end() :])
    return found


def hardnet_job(folder: Path, *, keep: dict[int, int] | None = None) -> dict[int, list[str]]:
    """``device0.log``, ``device1.log`` in ``folder``; ``keep`` cuts a device's log to its first lines."""
    lines = device_lines()
    folder.mkdir(parents=True)
    for device, own in lines.items():
        own = own[: (keep or {}).get(device, len(own))]
        lines[device] = own
        (folder / f"device{device}.log").write_text("".join(own), encoding="utf-8")
    return lines


def mindformers_line(step: int, ms: int, loss: float) -> str:
    """The step line of the real mindformers log, with its figures replaced."""
    first = MINDFORMERS.read_text(encoding="utf-8").splitlines()[0]
    line = re.sub(r"step:\[\s*1/\s*19\]", f"step:[{step:5d}/{STEPS:5d}]", first)
    line = re.sub(r"loss: [\d.]+", f"loss: {loss:.3f}", line)
    return re.sub(r"per_step_time: \d+ms", f"per_step_time: {ms}ms", line) + "\n"


def eight_ranks(folder: Path) -> Path:
    folder.mkdir(parents=True)
    now = time.time()
    for rank in range(8):
        last = STOP_AT if rank == STOPPED else STEPS
        ms = 2625 if rank == SLOW else 1750
        lines = [mindformers_line(step, ms + step, 10.0 - step * 0.1) for step in range(1, last + 1)]
        path = folder / f"rank_{rank}.log"
        path.write_text("".join(lines), encoding="utf-8")
        stopped = now - 600 if rank == STOPPED else now
        os.utime(path, (stopped, stopped))
    return folder


def health(root: Path, run: str):
    store = RunStore(root)
    store.refresh()
    steps, epochs = store.table("steps", [run]), store.table("epochs", [run])
    meta = store.meta(run)
    table = rank_table(steps, epochs, meta["logs"], meta.get("files") or [])
    return table, rank_story(table, steps, epochs)


@pytest.fixture(scope="module")
def eight(tmp_path_factory):
    root = tmp_path_factory.mktemp("eight") / "runs"
    eight_ranks(root / "job8")
    return health(root, "job8")


def test_the_real_2_device_job_has_a_row_per_device(tmp_path):
    lines = hardnet_job(tmp_path / "runs" / "hardnet")
    table, story = health(tmp_path / "runs", "hardnet")
    assert table["rank"].tolist() == [0, 1]
    assert table["log"].tolist() == ["device0.log", "device1.log"]
    assert table["last line"].tolist() == [len(lines[0]), len(lines[1])]
    for device, own in lines.items():
        steps = [int(v) for v in re.findall(r"step:(\d+)", "".join(own))]
        losses = [float(v) for v in re.findall(r"loss is ([\d.]+)", "".join(own))]
        # steps done: the global step of the last record (625 steps an epoch, two epochs)
        assert table.loc[device, "steps done"] == steps[-1] * len(steps)
        assert table.loc[device, "last loss"] == pytest.approx(losses[-1])
    assert (story.ranks, story.lagging, story.stopped_first) == (2, None, None)
    assert rank_flag(story) == "2 ranks"


def test_the_real_job_cut_on_one_device_names_it_and_its_last_line(tmp_path):
    lines = hardnet_job(tmp_path / "runs" / "hardnet", keep={1: 1})
    _table, story = health(tmp_path / "runs", "hardnet")
    assert (story.stopped_first, story.stopped_log, story.stopped_line) == (1, "device1.log", len(lines[1]))
    assert rank_flag(story) == "2 ranks · rank 1 stopped first"


def test_eight_ranks_name_the_slow_one_by_the_rank_lag_rule(eight):
    table, story = eight
    assert len(table) == 8 and story.ranks == 8
    assert story.lagging == SLOW and story.slowest == SLOW
    assert "rank 5" in story.lag_detail
    fast = [1750 + s for s in range(2, STEPS + 1)]
    slow = [2625 + s for s in range(2, STEPS + 1)]
    assert table.loc[SLOW, "mean step time (ms)"] == pytest.approx(sum(slow) / len(slow))
    assert table.loc[0, "mean step time (ms)"] == pytest.approx(sum(fast) / len(fast))
    assert story.skew == pytest.approx(
        table["mean step time (ms)"].max() / table["mean step time (ms)"].median()
    )


def test_eight_ranks_name_the_one_that_stopped_early_and_its_last_line(eight):
    table, story = eight
    assert table["steps done"].tolist() == [STOP_AT if r == STOPPED else STEPS for r in range(8)]
    assert story.stopped_first == STOPPED and story.stopped_line == STOP_AT
    assert table.loc[STOPPED, "last line time"] < table.loc[0, "last line time"]
    assert (
        rank_flag(story)
        == f"8 ranks · rank {SLOW} lags (skew {story.skew:.2f}x) · rank {STOPPED} stopped first"
    )


def test_ranks_in_step_keep_quiet(tmp_path):
    folder = tmp_path / "runs" / "even"
    folder.mkdir(parents=True)
    for rank in range(4):
        lines = [mindformers_line(step, 1750 + step, 10.0 - step * 0.1) for step in range(1, STEPS + 1)]
        (folder / f"rank_{rank}.log").write_text("".join(lines), encoding="utf-8")
    _table, story = health(tmp_path / "runs", "even")
    assert (story.lagging, story.stopped_first) == (None, None)
    assert rank_flag(story) == "4 ranks" and story.skew == pytest.approx(1.0)
