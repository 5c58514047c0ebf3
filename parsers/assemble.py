"""From raw per-pattern records to the four documented tables and ``meta``.

Raw records know only what their own line says.  Here the log is read as a whole,
with pandas, to fill in what needs context: the epoch a TimeMonitor line closes,
the epoch of a quickstart step (from the ``Epoch 3`` header above it), global
steps whether the log counts steps per epoch or cumulatively, 0-based epochs,
throughput from batch size, NaN and overflow events, and which formats were seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from parsers.columns import ColumnParts, Columns
from parsers.dispatch import ChunkRecords, constant_column, is_constant
from parsers.hparams import hparam_number, in_key_value_dump, merge_hparams, split_bare_dicts
from parsers.registry import FORMATS, LogFormat, hparam_keys, named_formats
from parsers.schema import conform, empty_table

if TYPE_CHECKING:
    from parsers.parse import ParsedLog

__all__ = ["RawRecords", "assemble"]

RAW_TABLES = ("steps", "epochs", "evals", "events", "hparams", "meta", "context", "step_times")
SKIPPED_EXAMPLES = 20


@dataclass
class RawRecords:
    """Everything extracted from one log before context is applied.

    Per table, a list of column dicts (numbers as float64 with NaN for missing,
    text as object arrays) plus the format of each part; ``columns`` joins them
    in line order.  Kept as plain arrays because the steps table can hold
    millions of rows and pandas' per-column machinery would dominate the cost.
    """

    name: str
    rank: int | None
    first_line: int = 0
    lines_read: int = 0
    bytes_read: int = 0
    lines_skipped: int = 0
    lines_noise: int = 0
    skipped_examples: list[int] = field(default_factory=list)
    size_hint: int = 0  # bytes the source will yield, when known: sizes the column buffers
    bytes_added: int = 0
    parts: dict[str, ColumnParts] = field(default_factory=dict)

    def add(self, chunk: ChunkRecords) -> None:
        base = self.first_line + self.lines_read
        self.bytes_added += chunk.n_bytes
        for batch in chunk.batches:
            n = len(batch.rows)
            columns = dict(batch.columns)
            columns["line"] = base + batch.rows + 1
            for key, value in batch.pattern.constants.items():
                columns[key] = constant_column(n, value, numeric=isinstance(value, (int, float)))
            for table in (batch.pattern.table, *batch.pattern.also):
                parts = self.parts.setdefault(table, ColumnParts())
                parts.append(batch.fmt.name, columns, expected_rows=self._expected(parts.n + n))
        self.lines_read += chunk.n_lines
        self.lines_skipped += len(chunk.skipped_rows)
        self.lines_noise += chunk.noise
        room = SKIPPED_EXAMPLES - len(self.skipped_examples)
        if room > 0:
            self.skipped_examples.extend((base + chunk.skipped_rows[:room] + 1).tolist())

    def _expected(self, rows: int) -> int:
        """Rows a table will have at the end, extrapolated from the bytes read so far."""
        if not self.size_hint or not self.bytes_added:
            return 0
        return int(rows * self.size_hint / self.bytes_added * 1.02) + 16

    def columns(self, name: str, *, consume: bool = False) -> tuple[Columns, np.ndarray, list[str]]:
        """Joined columns of one raw table in line order, per-row format codes, format names.

        With ``consume`` the table is handed over and forgotten here, so a table of
        millions of rows is never held twice.
        """
        parts = self.parts.pop(name, None) if consume else self.parts.get(name)
        if parts is None or not parts.n:
            return {"line": np.empty(0, np.int64), "rank": np.empty(0)}, np.empty(0, np.int16), []
        joined, codes, names = parts.join()
        line = joined["line"]
        if len(line) > 1 and not bool(np.all(line[1:] > line[:-1])):
            order = np.argsort(line, kind="stable")
            joined = {k: v[order] for k, v in joined.items()}
            codes = codes[order]
        own = np.nan if self.rank is None else float(self.rank)
        rank = joined.get("rank")
        if rank is None or (is_constant(rank) and np.isnan(rank[0])):
            joined["rank"] = np.broadcast_to(np.float64(own), (len(line),))
        elif not np.isnan(own):
            joined["rank"] = np.where(np.isnan(rank), own, rank)
        return joined, codes, names

    def frame(self, name: str) -> pd.DataFrame:
        """A small raw table as a DataFrame with a ``format`` column of names."""
        cols, codes, names = self.columns(name)
        frame = pd.DataFrame(cols)
        frame["format"] = np.asarray(names, dtype=object)[codes] if names else pd.Series(dtype=object)
        return frame


def assemble(
    raws: list[RawRecords], *, forced: str | None = None, formats: dict[str, LogFormat] | None = None
) -> ParsedLog:
    """Build the tables of one run from the raw records of its log file(s)."""
    from parsers.parse import ParsedLog

    per_file = [_assemble_one(raw, FORMATS if formats is None else formats) for raw in raws]
    tables = {
        name: pd.concat([t[name] for t, _ in per_file], ignore_index=True)
        if len(per_file) > 1
        else per_file[0][0][name]
        for name in ("steps", "epochs", "evals", "events")
    }
    meta = _merge_meta([m for _, m in per_file], raws, forced, formats)
    _computed_throughput(tables["epochs"], meta)
    return ParsedLog(**{k: conform(v, k) for k, v in tables.items()}, meta=meta)


def _assemble_one(
    raw: RawRecords, formats: dict[str, LogFormat]
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    small = {name: raw.frame(name) for name in RAW_TABLES if name != "steps"}
    cols, codes, names = raw.columns("steps", consume=True)
    cols, codes, small, dropped = _drop_generic(cols, codes, names, small, formats)
    small["evals"], bare_hparams = split_bare_dicts(small["evals"])
    meta = _meta(small, raw, bare_hparams, dropped, _code_counts(codes, names), cols, formats)
    epoch = _shifted_epochs(cols.get("epoch"), codes, names, len(cols["line"]), formats)
    timeline = _epoch_timeline(cols["line"], epoch, small, formats)
    if np.isnan(epoch).any():
        epoch = np.where(np.isnan(epoch), _epoch_at(cols["line"], timeline), epoch)
    steps = _steps(cols, epoch, [formats[n].step_base for n in names if n in formats], small["epochs"], meta)
    _join_step_times(steps, small["step_times"], formats)
    epochs = _epochs(small["epochs"], timeline, formats)
    evals = _evals(small["evals"], timeline, formats)
    events = _events(small["events"], steps, timeline)
    return {"steps": steps, "epochs": epochs, "evals": evals, "events": events}, meta


def _join_step_times(steps: pd.DataFrame, times: pd.DataFrame, formats: dict[str, LogFormat]) -> None:
    """Fill step times printed on lines of their own into the matching loss records."""
    if not len(times) or not len(steps) or "step_time_ms" not in times:
        return
    keys = pd.DataFrame(
        {
            "epoch": pd.array(np.round(_frame_epochs(times, formats)), dtype="Int64"),
            "step": pd.to_numeric(times["step"], errors="coerce").astype("Int64"),
            "time": pd.to_numeric(times["step_time_ms"], errors="coerce"),
        }
    ).drop_duplicates(["epoch", "step"], keep="last")
    joined = steps[["epoch", "step"]].merge(keys, on=["epoch", "step"], how="left")["time"].to_numpy()
    steps["step_time_ms"] = steps["step_time_ms"].fillna(pd.Series(joined, index=steps.index))


def _code_counts(codes: np.ndarray, names: list[str]) -> dict[str, int]:
    if len(names) == 1:
        return {names[0]: len(codes)}
    counts = np.bincount(codes, minlength=len(names)) if len(codes) else np.zeros(len(names), int)
    return {name: int(n) for name, n in zip(names, counts)}


def _drop_generic(
    cols: Columns,
    codes: np.ndarray,
    names: list[str],
    small: dict[str, pd.DataFrame],
    formats: dict[str, LogFormat],
):
    """Records of generic (fallback) formats count only where no specific format has any."""
    generic = {name for name, fmt in formats.items() if fmt.generic}
    dropped = 0
    is_generic = np.isin(codes, [i for i, n in enumerate(names) if n in generic])
    if is_generic.any() and (~is_generic).any():
        dropped += int(is_generic.sum())
        keep = ~is_generic
        cols = {k: v[keep] for k, v in cols.items()}
        codes = codes[keep]
    for name in ("epochs", "evals"):
        frame = small[name]
        if not len(frame):
            continue
        mask = frame["format"].isin(generic)
        if mask.any() and (~mask).any():
            dropped += int(mask.sum())
            small[name] = frame[~mask].reset_index(drop=True)
    return cols, codes, small, dropped


def _shifted_epochs(
    epoch: np.ndarray | None, codes: np.ndarray, names: list[str], n: int, formats: dict[str, LogFormat]
) -> np.ndarray:
    """Epochs 1-based: formats counting from 0 (or printing 0 when unsure) are shifted by one."""
    if epoch is None:
        return np.full(n, np.nan)
    shifts = np.zeros(max(len(names), 1))
    for code, name in enumerate(names):
        fmt = formats.get(name)
        base = fmt.epoch_base if fmt is not None else 1
        if base is None:
            base = 0 if bool((epoch[codes == code] == 0).any()) else 1
        shifts[code] = 1 - base
    if not shifts.any() or not len(codes):
        return epoch
    return epoch + shifts[codes]


def _frame_epochs(frame: pd.DataFrame, formats: dict[str, LogFormat]) -> np.ndarray:
    if "epoch" not in frame or not len(frame):
        return np.full(len(frame), np.nan)
    codes, names = pd.factorize(frame["format"])
    epoch = pd.to_numeric(frame["epoch"], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    return _shifted_epochs(epoch, codes.astype(np.int16), list(names), len(frame), formats)


Timeline = list[tuple[np.ndarray, np.ndarray]]


def _epoch_timeline(
    step_lines: np.ndarray,
    step_epochs: np.ndarray,
    small: dict[str, pd.DataFrame],
    formats: dict[str, LogFormat],
) -> Timeline:
    """Sources of (line, epoch) pairs, each in line order: the steps and the small tables.

    Kept as separate sorted sources rather than one merged array: merging would copy
    and sort millions of step lines to place a few hundred epoch-time lines.
    """
    sources = [(step_lines, step_epochs)]
    for name in ("context", "epochs", "evals"):
        frame = small[name]
        if len(frame) and "epoch" in frame:
            sources.append((frame["line"].to_numpy(np.int64), _frame_epochs(frame, formats)))
    return _known_epochs(sources)


def _known_epochs(sources: Timeline) -> Timeline:
    """Each (lines, epochs) source without the lines that state no epoch; empty sources dropped."""
    timeline = []
    for lines, epochs in sources:
        known = ~np.isnan(epochs)
        if not known.all():
            lines, epochs = lines[known], epochs[known]
        if len(lines):
            timeline.append((lines, epochs))
    return timeline


def _epoch_at(lines: np.ndarray, timeline: Timeline) -> np.ndarray:
    """Epoch in force at each line: the last one stated at or before it (NaN before any)."""
    lines = np.asarray(lines, dtype=np.int64)
    best_line = np.full(len(lines), -1, dtype=np.int64)
    best_epoch = np.full(len(lines), np.nan)
    for known_lines, known_epochs in timeline:
        pos = np.searchsorted(known_lines, lines, side="right") - 1
        found = pos >= 0
        cand_line = np.where(found, known_lines[np.clip(pos, 0, None)], -1)
        better = cand_line > best_line
        best_line = np.where(better, cand_line, best_line)
        best_epoch = np.where(better, known_epochs[np.clip(pos, 0, None)], best_epoch)
    return best_epoch


def _own_or_context_epoch(
    frame: pd.DataFrame, timeline: Timeline, formats: dict[str, LogFormat]
) -> np.ndarray:
    own = _frame_epochs(frame, formats)
    if np.isnan(own).any():
        own = np.where(np.isnan(own), _epoch_at(frame["line"].to_numpy(np.int64), timeline), own)
    return own


def _int_array(values: np.ndarray) -> pd.arrays.IntegerArray:
    if is_constant(values) and np.isnan(values[0]):
        return pd.arrays.IntegerArray(np.zeros(len(values), np.int64), np.ones(len(values), bool))
    if values.dtype == np.int64:  # gathered integers: nothing missing
        return pd.arrays.IntegerArray(values, np.zeros(len(values), bool))
    missing = np.isnan(values)
    if missing.any():
        values = np.where(missing, 0.0, values)
    return pd.arrays.IntegerArray(values.astype(np.int64), missing)


def _steps(
    cols: Columns,
    epoch: np.ndarray,
    step_bases: list[int],
    raw_epochs: pd.DataFrame,
    meta: dict,
) -> pd.DataFrame:
    n = len(cols["line"])
    if not n or "loss" not in cols:
        return empty_table("steps")
    missing = np.broadcast_to(np.float64(np.nan), (n,))
    step = cols.get("step", missing)
    rank = cols.pop("rank", missing)
    spe = _steps_per_epoch(cols, step, raw_epochs)
    meta["steps_per_epoch"] = spe
    printed_global = cols.pop("global_step", None)
    if printed_global is not None and not np.isnan(printed_global).all():
        step = np.where(np.isnan(step), printed_global, step)
        computed = _global_steps(epoch, step, rank, spe, _step_base(step_bases))
        global_step = _int_array(np.where(np.isnan(printed_global), computed, printed_global))
    else:
        global_step = _int_array(_global_steps(epoch, step, rank, spe, _step_base(step_bases)))
    overflow = cols.pop("overflow", missing)
    line = cols.pop("line")
    nan_column = _SharedNaN(n)
    return pd.DataFrame(
        copy=False,
        data={
            "epoch": _int_array(epoch),
            "step": _int_array(step),
            "global_step": global_step,
            "loss": _owned(cols.pop("loss"), nan_column),
            "lr": _owned(cols.pop("lr", missing), nan_column),
            "loss_scale": _owned(cols.pop("loss_scale", missing), nan_column),
            "overflow": pd.arrays.BooleanArray(overflow == 1.0, np.isnan(overflow)),
            "step_time_ms": _owned(cols.pop("step_time_ms", missing), nan_column),
            "rank": _int_array(rank),
            "line": pd.arrays.IntegerArray(line.astype(np.int64, copy=False), np.zeros(n, bool)),
        },
    )


class _SharedNaN:
    """One all-NaN column shared by every float column a log never prints.

    Handed to pandas as one Series, so copy-on-write gives a column its own array
    the moment someone writes into it; until then three missing columns of a
    1.7-million-step log cost one array, not three.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.series: pd.Series | None = None

    def get(self) -> pd.Series:
        if self.series is None:
            self.series = pd.Series(np.full(self.n, np.nan))
        return self.series


