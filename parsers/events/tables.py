"""From the long table of scalars to the four tables a text log gives.

Tags that mean a column (``parsers.events.tags``) are pivoted on step: one ``steps`` row
per step that recorded a loss, lr or loss scale; ``step`` and ``global_step`` are the
recorded step (event files count steps over the run); ``line`` is the record number.
``step_time_ms`` comes from the wall times: the time between two recorded steps divided
by the steps between them, which is what a text log's per-step time says too.  A step
recorded twice for one tag (a run restarted from a checkpoint) keeps its last value.
Eval metrics become ``evals`` rows, a NaN loss a ``nan`` event, a corrupt record a
``warning`` event that names the file and the byte offset.

An ``epoch`` tag (PyTorch Lightning records one with every step, counting from 0) gives
each step its epoch -- counted from 1 as the logs count, so a tag whose first recorded
value is 0 is shifted by one -- and from the wall times an ``epochs`` row per finished epoch: its
time is from the last step of the epoch before to its own last step (the first epoch's
from its first step, plus one step), its step time that over its steps.  An epoch is
finished when a later one started, or, the last one, when it has as many steps as the
one before it.  Epochs are folded from per-epoch spans (``event_tables_and_spans``: first and last
wall time, steps, last record) so the store can keep them running as a file grows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from parsers.events.tags import classify
from parsers.schema import conform, empty_table

__all__ = [
    "SPAN_COLUMNS",
    "epoch_shift_of",
    "epochs_of_spans",
    "event_tables",
    "event_tables_and_spans",
    "merge_spans",
    "spans_of_steps",
]

_STEP_COLUMNS = ("loss", "lr", "loss_scale")
SPAN_COLUMNS = ("epoch", "first_wall", "last_wall", "steps", "line", "source")


def event_tables(scalars: pd.DataFrame, corrupt: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """steps, epochs, evals, events of a run's scalars (with ``record`` and ``source``)."""
    return event_tables_and_spans(scalars, corrupt)[0]


