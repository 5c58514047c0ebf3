"""One log's entry in the store: a manifest, Parquet parts, and how a refresh updates them.

    logs/<key>/manifest.json     what is committed: offsets, identity, files, meta, stats
    logs/<key>/steps-*.parquet   rows of the steps table, one file per committed part
    logs/<key>/evals-*, events-* the same for evals and events
    logs/<key>/epochs-*.parquet  the whole epochs table (small; rewritten when it changes)
    logs/<key>/context-*.json    what the next part needs to know (``parsers.engine.context``)
    locks/<key>.lock             held by the one process updating this entry

A refresh writes new files under fresh names, then replaces the manifest in one step,
so a reader (or a crash) sees the entry before or after a commit, never between.
Files a commit no longer refers to stay for ``GRACE_S`` seconds for readers that read
the previous manifest, then go.  Small parts are merged as they accumulate (every
``FANOUT`` parts of one size class become one), so a log followed for days stays a few
dozen files at most and each row is rewritten only a few times.

The entry's folder is named by a digest of the log's location; the manifest also keeps
a fingerprint of the log's first bytes (and of the bytes before the last line read).
A log whose fingerprint changed (rotated, replaced, rewritten) or that shrank is parsed
again from the start; a log found under a new name with a known fingerprint takes over
its old entry (``parsers.store.sync.adopt_renamed``).

A summary / event file (``parsers.events``) is an entry too, of ``scalars-*`` parts only
(with each row's record number): a refresh reads on from the last complete record, a torn
last record waits, a corrupt one is skipped and kept in the manifest with its offset.  Its
steps, evals and events are derived from the scalars when asked (``parsers.store.events``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parsers.dispatch import Dispatcher
from parsers.engine import APPENDED_TABLES, Context, ContextChanged
from parsers.errors import LogError
from parsers.events import EventCursor, describe_file, is_event_file, read_event_file, source_of
from parsers.parse import formats_for
from parsers.registry import LogFormat, named_formats, ordered_patterns
from parsers.source import LogSource, check_inside, mostly_binary
from parsers.store.events import chunk_stats, epochs_of_stats
from parsers.store.files import (
    atomic_write_json,
    parquet_options,
    read_json,
    store_lock,
    unique_name,
    write_frame,
)
from parsers.store.logfile import FINGERPRINT_BYTES, LogFile, Stat
from parsers.store.segments import SEGMENT_BYTES, read_parts

__all__ = [
    "FORMATS_BESIDE_ENV",
    "LOG_STATUSES",
    "LogSpec",
    "entry_key",
    "formats_beside_logs",
    "formats_signature",
    "read_manifest",
    "refresh_entry",
]

LOG_STATUSES = ("new", "unchanged", "appended", "reparsed", "error")
MANIFEST = "manifest.json"
GRACE_S = 300.0
MAX_PART_ROWS = 4_000_000
MAX_RESTARTS = 4
FANOUT = 8
MAX_PARTS = 48
_PART_TABLES = APPENDED_TABLES
_DISPATCHERS: dict[tuple, tuple[dict[str, LogFormat], Dispatcher]] = {}


@dataclass(frozen=True)
class LogSpec:
    """A log to keep in the store: where it is, which run it belongs to, its rank in that run."""

    location: str
    run: str
    log: str
    rank: int | None = None
    storage_options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    root: str = ""  # the runs root a local log was found under: its real path must stay inside

    @property
    def file(self) -> LogFile:
        return LogFile(self.location, self.storage_options)


def entry_key(location: str) -> str:
    """The entry folder's name: a digest of the log's location."""
    return hashlib.blake2b(location.encode("utf-8", "surrogateescape"), digest_size=10).hexdigest()


def read_manifest(store: Path, key: str) -> dict[str, Any] | None:
    return read_json(store / "logs" / key / MANIFEST)


# An unexpected exception refreshing one log: its traceback goes here, its one line to the row.
_LOG = logging.getLogger(__name__)


def refresh_entry(store: Path, spec: LogSpec, *, segment: int = SEGMENT_BYTES) -> dict[str, Any]:
    """Bring one log's entry up to date; returns its row of ``RunStore.refresh()``.

    Errors of the input (unreadable, empty, binary) are the row's ``error``; so is any
    other exception, with its type, so that one bad log never stops the others.
    """
    key = entry_key(spec.location)
    folder = store / "logs" / key
    with store_lock(store, key):
        manifest = read_json(folder / MANIFEST)
        try:
            if spec.root and spec.file.path is not None:  # read now, so checked now (a link may be new)
                check_inside(spec.file.path, spec.root)
            refresh = _EventRefresh if is_event_file(spec.log) else _Refresh
            return refresh(folder, key, spec, manifest, segment).run()
        except LogError as exc:
            return _failed(folder, key, spec, manifest, str(exc))
        except Exception as exc:  # a bug must not stop the other logs: report it in the row
            _LOG.exception("refreshing %s failed: a bug, not bad input", spec.location)
            return _failed(folder, key, spec, manifest, f"{type(exc).__name__}: {exc}")


def _result(
    spec: LogSpec, key: str, status: str, parsed: int, error: str | None, commit: int | None = None
) -> dict[str, Any]:
    return {
        "run": spec.run,
        "log": spec.log,
        "status": status,
        "bytes_parsed": parsed,
        "error": error,
        "location": spec.location,
        "key": key,
        "commit": commit,
    }


def _failed(folder: Path, key: str, spec: LogSpec, manifest: dict | None, message: str) -> dict[str, Any]:
    """Record a log that cannot be read: an entry with the reason and no tables."""
    message = " ".join(message.split())
    try:
        stat = spec.file.stat()
    except LogError:
        stat = Stat(-1, -1)
    folder.mkdir(parents=True, exist_ok=True)
    garbage = list((manifest or {}).get("garbage", []))
    garbage += [[name, time.time()] for name in _referenced(manifest)]
    commit = (manifest or {}).get("commit", 0) + 1
    atomic_write_json(
        folder / MANIFEST,
        {
            **_identity(spec, key),
            "commit": commit,
            "size": stat.size,
            "mtime_ns": stat.mtime_ns,
            "error": message,
            "fatal": True,
            "files": {t: [] for t in _PART_TABLES},
            "garbage": garbage,
        },
    )
    return _result(spec, key, "error", 0, message, commit)


def _identity(spec: LogSpec, key: str) -> dict[str, Any]:
    return {
        "version": 1,
        "key": key,
        "location": spec.location,
        "run": spec.run,
        "log": spec.log,
        "rank": spec.rank,
    }


def _referenced(manifest: dict | None) -> list[str]:
    if not manifest:
        return []
    files = manifest.get("files", {})
    names = [name for table in (*_PART_TABLES, "scalars") for name, _ in files.get(table, [])]
    return names + [files[k] for k in ("epochs", "context") if files.get(k)]


FORMATS_BESIDE_ENV = "EPOCHSCOPE_FORMATS_BESIDE_LOGS"
FORMATS_FILE = "epochscope-formats.toml"


def formats_beside_logs() -> bool:
    """Whether the store reads an ``epochscope-formats.toml`` beside a log: only when the user
    opts in (``EPOCHSCOPE_FORMATS_BESIDE_LOGS=1``), since anyone who can write into a runs
    folder could put one there.  Its regexes run on RE2 (linear time) either way."""
    return os.environ.get(FORMATS_BESIDE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _formats_file(spec: LogSpec) -> Path | None:
    path = spec.file.path
    if path is None or not formats_beside_logs():
        return None
    beside = path.parent / FORMATS_FILE
    return beside if beside.is_file() else None


def formats_signature(spec: LogSpec) -> str:
    """Which ``epochscope-formats.toml`` beside a local log, as of when ("" when none or not
    opted in).  Kept in the manifest and the runs table: a log read with other formats is read again.
    """
    beside = _formats_file(spec)
    if beside is None:
        return ""
    return f"{beside}:{beside.stat().st_mtime_ns}"


def _formats(spec: LogSpec) -> tuple[dict[str, LogFormat], Dispatcher, str]:
    """Built-in formats plus an opted-in ``epochscope-formats.toml`` beside a local log (inside
    the runs root); a shared dispatcher."""
    beside = _formats_file(spec)
    if beside is not None and spec.root:
        check_inside(beside, spec.root)
    signature = formats_signature(spec)
    cache_key = (signature,)
    if cache_key not in _DISPATCHERS:
        formats = formats_for([], beside)
        _DISPATCHERS[cache_key] = (formats, Dispatcher(ordered_patterns(None, formats)))
    formats, dispatcher = _DISPATCHERS[cache_key]
    return formats, dispatcher, signature


class _Refresh:
    """One refresh of one entry, under its lock."""

    def __init__(self, folder: Path, key: str, spec: LogSpec, manifest: dict | None, segment: int) -> None:
        self.folder, self.key, self.spec, self.segment = folder, key, spec, segment
        self.old = manifest
        self.manifest: dict[str, Any] = dict(manifest or {})
        self.log = spec.file
        self.parsed = 0
        self.finished = False
        self.finish: tuple[Stat, str, dict[str, LogFormat]] | None = None

    def run(self) -> dict[str, Any]:
        stat = self.log.stat()
        formats, dispatcher, signature = _formats(self.spec)
        if self._unchanged(stat, signature):
            error = self.old.get("error") if self.old else None
            return _result(
                self.spec, self.key, "error" if error else "unchanged", 0, error, self.old.get("commit")
            )
        status, start, context, gz = self._plan(stat, signature)
        if status != "appended":
            self.log.check_text(gzip_file=gz)
        self.finish = (stat, signature, formats)
        status = self._parse(status, start, context, gz, stat, formats, dispatcher)
        if not self.finished:
            self._finish(gz)
        error = self.manifest.get("error")
        return _result(
            self.spec, self.key, "error" if error else status, self.parsed, error, self.manifest["commit"]
        )

    def _unchanged(self, stat: Stat, signature: str) -> bool:
        old = self.old
        return bool(
            old
            and old.get("size") == stat.size
            and old.get("mtime_ns") == stat.mtime_ns
            and old.get("rank") == self.spec.rank
            and old.get("formats_sig", "") == signature
        )

    def _plan(self, stat: Stat, signature: str) -> tuple[str, int, Context, bool]:
        """Append after the last complete line read, or parse from the start (new/changed log)."""
        gz = self.log.is_gzip() if stat.size else False
        fresh = Context(self.spec.location, self.spec.rank)
        old = self.old
        if not old:
            return "new", 0, fresh, gz
        appendable = (
            not old.get("fatal")
            and not gz
            and not old.get("gzip")
            and old.get("rank") == self.spec.rank
            and old.get("formats_sig", "") == signature
            and stat.size >= old.get("offset", 0)
            and old.get("files", {}).get("context")
            and self.log.fingerprint(old["fp_len"]) == old["fp"]
            and self.log.tail_digest(old["offset"]) == old["tail"]
        )
        if not appendable:
            return "reparsed", 0, fresh, gz
        return "appended", int(old["offset"]), _load_context(self.folder / old["files"]["context"]), gz

    def _parse(self, status, start, context, gz, stat, formats, dispatcher) -> str:
        """Read and commit parts; on a changed decision, start over with what was learned."""
        source = LogSource(self.spec.location, self.spec.rank, path=self.log.path)
        opener = self.log.opener(gzip_file=gz)
        segment, fresh = self.segment, status != "appended"
        for attempt in range(MAX_RESTARTS + 2):
            try:
                for part in read_parts(
                    source,
                    context,
                    start=start,
                    size=None if gz else stat.size,
                    formats=formats,
                    dispatcher=dispatcher,
                    opener=opener,
                    segment=segment,
                ):
                    self._commit(part, fresh=fresh, gz=gz)
                    fresh = False
                return status
            except ContextChanged as exc:
                learned = exc.context or context
                context, start, fresh = learned.hinted(), 0, True
                status = "reparsed" if status == "appended" else status
                if attempt >= MAX_RESTARTS:
                    segment = 1 << 62  # give up on segments: one part, always consistent
        raise RuntimeError("log could not be assembled consistently")  # not reached

    def _commit(self, part, *, fresh: bool, gz: bool) -> None:
        """Write one part's files, then replace the manifest: the part is committed."""
        m = self.manifest
        old = {} if fresh else m.get("files") or {}
        garbage = list(m.get("garbage", [])) + ([[n, time.time()] for n in _referenced(m)] if fresh else [])
        files: dict[str, Any] = {t: list(old.get(t, [])) for t in _PART_TABLES}
        files["epochs"] = old.get("epochs")
        commit = m.get("commit", 0) + 1
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_tables(part.increment, files, garbage, commit)
        if old.get("context"):
            garbage.append([old["context"], time.time()])
        files["context"] = unique_name(f"context-{commit:07d}", ".json")
        (self.folder / files["context"]).write_text(part.increment.context.to_json(), "utf-8")
        _CONTEXTS[str(self.folder / files["context"])] = part.increment.context
        fp_len = FINGERPRINT_BYTES if gz else min(FINGERPRINT_BYTES, part.end)
        fp = m["fp"] if not fresh and m.get("fp_len") == fp_len else self.log.fingerprint(fp_len)
        tail = "" if gz else self.log.tail_digest(part.end)
        m.update(_identity(self.spec, self.key), commit=commit, offset=part.end, gzip=gz)
        m.update(fp_len=fp_len, fp=fp, tail=tail, files=files, garbage=garbage, error=None, fatal=False)
        m.update(meta=part.increment.meta, stats=part.increment.context.stats)
        self.parsed += part.end - part.start
        if part.last:
            self._finish(gz)  # the last part's manifest also records what the refresh saw
            return
        m.pop("size", None)  # until the refresh finishes, the next one must look again
        atomic_write_json(self.folder / MANIFEST, m)

    def _write_tables(self, inc, files: dict[str, Any], garbage: list, commit: int) -> None:
        """The part's rows as new Parquet parts (merged as they accumulate); the whole epochs table."""
        for table in _PART_TABLES:
            frame = getattr(inc, table)
            if len(frame):
                name = unique_name(f"{table}-{commit:07d}", ".parquet")
                write_frame(frame, self.folder / name, table=table)
                files[table].append([name, len(frame)])
                _compact(self.folder, files[table], garbage, commit)
        if inc.epochs is not None:
            if files["epochs"]:
                garbage.append([files["epochs"], time.time()])
            files["epochs"] = unique_name(f"epochs-{commit:07d}", ".parquet")
            write_frame(inc.epochs, self.folder / files["epochs"], table="epochs", remember=True)

    def _finish(self, gz: bool) -> None:
        """Record the size and time seen, the no-records error if any, and clear old files."""
        stat, signature, formats = self.finish  # type: ignore[misc]
        self.finished = True
        self.folder.mkdir(parents=True, exist_ok=True)
        m = self.manifest
        if "files" not in m or m.get("fatal"):  # nothing complete to read yet
            m.update(
                _identity(self.spec, self.key),
                commit=m.get("commit", 0),
                offset=0,
                gzip=gz,
                fp_len=0,
                fp=self.log.fingerprint(0),
                tail="",
                files={**{t: [] for t in _PART_TABLES}, "epochs": None, "context": None},
                meta={},
                stats={},
                fatal=False,
            )
        m.update(
            size=stat.size,
            mtime_ns=stat.mtime_ns,
            formats_sig=signature,
            error=_no_records(m, formats, self.log.opener(gzip_file=gz)),
            commit=m["commit"] + 1,
        )
        m["garbage"] = _collect(self.folder, m)
        atomic_write_json(self.folder / MANIFEST, m)


