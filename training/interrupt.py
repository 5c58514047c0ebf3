"""Turn Ctrl-C and SIGTERM into a clean stop at the next step boundary.

A signal arriving in the middle of a MindSpore step can leave the data pipeline and the
log in an odd state, and a batch scheduler's SIGTERM would otherwise kill the job without
a last word. The handlers only record the signal; a training callback raises
:class:`TrainingInterrupted` after the current step, and the trainer writes the closing
line. A second signal falls back to an immediate ``KeyboardInterrupt``.

Processes forked from the training must not inherit the handlers: MindSpore's summary
writer (``SummaryCollector``) forks a writer and a pool of workers and ends the pool
with SIGTERM.  A worker that only took note of the signal -- or that never returns to
Python to run a handler, blocked in C on a lock it inherited from the fork -- would
never end, and the run would hang closing its summary.  A forked child gets the
handlers back that were there before (``os.register_at_fork``), SIGTERM's default
among them: the process ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["Progress", "StopRequest", "TrainingInterrupted", "stop_on_signals"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_BEFORE: dict[int, object] = {}  # the handlers stop_on_signals replaced, while it runs


def _restore_in_child() -> None:
    """In a process just forked from a training: the handlers from before ``stop_on_signals``."""
    for sig, handler in _BEFORE.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]
    _BEFORE.clear()


os.register_at_fork(after_in_child=_restore_in_child)


class TrainingInterrupted(Exception):
    """Raised between steps after a stop signal; carries the signal's name."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(f"training interrupted by {signal_name}")
        self.signal_name = signal_name


@dataclasses.dataclass
class StopRequest:
    """The name of the first stop signal received (``SIGINT``/``SIGTERM``), if any."""

    signal_name: str | None = None

    def raise_if_requested(self) -> None:
        if self.signal_name is not None:
            raise TrainingInterrupted(self.signal_name)


@dataclasses.dataclass
class Progress:
    """The epoch in progress, kept current by a callback, for the interrupted line."""

    epoch: int


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Record SIGINT/SIGTERM in the yielded StopRequest while the block runs.

    Outside the main thread Python cannot install handlers; the block then runs with the
    existing ones (an interrupt still arrives as KeyboardInterrupt, where the main thread
    gets it).
    """
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        if request.signal_name is not None:
            raise KeyboardInterrupt
        request.signal_name = signal.Signals(signum).name

    previous = {sig: signal.signal(sig, handle) for sig in _SIGNALS}
    _BEFORE.update(previous)
    try:
        yield request
    finally:
        _BEFORE.clear()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