def _owned(values: np.ndarray, nan_column: _SharedNaN) -> np.ndarray | pd.Series:
    """A writable float64 column: users may edit the tables they get."""
    if values.flags.writeable and values.dtype == np.float64:
        return values
    if is_constant(values):
        return nan_column.get() if np.isnan(values[0]) else np.full(len(values), values[0], dtype=np.float64)
    return np.array(values, dtype=np.float64)


def _steps_per_epoch(cols: Columns, step: np.ndarray, raw_epochs: pd.DataFrame) -> int | None:
    """Steps in one epoch: as printed, or epoch time / step time, or the largest step seen."""
    printed = cols.get("steps_per_epoch")
    if printed is not None and not np.isnan(printed).all():
        return int(np.nanmax(printed))
    if "steps" in raw_epochs and pd.to_numeric(raw_epochs["steps"], errors="coerce").notna().any():
        return int(pd.to_numeric(raw_epochs["steps"], errors="coerce").max())
    if {"epoch_time_ms", "step_time_ms"} <= set(raw_epochs.columns):
        ratio = pd.to_numeric(raw_epochs["epoch_time_ms"], errors="coerce") / pd.to_numeric(
            raw_epochs["step_time_ms"], errors="coerce"
        )
        ratio = ratio[np.isfinite(ratio)]
        if len(ratio) and (abs(ratio - ratio.round()) < 0.05).all():
            return int(ratio.round().median())
    if not np.isnan(step).all():
        return int(np.nanmax(step))
    return None


