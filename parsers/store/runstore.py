"""``RunStore``: the runs under a folder, parsed once into Parquet and followed as they grow.

    store = RunStore("runs")          # the store lives in runs/.epochscope unless told otherwise
    store.refresh()                   # read what is new; one row per log: status, bytes parsed
    store.runs()                      # one row per run: status, epochs, losses, best metric, ETA...
    store.table("steps", runs=[...])  # a table of some runs, with a leading 'run' column

This is the only way the dashboard reads runs: it never parses text, and a reopened
app costs a ``stat`` per unchanged log.  ``refresh`` may run in several processes at
once; readers never see a half-written entry (see ``parsers.store.entry``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from parsers.errors import LogError
from parsers.insights.run_info import split_run_info
from parsers.schema import TABLES
from parsers.store._deps import require
from parsers.store.catalog import query_runs, query_table, read_catalog
from parsers.store.discover import RunSpec, discover_local
from parsers.store.entry import refresh_entry
from parsers.store.events import run_tables_with_events
from parsers.store.segments import SEGMENT_BYTES
from parsers.store.sync import REFRESH_COLUMNS, adopt_renamed, plan, update_catalog

__all__ = ["STORE_DIR", "RunStore"]

STORE_DIR = ".epochscope"


class RunStore:
    """Parsed runs of ``runs_dir`` kept in ``store_dir`` (default: ``runs_dir/.epochscope``)."""

    def __init__(
        self,
        runs_dir: str | os.PathLike[str],
        store_dir: str | os.PathLike[str] | None = None,
        *,
        segment_bytes: int = SEGMENT_BYTES,
    ) -> None:
        require("duckdb")  # fail now, with the install hint, not in the middle of a page
        self.runs_dir = Path(runs_dir)
        self.store_dir = Path(store_dir) if store_dir is not None else self.runs_dir / STORE_DIR
        self.segment_bytes = segment_bytes
        # The runs whose runs-table rows the last refresh rebuilt (new lines, an edited config,
        # a run never seen) or dropped: the rows a caller that keeps results must look at again.
        self.changed_runs: list[str] = []

    def refresh(self) -> pd.DataFrame:
        """Parse what is new under ``runs_dir``: one row per log (run, log, status, bytes_parsed, error).

        status: new | unchanged | appended | reparsed | error.  Never raises for a bad log.
        """
        if not self.runs_dir.is_dir():
            raise LogError(f"{self.runs_dir}: no such folder of runs")
        runs = discover_local(self.runs_dir, skip=self.store_dir)
        return self.refresh_runs(runs, root=str(self.runs_dir.resolve()))

    def refresh_runs(self, runs: list[RunSpec], *, root: str | None = None) -> pd.DataFrame:
        """``refresh`` of runs found by the caller (``parse-log watch`` follows named log files).

        ``root``: the folder the runs were found under -- a renamed log there keeps its entry,
        and runs no longer under it leave the runs table; None for runs named one by one.
        """
        self.store_dir.mkdir(parents=True, exist_ok=True)
        if root is not None:
            adopt_renamed(self.store_dir, runs, root=root)
        todo, results = plan(self.store_dir, runs)
        results += [refresh_entry(self.store_dir, spec, segment=self.segment_bytes) for spec in todo]
        self.changed_runs = update_catalog(self.store_dir, runs, results, prune_root=root)
        order = {(s.run, s.log): i for i, s in enumerate(spec for run in runs for spec in run.logs)}
        results.sort(key=lambda r: order.get((r["run"], r["log"]), len(order)))
        return pd.DataFrame(results, columns=list(REFRESH_COLUMNS)).astype({"bytes_parsed": "int64"})

    def runs(self) -> pd.DataFrame:
        """One row per run, by name (see ``parsers.store.summary`` for the columns and 'stalled')."""
        return query_runs(self.store_dir)

    def table(self, name: str, runs: list[str] | None = None) -> pd.DataFrame:
        """Table ``name`` (steps, epochs, evals, events, scalars) of ``runs`` (all when None), 'run' first.

        The rows of a run with summary / event files are derived from their scalars and joined
        on step to its text logs' (``parsers.store.events``); ``scalars`` holds every recorded
        value by tag (empty for text logs)."""
        if name not in TABLES:
            raise LogError(f"unknown table {name!r}; the tables are: {', '.join(TABLES)}")
        rows = self._rows(runs)
        return run_tables_with_events(self.store_dir, name, rows, query_table(self.store_dir, name, rows))

    def hparams(self, runs: list[str] | None = None, *, part: str = "all") -> pd.DataFrame:
        """One row per run: 'run' and one column per key of its settings (from config files or the
        log); ``part`` "hyper" keeps the hyperparameters, "info" the run information (name, times,
        command, versions, paths, device, sweep: ``parsers.insights.run_info``), "all" both."""
        rows = [{"run": r["run"], **json.loads(r.get("_hparams") or "{}")} for r in self._rows(runs)]
        frame = pd.DataFrame(rows) if rows else pd.DataFrame({"run": pd.Series(dtype="string")})
        if part == "all":
            return frame
        return split_run_info(frame)[{"hyper": 0, "info": 1}[part]]

    def meta(self, run: str) -> dict[str, Any]:
        """What the run's logs said about themselves (``ParsedLog.meta``) plus where it all came from."""
        row = self._rows([run])[0]
        return {
            **json.loads(row.get("_meta") or "{}"),
            "run": row["run"],
            "path": row["path"],
            "hparams_source": row.get("_hp_source") or None,
            "logs": json.loads(row.get("_logs") or "[]"),
        }

    def _rows(self, runs: list[str] | None) -> list[dict[str, Any]]:
        catalog = read_catalog(self.store_dir)
        if runs is None:
            return [catalog[name] for name in sorted(catalog)]
        unknown = [name for name in runs if name not in catalog]
        if unknown:
            raise LogError(
                f"no run named {', '.join(map(repr, unknown))} in {self.store_dir} (refresh first?)"
            )
        return [catalog[name] for name in runs]
