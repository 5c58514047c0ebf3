"""The steps table of one part: its rows numbered with the whole-log numbering rule.

Columns are those of ``parsers.schema.TABLES["steps"]``, built from the raw columns
of the same name by dtype, so a column added to the schema and printed by a format
comes out filled with no change here.  Built from arrays without copies where
possible: the table can hold millions of rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from parsers.columns import Columns
from parsers.dispatch import is_constant
from parsers.engine.context import Context, ContextChanged
from parsers.engine.numbering import check_numbering, decide_numbering, global_numbers, track_steps
from parsers.registry import LogFormat
from parsers.schema import TABLES, empty_table

__all__ = ["flagged_steps", "int_array", "step_columns", "steps_frame", "steps_frames"]


def step_columns(
    ctx: Context, cols: Columns, epoch: np.ndarray, formats: dict[str, LogFormat]
) -> Columns | None:
    """The steps table of this part as the schema's raw columns (``None``: no rows).

    Kept as arrays so that ``assemble`` can join the rows of many small logs and build
    one frame for them all (``steps_frames``): a frame per three-line log cost more than
    the rest of its parse.
    """
    n = len(cols["line"])
    if not n:
        return None
    if "loss" not in cols:
        if not ctx.facts()["loss_seen"]:
            ctx.lossless = True  # lines with a step and no loss, in a log that never prints one
            return None
        cols = {**cols, "loss": np.full(n, np.nan)}
    elif ctx.lossless:
        ctx.loss_seen = True  # before raising: the restarted pass gets it as a hint
        raise ContextChanged("a loss column appeared after step records without one")
    ctx.loss_seen = True
    missing = np.broadcast_to(np.nan, (n,))
    step, rank, printed = cols.get("step", missing), cols.get("rank", missing), cols.get("global_step")
    has_printed = printed is not None and not np.isnan(printed).all()
    filled = np.where(np.isnan(step), printed, step) if has_printed else step
    track_steps(ctx, cols, step, filled, epoch, rank)
    numbering = decide_numbering(ctx, formats)
    check_numbering(ctx, numbering)
    ctx.epoch_one_only = ctx.epoch_one_only and _only_epoch_one(epoch, filled)
    number = global_numbers(ctx, numbering, epoch, filled, rank)
    if has_printed:
        number = np.where(np.isnan(printed), number, printed)
    ctx.steps += n
    out = {**cols, "epoch": epoch, "step": filled, "global_step": number}
    return {name: out[name] for name in TABLES["steps"] if name in out}


def steps_frame(cols: Columns | None) -> pd.DataFrame:
    """The steps table from ``step_columns``."""
    return empty_table("steps") if cols is None else _table(cols, len(cols["line"]))


def steps_frames(parts: list[Columns]) -> pd.DataFrame:
    """One steps table from the ``step_columns`` of several logs, in order: the rows each
    log's ``steps_frame`` gives, built as one frame per run of logs with the same columns."""
    frames, run = [], []
    for cols in parts:
        if run and cols.keys() != run[0].keys():
            frames.append(_joined(run))
            run = []
        run.append(cols)
    if run:
        frames.append(_joined(run))
    return frames[0] if len(frames) == 1 else pd.concat(frames)  # conformed (renumbered) by the caller


def _joined(parts: list[Columns]) -> pd.DataFrame:
    if len(parts) == 1:
        return steps_frame(parts[0])
    cols = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return _table(cols, len(cols["line"]))


def flagged_steps(cols: Columns | None) -> bool:
    """Whether ``step_columns`` hold a step ``events_table`` reports: a non-finite loss, an overflow."""
    if cols is None:
        return False
    if not np.isfinite(cols["loss"]).all():
        return True
    flag = cols.get("overflow")
    return flag is not None and bool((np.asarray(flag) == 1.0).any())  # a missing flag: none


def _only_epoch_one(epoch: np.ndarray, step: np.ndarray) -> bool:
    """Whether every row with a step is in epoch 1 (asked only while it holds: one pass a part)."""
    return bool((epoch[~np.isnan(step)] == 1).all())


def _table(cols: Columns, n: int) -> pd.DataFrame:
    """The schema's steps columns from the raw ones; a text column no format printed is left to
    ``conform`` (float columns share one array of NaN)."""
    nan_column = _SharedNaN(n)
    data = {}
    for name, dtype in TABLES["steps"].items():
        values = cols.get(name)
        if dtype == "float64":
            data[name] = _owned(values, nan_column) if values is not None else nan_column.get()
        elif dtype == "boolean":  # ``overflow``: read by ``events_table`` before the frame is conformed
            flag = values if values is not None else np.broadcast_to(np.nan, (n,))
            data[name] = pd.arrays.BooleanArray(flag == 1.0, np.isnan(flag))
        elif values is None:
            continue  # ``conform`` adds it (``step_columns`` gives every integer column)
        elif dtype == "Int64":
            data[name] = int_array(values)
        else:
            data[name] = values
    return pd.DataFrame(data, copy=False)


def int_array(values: np.ndarray) -> pd.arrays.IntegerArray:
    """A nullable integer column from float64 (NaN: missing) or gathered int64 values."""
    if is_constant(values) and np.isnan(values[0]):
        return pd.arrays.IntegerArray(np.zeros(len(values), np.int64), np.ones(len(values), bool))
    if values.dtype == np.int64:  # gathered integers: nothing missing
        return pd.arrays.IntegerArray(values, np.zeros(len(values), bool))
    missing = np.isnan(values)
    if missing.any():
        values = np.where(missing, 0.0, values)
    return pd.arrays.IntegerArray(values.astype(np.int64), missing)


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
