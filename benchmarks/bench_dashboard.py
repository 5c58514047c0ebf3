#!/usr/bin/env python3
"""Time to the first drawn chart of the Runs page, as a ratio to a minimal Streamlit page.

What the page costs beyond its framework is measured against a floor started by this script:
a minimal Streamlit page with one Plotly chart of three 3,000-point lines.  Side by side on
this machine, in one run (so both see the same load), each page is opened in a new tab of a
browser that has been there before (a new Streamlit session each, scripts cached) and timed
from ``page.goto`` until plotly has drawn a line of the first chart.  Two folders:

- three runs of 120,000 / 120,000 / 60,000 steps (one with a single-step loss spike): the
  Runs page's ratio to the floor, target at most ``THREE_TARGET`` (1.15x);
- ``--many`` runs of ``--many-steps`` steps (100 x 100,000: ten million loss records): the
  Runs page's ratio, target at most ``MANY_TARGET`` (1.5x).

The folders are parsed into the run store first, as after a user's first visit.  With
``--tensorboard PYTHON`` (an interpreter where ``pip install tensorboard`` worked, in a
throwaway venv: epochscope does not depend on it) TensorBoard's scalar dashboard is timed the
same way on the same runs (its first scalar card drawn), once it has loaded every run to its
last step; on the many runs the target is to be faster than it.  The losses are written as
event files here, framed and checksummed with numpy (ten million scalars in seconds, where a
writer that encodes one event at a time takes about 20 minutes); whether TensorBoard kept the
planted spike is read from its own scalars API.

    python benchmarks/bench_dashboard.py [--opens 5] [--many 100] [--many-steps 100000]
                                         [--tensorboard PYTHON] [--skip-many]

Prints one JSON object, with the load average at the end; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from dashboard_runs import SPIKE_LOSS, write_run  # noqa: E402
from dashboard_server import CHROMIUM_ARGS, chromium, free_port, serve  # noqa: E402

from parsers.events.crc32c import crc32c_many, masked  # noqa: E402
from parsers.store import RunStore  # noqa: E402

THREE_TARGET, MANY_TARGET = 1.15, 1.5
THREE = {"run-a": 120_000, "run-b": 120_000, "run-c": 60_000}
SPIKE_RUN, SPIKE_STEP = "run-b", 54_321
EPOCHS = 10
FLOOR_POINTS = 3_000
FLOOR_APP = f"""
import numpy as np
import plotly.graph_objects as go
import streamlit as st

x = np.arange({FLOOR_POINTS})
y = [(2.0 + i / 10) * np.exp(-x / 1000) + 0.05 * np.sin(x / 7) for i in range(3)]
st.plotly_chart(go.Figure([go.Scatter(x=x, y=y[i], mode="lines", name=f"run-{{i}}") for i in range(3)]))
"""
PLOTLY_DRAWN = """() => { const p = document.querySelector('.js-plotly-plot');
  return !!(p && p.querySelector('.scatterlayer .trace path.js-line')); }"""
# TensorBoard 2.x draws a scalar card's lines in a canvas (off the main thread), where a page
# cannot see them; the card's data table fills in from the same data as the lines are drawn.
TENSORBOARD_DRAWN = """() => { const card = document.querySelector('scalar-card');
  if (!card || !card.querySelector('line-chart canvas')) return false;
  const cells = Array.from(card.querySelectorAll('scalar-card-data-table tb-data-table-content-cell'));
  return cells.some(c => /\\d/.test(c.innerText));
}"""


def write_runs(root: Path, steps: dict[str, int], *, spike: str | None = None) -> float:
    """Run folders written with the training emitter's templates, parsed once; the parse's seconds."""
    for i, (name, total) in enumerate(steps.items()):
        write_run(root / name, epochs=EPOCHS, steps=total // EPOCHS, seed=i, start_loss=2.0 + i / 10,
                  spike=SPIKE_STEP if name == spike else None)  # fmt: skip
    start = time.perf_counter()
    RunStore(root).refresh()
    return time.perf_counter() - start


def _wait_http(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as reply:
            if reply.status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def _process(command: list[str], ready: str, cwd: str) -> Iterator[None]:
    with open(Path(cwd) / "server.log", "w") as log:
        env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_http(ready, process)
            yield
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.contextmanager
def serve_floor() -> Iterator[str]:
    """The minimal page: ``streamlit run`` of ``FLOOR_APP`` on a free localhost port."""
    port = free_port()
    with tempfile.TemporaryDirectory() as cwd:
        app = Path(cwd) / "floor.py"
        app.write_text(FLOOR_APP, encoding="utf-8")
        command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
                   "--server.address", "127.0.0.1", "--server.port", str(port),
                   "--browser.gatherUsageStats", "false"]  # fmt: skip
        with _process(command, f"http://127.0.0.1:{port}/_stcore/health", cwd):
            yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def serve_tensorboard(python: str, logdir: Path, last_steps: dict[str, int]) -> Iterator[str]:
    """``tensorboard --logdir`` once every run is loaded to its last step (its scalars API says so)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as cwd:
        command = [python, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
                   "--port", str(port), "--reload_interval", "0"]  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        with _process(command, url, cwd):
            waiting, deadline = dict(last_steps), time.monotonic() + 1200
            while waiting and time.monotonic() < deadline:
                for run, last in list(waiting.items()):
                    with contextlib.suppress(OSError, ValueError):
                        if _scalars(url, run)[-1][1] >= last:
                            del waiting[run]
                time.sleep(1 if waiting else 0)
            if waiting:
                raise TimeoutError(f"TensorBoard had not loaded {len(waiting)} run(s) in 20 minutes")
            yield url


