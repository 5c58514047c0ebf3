"""Delivering an alert: stdout, ``--exec CMD`` and ``--webhook URL``, each on its own.

A delivery that fails (a command exiting non-zero, a webhook unreachable after its
retries) is reported on stderr as one ``watch:`` line and the others still happen: the
watcher never stops because a chat server is down.  ``--exec`` runs the command the user
typed, split like a shell would (``shlex``) but never through one; the alert reaches it as
JSON on stdin and as ``EPOCHSCOPE_*`` environment variables, so text from a log is only
ever data.  The command's own output goes to stderr, keeping stdout one alert per line.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from parsers.watch.errors import WatchError
from parsers.watch.message import alert_env, one_line
from parsers.watch.webhook import DeliveryError, check_url, post_alert

__all__ = ["EXEC_TIMEOUT_S", "Delivery", "exec_argv"]

EXEC_TIMEOUT_S = 60.0


def exec_argv(command: str) -> list[str]:
    """``--exec`` split into argv (quotes as in a shell); ``WatchError`` when it names nothing."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise WatchError(f"--exec {command!r}: {exc}") from None
    if not argv:
        raise WatchError("--exec needs a command")
    return argv


@dataclass
class Delivery:
    """Where alerts go.  ``wait(seconds)`` sleeps between webhook retries and says whether the
    watcher is stopping."""

    style: str = "text"  # "text": one line per alert; "json": one JSON object per line
    exec_argv: list[str] | None = None
    webhook: str | None = None
    webhook_format: str = "json"
    wait: Callable[[float], bool] = lambda seconds: False
    out: TextIO | None = None
    err: TextIO | None = None

    def __post_init__(self) -> None:
        if self.webhook is not None:
            check_url(self.webhook)

    def send(self, record: dict[str, Any]) -> bool:
        """Deliver one alert everywhere; False when some delivery failed (already reported)."""
        self._print(record)
        ok = True
        if self.exec_argv:
            ok &= self._attempt(record, "--exec", self._exec)
        if self.webhook:
            ok &= self._attempt(record, "--webhook", self._post)
        return ok

    def _print(self, record: dict[str, Any]) -> None:
        out = self.out or sys.stdout
        text = json.dumps(record, ensure_ascii=False) if self.style == "json" else one_line(record)
        print(text, file=out, flush=True)

    def _attempt(self, record: dict[str, Any], sink: str, deliver: Callable[[dict[str, Any]], None]) -> bool:
        try:
            deliver(record)
            return True
        except DeliveryError as exc:
            err = self.err or sys.stderr
            print(
                f"watch: alert {record['run']} {record['rule']} not delivered to {sink}: {exc}",
                file=err,
                flush=True,
            )
            return False

    def _exec(self, record: dict[str, Any]) -> None:
        assert self.exec_argv is not None
        err = self.err or sys.stderr
        fd = _fileno(err)
        try:
            done = subprocess.run(
                self.exec_argv,
                input=json.dumps(record, ensure_ascii=False).encode("utf-8"),
                env={**os.environ, **alert_env(record)},
                stdout=fd if fd is not None else subprocess.PIPE,
                timeout=EXEC_TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError:
            raise DeliveryError(f"{self.exec_argv[0]}: command not found") from None
        except (OSError, subprocess.SubprocessError) as exc:
            raise DeliveryError(f"{self.exec_argv[0]}: {exc}") from None
        if done.stdout:
            err.write(done.stdout.decode("utf-8", "replace"))
        if done.returncode != 0:
            raise DeliveryError(f"{shlex.join(self.exec_argv)} exited with {done.returncode}")

    def _post(self, record: dict[str, Any]) -> None:
        assert self.webhook is not None
        post_alert(self.webhook, record, preset=self.webhook_format, wait=self.wait)


def _fileno(stream: TextIO) -> int | None:
    """The stream's file descriptor, flushed, for a child to write to; None for an in-memory one."""
    try:
        stream.flush()
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None
