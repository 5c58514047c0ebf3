"""Global step numbering: steps per epoch, cumulative counters, and the numbering rule.

A log counts steps within each epoch, over the whole run, or not at all; which one
is a whole-log decision made from running facts (``Context``): the largest step
and printed steps-per-epoch seen, and per rank a "stream" that remembers whether the
step counter ever fell back when the epoch changed.  ``decide_numbering`` turns the
facts into ``[mode, steps per epoch, step base]``; ``global_numbers`` applies it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from parsers.columns import Columns
from parsers.dispatch import is_constant
from parsers.engine.context import Context, ContextChanged, Stream, columns_from_json
from parsers.engine.epochs import COUNTER_FLAGS, zero_flag
from parsers.engine.generic import generic_names, without_generic
from parsers.registry import LogFormat

__all__ = [
    "Numbering",
    "check_numbering",
    "decide_numbering",
    "float_column",
    "fold_epoch_rows",
    "fold_stream",
    "global_numbers",
    "is_cumulative",
    "note_header_spe",
    "spe_from_epochs",
    "step_base",
    "steps_per_epoch",
    "track_steps",
]

Numbering = list[Any]  # [mode ("count", "epoch_end", "step" or "epoch"), steps per epoch, step base]


def spe_from_epochs(epochs: Mapping[str, Any]) -> int | None:
    """Steps in one epoch from the raw epoch records: as printed, or epoch time / step time.

    Only training records count: an ``Eval epoch time: ..., per step time: ...`` line
    divides into the number of *evaluation* steps, which says nothing about how many
    training steps an epoch has (Mask R-CNN: 5000 eval steps, 19714 training steps).
    ``epochs`` is a frame or a dict of columns; the rule runs on numpy, since a small log's
    records are one row and pandas' per-call cost (a millisecond) would be most of its parse.
    """
    train = None
    if "phase" in epochs:
        phase = np.asarray(epochs["phase"])  # text: object
        is_eval = np.fromiter((isinstance(p, str) and p.lower() == "eval" for p in phase), bool, len(phase))
        if is_eval.any():
            train = ~is_eval
    if "steps" in epochs:
        steps = float_column(epochs["steps"], train)
        if (~np.isnan(steps)).any():
            return int(np.nanmax(steps))
    if "epoch_time_ms" in epochs and "step_time_ms" in epochs:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = float_column(epochs["epoch_time_ms"], train) / float_column(epochs["step_time_ms"], train)
        ratio = ratio[np.isfinite(ratio)]
        if len(ratio) and bool((np.abs(ratio - np.round(ratio)) < 0.05).all()):
            return int(np.median(np.round(ratio)))
    return None


def float_column(column: Any, keep: np.ndarray | None = None) -> np.ndarray:
    """A column as float64 (text that is no number: NaN), only the ``keep`` rows when given."""
    values = np.asarray(column)
    if values.dtype.kind not in "fiub":
        values = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy()  # numpy: float or int
    values = values.astype(np.float64, copy=False)
    return values if keep is None else values[keep]


def steps_per_epoch(ctx: Context, facts: dict, formats: dict[str, LogFormat]) -> int | None:
    """Steps in one epoch over the log so far: as printed, from the epoch records, or the largest step."""
    if not math.isnan(facts["printed_spe"]):
        return int(facts["printed_spe"])
    from_epochs = ctx.stats.get("spe_epochs")
    if ctx.hints and facts["epochs_raw"]:  # hinted: the epoch records of the aborted pass count too
        cols, codes, names = columns_from_json(facts["epochs_raw"])
        records = {**cols, "format": np.asarray(names)[codes]}
        from_epochs = spe_from_epochs(without_generic(records, generic_names(formats))[0])
    if from_epochs is not None:
        return int(from_epochs)
    return None if math.isnan(facts["step_max"]) else int(facts["step_max"])


def step_base(bases: list[int]) -> int:
    """The step the log's formats count first: theirs when they agree, else 1."""
    distinct = set(bases)
    return distinct.pop() if len(distinct) == 1 else 1


def note_header_spe(ctx: Context, context_rows: pd.DataFrame) -> None:
    """Steps per epoch an epoch's header prints (``Beginning of Epoch 1/1, Total Micro Batches
    1840``) count as printed ones: fold them in before the part's steps are numbered."""
    if len(context_rows) and "steps_per_epoch" in context_rows:
        printed = pd.to_numeric(context_rows["steps_per_epoch"], errors="coerce").max()
        if pd.notna(printed):
            ctx.printed_spe = float(np.fmax(ctx.printed_spe, printed))


def track_steps(
    ctx: Context, cols: Columns, step: np.ndarray, filled: np.ndarray, epoch: np.ndarray, rank: np.ndarray
) -> None:
    """Fold this part's step rows into the running facts the numbering rule is decided from."""
    printed_spe = cols.get("steps_per_epoch")
    if printed_spe is not None and not np.isnan(printed_spe).all():
        ctx.printed_spe = float(np.fmax(ctx.printed_spe, np.nanmax(printed_spe)))
    if not _all_nan(step):
        ctx.step_max = float(np.fmax(ctx.step_max, np.nanmax(step)))
        ctx.step_min = float(np.fmin(ctx.step_min, np.nanmin(step)))
    ctx.epoch_rows = fold_epoch_rows(ctx.epoch_rows, epoch, filled)
    ctx.step_any = ctx.step_any or not _all_nan(filled)
    ctx.epoch_any = ctx.epoch_any or not _all_nan(epoch)
    ctx.streams["all"] = fold_stream(ctx.streams.get("all"), epoch, filled)
    if _all_nan(rank):
        return
    for r in np.unique(rank[~np.isnan(rank)]).tolist():
        mask = rank == r
        ctx.streams[f"r{r}"] = fold_stream(ctx.streams.get(f"r{r}"), epoch[mask], filled[mask])
        if r not in ctx.ranks:
            ctx.ranks.append(r)


