"""Summary / event file runs on the dashboard: beside text-log runs, any recorded tag as the metric.

The library part draws curves of recorded tags from a real tensorboardX file; the end-to-end
part starts ``streamlit run dashboard`` on a folder with a text-log run, a TensorBoard-only
run and a file that is named like an event file but is not one, and drives it with Chromium.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from dashboard_server import CHROMIUM_ARGS, chromium, plot_traces, serve, table_cells

from dashboard import series
from parsers.runs import load_run
from tests.test_events import LOG_LINE, write_run, written

TEXT, EVENTS, BAD = "text-log", "tensorboard-only", "not-events"
TIMEOUT_MS = 30_000


def test_every_recorded_tag_is_a_metric_drawn_by_step_epoch_and_wall_time(tmp_path: Path) -> None:
    write_run(tmp_path / "tb", range(1, 41))
    log = load_run(tmp_path / "tb").log
    metrics = series.metrics_of(log.steps, log.epochs, log.evals, log.scalars)
    assert {"loss", "lr", "tag:train/loss", "tag:grad_norm", "tag:eval/acc", "eval:acc"} <= set(metrics)
    assert metrics["tag:grad_norm"].title == "tag grad_norm"
    axes = series.step_axes(log.steps, log.epochs)
    by_step = series.curve(
        log.steps, log.epochs, log.evals, metric="tag:grad_norm", x="step", scalars=log.scalars
    )
    assert by_step["x"].tolist() == list(range(1, 41))
    assert by_step["y"].tolist() == [written(s, "grad_norm")[0] for s in range(1, 41)]
    hours = series.curve(
        log.steps, log.epochs, log.evals, metric="tag:grad_norm", x="time", axes=axes, scalars=log.scalars
    )
    first = min(written(1, tag)[1] for tag in ("train/loss", "train/lr", "grad_norm"))
    expected = [(written(s, "grad_norm")[1] - first) / 3600.0 for s in range(1, 41)]
    np.testing.assert_allclose(hours["x"].to_numpy(), expected, rtol=1e-9)
    assert series.metrics_of(log.steps, log.epochs, log.evals) == {
        k: m for k, m in metrics.items() if not k.startswith("tag:")
    }  # without scalars (a text log): no tags


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    write_run(root / EVENTS, range(1, 41))
    (root / TEXT).mkdir()
    lines = [
        LOG_LINE.format(epoch=(s - 1) // 10 + 1, step=(s - 1) % 10 + 1, loss=repr(2.0 / s))
        for s in range(1, 61)
    ]
    (root / TEXT / "train.log").write_text("\n".join(lines) + "\n")
    (root / BAD).mkdir()
    (root / BAD / "events.out.tfevents.1700000000.host").write_bytes(bytes(range(256)) * 8)
    return root


@pytest.fixture(scope="module")
def served(runs_dir):
    """(url, a Chromium page on it)."""
    playwright = pytest.importorskip("playwright.sync_api")
    path = chromium()
    if path is None:
        pytest.skip("no Chromium here (.ci/run installs Debian's chromium)")
    with serve(runs_dir, refresh_s=1.0) as (url, _), playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        page.set_default_timeout(TIMEOUT_MS)
        yield url, page
        browser.close()


@pytest.fixture
def page(served):
    url, page = served
    page.goto(url)
    # the first open of a fresh server imports the app and refreshes the store: slow on a busy machine
    page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stMultiSelect"]', timeout=3 * TIMEOUT_MS)
    return page


def wait_runs(page, runs: set[str]) -> None:
    page.wait_for_function(
        """runs => { const p = document.querySelector('.js-plotly-plot');
                     if (!p || !p.data) return false;
                     const drawn = new Set(p.data.filter(t => t.meta && t.meta.role === 'raw').map(t => t.meta.run));
                     return drawn.size === runs.length && runs.every(r => drawn.has(r)); }""",
        arg=sorted(runs),
    )


def raw_traces(page) -> dict[str, dict]:
    return {t["meta"]["run"]: t for t in plot_traces(page) if t["meta"].get("role") == "raw"}


@pytest.mark.e2e
def test_a_summary_only_run_and_a_text_log_run_overlaid_and_any_tag_as_the_metric(page) -> None:
    select = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first
    select.get_by_role("button", name=re.compile("clear", re.I)).first.click()
    for run in (TEXT, EVENTS):
        select.locator("input").click()
        select.locator("input").fill(run)
        page.get_by_role("option", name=run, exact=True).click()
    page.keyboard.press("Escape")
    wait_runs(page, {TEXT, EVENTS})  # the loss of both, in one chart
    traces = raw_traces(page)
    assert traces[EVENTS]["y"] == [written(s, "train/loss")[0] for s in range(1, 41)]
    assert traces[TEXT]["x"] == list(range(1, 61))
    metric = page.locator('[data-testid="stSelectbox"]').filter(has_text="Metric")
    metric.click()
    page.get_by_role("option", name="tag grad_norm", exact=True).click()
    page.wait_for_function(
        """() => { const p = document.querySelector('.js-plotly-plot');
                   return p && p.layout && JSON.stringify(p.layout.title || '').includes('grad_norm'); }"""
    )
    traces = raw_traces(page)
    assert traces[EVENTS]["x"] == list(range(1, 41))
    assert traces[EVENTS]["y"] == [written(s, "grad_norm")[0] for s in range(1, 41)]
    assert not traces.get(TEXT, {}).get("x")  # the text log recorded no such tag: nothing drawn


@pytest.mark.e2e
def test_a_file_named_like_an_event_file_that_is_not_one_is_an_error_row(page) -> None:
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=stDataFrame] [role=gridcell]').length > 10"
    )
    cells = table_cells(page)
    row = cells[cells.index(BAD) :][:8]
    assert any(c.endswith("error") for c in row) and any("not a TensorBoard event file" in c for c in row)


@pytest.mark.e2e
def test_the_run_page_of_a_summary_only_run_draws_its_curves(served) -> None:
    url, page = served
    page.goto(f"{url}/run?run={EVENTS}")
    page.wait_for_selector(".js-plotly-plot")
    page.wait_for_timeout(1500)  # the rest of the page, events and downloads included
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("scalars", exact=False).count() > 0  # the long table is downloadable
