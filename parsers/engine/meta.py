"""``ParsedLog.meta``: what was learned about a log besides its tables.

Folded part by part into the context (formats seen and their record counts, lines
read and skipped, printed hyperparameters, framework version, device, announced
epochs), read out by ``current_meta``, and merged over the files of a run by
``merge_meta``.  Which printed hyperparameters state the device, the device count and
the batch size is the formats' data (``LogFormat.hparam_meta``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from parsers.columns import Columns
from parsers.engine.context import Context, columns_from_json, columns_to_json
from parsers.engine.numbering import steps_per_epoch
from parsers.engine.records import NO_ROWS, SKIPPED_EXAMPLES, RawRecords, SmallTables, joined_records
from parsers.engine.times import json_value
from parsers.hparams import hparam_number, in_key_value_dump, merge_hparams
from parsers.registry import FORMATS, LogFormat, hparam_keys, named_formats

__all__ = [
    "computed_throughput",
    "count_formats",
    "count_lines",
    "current_meta",
    "hparam_for",
    "merge_meta",
    "note_meta",
]


def count_formats(ctx: Context, codes: np.ndarray, names: list[str], evals: pd.DataFrame) -> None:
    """Step records per format (first seen first) and eval records per format, kept ones only."""
    for name in names:
        if name not in ctx.step_names:
            ctx.step_names.append(name)
            ctx.step_counts[name] = 0
    if len(codes):
        for code, n in enumerate(np.bincount(codes, minlength=len(names)).tolist()):
            ctx.step_counts[names[code]] += n
    for fmt in evals["format"].tolist() if len(evals) else []:
        ctx.eval_counts[fmt] = ctx.eval_counts.get(fmt, 0) + 1


def count_lines(ctx: Context, raw: RawRecords, dropped: int) -> None:
    """Lines and bytes read, lines skipped (with examples), generic records dropped."""
    ctx.lines_read += raw.lines_read
    ctx.bytes_read += raw.bytes_read
    ctx.lines_skipped += raw.lines_skipped
    ctx.lines_noise += raw.lines_noise
    ctx.skipped_examples = (ctx.skipped_examples + list(raw.skipped_examples))[:SKIPPED_EXAMPLES]
    ctx.dropped += dropped


def note_meta(ctx: Context, raw: RawRecords, small: SmallTables, bare: list[dict], cols: Columns) -> None:
    """Fold this part's hyperparameters, version, device and announced epochs into the context."""
    if len(small["hparams"]) or bare:
        _note_hparams(ctx, raw, bare)
    if ctx.framework_version is None:
        ctx.framework_version = json_value(_first(small["meta"], "framework_version"))
    if ctx.device is None:
        ctx.device = json_value(_first(small["meta"], "device"))
    total = _announced_total(small, cols)
    if total is not None:
        ctx.total = float(np.fmax(ctx.total, total))


def _note_hparams(ctx: Context, raw: RawRecords, bare: list[dict]) -> None:
    """Printed hyperparameters of the whole log so far.

    A config dump can straddle two parts (whether a ``key: value`` line belongs to one
    depends on its neighbours), so the hparams records are kept and read whole; they
    are a few lines per log.
    """
    if bare:
        ctx.hp_extra.update(merge_hparams(NO_ROWS, bare))
    new = raw.columns("hparams")
    rows = NO_ROWS
    if len(new[0]["line"]):
        joined, codes, names = joined_records(ctx.hparams_raw, new)
        ctx.hparams_raw = columns_to_json(joined, codes, names)
        rows = pd.DataFrame(joined)
    elif ctx.hparams_raw:
        rows = pd.DataFrame(columns_from_json(ctx.hparams_raw)[0])
    ctx.stats["hparams"] = merge_hparams(rows, [ctx.hp_extra])
    ctx.stats["kv_skipped"] = _lone_key_values(rows)


def _lone_key_values(rows: pd.DataFrame) -> int:
    """``key: value`` lines outside a config dump: read, but not understood."""
    if "key" not in rows or not len(rows):
        return 0
    return int(rows["key"].notna().sum()) - int(sum(in_key_value_dump(rows)))


def _announced_total(small: SmallTables, step_cols: Columns) -> int | None:
    """The largest total of epochs any line announced ("epoch 3/90", "total epochs: 90")."""
    values = []
    for name in ("events", "epochs", "evals", "context", "meta"):
        if small.has(name, "total_epochs"):
            frame = small[name]
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


def hparam_for(hparams: dict[str, Any], meta_field: str) -> Any:
    """The printed hyperparameter that states ``meta_field`` (formats' ``hparam_meta``), or None.

    The names come from every built-in format, whichever formats read the log: ``world_size: 4``
    is the device count in a log read with the PyTorch format excluded too, and a run's meta
    merged by the store (which knows no forced or excluded formats) finds the same figures.
    """
    return next((hparams[k] for k in hparam_keys(meta_field, FORMATS) if k in hparams), None)


def current_meta(ctx: Context, formats: dict[str, LogFormat]) -> dict[str, Any]:
    """``meta`` of one log so far, from the context's counts (the tables are not kept)."""
    counts = {name: ctx.step_counts[name] for name in ctx.step_names}
    for table_counts in (ctx.stats.get("epoch_counts", {}), ctx.eval_counts):
        for fmt, n in table_counts.items():
            counts[fmt] = counts.get(fmt, 0) + n
    hparams = dict(ctx.stats.get("hparams", {}))
    meta = {
        "formats": named_formats([f for f, _ in sorted(counts.items(), key=lambda kv: -kv[1])], formats),
        "format_records": counts,
        "total_epochs": None if math.isnan(ctx.total) else int(ctx.total),
        "hparams": hparams,
        "framework_version": ctx.framework_version,
        "device": ctx.device or hparam_for(hparams, "device"),
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
        meta["steps_per_epoch"] = steps_per_epoch(ctx, ctx.facts(), formats)
    return meta


def merge_meta(
    metas: list[dict[str, Any]],
    ranks: list[int | None],
    forced: str | None,
) -> dict[str, Any]:
    """The ``meta`` of a run from its logs' (one per file, with each file's rank)."""
    meta = dict(metas[0])
    if len(metas) > 1:
        meta["files"] = [f for m in metas for f in m["files"]]
        for key in ("lines_read", "lines_skipped", "lines_noise"):
            meta[key] = sum(m[key] for m in metas)
        meta["formats"] = list(dict.fromkeys(f for m in metas for f in m["formats"]))
        totals = [m["total_epochs"] for m in metas if m["total_epochs"] is not None]
        meta["total_epochs"] = max(totals) if totals else None
    meta["forced_format"] = forced
    meta["ranks"] = sorted({r for r in ranks if r is not None})
    hp = meta["hparams"]
    meta["batch_size"] = hparam_number(hparam_for(hp, "batch_size"))
    devices = hparam_for(hp, "device_num")
    meta["device_num"] = hparam_number(devices) or (len(ranks) if len(ranks) > 1 else None)
    return meta


def computed_throughput(epochs: pd.DataFrame, meta: dict[str, Any]) -> None:
    """samples/s = batch size x devices / step time, where the log prints no throughput."""
    batch = meta.get("batch_size")
    if not len(epochs) or not batch or "step_time_ms" not in epochs:
        return
    devices = meta.get("device_num") or 1
    missing = epochs["samples_per_sec"].isna()  # a conformed epochs table has every column
    computed = batch * devices * 1000.0 / epochs["step_time_ms"]
    epochs.loc[missing, "samples_per_sec"] = computed[missing]
    epochs.loc[missing & computed.notna(), "samples_per_sec_source"] = "computed"
