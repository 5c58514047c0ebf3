"""One run from its text log and its summary / event files: rows joined on step, not doubled.

A MindSpore job with ``LossMonitor`` and ``SummaryCollector`` reports the loss of a step
twice, in the log and in the summary.  The log's row stays (it knows the epoch and the
line) and takes from the summary what the log did not print (lr, loss scale), its
``source`` becoming ``log+summary``; steps only the summary recorded are added, with
their epoch when the log says how many steps an epoch has.  Two different losses for
one step are not settled silently: the log's value stays and a ``conflict`` event says
what the summary held.  Values match when equal to float32 precision (summaries store
float32; a log prints more digits).  Eval rows the summary repeats (same metric, same
value) are dropped; epochs and the log's events are the log's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from parsers.parse import ParsedLog
from parsers.schema import conform

__all__ = ["join_logs"]

_FILLED = ("lr", "loss_scale", "step_time_ms")
_RTOL = 1e-6


def join_logs(log: ParsedLog, events: ParsedLog) -> ParsedLog:
    """``log``'s tables with ``events``' joined in (see the module's docstring)."""
    steps, conflicts = _join_steps(log, events)
    evals = _join_evals(log.evals, events.evals)
    frames = [t for t in (log.events, events.events, conflicts) if len(t)]
    joined_events = pd.concat(frames, ignore_index=True) if len(frames) > 1 else (frames or [log.events])[0]
    meta = {
        **log.meta,
        "event_files": events.meta.get("event_files", []),
        "tags": events.meta.get("tags", {}),
        **{k: events.meta[k] for k in ("lineage",) if k in events.meta},
    }
    meta["formats"] = list(dict.fromkeys([*log.meta.get("formats", []), *events.meta.get("formats", [])]))
    return ParsedLog(
        steps=steps,
        epochs=log.epochs,
        evals=evals,
        events=conform(joined_events, "events"),
        meta=meta,
        scalars=events.scalars,
    )


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(invalid="ignore"):
        close = np.abs(a - b) <= _RTOL * np.maximum(1.0, np.abs(b))
    return both_nan | close | (a.astype(np.float32) == b.astype(np.float32))


def _join_steps(log: ParsedLog, events: ParsedLog) -> tuple[pd.DataFrame, pd.DataFrame]:
    ours, theirs = log.steps, events.steps
    if not len(theirs) or not len(ours):
        return (ours if len(ours) else theirs), pd.DataFrame()
    key = ours["global_step"].to_numpy(dtype=np.float64, na_value=np.nan)
    by_step = theirs.drop_duplicates("global_step", keep="last").set_index("global_step")
    hit = np.isin(key, by_step.index.to_numpy(dtype=np.float64))
    steps = ours.copy()
    matched = by_step.loc[key[hit].astype(np.int64)]
    for column in _FILLED:
        values = steps[column].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        fill = matched[column].to_numpy(dtype=np.float64, na_value=np.nan)
        values[hit] = np.where(np.isnan(values[hit]), fill, values[hit])
        steps[column] = values
    source = steps["source"].to_numpy(dtype=object, copy=True)
    source[hit] = [f"{s}+{t}" for s, t in zip(source[hit], matched["source"].astype(object))]
    steps["source"] = source
    ours_loss = steps["loss"].to_numpy(dtype=np.float64, na_value=np.nan)[hit]
    their_loss = matched["loss"].to_numpy(dtype=np.float64, na_value=np.nan)
    differ = ~_same(ours_loss, their_loss) & ~np.isnan(their_loss)
    conflicts = _conflicts(steps[hit][differ], their_loss[differ], matched["source"].astype(object)[differ])
    extra = theirs[~theirs["global_step"].isin(pd.Series(key[hit])).to_numpy()]
    extra = _with_epochs(extra, log.meta.get("steps_per_epoch"))
    joined = pd.concat([steps, extra], ignore_index=True)
    joined = joined.sort_values("global_step", kind="stable", ignore_index=True)
    return conform(joined, "steps"), conflicts


def _with_epochs(rows: pd.DataFrame, per_epoch: object) -> pd.DataFrame:
    if not len(rows) or not isinstance(per_epoch, (int, float)) or per_epoch <= 0:
        return rows
    rows = rows.copy()
    step = rows["global_step"].to_numpy(dtype=np.float64, na_value=np.nan)
    rows["epoch"] = pd.array(np.ceil(step / per_epoch), dtype="Int64")
    return rows


def _conflicts(rows: pd.DataFrame, theirs: np.ndarray, sources: pd.Series) -> pd.DataFrame:
    if not len(rows):
        return pd.DataFrame()
    messages = [
        f"step {step}: the log says loss {ours!r}, the {src} says {their!r}"
        for step, ours, their, src in zip(rows["global_step"], rows["loss"], theirs.tolist(), sources)
    ]
    return pd.DataFrame(
        {
            "kind": "conflict",
            "epoch": rows["epoch"].to_numpy(),
            "line": rows["line"].to_numpy(),
            "message": messages,
            "source": rows["source"].to_numpy(),
        }
    )


def _join_evals(ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    if not len(theirs):
        return ours
    if not len(ours):
        return theirs
    repeated = np.zeros(len(theirs), dtype=bool)
    values = theirs["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    for metric, group in ours.groupby("metric", sort=False):
        mine = group["value"].to_numpy(dtype=np.float64, na_value=np.nan)
        same_metric = (theirs["metric"] == metric).to_numpy(dtype=bool, na_value=False)
        for i in np.flatnonzero(same_metric):
            repeated[i] = bool(_same(mine, np.full(len(mine), values[i])).any())
    return conform(pd.concat([ours, theirs[~repeated]], ignore_index=True), "evals")
