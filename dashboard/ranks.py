"""Per-rank health of a multi-device job: pure functions over one run's tables and its logs.

A job on eight devices leaves one log per rank (``rank_3.log``, ``worker_3.log``,
``device3/log``); the store keeps each row's ``rank`` and, per log, its rank, line count and
last write (``RunStore.meta(run)["logs"]`` and ``["files"]``).  ``rank_table`` turns that into
one row per rank -- steps done, last line time, mean step time, epoch time, throughput, last
loss -- and ``rank_story`` says what a person debugging a hung collective wants first: the
skew between ranks (slowest mean step time over the median), the rank that lags (by the
``rank-lag`` rule of ``parse-log watch``: the same check, ``parsers.insights.alert_checks``)
and the rank that stopped first (fewest steps, then the oldest last line), with its last line
number so the page can show the lines it ended on.  ``rank_flag`` is the same in a few words,
for the runs table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from parsers.insights.alert_checks import RunData, rank_lag
from parsers.insights.alerts import parse_alert_rule
from parsers.summary import mean_after_first

__all__ = ["RANK_COLUMNS", "RANK_LAG_RULE", "RankStory", "rank_flag", "rank_story", "rank_table"]

# The limit the dashboard flags a lagging rank at: the banner's rule (``alert_banner.BANNER_RULES``).
RANK_LAG_RULE = "rank-lag=15%"
RANK_COLUMNS = ("rank", "log", "steps done", "last line", "last line time", "mean step time (ms)",
                "epoch time (s)", "samples/s", "last loss")  # fmt: skip


@dataclass(frozen=True)
class RankStory:
    """What the ranks of one run say together."""

    ranks: int
    skew: float | None  # slowest mean step time / median of the ranks' mean step times
    slowest: int | None
    lagging: int | None  # the rank the rank-lag rule names, None when it does not hold
    lag_detail: str | None
    stopped_first: int | None  # a rank with fewer steps than the others (the earliest to stop)
    stopped_log: str | None
    stopped_line: int | None  # its last line number


def rank_table(steps: pd.DataFrame, epochs: pd.DataFrame, logs: Sequence[Mapping[str, Any]],
               files: Sequence[Mapping[str, Any]] = ()) -> pd.DataFrame:  # fmt: skip
    """One row per rank (``RANK_COLUMNS``): the ranks of the logs, and any rank the rows name."""
    lines = {f.get("rank"): f.get("lines") for f in files if f.get("rank") is not None}
    by_log = {int(log["rank"]): log for log in logs if log.get("rank") is not None}
    known = set(by_log) | _ranks(steps) | _ranks(epochs)
    rows = [_rank_row(rank, steps, epochs, by_log.get(rank, {}), lines.get(rank)) for rank in sorted(known)]
    frame = pd.DataFrame(rows, columns=list(RANK_COLUMNS))
    frame["rank"] = frame["rank"].astype("Int64")
    frame["steps done"] = pd.array(frame["steps done"].tolist(), dtype="Int64")
    frame["last line"] = pd.array(frame["last line"].tolist(), dtype="Int64")
    frame["last line time"] = pd.to_datetime(frame["last line time"], utc=True)
    return frame


def _ranks(table: pd.DataFrame) -> set[int]:
    return {int(r) for r in table["rank"].dropna().unique()} if len(table) else set()


def _of(table: pd.DataFrame, rank: int) -> pd.DataFrame:
    return table[table["rank"] == rank].sort_values("line", kind="stable") if len(table) else table


def _rank_row(rank: int, steps: pd.DataFrame, epochs: pd.DataFrame, log: Mapping[str, Any],
              lines: int | None) -> dict[str, Any]:  # fmt: skip
    own_steps, own_epochs = _of(steps, rank), _of(epochs, rank)
    done = own_steps["global_step"].max() if len(own_steps) else None
    done = len(own_steps) if len(own_steps) and pd.isna(done) else done
    losses = own_steps["loss"].dropna() if len(own_steps) else own_steps
    mtime = log.get("mtime_ns")
    return {
        "rank": rank,
        "log": log.get("log") or log.get("location"),
        "steps done": None if done is None or pd.isna(done) else int(done),
        "last line": lines,
        "last line time": pd.Timestamp(int(mtime), unit="ns", tz="UTC") if mtime else pd.NaT,
        "mean step time (ms)": _mean_after_first(own_steps, "step_time_ms")
        or _mean_after_first(own_epochs, "step_time_ms"),
        "epoch time (s)": _seconds(_mean_after_first(own_epochs, "epoch_time_ms")),
        "samples/s": _mean_after_first(own_epochs, "samples_per_sec"),
        "last loss": float(losses.iloc[-1]) if len(losses) else None,
    }


def _mean_after_first(table: pd.DataFrame, column: str) -> float | None:
    """The mean of a column, its first value (the compile) left out when there are others."""
    if not len(table) or column not in table:
        return None
    values = table[column].to_numpy(np.float64, na_value=np.nan)
    return mean_after_first(np.where(np.isfinite(values), values, np.nan))  # the summary's own rule


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000.0


def rank_story(table: pd.DataFrame, steps: pd.DataFrame, epochs: pd.DataFrame) -> RankStory:
    """Skew, the lagging rank (the ``rank-lag`` rule) and the rank that stopped first, of ``rank_table``."""
    times = table.set_index("rank")["mean step time (ms)"].astype("float64").dropna()
    skew = slowest = None
    if len(times) > 1 and times.median() > 0:
        slowest = int(times.idxmax())
        skew = float(times.max() / times.median())
    trigger = rank_lag(
        RunData(row={}, tables={"steps": steps, "epochs": epochs}), parse_alert_rule(RANK_LAG_RULE)
    )
    stopped = _stopped_first(table)
    row = table[table["rank"] == stopped].iloc[0] if stopped is not None else None
    return RankStory(
        ranks=len(table),
        skew=skew,
        slowest=slowest,
        lagging=trigger.rank if trigger else None,
        lag_detail=trigger.detail if trigger else None,
        stopped_first=stopped,
        stopped_log=None if row is None else row["log"],
        stopped_line=None if row is None or pd.isna(row["last line"]) else int(row["last line"]),
    )


def _stopped_first(table: pd.DataFrame) -> int | None:
    """The rank with the fewest steps when some rank did more (ties: the oldest last line)."""
    done = table.dropna(subset=["steps done"])
    if len(done) < 2 or done["steps done"].nunique() < 2:
        return None
    order = done.assign(t=done["last line time"].fillna(pd.Timestamp.max.tz_localize("UTC")))
    return int(order.sort_values(["steps done", "t"], kind="stable").iloc[0]["rank"])


def rank_flag(story: RankStory) -> str:
    """``8 ranks``, or with what is wrong: ``8 ranks · rank 5 lags +40% · rank 3 stopped first``."""
    parts = [f"{story.ranks} ranks"]
    if story.lagging is not None:
        parts.append(
            f"rank {story.lagging} lags (skew {story.skew:.2f}x)"
            if story.skew
            else f"rank {story.lagging} lags"
        )
    if story.stopped_first is not None:
        parts.append(f"rank {story.stopped_first} stopped first")
    return " · ".join(parts)
