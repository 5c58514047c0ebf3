"""The one assembly engine: raw records of a part of a log, plus its context, to table rows.

A log is assembled part by part -- the lines a refresh finds appended, the segments
of a log bigger than memory -- each part with the ``Context`` of the parts before it,
so that the rows of all parts together are the rows of the whole log.  A whole log
(``assemble``, behind ``parse_log``) is simply one part read after an empty context.
Every decision that depends on the whole log lives in one function fed by running
facts: the generic-record rule (``generic``), epoch bases and the epoch in force
(``epochs``), steps per epoch and step numbering (``numbering``), meta (``meta``).

What those decisions are made from only ever moves one way as lines are added.  When
a part moves a decision that committed rows already depend on -- the first ``epoch
0`` of a format whose records said 1 so far, the first specific record after generic
ones, steps per epoch changing once epoch 2 has begun -- ``ContextChanged`` is raised
and the caller parses the log again from the start with ``context.hinted()``, which
makes the final decisions from the first line.  That is rare and always exact, and
it cannot happen to a part read after an empty context.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from parsers.columns import Columns
from parsers.engine.context import Context, ContextChanged
from parsers.engine.epochs import (
    Bases,
    decide_epoch_bases,
    epoch_at,
    epoch_timeline,
    last_statement,
    shifted_epochs,
)
from parsers.engine.generic import drop_generic, drop_summaries, generic_names
from parsers.engine.meta import (
    computed_throughput,
    count_formats,
    count_lines,
    current_meta,
    merge_meta,
    note_meta,
)
from parsers.engine.numbering import note_header_spe
from parsers.engine.records import RawRecords, SmallTables
from parsers.engine.stats import update_stats
from parsers.engine.steps import flagged_steps, step_columns, steps_frame, steps_frames
from parsers.engine.tables import (
    any_events,
    epoch_records,
    epochs_table,
    epochs_tables,
    evals_table,
    events_table,
)
from parsers.engine.times import join_times, joins_times
from parsers.hparams import split_bare_dicts
from parsers.registry import FORMATS, LogFormat
from parsers.schema import LOG_TABLES, TABLES, conform, empty_table

if TYPE_CHECKING:
    from parsers.parse import ParsedLog

__all__ = ["APPENDED_TABLES", "WHOLE_TABLE", "Increment", "assemble", "assemble_increment"]

# The table rebuilt whole at each part (its records may straddle parts); the others get rows appended.
WHOLE_TABLE = "epochs"
APPENDED_TABLES = tuple(name for name in LOG_TABLES if name != WHOLE_TABLE)


@dataclass
class Increment:
    """What one part adds: its rows, the whole epochs table when it changed, meta so far."""

    steps: pd.DataFrame
    evals: pd.DataFrame
    events: pd.DataFrame
    epochs: pd.DataFrame | None  # whole log, before computed throughput; None when unchanged
    meta: dict[str, Any]
    context: Context
    epoch_records: tuple[pd.DataFrame, Bases] | None = None  # unbuilt (a ``batch`` part only)


def assemble(
    raws: Iterable[RawRecords], *, forced: str | None = None, formats: dict[str, LogFormat] | None = None
) -> ParsedLog:
    """The tables of one run from the raw records of its log file(s): each file one part.

    Each log's decisions are its own (an empty ``Context`` each), but its rows are only
    piled up: tables are conformed, and the epochs table built, once for all logs -- a
    folder of 10,000 small logs costs 10,000 small decisions, not 10,000 sets of pandas
    calls.  ``raws`` may be a generator: each log's raw records are let go once assembled.
    """
    from parsers.parse import ParsedLog

    formats = FORMATS if formats is None else formats
    piles: dict[str, _Pile] = {name: _Pile() for name in APPENDED_TABLES}
    epochs = _Pile()
    unbuilt: list[tuple[pd.DataFrame, Bases]] = []
    metas, ranks = [], []
    for raw in raws:
        part = _assemble(raw, Context(raw.name, raw.rank), formats, False, batch=True)
        for name in APPENDED_TABLES:
            piles[name].add(getattr(part, name))
        if part.epoch_records is not None:
            unbuilt.append(part.epoch_records)
            if len(unbuilt) >= _FOLD:  # each log's epochs are its own: built a fold at a time
                epochs.add(epochs_tables(unbuilt))
                unbuilt = []
        metas.append(part.meta)
        ranks.append(raw.rank)
    epochs.add(epochs_tables(unbuilt))
    tables = {name: pile.table(name) for name, pile in piles.items()}
    tables[WHOLE_TABLE] = epochs.table(WHOLE_TABLE)
    meta = merge_meta(metas, ranks, forced)
    computed_throughput(tables[WHOLE_TABLE], meta)
    return ParsedLog(**tables, meta=meta)


_FOLD = 64  # logs whose rows are folded into one frame (small frames cost more than their rows)


class _Pile:
    """One table's rows from many logs: folded together every ``_FOLD`` logs, so that 10,000
    logs do not hold 10,000 small frames; conformed once at the end.  A log's steps may come
    as ``step_columns``: a fold builds one frame for a run of them."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []
        self.pending: list[pd.DataFrame | Columns] = []

    def add(self, rows: pd.DataFrame | Columns | None) -> None:
        if rows is None or (isinstance(rows, pd.DataFrame) and not len(rows)):
            return
        self.pending.append(rows)
        if len(self.pending) >= _FOLD:
            self.frames.append(_folded(self.pending))
            self.pending = []

    def table(self, name: str) -> pd.DataFrame:
        frames = self.frames + ([_folded(self.pending)] if self.pending else [])
        if not frames:
            return empty_table(name)
        if len(frames) == 1:
            return _conformed(frames[0], name)
        return conform(pd.concat(frames), name)  # ``conform`` numbers the rows


