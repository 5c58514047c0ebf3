"""MindSpore summary files and TensorBoard event files, read into the tables of ``parsers``.

    >>> from parsers.events import parse_events
    >>> run = parse_events("runs/digits/summary")     # a file, or a folder of them
    >>> run.scalars                                   # tag, step, wall_time, value, source
    >>> run.steps                                     # loss / lr / loss_scale tags, by step

The framing (length-prefixed records with CRC32C), the few protobuf messages needed and
the mapping of tags onto columns are read by this package alone: no TensorFlow, no
MindInsight, no protobuf runtime, and neither MindSpore nor Streamlit is imported.
A folder's files are found by name: ``*.out.tfevents.*`` (TensorBoard) and
``*.out.events.summary.*`` (MindSpore's ``SummaryRecord``; its ``*_lineage`` files hold
no scalars and are left out).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from parsers.errors import EmptyLogError, UnreadableLogError
from parsers.events.decode import MINDSPORE
from parsers.events.lineage import lineage_meta
from parsers.events.read import EventChunk, EventCursor, read_event_file
from parsers.events.tables import event_tables
from parsers.parse import ParsedLog
from parsers.schema import conform, constant_column

__all__ = [
    "EventChunk",
    "EventCursor",
    "describe_file",
    "event_files",
    "events_log",
    "is_event_file",
    "parse_events",
    "read_event_file",
    "source_of",
]

_EVENT_NAME = re.compile(r"(?:^|\.)out\.tfevents\.|\.out\.events\.summary\.")
SOURCES = {MINDSPORE: "summary"}  # any other kind of file is TensorBoard's
FORMAT_NAMES = {"summary": "mindspore-summary", "tfevents": "tensorboard"}  # meta["formats"]


def is_event_file(name: str) -> bool:
    """Whether a file name is one TensorBoard or MindSpore's ``SummaryRecord`` gives its files."""
    base = os.path.basename(name)
    return not base.startswith(".") and bool(_EVENT_NAME.search(base)) and not base.endswith("_lineage")


def event_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The event files under ``folder`` (any depth; hidden folders skipped), in name order."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root, f) for f in sorted(files) if is_event_file(f)]
    return found


def source_of(cursor: EventCursor) -> str:
    """The ``source`` value of a file's rows: 'summary' (MindSpore) or 'tfevents'."""
    return SOURCES.get(cursor.dialect.kind or "", "tfevents")


def parse_events(path: str | os.PathLike[str]) -> ParsedLog:
    """The tables of an event file, or of every event file under a folder (one run)."""
    path = Path(path)
    if path.is_dir():
        files = event_files(path)
        if not files:
            raise UnreadableLogError(f"{path}: holds no summary or event files")
    elif path.is_file():
        files = [path]
    else:
        raise UnreadableLogError(f"{path}: no such file or directory")
    base = path if path.is_dir() else path.parent
    chunks = [(str(f.relative_to(base)), read_event_file(f)) for f in files]
    parsed = events_log(chunks)
    parsed.meta.update(lineage_meta(sorted({f.parent for f in files})))  # MindSpore's, once ended
    return parsed


def events_log(chunks: list[tuple[str, EventChunk]]) -> ParsedLog:
    """One run's tables from the reads of its files (``name`` as shown, chunk)."""
    parts, corrupt, described = [], [], []
    for name, chunk in chunks:
        source = source_of(chunk.cursor)
        frame = chunk.scalars.assign(source=constant_column(len(chunk.scalars), source).array)
        parts.append(frame)
        corrupt += [
            {"file": name, "offset": o, "why": why, "source": source} for o, why in chunk.cursor.corrupt
        ]
        described.append(describe_file(name, chunk))
    scalars = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if not any(c.cursor.records for _, c in chunks) and chunks:
        raise EmptyLogError(f"{chunks[0][0]}: no complete record yet")
    tables = event_tables(scalars, corrupt)
    meta = {
        "formats": sorted(
            {"mindspore-summary" if d["source"] == "summary" else "tensorboard" for d in described}
        ),
        "event_files": described,
        "tags": scalars["tag"].value_counts(sort=False).to_dict() if len(scalars) else {},
        "lines_read": 0,
        "lines_skipped": 0,
        "lines_noise": 0,
    }
    return ParsedLog(
        **tables, meta=meta, scalars=conform(scalars.drop(columns="record", errors="ignore"), "scalars")
    )


def describe_file(name: str, chunk: EventChunk) -> dict:
    """What ``meta["event_files"]`` says of one file: records, scalars, corrupt records, bytes waiting."""
    cursor = chunk.cursor
    return {
        "file": name,
        "source": source_of(cursor),
        "version": cursor.dialect.version,
        "records": cursor.records,
        "scalars": cursor.scalars,
        "corrupt": [[o, why] for o, why in cursor.corrupt],
        "pending_bytes": chunk.pending,
    }