class _EventRefresh:
    """One refresh of a summary / event file's entry: the scalars of the records not read yet."""

    def __init__(self, folder: Path, key: str, spec: LogSpec, manifest: dict | None, segment: int) -> None:
        self.folder, self.key, self.spec = folder, key, spec
        self.old: dict[str, Any] = manifest or {}
        self.log = spec.file

    def run(self) -> dict[str, Any]:
        stat, old = self.log.stat(), self.old
        if old.get("size") == stat.size and old.get("mtime_ns") == stat.mtime_ns and "cursor" in old:
            error = old.get("error")
            status = "error" if error else "unchanged"
            return _result(self.spec, self.key, status, 0, error, old.get("commit"))
        status, cursor = self._plan(stat)
        # final=False: bytes after the last complete record are a record being written; they wait
        chunk = read_event_file(self.spec.location, cursor, final=False, opener=self.log.open_raw)
        commit = self._commit(chunk, stat, fresh=status != "appended")
        return _result(self.spec, self.key, status, chunk.bytes_read, None, commit)

    def _plan(self, stat: Stat) -> tuple[str, EventCursor | None]:
        """Read on from the last complete record, or from the start (new, rewritten or shrunk file)."""
        old = self.old
        if not old:
            return "new", None
        cursor = old.get("cursor")
        appendable = (
            cursor is not None
            and not old.get("fatal")
            and stat.size >= cursor["offset"]
            and self.log.fingerprint(old["fp_len"]) == old["fp"]
            and self.log.tail_digest(cursor["offset"]) == old["tail"]
        )
        return ("appended", EventCursor.from_json(cursor)) if appendable else ("reparsed", None)

    def _commit(self, chunk, stat: Stat, *, fresh: bool) -> int:
        """Write the new scalars as a part, then replace the manifest: the read is committed."""
        old, now = self.old, time.time()
        garbage = list(old.get("garbage", [])) + ([[n, now] for n in _referenced(old)] if fresh else [])
        parts = [] if fresh else [list(p) for p in (old.get("files") or {}).get("scalars", [])]
        commit = old.get("commit", 0) + 1
        self.folder.mkdir(parents=True, exist_ok=True)
        source = source_of(chunk.cursor)
        if len(chunk.scalars):
            name = unique_name(f"scalars-{commit:07d}", ".parquet")
            write_frame(chunk.scalars.assign(source=source), self.folder / name)
            parts.append([name, len(chunk.scalars)])
            _compact(self.folder, parts, garbage, commit)
        offset = chunk.cursor.offset
        fp_len = min(FINGERPRINT_BYTES, offset)
        stats = chunk_stats({} if fresh else old.get("stats") or {}, chunk, self.spec.log)
        epochs = self._epochs(epochs_of_stats(stats), garbage, commit, now)
        m = {**_identity(self.spec, self.key), "commit": commit, "offset": offset, "gzip": False}
        m.update(fp_len=fp_len, fp=self.log.fingerprint(fp_len), tail=self.log.tail_digest(offset))
        m.update(files={**{t: [] for t in _PART_TABLES}, "scalars": parts, "epochs": epochs, "context": None})
        m.update(cursor=chunk.cursor.to_json(), event_file=describe_file(self.spec.log, chunk), meta={})
        m.update(stats=stats)
        m.update(size=stat.size, mtime_ns=stat.mtime_ns, formats_sig="", error=None, fatal=False)
        m["garbage"] = garbage
        m["garbage"] = _collect(self.folder, m)
        atomic_write_json(self.folder / MANIFEST, m)
        return commit

    def _epochs(self, epochs, garbage: list, commit: int, now: float) -> str | None:
        """The epochs table the wall times give (``epoch`` tag), rewritten whole as a text log's is."""
        old = (self.old.get("files") or {}).get("epochs")
        if old and old not in {name for name, _ in garbage}:
            garbage.append([old, now])
        if epochs is None:
            return None
        name = unique_name(f"epochs-{commit:07d}", ".parquet")
        write_frame(epochs, self.folder / name, table="epochs", remember=True)
        return name


