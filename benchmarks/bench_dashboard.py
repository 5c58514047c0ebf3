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
same way on the three runs, written as event files by tensorboardX (its first scalar chart
drawn); whether it kept the planted spike is read from its own scalars API.

    python benchmarks/bench_dashboard.py [--opens 5] [--many 100] [--many-steps 100000]
                                         [--tensorboard PYTHON] [--skip-many]

Prints one JSON object; exits 1 when a ratio misses its target.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from dashboard_runs import SPIKE_LOSS, write_run  # noqa: E402
from dashboard_server import CHROMIUM_ARGS, chromium, free_port, serve  # noqa: E402

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
def serve_tensorboard(python: str, logdir: Path, runs: int) -> Iterator[str]:
    """``tensorboard --logdir`` with every run loaded (its scalars API lists them all)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as cwd:
        command = [python, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
                   "--port", str(port), "--reload_interval", "0"]  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        with _process(command, url, cwd):
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                with (
                    contextlib.suppress(OSError),
                    urllib.request.urlopen(f"{url}/data/plugin/scalars/tags") as r,
                ):
                    if len(json.loads(r.read())) >= runs:
                        break
                time.sleep(1)
            yield url


def tensorboard_events(logdir: Path, steps: dict[str, int]) -> None:
    """The three runs' losses as TensorBoard event files (tensorboardX), the spike included."""
    import warnings

    warnings.simplefilter("ignore")
    from tensorboardX import SummaryWriter

    for name in steps:
        table = RunStore(logdir.parent / "runs").table("steps", [name])
        writer = SummaryWriter(str(logdir / name), flush_secs=3600, max_queue=100_000)
        for step, loss in zip(table["global_step"].tolist(), table["loss"].tolist()):
            writer.add_scalar("loss", float(loss), int(step), walltime=1.7e9 + step * 0.1)
        writer.close()


def tensorboard_keeps_spike(url: str) -> bool:
    query = f"{url}/data/plugin/scalars/scalars?run={SPIKE_RUN}&tag=loss"
    with urllib.request.urlopen(query) as reply:
        return any(abs(value - SPIKE_LOSS) < 1e-3 * SPIKE_LOSS for _, _, value in json.loads(reply.read()))


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


def run_case(browser, root: Path, floor: str, opens: int, extra: Callable[[], dict] | None = None) -> dict:
    with serve(root, refresh_s=30.0) as (url, _pid):
        pages = {"floor": (floor, PLOTLY_DRAWN), "epochscope": (url, PLOTLY_DRAWN)}
        pages |= extra() if extra else {}
        return summary(side_by_side(browser, pages, opens))


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
        with contextlib.ExitStack() as stack:
            extra = None
            if args.tensorboard:
                logdir = three.parent / "tensorboard"
                tensorboard_events(logdir, THREE)
                board = stack.enter_context(serve_tensorboard(args.tensorboard, logdir, len(THREE)))
                result["tensorboard_keeps_spike"] = tensorboard_keeps_spike(board)

                def extra() -> dict:
                    return {"tensorboard": (f"{board}/#timeseries", TENSORBOARD_DRAWN)}

            result["three_runs"] = run_case(browser, three, floor, args.opens, extra)
        if not args.skip_many:
            many = Path(tmp) / "many" / "runs"
            steps = {f"run-{i:03d}": args.many_steps for i in range(args.many)}
            result["many_runs"] = {"runs": args.many, "steps_per_run": args.many_steps,
                                   "parse_s": round(write_runs(many, steps), 2)}  # fmt: skip
            result["many_runs"] |= run_case(browser, many, floor, args.opens)
        browser.close()
    result["targets"] = {"three_runs_ratio": THREE_TARGET, "many_runs_ratio": MANY_TARGET}
    print(json.dumps(result, indent=2))
    missed = result["three_runs"]["epochscope_ratio"] > THREE_TARGET
    missed |= "many_runs" in result and result["many_runs"]["epochscope_ratio"] > MANY_TARGET
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
