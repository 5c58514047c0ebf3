"""What a person asks of a log first: how far, how fast, how well, what went wrong.

``summarize`` returns plain JSON-able values so the CLI, the report and the
dashboard show the same numbers.  The first epoch is left out of time averages:
on Ascend and in GRAPH_MODE it includes graph compilation and is often several
times slower than the rest.

Each rule is written once, as a function of the figures it needs (``mean_after_first``,
``wall_time_s``, ``completed_epochs``, ``status_of``, ``eta_s``): ``summarize`` feeds them
from a log's tables, the run store (``parsers.store.summary``) from the running statistics
each log's context keeps -- so a run's row and ``parse-log`` never disagree.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from parsers.schema import column_floats

if TYPE_CHECKING:
    from parsers.parse import ParsedLog

__all__ = [
    "BAD_EVENTS",
    "completed_epochs",
    "epochs_done",
    "eta_s",
    "mean_after_first",
    "mean_epoch_time_ms",
    "mean_without_warmup",
    "run_status",
    "status_of",
    "summarize",
    "wall_time_s",
    "warmup_rows",
]

# Event kinds that end a run as crashed when nothing was recorded after them.
BAD_EVENTS = ("traceback", "error", "interrupt")


def _f(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return float(value)


def mean_after_first(values: Any, warmup: Any = None) -> float | None:
    """Mean of the known values (in line order), without the first when there are several:
    the first epoch's time and throughput include compilation and warm-up.

    ``warmup`` marks the rows to leave out instead (``warmup_rows``: each rank's first
    epoch, since every rank of a multi-device job compiles its graph); they are kept when
    nothing else is known.
    """
    values = np.asarray(values, dtype=float)
    valid = ~np.isnan(values)
    if warmup is None:  # the first known value
        warmup = np.zeros(len(values), dtype=bool)
        warmup[np.flatnonzero(valid)[:1]] = True
    rest = values[valid & ~np.asarray(warmup, dtype=bool)]
    known = rest if len(rest) else values[valid]
    return float(known.mean()) if len(known) else None


def warmup_rows(rank: Any, epoch: Any, line: Any, value: Any) -> np.ndarray:
    """Rows of each rank's first timed epoch, in line order: the epochs that include compilation.

    A multi-device job prints one timing per rank (tagged, or several untagged timings of the
    same epoch); leaving out only the first row would keep seven of eight ranks' compile
    epochs in the mean.  A row with no epoch number is its own epoch.
    """
    rank = np.nan_to_num(np.asarray(rank, dtype=float), nan=-1.0)
    epoch = np.asarray(epoch, dtype=float)
    line = np.asarray(line, dtype=float)
    known = ~np.isnan(np.asarray(value, dtype=float))
    warm = np.zeros(len(rank), dtype=bool)
    for r in np.unique(rank[known]):
        mine = np.flatnonzero(known & (rank == r))
        first = mine[np.argmin(line[mine])]
        warm[first] = True
        if not np.isnan(epoch[first]):
            warm[mine[epoch[mine] == epoch[first]]] = True
    return warm


def wall_time_s(train_ms: Any, eval_ms: Any, rank: Any, epoch: Any) -> float | None:
    """Training plus evaluation time of the epochs, in seconds; None without a training time.

    Ranks run side by side: each epoch counts once per rank (the longest of its timings when
    untagged ranks printed several; NaN rank is one rank) and the run took as long as its
    slowest rank -- not the sum of every rank's epochs.
    """
    train, evals = np.asarray(train_ms, dtype=float), np.asarray(eval_ms, dtype=float)
    if np.isnan(train).all() or not np.nansum(train):
        return None
    spent = np.nan_to_num(train) + np.nan_to_num(evals)
    rank = np.nan_to_num(np.asarray(rank, dtype=float), nan=-1.0)
    epoch = np.asarray(epoch, dtype=float)
    per_rank: list[float] = []
    for r in np.unique(rank):
        mine = rank == r
        numbered = mine & ~np.isnan(epoch)
        longest = pd.Series(spent[numbered]).groupby(epoch[numbered]).max().sum() if numbered.any() else 0.0
        per_rank.append(float(longest) + float(spent[mine & np.isnan(epoch)].sum()))
    return max(per_rank) / 1000.0


def completed_epochs(
    *,
    timed_epochs: int,
    last_epoch: int | None,
    last_epoch_step: float | None,
    steps_per_epoch: int | None,
    finished: bool,
) -> int:
    """Epochs completed: those that printed a time line, else the last epoch with steps -- less
    one while it has run fewer than ``steps_per_epoch`` steps and the log has not finished."""
    if timed_epochs:
        return timed_epochs
    if last_epoch is None:
        return 0
    partial = last_epoch_step is not None and steps_per_epoch and last_epoch_step < steps_per_epoch
    return last_epoch - 1 if partial and not finished else last_epoch


def status_of(
    *,
    finished: bool,
    total_epochs: int | None,
    epochs_done: int,
    last_record_line: int,
    last_bad_line: int | None,
    nan_and_traceback: bool,
) -> str:
    """finished / crashed / running, from the log alone (the store adds 'stalled' from the clock):
    finished when it says so or ran its announced epochs; crashed when an error, traceback or
    interrupt came after the last record, or a NaN loss ended in a traceback."""
    if finished or (total_epochs and epochs_done >= total_epochs):
        return "finished"
    if (last_bad_line is not None and last_bad_line >= last_record_line) or nan_and_traceback:
        return "crashed"
    return "running"


def eta_s(
    *, total_epochs: int | None, epochs_done: int, mean_epoch_time_ms: float | None, status: str
) -> float | None:
    """Seconds still to run: remaining epochs x mean epoch time, while the run is running."""
    remaining = max(total_epochs - epochs_done, 0) if total_epochs else None
    if remaining and mean_epoch_time_ms and status == "running":
        return remaining * mean_epoch_time_ms / 1000.0
    return None


def mean_epoch_time_ms(epochs: pd.DataFrame) -> float | None:
    """Mean training epoch time, without each rank's first (compile/warm-up) epoch when there are more."""
    return _mean_without_warmup(epochs, "epoch_time_ms")


