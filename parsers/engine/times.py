"""Step times printed on a line of their own (MindYOLO), joined to their step across parts.

A step's missing time is filled from the time line with the same (epoch, step), the
last one winning (``fill_step_times``).  Across parts, the time records and the
time-less step keys of the newest epoch are kept in the context; a time line for an
older epoch, or one that would change a committed row, raises ``ContextChanged``.
(The store holds back a step line that ends a part until its time line arrives, so
that case stays rare.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from parsers.engine.context import Context, ContextChanged
from parsers.engine.epochs import Bases, frame_epochs
from parsers.engine.numbering import float_column

__all__ = ["fill_step_times", "join_times", "joins_times", "json_value"]


def fill_step_times(steps: pd.DataFrame, times: pd.DataFrame, bases: Bases) -> None:
    """Fill step times printed on lines of their own into the matching loss records."""
    if not len(times) or not len(steps) or "step_time_ms" not in times:
        return
    keys = pd.DataFrame(
        {
            "epoch": pd.array(np.round(frame_epochs(times, bases)), dtype="Int64"),
            "step": pd.array(float_column(times["step"]), dtype="Int64"),
            "time": float_column(times["step_time_ms"]),
        }
    ).drop_duplicates(["epoch", "step"], keep="last")
    joined = steps[["epoch", "step"]].merge(keys, on=["epoch", "step"], how="left")["time"].to_numpy()
    own = steps["step_time_ms"].to_numpy()
    steps["step_time_ms"] = np.where(np.isnan(own), joined, own)


def joins_times(ctx: Context, facts: dict, times: pd.DataFrame) -> bool:
    """Whether ``join_times`` has anything to do for this part (else it returns the steps as they are)."""
    return bool(ctx.has_step_times or facts["has_step_times"] or len(times))


def join_times(
    ctx: Context, facts: dict, steps: pd.DataFrame, times: pd.DataFrame, bases: Bases
) -> pd.DataFrame:
    """``fill_step_times`` with the time records of recent epochs carried over.

    A time line joins the step record with the same (epoch, step).  Records of the
    current epoch are kept in the context; a time line for an older epoch, or one that
    would change a committed row, means parsing again.
    """
    if not joins_times(ctx, facts, times):
        return steps
    committed = ctx.steps - len(steps)
    first_times = len(times) and not (ctx.has_step_times or facts["has_step_times"])
    ctx.has_step_times = True  # before raising: the restarted pass gets it as a hint
    if first_times and committed:
        raise ContextChanged("step times appeared after step records were committed")
    window = ctx.step_times or {"epoch": None, "floor": None, "times": [], "pending": []}
    old = pd.DataFrame(window["times"], columns=["epoch", "step", "step_time_ms", "format", "line"])
    if committed:
        pending = {tuple(k) for k in window["pending"]}
        for key in _time_keys(times, bases):
            if _stale(key, window["floor"]) or key in pending:
                raise ContextChanged("a step time line changes a committed step")
    own = steps["step_time_ms"].isna().to_numpy() if len(steps) else np.zeros(0, bool)
    step_keys = list(zip(_nullable(steps["epoch"]), _nullable(steps["step"]))) if len(steps) else []
    if window["floor"] is not None and any(_stale(k, window["floor"]) for k, m in zip(step_keys, own) if m):
        raise ContextChanged("a step of an old epoch may take a step time no longer kept")
    keep = ["epoch", "step", "step_time_ms", "format", "line"]
    fresh = times[[c for c in keep if c in times]] if len(times) else old.iloc[:0]
    combined = (pd.concat([old, fresh]) if len(old) else fresh).reset_index(drop=True)
    fill_step_times(steps, combined, bases)
    _slide_window(ctx, window, combined, bases, [k for k, m in zip(step_keys, own) if m])
    return steps


def _time_keys(times: pd.DataFrame, bases: Bases) -> list[tuple[float, float]]:
    if not len(times) or "step_time_ms" not in times:
        return []
    epoch = np.round(frame_epochs(times, bases))
    step = float_column(times["step"])
    return list(zip(epoch.tolist(), step.tolist()))


def _nullable(series: pd.Series) -> list[float]:
    return series.to_numpy(dtype=np.float64, na_value=np.nan).tolist()


def _stale(key: tuple[float, float], floor: float | None) -> bool:
    return math.isnan(key[0]) or math.isnan(key[1]) or (floor is not None and key[0] <= floor)


def _slide_window(
    ctx: Context, window: dict, combined: pd.DataFrame, bases: Bases, pending_new: list
) -> None:
    """Keep time records and time-less step keys of the newest epoch; remember the oldest dropped."""
    epochs = np.round(frame_epochs(combined, bases))
    known = [e for e, _ in pending_new if not math.isnan(e)] + [
        e for e in epochs.tolist() if not math.isnan(e)
    ]
    newest = max([*known, *([window["epoch"]] if window["epoch"] is not None else [])], default=None)
    pending = [list(k) for k in window["pending"]] + [list(k) for k in pending_new]
    dropped = [e for e, _ in pending if newest is not None and e < newest]
    dropped += [e for e in epochs.tolist() if newest is not None and e < newest]
    if dropped:
        window["floor"] = max([*dropped, *([window["floor"]] if window["floor"] is not None else [])])
    rows = combined.astype(object).where(combined.notna(), None).values.tolist()
    window["times"] = [
        [json_value(v) for v in row] for row, e in zip(rows, epochs.tolist()) if newest is None or e >= newest
    ]
    window["pending"] = [k for k in pending if newest is None or k[0] >= newest]
    window["epoch"] = newest
    ctx.step_times = window


def json_value(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