def event_tables_and_spans(
    scalars: pd.DataFrame, corrupt: list[dict[str, Any]], *, epoch_shift: int | None = None
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """``event_tables`` and the epoch spans its epochs come from (per epoch: first and last wall
    time, steps, last record, source).  ``epoch_shift``: what to add to the ``epoch`` tag's
    values, when an earlier read of the file decided it (``epoch_shift_of``)."""
    tags = _Tags(scalars)
    steps = _steps_with_walls(scalars, tags, epoch_shift)
    spans = spans_of_steps(steps)
    tables = {
        "steps": conform(steps, "steps") if steps is not None else empty_table("steps"),
        "epochs": epochs_of_spans(spans),
        "evals": _evals(scalars, tags),
        "events": _events(scalars, tags, corrupt),
    }
    return tables, spans


def merge_spans(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The spans of a file read in two parts: ``old``'s then ``new``'s, an epoch met in both joined."""
    both = pd.concat([f for f in (old, new) if len(f)], ignore_index=True) if len(old) or len(new) else old
    if not len(both):
        return both
    grouped = both.groupby("epoch", sort=True)
    return pd.DataFrame(
        {
            "first_wall": grouped["first_wall"].min(),
            "last_wall": grouped["last_wall"].max(),
            "steps": grouped["steps"].sum(),
            "line": grouped["line"].max(),
            "source": grouped["source"].last(),
        }
    ).reset_index()[list(SPAN_COLUMNS)]


def spans_of_steps(steps: pd.DataFrame | None) -> pd.DataFrame:
    """Per epoch of ``steps`` (with ``epoch`` and ``wall_time``): first and last wall time, steps,
    last line, source."""
    if steps is None or "epoch" not in steps or steps["epoch"].isna().all():
        return pd.DataFrame({c: [] for c in SPAN_COLUMNS})
    rows = steps.dropna(subset=["epoch"])
    grouped = rows.groupby(rows["epoch"].astype(np.int64), sort=True)
    return pd.DataFrame(
        {
            "first_wall": grouped["wall_time"].min(),
            "last_wall": grouped["wall_time"].max(),
            "steps": grouped["step"].count(),
            "line": grouped["line"].max(),
            "source": grouped["source"].last(),
        }
    ).reset_index()[list(SPAN_COLUMNS)]


def epochs_of_spans(spans: pd.DataFrame) -> pd.DataFrame:
    """The ``epochs`` rows of the finished epochs among ``spans`` (see the module's docstring)."""
    if not len(spans):
        return empty_table("epochs")
    spans = spans.sort_values("epoch", ignore_index=True)
    steps = spans["steps"].to_numpy(np.float64)
    last = spans["last_wall"].to_numpy(np.float64)
    first = spans["first_wall"].to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        took = np.diff(last, prepend=np.nan)
        took[0] = (last[0] - first[0]) * steps[0] / (steps[0] - 1) if steps[0] > 1 else np.nan
    finished = np.ones(len(spans), dtype=bool)
    finished[-1] = len(spans) > 1 and steps[-1] >= steps[-2]
    frame = pd.DataFrame(
        {
            "epoch": spans["epoch"].to_numpy(np.int64),
            "epoch_time_ms": took * 1000.0,
            "step_time_ms": took * 1000.0 / np.maximum(steps, 1.0),
            "steps": spans["steps"].to_numpy(np.int64),
            "line": spans["line"].to_numpy(np.int64),
            "source": spans["source"].to_numpy(object),
        }
    )
    return conform(frame[finished].reset_index(drop=True), "epochs")


class _Tags:
    """The tags of a scalars table, each compared once: a million values carry a handful of
    tags, so rows are picked by tag number rather than by comparing strings per row."""

    def __init__(self, scalars: pd.DataFrame) -> None:
        codes, names = pd.factorize(scalars["tag"], sort=False) if len(scalars) else ([], [])
        self.codes = np.asarray(codes, dtype=np.int64)  # -1 for a missing tag
        self.names = [str(n) for n in names]  # in order of first appearance
        self.meaning = classify(self.names)

    def rows(self, tags: list[str]) -> np.ndarray:
        """Which rows hold one of ``tags``."""
        hit = np.zeros(len(self.names) + 1, dtype=bool)  # the last: a missing tag (-1)
        hit[[i for i, name in enumerate(self.names) if name in set(tags)]] = True
        return hit[self.codes]

    def chosen(self) -> dict[str, str]:
        """Per steps column, the one tag that fills it: the first recorded of those meaning it."""
        chosen: dict[str, str] = {}
        for tag in self.names:
            table, column = self.meaning.get(tag, ("", ""))
            if table == "steps":
                chosen.setdefault(column, tag)
        return chosen


_SERIES_COLUMNS = ["step", "value", "wall_time", "record", "source"]


def _series(scalars: pd.DataFrame, tags: _Tags, tag: str) -> pd.DataFrame:
    rows = scalars[_SERIES_COLUMNS][tags.rows([tag])]  # the columns first: the tag column is costly to cut
    return rows.drop_duplicates("step", keep="last")


def epoch_shift_of(scalars: pd.DataFrame) -> int | None:
    """What to add to the ``epoch`` tag's values: 1 when its first value is 0 (counted from 0), else
    0; None when these scalars hold no ``epoch`` tag."""
    tags = _Tags(scalars)
    tag = tags.chosen().get("epoch")
    if tag is None:
        return None
    values = scalars["value"].to_numpy(np.float64)[tags.rows([tag])]
    return 1 if len(values) and values[0] == 0 else 0


def _steps_with_walls(
    scalars: pd.DataFrame, tags: _Tags, epoch_shift: int | None = None
) -> pd.DataFrame | None:
    """The steps rows (not conformed: with ``wall_time``), None when no tag fills a steps column."""
    chosen = tags.chosen()
    if not any(column in chosen for column in _STEP_COLUMNS):
        return None
    merged: pd.DataFrame | None = None
    for column in _STEP_COLUMNS:
        if column not in chosen:
            continue
        rows = _series(scalars, tags, chosen[column])
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
    if "epoch" in chosen:
        shift = epoch_shift_of(scalars) if epoch_shift is None else epoch_shift
        merged["epoch"] = _epochs_at(
            merged["step"].to_numpy(np.int64), _series(scalars, tags, chosen["epoch"]), shift
        )
    return merged


def _epochs_at(step: np.ndarray, epochs: pd.DataFrame, shift: int | None) -> pd.arrays.IntegerArray:
    """The epoch (from 1) in force at each step: the last recorded at or before it."""
    epochs = epochs.sort_values("step", kind="stable")
    values = epochs["value"].to_numpy(np.float64)
    at = np.searchsorted(epochs["step"].to_numpy(np.int64), step, side="right") - 1
    found = (
        np.where(at >= 0, values[np.clip(at, 0, None)], np.nan) if len(values) else np.full(len(step), np.nan)
    )
    found = np.floor(found) + (shift or 0)
    return pd.array(np.where(np.isfinite(found), found, np.nan), dtype="Float64").astype("Int64")


def _step_times(step: np.ndarray, wall: np.ndarray) -> np.ndarray:
    """Milliseconds per step between consecutive recorded steps (NaN for the first)."""
    out = np.full(len(step), np.nan)
    if len(step) > 1:
        gap = np.diff(step).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[1:] = np.where(gap > 0, np.diff(wall) * 1000.0 / gap, np.nan)
    return out


def _evals(scalars: pd.DataFrame, tags: _Tags) -> pd.DataFrame:
    metrics = {tag: name for tag, (table, name) in tags.meaning.items() if table == "evals"}
    if not metrics:
        return empty_table("evals")
    picked = tags.rows(list(metrics))
    rows = scalars[["value", "record", "source"]][picked]
    names = sorted(set(metrics.values()))
    metric_of = np.array([names.index(metrics[t]) if t in metrics else 0 for t in tags.names], dtype=np.int64)
    metric = pa.array(names, type=pa.string()).take(pa.array(metric_of[tags.codes[picked]]))
    frame = pd.DataFrame(
        {
            "metric": pd.array(metric, dtype="string"),  # taken by number: no str per row
            "value": rows["value"].to_numpy(),
            "line": rows["record"].to_numpy(),
            "source": rows["source"].array,
        }
    )
    return conform(frame, "evals")


def _events(scalars: pd.DataFrame, tags: _Tags, corrupt: list[dict[str, Any]]) -> pd.DataFrame:
    loss_tags = [t for t, (table, col) in tags.meaning.items() if table == "steps" and col == "loss"]
    nan = scalars[tags.rows(loss_tags) & np.isnan(scalars["value"].to_numpy(np.float64, na_value=np.nan))]
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
