"""Summary and TensorBoard event files in the store: running figures, the run's meta, its tables.

An event file's entry (``parsers.store.entry``) keeps only its scalars, part by part, each
row with its record number.  What a text log's entry keeps besides -- running figures for
the runs table, what the file said of itself -- is folded here from each read, and the
steps, evals and events of a run with event files are derived from its scalars when asked,
with ``parsers.events`` exactly as a cold read derives them: from the scalars of all its
files in order, joined on step to the tables of its text logs when it has some.  The
derived tables of a run are kept in memory until one of its entries commits again.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pandas as pd

from parsers.engine.stats import update_stats
from parsers.events import EventChunk, EventCursor, events_log, is_event_file, source_of
from parsers.events.config import config_meta, with_config_meta
from parsers.events.lineage import lineage_meta, lineage_stats
from parsers.events.tables import (
    SPAN_COLUMNS,
    epoch_shift_of,
    epochs_of_spans,
    event_tables_and_spans,
    merge_spans,
)
from parsers.parse import ParsedLog
from parsers.schema import LOG_TABLES, TABLES

__all__ = [
    "attach_event_folders",
    "chunk_stats",
    "epochs_of_stats",
    "joined_row",
    "lineage_changed",
    "run_tables_with_events",
    "summary_manifests",
    "with_event_meta",
]

_DERIVED: OrderedDict[tuple, ParsedLog] = OrderedDict()
_DERIVED_MAX = 16


def attach_event_folders(runs: list[Any]) -> list[Any]:
    """Runs (``RunSpec``) with each folder that holds only event files moved into the run of the
    folder above it when that run has a text log: ``summary/`` beside ``train.log`` is one run."""
    by_name = {run.name: run for run in runs}
    kept = []
    for run in runs:
        host = by_name.get(posixpath.dirname(run.name) or ".") if run.name != "." else None
        if host is None or not all(is_event_file(s.log) for s in run.logs) or not _has_text(host):
            kept.append(run)
            continue
        prefix = posixpath.basename(run.name)
        host.logs += [dataclasses.replace(s, run=host.name, log=f"{prefix}/{s.log}") for s in run.logs]
        host.log_stats.update({f"{prefix}/{n}": stat for n, stat in run.log_stats.items()})
    return kept


def _has_text(run: Any) -> bool:
    return any(not is_event_file(s.log) for s in run.logs)


class _Running:
    """What ``update_stats`` folds into: the ``stats`` of a context, here of an event file's entry."""

    def __init__(self, stats: dict[str, Any]) -> None:
        self.stats = stats


def chunk_stats(stats: dict[str, Any], chunk: EventChunk, name: str) -> dict[str, Any]:
    """``stats`` (an entry's running figures) with one read of its file folded in, plus tag counts."""
    source = source_of(chunk.cursor)
    corrupt = [{"file": name, "offset": o, "why": why, "source": source} for o, why in chunk.corrupt]
    shift = stats["epoch_shift"] if stats.get("epoch_shift") is not None else epoch_shift_of(chunk.scalars)
    tables, spans = event_tables_and_spans(chunk.scalars.assign(source=source), corrupt, epoch_shift=shift)
    running = _Running(json.loads(json.dumps(stats)))  # a copy: the old manifest stays as it was
    running.stats["epoch_shift"] = shift  # decided by the first read that met the epoch tag
    update_stats(running, tables["steps"], tables["events"], tables["evals"])  # type: ignore[arg-type]
    tags = running.stats.setdefault("tags", {})
    for tag, n in chunk.scalars["tag"].value_counts(sort=False).items():
        tags[str(tag)] = tags.get(str(tag), 0) + int(n)
    if len(spans):
        merged = merge_spans(_spans_of(running.stats), spans)
        running.stats["epoch_spans"] = merged.astype(object).to_numpy().tolist()  # exact wall times
    return running.stats