def _scalars(url: str, run: str) -> list:
    """TensorBoard's (sampled) ``[wall_time, step, value]`` points of ``run``'s loss."""
    query = urllib.parse.urlencode({"run": run, "tag": "loss"})
    with urllib.request.urlopen(f"{url}/data/plugin/scalars/scalars?{query}", timeout=30) as reply:
        return json.loads(reply.read())


# TFRecord framing of an event file: each record is its length (u64), the length's masked CRC-32C,
# the serialized ``Event`` and the event's masked CRC-32C (tensorboard/summary/writer/record_writer.py).
# The checksums come from epochscope's own reader (``parsers.events.crc32c``); TensorBoard checks
# them when it loads the files, and the benchmark waits until it has every run's last step.


def masked_crc32c(rows: np.ndarray) -> np.ndarray:
    """The masked CRC-32C of each row of ``rows`` (n x k bytes), all rows in one numpy pass."""
    flat = np.ascontiguousarray(rows).ravel()
    width = rows.shape[1]
    starts = np.arange(len(rows), dtype=np.int64) * width
    return masked(crc32c_many(flat, starts, np.full(len(rows), width, dtype=np.int64)))


def _records(data: np.ndarray) -> np.ndarray:
    """Rows of serialized events (n x k bytes) framed as TFRecords, one row each."""
    length = np.full((len(data), 1), data.shape[1], dtype="<u8").view(np.uint8)
    head = masked_crc32c(length).astype("<u4")[:, None].view(np.uint8)
    tail = masked_crc32c(data).astype("<u4")[:, None].view(np.uint8)
    return np.hstack([length, head, data, tail])


def _varints(values: np.ndarray, width: int) -> np.ndarray:
    """``values`` (all needing ``width`` bytes) as protobuf varints, one row each."""
    shifts = np.arange(width, dtype=np.uint64) * np.uint64(7)
    out = ((values[:, None].astype(np.uint64) >> shifts) & np.uint64(0x7F)).astype(np.uint8)
    out[:, :-1] |= 0x80
    return out


def scalar_events(tag: str, steps: np.ndarray, values: np.ndarray, walltimes: np.ndarray) -> bytes:
    """An event file's bytes: the version record, then one ``Event{wall_time, step,
    summary{value{tag, simple_value}}}`` per point, in step order."""
    name = tag.encode()
    value = bytes([0x0A, len(name)]) + name  # Summary.Value.tag; simple_value (float) follows
    summary = bytes([0x0A, len(value) + 5]) + value  # Summary.value
    head = np.frombuffer(bytes([0x2A, len(summary) + 5]) + summary + b"\x15", dtype=np.uint8)  # Event.summary
    version = b"\x09" + struct.pack("<d", walltimes[0]) + b"\x1a\x0dbrain.Event:2"
    parts = [_records(np.frombuffer(version, dtype=np.uint8)[None, :])]
    width = np.ones(len(steps), dtype=int)
    for bits in (7, 14, 21, 28, 35, 42, 49):
        width += steps >= (1 << bits)
    for w in np.unique(width):  # ascending steps: each width is one block, in order
        rows = width == w
        n = int(rows.sum())
        data = np.hstack([
            np.full((n, 1), 0x09, np.uint8), walltimes[rows].astype("<f8")[:, None].view(np.uint8),
            np.full((n, 1), 0x10, np.uint8), _varints(steps[rows], int(w)),
            np.broadcast_to(head, (n, len(head))), values[rows].astype("<f4")[:, None].view(np.uint8),
        ])  # fmt: skip
        parts.append(_records(data))
    return b"".join(part.tobytes() for part in parts)


def tensorboard_events(logdir: Path, runs: Path, names: list[str]) -> dict[str, int]:
    """The runs' losses as TensorBoard event files (the spike included); each run's last step."""
    store, last = RunStore(runs), {}
    for name in names:
        table = store.table("steps", [name])
        steps = table["global_step"].to_numpy(dtype=np.int64)
        order = np.argsort(steps, kind="stable")
        steps, loss = steps[order], table["loss"].to_numpy(dtype=float)[order]
        folder = logdir / name
        folder.mkdir(parents=True, exist_ok=True)
        events = scalar_events("loss", steps, loss, 1.7e9 + steps * 0.1)
        (folder / "events.out.tfevents.1700000000.bench").write_bytes(events)
        last[name] = int(steps[-1])
    return last


def tensorboard_keeps_spike(url: str) -> bool:
    return any(abs(value - SPIKE_LOSS) < 1e-3 * SPIKE_LOSS for _, _, value in _scalars(url, SPIKE_RUN))


