"""Chart builders: tables in, plotly figures out -- one definition per chart for report and dashboard.

Every builder is a pure function of ``{run name: table}`` (tables as returned by
``parsers.parse_log``) and returns a ``go.Figure``; nothing here reads files,
saves, or shows anything, and only plotly, pandas and numpy are imported so the
Streamlit pages and ``parse-log report`` draw identical pictures.

Here: the per-epoch charts (epoch time, throughput, evaluation) and the look every chart
shares (``run_style``, ``run_label``, ``apply_layout``, ``empty_figure``).  The loss chart
-- the report's and the dashboard's alike -- is ``dashboard.curves.loss_figure``: smoothed
line, raw values faint behind, the compile epoch marked.

Long runs are downsampled explicitly (``DEFAULT_MAX_POINTS``) by keeping the lowest
and highest value of each bucket of consecutive steps, so a single-step spike among
1.7 million steps stays visible.  Run and metric names come from folders and logs, and
plotly reads tags in every string it draws: each is escaped (``escape_plotly``, used by
``curves`` and ``figures`` too).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = [
    "DEFAULT_MAX_POINTS",
    "LOG_SCALE_RATIO",
    "NONFINITE_COLOR",
    "apply_layout",
    "downsample_extremes",
    "empty_figure",
    "epoch_time_figure",
    "escape_plotly",
    "eval_figure",
    "run_label",
    "run_style",
    "throughput_figure",
]

# Points per run on the report's loss chart; about two per horizontal pixel of a wide screen.
DEFAULT_MAX_POINTS = 4000
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("solid", "dash", "dot", "dashdot")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x")
BASELINE_COLOR = "#7F7F7F"
NONFINITE_COLOR = "#C00000"
FONT_SIZE = 15
# Wide enough to tell dash patterns apart once GitHub scales a 2x PNG down to ~880 px.
LINE_WIDTH = 2.5
# Eval traces with at most this many points print their values next to the markers.
EVAL_LABEL_POINTS = 6
# A loss range wider than this (max/min) is drawn on a log axis.
LOG_SCALE_RATIO = 100.0

Runs = Mapping[str, pd.DataFrame]


def downsample_extremes(frame: pd.DataFrame, *, y: str, max_points: int = DEFAULT_MAX_POINTS) -> pd.DataFrame:
    """At most about ``max_points`` rows: per bucket of consecutive rows, those with the lowest and
    highest finite ``y``, plus the first and last row. Order is kept; short tables are returned as is."""
    n = len(frame)
    if n <= max_points:
        return frame
    buckets = max(max_points // 2, 1)
    size = -(-n // buckets)
    padded = np.full(buckets * size, np.nan)
    padded[:n] = frame[y].to_numpy(dtype=float, na_value=np.nan)
    grid = padded.reshape(buckets, size)
    finite = np.isfinite(grid)
    starts = np.arange(buckets) * size
    low = starts + np.where(finite, grid, np.inf).argmin(axis=1)
    high = starts + np.where(finite, grid, -np.inf).argmax(axis=1)
    has = finite.any(axis=1)
    keep = np.unique(np.concatenate([low[has], high[has], [0, n - 1]]))
    return frame.iloc[keep[keep < n]]


def run_style(index: int, name: str, baseline: str | None) -> dict:
    """Colour, dash and marker of run ``index``; the baseline is grey and long-dashed."""
    if name == baseline:
        return {"color": BASELINE_COLOR, "dash": "longdash", "symbol": "circle-open"}
    return {
        "color": PALETTE[index % len(PALETTE)],
        "dash": DASHES[index % len(DASHES)],
        "symbol": SYMBOLS[index % len(SYMBOLS)],
    }


def escape_plotly(text: object) -> str:
    """``text`` for a plotly string (trace name, title, axis or tick label, hover text): plotly
    reads ``<b>``, ``<br>``, ``<a href>`` and entities there, so ``&``, ``<`` and ``>`` become
    entities, which it draws as the characters.  (``html.escape`` without quotes, written out so
    this module keeps importing plotting and data libraries only.)"""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def run_label(name: str, baseline: str | None) -> str:
    """A run's legend entry, escaped for plotly."""
    return escape_plotly(f"{name} (baseline)" if name == baseline else name)


