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
                cols = {**columns, "pattern": _named(n, batch.pattern.name)} if table == "epochs" else columns
                parts.append(batch.fmt.name, cols, expected_rows=self._expected(parts.n + n))
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


def _named(n: int, name: str) -> np.ndarray:
    return constant_column(n, name, numeric=False)


class SmallTables(dict):
    """The raw tables other than steps, as frames: a table without rows reads as ``NO_ROWS``.

    Built from what the records hold, so no list of table names is kept here.
    """

    def __init__(self, raw: RawRecords) -> None:
        super().__init__(
            (name, raw.frame(name)) for name, parts in raw.parts.items() if name != "steps" and parts.n
        )

    def __missing__(self, name: str) -> pd.DataFrame:
        return NO_ROWS


def joined_records(
    stored: dict[str, Any] | None, new: tuple[Columns, np.ndarray, list[str]], *, name: str, rank: int | None
) -> tuple[Columns, np.ndarray, list[str]]:
    """Raw records kept in a context (``columns_to_json``) and a part's, joined as ``RawRecords`` joins."""
    if not stored:
        return new
    parts = ColumnParts()
    for cols, codes, names in (columns_from_json(stored), new):
        for code, fmt in enumerate(names):
            mask = codes == code
            if mask.any():
                parts.append(fmt, {k: np.asarray(v)[mask] for k, v in cols.items()})
    holder = RawRecords(name=name, rank=rank)
    holder.parts["raw"] = parts
    return holder.columns("raw")
