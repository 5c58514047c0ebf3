"""Writing the store's files so that no reader or crash ever sees half of one.

Every file a reader may open is either written once under a fresh name before anything
refers to it (Parquet parts), or replaced whole by ``os.replace`` of a finished temporary
file (manifests, the runs table): killing a writer at any moment leaves the previous
version or the next one, never a mix.  Writers of one log entry, and writers of the
runs table, take an exclusive ``flock`` on a lock file, so two processes refreshing one
store at once take turns instead of interleaving.  (``flock`` is per host: a store on a
network file system shared by several machines needs one writer machine.)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "atomic_write_bytes",
    "atomic_write_json",
    "locked",
    "parquet_options",
    "read_json",
    "read_small_frame",
    "store_lock",
    "unique_name",
    "write_frame",
]

ROWS_PER_GROUP = 1 << 20


def unique_name(prefix: str, suffix: str) -> str:
    """A file name no other writer will choose."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}{suffix}"


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Replace ``path`` with ``data`` in one step (``durable``: also survive a power cut)."""
    tmp = path.with_name(unique_name(f".{path.name}", ".tmp"))
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_json(path: Path, data: Any, *, durable: bool = False) -> None:
    atomic_write_bytes(path, json.dumps(data, separators=(",", ":")).encode("utf-8"), durable=durable)


def read_json(path: Path) -> Any | None:
    """The JSON in ``path``, or None when there is no such file."""
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the ``with`` block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock, also when the process dies


def store_lock(store: Path, name: str) -> contextlib.AbstractContextManager[None]:
    """The lock ``name`` of a store (an entry's key, ``catalog``, ``alerts``): one home for where
    locks live, since two processes exclude each other only if they name the same file."""
    return locked(store / "locks" / f"{name}.lock")


_RECENT: OrderedDict[str, pd.DataFrame] = OrderedDict()
_RECENT_MAX = 256


def read_small_frame(path: Path) -> pd.DataFrame:
    """A small immutable Parquet file (an epochs table) as pandas, from memory if written here lately."""
    import pyarrow.parquet as pq

    key = str(path)
    if key not in _RECENT:
        _remember(key, pq.read_table(path).to_pandas())
    return _RECENT[key].copy()


def _remember(key: str, frame: pd.DataFrame) -> None:
    _RECENT[key] = frame
    _RECENT.move_to_end(key)
    while len(_RECENT) > _RECENT_MAX:
        _RECENT.popitem(last=False)


def write_frame(frame: pd.DataFrame, path: Path, *, table: str | None = None, remember: bool = False) -> None:
    """Write a table as Parquet, a million rows at a time so it is never held twice.

    ``table`` names the schema (``parsers.schema``) the frame follows: its columns are
    handed to Arrow directly, with their types, which is several times faster for the
    small parts a refresh writes than going through ``Table.from_pandas``.
    """
    import pyarrow.parquet as pq

    schema = _arrow_schema(table) if table else _pandas_schema(frame)
    with pq.ParquetWriter(path, schema, **parquet_options(schema)) as writer:
        for start in range(0, max(len(frame), 1), ROWS_PER_GROUP):
            piece = frame.iloc[start : start + ROWS_PER_GROUP] if len(frame) > ROWS_PER_GROUP else frame
            writer.write_table(to_arrow(piece, table))
    if remember:
        _remember(str(path), frame.copy())


def parquet_options(schema) -> dict:
    """Dictionaries only where they pay (text); statistics only for 'line', the column ranges are asked of."""
    text = [f.name for f in schema if str(f.type) == "string"]
    return {"use_dictionary": text, "write_statistics": ["line"] if "line" in schema.names else False}


def to_arrow(frame: pd.DataFrame, table: str | None = None):
    """The frame as an Arrow table; with ``table``, typed by the schema without pandas' converter."""
    import pyarrow as pa

    if table is None:
        return pa.Table.from_pandas(frame, preserve_index=False)
    schema = _arrow_schema(table)
    arrays = [_arrow_column(frame[f.name], f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _arrow_column(series: pd.Series, kind):
    import pyarrow as pa

    values = series.array
    if isinstance(values, (pd.arrays.IntegerArray, pd.arrays.BooleanArray)):
        return pa.array(values._data, mask=values._mask, type=kind)
    if pa.types.is_floating(kind):
        return pa.array(series.to_numpy(np.float64), type=kind)
    return pa.array(series.to_numpy(dtype=object, na_value=None), type=kind)


_ARROW_TYPES = {"Int64": "int64", "float64": "float64", "boolean": "bool_", "string": "string"}


def _arrow_schema(table: str):
    import pyarrow as pa

    from parsers.schema import TABLES

    return pa.schema([(col, getattr(pa, _ARROW_TYPES[dtype])()) for col, dtype in TABLES[table].items()])


def _pandas_schema(frame: pd.DataFrame):
    import pyarrow as pa

    return pa.Schema.from_pandas(frame.iloc[:0], preserve_index=False)