def _step_base(bases: list[int]) -> int:
    distinct = set(bases)
    return distinct.pop() if len(distinct) == 1 else 1


def _global_steps(
    epoch: np.ndarray, step: np.ndarray, rank: np.ndarray, spe: int | None, base: int
) -> np.ndarray:
    if np.isnan(step).all():
        ranks = pd.Series(np.where(np.isnan(rank), -1.0, rank))
        return ranks.groupby(ranks).cumcount().to_numpy(np.float64) + 1.0
    if np.isnan(epoch).all() or spe is None or _is_cumulative(epoch, step, rank):
        return step - base + 1
    return (epoch - 1) * spe + step - base + 1


def _is_cumulative(epoch: np.ndarray, step: np.ndarray, rank: np.ndarray) -> bool:
    """Steps count over the whole run when each epoch's first step is past the last one's.

    Only the rows where the epoch changes are compared, so this stays cheap on
    millions of steps; logs that interleave ranks are checked rank by rank.
    """
    if not is_constant(rank) and not bool(np.isnan(rank).all()) and np.nanmin(rank) != np.nanmax(rank):
        return all(
            _is_cumulative(
                epoch[rank == r], step[rank == r], np.broadcast_to(np.float64(r), (int((rank == r).sum()),))
            )
            for r in np.unique(rank[~np.isnan(rank)])
        )
    known = ~(np.isnan(epoch) | np.isnan(step))
    if not known.all():
        epoch, step = epoch[known], step[known]
    change = np.flatnonzero(epoch[1:] != epoch[:-1])
    if not len(change):
        return False
    return bool((step[change + 1] > step[change]).all())


