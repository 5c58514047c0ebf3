"""A multi-device job's figures: ranks run side by side, and every rank compiles.

A job of N ranks prints each epoch's time N times.  What a user checks: the run's wall time
is that of its slowest rank (not N times the job), and the mean epoch time leaves out every
rank's first (compile) epoch -- the same figures in ``parse-log`` and the runs table.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_logs import timed_epochs

import parsers
from parsers.store import RunStore

DATA = Path(__file__).parent / "data" / "mindspore-2.10-cpu"

# basic.log prints three 'Train epoch time' lines: 405.299 ms (compile), 30.393 ms, 28.258 ms.
ONE_RANK_WALL_S = (405.299 + 30.393 + 28.258) / 1000.0
ONE_RANK_MEAN_MS = (30.393 + 28.258) / 2


def _slower(text: str, factor: float) -> str:
    """The same log as printed by a rank whose epochs took ``factor`` times as long."""
    out = []
    for line in text.splitlines(keepends=True):
        if line.startswith("Train epoch time: "):
            ms = float(line.split("Train epoch time: ")[1].split(" ms")[0])
            line = line.replace(f"{ms:.3f} ms,", f"{ms * factor:.3f} ms,", 1)
        out.append(line)
    return "".join(out)


def _job(folder: Path, slow_factor: float = 1.0) -> Path:
    """A run folder of two ranks: rank 0 the real log, rank 1 the same log ``slow_factor`` slower."""
    text = (DATA / "basic.log").read_text()
    folder.mkdir(parents=True)
    (folder / "rank_0.log").write_text(text)
    (folder / "rank_1.log").write_text(_slower(text, slow_factor))
    return folder


def test_two_identical_ranks_took_as_long_as_one(tmp_path: Path) -> None:
    one = parsers.summarize(parsers.parse_log(DATA / "basic.log"))
    two = parsers.summarize(parsers.parse_log(_job(tmp_path / "job")))
    assert one["total_time_s"] == pytest.approx(ONE_RANK_WALL_S)
    assert two["total_time_s"] == pytest.approx(ONE_RANK_WALL_S)
    assert two["mean_epoch_time_ms"] == pytest.approx(ONE_RANK_MEAN_MS)
    assert two["epochs_done"] == 3


def test_the_slowest_rank_sets_the_wall_time_and_no_compile_epoch_is_averaged(tmp_path: Path) -> None:
    summary = parsers.summarize(parsers.parse_log(_job(tmp_path / "job", slow_factor=2.0)))
    assert summary["total_time_s"] == pytest.approx(2 * ONE_RANK_WALL_S, rel=1e-4)
    # rank 0's and rank 1's epochs 2 and 3; neither rank's 405 ms (810 ms) compile epoch
    assert summary["mean_epoch_time_ms"] == pytest.approx(3 * ONE_RANK_MEAN_MS / 2, rel=1e-4)


def test_the_runs_table_gives_the_same_figures_as_parse_log(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    _job(root / "job", slow_factor=2.0)
    store = RunStore(root, tmp_path / "store")
    store.refresh()
    runs = store.runs()
    row = runs.loc[runs["run"] == "job"].iloc[0]
    summary = parsers.summarize(parsers.parse_log(root / "job"))
    assert row["wall_time_s"] == pytest.approx(summary["total_time_s"])
    assert row["mean_epoch_time_ms"] == pytest.approx(summary["mean_epoch_time_ms"])
    assert row["wall_time_s"] == pytest.approx(2 * ONE_RANK_WALL_S, rel=1e-4)


def test_a_job_announces_its_epochs_through_any_rank(tmp_path: Path) -> None:
    """Only rank 1's log printed the announced total (``Epoch 1/90``-style lines are often on the
    leading rank only, and not always rank 0): the job's total is 90, its files both ranks'."""
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "rank_0.log").write_text((DATA / "basic.log").read_text())
    (folder / "rank_1.log").write_text("Epoch 1/90\n" + (DATA / "basic.log").read_text())
    meta = parsers.parse_log(folder).meta
    assert meta["total_epochs"] == 90
    assert [(f["rank"], f["lines"]) for f in meta["files"]] == [(0, 49), (1, 50)]
    assert meta["lines_read"] == 99


def test_the_wall_time_is_one_ranks_own_epochs_not_each_epochs_slowest(tmp_path: Path) -> None:
    """Rank 0 compiles slowly (9 s, then 1 s epochs), rank 1 compiles fast and then lags (1 s,
    then 6 s): rank 1 took 13 s, rank 0 11 s -- the job took 13 s, not 9 + 6 + 6 = 21 s."""
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "rank_0.log").write_text(timed_epochs([9000, 1000, 1000]))
    (folder / "rank_1.log").write_text(timed_epochs([1000, 6000, 6000]))
    assert parsers.summarize(parsers.parse_log(folder))["total_time_s"] == pytest.approx(13.0)
    store = RunStore(tmp_path)
    store.refresh()
    assert store.runs().set_index("run").loc["job", "wall_time_s"] == pytest.approx(13.0)


def test_a_rank_that_joined_late_leaves_out_its_own_first_epoch(tmp_path: Path) -> None:
    """Rank 1 was restarted and printed from epoch 2 on: its epoch 2 (800 ms) compiled, as rank
    0's epoch 1 (900 ms) did.  The mean epoch time is of the others: 100, 100 and 120 ms."""
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "rank_0.log").write_text(timed_epochs([900, 100, 100]))
    (folder / "rank_1.log").write_text(timed_epochs([800, 120], first=2))
    mean_ms = (100 + 100 + 120) / 3
    assert parsers.summarize(parsers.parse_log(folder))["mean_epoch_time_ms"] == pytest.approx(mean_ms)
    store = RunStore(tmp_path)
    store.refresh()
    assert store.runs().set_index("run").loc["job", "mean_epoch_time_ms"] == pytest.approx(mean_ms)