def time_open(context, url: str, drawn: str) -> float:
    """Seconds from navigation to the first drawn chart, in a new tab."""
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_function(drawn, timeout=120_000, polling=20)
        return time.perf_counter() - start
    finally:
        page.close()


def side_by_side(browser, pages: dict[str, tuple[str, str]], opens: int) -> dict[str, list[float]]:
    """Each page opened ``opens`` times, in turns (a warm-up open each first, not counted)."""
    contexts = {name: browser.new_context(viewport={"width": 1500, "height": 1300}) for name in pages}
    times: dict[str, list[float]] = {name: [] for name in pages}
    for round_ in range(opens + 1):
        for name, (url, drawn) in pages.items():
            seconds = time_open(contexts[name], url, drawn)
            if round_:
                times[name].append(seconds)
    for context in contexts.values():
        context.close()
    return times


def summary(times: dict[str, list[float]]) -> dict[str, float]:
    medians = {name: statistics.median(values) for name, values in times.items()}
    out = {f"{name}_median_s": round(m, 3) for name, m in medians.items()}
    out |= {f"{name}_best_s": round(min(times[name]), 3) for name in times}
    for name, m in medians.items():
        if name != "floor":
            out[f"{name}_ratio"] = round(m / medians["floor"], 3)
    return out


def run_case(browser, root: Path, floor: str, opens: int, board: str | None = None) -> dict:
    """The floor, epochscope's Runs page and (given its URL) TensorBoard on the runs of ``root``."""
    with serve(root, refresh_s=30.0) as (url, _pid):
        pages = {"floor": (floor, PLOTLY_DRAWN), "epochscope": (url, PLOTLY_DRAWN)}
        if board:
            pages["tensorboard"] = (f"{board}/#timeseries", TENSORBOARD_DRAWN)
        return summary(side_by_side(browser, pages, opens))


def case(browser, runs: Path, floor: str, opens: int, tensorboard: str | None) -> dict:
    """``run_case`` on ``runs``, with TensorBoard on the same runs when given an interpreter for it."""
    if not tensorboard:
        return run_case(browser, runs, floor, opens)
    logdir = runs.parent / "tensorboard"
    names = RunStore(runs).runs()["run"].tolist()
    start = time.perf_counter()
    last_steps = tensorboard_events(logdir, runs, names)
    result: dict = {"tensorboard_write_s": round(time.perf_counter() - start, 2)}
    start = time.perf_counter()
    with serve_tensorboard(tensorboard, logdir, last_steps) as board:
        result["tensorboard_load_s"] = round(time.perf_counter() - start, 2)
        if SPIKE_RUN in names:
            result["tensorboard_keeps_spike"] = tensorboard_keeps_spike(board)
        return result | run_case(browser, runs, floor, opens, board)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=5)
    parser.add_argument("--many", type=int, default=100)
    parser.add_argument("--many-steps", type=int, default=100_000)
    parser.add_argument("--skip-many", action="store_true")
    parser.add_argument("--tensorboard", metavar="PYTHON", help="an interpreter with tensorboard installed")
    args = parser.parse_args()
    path = chromium()
    if path is None:
        raise SystemExit("no chromium: install Debian's chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    result: dict = {"floor": f"minimal Streamlit page, one Plotly chart of 3 x {FLOOR_POINTS:,} points"}
    with tempfile.TemporaryDirectory() as tmp, serve_floor() as floor, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        three = Path(tmp) / "three" / "runs"
        result["three_parse_s"] = round(write_runs(three, THREE, spike=SPIKE_RUN), 2)
        result["three_runs"] = case(browser, three, floor, args.opens, args.tensorboard)
        if not args.skip_many:
            many = Path(tmp) / "many" / "runs"
            steps = {f"run-{i:03d}": args.many_steps for i in range(args.many)}
            result["many_runs"] = {"runs": args.many, "steps_per_run": args.many_steps,
                                   "parse_s": round(write_runs(many, steps), 2)}  # fmt: skip
            result["many_runs"] |= case(browser, many, floor, args.opens, args.tensorboard)
        browser.close()
    result["load_average"] = [round(x, 1) for x in os.getloadavg()]
    result["targets"] = {"three_runs_ratio": THREE_TARGET, "many_runs_ratio": MANY_TARGET,
                         "many_runs": "faster than TensorBoard"}  # fmt: skip
    print(json.dumps(result, indent=2))
    return 0 if all(met(result).values()) else 1


def met(result: dict) -> dict[str, bool]:
    """Each target: the ratios to the floor, and on the many runs beating TensorBoard if it ran."""
    out = {"three_runs": result["three_runs"]["epochscope_ratio"] <= THREE_TARGET}
    many = result.get("many_runs")
    if many:
        out["many_runs"] = many["epochscope_ratio"] <= MANY_TARGET
        if "tensorboard_median_s" in many:
            out["many_runs_vs_tensorboard"] = many["epochscope_median_s"] < many["tensorboard_median_s"]
    return out


if __name__ == "__main__":
    sys.exit(main())