def _epochs(raw: pd.DataFrame, timeline: Timeline, formats: dict[str, LogFormat]) -> pd.DataFrame:
    if not len(raw):
        return empty_table("epochs")
    rows = raw.copy()
    rows["epoch"] = _own_or_context_epoch(rows, timeline, formats)
    for col in ("epoch_time_ms", "step_time_ms", "data_time_ms", "samples_per_sec", "steps"):
        if col in rows:
            rows[col] = pd.to_numeric(rows[col], errors="coerce")
    if "phase" in rows:
        is_eval = rows["phase"].astype("string").str.lower().eq("eval").fillna(False)
        rows["eval_time_ms"] = rows["epoch_time_ms"].where(is_eval)
        for col in ("epoch_time_ms", "step_time_ms", "data_time_ms"):
            if col in rows:
                rows[col] = rows[col].where(~is_eval)
    rows["samples_per_sec_source"] = np.where(
        rows.get("samples_per_sec", pd.Series(np.nan, index=rows.index)).notna(), "printed", None
    )
    known = rows[rows["epoch"].notna()]
    unknown = rows[rows["epoch"].isna()]
    columns = [c for c in rows.columns if c not in ("epoch", "rank", "format", "phase")]
    merged = known.groupby(["rank", "epoch"], dropna=False, sort=False)[columns].first().reset_index()
    merged["line"] = known.groupby(["rank", "epoch"], dropna=False, sort=False)["line"].min().to_numpy()
    out = pd.concat([merged, unknown[[c for c in merged.columns if c in unknown]]], ignore_index=True)
    out = out.sort_values("line", kind="stable", ignore_index=True)
    if "steps" not in out or out["steps"].isna().all():
        ratio = out.get("epoch_time_ms") / out.get("step_time_ms") if "step_time_ms" in out else None
        if ratio is not None:
            near = (ratio - ratio.round()).abs() < 0.05
            out["steps"] = ratio.round().where(near)
    return out


