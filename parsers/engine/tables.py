"""The small tables: epochs (rebuilt whole), evals and events (a part's rows).

The epochs table is the one table rebuilt from all its records at every part: the
records of one epoch (its time line, its throughput line) may straddle parts.  Its
raw records are kept in the context, each with the epoch in force at its line.
Evals and events are a part's own rows.  What is special about a format's eval
dicts (keys that are not metrics, the key giving the epoch) is read from its
``LogFormat``.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from parsers.columns import Columns
from parsers.dispatch import PRINTED_NAN
from parsers.engine.context import Context, columns_to_json
from parsers.engine.epochs import Bases, Timeline, epoch_at, frame_epochs, own_or_context_epoch
from parsers.engine.generic import without_generic
from parsers.engine.numbering import spe_from_epochs
from parsers.engine.records import joined_records
from parsers.hparams import hparam_number
from parsers.registry import LogFormat
from parsers.schema import conform, empty_table

__all__ = ["any_events", "epoch_records", "epochs_table", "eval_metrics", "evals_table", "events_table"]


def epoch_records(
    ctx: Context,
    new: tuple[Columns, np.ndarray, list[str]],
    timeline: Timeline,
    generic: set[str],
    *,
    keep: bool = True,
) -> pd.DataFrame:
    """All raw epoch records so far (under the generic rule), each with the epoch in force at its line.

    Keeps them in the context (unless ``keep`` is False: a whole log read in one part has no
    next part), with the running figures read from them: rows dropped, records per format,
    steps per epoch.
    """
    cols, codes, names = new
    cols = {**cols, "_ctx": epoch_at(cols["line"], timeline)}
    joined, codes, names = joined_records(ctx.epochs_raw, (cols, codes, names), name=ctx.name, rank=ctx.rank)
    if keep:
        ctx.epochs_raw = columns_to_json(joined, codes, names)
    frame = pd.DataFrame({**joined, "format": np.asarray(names, dtype=object)[codes]})
    present = {names[c] for c in np.unique(codes)} if len(codes) else set()
    frame, dropped = (
        without_generic(frame, generic) if present & generic else (frame, 0)
    )  # else: nothing to drop
    frame, early = _mid_epoch(frame)
    ctx.stats["epochs_dropped"] = dropped + early
    ctx.stats["epoch_counts"] = dict(Counter(frame["format"].tolist()))  # first-seen order
    ctx.stats["spe_epochs"] = spe_from_epochs(_training(frame))
    return frame


def _training(records: pd.DataFrame) -> pd.DataFrame:
    """The training records (``phase`` not ``eval``), without the ``phase`` column: what
    ``spe_from_epochs`` keeps of them, found without pandas' string methods (a log's
    records are often one row, and those methods cost a millisecond a call)."""
    if "phase" not in records:
        return records
    phase = records["phase"].to_numpy(object)
    is_eval = np.fromiter((isinstance(p, str) and p.lower() == "eval" for p in phase), bool, len(phase))
    return (records[~is_eval] if is_eval.any() else records).drop(columns="phase")


def _mid_epoch(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Records without those printed at a step short of the epoch's steps, and how many.

    ``step: [20/5004], loss is 6.94 Epoch time: 12416.098 ms``: a time printed at step 20 of
    5004 is the time since the last print, not an epoch's time.
    """
    if not {"step", "steps_per_epoch"} <= set(frame.columns):
        return frame, 0
    step = pd.to_numeric(frame["step"], errors="coerce")
    total = pd.to_numeric(frame["steps_per_epoch"], errors="coerce")
    early = (step < total).fillna(False).to_numpy(bool)
    if not early.any():
        return frame, 0
    return frame[~early].reset_index(drop=True), int(early.sum())


def epochs_table(records: pd.DataFrame, bases: Bases) -> pd.DataFrame:
    """The whole epochs table from ``epoch_records`` (before computed throughput)."""
    return epochs_tables([(records, bases)])


