"""Issue 12, finding 7: text from logs and folder names is shown as text, never as markup.

An eval metric named ``![px](https://example.invalid/px.png)`` became an image in the run page's
"best eval" card and the browser fetched it; ``report.md`` put run and metric names out raw, so
``<img onerror=...>`` and links went to GitHub as HTML and a ``|`` in a run name broke the Summary
table.  Here: the escaping helpers, every plotly figure builder, and ``parse-log report`` on runs
whose folder and metric names are hostile.  The browser side is ``test_untrusted_text_e2e.py``.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from dashboard import charts
from dashboard.charts import escape_plotly
from dashboard.curves import curve_figure, loss_figure
from dashboard.figures import cost_figure, parallel_figure
from dashboard.report import write_report
from dashboard.safe_text import WORD_JOINER, escape_markdown, streamlit_text
from parsers.runs import load_runs
from parsers.schema import LOG_TABLES
from training.log_lines import EVAL_RESULT, RUN_FINISHED, RUN_START, STEP_LOSS

IMAGE = "![px](http://example.invalid/px.png)"
TAG = "<img src=x onerror=alert(1)>"
BOLD = "**bold**"
LINK = "[link](http://example.invalid)"
METRICS = [IMAGE, TAG, BOLD, LINK, "a|b", ":red[red] :material/home:", "$x^2$"]
# Folder names cannot hold "/": these are the payloads a folder can carry.
FOLDERS = [f"{TAG} {BOLD}", "pipe|name", "[link](mailto:x@example.invalid)"]


def hostile_log(path: Path, *, epochs: int = 3, metrics: list[str] = METRICS) -> Path:
    """A log in the training emitter's own line templates whose eval metrics are named by ``metrics``."""
    lines = [RUN_START.format(epochs=epochs)]
    for epoch in range(1, epochs + 1):
        lines += [STEP_LOSS.format(epoch=epoch, step=s, loss=2.0 / (epoch * s)) for s in range(1, 5)]
        lines.append(
            EVAL_RESULT.format(epoch=epoch, metrics={m: round(0.5 + epoch / 10, 2) for m in metrics})
        )
    lines.append(RUN_FINISHED.format(seconds=epochs * 10.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", [*METRICS, *FOLDERS, "half_batch", "- item", "1. one", "a -> b", "&lt;b&gt;"]
)
def test_markdown_escape_keeps_every_character(text):
    """Dropping the added backslashes (and joiners) gives the text back: nothing is lost or changed."""
    assert re.sub(r"\\(.)", r"\1", escape_markdown(text)) == text
    assert re.sub(r"\\(.)", r"\1", streamlit_text(text)).replace(WORD_JOINER, "") == text


def test_markdown_escape_leaves_no_markup():
    escaped = escape_markdown(f"{IMAGE} {TAG} {LINK} {BOLD} :material/home: $x$ a|b")
    unescaped_specials = re.findall(r"(?<!\\)[\[\]<>*|:$!]", escaped)
    assert unescaped_specials == []
    assert escape_markdown("half_batch") == "half_batch"  # intraword "_" is no emphasis
    assert escape_markdown("_x_") == r"\_x\_"
    assert escape_markdown("- item").startswith(r"\-") and escape_markdown("3. x").startswith(r"3\.")
    assert escape_markdown("line\nbreak\r# heading") == r"line break \# heading"


def test_streamlit_text_stops_what_streamlit_rewrites_after_escapes():
    """remark-gfm links URLs and e-mail addresses found in the unescaped text, and Streamlit turns
    ``:material/x:`` into icons and `` -> `` into arrows: a word joiner sits in each."""
    text = streamlit_text("see http://example.invalid www.example.invalid a@example.invalid")
    assert f"{WORD_JOINER}http" in text and f"{WORD_JOINER}www" in text and f"a{WORD_JOINER}\\@" in text
    assert f":{WORD_JOINER}material/" in streamlit_text(":material/home:")
    assert f"-{WORD_JOINER}\\>" in streamlit_text("a -> b")


def test_plotly_escape():
    assert escape_plotly(TAG) == "&lt;img src=x onerror=alert(1)&gt;"
    assert escape_plotly("a & <b>") == "a &amp; &lt;b&gt;"


# --- the figure builders ----------------------------------------------------------------------


def rendered_strings(fig) -> list[str]:
    """Every string plotly draws as text: names, titles, tick and hover text, annotations
    (not ``meta``/``legendgroup``, which it never shows)."""
    found: list[str] = []

    def walk(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                if k not in ("meta", "legendgroup", "uid"):
                    walk(v, k)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key not in ("hovertemplate", "mode", "type", "xref", "yref"):
            found.append(value)

    walk(fig.to_plotly_json())
    return found


def assert_no_markup(fig, payloads):
    strings = rendered_strings(fig)
    assert not [s for s in strings if "<" in s or ">" in s], "raw tag characters reach plotly"
    shown = " ".join(html.unescape(s) for s in strings)
    assert all(p in shown for p in payloads), "each name is still shown (escaped)"
    templates = [t.get("hovertemplate") or "" for t in fig.to_plotly_json()["data"]]
    assert not [t for t in templates if TAG in t or IMAGE in t]


def test_every_figure_builder_escapes_names(tmp_path):
    log = hostile_log(tmp_path / "run" / "train.log")
    import parsers

    parsed = parsers.parse_log(log)
    steps = {TAG: parsed.steps, BOLD: parsed.steps}
    evals = {TAG: parsed.evals}
    for fig in (
        loss_figure({t: dict.fromkeys(steps, getattr(parsed, t)) for t in LOG_TABLES}, baseline=BOLD),
        charts.eval_figure(evals),
        charts.epoch_time_figure({TAG: parsed.epochs}),
    ):
        assert_no_markup(fig, [TAG])
    curve = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [1.0, 1e6, 1.0, float("nan")]})
    events = pd.DataFrame({"x": [2.0], "kind": ["error"], "message": [f"RuntimeError {TAG}"]})
    fig = curve_figure(
        {TAG: curve},
        title=f"eval {IMAGE}",
        x_title="step",
        y_title=TAG,
        per_step=True,
        events={TAG: events},
    )
    assert_no_markup(fig, [TAG, IMAGE])
    table = pd.DataFrame({TAG: ["**a**", "<b>b</b>"], "lr": [0.1, 0.2], "best acc": [0.5, 0.6]})
    assert_no_markup(parallel_figure(table, color="best acc"), [TAG, "<b>b</b>"])
    costs = pd.DataFrame({"run": [TAG, BOLD], "cost_so_far": [1.0, 2.0], "cost_projected": [2.0, 3.0]})
    assert_no_markup(cost_figure(costs, currency="<i>EUR</i>"), [TAG, "<i>EUR</i>"])