def _evals(raw: pd.DataFrame, timeline: Timeline, formats: dict[str, LogFormat]) -> pd.DataFrame:
    if not len(raw):
        return empty_table("evals")
    raw = raw.copy()
    raw["own_epoch"] = _frame_epochs(raw, formats)
    raw["epoch"] = _own_or_context_epoch(raw, timeline, formats)
    records: list[dict[str, Any]] = []
    metric_cols = [c for c in raw.columns if c.startswith("metric_")]
    for row in raw.to_dict("records"):
        base = {"epoch": row["epoch"], "rank": row.get("rank"), "line": row["line"]}
        if isinstance(row.get("metrics"), dict):
            fmt = formats[row["format"]]
            metrics = _eval_metrics(row["metrics"], fmt.eval_not_metrics)
            key = fmt.eval_epoch_key
            if key is not None and key in row["metrics"] and pd.isna(row.get("own_epoch")):
                base["epoch"] = _progress_epoch(row["metrics"][key], base["epoch"])
            for name, value in metrics.items():
                number = hparam_number(value)
                if number is not None:
                    records.append({**base, "metric": name, "value": number})
        for col in metric_cols:
            if row.get(col) is not None and not pd.isna(row[col]):
                records.append({**base, "metric": col[len("metric_") :], "value": float(row[col])})
        if row.get("metric") is not None and row.get("value") is not None:
            records.append({**base, "metric": str(row["metric"]), "value": float(row["value"])})
    return pd.DataFrame(records) if records else empty_table("evals")