_CONTEXTS: OrderedDict[str, Context] = OrderedDict()


def _load_context(path: Path) -> Context:
    """A committed context; the one this process just wrote is reused (context files never change)."""
    key = str(path)
    context = _CONTEXTS.pop(key, None) or Context.from_json(path.read_text("utf-8"))
    _CONTEXTS[key] = context  # assemble_increment copies before changing anything
    while len(_CONTEXTS) > 64:
        _CONTEXTS.popitem(last=False)
    return context


def _no_records(manifest: dict[str, Any], formats: dict[str, LogFormat], opener) -> str | None:
    files = manifest["files"]
    if any(files.get(t) for t in _PART_TABLES) or files.get("epochs"):
        return None
    if mostly_binary(opener):
        return f"{manifest['location']}: binary file, not a text log"
    tried = ", ".join(named_formats(sorted(formats), formats))
    return (
        f"{manifest['location']}: no records of any known format (tried: {tried}); "
        "describe the layout in a TOML file and pass it with --formats"
    )


def _compact(folder: Path, parts: list[list[Any]], garbage: list, commit: int) -> None:
    """Merge the newest ``FANOUT`` parts when they are of one size class (powers of ``FANOUT`` rows).

    Size-tiered, like an LSM tree: a row is rewritten about log_FANOUT(rows) times over a
    log's life, a log keeps a few parts per size class, and most refreshes merge nothing.
    """
    while len(parts) >= FANOUT:
        tail = parts[-FANOUT:]
        rows = sum(n for _, n in tail)
        if rows > MAX_PART_ROWS or len({_size_class(n) for _, n in tail}) > 1:
            break
        _merge(folder, parts, len(parts) - FANOUT, garbage, commit)
    if len(parts) > MAX_PARTS:  # appends that grew over time leave small parts behind: sweep them up
        _merge(folder, parts, 1, garbage, commit)


