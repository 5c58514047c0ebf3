"""``ingest``: bring many logs into a run store in parallel on Dask.

Sources are local folders (every run under them), files, globs, or URLs
(``s3://bucket/prefix``: every run under the prefix; ModelArts' OBS is S3-compatible and
is reached with ``endpoint_url``; read through pyarrow's S3 client, see ``remote``).
Logs are tasks on the cluster -- a local one with a worker per core by default, or the
scheduler at ``scheduler`` -- each updating its entry in the store (shared by the
workers: a local folder, or a network folder for a remote cluster); a big log is a task
of its own, small ones share one, since a task costs milliseconds.  A bad log is a row
with status 'error'; the others go on.  The rows of the runs table are built on the
workers too, and written once at the end by the caller's process.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from parsers.store._deps import require
from parsers.store.discover import RunSpec, discover_local, discover_remote, file_runs
from parsers.store.entry import LogSpec, refresh_entry
from parsers.store.progress import Progress
from parsers.store.remote import StorageOptions, filesystem, reaching
from parsers.store.sync import build_row, plan, stale_runs, update_catalog

_LOG = logging.getLogger(__name__)  # tracebacks of failed tasks; their rows say one line

__all__ = ["INGEST_COLUMNS", "ingest", "refresh_entries", "resolve_sources"]

INGEST_COLUMNS = ("run", "log", "status", "bytes_parsed", "error", "location")
BATCH_BYTES = 32 << 20
BATCH_LOGS = 50


def ingest(
    sources: Sequence[str],
    store_dir: str | os.PathLike[str],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    endpoint_url: str | None = None,
    storage_options: dict[str, Any] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Parse what is new in ``sources`` into ``store_dir``; one row per log (``INGEST_COLUMNS``).

    ``endpoint_url`` is the S3-compatible endpoint of s3:// sources (OBS, MinIO);
    ``storage_options`` the rest (``key``, ``secret``, ``region``, timeouts: see
    ``parsers.store.remote``).  A remote source that cannot be listed (unreachable endpoint,
    bad credential) raises ``RemoteError`` before anything is parsed: it would fail every log.
    """
    distributed = require("dask.distributed")
    store = Path(store_dir)
    store.mkdir(parents=True, exist_ok=True)
    options = StorageOptions(storage_options or {})
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    runs, problems = resolve_sources(sources, storage_options=options, skip=store)
    todo, results = plan(store, runs)
    sizes = {spec.location: _size(runs, spec) for spec in todo}
    built: dict[str, dict[str, Any]] = {}
    if todo:  # all unchanged: no cluster to start
        bar = Progress(len(todo), sum(sizes.values())) if progress else None
        with _client(distributed, scheduler, workers) as client:
            results += _run(distributed, client, store, todo, sizes, bar)
            if bar is not None:
                bar.close()
            built = _rows(client, store, stale_runs(store, runs, results))
    update_catalog(store, runs, results, built=built)
    rows = results + problems
    return pd.DataFrame(rows, columns=list(INGEST_COLUMNS)).astype({"bytes_parsed": "int64"})


def _run(distributed, client, store: Path, todo: list[LogSpec], sizes: dict[str, int], bar) -> list[dict]:
    """One task per batch of logs (small logs share a task: a task costs milliseconds of overhead)."""
    batches = _batches(todo, sizes)
    futures = client.map(refresh_entries, [store] * len(batches), batches, pure=False)
    batch_of = {f.key: batch for f, batch in zip(futures, batches)}
    results = []
    for future in distributed.as_completed(futures):
        batch = batch_of[future.key]
        try:
            rows = future.result()
        except Exception as exc:  # the worker died or the task could not run: rows, not a stop
            _LOG.error("a refresh task on the cluster failed", exc_info=exc)
            rows = [_failed_row(spec, f"{type(exc).__name__}: {exc}") for spec in batch]
        results += rows
        if bar is not None:
            for spec, row in zip(batch, rows):
                bar.update(size=sizes.get(spec.location, 0), error=row["status"] == "error")
    return results


def refresh_entries(store: Path, specs: list[LogSpec]) -> list[dict[str, Any]]:
    """``refresh_entry`` for each log of a batch (the task a Dask worker runs)."""
    return [refresh_entry(store, spec) for spec in specs]