def _one_rank(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of the lowest rank only: ranks of one job print near-identical curves that would zigzag."""
    if "rank" not in table or not table["rank"].notna().any():
        return table
    return table[table["rank"] == table["rank"].min()]


def apply_layout(fig: go.Figure, *, title: str, x: str, y: str) -> go.Figure:
    """The shared look; ``title`` and the axis titles are plain text (escaped here)."""
    title, x, y = escape_plotly(title), escape_plotly(x), escape_plotly(y)
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.01, "xanchor": "left"},
        font={"size": FONT_SIZE},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        margin={"l": 80, "r": 30, "t": 90, "b": 70},
        hovermode="x unified",
    )
    fig.update_xaxes(title_text=x, showline=True, linecolor="#444", mirror=False, zeroline=False)
    fig.update_yaxes(title_text=y, showline=True, linecolor="#444", zeroline=False)
    return fig


def _integer_ticks(fig: go.Figure, top: float, **where: int) -> None:
    """Epochs are whole numbers: ticks every 1, 2, 5, 10, ... so no label repeats."""
    step = 1
    while top / step > 12:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2
    fig.update_xaxes(tick0=0, dtick=step, **where)


def empty_figure(fig: go.Figure, message: str) -> go.Figure:
    fig.add_annotation(
        text=message,
        showarrow=False,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        font={"size": FONT_SIZE + 2, "color": "#666"},
    )
    return fig


def _epoch_lines(
    fig: go.Figure, epochs: Runs, column: str, *, baseline: str | None, scale: float = 1.0
) -> int:
    """One line+marker trace per run of ``column`` against epoch; returns how many points were drawn."""
    drawn, top = 0, 1.0
    for i, (name, table) in enumerate(epochs.items()):
        rows = _one_rank(table).dropna(subset=["epoch", column]).sort_values("epoch")
        style = run_style(i, name, baseline)
        fig.add_trace(
            go.Scatter(
                x=rows["epoch"].astype(float).tolist(),
                y=(rows[column].astype(float) * scale).tolist(),
                mode="lines+markers",
                name=run_label(name, baseline),
                line={"color": style["color"], "dash": style["dash"], "width": LINE_WIDTH},
                marker={"symbol": style["symbol"], "size": 8, "color": style["color"]},
            )
        )
        drawn += len(rows)
        top = max([top, *rows["epoch"].astype(float).tolist()])
    _integer_ticks(fig, top)
    return drawn


def _time_unit(epochs: Runs) -> tuple[str, float]:
    """Seconds for epochs that take seconds or more, else milliseconds (a CPU smoke run is ~40 ms)."""
    times = pd.concat([t["epoch_time_ms"] for t in epochs.values()]) if epochs else pd.Series(dtype=float)
    median = times.dropna().median() if times.notna().any() else 0.0
    return ("s", 1e-3) if median >= 1000.0 else ("ms", 1.0)


def epoch_time_figure(epochs: Runs, *, baseline: str | None = None) -> go.Figure:
    """Training time of each epoch (the first includes graph compilation on Ascend/GRAPH mode)."""
    unit, scale = _time_unit(epochs)
    fig = go.Figure()
    drawn = _epoch_lines(fig, epochs, "epoch_time_ms", baseline=baseline, scale=scale)
    apply_layout(fig, title="Epoch time (epoch 1 includes compilation)", x="epoch", y=f"epoch time ({unit})")
    return fig if drawn else empty_figure(fig, "no epoch time lines")


def throughput_figure(epochs: Runs, *, baseline: str | None = None) -> go.Figure:
    """Samples per second of each epoch, as printed or computed from batch size and step time."""
    fig = go.Figure()
    drawn = _epoch_lines(fig, epochs, "samples_per_sec", baseline=baseline)
    apply_layout(fig, title="Throughput", x="epoch", y="throughput (samples/s)")
    return fig if drawn else empty_figure(fig, "no throughput lines")


def eval_figure(evals: Runs, *, baseline: str | None = None) -> go.Figure:
    """One panel per eval metric, value against epoch, one line per run."""
    metrics = list(dict.fromkeys(m for t in evals.values() for m in t["metric"].dropna().tolist()))
    if not metrics:
        return empty_figure(
            apply_layout(go.Figure(), title="Evaluation", x="epoch", y="value"), "no eval results"
        )
    cols = min(len(metrics), 3)
    rows = -(-len(metrics) // cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[escape_plotly(m) for m in metrics],
        horizontal_spacing=0.08,
        vertical_spacing=0.18,
    )
    for i, (name, table) in enumerate(evals.items()):
        style = run_style(i, name, baseline)
        for k, metric in enumerate(metrics):
            part = _one_rank(table)
            part = part[part["metric"] == metric].sort_values("line")
            x = part["epoch"].astype(float)
            x = x.fillna(x.max() if x.notna().any() else 1.0)  # a final eval that names no epoch
            labelled = len(part) <= EVAL_LABEL_POINTS
            fig.add_trace(
                go.Scatter(
                    x=x.tolist(),
                    y=part["value"].astype(float).tolist(),
                    mode="lines+markers+text" if labelled else "lines+markers",
                    text=[f"{v:.4g}" for v in part["value"].astype(float)] if labelled else None,
                    textposition="top center",
                    name=run_label(name, baseline),
                    legendgroup=name,
                    showlegend=k == 0,
                    line={"color": style["color"], "dash": style["dash"], "width": LINE_WIDTH},
                    marker={"symbol": style["symbol"], "size": 9, "color": style["color"]},
                ),
                row=k // cols + 1,
                col=k % cols + 1,
            )
    apply_layout(fig, title="Evaluation", x="epoch", y="value")
    fig.update_layout(legend={"y": 1.1}, margin={"t": 120})
    top = max([1.0, *(float(t["epoch"].max()) for t in evals.values() if t["epoch"].notna().any())])
    _integer_ticks(fig, top)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text=None)
    fig.update_yaxes(title_text="metric value", col=1)
    return fig
