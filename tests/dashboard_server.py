"""A real ``streamlit run dashboard`` on a free localhost port, and Debian's Chromium to drive it.

Shared by the end-to-end tests and ``benchmarks/bench_dashboard.py``.  The server is started
from a temporary working directory, so the listening address proves that the config file
beside the app (``dashboard/.streamlit/config.toml``) applies wherever it is started from.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"


def chromium() -> str | None:
    """Debian's chromium (installed by ``.ci/run``), or None."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(runs_dir: Path, *, refresh_s: float = 1.0, timeout: float = 60.0) -> Iterator[tuple[str, int]]:
    """``streamlit run dashboard -- --runs DIR`` until the block ends; yields (url, pid)."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "dashboard"), "--server.headless", "true",
        "--server.port", str(port), "--", "--runs", str(runs_dir), "--refresh", str(refresh_s),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as cwd, open(Path(cwd) / "server.log", "w+") as log:
        path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "PYTHONPATH": path}
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_healthy(port, process, timeout)
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.seek(0)
            tail = log.read()[-3000:]
            if process.returncode not in (0, -15, None) and tail:
                print(tail)


def _wait_healthy(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as reply,
        ):
            if reply.status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"streamlit did not answer on port {port} within {timeout} s")


def listening_addresses(pid: int) -> set[str]:
    """The local addresses process ``pid`` listens on (TCP)."""
    import psutil

    return {
        c.laddr.ip for c in psutil.Process(pid).net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN
    }


def table_cells(page) -> list[str]:
    """Text of the runs table's cells, from the grid's accessible DOM (the grid itself is a canvas)."""
    return page.locator('[data-testid="stDataFrame"]').first.locator("[role=gridcell]").all_inner_texts()


def plot_traces(page, index: int = 0, timeout: float = 30_000) -> list[dict]:
    """name, meta, x and y of every trace of the ``index``-th plotly chart on the page (typed
    arrays, which plotly sends as ``{dtype, bdata}``, decoded).

    Waits for that chart to hold data and reads it in the same browser-side call: the live page
    reruns every few seconds and may swap in a fresh, not yet drawn chart between a separate
    wait and read (a CI run failed that way)."""
    handle = page.wait_for_function(
        """i => {
          const TYPES = {f8: Float64Array, f4: Float32Array, i1: Int8Array, u1: Uint8Array, i2: Int16Array,
                         u2: Uint16Array, i4: Int32Array, u4: Uint32Array};
          const decode = v => {
            if (!v) return [];
            if (!v.bdata) return Array.from(v);
            const bytes = Uint8Array.from(atob(v.bdata), c => c.charCodeAt(0));
            return Array.from(new TYPES[v.dtype](bytes.buffer));
          };
          const plot = Array.from(document.querySelectorAll('.js-plotly-plot'))[i];
          if (!plot || !plot.data) return null;
          return plot.data.map(t => ({name: t.name, meta: t.meta || {}, x: decode(t.x), y: decode(t.y)}));
        }""",
        arg=index,
        timeout=timeout,
    )
    return handle.json_value()
