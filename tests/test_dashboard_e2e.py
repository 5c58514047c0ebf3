"""End to end: ``streamlit run dashboard`` on a temporary runs folder, driven by Debian's Chromium.

The folder holds real logs, a broken log, a 100,000-step run with one planted loss spike
and a run whose log grows while the page is open.  A screenshot of each view is saved to
``test-artifacts/`` for a person to look at.
"""

from __future__ import annotations

import re

import pytest
from dashboard_runs import BROKEN, SPIKE_LOSS, append_epoch, copy_real_runs, write_run
from dashboard_server import (
    ARTIFACTS,
    listening_addresses,
    plot_traces,
    serve,
    table_cells,
)

from dashboard.first_draw import LIMIT_MS
from parsers.store import RunStore

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")

SPIKE_STEP = 54_321
LONG, LIVE = "long-100k", "live"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    root = copy_real_runs(tmp_path_factory.mktemp("runs"))
    write_run(root / LONG, epochs=10, steps=10_000, spike=SPIKE_STEP, seed=3)
    write_run(root / LIVE, epochs=5, steps=200, done=2, seed=4)  # written last: the most recent
    RunStore(root).refresh()  # "already parsed once", as in the speed requirement
    return root


@pytest.fixture(scope="module")
def server(runs_dir):
    with serve(runs_dir, refresh_s=1.0) as (url, pid):
        yield url, pid


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    page.close()


def open_view(page, server, path: str = "") -> None:
    page.goto(f"{server[0]}/{path}")
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stMultiSelect"]')


def wait_runs_table(page) -> list[str]:
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=stDataFrame] [role=gridcell]').length > 10"
    )
    return table_cells(page)


def wait_chart(page) -> list[dict]:
    page.wait_for_function(
        "() => { const p = document.querySelector('.js-plotly-plot'); return p && p.data; }"
    )
    return plot_traces(page)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1500, "height": 2300})  # the app scrolls inside: show it all
    page.wait_for_timeout(1200)  # let plotly resize and finish its transition before the picture
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def drawn_runs(traces: list[dict]) -> set[str]:
    return {t["meta"].get("run") for t in traces if t["meta"].get("role") == "raw"}


def test_server_listens_on_localhost_only(server):
    assert listening_addresses(server[1]) == {"127.0.0.1"}


def test_runs_table_lists_the_runs_and_the_chart_renders(page, server, runs_dir):
    open_view(page, server)
    cells = wait_runs_table(page)
    for run in ("quickstart", "fit", LONG, LIVE, BROKEN):
        assert run in cells
    traces = wait_chart(page)
    assert LIVE in drawn_runs(traces) and LONG in drawn_runs(traces)  # most recent, preselected
    shot(page, "runs")


FIRST_SEEN = """(() => {
  const seen = window.__firstSeen = {};
  const marks = {line: '.js-plotly-plot .scatterlayer .trace path.js-line',
                 grid: '[data-testid=stDataFrame] [role=gridcell]',
                 filter: 'input[aria-label^="Filter by name"]'};
  const look = () => { for (const [name, css] of Object.entries(marks))
    if (!(name in seen) && document.querySelector(css)) seen[name] = performance.now(); };
  new MutationObserver(look).observe(document, {childList: true, subtree: true});
})();"""


def test_a_new_tab_draws_the_chart_first_then_the_whole_page(page, server):
    page.add_init_script(FIRST_SEEN)
    open_view(page, server)
    wait_runs_table(page)
    page.get_by_role("button", name=re.compile("Scale, smoothing, markers")).wait_for()
    seen = page.wait_for_function(
        "() => { const s = window.__firstSeen; return s.filter && s; }"
    ).json_value()
    # The table and the filters wait in the browser for the chart's first line, or LIMIT_MS at most.
    line = seen.get("line", float("inf"))  # a chart not drawn within LIMIT_MS holds nothing back
    for later in ("grid", "filter"):
        assert line <= seen[later] or seen[later] >= LIMIT_MS, seen


def test_a_broken_log_shows_its_error_row(page, server):
    open_view(page, server)
    cells = wait_runs_table(page)
    row = cells[cells.index(BROKEN) :][:6]
    assert any("error" in c for c in row) and any("no records of any known format" in c for c in row)


def test_selecting_two_runs_overlays_them(page, server):
    open_view(page, server)
    wait_chart(page)
    select = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first
    select.get_by_role("button", name=re.compile("clear", re.I)).first.click()
    for run in ("quickstart", "fit"):
        select.locator("input").click()  # the selection reruns the app and takes the focus away
        select.locator("input").fill(run)
        page.get_by_role("option", name=run, exact=True).click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        """() => { const p = document.querySelector('.js-plotly-plot');
                   if (!p || !p.data) return false;
                   const runs = new Set(p.data.filter(t => t.meta && t.meta.role === 'raw').map(t => t.meta.run));
                   return runs.size === 2 && runs.has('quickstart') && runs.has('fit'); }"""
    )
    assert drawn_runs(plot_traces(page)) == {"quickstart", "fit"}
    shot(page, "two-runs")


def test_the_planted_spike_is_in_the_charts_data(page, server):
    open_view(page, server)
    traces = wait_chart(page)
    raw = next(t for t in traces if t["meta"].get("role") == "raw" and t["meta"].get("run") == LONG)
    assert 0 < len(raw["y"]) <= 1100  # downsampled for the browser...
    at = [x for x, y in zip(raw["x"], raw["y"]) if y == SPIKE_LOSS]
    assert at == [SPIKE_STEP]  # ...yet the single-step spike is there
    page.get_by_role("button", name=re.compile("Scale, smoothing, markers")).click()
    page.get_by_text("Ignore outliers in y range").wait_for()
    shot(page, "chart-options")


def test_a_growing_log_shows_the_new_epoch(page, server, runs_dir):
    open_view(page, server)
    cells = wait_runs_table(page)
    assert "2 / 5" in cells[cells.index(LIVE) :][:6]
    append_epoch(runs_dir / LIVE / "train.log", 3, 200, seed=4)
    page.wait_for_function(
        """run => { const cells = Array.from(document.querySelectorAll('[data-testid=stDataFrame] [role=gridcell]'))
                      .map(c => c.innerText);
                    const i = cells.indexOf(run);
                    return i >= 0 && cells.slice(i, i + 6).includes('3 / 5'); }""",
        arg=LIVE,
        timeout=20_000,
    )
    shot(page, "live")


@pytest.mark.parametrize(
    ("view", "ready"),
    [
        ("hparams", ".js-plotly-plot"),
        ("cost", '[data-testid="stDataFrame"]'),
        (f"run?run={LONG}", ".js-plotly-plot"),
        ("run?run=nan", '[data-testid="stCode"]'),
        ("upload", '[data-testid="stFileUploader"]'),
    ],
)
def test_every_view_renders_without_an_exception(page, server, view, ready):
    open_view(page, server, view)
    page.wait_for_selector(ready)
    page.wait_for_timeout(500)
    assert not page.locator('[data-testid="stException"]').count()
    shot(page, re.sub(r"\W+", "-", view).strip("-"))
