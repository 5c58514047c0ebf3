"""A stop request that a signal handler can make without taking a lock.

The watcher sleeps between looks and between webhook retries, and SIGINT/SIGTERM must end
those sleeps.  A ``threading.Event`` set from the signal handler can deadlock: the handler
runs in the main thread between two bytecodes, and if that thread is inside ``Event.wait``
holding the event's lock, ``Event.set`` waits for that lock forever (the ``signal`` module's
documentation warns against locks in handlers; cpython#126434 is the same bug in
``multiprocessing.Event``).  CI saw a watcher that never stopped after SIGTERM.

So the request is a flag plus a byte written to a socket pair, and sleeping is ``select`` on
it (a socket, not a pipe: on Windows both ``select`` and ``set_wakeup_fd`` take sockets
only).  ``signal.set_wakeup_fd`` makes the interpreter's C-level handler write the byte as
soon as the signal arrives, in whichever thread receives it, so a sleep ends at once even
before the Python handler has run.
"""

from __future__ import annotations

import contextlib
import select
import signal
import socket
import threading
from collections.abc import Iterator

__all__ = ["StopRequest", "stopping_on_signals"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Set once to stop; ``wait(seconds)`` sleeps until then and says whether it is set."""

    def __init__(self) -> None:
        self._requested = False
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)  # set_wakeup_fd needs a non-blocking descriptor

    def set(self) -> None:
        """Ask to stop.  Lock-free, so it is safe in a signal handler."""
        self._requested = True
        with contextlib.suppress(OSError):  # a full buffer already wakes the sleeper
            self._write.send(b"\0")

    def is_set(self) -> bool:
        return self._requested

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds or until a stop is asked for; True when it was."""
        if self._requested:
            return True
        ready, _, _ = select.select([self._read], [], [], max(timeout, 0.0))
        if ready:  # only a stop request or a stop signal writes to the socket
            with contextlib.suppress(OSError):
                while self._read.recv(512):
                    pass
            self._requested = True
        return self._requested

    def close(self) -> None:
        self._read.close()
        self._write.close()

    def __enter__(self) -> StopRequest:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def wakeup_fd(self) -> int:
        """The descriptor for ``signal.set_wakeup_fd``."""
        return self._write.fileno()


@contextlib.contextmanager
def stopping_on_signals(stop: StopRequest) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` instead of killing the process mid-write.  Signals can only
    be handled in the main thread; elsewhere (the watcher run from a thread) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _SIGNALS}
    previous_fd = signal.set_wakeup_fd(stop.wakeup_fd(), warn_on_full_buffer=False)
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
