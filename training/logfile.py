"""Send everything the job prints to ``train.log`` as well as to the terminal.

MindSpore's ``LossMonitor`` and ``TimeMonitor`` write with ``print``; rather than copy
them, we tee ``sys.stdout``/``sys.stderr`` into the log while a run is active, exactly
like ``python train.py | tee train.log`` in the model-zoo scripts. The file is opened in
append mode, so a resumed run continues the same log.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

__all__ = ["tee_output"]


class _Tee(io.TextIOBase):
    """A text stream writing to a terminal stream and a log file, flushing per line."""

    def __init__(self, terminal: TextIO, log: TextIO) -> None:
        super().__init__()
        self._terminal = terminal
        self._log = log

    def write(self, text: str) -> int:
        self._terminal.write(text)
        self._log.write(text)
        if "\n" in text:
            self.flush()
        return len(text)

    def flush(self) -> None:
        self._terminal.flush()
        self._log.flush()

    def fileno(self) -> int:
        """The terminal's descriptor: low-level writers reach the terminal, not the log."""
        return self._terminal.fileno()

    def isatty(self) -> bool:
        return self._terminal.isatty()

    @property
    def encoding(self) -> str:
        return self._log.encoding


@contextlib.contextmanager
def tee_output(path: Path) -> Iterator[TextIO]:
    """Tee stdout and stderr into ``path`` (appending) until the block ends; yield the file.

    The yielded file lets callers write to the log alone (e.g. a traceback that the CLI
    will report on the terminal in its own words).
    """
    with open(path, "a", encoding="utf-8", newline="\n") as log:
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(saved[0], log), _Tee(saved[1], log)
        try:
            yield log
        finally:
            sys.stdout, sys.stderr = saved