def epochs_tables(logs: list[tuple[pd.DataFrame, Bases]]) -> pd.DataFrame:
    """The epochs tables of several logs, one after the other, built in one pass.

    Each log's rows are exactly those ``epochs_table`` gives it alone: every rule below is
    applied per log (``_log`` joins the group keys, the line order and the steps rule), so a
    folder of 10,000 small logs costs a handful of pandas operations, not 10,000 handfuls.
    """
    logs = [(records, bases) for records, bases in logs if len(records)]
    if not logs:
        return empty_table("epochs")
    frames = [records for records, _ in logs]
    records = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    log = np.repeat(np.arange(len(frames)), [len(f) for f in frames])
    rows = records.drop(columns="_ctx")
    rows["_log"] = log  # the first key of every per-log rule below
    rows["epoch"] = _own_or_context_epochs(records, log, [bases for _, bases in logs])
    for col in ("epoch_time_ms", "step_time_ms", "data_time_ms", "samples_per_sec", "steps"):
        if col in rows:
            rows[col] = pd.to_numeric(rows[col], errors="coerce")
    phased = np.repeat([("phase" in f) for f in frames], [len(f) for f in frames])
    if phased.any():  # a log whose records have a phase: its eval records' time is an eval time
        is_eval = rows["phase"].astype("string").str.lower().eq("eval").fillna(False)
        derived = rows["epoch_time_ms"].where(is_eval)
        printed = rows.get("eval_time_ms", np.nan)  # what logs without a phase printed
        rows["eval_time_ms"] = derived.where(phased, printed)
        for col in ("epoch_time_ms", "step_time_ms", "data_time_ms"):
            if col in rows:
                rows[col] = rows[col].where(~is_eval)
    rows["samples_per_sec_source"] = np.where(
        rows.get("samples_per_sec", pd.Series(np.nan, index=rows.index)).notna(), "printed", None
    )
    known = rows[rows["epoch"].notna()]
    unknown = rows[rows["epoch"].isna()]
    keys = ["_log", "rank", "epoch"]
    columns = [c for c in rows.columns if c not in (*keys, "format", "phase")]
    groups = known.groupby(keys, dropna=False, sort=False)
    merged = groups[columns].first().reset_index()
    merged["line"] = groups["line"].min().to_numpy()
    out = pd.concat([merged, unknown[[c for c in merged.columns if c in unknown]]], ignore_index=True)
    out = out.sort_values(["_log", "line"], kind="stable", ignore_index=True)
    _steps_from_ratio(out, out["_log"].to_numpy(np.int64))
    return conform(out, "epochs")


def _own_or_context_epochs(records: pd.DataFrame, log: np.ndarray, bases: list[Bases]) -> np.ndarray:
    """``own_or_context_epoch`` of each log's records, computed once for all logs.

    A row's own epoch is shifted by its format's base in its own log; a row without one
    takes the epoch in force at its line among its own log's records (lines are made
    disjoint across logs, so no log sees another's statements).
    """
    if len(bases) == 1:
        line = records["line"].to_numpy(np.int64)
        return own_or_context_epoch(records, [(line, records["_ctx"].to_numpy(np.float64))], bases[0])
    if "epoch" in records:
        codes, names = pd.factorize(records["format"])
        shift = np.array([[1 - b.get(name, 1) for name in names] for b in bases] or [[0]], np.float64)
        own = pd.to_numeric(records["epoch"], errors="coerce").to_numpy(np.float64, na_value=np.nan)
        own = own + shift[log, codes]
    else:
        own = np.full(len(records), np.nan)
    if np.isnan(own).any():
        line = records["line"].to_numpy(np.int64)
        span = int(line.max()) + 1
        disjoint = log * span + line  # each log's lines after the ones before: still sorted
        in_force = epoch_at(disjoint, [(disjoint, records["_ctx"].to_numpy(np.float64))])
        own = np.where(np.isnan(own), in_force, own)
    return own


def _steps_from_ratio(out: pd.DataFrame, log: np.ndarray) -> None:
    """Steps of a log's epochs from epoch time / step time when it printed no step count at all
    (in place; each log, ``log`` numbering each row's, decides for itself)."""
    if "step_time_ms" not in out or "epoch_time_ms" not in out:
        return
    steps = out["steps"] if "steps" in out else pd.Series(np.nan, index=out.index)
    printed = np.bincount(log, weights=steps.notna().to_numpy(bool), minlength=int(log.max()) + 1)
    none_printed = printed[log] == 0
    if not none_printed.any():
        return
    ratio = out["epoch_time_ms"] / out["step_time_ms"]
    near = (ratio - ratio.round()).abs() < 0.05
    out["steps"] = steps.where(~none_printed, ratio.round().where(near))


