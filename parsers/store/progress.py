"""A progress line for long ingests: logs and bytes done, on stderr, never in the result."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]

_WIDTH = 24


class Progress:
    """``[#####-----] 12/1000 logs  0.3/4.2 GB  1 error``; redrawn in place on a terminal,
    one line every few seconds otherwise (CI logs stay readable)."""

    def __init__(
        self, logs: int, total_bytes: int, *, stream: TextIO | None = None, every_s: float = 5.0
    ) -> None:
        self.logs, self.total = logs, max(total_bytes, 1)
        self.done = self.done_bytes = self.errors = 0
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every_s, self.last = every_s, 0.0

    def update(self, *, size: int, error: bool) -> None:
        self.done += 1
        self.done_bytes += size
        self.errors += int(error)
        now = time.monotonic()
        if self.tty or now - self.last >= self.every_s or self.done == self.logs:
            self.last = now
            self.stream.write(("\r" if self.tty else "") + self.line() + ("" if self.tty else "\n"))
            self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def line(self) -> str:
        filled = int(_WIDTH * self.done_bytes / self.total) if self.logs else _WIDTH
        bar = "#" * filled + "-" * (_WIDTH - filled)
        errors = f"  {self.errors} error{'s' if self.errors != 1 else ''}" if self.errors else ""
        return f"[{bar}] {self.done}/{self.logs} logs  {_size(self.done_bytes)}/{_size(self.total)}{errors}"


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"
