"""Bringing a store up to date with a set of runs: which logs to read, then the runs table.

Used by ``RunStore.refresh`` (in-process) and ``parse-log ingest`` (on Dask): both find
runs, ask ``plan`` which logs changed since the runs table was written (a ``stat`` per
log, nothing read), refresh those entries however they like, and hand the results to
``update_catalog``, which rebuilds the rows of the runs that changed under the catalog
lock, from the manifests as they are at that moment -- so when two refreshers race,
the last row written is built from the newest commits.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from parsers.events.config import log_config_meta
from parsers.store.catalog import read_catalog, write_catalog
from parsers.store.configs import read_hparams
from parsers.store.discover import RunSpec, read_config
from parsers.store.entry import MANIFEST, LogSpec, entry_key, formats_signature, read_manifest
from parsers.store.events import joined_row, lineage_changed, summary_manifests, with_event_meta
from parsers.store.files import atomic_write_json, read_small_frame, store_lock
from parsers.store.logfile import LogFile
from parsers.store.summary import epoch_figures, run_epochs, run_meta, run_row

__all__ = ["REFRESH_COLUMNS", "adopt_renamed", "build_row", "plan", "stale_runs", "update_catalog"]

REFRESH_COLUMNS = ("run", "log", "status", "bytes_parsed", "error")


def plan(store: Path, runs: list[RunSpec]) -> tuple[list[LogSpec], list[dict[str, Any]]]:
    """(logs to refresh, result rows of logs unchanged since the runs table was written).

    Unchanged: same size, modification time and rank as when its entry was committed, and
    the same ``epochscope-formats.toml`` beside it (an edited format reads the log again).
    """
    catalog = read_catalog(store)
    todo, unchanged = [], []
    for run in runs:
        row = catalog.get(run.name)  # None: a run never seen
        known = {e["location"]: e for e in json.loads(row["_logs"])} if row else {}
        for spec, seen in zip(run.logs, _stats(run)):
            entry = known.get(spec.location)
            same = (
                entry
                and seen
                and entry.get("rank") == spec.rank
                and [entry.get("size"), entry.get("mtime_ns")] == list(seen)
                and entry.get("formats_sig") == formats_signature(spec)  # an entry without: read again
            )
            if same:
                status = "error" if entry.get("error") else "unchanged"
                unchanged.append(
                    {
                        "run": run.name,
                        "log": spec.log,
                        "status": status,
                        "bytes_parsed": 0,
                        "error": entry.get("error"),
                        "location": spec.location,
                        "commit": entry.get("commit"),  # the row's own: nothing to build again
                    }
                )
            else:
                todo.append(spec)
    return todo, unchanged


def _stats(run: RunSpec) -> list[tuple[int, int] | None]:
    return [run.log_stats.get(spec.log) for spec in run.logs]


def adopt_renamed(store: Path, runs: list[RunSpec], *, root: str) -> None:
    """Give a log that was renamed (same first bytes, new path) the entry of its old path.

    Only entries of logs that disappeared from under ``root`` are candidates, and only
    logs the store has never seen look for one, so this costs nothing in steady state.
    """
    catalog = read_catalog(store)
    discovered = {spec.location: spec for run in runs for spec in run.logs}
    gone = [
        entry
        for row in catalog.values()
        if row.get("_root") == root
        for entry in json.loads(row["_logs"])
        if entry["location"] not in discovered and entry.get("fp_len")
    ]
    if not gone:
        return
    for location, spec in discovered.items():
        if read_manifest(store, entry_key(location)) is not None:
            continue
        for entry in gone:
            try:
                same = LogFile(location, spec.storage_options).fingerprint(entry["fp_len"]) == entry["fp"]
            except Exception:  # an unreadable new log simply gets a new entry
                same = False
            if same and _move_entry(store, entry["key"], spec):
                gone.remove(entry)
                break


def _move_entry(store: Path, old_key: str, spec: LogSpec) -> bool:
    new_key = entry_key(spec.location)
    with store_lock(store, old_key), store_lock(store, new_key):
        old_dir, new_dir = store / "logs" / old_key, store / "logs" / new_key
        manifest = read_manifest(store, old_key)
        if manifest is None or new_dir.exists():
            return False
        os.rename(old_dir, new_dir)
        manifest.update(key=new_key, location=spec.location, run=spec.run, log=spec.log)
        atomic_write_json(new_dir / MANIFEST, manifest)
    return True


def stale_runs(store: Path, runs: list[RunSpec], results: Iterable[dict[str, Any]]) -> list[RunSpec]:
    """The runs whose row in the runs table must be built again after these refresh results."""
    commits = _commits(results)
    catalog = read_catalog(store)
    return [run for run in runs if run.name not in catalog or _stale(catalog[run.name], run, commits)]


def update_catalog(
    store: Path,
    runs: list[RunSpec],
    results: Iterable[dict[str, Any]],
    *,
    prune_root: str | None = None,
    built: dict[str, dict[str, Any]] | None = None,
) -> list[str]:
    """Rebuild the runs-table rows of runs that changed; drop runs no longer under ``prune_root``.

    Returns the names of the runs whose rows were rebuilt, then of those dropped: what a
    watcher must look at again (a config edited with no log changed is one of them).

    ``built`` holds rows already built elsewhere (by ``build_row`` on Dask workers, after
    the entries were committed); the others are built here, under the catalog lock.  When no
    row changed the runs file is left as it is: an open dashboard refreshes every few seconds,
    and a rewrite would make every reader of the store read it again.
    """
    commits = _commits(results)
    built = built or {}
    with store_lock(store, "catalog"):
        catalog = read_catalog(store)
        changed = []  # a store with no runs yet has no file: it reads as an empty table
        for run in runs:
            row = catalog.get(run.name)
            if row is None or _stale(row, run, commits):
                catalog[run.name] = built.get(run.name) or build_row(store, run)
                changed.append(run.name)
        if prune_root is not None:
            names = {run.name for run in runs}
            for name in [
                n for n, row in catalog.items() if row.get("_root") == prune_root and n not in names
            ]:
                _drop_run(store, catalog.pop(name))
                changed.append(name)
        if changed:
            write_catalog(store, catalog)
    return changed


def _commits(results: Iterable[dict[str, Any]]) -> dict[str, int | None]:
    """Each log's entry commit after the refresh; None where a worker died before it said."""
    return {r["location"]: r.get("commit") for r in results}


