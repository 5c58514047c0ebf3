#!/usr/bin/env python3
"""Time from opening the dashboard to an interactive page, with 20 runs of 100,000 steps.

The runs (10 epochs x 10,000 steps each, written with the training emitter's line
templates) are parsed into the run store once, as a user's folder would be after the
first visit; then ``streamlit run dashboard`` is started on a free localhost port and
headless Chromium opens the page.  The clock runs from ``page.goto`` until the runs table
shows its rows and the overlaid loss chart has drawn the preselected runs (plotly's SVG
lines present).  Reported: the first open after the server starts (its first script run
imports pandas, plotly, DuckDB...), an open from a browser with an empty cache, and the
best and median of ``--opens`` opens of a new tab in a browser that has been there before
(a new Streamlit session each, the page's scripts cached) -- the case of a person who
keeps the dashboard at hand.

    python benchmarks/bench_dashboard.py [--runs 20] [--steps 100000] [--opens 5]

Prints one JSON object; exits 1 when the median open of a new tab takes more than 3 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from dashboard_runs import write_run  # noqa: E402
from dashboard_server import CHROMIUM_ARGS, chromium, serve  # noqa: E402

from parsers.store import RunStore  # noqa: E402

TARGET_S = 3.0
EPOCHS = 10
VISIBLE_ROWS = 8  # the grid renders the rows on screen only; the first ones stand for the table
READY = """([n, visible]) => {
  const cells = Array.from(document.querySelectorAll('[data-testid=stDataFrame] [role=gridcell]'));
  const names = new Set(cells.map(c => c.innerText));
  let listed = 0;
  for (let i = 0; i < n; i++) if (names.has('run-' + String(i).padStart(2, '0'))) listed++;
  const plot = document.querySelector('.js-plotly-plot');
  const drawn = plot && plot.data && plot.querySelectorAll('.scatterlayer .trace path.js-line').length > 0;
  return listed >= Math.min(n, visible) && drawn;
}"""


def make_runs(root: Path, *, runs: int, steps: int) -> float:
    """Write the runs and parse them into the store once; returns the seconds the parse took."""
    for i in range(runs):
        write_run(
            root / f"run-{i:02d}", epochs=EPOCHS, steps=steps // EPOCHS, seed=i, start_loss=2.0 + i / 10
        )
    start = time.perf_counter()
    RunStore(root).refresh()
    return time.perf_counter() - start


def time_open(context, url: str, runs: int) -> float:
    """Seconds from navigation to the runs table and the loss chart being on screen (a new tab)."""
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_function(READY, arg=[runs, VISIBLE_ROWS], timeout=60_000, polling=50)
        return time.perf_counter() - start
    finally:
        page.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--opens", type=int, default=5)
    args = parser.parse_args()
    path = chromium()
    if path is None:
        raise SystemExit("no chromium: install Debian's chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runs"
        parse_s = make_runs(root, runs=args.runs, steps=args.steps)
        with serve(root) as (url, _pid), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            viewport = {"width": 1500, "height": 1300}
            first = time_open(browser.new_context(viewport=viewport), url, args.runs)
            cold = time_open(browser.new_context(viewport=viewport), url, args.runs)
            context = browser.new_context(viewport=viewport)
            opens = [time_open(context, url, args.runs) for _ in range(args.opens + 1)][1:]
            browser.close()
    result = {
        "runs": args.runs,
        "steps_per_run": args.steps,
        "store_first_parse_s": round(parse_s, 2),
        "first_open_s": round(first, 2),
        "open_empty_browser_cache_s": round(cold, 2),
        "open_best_s": round(min(opens), 2),
        "open_median_s": round(statistics.median(opens), 2),
        "target_s": TARGET_S,
    }
    print(json.dumps(result, indent=2))
    return 0 if statistics.median(opens) <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