def _spans_of(stats: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(stats.get("epoch_spans") or [], columns=list(SPAN_COLUMNS))


def epochs_of_stats(stats: dict[str, Any]) -> pd.DataFrame | None:
    """The epochs table an event file's running figures give (None without an ``epoch`` tag)."""
    if not stats.get("epoch_spans"):
        return None
    return epochs_of_spans(_spans_of(stats))


def _is_events(manifest: dict[str, Any]) -> bool:
    return "cursor" in manifest or is_event_file(str(manifest.get("log") or manifest.get("location") or ""))


def with_event_meta(
    meta: dict[str, Any], manifests: list[dict[str, Any]], hparams: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The run's meta with what its event files said: their formats, files and tag counts; and,
    where no log said them, the total epochs and batch size its config files name
    (``parsers.events.config``)."""
    files = [m["event_file"] for m in manifests if m.get("event_file")]
    if not files:
        return meta
    tags: dict[str, int] = {}
    for m in manifests:
        for tag, n in ((m.get("stats") or {}).get("tags") or {}).items():
            tags[tag] = tags.get(tag, 0) + n
    kinds = sorted({"mindspore-summary" if f["source"] == "summary" else "tensorboard" for f in files})
    formats = list(dict.fromkeys([*meta.get("formats", []), *kinds]))
    return config_meta({**meta, "formats": formats, "event_files": files, "tags": tags}, hparams or {})


def summary_manifests(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The manifests the runs-table row is summed from: an event file's steps are the text log's
    steps of the same run (joined on step), so they count once -- the log's -- when it has some."""
    text_steps = any((m.get("stats") or {}).get("n_steps") for m in manifests if not _is_events(m))
    if not text_steps:
        return manifests
    keep = ("event_counts", "bad_event_line")
    return [
        {
            **m,
            "stats": {k: v for k, v in (m.get("stats") or {}).items() if k in keep},
            "files": {**(m.get("files") or {}), "epochs": None},  # the log's epochs are the run's
        }
        if _is_events(m)
        else m
        for m in manifests
    ]


def run_tables_with_events(
    store: Path, name: str, rows: list[dict[str, Any]], table: pd.DataFrame
) -> pd.DataFrame:
    """``table`` (table ``name`` of ``rows``, from their parts) with the rows of runs that have event
    files replaced by the derived ones; the scalars table is the parts' own."""
    with_events = {r["run"] for r in rows if any(is_event_file(log["log"]) for log in _logs(r))}
    if name == "scalars" or not with_events:
        return table
    from parsers.schema import conform

    runs = table["run"].astype(object)
    parts = []
    for row in rows:
        if row["run"] in with_events:
            frame = conform(getattr(_derived(store, row), name), name)
            frame.insert(0, "run", pd.array([row["run"]] * len(frame), dtype="string"))
        else:
            frame = table[(runs == row["run"]).to_numpy()]
        parts.append(frame)
    return pd.concat(parts, ignore_index=True) if parts else table


def _logs(row: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(row.get("_logs") or "[]")


def _derived(store: Path, row: dict[str, Any]) -> ParsedLog:
    """The run's tables from its event files' scalars, joined to its text logs' tables."""
    from parsers.store.entry import read_manifest

    logs = _logs(row)
    manifests = {log["key"]: read_manifest(store, log["key"]) or {} for log in logs}
    commits = tuple((k, m.get("commit")) for k, m in manifests.items())
    key = (str(store), row["run"], commits, row.get("_meta") or "{}")  # an edited config changes the meta
    if key in _DERIVED:
        _DERIVED.move_to_end(key)
        return _DERIVED[key]
    events = [log for log in logs if is_event_file(log["log"])]
    chunks = [(log["log"], _chunk(store, manifests[log["key"]])) for log in events]
    chunks = [(n, c) for n, c in chunks if c is not None]
    parsed = _events_or_empty(chunks)
    text = [log for log in logs if not is_event_file(log["log"])]
    if text:
        parsed = _joined(store, row, text, parsed)
    if parsed.meta.get("event_files"):  # what the config adds, as load_run adds it
        parsed = with_config_meta(parsed, {**parsed.meta, **json.loads(row.get("_meta") or "{}")})
    _DERIVED[key] = parsed
    while len(_DERIVED) > _DERIVED_MAX:
        _DERIVED.popitem(last=False)
    return parsed


def joined_row(store: Path, row: dict[str, Any], manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs-table row of a run with event files, its figures taken from the run's derived
    tables where the entries' running figures cannot give them: a text log and summaries of one
    run (the joined rows count, each once: steps only the summary recorded too), a config that
    numbers the steps into epochs or says the total steps, or MindSpore's train lineage beside
    the summary (read here, from a local folder: it is not a log of the run).  Other rows are returned as
    they are: the running figures are exact for them, and cost no read of the scalars."""
    meta = json.loads(row.get("_meta") or "{}")
    logs = _logs(row)
    events = [log for log in logs if is_event_file(log["log"])]
    if not events or row.get("status") == "error" or any(m.get("error") for m in manifests):
        return row
    folders = _event_folders(row, events)
    found = lineage_meta(folders)
    meta["lineage_files"] = lineage_stats(folders)  # lineage_changed looks again when they change
    if found:  # MindSpore's train lineage beside a summary (local folders): the run ended
        meta = config_meta({**meta, **found}, {})
    row = {**row, "_meta": json.dumps(meta, default=str), "total_epochs": meta.get("total_epochs")}
    numbered = meta.get("steps_per_epoch") or meta.get("total_steps") or found
    if len(events) == len(logs) and not numbered:
        return row
    from parsers.engine.stats import update_stats
    from parsers.store.summary import epoch_figures, run_row

    parsed = _derived(store, row)
    running = _Running({})
    update_stats(running, parsed.steps, parsed.events, parsed.evals)  # type: ignore[arg-type]
    figures = run_row([{"stats": running.stats}], epoch_figures(parsed.epochs), meta)
    return {**row, **{k: figures[k] for k in _FIGURES}}


def _event_folders(row: dict[str, Any], events: list[dict[str, Any]]) -> list[Path]:
    return sorted({Path(row["path"], posixpath.dirname(log["log"])) for log in events})


def lineage_changed(row: dict[str, Any]) -> bool:
    """Whether a lineage file beside the run's summaries appeared or changed since its row was
    built.  MindSpore writes it after the summary's last record, so the summary files alone would
    never say the run ended; only local folders are looked at (a listing per refresh)."""
    events = [log for log in _logs(row) if is_event_file(log["log"])]
    if not events:
        return False
    recorded = json.loads(row.get("_meta") or "{}").get("lineage_files")
    return recorded is not None and recorded != lineage_stats(_event_folders(row, events))


# what ``joined_row`` takes from the derived tables; the rest of the row (names, paths, times,
# errors, formats) is the entries' own
_FIGURES = ("status", "epochs_done", "steps", "first_loss", "last_loss", "min_loss",
            "best_metric", "best_value", "mean_epoch_time_ms", "samples_per_sec", "wall_time_s",
            "_max_eval_s", "eta_s", "_interval_s")  # fmt: skip


def _chunk(store: Path, manifest: dict[str, Any]) -> EventChunk | None:
    """An entry's scalars and cursor, as if the file had been read whole just now."""
    if not manifest.get("cursor"):
        return None
    import pyarrow.parquet as pq

    folder = store / "logs" / manifest["key"]
    names = [n for n, _ in (manifest.get("files") or {}).get("scalars", [])]
    columns = ["tag", "step", "wall_time", "value", "record"]
    frames = [pq.read_table(folder / n, columns=columns).to_pandas() for n in names]
    scalars = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    scalars = scalars.astype({"tag": "string", "step": "int64", "wall_time": "float64", "value": "float64"})
    scalars["record"] = scalars["record"].astype("int64")
    pending = (manifest.get("event_file") or {}).get("pending_bytes", 0)
    return EventChunk(scalars, EventCursor.from_json(manifest["cursor"]), [], pending, 0)


def _events_or_empty(chunks: list[tuple[str, EventChunk]]) -> ParsedLog:
    from parsers.errors import EmptyLogError
    from parsers.schema import empty_table

    try:
        if chunks:
            return events_log(chunks)
    except EmptyLogError:  # no complete record yet: nothing to show, nothing wrong
        pass
    tables = {t: empty_table(t) for t in TABLES}
    return ParsedLog(**tables, meta={"event_files": [], "formats": []})


def _joined(store: Path, row: dict[str, Any], text: list[dict[str, Any]], events: ParsedLog) -> ParsedLog:
    from parsers.events.join import join_logs
    from parsers.store.catalog import query_table

    text_row = {**row, "_logs": json.dumps(text)}
    tables = {t: query_table(store, t, [text_row]).drop(columns="run") for t in LOG_TABLES}
    log = ParsedLog(**tables, meta=json.loads(row.get("_meta") or "{}"))
    if not events.meta.get("event_files"):
        return log
    return join_logs(log, events)
