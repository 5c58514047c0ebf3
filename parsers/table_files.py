"""Tables to files (``--to csv|parquet|json``) in slices, so a 1.7M-row steps table adds little memory.

Each table is written a slice of rows at a time: Parquet as one row group per
slice through one ``ParquetWriter`` (the schema taken once from the pandas dtypes,
so an all-missing slice cannot change a column's type), CSV and JSON Lines by
appending.  A whole-table ``pa.Table.from_pandas`` would briefly hold a second copy
of the largest table; slices keep that extra to a few MB.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["SLICE_ROWS", "TABLE_FORMATS", "table_path", "to_jsonable", "write_tables"]

# --to NAME -> file suffix.  JSON is JSON Lines (one object per row, NaN/Inf as null); read it
# back with ``pd.read_json(path, lines=True, precise_float=True)``.  One JSON array of 1.7M
# rows would help nobody.
TABLE_FORMATS = {"csv": ".csv", "parquet": ".parquet", "json": ".jsonl"}
SLICE_ROWS = 1 << 16
META_FILE = "meta.json"


def table_path(out_dir: Path, name: str, to: str) -> Path:
    """Where table ``name`` goes for ``--to``: ``steps.parquet``, ``epochs.csv``, ``evals.jsonl``."""
    return Path(out_dir) / f"{name}{TABLE_FORMATS[to]}"


def write_tables(
    tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any], *, to: str, out_dir: Path
) -> list[Path]:
    """Write each table and ``meta.json`` into ``out_dir`` (created); returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = _WRITERS[to]
    written = []
    for name, frame in tables.items():
        path = table_path(out_dir, name, to)
        writer(frame, path)
        written.append(path)
    meta_path = out_dir / META_FILE
    meta_path.write_text(json.dumps(to_jsonable(meta), indent=2) + "\n", encoding="utf-8")
    written.append(meta_path)
    return written


def _slices(frame: pd.DataFrame):
    for start in range(0, max(len(frame), 1), SLICE_ROWS):
        yield frame.iloc[start : start + SLICE_ROWS]


def _parquet(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    with pq.ParquetWriter(path, schema) as writer:
        for part in _slices(frame):
            writer.write_table(pa.Table.from_pandas(part, schema=schema, preserve_index=False))
            pa.default_memory_pool().release_unused()


def _csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, chunksize=SLICE_ROWS)


def _jsonl(frame: pd.DataFrame, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        template = "{" + ",".join(f"{json.dumps(str(c))}:%s" for c in frame.columns) + "}\n"
        for part in _slices(frame):
            columns = [_json_tokens(part[c]) for c in part.columns]
            out.write("".join(template % row for row in zip(*columns)))


def _json_tokens(column: pd.Series) -> list[str]:
    """JSON text of each value: floats by ``repr`` (exact, unlike ``to_json``'s 10 decimals), and
    null for missing and for NaN/Inf, which JSON cannot spell."""
    kind = str(column.dtype)
    if kind == "float64":
        return ["null" if v != v or v in (math.inf, -math.inf) else repr(v) for v in column.tolist()]
    values = column.to_numpy(dtype=object, na_value=None).tolist()
    if kind == "Int64":
        return ["null" if v is None else str(int(v)) for v in values]
    if kind == "boolean":
        return ["null" if v is None else ("true" if v else "false") for v in values]
    return [json.dumps(to_jsonable(v)) for v in values]


_WRITERS = {"csv": _csv, "parquet": _parquet, "json": _jsonl}


def to_jsonable(value: Any) -> Any:
    """Plain JSON values: NaN/inf become the strings ``"NaN"``/``"Infinity"`` (which ``float()`` reads
    back), because bare ``NaN`` is not JSON and ``null`` would hide that a loss diverged."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return to_jsonable(value.item())
    if value is pd.NA:
        return None
    return str(value)
