"""What a person asks of a log first: how far, how fast, how well, what went wrong.

``summarize`` returns plain JSON-able values so the CLI, the report and the
dashboard show the same numbers.  The first epoch is left out of time averages:
on Ascend and in GRAPH_MODE it includes graph compilation and is often several
times slower than the rest.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from parsers.parse import ParsedLog

__all__ = ["epochs_done", "mean_epoch_time_ms", "run_status", "summarize"]


def _f(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return float(value)


def mean_epoch_time_ms(epochs: pd.DataFrame) -> float | None:
    """Mean training epoch time, without the first (compile/warm-up) epoch when there are more."""
    times = epochs.dropna(subset=["epoch_time_ms"]).sort_values("line")["epoch_time_ms"]
    if len(times) > 1:
        times = times.iloc[1:]
    return _f(times.mean()) if len(times) else None


def epochs_done(log: ParsedLog) -> int:
    """Epochs completed: those that printed a time line, else those whose steps all ran."""
    timed = log.epochs.dropna(subset=["epoch"])
    if len(timed):
        return int(timed["epoch"].nunique())
    steps = log.steps.dropna(subset=["epoch"])
    if not len(steps):
        return 0
    last = int(steps["epoch"].max())
    spe = log.meta.get("steps_per_epoch")
    last_step = steps.loc[steps["epoch"] == last, "step"].max()
    finished = _has(log, "finish")
    if not finished and spe and not pd.isna(last_step) and last_step < spe:
        return last - 1
    return last


def _has(log: ParsedLog, kind: str) -> bool:
    return bool((log.events["kind"] == kind).any()) if len(log.events) else False


def run_status(log: ParsedLog) -> str:
    """finished / crashed / running, from the log alone (the store adds 'stalled' from mtime)."""
    if _has(log, "finish"):
        return "finished"
    total = log.meta.get("total_epochs")
    if total and epochs_done(log) >= total:
        return "finished"
    last_record = max([int(t["line"].max()) for t in (log.steps, log.epochs) if len(t)] or [0])
    events = log.events
    if len(events):
        bad = events[events["kind"].isin(["traceback", "error", "interrupt"])]
        if len(bad) and int(bad["line"].max()) >= last_record:
            return "crashed"
        if _has(log, "nan") and (events["kind"] == "traceback").any():
            return "crashed"
    return "running"


def summarize(log: ParsedLog) -> dict[str, Any]:
    """A one-level dict of the figures ``parse-log`` prints."""
    steps, epochs = log.steps, log.epochs
    losses = steps["loss"].to_numpy(dtype=float) if len(steps) else np.array([])
    finite = losses[np.isfinite(losses)]
    total = log.meta.get("total_epochs")
    done = epochs_done(log)
    mean_ms = mean_epoch_time_ms(epochs)
    status = run_status(log)
    throughput = epochs.dropna(subset=["samples_per_sec"]).sort_values("line")["samples_per_sec"]
    if len(throughput) > 1:
        throughput = throughput.iloc[1:]
    train_ms = epochs["epoch_time_ms"].sum(min_count=1)
    eval_ms = epochs["eval_time_ms"].sum(min_count=1)
    counts = log.events["kind"].value_counts().to_dict() if len(log.events) else {}
    remaining = max(total - done, 0) if total else None
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
        "samples_per_sec": _f(throughput.mean()) if len(throughput) else None,
        "samples_per_sec_source": _source(epochs),
        "total_time_s": _f(
            (np.nansum([_f(train_ms) or 0.0, _f(eval_ms) or 0.0]) / 1000.0) if _f(train_ms) else None
        ),
        "eta_s": (remaining * mean_ms / 1000.0) if (remaining and mean_ms and status == "running") else None,
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