def _all_nan(values: np.ndarray) -> bool:
    if is_constant(values):
        return bool(np.isnan(values[0]))
    return bool(np.isnan(values).all())


def fold_epoch_rows(state: list[Any], epoch: np.ndarray, step: np.ndarray) -> list[Any]:
    """[last epoch, repeated] over the step rows that print no step: repeated once two share an epoch.

    A row without an epoch counts as a repeat too: it cannot be an epoch's summary.
    """
    stepless = np.isnan(step)
    if not stepless.any():
        return list(state)
    epoch = epoch[stepless]
    last, repeated = state
    if np.isnan(epoch).any():
        return [last, True]
    joined = epoch if last is None else np.concatenate([[last], epoch])
    repeated = repeated or bool((joined[1:] <= joined[:-1]).any())
    return [float(epoch[-1]), repeated]


def fold_stream(stream: Stream | None, epoch: np.ndarray, step: np.ndarray) -> Stream:
    """[last epoch, last step, epoch changed, step fell back at a change], carried across parts.

    Only the rows where the epoch changes are compared, so this stays cheap on
    millions of steps.
    """
    known = ~(np.isnan(epoch) | np.isnan(step))
    if not known.all():
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


def is_cumulative(facts: dict) -> bool:
    """Steps count over the whole run when each epoch's first step is past the last one's (rank by rank)."""
    streams = facts["streams"]
    if len(facts["ranks"]) > 1:
        return all(_rising(streams.get(f"r{r}")) for r in facts["ranks"])
    return _rising(streams.get("all"))


def _rising(stream: Stream | None) -> bool:
    return bool(stream and stream[2] and not stream[3])


def decide_numbering(ctx: Context, formats: dict[str, LogFormat]) -> Numbering:
    """How the whole log so far is numbered: counted, as printed, or epoch x steps per epoch + step.

    Without any step counter, records that each state a new epoch, in a log whose
    epochs have a known number of steps, are epoch summaries: ``"epoch_end"``, the
    record stands at its epoch's last step (ResNet's ``epoch: [5/90] loss: ...,
    epoch time: 40.559 s, per step time: 207.995 ms`` is global step 5 x 195).
    """
    facts = ctx.facts()
    # Only formats whose step records were kept: the grammar's misreadings, dropped where a named
    # format read the steps, say nothing about how the kept records count.
    kept = [n for n in ctx.step_names if n in formats and ctx.step_counts.get(n)]
    base = step_base([formats[n].step_base for n in kept])
    if base == 1 and (_last_index_only(facts) or _epoch_end_index(facts, kept)):
        base = 0
    if not facts["step_any"]:
        spe = steps_per_epoch(ctx, facts, formats) if facts["epoch_any"] else None
        if spe is not None and not facts["epoch_rows"][1]:
            return ["epoch_end", spe, base]
        return ["count", None, base]
    spe = steps_per_epoch(ctx, facts, formats)
    if not facts["epoch_any"] or spe is None or is_cumulative(facts):
        return ["step", None, base]
    return ["epoch", spe, base]


def _last_index_only(facts: dict) -> bool:
    """A counter that prints a 0 (``iter[0]``), or on every record reads one less than the
    printed total, counts from 0.

    ``step:[  624/  625]`` printed once an epoch, with 625 steps an epoch: a monitor
    printing at the end of each epoch shows its last step, so 624 is a 0-based index
    (the model zoo's ``(cur_step_num - 1) % batch_num``).  A 1-based counter prints
    ``[625/625]`` there instead (mindvision's ``[ 1875/ 1875]``).
    """
    spe, low, high = facts["printed_spe"], facts["step_min"], facts["step_max"]
    return low == 0 or (not math.isnan(spe) and low == high == spe - 1)


def _epoch_end_index(facts: dict, kept: list[str]) -> bool:
    """A run-wide counter printed at each epoch's end one less than the epoch's end
    (``epoch[1], iter[443]``, ``epoch[2], iter[665]``: 222 steps an epoch) is a 0-based index
    (``parsers.engine.epochs._epoch_ends_from_zero`` does the arithmetic)."""
    flags = facts["zeros"][COUNTER_FLAGS]  # this pass's (``decide_epoch_bases`` set them) and the hints
    return any(zero_flag(flags, n) for n in kept)


def check_numbering(ctx: Context, numbering: Numbering) -> None:
    """Raise ``ContextChanged`` when committed rows were numbered otherwise (and it matters)."""
    old = ctx.numbering
    ctx.numbering = numbering
    if not ctx.steps or old is None or old == numbering:
        return
    if {"count", "epoch_end"} & {old[0], numbering[0]} or old[2] != numbering[2] or not ctx.epoch_one_only:
        raise ContextChanged(f"step numbering changed from {old} to {numbering}")


def global_numbers(
    ctx: Context, numbering: Numbering, epoch: np.ndarray, step: np.ndarray, rank: np.ndarray
) -> np.ndarray:
    """1-based global step of each row under ``numbering`` (counted rows continue per rank)."""
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
    if mode == "epoch_end":
        return epoch * spe
    return (epoch - 1) * spe + step - base + 1