def _folded(parts: list[pd.DataFrame | Columns]) -> pd.DataFrame:
    """One frame of several logs' rows, in order (runs of ``step_columns`` built at once)."""
    frames: list[pd.DataFrame] = []
    run: list[Columns] = []
    for part in parts:
        if isinstance(part, pd.DataFrame):
            if run:
                frames.append(steps_frames(run))
                run = []
            frames.append(part)
        else:
            run.append(part)
    if run:
        frames.append(steps_frames(run))
    return frames[0] if len(frames) == 1 else pd.concat(frames)  # conformed (renumbered) by ``_Pile``


def assemble_increment(
    raw: RawRecords, context: Context, formats: dict[str, LogFormat], *, stats: bool = True
) -> Increment:
    """The rows of the lines in ``raw`` (read after ``context``) and the context after them.

    ``stats`` folds the running figures a run summary reads (``parsers.engine.stats``)
    into the context; a whole-log parse, which has the tables themselves, skips them.
    """
    ctx = context.copy()
    try:
        return _assemble(raw, ctx, formats, stats)
    except ContextChanged as exc:
        exc.context = ctx  # what was learned up to the change: hints for the next pass
        raise


def _assemble(
    raw: RawRecords, ctx: Context, formats: dict[str, LogFormat], stats: bool, *, batch: bool = False
) -> Increment:
    """One part's rows.  A ``batch`` part (a whole log, for ``assemble``) leaves its rows
    unconformed (``None`` for a table without rows) and its epoch records unbuilt."""
    facts = ctx.facts()
    generic = generic_names(formats)
    small = SmallTables(raw)
    new_epochs = raw.columns("epochs")
    steps = raw.columns("steps", consume=True)
    cols, codes, dropped = drop_generic(ctx, facts, steps, small, generic)
    names = steps[2]
    cols, codes, summaries = drop_summaries(ctx, facts, (cols, codes, names), generic)
    dropped += summaries
    small["evals"], bare = split_bare_dicts(small["evals"])
    count_formats(ctx, codes, names, small["evals"])
    bases = decide_epoch_bases(ctx, facts, (cols, codes, names), small, formats)
    epoch = shifted_epochs(cols.get("epoch"), codes, names, len(cols["line"]), bases["steps"])
    timeline = epoch_timeline(ctx.in_force, cols["line"], epoch, small, bases)
    if np.isnan(epoch).any():
        epoch = np.where(np.isnan(epoch), epoch_at(cols["line"], timeline), epoch)
    ctx.in_force = last_statement(timeline)
    records = (
        epoch_records(ctx, new_epochs, timeline, generic, keep=not batch)
        if len(new_epochs[0]["line"])
        else None
    )
    note_meta(ctx, raw, small, bare, cols)
    note_header_spe(ctx, small["context"])
    step_cols = step_columns(ctx, cols, epoch, formats)
    rows = None  # the steps frame, built when something reads it (a batch part leaves it to ``assemble``)
    if not batch or joins_times(ctx, facts, small["step_times"]):
        rows = join_times(ctx, facts, steps_frame(step_cols), small["step_times"], bases["step_times"])
    has_evals = bool(len(small["evals"]))
    evals = evals_table(small["evals"], timeline, bases["evals"], formats) if has_evals or not batch else None
    events = None
    if any_events(small["events"], rows) if rows is not None else _any_events(small["events"], step_cols):
        rows = steps_frame(step_cols) if rows is None else rows
        events = events_table(small["events"], rows, timeline)
    count_lines(ctx, raw, dropped)
    meta = current_meta(ctx, formats)
    unbuilt = None if records is None else (records, bases["epochs"])
    if batch:
        steps = step_cols if rows is None else rows
        return Increment(steps, evals, events, None, meta, ctx, epoch_records=unbuilt)  # type: ignore[arg-type]
    out = {"steps": _conformed(rows, "steps"), "evals": _conformed(evals, "evals")}
    out["events"] = empty_table("events") if events is None else _conformed(events, "events")
    if stats:
        update_stats(ctx, out["steps"], out["events"], out["evals"])
    table = None if unbuilt is None else epochs_table(*unbuilt)
    return Increment(**out, epochs=table, meta=meta, context=ctx)


def _any_events(raw: pd.DataFrame, step_cols: Columns | None) -> bool:
    """``any_events`` of a part whose steps frame is not built yet."""
    return bool(len(raw)) or flagged_steps(step_cols)


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