def _size_class(rows: int) -> int:
    return int(math.log(max(rows, 1), FANOUT))


def _merge(folder: Path, parts: list[list[Any]], start: int, garbage: list, commit: int) -> None:
    """Rewrite ``parts[start:]`` as one file, a part at a time (memory: the largest part, not the sum)."""
    import pyarrow.parquet as pq

    tail = parts[start:]
    name = unique_name(f"{tail[0][0].split('-')[0]}-{commit:07d}", ".parquet")
    schema = pq.read_schema(folder / tail[0][0])
    with pq.ParquetWriter(folder / name, schema, **parquet_options(schema)) as writer:
        for old, _ in tail:
            writer.write_table(pq.read_table(folder / old, schema=schema))
    parts[start:] = [[name, sum(n for _, n in tail)]]
    garbage += [[old, time.time()] for old, _ in tail]


def _collect(folder: Path, manifest: dict[str, Any]) -> list[list[Any]]:
    """Delete files no commit refers to: superseded ones after the grace time, strays at once."""
    now = time.time()
    kept = []
    referenced = set(_referenced(manifest))
    waiting = {name for name, _ in manifest.get("garbage", [])}
    for name, since in manifest.get("garbage", []):
        if name in referenced:
            continue
        if now - since < GRACE_S:
            kept.append([name, since])
        else:
            _remove(folder / name)
    for entry in os.scandir(folder):
        if entry.name != MANIFEST and entry.name not in referenced and entry.name not in waiting:
            _remove(Path(entry.path))  # left by a writer that died before committing
    return kept


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
