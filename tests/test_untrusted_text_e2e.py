"""Issue 12, finding 7 in the browser: a real ``streamlit run dashboard`` and Debian's Chromium.

The runs folder holds runs whose folder names and eval metric names are Markdown and HTML
(an image, an ``<img onerror>``, bold, a link), a hyperparameter key and value of the same
kind, and a YAML alias bomb beside one log.  Every page is visited; each text must show
literally, no element may be an image or link made from it, no script may run, and a
request listener proves the browser asked no host but the dashboard's own for anything.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlparse

import pytest
from dashboard_server import ARTIFACTS, serve
from test_config_caps import ALIAS_BOMB
from test_untrusted_text import BOLD, IMAGE, LINK, TAG, hostile_log

from dashboard.safe_text import WORD_JOINER
from parsers.store import RunStore

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")

TIMEOUT_MS = 30_000
# A folder name cannot hold "/": these run names are nested folders, as run names may be.
# "http:/host/x" is what a browser would fetch for an image with that address.
RUN_IMAGE = "![px](http:/example.invalid/px.png)"
RUN_TAG = f"{TAG} {BOLD}"
RUN_LINK = "[link](http:/example.invalid)"
RUNS = {RUN_TAG: [TAG, BOLD, LINK], RUN_IMAGE: [IMAGE], RUN_LINK: [LINK]}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for run, metrics in RUNS.items():
        folder = root / run
        hostile_log(folder / "train.log", metrics=metrics)
        values = {TAG: f"{BOLD} {len(metrics)}", "lr": len(metrics) / 10, "optimizer": LINK}
        (folder / "hparams.json").write_text(json.dumps(values))
    (root / RUN_LINK / "hparams.json").unlink()
    (root / RUN_LINK / "config.yaml").write_text(ALIAS_BOMB)
    RunStore(root).refresh()
    return root


@pytest.fixture(scope="module")
def server(runs_dir):
    with serve(runs_dir, refresh_s=1.0) as (url, _pid):
        yield url


@pytest.fixture
def page(browser):
    """A page that records every request it makes and every dialog a script opens."""
    page = browser.new_page(viewport={"width": 1500, "height": 1600})
    page.set_default_timeout(TIMEOUT_MS)
    page.requests, page.dialogs = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    page.close()


def visit(page, server: str, path: str, *, shows: list[str], ready: str) -> str:
    """Open ``path``, wait until ``ready`` is drawn and every text of ``shows`` is on the page;
    return the page's text (word joiners, which ``streamlit_text`` adds, taken out)."""
    page.goto(f"{server}/{path}")
    page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stMultiSelect"]')
    page.wait_for_selector(ready)
    page.wait_for_function(
        """([texts, joiner]) => { const shown = document.body.innerText.replaceAll(joiner, '');
                                  return texts.every(t => shown.includes(t)); }""",
        arg=[shows, WORD_JOINER],
    )
    page.wait_for_timeout(800)  # late fragments and charts
    assert not page.locator('[data-testid="stException"]').count()
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"\W+", "-", path).strip("-")[:40] or "runs"
    page.screenshot(path=str(ARTIFACTS / f"untrusted-{name}.png"), full_page=True)
    return page.inner_text("body").replace(WORD_JOINER, "")


def assert_inert(page) -> None:
    """No image, link or bold text made from a name; no script ran; no request left the machine."""
    images = page.eval_on_selector_all("img", "els => els.map(e => e.getAttribute('src') || '')")
    assert not [src for src in images if "example.invalid" in src or src == "x"], images
    links = page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href') || '')")
    assert not [href for href in links if "example.invalid" in href or href.startswith("mailto")], links
    bold = page.eval_on_selector_all("strong, b", "els => els.map(e => e.textContent)")
    assert "bold" not in bold
    assert page.dialogs == []
    hosts = {urlparse(url).hostname for url in page.requests if not url.startswith(("data:", "blob:"))}
    assert hosts <= LOCAL_HOSTS, [u for u in page.requests if urlparse(u).hostname not in LOCAL_HOSTS]


def chart_texts(page) -> str:
    """The text plotly drew (titles, legends, ticks), entities already resolved by the browser."""
    return " ".join(page.locator(".js-plotly-plot").all_text_contents())


def test_runs_page(page, server):
    text = visit(page, server, "", shows=[RUN_TAG, RUN_IMAGE], ready=".js-plotly-plot")
    assert RUN_LINK in text
    page.wait_for_function("() => document.querySelector('.js-plotly-plot .legend')")
    assert RUN_TAG in chart_texts(page)
    assert_inert(page)


@pytest.mark.parametrize("run", list(RUNS))
def test_run_details_page(page, server, run):
    metrics = RUNS[run]
    text = visit(page, server, f"run?run={quote(run)}", shows=[run, metrics[0]], ready=".js-plotly-plot")
    cards = " ".join(page.locator('[data-testid="stMetric"]').all_inner_texts()).replace(WORD_JOINER, "")
    assert re.search(rf"best eval\s+{re.escape(metrics[0])} ", cards)  # the card that made the image
    page.wait_for_function("n => document.querySelectorAll('.js-plotly-plot').length >= n", arg=len(metrics))
    charts = chart_texts(page)
    assert all(f"eval {m}" in charts for m in metrics)
    if run == RUN_LINK:  # the alias bomb beside its log: refused, and the page says which cap
        assert "config.yaml not read" in text and "over the alias cap" in text
    assert_inert(page)


def test_hyperparameters_page(page, server):
    text = visit(page, server, "hparams", shows=[RUN_LINK], ready=".js-plotly-plot")
    assert f"{RUN_LINK}: log; config.yaml not read:" in text or f"{RUN_LINK}: config.yaml not read:" in text
    assert "over the alias cap" in text
    # a hyperparameter key as an axis label, literally: whole, or cut short with "…" (the whole
    # key is on hover); either way its markup shows as characters, never as an element
    labels = chart_texts(page)
    assert TAG in labels or any(f"{TAG[:cut]}…" in labels for cut in range(10, len(TAG))), labels
    assert_inert(page)


def test_cost_page(page, server):
    visit(page, server, "cost", shows=["Cost per run"], ready='[data-testid="stDataFrame"]')
    assert_inert(page)


def test_upload_page(page, server, runs_dir):
    visit(page, server, "upload", shows=[str(runs_dir)], ready='[data-testid="stFileUploader"]')
    assert_inert(page)
