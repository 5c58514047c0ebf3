"""The one place where the tables' columns, dtypes and meanings are defined.

Every format fills these same columns, so the dashboard, the store and the CLI
never ask which format a table came from.  A column a format does not print is
present and missing (``<NA>``/``NaN``), never absent.

steps -- one row per loss record
    epoch          Int64    1-based epoch (0-based formats are shifted by one)
    step           Int64    step as printed (within the epoch, or cumulative)
    global_step    Int64    1-based step counted over the whole run
    loss           float64  NaN and +/-inf are kept as such
    lr             float64  learning rate, where printed
    loss_scale     float64  where printed (mixed precision)
    overflow       boolean  loss-scale overflow flag, where printed
    step_time_ms   float64  time of this step, where printed
    rank           Int64    device rank: from a rank tag in the line or the file name
    line           Int64    1-based line number in the source file (missing for event files)
    source         string   where the row came from: 'log' (a text log), 'summary' (a MindSpore
                            summary file), 'tfevents' (a TensorBoard event file); also in the
                            three tables below

epochs -- one row per epoch that printed a time or throughput line
    epoch          Int64
    epoch_time_ms  float64  wall time of the training epoch
    step_time_ms   float64  mean step time of the epoch
    data_time_ms   float64  data loading time (MindSpore 2.x TimeMonitor), where printed
    eval_time_ms   float64  evaluation time of the epoch, where printed
    steps          Int64    steps in the epoch, as printed or counted from the steps table
    samples_per_sec float64 throughput
    samples_per_sec_source string  'printed', or 'computed' from batch size x devices / step time
    rank           Int64
    line           Int64    first line that reported the epoch

evals -- one row per metric value
    epoch          Int64    nullable: a final evaluation may not say its epoch
    metric         string   name as printed ('acc', 'top_1_accuracy', ...)
    value          float64  percentages printed with '%' are turned into fractions
    rank           Int64
    line           Int64

events -- things a person wants to know happened
    kind           string   one of EVENT_KINDS
    epoch          Int64    epoch in progress at that line, where known
    rank           Int64
    line           Int64
    message        string   the log line, stripped

scalars -- every scalar of a run's summary / event files, by tag (none for a text log)
    tag            string   as recorded ('loss', 'loss/auto', 'train/lr', 'eval/acc', ...)
    step           Int64    the record's step
    wall_time      float64  seconds since 1970-01-01 UTC, when the value was recorded
    value          float64  the value (float32 in the file for most writers)
    source         string   'summary' or 'tfevents'
runs -- ``RunStore.runs()``: one row per run (a folder's logs are its ranks), the figures of
    ``parsers.summarize`` for the whole run; meanings in ``parsers.store.summary``.  ``RUNS``.

The tags that mean a column of the tables above (loss spellings -> steps.loss, lr,
loss_scale, eval metrics -> evals) are listed in ``parsers.events.tags``.

Event kinds: start (with the announced total epochs), finish, nan, overflow,
warning, error, traceback, checkpoint (saved), interrupt, resume, pretrained
(weights loaded from a checkpoint), conflict (a text log and a summary of the same run
hold different losses for one step).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULTS",
    "EVENT_KINDS",
    "LOG_TABLES",
    "RUNS",
    "TABLES",
    "column_floats",
    "conform",
    "empty_table",
    "missing_column",
]

TABLES: dict[str, dict[str, str]] = {
    "steps": {
        "epoch": "Int64",
        "step": "Int64",
        "global_step": "Int64",
        "loss": "float64",
        "lr": "float64",
        "loss_scale": "float64",
        "overflow": "boolean",
        "step_time_ms": "float64",
        "rank": "Int64",
        "line": "Int64",
        "source": "string",
    },
    "epochs": {
        "epoch": "Int64",
        "epoch_time_ms": "float64",
        "step_time_ms": "float64",
        "data_time_ms": "float64",
        "eval_time_ms": "float64",
        "steps": "Int64",
        "samples_per_sec": "float64",
        "samples_per_sec_source": "string",
        "rank": "Int64",
        "line": "Int64",
        "source": "string",
    },
    "evals": {
        "epoch": "Int64",
        "metric": "string",
        "value": "float64",
        "rank": "Int64",
        "line": "Int64",
        "source": "string",
    },
    "events": {
        "kind": "string",
        "epoch": "Int64",
        "rank": "Int64",
        "line": "Int64",
        "message": "string",
        "source": "string",
    },
    "scalars": {
        "tag": "string",
        "step": "Int64",
        "wall_time": "float64",
        "value": "float64",
        "source": "string",
    },
}

# The runs table (one row per run, ``RunStore.runs()``): columns in order, with their dtypes.
RUNS: dict[str, str] = {
    "run": "string",
    "path": "string",
    "log": "string",
    "status": "string",
    "epochs_done": "Int64",
    "total_epochs": "Int64",
    "steps": "Int64",
    "first_loss": "float64",
    "last_loss": "float64",
    "min_loss": "float64",
    "best_metric": "string",
    "best_value": "float64",
    "mean_epoch_time_ms": "float64",
    "samples_per_sec": "float64",
    "wall_time_s": "float64",
    "eta_s": "float64",
    "last_update": "datetime64[ns, UTC]",
    "error": "string",
    "formats": "string",
}

# What a missing value of a column means, where it means something: rows that do not say
# where they came from came from a text log (the parser of text never spells it out).
DEFAULTS: dict[str, str] = {"source": "log"}

# The tables a text log fills (``ParsedLog``'s), in their order.
LOG_TABLES: tuple[str, ...] = ("steps", "epochs", "evals", "events")

EVENT_KINDS: tuple[str, ...] = (
    "start",
    "finish",
    "nan",
    "overflow",
    "warning",
    "error",
    "traceback",
    "checkpoint",
    "interrupt",
    "resume",
    "pretrained",
    "conflict",
)


def empty_table(name: str) -> pd.DataFrame:
    """A table with the right columns and dtypes and no rows."""
    if name not in _EMPTY:
        _EMPTY[name] = pd.DataFrame({col: pd.Series(dtype=dtype) for col, dtype in TABLES[name].items()})
    return _EMPTY[name].copy()


_EMPTY: dict[str, pd.DataFrame] = {}


def conform(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Return ``frame`` with exactly the schema's columns, in order, with its dtypes."""
    columns = {}
    n = len(frame)
    for col, dtype in TABLES[name].items():
        if col in frame:
            # Every column by position: a frame sorted or filtered keeps its old labels, and columns
            # built from labels beside columns built from positions would be joined by label.
            series = frame[col].reset_index(drop=True)
            columns[col] = series.astype(dtype) if str(series.dtype) != dtype else series
            if col in DEFAULTS and columns[col].hasnans:
                columns[col] = columns[col].fillna(DEFAULTS[col])
        elif col in DEFAULTS and name != "scalars":
            columns[col] = constant_column(n, DEFAULTS[col])
        else:
            columns[col] = missing_column(n, dtype)
    out = pd.DataFrame(columns, copy=False)
    out.index = pd.RangeIndex(n)
    return out


def constant_column(n: int, text: str) -> pd.Series:
    """``n`` copies of ``text`` as a string column, built as Arrow dictionary codes (no Python loop)."""
    import pyarrow as pa

    codes = pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int8), pa.array([text]))
    return pd.Series(pd.arrays.ArrowStringArray(codes.cast(pa.string())))


def missing_column(n: int, dtype: str) -> pd.Series:
    """``n`` missing values of ``dtype``, built without a Python-level loop."""
    if dtype == "float64":
        return pd.Series(np.full(n, np.nan))
    if dtype == "Int64":
        return pd.Series(pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool)))
    if dtype == "boolean":
        return pd.Series(pd.arrays.BooleanArray(np.zeros(n, bool), np.ones(n, bool)))
    return pd.Series(pd.array(np.full(n, None, dtype=object), dtype=dtype))


def column_floats(table: pd.DataFrame, column: str) -> np.ndarray:
    """``table[column]`` as float64 with NaN for a missing value, or all NaN when the table has
    no such column: the one form the summary rules compute on, whatever nullable dtype
    (``Int64`` rank and line, ``Float64``) the table holds it in."""
    if column not in table:
        return np.full(len(table), np.nan)
    return table[column].to_numpy(np.float64, na_value=np.nan)