def _eval_metrics(values: dict[str, Any], not_metrics: tuple[str, ...]) -> dict[str, Any]:
    """The metrics of an eval dict: without the keys its format says are not metrics.

    A nested dict (MindFormers: ``{'PerplexityMetric': {'loss': 2.11, 'PPL': 8.28}}``) is
    flattened; inner names are kept as they are when there is one outer key.
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


def _events(raw: pd.DataFrame, steps: pd.DataFrame, timeline: Timeline) -> pd.DataFrame:
    parts = []
    if len(raw):
        events = raw[["kind", "line", "message", "rank"]].copy()
        events["epoch"] = _epoch_at(events["line"].to_numpy(np.int64), timeline)
        parts.append(events)
    if len(steps):
        bad = steps[~np.isfinite(steps["loss"].to_numpy(dtype=float, na_value=np.nan))]
        if len(bad):
            parts.append(
                _derived_events(bad, "nan", lambda r: f"loss is {r.loss} at epoch {r.epoch} step {r.step}")
            )
        if "overflow" in steps:
            flagged = steps[steps["overflow"].astype("boolean").fillna(False)]
            if len(flagged):
                parts.append(
                    _derived_events(
                        flagged, "overflow", lambda r: f"loss scale overflow at epoch {r.epoch} step {r.step}"
                    )
                )
    if not parts:
        return empty_table("events")
    out = pd.concat(parts, ignore_index=True).sort_values("line", kind="stable", ignore_index=True)
    return out


def _derived_events(rows: pd.DataFrame, kind: str, message) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": kind,
            "line": rows["line"].to_numpy(),
            "epoch": rows["epoch"].to_numpy(),
            "rank": rows["rank"].to_numpy(),
            "message": [message(r) for r in rows.itertuples()],
        }
    )


def _meta(
    tables: dict[str, pd.DataFrame],
    raw: RawRecords,
    bare_hparams: list[dict],
    dropped: int,
    step_counts: dict[str, int],
    step_cols: Columns,
    registry: dict[str, LogFormat],
) -> dict[str, Any]:
    counts = dict(step_counts)
    for name in ("epochs", "evals"):
        for fmt, n in tables[name]["format"].value_counts().items():
            counts[fmt] = counts.get(fmt, 0) + int(n)
    formats = named_formats([f for f, _ in sorted(counts.items(), key=lambda kv: -kv[1])], registry)
    hparams = merge_hparams(tables["hparams"], bare_hparams)
    meta_rows = tables["meta"]
    total = _announced_total(tables, step_cols)
    return {
        "formats": formats,
        "format_records": counts,
        "total_epochs": total,
        "hparams": hparams,
        "framework_version": _first(meta_rows, "framework_version"),
        "device": _first(meta_rows, "device") or hparam_for(hparams, "device", registry),
        "files": [{"name": raw.name, "rank": raw.rank, "lines": raw.lines_read, "bytes": raw.bytes_read}],
        "lines_read": raw.lines_read,
        "lines_skipped": raw.lines_skipped + dropped + _lone_key_values(tables["hparams"]),
        "lines_noise": raw.lines_noise,
        "skipped_examples": list(raw.skipped_examples),
    }


def _lone_key_values(rows: pd.DataFrame) -> int:
    """``key: value`` lines outside a config dump: read, but not understood."""
    if "key" not in rows or not len(rows):
        return 0
    return int(rows["key"].notna().sum()) - int(sum(in_key_value_dump(rows)))


def _announced_total(tables: dict[str, pd.DataFrame], step_cols: Columns) -> int | None:
    values = []
    for name in ("events", "epochs", "evals", "context", "meta"):
        frame = tables[name]
        if "total_epochs" in frame:
            values.extend(pd.to_numeric(frame["total_epochs"], errors="coerce").dropna().tolist())
    printed = step_cols.get("total_epochs")
    if printed is not None and not np.isnan(printed).all():
        values.append(float(np.nanmax(printed)))
    return int(max(values)) if values else None


def _first(frame: pd.DataFrame, col: str) -> Any:
    if col not in frame:
        return None
    values = frame[col].dropna()
    return values.iloc[0] if len(values) else None


def _merge_meta(
    metas: list[dict[str, Any]],
    raws: list[RawRecords],
    forced: str | None,
    formats: dict[str, LogFormat] | None = None,
) -> dict[str, Any]:
    registry = FORMATS if formats is None else formats
    meta = dict(metas[0])
    if len(metas) > 1:
        meta["files"] = [f for m in metas for f in m["files"]]
        for key in ("lines_read", "lines_skipped", "lines_noise"):
            meta[key] = sum(m[key] for m in metas)
        meta["formats"] = list(dict.fromkeys(f for m in metas for f in m["formats"]))
        totals = [m["total_epochs"] for m in metas if m["total_epochs"] is not None]
        meta["total_epochs"] = max(totals) if totals else None
    meta["forced_format"] = forced
    meta["ranks"] = sorted({r.rank for r in raws if r.rank is not None})
    hp = meta["hparams"]
    meta["batch_size"] = hparam_number(hparam_for(hp, "batch_size", registry))
    devices = hparam_for(hp, "device_num", registry)
    meta["device_num"] = hparam_number(devices) or (len(raws) if len(raws) > 1 else None)
    return meta


def hparam_for(hparams: dict[str, Any], meta_field: str, formats: dict[str, LogFormat]) -> Any:
    """The printed hyperparameter that states ``meta_field`` (formats' ``hparam_meta``), or None."""
    return next((hparams[k] for k in hparam_keys(meta_field, formats) if k in hparams), None)


def _computed_throughput(epochs: pd.DataFrame, meta: dict[str, Any]) -> None:
    """samples/s = batch size x devices / step time, where the log prints no throughput."""
    batch = meta.get("batch_size")
    if not len(epochs) or not batch or "step_time_ms" not in epochs:
        return
    devices = meta.get("device_num") or 1
    missing = (
        epochs["samples_per_sec"].isna()
        if "samples_per_sec" in epochs
        else pd.Series(True, index=epochs.index)
    )
    computed = batch * devices * 1000.0 / epochs["step_time_ms"]
    epochs.loc[missing, "samples_per_sec"] = computed[missing]
    epochs.loc[missing & computed.notna(), "samples_per_sec_source"] = "computed"
