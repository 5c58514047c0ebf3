"""Assemble the next part of a growing log exactly as ``assemble`` would assemble the whole.

``parsers.assemble`` reads a log as a whole.  Here a log is assembled part by part --
the lines a refresh finds appended, or the segments of a log bigger than memory --
each part with the ``Context`` of the parts before it, so that the rows of all parts
together are the rows ``assemble`` gives for the whole log, and a part costs time in
proportion to its own size.

What ``assemble`` decides from the whole log only ever moves one way as lines are
added (see ``parsers.context``).  When a part moves a decision that committed rows
already depend on -- the first ``epoch 0`` of a format whose records said 1 so far,
the first specific record after generic ones, steps per epoch changing once epoch 2
has begun -- ``ContextChanged`` is raised and the caller parses the log again from the
start with ``context.hinted()``, which makes the final decisions from the first line.
That is rare and always exact; nothing here guesses.

The row-level work is ``parsers.assemble``'s own helpers, so both paths compute the
same values; only the whole-log decisions are made here, from the context.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# Private helpers of parsers.assemble, reused on purpose: one implementation of each row rule.
from parsers.assemble import (
    SKIPPED_EXAMPLES,
    RawRecords,
    Timeline,
    _announced_total,
    _epoch_at,
    _epochs,
    _evals,
    _events,
    _first,
    _frame_epochs,
    _int_array,
    _known_epochs,
    _meta,
    _shifted_epochs,
    _step_base,
    _steps,
    _steps_per_epoch,
    hparam_for,
)
from parsers.columns import ColumnParts
from parsers.context import Context, ContextChanged, Stream, columns_from_json, columns_to_json, merge_facts
from parsers.hparams import merge_hparams, split_bare_dicts
from parsers.incremental_stats import update_stats
from parsers.incremental_times import join_times, json_value
from parsers.registry import LogFormat, named_formats
from parsers.schema import TABLES, conform, empty_table

__all__ = ["ContextChanged", "Increment", "assemble_increment", "current_meta"]

_SMALL = ("epochs", "evals", "events", "hparams", "meta", "context", "step_times")
_BASE_TABLES = ("steps", "context", "epochs", "evals", "step_times")


@dataclass
class Increment:
    """What one part adds: its rows, the whole epochs table when it changed, meta so far."""

    steps: pd.DataFrame
    evals: pd.DataFrame
    events: pd.DataFrame
    epochs: pd.DataFrame | None  # whole log, before computed throughput; None when unchanged
    meta: dict[str, Any]
    context: Context


def assemble_increment(raw: RawRecords, context: Context, formats: dict[str, LogFormat]) -> Increment:
    """The rows of the lines in ``raw`` (read after ``context``) and the context after them."""
    ctx = context.copy()
    try:
        return _assemble(raw, ctx, formats)
    except ContextChanged as exc:
        exc.context = ctx  # what was learned up to the change: hints for the next pass
        raise


def _assemble(raw: RawRecords, ctx: Context, formats: dict[str, LogFormat]) -> Increment:
    facts = _facts(ctx)
    generic = {name for name, fmt in formats.items() if fmt.generic}
    small = {name: _frame(raw, name) for name in _SMALL}
    new_epochs = raw.columns("epochs")
    cols, codes, names = raw.columns("steps", consume=True)
    cols, codes, small, dropped = _drop_generic(ctx, facts, cols, codes, names, small, generic)
    small["evals"], bare = split_bare_dicts(small["evals"])
    _count_formats(ctx, codes, names, small)
    forced = _epoch_bases(ctx, facts, cols, codes, names, small, formats)
    epoch = _shifted_epochs(cols.get("epoch"), codes, names, len(cols["line"]), forced["steps"])
    timeline = _timeline(ctx, cols["line"], epoch, small, forced)
    if np.isnan(epoch).any():
        epoch = np.where(np.isnan(epoch), _epoch_at(cols["line"], timeline), epoch)
    ctx.in_force = _last_statement(timeline)
    epochs_frame = (
        _epoch_records(ctx, facts, new_epochs, timeline, generic) if len(new_epochs[0]["line"]) else None
    )
    _meta_facts(ctx, raw, small, bare, cols)
    steps = _step_rows(ctx, _facts(ctx), cols, epoch, names, formats)
    steps = join_times(ctx, facts, steps, small["step_times"], forced["step_times"])
    evals = _evals(small["evals"], timeline, forced["evals"]) if len(small["evals"]) else _NO_ROWS
    events = _events(small["events"], steps, timeline) if _any_events(small["events"], steps) else _NO_ROWS
    epochs = None if epochs_frame is None else _whole_epochs(ctx, epochs_frame, forced["epochs"])
    _counters(ctx, raw, dropped)
    tables = {"steps": steps, "evals": evals, "events": events}
    out = {k: _conformed(v, k) for k, v in tables.items()}
    update_stats(ctx, out["steps"], out["events"], out["evals"])
    return Increment(**out, epochs=epochs, meta=current_meta(ctx, formats), context=ctx)


_NO_ROWS = pd.DataFrame({"line": np.empty(0, np.int64), "rank": np.empty(0), "format": np.empty(0, object)})


def _frame(raw: RawRecords, name: str) -> pd.DataFrame:
    """``raw.frame(name)``; tables a part has no rows of share one empty frame (never modified)."""
    parts = raw.parts.get(name)
    return _NO_ROWS if parts is None or not parts.n else raw.frame(name)


def _any_events(raw: pd.DataFrame, steps: pd.DataFrame) -> bool:
    """Whether ``assemble._events`` has anything to report: event lines, NaN losses, overflows."""
    if len(raw):
        return True
    if not len(steps):
        return False
    loss = steps["loss"].to_numpy(np.float64)
    return not bool(np.isfinite(loss).all()) or bool(steps["overflow"].fillna(False).to_numpy(bool).any())


def _conformed(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """``conform``, skipped when the frame already has the schema's columns and dtypes."""
    if not len(frame):
        return empty_table(name)
    if (
        list(frame.columns) == list(TABLES[name])
        and all(str(dtype) == want for dtype, want in zip(frame.dtypes, TABLES[name].values()))
        and isinstance(frame.index, pd.RangeIndex)
        and frame.index.start == 0
    ):
        return frame
    return conform(frame, name)


