"""From the long table of scalars to the four tables a text log gives.

Tags that mean a column (``parsers.events.tags``) are pivoted on step: one ``steps`` row
per step that recorded a loss, lr or loss scale; ``step`` and ``global_step`` are the
recorded step (event files count steps over the run); ``line`` is the record number.
``step_time_ms`` comes from the wall times: the time between two recorded steps divided
by the steps between them, which is what a text log's per-step time says too.  A step
recorded twice for one tag (a run restarted from a checkpoint) keeps its last value.
Eval metrics become ``evals`` rows, a NaN loss a ``nan`` event, a corrupt record a
``warning`` event that names the file and the byte offset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from parsers.events.tags import classify
from parsers.schema import conform, empty_table

__all__ = ["event_tables"]

_STEP_COLUMNS = ("loss", "lr", "loss_scale")


def event_tables(scalars: pd.DataFrame, corrupt: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """steps, epochs, evals, events of a run's scalars (with ``record`` and ``source``)."""
    meaning = classify(scalars["tag"].dropna().unique().tolist()) if len(scalars) else {}
    return {
        "steps": _steps(scalars, meaning),
        "epochs": empty_table("epochs"),
        "evals": _evals(scalars, meaning),
        "events": _events(scalars, meaning, corrupt),
    }


def _chosen_tags(scalars: pd.DataFrame, meaning: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Per steps column, the one tag that fills it: the first recorded of those meaning it."""
    chosen: dict[str, str] = {}
    for tag in scalars["tag"].dropna().unique().tolist():
        table, column = meaning.get(tag, ("", ""))
        if table == "steps":
            chosen.setdefault(column, tag)
    return chosen


def _series(scalars: pd.DataFrame, tag: str) -> pd.DataFrame:
    rows = scalars[(scalars["tag"] == tag).to_numpy()]
    return rows.drop_duplicates("step", keep="last")


def _steps(scalars: pd.DataFrame, meaning: dict[str, tuple[str, str]]) -> pd.DataFrame:
    chosen = _chosen_tags(scalars, meaning)
    if not chosen:
        return empty_table("steps")
    merged: pd.DataFrame | None = None
    for column in _STEP_COLUMNS:
        if column not in chosen:
            continue
        rows = _series(scalars, chosen[column])[["step", "value", "wall_time", "record", "source"]]
        rows = rows.rename(columns={"value": column})
        if merged is None:
            merged = rows
            continue
        merged = merged.merge(rows, on="step", how="outer", suffixes=("", "_other"), sort=False)
        for col in ("wall_time", "record", "source"):
            merged[col] = merged[col].fillna(merged.pop(f"{col}_other"))
    assert merged is not None
    merged = merged.sort_values("step", kind="stable", ignore_index=True)
    merged["global_step"] = merged["step"]
    merged["step_time_ms"] = _step_times(merged["step"].to_numpy(np.int64), merged["wall_time"].to_numpy())
    merged["line"] = merged.pop("record")
    return conform(merged, "steps")


def _step_times(step: np.ndarray, wall: np.ndarray) -> np.ndarray:
    """Milliseconds per step between consecutive recorded steps (NaN for the first)."""
    out = np.full(len(step), np.nan)
    if len(step) > 1:
        gap = np.diff(step).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[1:] = np.where(gap > 0, np.diff(wall) * 1000.0 / gap, np.nan)
    return out


def _evals(scalars: pd.DataFrame, meaning: dict[str, tuple[str, str]]) -> pd.DataFrame:
    metrics = {tag: name for tag, (table, name) in meaning.items() if table == "evals"}
    if not metrics:
        return empty_table("evals")
    rows = scalars[scalars["tag"].isin(list(metrics)).to_numpy()]
    frame = pd.DataFrame(
        {
            "metric": rows["tag"].map(metrics).to_numpy(object),
            "value": rows["value"].to_numpy(),
            "line": rows["record"].to_numpy(),
            "source": rows["source"].to_numpy(object),
        }
    )
    return conform(frame, "evals")


def _events(
    scalars: pd.DataFrame, meaning: dict[str, tuple[str, str]], corrupt: list[dict[str, Any]]
) -> pd.DataFrame:
    loss_tags = [t for t, (table, col) in meaning.items() if table == "steps" and col == "loss"]
    nan = scalars[(scalars["tag"].isin(loss_tags) & scalars["value"].isna()).to_numpy()]
    rows = [
        {"kind": "nan", "line": r.record, "message": f"{r.tag} is NaN at step {r.step}", "source": r.source}
        for r in nan.itertuples()
    ]
    rows += [
        {
            "kind": "warning",
            "message": f"{c['file']}: corrupt record skipped at byte {c['offset']} ({c['why']})",
            "source": c["source"],
        }
        for c in corrupt
    ]
    return conform(pd.DataFrame(rows), "events") if rows else empty_table("events")
