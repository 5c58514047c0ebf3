"""End to end, as a new user tries it: a real sweep of four digits runs (``python -m training
sweep``, MindSpore on the CPU), then the Hyperparameters page in a real Streamlit server and
Debian's Chromium.  The parallel coordinates have an axis for each key the sweep varied and
for the results -- none for run information (name, start time, command, sweep point, versions,
paths, derived sizes) -- with short labels holding the full key on hover.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from dashboard_server import ARTIFACTS, CHROMIUM_ARGS, REPO, chromium, serve

from parsers.insights.run_info import is_run_info
from parsers.store import RunStore

pytestmark = [pytest.mark.e2e, pytest.mark.training]
playwright = pytest.importorskip("playwright.sync_api")
pytest.importorskip("mindspore")

GRID = {"lr_max": ("0.05", "0.2"), "seed": ("1", "2")}
TINY = {"dataset": "digits", "width_multiplier": 0.125, "image_size": 16, "batch_size": 64, "epoch_size": 1,
        "mode_name": "PYNATIVE", "warmup_epochs": 0}  # fmt: skip


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep") / "runs"
    sets = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]
    grid = [arg for key, values in GRID.items() for arg in ("--grid", f"{key}={','.join(values)}")]
    command = [sys.executable, "-m", "training", "sweep", "--config", "training/configs/digits.yaml",
               *sets, *grid, "--runs-dir", str(root), "--name", "digits-sweep"]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    RunStore(root).refresh()
    return root


@pytest.fixture(scope="module")
def page(runs_dir):
    path = chromium()
    if path is None:
        pytest.skip("no Chromium here (.ci/run installs Debian's chromium)")
    with serve(runs_dir) as (url, _), playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        page.set_default_timeout(60_000)
        page.goto(f"{url}/hparams")
        page.wait_for_function(
            "() => { const p = document.querySelector('.js-plotly-plot');"
            " return p && p.data && p.data[0].type === 'parcoords'; }"
        )
        yield page
        browser.close()


def test_parallel_coordinates_have_no_run_information_axis(page):
    axes = page.evaluate(
        "() => document.querySelector('.js-plotly-plot').data[0].dimensions.map(d => d.name)"
    )
    assert axes[:2] == ["lr_max", "seed"], axes
    assert [a for a in axes if is_run_info(a)] == []
    assert set(axes[2:]) <= {"min loss", "last loss", "best eval"}
    hovers = page.evaluate(
        "() => document.querySelector('.js-plotly-plot').layout.annotations.map(a => a.hovertext)"
    )
    assert hovers == axes
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-hparams-sweep.png"), full_page=True)


def test_run_information_is_listed_apart(page):
    page.get_by_text("Run information").first.click()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('[data-testid=stDataFrame] [role=columnheader]'))"
        ".some(c => c.innerText.includes('start_time'))"
    )
    assert not page.locator('[data-testid="stException"]').count()


def test_the_sidebar_names_the_sweep_runs_by_their_point(page):
    chips = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.inner_text()
    assert "digits-sweep" not in chips
    assert any(f"lr_max={lr}-seed={s}" in chips for lr in GRID["lr_max"] for s in GRID["seed"]), chips


def test_the_colour_bar_spans_the_results_and_no_axis_repeats_a_label(page):
    """As seen in a screenshot: min losses of 0.15..0.18 under a colour bar reading -0.2..0.6, and
    each numeric axis writing its end values twice (a tick there, and plotly's range text)."""
    drawn = page.evaluate(
        """() => {
          const plot = document.querySelector('.js-plotly-plot');
          const texts = sel => Array.from(plot.querySelectorAll(sel)).map(t => t.textContent.trim());
          return {
            colorbar: texts('.colorbar .cbaxis text, .colorbar text.ytick'),
            axes: Array.from(plot.querySelectorAll('.parcoords .axis')).map(a => ({
              ticks: Array.from(a.querySelectorAll('.tick text')).map(t => t.textContent.trim()),
              ends: Array.from(a.parentNode.querySelectorAll('.axis-extent text')).map(t => t.textContent.trim()),
            })),
            color: plot.data[0].line.color,
            title: plot.data[0].line.colorbar.title.text,
          };
        }"""
    )
    results = [v for v in drawn["color"] if v is not None]
    shown = [float(t.replace("\u2212", "-")) for t in drawn["colorbar"] if t]
    assert shown, drawn["colorbar"]
    span = max(results) - min(results) or abs(min(results))
    assert min(results) - 0.01 * span <= min(shown) and max(shown) <= max(results) + 0.01 * span, (
        shown,
        results,
    )
    for axis in drawn["axes"]:
        labels = axis["ticks"] + [e for e in axis["ends"] if e]
        assert len(labels) == len(set(labels)), axis