# --- whole-log decisions ----------------------------------------------------------------


def _facts(ctx: Context) -> dict[str, Any]:
    """The decision facts of ``ctx`` joined with its hints (from an earlier, aborted pass)."""
    own = {
        "generic": ctx.generic,
        "zeros": ctx.zeros,
        "step_any": ctx.step_any,
        "epoch_any": ctx.epoch_any,
        "printed_spe": ctx.printed_spe,
        "step_max": ctx.step_max,
        "loss_seen": ctx.loss_seen,
        "streams": ctx.streams,
        "ranks": ctx.ranks,
        "has_step_times": ctx.has_step_times,
        "epochs_raw": ctx.epochs_raw,
    }
    return merge_facts(own, ctx.hints) if ctx.hints else own


def _generic_drop(ctx: Context, facts: dict, table: str, has_generic: bool, has_specific: bool) -> bool:
    """Whether generic records of ``table`` are dropped (assemble: only when specific ones exist)."""
    own = ctx.generic.get(table, [False, False])
    hint = facts["generic"].get(table, own)
    before = (own[0] or hint[0]) and (own[1] or hint[1])
    flags = [own[0] or has_generic, own[1] or has_specific]
    after = (flags[0] or hint[0]) and (flags[1] or hint[1])
    if after and not before and own[0]:
        raise ContextChanged(f"{table}: specific records after generic ones were kept")
    ctx.generic[table] = flags
    return after


def _drop_generic(ctx, facts, cols, codes, names, small, generic):
    """``assemble._drop_generic`` with the decision taken over the whole log so far."""
    dropped = 0
    is_generic = np.isin(codes, [i for i, n in enumerate(names) if n in generic])
    any_generic = bool(is_generic.any())
    if (
        len(codes)
        and _generic_drop(ctx, facts, "steps", any_generic, bool((~is_generic).any()))
        and any_generic
    ):
        dropped += int(is_generic.sum())
        cols = {k: v[~is_generic] for k, v in cols.items()}
        codes = codes[~is_generic]
    for name in ("epochs", "evals"):
        frame = small[name]
        if not len(frame):
            continue
        mask = frame["format"].isin(generic)
        if _generic_drop(ctx, facts, name, bool(mask.any()), bool((~mask).any())) and mask.any():
            dropped += int(mask.sum()) if name == "evals" else 0  # epochs: counted over the whole table
            small[name] = frame[~mask].reset_index(drop=True)
    return cols, codes, small, dropped


