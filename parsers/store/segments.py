"""Reading a log part by part: from the last complete line already read, in bounded segments.

A refresh reads only the bytes appended since the last one; a log bigger than memory
is read in segments of ``SEGMENT_BYTES``.  Either way each part is assembled with the
context of what came before (``parsers.engine``), and the caller commits each
part's rows before the next is read, so memory holds one segment's tables at a time.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from parsers.dispatch import Dispatcher, extract_chunk
from parsers.engine import Context, Increment, RawRecords, assemble_increment
from parsers.parse import parse_source
from parsers.registry import LogFormat
from parsers.source import BLOCK_SIZE, LogSource, iter_blocks

__all__ = ["SEGMENT_BYTES", "Part", "SliceSource", "read_parts"]

SEGMENT_BYTES = 256 << 20
_MIN_BLOCK = 64 << 10
_LAST_LINE_MAX = 1 << 20  # a step line held back for its time line is never longer than this


@dataclass(frozen=True)
class SliceSource(LogSource):
    """Bytes ``[start, stop)`` of a log (``stop`` None: to the end), opened by ``opener``."""

    start: int = 0
    stop: int | None = None
    opener: Callable[[], BinaryIO] | None = None

    def size_hint(self) -> int:
        return 0 if self.stop is None else self.stop - self.start

    def open(self) -> BinaryIO:
        handle = self.opener() if self.opener is not None else super().open()
        if self.start:
            handle.seek(self.start)
        return handle if self.stop is None else _Window(handle, self.stop - self.start)  # type: ignore[return-value]


class _Window(io.RawIOBase):
    """At most ``limit`` bytes of ``handle``, read straight into the caller's buffer."""

    def __init__(self, handle: BinaryIO, limit: int) -> None:
        self.handle, self.left = handle, limit
        self.name = getattr(handle, "name", "<log>")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            return 0
        view = memoryview(buffer).cast("B")[: self.left]
        got = self.handle.readinto(view) or 0  # type: ignore[attr-defined]
        self.left -= got
        return got

    def close(self) -> None:
        self.handle.close()
        super().close()


@dataclass
class Part:
    """One assembled part and where the next one starts (a byte offset in the log)."""

    increment: Increment | None  # None: nothing to commit yet
    start: int
    end: int
    last: bool = False  # no part follows in this read


def read_parts(
    source: LogSource,
    context: Context,
    *,
    start: int,
    size: int | None,
    formats: dict[str, LogFormat],
    dispatcher: Dispatcher,
    opener: Callable[[], BinaryIO] | None = None,
    segment: int = SEGMENT_BYTES,
) -> Iterator[Part]:
    """Parts of the log from byte ``start`` to ``size`` (None: a compressed stream, read whole).

    Only complete lines are read: a half-written last line waits for the next refresh.
    May raise ``ContextChanged`` (see ``parsers.engine.assembly``) before yielding a part.
    """
    while size is None or start < size:
        stop = None if size is None else min(size, start + segment)
        part = _read_part(
            source, context, start=start, stop=stop, formats=formats, dispatcher=dispatcher, opener=opener
        )
        if part is None:
            if stop is None or stop >= size:  # type: ignore[operator]
                return
            segment *= 2  # a line longer than a segment: read a larger one
            continue
        if part.increment is None:  # only a step line waiting for its time line
            return
        part.last = stop is None or stop >= size  # type: ignore[operator]  # the rest: a half-written line
        yield part
        if part.last:
            return
        context, start = part.increment.context, part.end


def _read_part(source, context, *, start, stop, formats, dispatcher, opener) -> Part | None:
    """The part of ``[start, stop)``; a trailing step line still waiting for its time line stays unread."""
    part = _assemble(source, context, start, stop, formats, dispatcher, opener)
    if part is None or not _waits_for_time_line(part):
        return part
    shorter = _last_line_start(source, opener, part.start, part.end)
    if shorter is None:
        return part
    if shorter == part.start:
        return Part(None, start, start)  # type: ignore[arg-type] - nothing to commit yet
    return _assemble(source, context, start, shorter, formats, dispatcher, opener) or part


def _assemble(source, context, start, stop, formats, dispatcher, opener) -> Part | None:
    piece = SliceSource(source.name, source.rank, path=source.path, start=start, stop=stop, opener=opener)
    if stop is not None and stop - start < BLOCK_SIZE:
        raw = _parse_small(piece, dispatcher, first_line=context.lines_read, size=stop - start)
    else:
        raw = parse_source(piece, dispatcher, final=False, first_line=context.lines_read)
    if not raw.bytes_read:
        return None
    increment = assemble_increment(raw, context, formats)
    return Part(increment, start, start + raw.bytes_read)


def _parse_small(piece: SliceSource, dispatcher: Dispatcher, *, first_line: int, size: int) -> RawRecords:
    """``parse_source`` for what a refresh typically reads (one block): on this thread, no pool to start."""
    raw = RawRecords(name=piece.name, rank=piece.rank, first_line=first_line, size_hint=size)
    with piece.open() as handle:
        for block, consumed in iter_blocks(handle, block_size=max(_MIN_BLOCK, size + 1), final=False):
            raw.add(extract_chunk(np.frombuffer(block, dtype=np.uint8), dispatcher))
            raw.bytes_read += consumed
    return raw


def _waits_for_time_line(part: Part) -> bool:
    """A step record on the last line, in a log that prints step times on the next line."""
    ctx, steps = part.increment.context, part.increment.steps
    return bool(
        ctx.has_step_times
        and len(steps)
        and int(steps["line"].iloc[-1]) == ctx.lines_read
        and steps["step_time_ms"].isna().iloc[-1]
    )


def _last_line_start(source, opener, start: int, end: int) -> int | None:
    """Byte offset where the last line of ``[start, end)`` begins (None if it is too long)."""
    lo = max(start, end - _LAST_LINE_MAX)
    piece = SliceSource(source.name, source.rank, path=source.path, start=lo, stop=end, opener=opener)
    with piece.open() as handle:
        tail = handle.read(end - lo)
    cut = tail.rfind(b"\n", 0, len(tail) - 1)
    if cut < 0:
        return start if lo == start else None
    return lo + cut + 1
