"""The runs table (``runs.parquet``, one row per run) and the DuckDB queries over the store.

The runs table is rewritten whole, atomically, under ``locks/catalog.lock`` after the
entries it summarises were committed; a row also records which commit of each log it
was built from, so a crash between the two is repaired by the next refresh.  The summary
is the runs table itself, kept in memory as Arrow per version of the file (a column pick
and a sort by name); questions over each log's part files (listed by its manifest) for
``table()`` are SQL.  Nothing loads every run into pandas.

The runs table is the one file replaced under a name readers open, so a reader takes
its bytes in one ``read`` of one open file and reads them in memory.  Handed the
path, DuckDB opened it several times per query -- once for the footer, again for the
data -- and a replacement in between gave it one version's footer and another's pages
("TProtocolException: Invalid data").  Part files are never replaced (new names only),
so DuckDB reads those from disk.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parsers.schema import RUNS, conform
from parsers.store._deps import require
from parsers.store.entry import read_manifest
from parsers.store.files import unique_name
from parsers.store.summary import RUN_COLUMNS, run_epochs, stall_after_s

__all__ = ["CATALOG", "query_runs", "query_table", "read_catalog", "write_catalog"]

CATALOG = "runs.parquet"
# The runs table's columns (``parsers.schema.RUNS``) as stored, plus the stall rule's inputs.
_FLOAT = (*(c for c, t in RUNS.items() if t == "float64"), "_interval_s", "_max_eval_s")
_INT = (*(c for c, t in RUNS.items() if t == "Int64"), "last_update_ns")
_TEXT = (*(c for c, t in RUNS.items() if t == "string"), "_internal")
# Store-internal fields, kept together in one JSON column: fewer columns, faster writes.
_PACKED = ("_logs", "_meta", "_hparams", "_hp_source", "_sig", "_root")


def _schema():
    pa = require("pyarrow")
    fields = [(c, pa.string()) for c in _TEXT] + [(c, pa.float64()) for c in _FLOAT]
    fields += [(c, pa.int64()) for c in _INT]
    return pa.schema(fields)


_Version = tuple[int, int, int]  # inode, size, mtime: which file a path named when it was read
_CACHE: dict[str, tuple[_Version, Any, dict[str, dict[str, Any]]]] = {}


def read_catalog(store: Path) -> dict[str, dict[str, Any]]:
    """The stored rows by run name (empty for a new store); a copy the caller may change."""
    loaded = _load(store)
    return {} if loaded is None else {name: dict(row) for name, row in loaded[1].items()}


def _load(store: Path) -> tuple[Any, dict[str, dict[str, Any]]] | None:
    """The runs table as Arrow and as rows, one version of the file (None for a new store).

    Read again only when the file was replaced (inode, size, mtime), which a dashboard
    polling a store of a thousand runs appreciates.
    """
    path = store / CATALOG
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    cached = _CACHE.get(str(path))
    if cached is None or cached[0] != _version(st):
        try:
            version, table = _read_once(path)
        except FileNotFoundError:  # a new store being created: nothing to read yet
            return None
        rows = {}  # written by an older epochscope: the rows are built again
        if "_internal" in table.column_names:
            rows = {row["run"]: _unpacked(row) for row in table.to_pylist()}
        cached = _CACHE[str(path)] = (version, table, rows)
    return cached[1], cached[2]


def _read_once(path: Path) -> tuple[_Version, Any]:
    """(version, Arrow table) of the file ``path`` names now: one open, its bytes read once.

    Whatever replaces ``path`` meanwhile, the open file stays the version that was opened.
    """
    pa, pq = require("pyarrow"), require("pyarrow.parquet")
    with open(path, "rb") as handle:
        version = _version(os.fstat(handle.fileno()))
        data = handle.read()
    return version, pq.read_table(pa.BufferReader(data))


def _version(st: os.stat_result) -> _Version:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _unpacked(row: dict[str, Any]) -> dict[str, Any]:
    internal = json.loads(row.pop("_internal"))  # always written, by write_catalog
    return {**row, **internal}


def write_catalog(store: Path, rows: dict[str, dict[str, Any]]) -> None:
    pa, pq = require("pyarrow"), require("pyarrow.parquet")
    schema = _schema()
    ordered = [rows[k] for k in sorted(rows)]
    packed = [{**r, "_internal": json.dumps({k: r.get(k) for k in _PACKED})} for r in ordered]
    table = pa.Table.from_pylist([{c: r.get(c) for c in schema.names} for r in packed], schema=schema)
    tmp = store / unique_name(f".{CATALOG}", ".tmp")
    try:
        pq.write_table(table, tmp, use_dictionary=False, write_statistics=False)
        os.replace(tmp, store / CATALOG)
    finally:
        tmp.unlink(missing_ok=True)
    st = os.stat(store / CATALOG)  # under the catalog lock: what we wrote is what a read would find
    _CACHE[str(store / CATALOG)] = (_version(st), table, {n: dict(r) for n, r in rows.items()})


def _connect():
    duckdb = require("duckdb")
    return duckdb.connect(config={"threads": 2})


def query_runs(store: Path) -> pd.DataFrame:
    """One row per run (``RUN_COLUMNS``), 'stalled' decided against the clock now."""
    loaded = _load(store)
    if loaded is None:
        return _empty_runs()
    now_ns = time.time_ns()
    # The runs table is already in memory as Arrow: a column pick and a sort by name, with no
    # DuckDB connection to open.  A new connection per call cost 15 ms alone, and 60-290 ms in a
    # dashboard server sharing two cores with the browser -- before every page's first chart.
    columns = ["last_update_ns" if c == "last_update" else c for c in RUN_COLUMNS]
    frame = loaded[0].select([*columns, "_interval_s", "_max_eval_s"]).sort_by("run").to_pandas()
    frame = frame.rename(columns={"last_update_ns": "last_update"})
    status = frame["status"].to_numpy()  # in numpy: a thousand rows in a millisecond or two
    idle_s = (now_ns - frame["last_update"].to_numpy(float)) / 1e9
    limit = stall_after_s(frame["_interval_s"].to_numpy(float), frame["_max_eval_s"].to_numpy(float))
    stalled = (status == "running") & (idle_s > limit)
    frame["status"] = np.where(stalled, "stalled", status)
    frame["eta_s"] = np.where(stalled, np.nan, frame["eta_s"].to_numpy(float))  # a stalled run has no ETA
    del frame["_interval_s"], frame["_max_eval_s"]
    return _typed_runs(frame)


def _typed_runs(frame: pd.DataFrame) -> pd.DataFrame:
    frame["last_update"] = pd.to_datetime(frame["last_update"], unit="ns", utc=True)
    for column, dtype in RUNS.items():  # column by column: faster than one astype of the frame
        if column != "last_update":
            frame[column] = frame[column].astype(dtype)
    return frame.reset_index(drop=True)


def _empty_runs() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in RUN_COLUMNS})
    frame["last_update"] = pd.Series(dtype="int64")
    return _typed_runs(frame)


def query_table(store: Path, name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Table ``name`` of the given runs (catalog rows), with a leading ``run`` column."""
    files = []
    metas: dict[str, dict[str, Any]] = {}
    for row in rows:
        metas[row["run"]] = json.loads(row["_meta"])  # a row always has both (sync.build_row)
        for log in json.loads(row["_logs"]):
            for path in _log_files(store, log["key"], name):
                files.append({"path": path, "run": row["run"], "ord": len(files)})
    if not files:
        return _with_run(conform(pd.DataFrame(), name), [])
    frame_of_files = pd.DataFrame(files)  # not named as in the SQL: DuckDB reads it as registered
    with _connect() as con:
        con.register("listing", frame_of_files)
        frame = con.execute(
            "SELECT l.run, t.* EXCLUDE (filename, file_row_number) FROM read_parquet(?, filename = true, "
            "file_row_number = true, union_by_name = true) t JOIN listing l ON t.filename = l.path "
            "ORDER BY l.ord, t.file_row_number",
            [frame_of_files["path"].tolist()],
        ).df()
    runs = frame.pop("run")
    table = conform(frame, name)
    if name == "epochs":
        table = _epochs_throughput(table, runs, metas)
    return _with_run(table, runs.tolist())


def _log_files(store: Path, key: str, name: str) -> list[str]:
    manifest = read_manifest(store, key) or {}
    files = manifest.get("files") or {}
    names = [files["epochs"]] if name == "epochs" and files.get("epochs") else []
    if name != "epochs":
        names = [n for n, _ in files.get(name, [])]
    return [str(store / "logs" / key / n) for n in names]


def _epochs_throughput(table: pd.DataFrame, runs: pd.Series, metas: dict[str, dict]) -> pd.DataFrame:
    """samples/s computed from batch size x devices per run, as ``assemble`` does for one run."""
    parts = []
    for run in dict.fromkeys(runs.tolist()):
        part = table[(runs == run).to_numpy()]
        parts.append(run_epochs([part], metas[run]))
    return pd.concat(parts, ignore_index=True) if parts else table


def _with_run(table: pd.DataFrame, runs: list[str]) -> pd.DataFrame:
    table.insert(0, "run", pd.array(runs, dtype="string"))
    return table