def _count_formats(ctx: Context, codes: np.ndarray, names: list[str], small: dict[str, pd.DataFrame]) -> None:
    for name in names:
        if name not in ctx.step_names:
            ctx.step_names.append(name)
            ctx.step_counts[name] = 0
    if len(codes):
        for code, n in enumerate(np.bincount(codes, minlength=len(names)).tolist()):
            ctx.step_counts[names[code]] += n
    for fmt in small["evals"]["format"].tolist() if len(small["evals"]) else []:
        ctx.eval_counts[fmt] = ctx.eval_counts.get(fmt, 0) + 1


def _epoch_bases(ctx, facts, cols, codes, names, small, formats) -> dict[str, dict[str, LogFormat]]:
    """Per table, the formats with 'epoch 0 or 1?' answered for the whole log so far."""
    unsure = [name for name, fmt in formats.items() if fmt.epoch_base is None]
    per_table: dict[str, dict[str, tuple[bool, bool]]] = {t: {} for t in _BASE_TABLES}
    if unsure and "epoch" in cols and len(codes):
        epoch = cols["epoch"]
        for code, name in enumerate(names):
            if name in unsure:
                mask = codes == code
                per_table["steps"][name] = (bool(mask.any()), bool((epoch[mask] == 0).any()))
    for table in _BASE_TABLES[1:]:
        frame = small[table]
        if unsure and len(frame) and "epoch" in frame:
            zero = pd.to_numeric(frame["epoch"], errors="coerce").to_numpy(np.float64, na_value=np.nan) == 0
            for name in set(frame["format"].tolist()) & set(unsure):
                mask = (frame["format"] == name).to_numpy()
                per_table[table][name] = (True, bool(zero[mask].any()))
    forced = {}
    for table in _BASE_TABLES:
        seen = ctx.zeros.setdefault(table, {})
        hinted = facts["zeros"].get(table, {})
        for name, (rows, zero) in per_table[table].items():
            old = seen.get(name, [False, False])
            if zero and old[0] and not old[1] and not hinted.get(name, [False, False])[1]:
                raise ContextChanged(f"{table}: format {name} printed epoch 0 after epochs counted from 1")
            seen[name] = [old[0] or rows, old[1] or zero]
        forced[table] = _forced(formats, tuple((name, _zero(seen, hinted, name)) for name in unsure))
    return forced


_FORCED: dict[tuple[int, tuple], dict[str, LogFormat]] = {}


def _forced(formats: dict[str, LogFormat], zeros: tuple[tuple[str, bool], ...]) -> dict[str, LogFormat]:
    """``formats`` with each unsure format's epoch base decided (0 when it printed an epoch 0)."""
    key = (id(formats), zeros)
    if key not in _FORCED:
        if len(_FORCED) > 256:
            _FORCED.clear()
        decided = {
            name: dataclasses.replace(formats[name], epoch_base=0 if zero else 1) for name, zero in zeros
        }
        _FORCED[key] = {**formats, **decided}
    return _FORCED[key]


def _zero(seen: dict, hinted: dict, name: str) -> bool:
    return seen.get(name, [False, False])[1] or hinted.get(name, [False, False])[1]


# --- epochs in force ----------------------------------------------------------------------


def _timeline(ctx, step_lines, step_epochs, small, forced) -> Timeline:
    """``assemble._epoch_timeline`` for this part, led by the last epoch stated before it."""
    sources: list[tuple[np.ndarray, np.ndarray]] = []
    if ctx.in_force is not None:
        sources.append((np.array([int(ctx.in_force[0])], np.int64), np.array([float(ctx.in_force[1])])))
    sources.append((step_lines, step_epochs))
    for name in ("context", "epochs", "evals"):
        frame = small[name]
        if len(frame) and "epoch" in frame:
            sources.append((frame["line"].to_numpy(np.int64), _frame_epochs(frame, forced[name])))
    return _known_epochs(sources)


def _last_statement(timeline: Timeline) -> list[float] | None:
    """The (line, epoch) a later line sees last, with ``_epoch_at``'s tie rule (first source wins)."""
    best: list[float] | None = None
    for lines, epochs in timeline:
        if best is None or lines[-1] > best[0]:
            best = [int(lines[-1]), float(epochs[-1])]
    return best


# --- epochs table: the one table rebuilt whole (records of one epoch may straddle parts) ----


