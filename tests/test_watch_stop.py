"""Stopping the watcher: SIGINT/SIGTERM end its sleeps at once, whichever thread the signal hits.

The process-level tests in ``test_watch.py`` send SIGTERM to a real watcher; these pin the
two ways a stop used to be late or lost, in process, where the thread that receives the
signal can be chosen.
"""

from __future__ import annotations

import signal
import threading
import time

from parsers.watch.stopping import StopRequest, stopping_on_signals


def _signal_a_worker_thread(sig: int, after_s: float) -> threading.Thread:
    """Deliver ``sig`` to a thread other than the main one (as the kernel may: DuckDB and Arrow
    start threads of their own), after ``after_s`` seconds."""
    parked = threading.Event()
    worker = threading.Thread(target=parked.wait, daemon=True)
    worker.start()

    def fire() -> None:
        time.sleep(after_s)
        signal.pthread_kill(worker.ident, sig)
        time.sleep(0.5)
        parked.set()

    sender = threading.Thread(target=fire, daemon=True)
    sender.start()
    return sender


def test_a_signal_caught_by_another_thread_ends_the_sleep_at_once() -> None:
    with StopRequest() as stop, stopping_on_signals(stop):
        sender = _signal_a_worker_thread(signal.SIGTERM, after_s=0.3)
        started = time.monotonic()
        assert stop.wait(30.0) is True
        slept = time.monotonic() - started
        sender.join()
        assert slept < 5.0, f"slept {slept:.1f} s of a 30 s look after SIGTERM"
        assert stop.is_set() and stop.wait(30.0) is True  # a stop stays asked for


def test_sigint_stops_too_and_the_handlers_are_given_back() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with StopRequest() as stop:
        with stopping_on_signals(stop):
            signal.raise_signal(signal.SIGINT)  # Ctrl-C: no KeyboardInterrupt, a stop
            assert stop.wait(30.0) is True
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_without_a_stop_the_sleep_lasts_its_time() -> None:
    with StopRequest() as stop:
        started = time.monotonic()
        assert stop.wait(0.3) is False
        assert time.monotonic() - started >= 0.29
        assert not stop.is_set()
