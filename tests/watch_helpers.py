"""Helpers of the ``parse-log watch`` tests: run folders of real lines, a watcher process, a webhook receiver.

Logs are real lines from ``tests/data`` (whole logs, or a log's lines written in steps),
the watcher is ``python -m parsers.cli watch`` as a real process, and webhooks go to a
real ``http.server`` on 127.0.0.1.  Nothing of epochscope is imported here: tests see
what a user sees (stdout lines, stderr lines, exit codes, HTTP bodies).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import DATA

REPO = Path(__file__).resolve().parent.parent
NAN_LOG = DATA / "mindspore-2.10-cpu" / "nan.log"
BASIC_LOG = DATA / "mindspore-2.10-cpu" / "basic.log"
FIT_LOG = DATA / "mindspore-2.10-cpu" / "fit.log"


def real_lines(path: Path) -> list[str]:
    """The lines of a real log, newlines kept."""
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def line_of(path: Path, needle: str) -> tuple[int, str]:
    """(1-based number, stripped text) of the first line of ``path`` containing ``needle``."""
    for number, line in enumerate(real_lines(path), 1):
        if needle in line:
            return number, line.strip()
    raise AssertionError(f"{needle!r} is not in {path}")


def run_folder(root: Path, name: str, lines: list[str], log: str = "train.log") -> Path:
    """``root/name/log`` holding ``lines``; returns the log's path."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / log
    path.write_text("".join(lines), encoding="utf-8")
    return path


def env() -> dict[str, str]:
    """The watcher's environment: this checkout first, nothing proxied on 127.0.0.1."""
    return {**os.environ, "PYTHONPATH": str(REPO), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}


def run_watch(*args: str | os.PathLike[str], timeout: float = 120) -> subprocess.CompletedProcess:
    """``parse-log watch ARGS`` to the end (``--once`` or bad input)."""
    return subprocess.run(
        [sys.executable, "-m", "parsers.cli", "watch", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env(),
        timeout=timeout,
    )


class Watcher:
    """``parse-log watch ARGS`` running in the background; its output lines collected as they come."""

    def __init__(self, *args: str | os.PathLike[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "parsers.cli", "watch", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env(),
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._new: queue.Queue[None] = queue.Queue()
        for stream, into in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, into), daemon=True).start()

    def _read(self, stream, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))
            self._new.put(None)

    def wait_for(self, ready: Callable[[], bool], timeout: float = 60) -> bool:
        """Wait until ``ready()`` holds (checked whenever a line arrives, and every second)."""
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline or (self.proc.poll() is not None and self._new.empty()):
                return ready()
            with contextlib.suppress(queue.Empty):
                self._new.get(timeout=1.0)
        return True

    def started(self, timeout: float = 60) -> bool:
        """The watcher said it is watching (its first look is done)."""
        return self.wait_for(lambda: any("watching" in line for line in self.err), timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        time.sleep(0.2)  # let the reader threads take the last lines
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def alerts(lines: list[str]) -> list[dict]:
    """The JSON alerts among stdout lines (``--json``)."""
    return [json.loads(line) for line in lines if line.startswith("{")]


class Receiver:
    """A real HTTP server on 127.0.0.1 that keeps every POST (path, headers, JSON body) and answers
    ``reply`` (what the chat tool would: DingTalk ``{"errcode":0,"errmsg":"ok"}``, Slack ``ok``)."""

    def __init__(self, reply: bytes = b'{"errcode":0,"errmsg":"ok"}') -> None:
        self.posts: list[dict] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a port bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