def evals_table(
    raw: pd.DataFrame, timeline: Timeline, bases: Bases, formats: dict[str, LogFormat]
) -> pd.DataFrame:
    """One row per metric value: printed columns, ``metric_*`` groups, and eval dicts."""
    if not len(raw):
        return empty_table("evals")
    raw = raw.copy()
    raw["own_epoch"] = frame_epochs(raw, bases)
    raw["epoch"] = own_or_context_epoch(raw, timeline, bases)
    records: list[dict[str, Any]] = []
    metric_cols = [c for c in raw.columns if c.startswith("metric_")]
    for row in raw.to_dict("records"):
        base = {"epoch": row["epoch"], "rank": row.get("rank"), "line": row["line"]}
        if isinstance(row.get("metrics"), dict):
            fmt = formats[row["format"]]
            key = fmt.eval_epoch_key
            if key is not None and key in row["metrics"] and pd.isna(row.get("own_epoch")):
                base["epoch"] = _progress_epoch(row["metrics"][key], base["epoch"])
            for name, value in eval_metrics(row["metrics"], fmt.eval_not_metrics).items():
                number = hparam_number(value)
                if number is not None:
                    records.append({**base, "metric": name, "value": number})
        if _running(row):
            continue
        printed = row.get(PRINTED_NAN)
        nan = set(printed.split(",")) if isinstance(printed, str) else set()
        for col in metric_cols:
            value = row.get(col)
            if value is not None and (not pd.isna(value) or col in nan):  # a printed NaN is a value
                records.append({**base, "metric": col[len("metric_") :], "value": float(value)})
        if row.get("metric") is not None and row.get("value") is not None:
            records.append({**base, "metric": str(row["metric"]), "value": float(row["value"])})
    return pd.DataFrame(records) if records else empty_table("evals")


def _running(row: dict[str, Any]) -> bool:
    """An eval line printed with a progress short of its total (``valid ... 1000 / 1311 loss=1.60``,
    ``Epoch(val) [1][10/313]``) is a running evaluation's partial figure, not its result."""
    step, total = row.get("step"), row.get("steps_per_epoch")
    return (
        step is not None and total is not None and not pd.isna(step) and not pd.isna(total) and step < total
    )


def eval_metrics(values: dict[str, Any], not_metrics: tuple[str, ...]) -> dict[str, Any]:
    """The metrics of an eval dict: without the keys its format says are not metrics.

    A nested dict (``{'PerplexityMetric': {'loss': 2.11, 'PPL': 8.28}}``) is flattened;
    inner names are kept as they are when there is one outer key.
    """
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            for inner, v in value.items():
                flat[str(inner) if len(values) == 1 else f"{key}.{inner}"] = v
        else:
            flat[str(key)] = value
    names = {k for k in not_metrics if not k.startswith("*")}
    suffixes = tuple(k[1:] for k in not_metrics if k.startswith("*"))
    return {k: v for k, v in flat.items() if k not in names and not (suffixes and k.endswith(suffixes))}


def _progress_epoch(progress: Any, fallback: Any) -> Any:
    """The epoch an ``'epoch': 1.5`` progress figure falls in (an integer stays itself)."""
    number = hparam_number(progress)
    if number is None or not math.isfinite(number):
        return fallback
    return max(1, math.ceil(number))


def any_events(raw: pd.DataFrame, steps: pd.DataFrame) -> bool:
    """Whether ``events_table`` has anything to report: event lines, NaN losses, overflows."""
    if len(raw):
        return True
    if not len(steps):
        return False
    loss = steps["loss"].to_numpy(np.float64)
    return not bool(np.isfinite(loss).all()) or bool(steps["overflow"].fillna(False).to_numpy(bool).any())


def events_table(raw: pd.DataFrame, steps: pd.DataFrame, timeline: Timeline) -> pd.DataFrame:
    """Event lines, plus a ``nan`` event per non-finite loss and an ``overflow`` one per flagged step."""
    parts = []
    if len(raw):
        events = raw[["kind", "line", "message", "rank"]].copy()
        events["epoch"] = epoch_at(events["line"].to_numpy(np.int64), timeline)
        parts.append(events)
    if len(steps):
        bad = steps[~np.isfinite(steps["loss"].to_numpy(dtype=float, na_value=np.nan))]
        if len(bad):
            parts.append(_derived(bad, "nan", lambda r: f"loss is {r.loss} at epoch {r.epoch} step {r.step}"))
        flagged = steps[steps["overflow"].astype("boolean").fillna(False)]
        if len(flagged):
            parts.append(
                _derived(
                    flagged, "overflow", lambda r: f"loss scale overflow at epoch {r.epoch} step {r.step}"
                )
            )
    if not parts:
        return empty_table("events")
    return pd.concat(parts, ignore_index=True).sort_values("line", kind="stable", ignore_index=True)


def _derived(rows: pd.DataFrame, kind: str, message) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": kind,
            "line": rows["line"].to_numpy(),
            "epoch": rows["epoch"].to_numpy(),
            "rank": rows["rank"].to_numpy(),
            "message": [message(r) for r in rows.itertuples()],
        }
    )
