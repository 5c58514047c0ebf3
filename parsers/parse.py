"""``parse_log``: the one entry point from log text to tables."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import parsers.formats  # noqa: F401 - registers the built-in formats
from parsers.dispatch import Dispatcher, extract_chunk
from parsers.engine import RawRecords, assemble
from parsers.errors import NoRecordsError, UnknownFormatError, UnreadableLogError
from parsers.registry import (
    FORMATS,
    LogFormat,
    forced_names,
    get_format,
    named_formats,
    ordered_patterns,
)
from parsers.schema import LOG_TABLES, empty_table
from parsers.source import BLOCK_SIZE, LogSource, iter_blocks, mostly_binary, open_sources
from parsers.user_formats import load_user_formats

__all__ = ["TABLE_NAMES", "ParsedLog", "parse_log", "parse_source"]

TABLE_NAMES = LOG_TABLES
_WORKERS = min(2, os.cpu_count() or 1)


@dataclass
class ParsedLog:
    """The four tables of a log plus what was learned about it (``meta``), and the long table
    of every recorded scalar when the run has summary or event files (``parsers.events``)."""

    steps: pd.DataFrame
    epochs: pd.DataFrame
    evals: pd.DataFrame
    events: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    scalars: pd.DataFrame = field(default_factory=lambda: empty_table("scalars"))

    def tables(self) -> dict[str, pd.DataFrame]:
        """The four tables, plus ``scalars`` when the run has summary/event files."""
        names = (*TABLE_NAMES, "scalars") if self.meta.get("event_files") else TABLE_NAMES
        return {name: getattr(self, name) for name in names}


def parse_log(
    source: str | os.PathLike[str] | bytes,
    *,
    format: str | None = None,
    formats_file: str | os.PathLike[str] | None = None,
    exclude_formats: Iterable[str] = (),
    strict: bool = True,
) -> ParsedLog:
    """Parse a log file, gzip'd log, directory of (per-rank) logs, or log text.

    ``format`` forces one registered format instead of detection (events and
    metadata lines common to all logs are still read).  ``formats_file`` is a
    TOML file of user formats; one named ``epochscope-formats.toml`` next to the
    log is picked up by itself.  ``exclude_formats`` names formats (built-in or the
    user's) that read nothing in this call, e.g. to see what the general line grammar
    makes of a log without its named format (``exclude_formats=("pytorch",)``), or to
    drop a format that misreads a log; an unknown name raises ``UnknownFormatError``,
    as does excluding the format ``format`` forces.  With ``strict``, a log in which no
    line of any format was found raises ``NoRecordsError``.
    """
    sources = open_sources(source)
    formats = without_formats(formats_for(sources, formats_file), exclude_formats, forced=format)
    names = forced_names(format, formats) if format is not None else None
    dispatcher = Dispatcher(ordered_patterns(names, formats))
    raws = (parse_source(src, dispatcher) for src in sources)  # each let go once assembled
    parsed = assemble(raws, forced=format, formats=formats)
    if strict and not any(len(t) for t in parsed.tables().values()):
        tried = ", ".join(named_formats(names or sorted(formats), formats))
        where = sources[0].name if len(sources) == 1 else str(source)
        if all(mostly_binary(src.open) for src in sources):  # no record and mostly not text
            raise UnreadableLogError(f"{where}: binary file, not a text log")
        raise NoRecordsError(
            f"{where}: no records of any known format (tried: {tried}); "
            "describe the layout in a TOML file and pass it with --formats"
        )
    return parsed


def formats_for(
    sources: list[LogSource], formats_file: str | os.PathLike[str] | None
) -> dict[str, LogFormat]:
    """The built-in formats plus the user's (``--formats`` or a TOML file beside the log)."""
    formats = dict(FORMATS)
    user_files = [Path(formats_file)] if formats_file else _formats_beside(sources)
    for path in user_files:
        load_user_formats(path, formats)
    return formats


def without_formats(
    formats: dict[str, LogFormat], excluded: Iterable[str], *, forced: str | None = None
) -> dict[str, LogFormat]:
    """``formats`` without the ``excluded`` names, checked: a misspelt name would silently
    exclude nothing, and excluding the forced format would leave nothing to read."""
    names = [excluded] if isinstance(excluded, str) else list(excluded)  # one name, not its letters
    for name in names:
        get_format(name, formats)
        if name == forced:
            raise UnknownFormatError(f"format {name!r} is both forced and excluded")
    return {name: fmt for name, fmt in formats.items() if name not in names}


def _formats_beside(sources: list[LogSource]) -> list[Path]:
    folders = {src.path.parent for src in sources if src.path is not None}
    return [f / "epochscope-formats.toml" for f in folders if (f / "epochscope-formats.toml").is_file()]


def parse_source(
    src: LogSource,
    dispatcher: Dispatcher,
    *,
    final: bool = True,
    first_line: int = 0,
    block_size: int = BLOCK_SIZE,
) -> RawRecords:
    """Raw records of one log; blocks are scanned on a small thread pool (the scanner frees the GIL),
    a log of one block in this thread (a folder of 10,000 small logs starts no 10,000 pools)."""
    raw = RawRecords(name=src.name, rank=src.rank, first_line=first_line, size_hint=src.size_hint())
    if 0 < raw.size_hint < block_size:  # one block: scanned here, in a buffer of its size
        with src.open() as handle:
            for block, consumed in iter_blocks(handle, block_size=raw.size_hint + 1, final=final):
                raw.add(extract_chunk(np.frombuffer(block, dtype=np.uint8), dispatcher))
                raw.bytes_read += consumed
        return raw
    with src.open() as handle, ThreadPoolExecutor(_WORKERS) as pool:
        pending: deque[Future] = deque()
        for block, consumed in iter_blocks(handle, block_size=block_size, final=final):
            buf = np.frombuffer(block, dtype=np.uint8)
            pending.append(pool.submit(extract_chunk, buf, dispatcher))
            raw.bytes_read += consumed
            if len(pending) > _WORKERS:
                raw.add(pending.popleft().result())
        while pending:
            raw.add(pending.popleft().result())
    return raw