def mean_without_warmup(
    values: np.ndarray, rank: np.ndarray, epoch: np.ndarray, line: np.ndarray
) -> float | None:
    """Mean of ``values`` without each rank's compile epoch (``warmup_rows``): the rule of the
    mean epoch time and the throughput, for ``parse-log`` and the runs table alike."""
    return mean_after_first(values, warmup_rows(rank, epoch, line, values))


def _mean_without_warmup(epochs: pd.DataFrame, column: str) -> float | None:
    rank, epoch, line = (column_floats(epochs, name) for name in ("rank", "epoch", "line"))
    return mean_without_warmup(column_floats(epochs, column), rank, epoch, line)


def epochs_done(log: ParsedLog) -> int:
    """Epochs completed: those that printed a time line, else those whose steps all ran."""
    steps = log.steps.dropna(subset=["epoch"])
    last = int(steps["epoch"].max()) if len(steps) else None
    last_step = steps.loc[steps["epoch"] == last, "step"].max() if len(steps) else None
    return completed_epochs(
        timed_epochs=int(log.epochs.dropna(subset=["epoch"])["epoch"].nunique()),
        last_epoch=last,
        last_epoch_step=None if last_step is None or pd.isna(last_step) else float(last_step),
        steps_per_epoch=log.meta.get("steps_per_epoch"),
        finished=_has(log, "finish"),
    )


def _has(log: ParsedLog, kind: str) -> bool:
    return bool((log.events["kind"] == kind).any()) if len(log.events) else False


def run_status(log: ParsedLog, *, done: int | None = None) -> str:
    """finished / crashed / running, from the log alone (the store adds 'stalled' from mtime);
    ``done`` is ``epochs_done(log)`` when the caller has it already."""
    events = log.events
    bad = events[events["kind"].isin(BAD_EVENTS)] if len(events) else events
    return status_of(
        finished=_has(log, "finish"),
        total_epochs=log.meta.get("total_epochs"),
        epochs_done=epochs_done(log) if done is None else done,
        last_record_line=max([int(t["line"].max()) for t in (log.steps, log.epochs) if len(t)] or [0]),
        last_bad_line=int(bad["line"].max()) if len(bad) else None,
        nan_and_traceback=_has(log, "nan") and _has(log, "traceback"),
    )


def summarize(log: ParsedLog) -> dict[str, Any]:
    """A one-level dict of the figures ``parse-log`` prints."""
    steps, epochs = log.steps, log.epochs
    losses = steps["loss"].to_numpy(dtype=float) if len(steps) else np.array([])
    finite = losses[np.isfinite(losses)]
    total = log.meta.get("total_epochs")
    done = epochs_done(log)
    mean_ms = mean_epoch_time_ms(epochs)
    status = run_status(log, done=done)
    counts = log.events["kind"].value_counts().to_dict() if len(log.events) else {}
    return {
        "formats": log.meta.get("formats", []),
        "status": status,
        "epochs_done": done,
        "total_epochs": total,
        "steps": len(steps),
        "last_global_step": _f(steps["global_step"].max()) if len(steps) else None,
        "first_loss": _f(losses[0]) if len(losses) else None,
        "last_loss": _f(losses[-1]) if len(losses) else None,
        "min_loss": _f(finite.min()) if len(finite) else None,
        "mean_epoch_time_ms": mean_ms,
        "epochs_unknown": log.meta.get("epochs_unknown"),  # why an event-only run has no epochs
        "samples_per_sec": _mean_without_warmup(epochs, "samples_per_sec"),
        "samples_per_sec_source": _source(epochs),
        "total_time_s": wall_time_s(
            column_floats(epochs, "epoch_time_ms"),
            column_floats(epochs, "eval_time_ms"),
            rank=column_floats(epochs, "rank"),
            epoch=column_floats(epochs, "epoch"),
        ),
        "eta_s": eta_s(total_epochs=total, epochs_done=done, mean_epoch_time_ms=mean_ms, status=status),
        "evals": _best_evals(log.evals),
        "events": {str(k): int(v) for k, v in counts.items()},
        "lines_read": log.meta.get("lines_read"),
        "lines_skipped": log.meta.get("lines_skipped"),
        "lines_noise": log.meta.get("lines_noise"),
    }


def _source(epochs: pd.DataFrame) -> str | None:
    sources = epochs["samples_per_sec_source"].dropna().unique().tolist()
    return sources[0] if len(sources) == 1 else (",".join(sorted(sources)) or None)


def _best_evals(evals: pd.DataFrame) -> dict[str, float]:
    """Last value of each metric (what the run ended with)."""
    if not len(evals):
        return {}
    last = evals.sort_values("line").groupby("metric", sort=False)["value"].last()
    return {str(k): float(v) for k, v in last.items()}
