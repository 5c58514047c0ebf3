"""End to end, live monitoring: the alert banner, alert markers on the curves, the ranks column and
the Ranks view, in a real ``streamlit run dashboard`` driven by Debian's Chromium.

The runs folder holds a live run that crashed on a NaN loss (a real log, just written) and a
generated 8-rank mindformers job (``test_ranks.eight_ranks``: rank 5 slow, rank 3 stopped
after 7 of 19 steps).  Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import time

import pytest
from dashboard_server import ARTIFACTS, plot_traces, serve, table_cells
from test_ranks import SLOW, STOP_AT, STOPPED, eight_ranks
from watch_helpers import NAN_LOG, line_of, real_lines, run_folder

from parsers.store import RunStore

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")

TIMEOUT_MS = 30_000
JOB, CRASHED = "job8", "crashed"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("live") / "runs"
    eight_ranks(root / JOB)
    log = run_folder(root, CRASHED, real_lines(NAN_LOG))
    now = time.time()
    os.utime(log, (now, now))
    RunStore(root).refresh()
    return root


@pytest.fixture(scope="module")
def server(runs_dir):
    with serve(runs_dir, refresh_s=30.0) as (url, pid):
        yield url, pid


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    page.close()


def open_view(page, server, path: str = "") -> None:
    page.goto(f"{server[0]}/{path}")
    page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stMultiSelect"]')


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1500, "height": 2300})
    page.wait_for_timeout(1200)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def texts(page) -> list[str]:
    return page.locator('[data-testid="stText"]').all_inner_texts()


def test_the_banner_names_the_crash_and_the_lagging_rank(page, server):
    open_view(page, server)
    page.get_by_text(re.compile(r"\d+ alerts on 2 runs")).wait_for()
    page.wait_for_function(  # the alerts' text blocks follow the warning
        "n => Array.from(document.querySelectorAll('[data-testid=stText]')).filter(t => /^(crashed|job8) /.test(t.innerText)).length >= n",
        arg=3,
    )
    shown = texts(page)
    number, text = line_of(NAN_LOG, "ValueError: In epoch")
    assert f"{CRASHED}  crashed" in "\n".join(shown) and f"line {number}: {text}" in "\n".join(shown)
    lag = next(t for t in shown if t.startswith(f"{JOB}  rank-lag=15%"))
    assert f"rank {SLOW}:" in lag
    shot(page, "alert-banner")


def test_the_runs_table_flags_the_job_with_a_lagging_and_a_stopped_rank(page, server):
    open_view(page, server)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('[data-testid=stDataFrame] [role=gridcell]'))"
        ".some(c => c.innerText.startsWith('8 ranks'))"
    )
    flag = next(c for c in table_cells(page) if c.startswith("8 ranks"))
    assert f"rank {SLOW} lags" in flag and f"rank {STOPPED} stopped first" in flag


def test_the_curves_carry_the_alert_markers(page, server):
    open_view(page, server)
    page.wait_for_function(
        "() => { const p = document.querySelector('.js-plotly-plot');"
        " return p && p.data && p.data.some(t => t.meta && t.meta.role === 'alert'); }"
    )
    flags = {
        t["meta"]["run"]: sorted(t["meta"]["rules"])
        for t in plot_traces(page)
        if t["meta"].get("role") == "alert"
    }
    assert flags == {CRASHED: ["crashed", "nan"], JOB: ["rank-lag=15%"]}


def test_the_ranks_view_shows_each_rank_and_the_last_lines_of_the_one_that_stopped(page, server, runs_dir):
    open_view(page, server, f"run?run={JOB}")
    page.get_by_role("heading", name="Ranks").wait_for()
    page.get_by_text(f"rank {STOPPED} stopped first").first.wait_for()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('[data-testid=stDataFrame] [role=gridcell]'))"
        ".some(c => c.innerText === 'rank_7.log')"
    )
    cells = page.locator('[data-testid="stDataFrame"]').first.locator("[role=gridcell]").all_inner_texts()
    assert [f"rank_{r}.log" in cells for r in range(8)] == [True] * 8, cells
    code = page.locator('[data-testid="stCode"]').first.inner_text()
    last = real_lines(runs_dir / JOB / f"rank_{STOPPED}.log")[-1].strip()
    assert f"{STOP_AT:>7}  {last}" in code
    assert not page.locator('[data-testid="stException"]').count()
    shot(page, "ranks")