def _stale(row: dict[str, Any], run: RunSpec, commits: dict[str, int | None]) -> bool:
    """A row is rebuilt when its logs or config files changed, or a log has a newer commit."""
    logs = json.loads(row["_logs"])  # a row always has it (build_row)
    if [e["location"] for e in logs] != [s.location for s in run.logs] or row.get("_sig") != _signature(run):
        return True
    if lineage_changed(row):  # MindSpore's end-of-training record, beside a summary
        return True
    return any(e["location"] in commits and commits[e["location"]] != e.get("commit") for e in logs)


def _signature(run: RunSpec) -> str:
    return json.dumps(sorted(run.configs.items()))


def build_row(store: Path, run: RunSpec) -> dict[str, Any]:
    """The runs-table row of one run, from its logs' manifests as they are now."""
    manifests = []
    for spec in run.logs:
        manifest = read_manifest(store, entry_key(spec.location))
        manifests.append(manifest or {"location": spec.location, "error": "not parsed yet", "fatal": True})
    meta = run_meta([m for m in manifests if not m.get("fatal")])
    hparams, source = read_hparams(
        run.configs, lambda name: read_config(run, name), printed=meta.get("hparams")
    )
    meta = log_config_meta(with_event_meta(meta, manifests, hparams), hparams)  # the config's total, batch
    counted = summary_manifests(manifests)
    row = run_row(counted, _epoch_figures(store, counted, meta), meta)
    mtimes = [t for t in (m.get("mtime_ns") for m in manifests) if t is not None and t >= 0]  # 0: 1970
    row.update(
        run=run.name,
        path=run.folder,
        log=", ".join(spec.log for spec in run.logs),
        last_update_ns=max(mtimes) if mtimes else None,
        _logs=json.dumps([_log_entry(spec, m) for spec, m in zip(run.logs, manifests)]),
        _meta=json.dumps(meta, default=str),
        _hparams=json.dumps(hparams, default=str),
        _hp_source=source,
        _sig=_signature(run),
        _root=run.root,
    )
    return joined_row(store, row, manifests)  # a log joined to summaries, or epochs from the config


def _log_entry(spec: LogSpec, manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        "location": spec.location,
        "log": spec.log,
        "rank": spec.rank,
        "key": entry_key(spec.location),
        "size": manifest.get("size"),
        "mtime_ns": manifest.get("mtime_ns"),
        "commit": manifest.get("commit"),
        "fp": manifest.get("fp"),
        "fp_len": manifest.get("fp_len"),
        "error": manifest.get("error"),
        "bytes": manifest.get("offset"),
        "formats_sig": manifest.get("formats_sig", ""),
    }


_FIGURES: OrderedDict[tuple, dict[str, Any]] = OrderedDict()


def _epoch_figures(store: Path, manifests: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    """The run's epoch figures, computed again only when an epochs file or the throughput inputs change."""
    key = (
        str(store),
        tuple((m.get("key"), (m.get("files") or {}).get("epochs")) for m in manifests),
        meta.get("batch_size"),
        meta.get("device_num"),
    )
    if key not in _FIGURES:
        frames = [_read_epochs(store, m) for m in manifests if (m.get("files") or {}).get("epochs")]
        _FIGURES[key] = epoch_figures(run_epochs(frames, meta))
        while len(_FIGURES) > 4096:
            _FIGURES.popitem(last=False)
    return _FIGURES[key]


def _read_epochs(store: Path, manifest: dict[str, Any]) -> pd.DataFrame:
    name = (manifest.get("files") or {}).get("epochs")
    return read_small_frame(store / "logs" / manifest["key"] / name) if name else pd.DataFrame()


def _drop_run(store: Path, row: dict[str, Any]) -> None:
    for entry in json.loads(row["_logs"]):
        with store_lock(store, entry["key"]):
            shutil.rmtree(store / "logs" / entry["key"], ignore_errors=True)