def _epoch_records(ctx, facts, new, timeline, generic) -> pd.DataFrame:
    """All raw epoch records so far, each with the epoch in force at its line (``_ctx``)."""
    cols, codes, names = new
    cols = dict(cols)
    cols["_ctx"] = _epoch_at(cols["line"], timeline)
    joined, codes, names = _join_raw(ctx, ctx.epochs_raw, (cols, codes, names))
    ctx.epochs_raw = columns_to_json(joined, codes, names)
    frame = pd.DataFrame({k: v for k, v in joined.items() if k != "_ctx"})
    frame["format"] = np.asarray(names, dtype=object)[codes]
    frame["_ctx"] = joined["_ctx"]
    mask = frame["format"].isin(generic)
    drop = bool(mask.any() and (~mask).any())
    ctx.stats["epochs_dropped"] = int(mask.sum()) if drop else 0
    frame = frame[~mask].reset_index(drop=True) if drop else frame
    counts: dict[str, int] = {}
    for fmt in frame["format"].tolist():
        counts[fmt] = counts.get(fmt, 0) + 1
    ctx.stats["epoch_counts"] = counts
    ctx.stats["spe_epochs"] = _steps_per_epoch({}, np.array([math.nan]), frame.drop(columns="_ctx"))
    return frame


def _join_raw(ctx: Context, stored: dict[str, Any] | None, new) -> tuple[dict, np.ndarray, list[str]]:
    """Raw records kept in the context joined with this part's, exactly as ``RawRecords`` joins parts."""
    parts = ColumnParts()
    if stored:
        _append_by_format(parts, *columns_from_json(stored))
    _append_by_format(parts, *new)
    holder = RawRecords(name=ctx.name, rank=ctx.rank)
    holder.parts["raw"] = parts
    return holder.columns("raw")


def _append_by_format(parts: ColumnParts, cols, codes, names) -> None:
    for code, name in enumerate(names):
        mask = codes == code
        if mask.any():
            parts.append(name, {k: np.asarray(v)[mask] for k, v in cols.items()})


def _whole_epochs(ctx: Context, frame: pd.DataFrame, formats: dict[str, LogFormat]) -> pd.DataFrame:
    ctx_epochs = frame.pop("_ctx").to_numpy(np.float64)
    lines = frame["line"].to_numpy(np.int64)
    epochs = _epochs(frame, [(lines, ctx_epochs)], formats)
    return conform(epochs, "epochs") if len(epochs) else empty_table("epochs")


# --- steps --------------------------------------------------------------------------------


def _step_rows(ctx, facts, cols, epoch, names, formats) -> pd.DataFrame:
    """The steps table of this part, numbered with the whole-log numbering rule."""
    n = len(cols["line"])
    if not n:
        return empty_table("steps")
    if "loss" not in cols:
        if not facts["loss_seen"]:
            ctx.lossless += n
            return empty_table("steps")
        cols["loss"] = np.full(n, np.nan)
    elif ctx.lossless:
        raise ContextChanged("a loss column appeared after step records without one")
    ctx.loss_seen = True
    missing = np.broadcast_to(np.float64(np.nan), (n,))
    step, rank, printed = cols.get("step", missing), cols.get("rank", missing), cols.get("global_step")
    has_printed = printed is not None and not np.isnan(printed).all()
    filled = np.where(np.isnan(step), printed, step) if has_printed else step
    _track(ctx, cols, step, filled, epoch, rank)
    numbering = _numbering(ctx, _facts(ctx), formats)
    _check_numbering(ctx, numbering)
    ctx.epoch_one_only = ctx.epoch_one_only and bool((epoch[~np.isnan(filled)] == 1).all())
    number = _numbers(ctx, numbering, epoch, filled, rank)
    if has_printed:
        number = np.where(np.isnan(printed), number, printed)
    steps = _steps(cols, epoch, [formats[n].step_base for n in names if n in formats], pd.DataFrame(), {})
    steps["global_step"] = _int_array(np.asarray(number, dtype=np.float64))
    ctx.steps += len(steps)
    return steps


