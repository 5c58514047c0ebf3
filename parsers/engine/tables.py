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
from parsers.engine.numbering import float_column, spe_from_epochs
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
    keep: bool,
) -> pd.DataFrame:
    """All raw epoch records so far (under the generic rule), each with the epoch in force at its line.

    Keeps them in the context (unless ``keep`` is False: a whole log read in one part has no
    next part), with the running figures read from them: rows dropped, records per format,
    steps per epoch.
    """
    cols, codes, names = new
    cols = {**cols, "_ctx": epoch_at(cols["line"], timeline)}
    joined, codes, names = joined_records(ctx.epochs_raw, (cols, codes, names))
    if keep:
        ctx.epochs_raw = columns_to_json(joined, codes, names)
    records: Records = {**joined, "format": np.asarray(names, dtype=object)[codes]}
    present = {names[c] for c in np.unique(codes)} if len(codes) else set()
    records, dropped = (
        without_generic(records, generic) if present & generic else (records, 0)
    )  # else: nothing to drop
    records, early = _mid_epoch(records)
    if "loss" in records and "samples_per_sec" in records:  # rare: the rule runs on a frame
        records, _ = _step_rates(pd.DataFrame(records))  # their lines gave step rows: no line is skipped
    ctx.stats["epochs_dropped"] = dropped + early
    ctx.stats["epoch_counts"] = dict(Counter(list(records["format"])))  # first-seen order
    ctx.stats["spe_epochs"] = spe_from_epochs(records)
    return records


# A log's epoch records: a dict of numpy columns (``format`` included), a frame once a rule needed one.
# Frames are built by ``epochs_tables``, one for a run of logs: a one-row frame a log cost a millisecond.
Records = dict[str, np.ndarray] | pd.DataFrame


def _rows(records: Records) -> int:
    return len(records["line"]) if isinstance(records, dict) else len(records)


def _mid_epoch(records: Records) -> tuple[Records, int]:
    """Records without those printed at a step short of the epoch's steps, and how many lines
    that leaves unread.

    ``step: [20/5004], loss is 6.94 Epoch time: 12416.098 ms``: a time printed at step 20 of
    5004 is the time since the last print, not an epoch's time.  A record whose line also gave
    a step row (it holds a loss) leaves nothing unread: it is not counted as skipped.
    """
    if "step" not in records or "steps_per_epoch" not in records:
        return records, 0
    early = float_column(records["step"]) < float_column(records["steps_per_epoch"])  # NaN: not early
    if not early.any():
        return records, 0
    unread = early & np.isnan(float_column(records["loss"])) if "loss" in records else early
    if isinstance(records, pd.DataFrame):  # its index is never read: every rule reads positions
        return records[~early], int(unread.sum())
    return {k: np.asarray(v)[~early] for k, v in records.items()}, int(unread.sum())


# The times that make a step line's record an epoch's whatever else it prints.
_EPOCH_TIMES = ("epoch_time_ms", "data_time_ms", "eval_time_ms")


