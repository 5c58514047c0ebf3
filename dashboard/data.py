"""Every read the dashboard makes, in one place: cached loaders over the run store.

The store (``parsers.store.RunStore``) parses each log once, follows growing logs
from the last byte it read, and answers the one-row-per-run table with DuckDB, so
a rerun costs a ``refresh()`` (a stat per log when nothing changed) and a query.
Caches are bounded (``ttl``/``max_entries``): the runs table lives ``REFRESH_S``
seconds, which is what makes the live fragment pick up new lines; per-run tables
are keyed by the run's ``last_update`` and step count, so a run that did not
change is never fetched twice and one that grew is fetched again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.files import log_context
from parsers.errors import LogError
from parsers.schema import TABLES as SCHEMA_TABLES

__all__ = [
    "REFRESH_S",
    "StoreMissingError",
    "alerts",
    "clear",
    "context_lines",
    "hparams",
    "meta",
    "rank_flags",
    "rank_health",
    "run_tables",
    "runs",
    "tables_of",
    "versions",
]

# Seconds between live refreshes, and the life of the cached runs table.
REFRESH_S = 3.0
TABLES = tuple(SCHEMA_TABLES)  # the store's tables, scalars (summary / event file tags) too


class StoreMissingError(LogError):
    """``parsers.store`` is not importable: the dashboard reads nothing without it."""


@st.cache_resource(max_entries=8, show_spinner=False)
def _store(runs_dir: str) -> Any:
    try:
        from parsers.store import RunStore
    except ImportError as exc:  # the dashboard never parses on its own (STYLE 9)
        raise StoreMissingError(f"the run store (parsers.store) cannot be imported: {exc}") from None
    return RunStore(runs_dir)


@st.cache_data(ttl=REFRESH_S, max_entries=8, show_spinner="Reading new log lines...")
def runs(runs_dir: str) -> pd.DataFrame:
    """One row per run, after an incremental refresh of the store (only appended bytes are parsed)."""
    store = _store(runs_dir)
    store.refresh()
    return store.runs()


def versions(table: pd.DataFrame, names: Sequence[str]) -> tuple[tuple[str, str, int], ...]:
    """A cache key that changes when any of ``names`` got new lines; in the order of ``names``."""
    rows = table[table["run"].isin(list(names))]
    steps = pd.to_numeric(rows["steps"], errors="coerce").fillna(-1).astype("int64").tolist()
    found = dict(zip(rows["run"].tolist(), zip(rows["last_update"].astype(str).tolist(), steps)))
    return tuple((run, *found[run]) for run in dict.fromkeys(names) if run in found)


@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def tables_of(runs_dir: str, version: tuple[tuple[str, str, int], ...]) -> dict[str, dict[str, pd.DataFrame]]:
    """Every table of the runs in ``version`` (see ``versions``): ``{table: {run: frame}}``, one
    store query per table for all of them, cached until one of them changes."""
    names = [v[0] for v in version]
    store = _store(runs_dir)
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for name in TABLES:
        table = store.table(name, runs=names) if names else pd.DataFrame({"run": []})
        parts = dict(tuple(table.groupby("run", sort=False))) if len(table) else {}
        empty = table.iloc[:0]
        out[name] = {run: parts.get(run, empty).drop(columns=["run"]).reset_index(drop=True) for run in names}
    return out


def run_tables(
    runs_dir: str, table: pd.DataFrame, names: Sequence[str], name: str
) -> dict[str, pd.DataFrame]:
    """Table ``name`` (steps/epochs/evals/events) of each run in ``names`` that the runs table has."""
    return tables_of(runs_dir, versions(table, names))[name]


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)  # keyed by the data version
def _hparams(runs_dir: str, version: tuple[tuple[str, str, int], ...], part: str) -> pd.DataFrame:
    return _store(runs_dir).hparams(part=part)


def hparams(runs_dir: str, table: pd.DataFrame, *, part: str = "all") -> pd.DataFrame:
    """``run`` plus one column per setting, for every run of the folder: ``part`` "hyper" the
    hyperparameters, "info" the run information (``parsers.insights.run_info``), "all" both
    (what the price table needs: the device)."""
    return _hparams(runs_dir, versions(table, table["run"].tolist()), part)


def alerts(
    runs_dir: str, table: pd.DataFrame, names: Sequence[str], rules: Sequence[str], prices: Sequence[Any]
) -> pd.DataFrame:
    """The alerts (``parsers.insights.alerts``) that hold for ``names``, computed again only when one
    of them changed (new lines, or a status the clock changed: stalled)."""
    version = versions(table, names)
    status = dict(zip(table["run"], table["status"]))
    statuses = tuple(str(status.get(run)) for run, _, _ in version)
    priced = tuple((p.device, p.devices, p.price_per_device_hour, p.currency) for p in prices)
    return _alerts(runs_dir, version, statuses, tuple(rules), priced)


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)  # keyed by the data version and statuses
def _alerts(
    runs_dir: str,
    version: tuple[tuple[str, str, int], ...],
    statuses: tuple[str, ...],
    rules: tuple[str, ...],
    prices: tuple[tuple[str, int, float, str], ...],
) -> pd.DataFrame:
    from parsers.insights.alerts import evaluate_alerts, parse_alert_rule
    from parsers.insights.cost import Price

    return evaluate_alerts(
        _store(runs_dir),
        [parse_alert_rule(rule) for rule in rules],
        prices=[Price(*row) for row in prices],
        runs=[run for run, _, _ in version],
    )


def rank_health(runs_dir: str, table: pd.DataFrame, run: str) -> tuple[pd.DataFrame, Any]:
    """``(dashboard.ranks.rank_table, rank_story)`` of one run, again only when it got new lines."""
    return _rank_health(runs_dir, versions(table, [run]))


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def _rank_health(runs_dir: str, version: tuple[tuple[str, str, int], ...]) -> tuple[pd.DataFrame, Any]:
    from dashboard.ranks import rank_story, rank_table

    run = version[0][0]
    tables = tables_of(runs_dir, version)
    steps, epochs = tables["steps"][run], tables["epochs"][run]
    found = _store(runs_dir).meta(run)
    ranks = rank_table(steps, epochs, found.get("logs") or [], found.get("files") or [])
    return ranks, rank_story(ranks, steps, epochs)


def rank_flags(runs_dir: str, table: pd.DataFrame) -> dict[str, str]:
    """``dashboard.ranks.rank_flag`` of each run of ``table`` kept in more than one log."""
    from dashboard.ranks import rank_flag

    several = table.loc[table["log"].fillna("").str.contains(",", regex=False), "run"].tolist()
    flags = {}
    for run in several:
        ranks, story = rank_health(runs_dir, table, run)
        if len(ranks) > 1:
            flags[run] = rank_flag(story)
    return flags


@st.cache_data(ttl=60, max_entries=32, show_spinner=False)
def meta(runs_dir: str, run: str) -> dict[str, Any]:
    """What the store knows about one run beyond its row: formats, files, printed settings."""
    return dict(_store(runs_dir).meta(run))


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def context_lines(
    runs_dir: str, path: str, lines: tuple[int, ...], before: int, after: int
) -> dict[int, list[tuple[int, str]]]:
    """The log lines around each of ``lines`` (read, never parsed or rendered); nothing from a
    file whose real path leaves ``runs_dir``."""
    return log_context(Path(path), lines, root=Path(runs_dir), before=before, after=after)


def clear() -> None:
    """Forget cached reads (after an upload or on "Refresh now"); the store keeps its Parquet."""
    runs.clear()
    _hparams.clear()
    _alerts.clear()
    _rank_health.clear()
    meta.clear()
