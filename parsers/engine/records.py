"""Raw records: what the scanner extracted from the lines of one log (or one part of it).

Raw records know only what their own line says; ``parsers.engine.assembly`` gives
them context.  Per raw table (a pattern's target: the schema's tables plus the
registry's extra targets such as ``context`` or ``hparams``) they are column arrays
plus the format of each row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from parsers.columns import ColumnParts, Columns
from parsers.dispatch import ChunkRecords, constant_column, is_constant
from parsers.engine.context import columns_from_json

__all__ = ["NO_ROWS", "SKIPPED_EXAMPLES", "RawRecords", "SmallTables", "joined_records"]

SKIPPED_EXAMPLES = 20

# The frame of a raw table a part has no rows of: shared, never modified.
NO_ROWS = pd.DataFrame({"line": np.empty(0, np.int64), "rank": np.empty(0), "format": np.empty(0, object)})


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
                # An epoch record keeps the pattern that read it: several records of one epoch
                # and one pattern are several timings of it (``tables._repeated_timings``).
                cols = columns
                if table == "epochs":
                    cols = {**columns, "pattern": _named(n, batch.pattern.name)}
                    if batch.pattern.table != "epochs":
                        cols = _epoch_figures(cols)
                parts.append(
                    batch.fmt.name, cols, expected_rows=len(cols["line"]) and self._expected(parts.n + n)
                )
        self.lines_read += chunk.n_lines
        self.lines_skipped += len(chunk.skipped_rows)
        self.lines_noise += chunk.noise
        room = SKIPPED_EXAMPLES - len(self.skipped_examples)  # never below 0: full, it takes none
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
        joined, codes, names = in_line_order(parts)
        line = joined["line"]
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
        # The format column given to the constructor: set afterwards it cost a millisecond a log.
        return pd.DataFrame({**cols, "format": np.asarray(names, dtype=object)[codes]})


_TIMES = ("epoch_time_ms", "step_time_ms", "data_time_ms", "eval_time_ms")


def _epoch_figures(columns: dict[str, Any]) -> dict[str, Any]:
    """The epoch records of a step pattern's rows (a step line that may close an epoch) worth keeping.

    A row with no epoch figure is none.  Rows with a throughput and no time are the epoch's
    only when printed once an epoch (``tables._step_rates`` decides over the whole log); where a
    batch already prints two in one epoch of one rank (YOLOv5's ``fps`` every 100 iterations)
    that rule drops them all, so only the first such pair is kept, for it to see: a log of
    millions of such lines builds no epoch frame of millions of rows.
    """
    n = len(columns["line"])
    timed = np.zeros(n, bool)
    for col in _TIMES:
        if col in columns:
            timed |= ~np.isnan(np.asarray(columns[col], np.float64))
    rate = columns.get("samples_per_sec")
    rated = ~timed & (~np.isnan(np.asarray(rate, np.float64)) if rate is not None else np.zeros(n, bool))
    keep = timed | rated
    if "epoch" in columns and rated.any():
        epoch = np.asarray(columns["epoch"], np.float64)
        rank = columns.get("rank")
        rank = np.zeros(n) if rank is None else np.nan_to_num(np.asarray(rank, np.float64), nan=-1.5)
        placed = np.flatnonzero(rated & ~np.isnan(epoch))  # own epoch printed
        pair = _first_repeat(epoch[placed[:_LOOK]], rank[placed[:_LOOK]])
        if pair is not None:
            keep[placed] = False
            keep[placed[list(pair)]] = True
    if keep.all():
        return columns
    return {k: np.asarray(v)[keep] for k, v in columns.items()}


# Rows looked at for a repeat: a step's throughput repeats within its first few records; one
# missed only costs time (the rows are kept for the epochs table's own rule), never a row.
_LOOK = 256


def _first_repeat(epoch: np.ndarray, rank: np.ndarray) -> tuple[int, int] | None:
    """The first two of these rows in one epoch of one rank (positions), if any."""
    seen: dict[tuple[float, float], int] = {}
    for i, key in enumerate(zip(epoch.tolist(), rank.tolist(), strict=True)):
        if key in seen:
            return seen[key], i
        seen[key] = i
    return None


def _named(n: int, name: str) -> np.ndarray:
    return constant_column(n, name, numeric=False)


class SmallTables(dict):
    """The raw tables other than steps, as frames: a table without rows reads as ``NO_ROWS``.

    Built from what the records hold, so no list of table names is kept here.  A frame is
    built when first read: ``rows`` and ``has`` answer from the records, and most logs'
    small tables are only asked whether they hold a column (a frame a log cost more than
    the rest of a small log's parse).
    """

    def __init__(self, raw: RawRecords) -> None:
        super().__init__()
        self.raw = raw
        self.unbuilt = {name for name, parts in raw.parts.items() if name != "steps" and parts.n}
        # The formats that read each table (a superset once rows are dropped): asking a frame's
        # text column costs a fraction of a millisecond, a log's whole parse a few.
        self.formats = {name: set(parts.names) for name, parts in raw.parts.items() if name != "steps"}

    def read_by(self, name: str) -> set[str]:
        """The formats that may have rows in table ``name`` (one with rows: ``rows(name)`` > 0)."""
        return self.formats[name]

    def __missing__(self, name: str) -> pd.DataFrame:
        if name not in self.unbuilt:
            return NO_ROWS
        self.unbuilt.discard(name)
        frame = self[name] = self.raw.frame(name)
        return frame

    def rows(self, name: str) -> int:
        """Rows of table ``name``, its frame not built."""
        if name in self.unbuilt:
            return self.raw.parts[name].n
        return len(self[name])

    def has(self, name: str, column: str) -> bool:
        """Whether table ``name`` has rows and a column ``column`` (its frame not built)."""
        if name not in self.unbuilt:
            frame = self[name]
            return bool(len(frame)) and column in frame
        parts = self.raw.parts[name]
        return column in ("line", "rank", "format") or any(
            column in held for held in (parts.numeric, parts.constant, parts.objects)
        )


def joined_records(
    stored: dict[str, Any] | None, new: tuple[Columns, np.ndarray, list[str]]
) -> tuple[Columns, np.ndarray, list[str]]:
    """Raw records kept in a context (``columns_to_json``) and a part's, joined as ``RawRecords`` joins.

    Both come from ``RawRecords.columns``, so their ``rank`` column is already the log's own
    where a line printed none: joining them only puts the rows in line order.
    """
    if not stored:
        return new
    parts = ColumnParts()
    for cols, codes, names in (columns_from_json(stored), new):
        for code, fmt in enumerate(names):
            mask = codes == code
            if mask.any():
                parts.append(fmt, {k: np.asarray(v)[mask] for k, v in cols.items()})
    return in_line_order(parts)


def in_line_order(parts: ColumnParts) -> tuple[Columns, np.ndarray, list[str]]:
    """The parts' rows joined, sorted by line where several patterns interleave."""
    joined, codes, names = parts.join()
    line = joined["line"]
    if not bool(np.all(line[1:] > line[:-1])):
        order = np.argsort(line, kind="stable")
        joined = {k: v[order] for k, v in joined.items()}
        codes = codes[order]
    return joined, codes, names