def _batches(todo: list[LogSpec], sizes: dict[str, int]) -> list[list[LogSpec]]:
    """Logs grouped up to ``BATCH_BYTES`` or ``BATCH_LOGS``; a big log is a batch of its own."""
    batches: list[list[LogSpec]] = []
    current: list[LogSpec] = []
    total = 0
    for spec in sorted(todo, key=lambda s: -sizes.get(s.location, 0)):
        size = sizes.get(spec.location, 0)
        if current and (total + size > BATCH_BYTES or len(current) >= BATCH_LOGS):
            batches.append(current)
            current, total = [], 0
        current.append(spec)
        total += size
    return [*batches, current] if current else batches


def _failed_row(spec: LogSpec, message: str) -> dict[str, Any]:
    return {"run": spec.run, "log": spec.log, "status": "error", "bytes_parsed": 0, "error": message,
            "location": spec.location}  # fmt: skip


def _rows(client, store: Path, runs: list[RunSpec]) -> dict[str, dict[str, Any]]:
    """Runs-table rows built on the workers (each reads its run's manifests and epochs table)."""
    futures = client.map(build_row, [store] * len(runs), runs, pure=False)
    rows = {}
    for run, future in zip(runs, futures):
        try:
            rows[run.name] = future.result()
        except Exception:  # built again by the caller, under the catalog lock
            continue
    return rows


class _client:
    """A Dask client: on ``scheduler`` if given, else on a local cluster (one worker per core)."""

    def __init__(self, distributed, scheduler: str | None, workers: int | None) -> None:
        self.distributed, self.scheduler, self.workers = distributed, scheduler, workers
        self.cluster = None

    def __enter__(self):
        if self.scheduler:
            self.client = self.distributed.Client(self.scheduler)
        else:
            # The workers' sampling profiler costs a third of the time of this kind of work: off.
            import dask

            with dask.config.set({"distributed.worker.profile.enabled": False}):
                self.cluster = self._local()
            self.client = self.distributed.Client(self.cluster)
        return self.client

    def _local(self):
        return self.distributed.LocalCluster(
            n_workers=self.workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def resolve_sources(
    sources: Sequence[str], *, storage_options: dict[str, Any] | None = None, skip: Path | None = None
) -> tuple[list[RunSpec], list[dict[str, Any]]]:
    """(runs to ingest, rows for sources that name nothing readable)."""
    runs: list[RunSpec] = []
    problems: list[dict[str, Any]] = []
    for source in sources:
        try:
            found = _resolve(source, storage_options or {}, skip)
        except (OSError, ValueError) as exc:
            problems.append(_problem(source, f"{source}: {exc}"))
            continue
        if not found:
            problems.append(
                _problem(source, f"{source}: no logs found (looked for *.log, *.txt, *.out, *.gz)")
            )
        runs.extend(found)
    return _unique(runs), problems


def _resolve(source: str, options: dict[str, Any], skip: Path | None) -> list[RunSpec]:
    if "://" in source and not source.startswith("file://"):
        with reaching(source, options):
            return _resolve_remote(source, options)
    path = source.removeprefix("file://")
    if glob.has_magic(path):
        return file_runs(sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p)), root=source)
    if os.path.isdir(path):
        return discover_local(Path(path), skip=skip)
    return file_runs([path], root=source) if os.path.isfile(path) else []


def _resolve_remote(source: str, options: dict[str, Any]) -> list[RunSpec]:
    """The runs a URL names: a glob's files, every run under a prefix, or one object."""
    fs, path = filesystem(source, options)
    protocol = source.split("://", 1)[0]
    if glob.has_magic(path):
        found = sorted(p for p, info in fs.glob(path, detail=True).items() if info.get("type") == "file")
        return file_runs([f"{protocol}://{p}" for p in found], storage_options=options, root=source)
    if fs.isdir(path):
        return discover_remote(source, storage_options=options)
    return file_runs([source], storage_options=options, root=source) if fs.exists(path) else []


def _unique(runs: list[RunSpec]) -> list[RunSpec]:
    """One run per name; the first source that named it wins."""
    seen: dict[str, RunSpec] = {}
    for run in runs:
        seen.setdefault(run.name, run)
    return list(seen.values())


def _problem(source: str, message: str) -> dict[str, Any]:
    return {
        "run": None,
        "log": source,
        "status": "error",
        "bytes_parsed": 0,
        "error": message,
        "location": source,
    }


def _size(runs: list[RunSpec], spec: LogSpec) -> int:
    for run in runs:
        if spec in run.logs:
            return (run.log_stats.get(spec.log) or (0, 0))[0]
    return 0