def _track(ctx, cols, step, filled, epoch, rank) -> None:
    """Fold this part into the running facts the numbering rule is decided from."""
    printed_spe = cols.get("steps_per_epoch")
    if printed_spe is not None and not np.isnan(printed_spe).all():
        ctx.printed_spe = float(np.fmax(ctx.printed_spe, np.nanmax(printed_spe)))
    if not np.isnan(step).all():
        ctx.step_max = float(np.fmax(ctx.step_max, np.nanmax(step)))
    ctx.step_any = ctx.step_any or not bool(np.isnan(filled).all())
    ctx.epoch_any = ctx.epoch_any or not bool(np.isnan(epoch).all())
    ctx.streams["all"] = _stream(ctx.streams.get("all"), epoch, filled)
    if not np.isnan(rank).all():
        for r in np.unique(rank[~np.isnan(rank)]).tolist():
            mask = rank == r
            ctx.streams[f"r{r}"] = _stream(ctx.streams.get(f"r{r}"), epoch[mask], filled[mask])
            if r not in ctx.ranks:
                ctx.ranks.append(r)


def _stream(stream: Stream | None, epoch: np.ndarray, step: np.ndarray) -> Stream:
    """``assemble._is_cumulative``'s comparison at epoch changes, carried across parts."""
    known = ~(np.isnan(epoch) | np.isnan(step))
    epoch, step = epoch[known], step[known]
    stream = list(stream) if stream else [None, None, False, False]
    if not len(epoch):
        return stream
    if stream[0] is not None:
        epoch, step = np.concatenate([[stream[0]], epoch]), np.concatenate([[stream[1]], step])
    change = np.flatnonzero(epoch[1:] != epoch[:-1])
    if len(change):
        stream[2] = True
        stream[3] = stream[3] or not bool((step[change + 1] > step[change]).all())
    return [float(epoch[-1]), float(step[-1]), stream[2], stream[3]]


def _numbering(ctx: Context, facts: dict, formats: dict[str, LogFormat]) -> list[Any]:
    """[mode, steps per epoch, step base]: how ``assemble._global_steps`` numbers the whole log."""
    base = _step_base([formats[n].step_base for n in ctx.step_names if n in formats])
    if not facts["step_any"]:
        return ["count", None, base]
    spe = _spe(ctx, facts, {n for n, f in formats.items() if f.generic})
    if not facts["epoch_any"] or spe is None or _cumulative(facts):
        return ["step", None, base]
    return ["epoch", spe, base]


def _spe(ctx: Context, facts: dict, generic: set[str]) -> int | None:
    """``assemble._steps_per_epoch`` over the whole log so far, from running maxima."""
    if not math.isnan(facts["printed_spe"]):
        return int(facts["printed_spe"])
    from_epochs = ctx.stats.get("spe_epochs")
    if ctx.hints and facts["epochs_raw"]:  # hinted: the epoch records of the aborted pass count too
        cols, codes, names = columns_from_json(facts["epochs_raw"])
        frame = pd.DataFrame({k: v for k, v in cols.items() if k != "_ctx"})
        kinds = np.asarray([name in generic for name in names], dtype=bool)[codes] if len(codes) else codes
        if len(codes) and kinds.any() and (~kinds).any():
            frame = frame[~kinds].reset_index(drop=True)
        from_epochs = _steps_per_epoch({}, np.array([math.nan]), frame)
    if from_epochs is not None:
        return int(from_epochs)
    return None if math.isnan(facts["step_max"]) else int(facts["step_max"])


def _cumulative(facts: dict) -> bool:
    streams = facts["streams"]
    if len(facts["ranks"]) > 1:
        return all(_stream_cumulative(streams.get(f"r{r}")) for r in facts["ranks"])
    return _stream_cumulative(streams.get("all"))


def _stream_cumulative(stream: Stream | None) -> bool:
    return bool(stream and stream[2] and not stream[3])


def _check_numbering(ctx: Context, numbering: list[Any]) -> None:
    old = ctx.numbering
    ctx.numbering = numbering
    if not ctx.steps or old is None or old == numbering:
        return
    if "count" in (old[0], numbering[0]) or old[2] != numbering[2] or not ctx.epoch_one_only:
        raise ContextChanged(f"step numbering changed from {old} to {numbering}")


def _numbers(ctx: Context, numbering: list[Any], epoch, step, rank) -> np.ndarray:
    mode, spe, base = numbering
    if mode == "count":
        keys = np.where(np.isnan(rank), -1.0, rank)
        out = np.empty(len(keys))
        for key in np.unique(keys).tolist():
            mask = keys == key
            done = ctx.rank_counts.get(str(key), 0)
            out[mask] = np.arange(done + 1, done + int(mask.sum()) + 1)
            ctx.rank_counts[str(key)] = done + int(mask.sum())
        return out
    if mode == "step":
        return step - base + 1
    return (epoch - 1) * spe + step - base + 1


