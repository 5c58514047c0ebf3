"""Running figures of a log, kept in its context, so a run summary never reads the steps table.

First/last/min loss, rows, the last epoch and its largest step, the last global step,
event counts and the line of the last crash-like event, per-metric counts, last and
best values: what ``parsers.summary`` computes from whole tables, folded part by part.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from parsers.engine.context import Context

__all__ = ["update_stats"]

_BAD_EVENTS = ("traceback", "error", "interrupt")


def update_stats(ctx: Context, steps: pd.DataFrame, events: pd.DataFrame, evals: pd.DataFrame) -> None:
    """Running figures a run summary needs, so it never reads the whole steps table."""
    s = ctx.stats
    if len(steps):
        loss = steps["loss"].to_numpy(np.float64)
        finite = loss[np.isfinite(loss)]
        s.setdefault("first_loss", _num(loss[0]))
        s["last_loss"] = _num(loss[-1])
        if len(finite):
            s["min_loss"] = _num(min(float(finite.min()), s.get("min_loss") or math.inf))
        s["n_steps"] = s.get("n_steps", 0) + len(steps)
        s["max_global_step"] = _max(s.get("max_global_step"), steps["global_step"].max())  # skips NA
        s["max_step_line"] = _max(s.get("max_step_line"), steps["line"].max())
        _last_epoch_step(s, _floats(steps["epoch"]), _floats(steps["step"]))
    if len(events):
        kinds = s.setdefault("event_counts", {})
        for kind, n in events["kind"].value_counts().items():
            kinds[str(kind)] = kinds.get(str(kind), 0) + int(n)
        bad = events[events["kind"].isin(_BAD_EVENTS)]
        if len(bad):
            s["bad_event_line"] = _max(s.get("bad_event_line"), bad["line"].max())
    if len(evals):
        _metric_stats(s.setdefault("metrics", {}), evals)


def _metric_stats(metrics: dict[str, Any], evals: pd.DataFrame) -> None:
    for metric, group in evals.groupby("metric", sort=False):
        values = group["value"].to_numpy(np.float64)
        entry = metrics.setdefault(str(metric), {"n": 0, "min": None, "max": None})
        entry["n"] += len(values)
        entry["last"], entry["last_line"] = _num(values[-1]), int(group["line"].max())
        finite = values[np.isfinite(values)]
        if len(finite):
            entry["min"] = _num(min(finite.min(), entry["min"] if entry["min"] is not None else math.inf))
            entry["max"] = _num(max(finite.max(), entry["max"] if entry["max"] is not None else -math.inf))


def _floats(series: pd.Series) -> np.ndarray:
    return series.to_numpy(np.float64, na_value=np.nan)


def _last_epoch_step(s: dict[str, Any], epoch: np.ndarray, step: np.ndarray) -> None:
    known = ~np.isnan(epoch)
    if not known.any():
        return
    last = int(np.nanmax(epoch))
    at_last = step[epoch == last]
    step_at = None if np.isnan(at_last).all() else int(np.nanmax(at_last))
    if s.get("last_epoch") is None or last > s["last_epoch"]:
        s["last_epoch"], s["last_epoch_step"] = last, step_at
    elif last == s["last_epoch"] and step_at is not None:
        s["last_epoch_step"] = max(v for v in (step_at, s.get("last_epoch_step")) if v is not None)


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _max(old: Any, new: Any) -> int | None:
    if new is None or pd.isna(new):
        return old
    return int(new) if old is None else max(int(old), int(new))