def test_untagged_ranks_timing_each_epoch_leave_every_compile_timing_out(tmp_path: Path) -> None:
    """Four ranks share one stream and print ``Train epoch time`` for each epoch with no rank tag:
    epoch 1's four timings all include compilation, so none of them is averaged; each epoch
    took as long as its slowest timing (9.1 + 1.2 + 1.0 s), not the sum of the four."""
    per_epoch = {1: [9000, 9100, 8900, 9050], 2: [1000, 1100, 1050, 1200], 3: [1000, 1000, 1000, 1000]}
    text = "".join(
        f"epoch: {epoch} step: 1, loss is {1.0 / epoch}\n"
        + "".join(f"Train epoch time: {ms:.3f} ms, per step time: {ms:.3f} ms\n" for ms in times)
        for epoch, times in per_epoch.items()
    )
    mean_ms = (sum(per_epoch[2]) + sum(per_epoch[3])) / 8
    wall_s = (9100 + 1200 + 1000) / 1000.0
    summary = parsers.summarize(parsers.parse_log(text))
    assert (summary["mean_epoch_time_ms"], summary["total_time_s"]) == pytest.approx((mean_ms, wall_s))
    assert summary["epochs_done"] == 3
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "train.log").write_text(text)
    store = RunStore(tmp_path)
    store.refresh()
    row = store.runs().set_index("run").loc["job"]
    assert (row["mean_epoch_time_ms"], row["wall_time_s"]) == pytest.approx((mean_ms, wall_s))


def test_a_rank_midway_through_the_last_epoch_leaves_it_undone_whatever_the_others_printed(
    tmp_path: Path,
) -> None:
    """No epoch time lines, 15 steps an epoch: rank 0 is at step 5 of epoch 3, rank 1 printed
    epoch 2's last step (15).  Epoch 3 is not done, however far rank 1 got in epoch 2."""

    def steps(epochs: list[tuple[int, int]]) -> str:
        return "".join(
            f"epoch: {e} step: {s}, loss is {1 / (e * s):.4f}\n"
            for e, last in epochs
            for s in range(1, last + 1)
        )

    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "rank_0.log").write_text(steps([(1, 15), (2, 15), (3, 5)]))
    (folder / "rank_1.log").write_text(steps([(1, 15), (2, 15)]))
    assert parsers.summarize(parsers.parse_log(folder))["epochs_done"] == 2
    store = RunStore(tmp_path)
    store.refresh()
    assert store.runs().set_index("run").loc["job", "epochs_done"] == 2