def _step_rates(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Records without the step lines' throughputs that are a step's, not an epoch's, and how many.

    A step line (it holds a loss) may print a throughput and no epoch time.  Printed once an
    epoch (DS-CNN's ``epoch[1], iter[443], loss:0.74, mean_wps:12102.26 wavs/sec``) it is the
    epoch's; where a format prints it twice in one epoch of one rank (YOLOv5's ``fps:580.07
    imgs/sec`` every 100 iterations), or outside any epoch, it is each step's, and none of that
    format's are epoch records.  A step time beside the throughput (PaddleOCR's ``batch_cost: 0.18 s
    ... ips: 355 samples/s``) is the step's as the throughput is.  (A step line reaches the epoch
    records only with an epoch time or a throughput: ``records._epoch_figures``, the grammar.)
    """
    timed = np.zeros(len(frame), bool)
    for col in _EPOCH_TIMES:
        if col in frame:
            timed |= ~np.isnan(float_column(frame[col]))
    has_rate = ~np.isnan(float_column(frame["samples_per_sec"]))
    stepline = ~np.isnan(float_column(frame["loss"])) & ~timed
    if not stepline.any():
        return frame, 0
    rated = stepline & has_rate
    ctx_epoch = frame["_ctx"].to_numpy(np.float64)
    epoch = float_column(frame["epoch"]) if "epoch" in frame else np.full(len(frame), np.nan)
    epoch = np.where(np.isnan(epoch), ctx_epoch, epoch)
    fmt = pd.factorize(frame["format"])[0]  # codes: no Python loop over a string column
    rank = np.nan_to_num(float_column(frame["rank"]), nan=-1.5)
    keys = pd.DataFrame({"format": fmt[rated], "rank": rank[rated], "epoch": epoch[rated]})
    per_step = (np.isnan(keys["epoch"].to_numpy()) | keys.duplicated(keep=False).to_numpy()).astype(bool)
    repeating = np.isin(fmt, np.unique(keys["format"].to_numpy()[per_step]))
    drop = stepline & ~(rated & ~repeating)
    if not drop.any():
        return frame, 0
    return frame[~drop], int(drop.sum())  # the index is never read: every rule reads positions


def epochs_table(records: Records, bases: Bases) -> pd.DataFrame:
    """The whole epochs table from ``epoch_records`` (before computed throughput)."""
    return epochs_tables([(records, bases)])


def epochs_tables(logs: list[tuple[Records, Bases]]) -> pd.DataFrame:
    """The epochs tables of several logs, one after the other, built in one pass.

    Each log's rows are exactly those ``epochs_table`` gives it alone: every rule below is
    applied per log (the log joins the group keys, the line order and the steps rule), so a
    folder of 10,000 small logs costs a handful of operations, not 10,000 handfuls.  The
    rules run on numpy columns: an epochs table is small, and pandas' cost per call (about a
    millisecond on a busy machine) made a log's one-row table cost 20 ms.
    """
    logs = [(records, bases) for records, bases in logs if _rows(records)]
    if not logs:
        return empty_table("epochs")
    sizes = [_rows(records) for records, _ in logs]
    records = _one_frame([records for records, _ in logs])
    log = np.repeat(np.arange(len(logs)), sizes)
    epoch = _own_or_context_epochs(records, log, [bases for _, bases in logs])
    cols = {c: records[c].to_numpy() for c in records.columns if c not in ("_ctx", "format", "epoch")}
    for col in ("epoch_time_ms", "step_time_ms", "data_time_ms", "samples_per_sec", "steps"):
        if col in cols and cols[col].dtype.kind not in "fiu":
            cols[col] = pd.to_numeric(cols[col], errors="coerce")
    phase = cols.pop("phase", None)
    if phase is not None:
        _eval_times(cols, phase, np.repeat([("phase" in records) for records, _ in logs], sizes))
    printed = cols["samples_per_sec"] if "samples_per_sec" in cols else np.full(len(log), np.nan)
    cols["samples_per_sec_source"] = np.where(pd.notna(printed), "printed", None)
    shape = records["pattern"] if "pattern" in records else records["format"]
    repeat = _repeated_timings(cols, shape.to_numpy(object), log, epoch)
    out = _first_per_epoch(cols, log, epoch, repeat)
    _steps_from_ratio(out, out.pop("_log"))
    return conform(pd.DataFrame(out), "epochs")


def _one_frame(parts: list[Records]) -> pd.DataFrame:
    """The logs' records as one frame, as ``pd.concat`` of each log's frame gives it: logs whose
    columns have the same names, dtypes and kind of text (only text, or only ``None``: a dtype
    inferred alike) are joined as arrays first, one frame built for the run of them."""
    frames: list[pd.DataFrame] = []
    run: list[dict[str, np.ndarray]] = []
    shape: tuple | None = None
    for part in parts:
        kind = _kinds(part) if isinstance(part, dict) else None
        if run and kind != shape:
            frames.append(_run_frame(run))
            run = []
        if kind is None:
            frames.append(part if isinstance(part, pd.DataFrame) else pd.DataFrame(part))
        else:
            run.append(part)  # type: ignore[arg-type]
            shape = kind
    if run:
        frames.append(_run_frame(run))
    return pd.concat(frames)  # read by position: labels unused


def _kinds(part: dict[str, np.ndarray]) -> tuple | None:
    """Each column's name, dtype and, for text, whether it holds only text or only ``None``
    (``None`` when a column mixes them: that log's frame is built on its own)."""
    kinds = []
    for name, values in part.items():
        kind = values.dtype.str
        if values.dtype.kind == "O":
            items = values.tolist()
            if all(isinstance(x, str) for x in items):
                kind = "text"
            elif not all(x is None for x in items):
                return None
        elif values.dtype.kind not in "fiu":
            return None
        kinds.append((name, kind))
    return tuple(kinds)


def _run_frame(run: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    return pd.DataFrame({k: np.concatenate([part[k] for part in run]) for k in run[0]})


def _eval_times(cols: dict[str, np.ndarray], phase: np.ndarray, phased: np.ndarray) -> None:
    """In a log whose records have a phase, an eval record's epoch time is its eval time (and
    none of its train times); a log without one keeps the eval time it printed."""
    is_eval = np.fromiter((isinstance(p, str) and p.lower() == "eval" for p in phase), bool, len(phase))
    nan = np.full(len(phase), np.nan)
    epoch_time = cols.get("epoch_time_ms", nan)
    cols["eval_time_ms"] = np.where(
        phased, np.where(is_eval, epoch_time, np.nan), cols.get("eval_time_ms", nan)
    )
    for col in ("epoch_time_ms", "step_time_ms", "data_time_ms"):
        if col in cols:
            cols[col] = np.where(is_eval, np.nan, cols[col])


def _repeated_timings(
    cols: dict[str, np.ndarray], shape: np.ndarray, log: np.ndarray, epoch: np.ndarray
) -> np.ndarray:
    """Per record, how many epoch times of its epoch, pattern and log, with no rank tag, came before it.

    Ranks printing to one stream without a tag each time the same epoch (``Train epoch time``
    four times for epoch 1 of a 4-rank job): one epoch, several timings, kept as the tagged
    ranks' are, one row each (their rank unknown), not the first alone.  Times of one epoch read
    by two patterns (TimeMonitor's line and a script's ``cost time`` line) are one timing printed
    twice: the first stands, as before.  A record without an epoch time is 0: it joins the
    epoch's first row.
    """
    repeat = np.zeros(len(epoch))  # a count, compared as a key: 1.0 == 1
    times = cols.get("epoch_time_ms")
    if times is None:
        return repeat
    timed = np.flatnonzero(~pd.isna(times) & np.isnan(cols["rank"]) & ~np.isnan(epoch))
    seen: Counter = Counter()
    for i in timed.tolist():
        key = (log[i], shape[i], epoch[i])
        repeat[i] = seen[key]
        seen[key] += 1
    return repeat


def _first_per_epoch(
    cols: dict[str, np.ndarray], log: np.ndarray, epoch: np.ndarray, repeat: np.ndarray
) -> dict[str, np.ndarray]:
    """One row per (log, rank, epoch, timing: ``_repeated_timings``) -- each column's first value
    present, the first line -- then the records without an epoch, all in (log, line) order."""
    rank = cols.pop("rank")  # float64, as ``RawRecords.columns`` gives it
    line = cols.pop("line")
    known = ~np.isnan(epoch)
    rows = np.flatnonzero(known)
    groups: dict[tuple, int] = {}
    group = np.fromiter(
        (
            groups.setdefault(
                (log[i], -1.5 if rank[i] != rank[i] else rank[i], epoch[i], repeat[i]), len(groups)
            )
            for i in rows
        ),
        np.int64,
        len(rows),
    )
    firsts = np.unique(group, return_index=True)[1]  # each group's first row
    head = rows[firsts]
    merged = {"_log": log[head], "rank": rank[head], "epoch": epoch[head]}
    for name, values in cols.items():
        merged[name] = _first_present(values[rows], group, len(groups))
    lowest = np.full(len(groups), np.iinfo(np.int64).max)  # int64, as lines are
    np.minimum.at(lowest, group, line[rows].astype(np.int64))
    merged["line"] = lowest
    loose = np.flatnonzero(~known)
    unknown = {"_log": log[loose], "rank": rank[loose], "epoch": epoch[loose], "line": line[loose]}
    unknown.update({name: values[loose] for name, values in cols.items()})
    out = {name: np.concatenate([merged[name], unknown[name]]) for name in merged}
    order = np.lexsort((out["line"], out["_log"]))  # stable, as a stable sort by (log, line)
    return {name: values[order] for name, values in out.items()}


def _first_present(values: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Per group, the first value that is not missing (missing where a group has none)."""
    holes = values.dtype.kind not in "iub"  # integers and flags hold no missing value
    present = np.flatnonzero(~pd.isna(values)) if holes else np.arange(len(values))
    found, first = np.unique(group[present], return_index=True)
    if len(found) == n:
        out = np.empty(n, values.dtype)
    elif values.dtype.kind == "O":
        out = np.full(n, None)  # object, as None makes it
    else:
        out = np.full(n, np.nan)
    out[found] = values[present[first]]
    return out


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
        shift = np.array([[1 - b.get(name, 1) for name in names] for b in bases])  # log x format
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


def _steps_from_ratio(out: dict[str, np.ndarray], log: np.ndarray) -> None:
    """Steps of a log's epochs from epoch time / step time when it printed no step count at all
    (in place; each log, ``log`` numbering each row's, decides for itself)."""
    if "step_time_ms" not in out or "epoch_time_ms" not in out or not len(log):
        return
    steps = out["steps"].astype(np.float64) if "steps" in out else np.full(len(log), np.nan)
    printed = np.bincount(log, weights=~np.isnan(steps), minlength=int(log.max()) + 1)
    none_printed = printed[log] == 0
    if not none_printed.any():
        return
    with np.errstate(divide="ignore", invalid="ignore"):  # a 0.000 ms step time: inf or NaN, not near
        ratio = out["epoch_time_ms"].astype(np.float64) / out["step_time_ms"].astype(np.float64)
        near = np.abs(ratio - np.round(ratio)) < 0.05
    out["steps"] = np.where(none_printed, np.where(near, np.round(ratio), np.nan), steps)


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
    if not np.isfinite(steps["loss"].to_numpy()).all():  # float64, as ``steps_frame`` builds it
        return True
    return bool(steps["overflow"].eq(True).any())  # a missing flag is no overflow


def events_table(raw: pd.DataFrame, steps: pd.DataFrame, timeline: Timeline) -> pd.DataFrame:
    """Event lines, plus a ``nan`` event per non-finite loss and an ``overflow`` one per flagged step."""
    parts = []
    if len(raw):
        events = raw[["kind", "line", "message", "rank"]].copy()
        events["epoch"] = epoch_at(events["line"].to_numpy(np.int64), timeline)
        parts.append(events)
    if len(steps):
        bad = steps[~np.isfinite(steps["loss"].to_numpy())]
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
    return pd.concat(parts).sort_values("line", kind="stable")  # conformed (renumbered) by the caller


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
