"""The run store: parse each log once into Parquet, follow growing logs, query runs with DuckDB.

    from parsers.store import RunStore
    store = RunStore("runs")
    store.refresh()
    store.runs()

DuckDB, Dask and fsspec are imported only when used (``pip install 'epochscope[store]'``);
s3:// logs are read with pyarrow's S3 client (``parsers.store.remote``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["RunStore", "ingest"]

if TYPE_CHECKING:
    from parsers.store.ingest import ingest
    from parsers.store.runstore import RunStore


def __getattr__(name: str) -> Any:
    if name == "RunStore":
        from parsers.store.runstore import RunStore

        return RunStore
    if name == "ingest":
        from parsers.store.ingest import ingest

        return ingest
    raise AttributeError(f"module 'parsers.store' has no attribute {name!r}")
