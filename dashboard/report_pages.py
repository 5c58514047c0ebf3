"""The report's two pages, Markdown and HTML, from the same rows.

Tables are built once as (header, rows) of text and written twice, so the job
summary and the HTML page always show the same figures.  The HTML page is
self-contained: plotly.js is inlined once and each chart is a div, with no URL
that a browser would fetch, so it works from a CI artifact on an offline machine.

Run names are folder names and metric names are whatever a log printed, so every name
and value is escaped on its way out: Markdown-escaped in ``report.md`` (``|`` included,
so a table keeps its columns), HTML-escaped in ``report.html``, and ``<``, ``>``, ``&``
written as JSON unicode escapes in the data embedded in the page.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from dashboard.safe_text import escape_markdown
from parsers.humanize import summary_view

if TYPE_CHECKING:
    from dashboard.report import ReportContent

__all__ = ["delta_table", "html_page", "markdown_page", "summary_table", "tables"]

Table = tuple[list[str], list[list[str]]]
IMAGE_FOR_MARKDOWN = "png"


def summary_table(content: ReportContent) -> Table:
    """One column per run (baseline last), one row per line of ``parse-log``'s summary."""
    runs = list(content.runs) + ([content.baseline] if content.baseline else [])
    views = [summary_view(run.summary) for run in runs]
    labels = list(dict.fromkeys(label for view in views for label in view))
    header = [""] + [f"{r.name} (baseline)" if r is content.baseline else r.name for r in runs]
    return header, [[label] + [view.get(label, "-") for view in views] for label in labels]


def _value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.1f}"
    return f"{value:.4g}"


def _verdict(row: pd.Series) -> str:
    change = row["change"]
    if pd.isna(change) or change == 0:
        return "" if pd.isna(change) else "same"
    improved = (change < 0) == (row["better_when"] == "lower")
    return "better" if improved else "worse"


def delta_table(deltas: pd.DataFrame, *, run: str, baseline: str) -> Table:
    """Baseline, run, change and change % per metric, with which way is better."""
    header = ["metric", baseline, run, "change", "change %", ""]
    rows = []
    for _, row in deltas.iterrows():
        pct = "-" if pd.isna(row["change_pct"]) else f"{row['change_pct']:+.1f}%"
        change = "-" if pd.isna(row["change"]) else ("+" if row["change"] > 0 else "") + _value(row["change"])
        rows.append(
            [
                str(row["metric"]),
                _value(row["baseline"]),
                _value(row["candidate"]),
                change,
                pct,
                _verdict(row),
            ]
        )
    return header, rows


def _md_table(table: Table) -> str:
    header, rows = table
    cell = escape_markdown  # "|" escaped: GFM would split the cell there
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def tables(content: ReportContent) -> list[tuple[str, Table]]:
    """The pages' tables under their headings (plain text, escaped by each page): the summary,
    then each run against the baseline."""
    out = [("Summary", summary_table(content))]
    for name, deltas in content.deltas.items():
        heading = f"{name} compared with {content.baseline.name}"
        out.append((heading, delta_table(deltas, run=name, baseline=content.baseline.name)))
    return out


def markdown_page(content: ReportContent) -> str:
    """``report.md``: headings and tables only, images by relative path (the folder is the artifact)."""
    parts = [
        f"# {escape_markdown(content.title)}\n",
        _intro(content, path=escape_markdown, code=_md_code),
    ]
    for heading, table in tables(content):
        parts += [f"## {escape_markdown(heading)}\n", _md_table(table)]
    parts.append("## Charts\n")
    if content.images_note:
        parts.append(f"Images {content.images_note}. The interactive charts are in `report.html`.\n")
    for name, paths in content.images.items():
        image = paths.get(IMAGE_FOR_MARKDOWN) or next(iter(paths.values()))
        others = ", ".join(f"[{fmt.upper()}]({p.name})" for fmt, p in paths.items())
        title = html.unescape(content.figures[name].layout.title.text or name)  # plotly-escaped
        parts.append(f"![{escape_markdown(title)}]({image.name})\n\n{others}\n")
    if not content.figures:
        parts.append("No chart: the logs hold no loss, epoch time, throughput or eval records.\n")
    return "\n".join(parts)


def _intro(content: ReportContent, *, path: Callable[[str], str], code: Callable[[str], str]) -> str:
    """The sentence under the title; a run's path is shown by ``path`` (escaped: a folder name
    may be markup), the command's name by ``code``."""
    runs = ", ".join(path(str(r.source)) for r in content.runs)
    text = f"Written by {code('parse-log report')} (epochscope) from {runs}"
    if content.baseline:
        text += f", against the baseline {path(str(content.baseline.source))}"
    return text + ". Epoch-time means leave out the first (compile/warm-up) epoch.\n"


def _md_code(text: str) -> str:
    return f"`{text}`"


def _html_code(text: str) -> str:
    return f"<code>{html.escape(text)}</code>"


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1150px; margin: 2em auto; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.chart { margin: 1em 0 2em; }
.note { color: #8a4b00; }
"""


def _html_table(table: Table) -> str:
    header, rows = table
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure_div(name: str, figure: Any) -> str:
    return figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{name}",
        default_height="480px",
        config={"displaylogo": False, "responsive": True},
    )


def html_page(content: ReportContent, *, data: dict[str, Any]) -> str:
    """``report.html``: the same tables, the charts interactive, and ``summary.json`` embedded."""
    from plotly.offline import get_plotlyjs

    from parsers.table_files import to_jsonable

    body = [
        f"<h1>{html.escape(content.title)}</h1>",
        f"<p>{_intro(content, path=_html_code, code=_html_code).strip()}</p>",
    ]
    for heading, table in tables(content):
        body += [f"<h2>{html.escape(heading)}</h2>", _html_table(table)]
    body.append("<h2>Charts</h2>")
    body += [f'<div class="chart">{_figure_div(n, f)}</div>' for n, f in content.figures.items()]
    embedded = json.dumps(to_jsonable(data))
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):  # no "</script>", no "<!--"
        embedded = embedded.replace(char, code)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(content.title)}</title><style>{_STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>\n'
        + "\n".join(body)
        + f'\n<script type="application/json" id="epochscope-summary">{embedded}</script>\n'
        "</body></html>\n"
    )
