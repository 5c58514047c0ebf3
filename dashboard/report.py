"""``parse-log report``: a folder of CI artifacts for one or more runs.

Writes ``summary.json`` (the figures, as data), ``report.md`` (tables and image
links; reads well appended to a GitHub job summary), ``report.html`` (one
self-contained interactive page, plotly.js inlined, works offline) and a PNG and
an SVG of each chart that has data.  Images need a browser (``dashboard.images``);
without one the rest is still written and the result says why images are missing.
Nothing is uploaded anywhere: artifacts stay files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard import charts, curves
from dashboard.images import ImageExportError, export_images
from dashboard.report_pages import html_page, markdown_page
from parsers.compare import best_evals, compare
from parsers.runs import Run
from parsers.schema import LOG_TABLES
from parsers.table_files import to_jsonable

__all__ = ["CHARTS", "ReportContent", "report_figures", "write_report"]

MARKDOWN, HTML, JSON = "report.md", "report.html", "summary.json"


Tables = dict[str, dict[str, pd.DataFrame]]  # {table: {run name: frame}}, as the dashboard reads them


@dataclass(frozen=True)
class Chart:
    """A chart of the report: its title, the table it draws, and the builder the dashboard uses too."""

    title: str
    table: str
    column: str | None  # the chart is drawn only when some run has a value in this column
    build: Callable[..., go.Figure]  # (tables, *, baseline) -> figure
    whole: bool = False  # the builder takes every table (``Tables``), not ``{run: table}``

    def figure(self, tables: Tables, *, baseline: str | None) -> go.Figure:
        return self.build(tables if self.whole else tables[self.table], baseline=baseline)


CHARTS: dict[str, Chart] = {
    "loss": Chart("Training loss", "steps", "loss", curves.loss_figure, whole=True),
    "epoch_time": Chart("Epoch time", "epochs", "epoch_time_ms", charts.epoch_time_figure),
    "throughput": Chart("Throughput", "epochs", "samples_per_sec", charts.throughput_figure),
    "eval": Chart("Evaluation metrics", "evals", "value", charts.eval_figure),
}


@dataclass
class ReportContent:
    """Everything the pages show, computed once: runs, baseline, deltas, images."""

    title: str
    runs: list[Run]
    baseline: Run | None
    deltas: dict[str, pd.DataFrame]  # run name -> compare() deltas against the baseline
    figures: dict[str, go.Figure]
    images: dict[str, dict[str, Path]]
    images_note: str | None


def report_figures(runs: Sequence[Run], baseline: Run | None = None) -> dict[str, go.Figure]:
    """The charts that have data, with the baseline drawn first in grey."""
    shown = ([baseline] if baseline else []) + list(runs)
    tables = {table: {run.name: getattr(run.log, table) for run in shown} for table in LOG_TABLES}
    figures = {}
    for name, chart in CHARTS.items():
        if any(t[chart.column].notna().any() for t in tables[chart.table].values() if len(t)):
            figures[name] = chart.figure(tables, baseline=baseline.name if baseline else None)
    return figures


def write_report(
    runs: Sequence[Run], *, out_dir: Path, baseline: Run | None = None, title: str | None = None
) -> dict[str, str]:
    """Write the report files into ``out_dir``; returns what was written (and why images were not)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if baseline is not None and baseline.name in {r.name for r in runs}:
        baseline.name = f"{baseline.name}-baseline"
    figures = report_figures(runs, baseline)
    try:
        images, note = (export_images(figures, out_dir) if figures else {}), None
    except ImageExportError as exc:
        images, note = {}, f"not written: {exc}"
    content = ReportContent(
        title=title or ", ".join(r.name for r in runs),
        runs=list(runs),
        baseline=baseline,
        deltas={
            r.name: compare(baseline.log, r.log, summaries=(baseline.summary, r.summary)).deltas for r in runs
        }
        if baseline
        else {},
        figures=figures,
        images=images,
        images_note=note,
    )
    (out_dir / JSON).write_text(json.dumps(to_jsonable(report_data(content)), indent=2) + "\n", "utf-8")
    (out_dir / MARKDOWN).write_text(markdown_page(content), "utf-8")
    (out_dir / HTML).write_text(html_page(content, data=report_data(content)), "utf-8")
    return _manifest(content, out_dir)


def _run_data(run: Run) -> dict[str, Any]:
    return {
        "name": run.name,
        "source": str(run.source),
        "summary": run.summary,
        "best_evals": best_evals(run.log.evals),
        "hparams": run.hparams,
    }


def report_data(content: ReportContent) -> dict[str, Any]:
    """The content of ``summary.json``: each run's ``parsers.summarize`` plus deltas and image paths."""
    return {
        "title": content.title,
        "runs": [_run_data(r) for r in content.runs],
        "baseline": _run_data(content.baseline) if content.baseline else None,
        "deltas": {name: _records(frame) for name, frame in content.deltas.items()},
        "images": {name: {fmt: p.name for fmt, p in paths.items()} for name, paths in content.images.items()},
        "images_note": content.images_note,
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _manifest(content: ReportContent, out_dir: Path) -> dict[str, str]:
    images = ", ".join(f"{name} ({'+'.join(paths)})" for name, paths in content.images.items())
    return {
        "markdown": str(out_dir / MARKDOWN),
        "html": str(out_dir / HTML),
        "json": str(out_dir / JSON),
        "images": content.images_note or images or "none (no chart has data)",
        "runs": ", ".join(r.name for r in content.runs),
        "baseline": content.baseline.name if content.baseline else "-",
    }