# --- meta and running figures -------------------------------------------------------------


def _meta_facts(
    ctx: Context, raw: RawRecords, small: dict[str, pd.DataFrame], bare: list[dict], cols
) -> None:
    if len(small["hparams"]) or bare:
        _hparams(ctx, raw, bare)
    if ctx.framework_version is None:
        ctx.framework_version = json_value(_first(small["meta"], "framework_version"))
    if ctx.device is None:
        ctx.device = json_value(_first(small["meta"], "device"))
    total = _announced_total(small, cols)
    if total is not None:
        ctx.total = float(np.fmax(ctx.total, total))


def _hparams(ctx: Context, raw: RawRecords, bare: list[dict]) -> None:
    """Printed hyperparameters of the whole log so far, by ``assemble._meta`` itself.

    A config dump can straddle two parts (whether a ``key: value`` line belongs to one
    depends on its neighbours), so the hparams records are kept and read whole; they
    are a few lines per log.
    """
    if bare:
        ctx.hp_extra.update(merge_hparams(_NO_ROWS, bare))
    new = raw.columns("hparams")
    if len(new[0]["line"]):
        joined, codes, names = _join_raw(ctx, ctx.hparams_raw, new)
        ctx.hparams_raw = columns_to_json(joined, codes, names)
    frame = _NO_ROWS
    if ctx.hparams_raw:
        joined, codes, names = columns_from_json(ctx.hparams_raw)
        frame = pd.DataFrame(joined)
        frame["format"] = np.asarray(names, dtype=object)[codes]
    tables = {
        "epochs": _NO_ROWS,
        "evals": _NO_ROWS,
        "hparams": frame,
        "meta": _NO_ROWS,
        "events": _NO_ROWS,
        "context": _NO_ROWS,
    }
    holder = RawRecords(name=ctx.name, rank=ctx.rank)
    meta = _meta(tables, holder, [ctx.hp_extra] if ctx.hp_extra else [], 0, {}, {}, {})
    ctx.stats["hparams"] = meta["hparams"]
    ctx.stats["kv_skipped"] = meta["lines_skipped"]


def _counters(ctx: Context, raw: RawRecords, dropped: int) -> None:
    ctx.lines_read += raw.lines_read
    ctx.bytes_read += raw.bytes_read
    ctx.lines_skipped += raw.lines_skipped
    ctx.lines_noise += raw.lines_noise
    ctx.skipped_examples = (ctx.skipped_examples + list(raw.skipped_examples))[:SKIPPED_EXAMPLES]
    ctx.dropped += dropped


def current_meta(ctx: Context, formats: dict[str, LogFormat]) -> dict[str, Any]:
    """``meta`` of the log so far, as ``assemble._meta`` gives it for one file (before ``_merge_meta``).

    Built from the context's counts instead of calling ``_meta`` on tables: the tables
    are not kept, and building frames for it would cost more than the part's rows.
    """
    counts = {name: ctx.step_counts[name] for name in ctx.step_names}
    for table_counts in (ctx.stats.get("epoch_counts", {}), ctx.eval_counts):
        for fmt, n in sorted(table_counts.items(), key=lambda kv: -kv[1]):  # value_counts' order
            counts[fmt] = counts.get(fmt, 0) + n
    hparams = dict(ctx.stats.get("hparams", {}))
    meta = {
        "formats": named_formats([f for f, _ in sorted(counts.items(), key=lambda kv: -kv[1])], formats),
        "format_records": counts,
        "total_epochs": None if math.isnan(ctx.total) else int(ctx.total),
        "hparams": hparams,
        "framework_version": ctx.framework_version,
        "device": ctx.device or hparam_for(hparams, "device", formats),
        "files": [{"name": ctx.name, "rank": ctx.rank, "lines": ctx.lines_read, "bytes": ctx.bytes_read}],
        "lines_read": ctx.lines_read,
        "lines_skipped": ctx.lines_skipped
        + ctx.dropped
        + ctx.stats.get("epochs_dropped", 0)
        + ctx.stats.get("kv_skipped", 0),
        "lines_noise": ctx.lines_noise,
        "skipped_examples": list(ctx.skipped_examples),
    }
    if ctx.steps:
        meta["steps_per_epoch"] = _spe(ctx, _facts(ctx), {n for n, f in formats.items() if f.generic})
    return meta
