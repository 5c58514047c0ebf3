"""Where log bytes come from: a file, a gzip'd file, a directory of per-rank logs, or text.

Reading is in blocks that end on a line boundary, so a log of any size is parsed
in bounded memory, and a half-written last line can be held back for the next
refresh of a growing log.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from parsers.errors import EmptyLogError, UnreadableLogError

__all__ = [
    "BLOCK_SIZE",
    "LOG_SUFFIXES",
    "LogSource",
    "iter_blocks",
    "looks_like_log",
    "open_sources",
    "rank_from_name",
]

BLOCK_SIZE = 4 << 20
LOG_SUFFIXES = (".log", ".txt", ".out", ".err", ".gz")
_RANK_IN_NAME = re.compile(r"(?:rank|device|worker|node|card|npu|gpu)[_\-.]?(\d+)", re.IGNORECASE)
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class LogSource:
    """One log: a display name, the rank it belongs to (if known) and how to open it."""

    name: str
    rank: int | None
    path: Path | None = None
    text: bytes | None = None

    def size_hint(self) -> int:
        """Bytes the source will yield, when cheap to know (plain files and text); else 0."""
        if self.text is not None:
            return len(self.text)
        try:
            with self.path.open("rb") as handle:  # type: ignore[union-attr]
                if handle.read(2) == _GZIP_MAGIC:
                    return 0
            return self.path.stat().st_size  # type: ignore[union-attr]
        except OSError:
            return 0

    def open(self) -> BinaryIO:
        if self.text is not None:
            return io.BytesIO(self.text)
        assert self.path is not None
        handle = self.path.open("rb")
        if handle.read(2) == _GZIP_MAGIC:
            handle.close()
            return gzip.open(self.path, "rb")  # type: ignore[return-value]
        handle.seek(0)
        return handle


def open_sources(source: str | os.PathLike[str] | bytes) -> list[LogSource]:
    """Resolve what the user passed into a list of logs, failing with a clear message."""
    if isinstance(source, bytes):
        return [LogSource("<text>", None, text=source)]
    if isinstance(source, str) and ("\n" in source or "\r" in source):
        return [LogSource("<text>", None, text=source.encode("utf-8", "surrogateescape"))]
    path = Path(source)
    if path.is_dir():
        return _directory(path)
    if not path.exists():
        raise UnreadableLogError(f"{path}: no such file or directory")
    _check_file(path)
    return [LogSource(str(path), rank_from_name(path.name), path=path)]


def _directory(path: Path) -> list[LogSource]:
    files = sorted(
        (p for p in path.rglob("*") if p.is_file() and looks_like_log(p)),
        key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(p))],
    )
    if not files:
        raise UnreadableLogError(
            f"{path}: directory holds no log files (looked for {', '.join(LOG_SUFFIXES)})"
        )
    ranks = [rank_from_name(str(p.relative_to(path))) for p in files]
    if len(files) > 1 and any(r is None for r in ranks):
        ranks = list(range(len(files)))
    for p in files:
        _check_file(p)
    return [LogSource(str(p), rank, path=p) for p, rank in zip(files, ranks)]


def looks_like_log(path: Path) -> bool:
    """Whether a file in a run folder is a log, by its name (``*.log``, ``*.log.1``, ...)."""
    name = path.name.lower()
    return not name.startswith(".") and (
        name.endswith(LOG_SUFFIXES) or re.search(r"\.log\.\d+$", name) is not None
    )


def rank_from_name(name: str) -> int | None:
    """The device rank a log's file name (or path in its folder) says, e.g. ``rank_3.log``."""
    found = _RANK_IN_NAME.findall(name)
    return int(found[-1]) if found else None


def _check_file(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
    except OSError as exc:
        raise UnreadableLogError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not head:
        raise EmptyLogError(f"{path}: file is empty")
    if head.startswith(_GZIP_MAGIC):
        try:
            with gzip.open(path, "rb") as handle:
                head = handle.read(8192)
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableLogError(f"{path}: broken gzip file: {exc}") from None
        if not head:
            raise EmptyLogError(f"{path}: gzip file holds no text")
    if b"\x00" in head:
        raise UnreadableLogError(f"{path}: binary file, not a text log")


def iter_blocks(
    handle: BinaryIO, *, block_size: int = BLOCK_SIZE, final: bool = True
) -> Iterator[memoryview]:
    """Blocks of whole lines, read straight into fresh buffers (no concatenation copies).

    The tail without a newline is carried into the next block, and yielded last
    only if ``final`` (a growing log's half-written line waits for the next refresh).
    """
    carry = b""
    while True:
        buf = bytearray(len(carry) + block_size)
        buf[: len(carry)] = carry
        try:
            got = handle.readinto(memoryview(buf)[len(carry) :])  # type: ignore[attr-defined]
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableLogError(f"{getattr(handle, 'name', '<log>')}: read failed: {exc}") from None
        if not got:
            break
        total = len(carry) + got
        cut = buf.rfind(b"\n", 0, total) + 1
        if cut == 0:
            carry = bytes(buf[:total])
            continue
        carry = bytes(buf[cut:total])
        yield memoryview(buf)[:cut]
    if carry and final:
        yield memoryview(carry)
