"""The text of one line of a log, for an alert that must quote the line that raised it.

The tables keep each record's line number, not its text (that would double the store),
and events keep their message; so an alert about a step, an eval or the log's last
line reads that one line back from the file.  Lines are counted as the parser counts
them (``\\n``-separated, 1-based), gzip'd logs included.  Alerts are rare, so a scan of
the file is fine; it reads in 1 MB blocks and stops at the line.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import BinaryIO

__all__ = ["MAX_CHARS", "read_line"]

MAX_CHARS = 1000  # an alert quotes at most this much of a line (some logs print whole tensors)
_BLOCK = 1 << 20


def read_line(location: str, number: int) -> str | None:
    """Line ``number`` of the local log at ``location``, stripped; None when it cannot be read
    (a URL, a file gone, fewer lines than that)."""
    if "://" in location or number < 1:
        return None
    try:
        with _open(Path(location)) as handle:
            raw = _nth_line(handle, number)
    except (OSError, EOFError, zlib.error):
        return None
    if raw is None:
        return None
    return raw[: MAX_CHARS * 4].decode("utf-8", "replace").strip()[:MAX_CHARS]


def _open(path: Path) -> BinaryIO:
    handle = path.open("rb")
    if handle.read(2) == b"\x1f\x8b":
        handle.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    handle.seek(0)
    return handle


def _nth_line(handle: BinaryIO, number: int) -> bytes | None:
    seen = 0  # newlines passed so far
    start: bytes | None = None  # the wanted line's bytes so far, once reached
    while True:
        block = handle.read(_BLOCK)
        if not block:
            return start if start else None
        if start is not None:
            end = block.find(b"\n")
            return start + (block if end < 0 else block[:end])
        count = block.count(b"\n")
        if seen + count < number - 1:
            seen += count
            continue
        pos = 0
        for _ in range(number - 1 - seen):
            pos = block.index(b"\n", pos) + 1
        seen = number - 1
        end = block.find(b"\n", pos)
        if end >= 0:
            return block[pos:end]
        start = block[pos:]