# --- parse-log report -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """``write_report`` (what ``parse-log report`` calls) on runs with hostile folder and metric names."""
    root = tmp_path_factory.mktemp("runs")
    folders = [hostile_log(root / name / "train.log").parent for name in FOLDERS]
    runs = load_runs(folders[1:])
    baseline = load_runs(folders[:1])[0]
    out = tmp_path_factory.mktemp("report")
    write_report(runs, out_dir=out, baseline=baseline, title=f"Nightly {LINK}")
    return out, [r.name for r in runs] + [baseline.name]


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of every table row, split where GFM splits them (at a "|" with no backslash before)."""
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    return [re.split(r"(?<!\\)\|", row.strip())[1:-1] for row in rows]


def test_report_markdown_tables_keep_their_columns(report):
    out, names = report
    assert "pipe|name" in names
    text = (out / "report.md").read_text(encoding="utf-8")
    tables = text.split("\n\n")
    for block in (b for b in tables if b.startswith("|")):
        widths = {len(cells) for cells in table_rows(block)}
        assert len(widths) == 1, block  # header, rule and every row: the same number of cells
    header = next(line for line in text.splitlines() if line.startswith("|  |"))
    assert len(table_rows(header)[0]) == 1 + len(names)


def test_report_markdown_has_no_raw_markup(report):
    out, _ = report
    text = (out / "report.md").read_text(encoding="utf-8")
    assert not re.search(r"(?<!\\)[<>]", text)  # no tag: every "<" and ">" is backslashed
    assert "**bold**" not in text and r"\*\*bold\*\*" in text
    # The only links and images are the report's own chart files.
    targets = re.findall(r"(?<!\\)\]\((?P<target>[^)]*)\)", text)
    assert targets and all(not t.startswith(("http", "mailto")) and (out / t).is_file() for t in targets)
    assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\((?:http|mailto)", text)
    # Every metric name still appears, escaped.
    assert all(escape_markdown(m) in text for m in METRICS)


def test_report_html_has_no_raw_markup(report):
    out, names = report
    page = (out / "report.html").read_text(encoding="utf-8")
    body = page.split("</head>", 1)[1]  # the head holds plotly.js itself
    assert TAG not in page and "<img" not in body and "<b>" not in body
    assert html.escape(TAG, quote=False) in body
    embedded = re.search(
        r'<script type="application/json" id="epochscope-summary">(.*?)</script>', page, re.S
    )
    assert "<" not in embedded[1]  # names inside the JSON cannot end the script or open a comment
    assert {r["name"] for r in json.loads(embedded[1])["runs"]} == set(names[:-1])
