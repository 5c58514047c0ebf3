"""The dashboard's curves: runs overlaid, smoothed, with spikes, NaNs and events kept visible.

Pure functions ``{run: DataFrame} -> go.Figure`` in the manner of ``dashboard.charts``
(whose palette, layout and ``downsample_extremes`` they reuse), so a page only lays
figures out.  ``loss_figure`` is the one loss chart: ``parse-log report`` draws it, and the
dashboard's curves panel opens on the same figure (``run_curves`` + ``curve_figure``).  Raw series
are min/max downsampled -- a single-step spike survives -- and drawn faint behind
the time-weighted EMA; NaN/Inf values and events are markers on a hidden 0..1
axis laid over the plot, so they show whatever the loss range.  Run names, titles and log
text put in names and hover labels are escaped (``escape_plotly``): plotly interprets tags
such as ``<b>`` or ``<a href>`` there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard import series
from dashboard.analysis import DEFAULT_SMOOTHING, time_weighted_ema
from dashboard.charts import (
    DEFAULT_MAX_POINTS,
    LOG_SCALE_RATIO,
    NONFINITE_COLOR,
    apply_layout,
    downsample_extremes,
    empty_figure,
    escape_plotly,
    run_label,
    run_style,
)

__all__ = [
    "ALERT_COLOR",
    "EVENT_STYLE",
    "bulk_range",
    "curve_figure",
    "loss_figure",
    "run_curves",
    "wide_range",
]

Curves = Mapping[str, pd.DataFrame]

# Event kinds drawn on curves: symbol and colour; others (warnings, checkpoints) are listed on the run page.
EVENT_STYLE = {
    "nan": ("x", NONFINITE_COLOR),
    "overflow": ("triangle-up", "#E69F00"),
    "error": ("diamond", NONFINITE_COLOR),
    "traceback": ("diamond", NONFINITE_COLOR),
    "interrupt": ("square", "#CC79A7"),
    "resume": ("star", "#009E73"),
    "restart": ("star", "#009E73"),  # a second "start" line in one log
}
RAW_OPACITY = 0.25
# Lines of at most this many points also get markers: a single point would not show at all.
FEW_POINTS = 30
# With outliers ignored, the y axis leaves out this share of each run's highest and lowest values.
OUTLIER_SHARE = 0.001
# ...but only values further than this share of the bulk's span beyond it count as outliers.
OUTLIER_REACH = 0.25
HOVER_CHARS = 160
# Alerts (``parsers.insights.alerts``, the rules of ``parse-log watch``): a flag at the top of the plot.
ALERT_COLOR = "#B2182B"


def wide_range(curves: Curves) -> bool:
    """The rule of ``charts.loss_figure`` for an automatic log axis: all values positive and the
    largest more than ``LOG_SCALE_RATIO`` times the smallest (runs on very different scales)."""
    values = [c["y"].to_numpy(dtype=float) for c in curves.values() if len(c)]
    y = np.concatenate(values) if values else np.array([])
    y = y[np.isfinite(y)]
    return bool(len(y)) and y.min() > 0 and y.max() / y.min() > LOG_SCALE_RATIO


def _x_range(curves: Curves) -> float:
    """The x span of all runs together: one smoothing scale for every line of the chart."""
    xs = [c["x"].to_numpy(dtype=float) for c in curves.values() if len(c)]
    xs = [x[np.isfinite(x)] for x in xs]
    xs = [x for x in xs if len(x)]
    return float(max(x.max() for x in xs) - min(x.min() for x in xs)) if xs else 0.0


def _stride(frame: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """Every k-th row (and the last): enough for a smooth line, which has no spikes to lose."""
    if len(frame) <= max_points:
        return frame
    keep = np.unique(np.r_[np.arange(0, len(frame), -(-len(frame) // max_points)), len(frame) - 1])
    return frame.iloc[keep]


def _series(
    data: pd.DataFrame, *, smoothing: float, span: float, per_step: bool, max_points: int
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The raw points to draw (min/max downsampled) and the smoothed line (None when not smoothed)."""
    finite = data[np.isfinite(data["y"].to_numpy(dtype=float))]
    raw = downsample_extremes(finite, y="y", max_points=max_points)
    if not (per_step and smoothing > 0 and len(finite) > 2):
        return raw, None
    x = finite["x"].to_numpy(dtype=float)
    ema = time_weighted_ema(x, finite["y"].to_numpy(dtype=float), weight=smoothing, x_range=span)
    return raw, _stride(pd.DataFrame({"x": x, "y": ema}), max_points // 2)


def _run_traces(
    fig: go.Figure,
    name: str,
    raw: pd.DataFrame,
    smooth: pd.DataFrame | None,
    *,
    style: dict,
    label: str,
    per_step: bool,
) -> None:
    """The raw line (faint behind the smoothed one when there is one) and the smoothed line."""
    line = {"color": style["color"], "dash": style["dash"], "width": 2}
    fig.add_trace(
        go.Scatter(
            x=raw["x"].to_numpy(dtype=float),  # arrays, not lists: plotly checks lists item by item
            y=raw["y"].to_numpy(dtype=float),
            mode="lines" if per_step and len(raw) > FEW_POINTS else "lines+markers",
            name=label,
            legendgroup=name,
            showlegend=smooth is None,
            opacity=1.0 if smooth is None else RAW_OPACITY,
            line=line if smooth is None else {**line, "dash": "solid", "width": 1},
            hoverinfo=None if smooth is None else "skip",
            marker={"symbol": style["symbol"], "size": 8, "color": style["color"]},
            meta={"role": "raw", "run": name},
        )
    )
    if smooth is not None:
        fig.add_trace(
            go.Scatter(
                x=smooth["x"].to_numpy(dtype=float),
                y=smooth["y"].to_numpy(dtype=float),
                mode="lines",
                name=label,
                legendgroup=name,
                line=line,
                meta={"role": "smoothed", "run": name},
            )
        )


def bulk_range(
    curves: Curves, smoothed: Mapping[str, pd.DataFrame | None], *, log_y: bool = False
) -> tuple[float, float] | None:
    """The y range to show when ignoring outliers, or None when nothing would be left out.

    The bulk is every smoothed point and each run's values but its top and bottom
    ``OUTLIER_SHARE``; values within ``OUTLIER_REACH`` of the bulk's span beyond it stay in
    range (the lowest losses at the end of training are the point), farther ones -- a spike
    -- do not.  TensorBoard's "ignore outliers in chart scaling", made to spare tails.
    """
    values, lows, highs = [], [], []
    for name, data in curves.items():
        y = data["y"].to_numpy(dtype=float)
        y = y[np.isfinite(y) & ((y > 0) if log_y else True)]
        if not len(y):
            continue
        values.append(y)
        lows.append(np.quantile(y, OUTLIER_SHARE))
        highs.append(np.quantile(y, 1.0 - OUTLIER_SHARE))
        line = smoothed.get(name)
        if line is not None and line["y"].notna().any():
            lows.append(line["y"].min())
            highs.append(line["y"].max())
    if not values:
        return None
    y = np.concatenate(values)
    lo, hi = float(min(lows)), float(max(highs))
    reach = (hi - lo) * OUTLIER_REACH
    inside = y[(y >= lo - reach) & (y <= hi + reach)]
    if len(inside) == len(y):
        return None
    return float(min(inside.min(), lo)), float(max(inside.max(), hi))


def _log_axis(bounds: tuple[float, float] | None) -> dict[str, object]:
    """A log axis labelled at powers of ten when it spans two decades or more: Plotly's own
    choice there labels 2 and 5 of every decade too, a column of bare digits beside the curve."""
    axis: dict[str, object] = {"type": "log"}
    if bounds and bounds[0] > 0 and np.log10(bounds[1]) - np.log10(bounds[0]) >= 2:
        axis["dtick"] = 1
    return axis


def _data_bounds(drawn: Iterable[tuple[pd.DataFrame, pd.DataFrame]]) -> tuple[float, float] | None:
    """Lowest and highest positive finite value of the raw curves drawn."""
    values = [raw["y"].to_numpy(dtype=float) for raw, _ in drawn if len(raw)]
    y = np.concatenate(values) if values else np.array([])
    y = y[np.isfinite(y) & (y > 0)]
    return (float(y.min()), float(y.max())) if len(y) else None


def _axis_range(lo: float, hi: float, *, log_y: bool) -> list[float]:
    """``lo..hi`` with 5% room, in the axis' own units (log10 for a log axis)."""
    if log_y:
        lo, hi = np.log10(lo), np.log10(hi)
    pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 1.0
    return [lo - pad, hi + pad]


def _off_scale(fig: go.Figure, name: str, raw: pd.DataFrame, bounds: tuple[float, float], color: str) -> None:
    """Points outside the shown range, as triangles at the top or bottom edge with their value."""
    y = raw["y"].to_numpy(dtype=float)
    for where, mask, level, symbol in (
        ("above", y > bounds[1], 0.985, "triangle-up"),
        ("below", y < bounds[0], 0.015, "triangle-down"),
    ):
        if not mask.any():
            continue
        _overlay_markers(
            fig,
            name,
            raw["x"][mask].tolist(),
            level=level,
            label=f"{escape_plotly(name)}: off scale",
            marker={"symbol": symbol, "size": 10, "color": color, "line": {"width": 1, "color": "#222"}},
            text=[escape_plotly(name)] * int(mask.sum()),  # as data: a "%{x}" in a name stays text
            hover=f"%{{text}}: %{{customdata:.4g}} at x %{{x}} ({where} the range shown)<extra></extra>",
            meta={"role": "offscale"},
            showlegend=False,
            customdata=y[mask].tolist(),
        )


def _overlay_markers(
    fig: go.Figure,
    run: str,
    x: list,
    *,
    level: float,
    label: str,
    marker: dict,
    text: list[str],
    hover: str,
    meta: dict,
    **scatter,
) -> None:
    """One trace of markers at height ``level`` of the hidden 0..1 axis (``_overlay_axis``): where
    NaN/Inf values, events, alerts and points off the y range are shown whatever the loss range."""
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[level] * len(x),
            yaxis="y2",
            mode="markers",
            name=label,
            legendgroup=run,
            marker=marker,
            text=text,
            hovertemplate=hover,
            meta={**meta, "run": run},
            **scatter,
        )
    )


def _overlay_axis(fig: go.Figure) -> None:
    """A hidden 0..1 y axis over the plot for markers that have no place on the value axis."""
    fig.update_layout(yaxis2={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True})


def _nonfinite(fig: go.Figure, name: str, data: pd.DataFrame, max_points: int) -> None:
    bad = data[~np.isfinite(data["y"].to_numpy(dtype=float))].head(max_points)
    if not len(bad):
        return
    _overlay_markers(
        fig,
        name,
        bad["x"].tolist(),
        level=0.97,
        label=f"{escape_plotly(name)}: NaN/Inf ({len(bad)})",
        marker={"symbol": "x", "size": 11, "color": NONFINITE_COLOR},
        text=[f"value {v}" for v in bad["y"].tolist()],
        hover="x %{x}: %{text}<extra></extra>",
        meta={"role": "nonfinite"},
    )


def _restarts(events: pd.DataFrame) -> pd.DataFrame:
    """The events to mark, with every "start" after the first turned into a "restart"."""
    starts = events.index[events["kind"] == "start"]
    marked = events.assign(kind=events["kind"].astype(str))
    marked.loc[starts[1:], "kind"] = "restart"
    return marked[marked["kind"].isin(list(EVENT_STYLE))]


def _events(fig: go.Figure, name: str, events: pd.DataFrame, color: str) -> None:
    """Markers near the bottom for the events worth seeing on a curve, one trace per kind."""
    for kind, rows in _restarts(events).groupby("kind"):
        symbol, _ = EVENT_STYLE[str(kind)]
        _overlay_markers(
            fig,
            name,
            rows["x"].tolist(),
            level=0.03,
            label=f"{escape_plotly(name)}: {kind} ({len(rows)})",
            marker={"symbol": symbol, "size": 12, "color": color, "line": {"width": 1, "color": "#222"}},
            text=[escape_plotly(m[:HOVER_CHARS]) for m in rows["message"].astype(str)],
            hover=f"{kind} at x %{{x}}<br>%{{text}}<extra></extra>",
            meta={"role": "event", "kind": str(kind)},
        )


def _alerts(fig: go.Figure, name: str, alerts: pd.DataFrame) -> None:
    """A flag near the top where each alert's rule became true (``x``/``kind``: the rule/``message``)."""
    _overlay_markers(
        fig,
        name,
        alerts["x"].tolist(),
        level=0.92,
        label=f"{escape_plotly(name)}: alerts ({len(alerts)})",
        marker={"symbol": "triangle-down", "size": 13, "color": ALERT_COLOR, "line": {"width": 1}},
        text=[escape_plotly(f"{r}: {m}"[:HOVER_CHARS]) for r, m in zip(alerts["kind"], alerts["message"])],
        hover="alert at x %{x}<br>%{text}<extra></extra>",
        meta={"role": "alert", "rules": [str(k) for k in alerts["kind"]]},
    )


def _first_epoch_lines(
    fig: go.Figure, ends: Mapping[str, float | None], names: list[str], baseline: str | None
) -> None:
    """A dotted line in each run's colour where its epoch 1 ends; the first one is labelled."""
    label = {"annotation_text": "epoch 1 ends (compile)", "annotation_position": "top right",
             "annotation_font": {"size": 11, "color": "#666"}}  # fmt: skip
    for i, name in enumerate(names):
        end = ends.get(name)
        if end is None or not np.isfinite(end):
            continue
        line = {"color": run_style(i, name, baseline)["color"], "dash": "dot", "width": 1}
        fig.add_vline(x=end, line=line, opacity=0.7, **label)
        label = {}


def curve_figure(
    curves: Curves,
    *,
    title: str,
    x_title: str,
    y_title: str,
    smoothing: float = 0.0,
    per_step: bool = True,
    log_y: bool | None = False,
    events: Curves | None = None,
    alerts: Curves | None = None,
    first_epoch: Mapping[str, float | None] | None = None,
    baseline: str | None = None,
    reference: float | None = None,
    ignore_outliers: bool = True,
    max_points: int = DEFAULT_MAX_POINTS,
) -> go.Figure:
    """Runs overlaid.

    ``curves`` maps a run to its ``x``/``y`` table (sorted by x), ``events`` to ``x``/``kind``/
    ``message`` rows (``alerts`` too, ``kind`` the rule), ``first_epoch`` to where its epoch 1
    ends on x.  ``log_y`` None picks the scale (``wide_range``); ``reference`` draws a horizontal
    line (0 for differences from a baseline); ``ignore_outliers`` fits the y axis to the bulk of
    the values (``bulk_range``) and marks what falls outside at the edge.
    """
    if log_y is None:
        log_y = wide_range(curves)
    fig = go.Figure()
    _overlay_axis(fig)
    span = _x_range(curves)
    opts = {"smoothing": smoothing, "span": span, "per_step": per_step, "max_points": max_points}
    drawn = {name: _series(data, **opts) for name, data in curves.items()}
    bounds = (
        bulk_range(curves, {n: d[1] for n, d in drawn.items()}, log_y=log_y)
        if per_step and ignore_outliers
        else None
    )
    for i, (name, data) in enumerate(curves.items()):
        style = run_style(i, name, baseline)
        raw, smooth = drawn[name]
        _run_traces(fig, name, raw, smooth, style=style, label=run_label(name, baseline), per_step=per_step)
        if bounds:
            _off_scale(fig, name, raw, bounds, style["color"])
        _nonfinite(fig, name, data, max_points)
        if events and name in events and len(events[name]):
            _events(fig, name, events[name], style["color"])
        if alerts and name in alerts and len(alerts[name]):
            _alerts(fig, name, alerts[name])
    apply_layout(fig, title=title, x=x_title, y=f"{y_title} (log scale)" if log_y else y_title)
    _first_epoch_lines(fig, first_epoch or {}, list(curves), baseline)
    if log_y:
        fig.update_layout(yaxis=_log_axis(bounds or _data_bounds(drawn.values())))
    if bounds:
        fig.update_layout(yaxis={"range": _axis_range(*bounds, log_y=log_y)})
    if reference is not None:
        fig.add_hline(y=reference, line={"color": "#7F7F7F", "width": 1})
    has_data = any(len(c) for c in curves.values())
    return fig if has_data else empty_figure(fig, "no values for this metric in the selected runs")


def run_curves(
    tables: Mapping[str, Mapping[str, pd.DataFrame]],
    *,
    metric: str = "loss",
    x: str = "step",
    events: bool = True,
    alerts: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], dict[str, pd.DataFrame], dict[str, Any]]:
    """Per run: its ``metric`` curve against axis ``x`` (``dashboard.series``), its events and
    ``alerts`` (rows of ``parsers.insights.alerts``) placed on that curve, and where its epoch 1
    ends -- what ``curve_figure`` draws.  ``tables`` is ``{table: {run: frame}}``, as
    ``dashboard.data.tables_of`` returns (a report builds it from parsed logs)."""
    curves, marks, flags, firsts = {}, {}, {}, {}
    for run in tables["steps"]:
        steps, epochs, evals = (tables[t][run] for t in ("steps", "epochs", "evals"))
        axes = series.step_axes(steps, epochs)
        scalars = tables["scalars"][run] if "scalars" in tables else None
        curves[run] = series.curve(steps, epochs, evals, metric=metric, x=x, axes=axes, scalars=scalars)
        if events:
            marks[run] = series.event_points(tables["events"][run], curves[run])
        if alerts is not None and run in alerts:
            flags[run] = series.alert_points(alerts[run], curves[run])
        firsts[run] = series.first_epoch_end(steps, epochs, x=x, axes=axes) if len(curves[run]) else None
    return curves, marks, flags, firsts


def loss_figure(
    tables: Mapping[str, Mapping[str, pd.DataFrame]],
    *,
    baseline: str | None = None,
    smoothing: float = DEFAULT_SMOOTHING,
    max_points: int = DEFAULT_MAX_POINTS,
) -> go.Figure:
    """The loss chart, as ``parse-log report`` saves it and the dashboard opens it: loss against
    global step, the time-weighted EMA with the raw values faint behind, events and NaN/Inf marked,
    where epoch 1 (graph compilation) ends marked, a log axis when runs differ a hundredfold."""
    curves, events, _, firsts = run_curves(tables, metric="loss", x="step")
    title = series.METRICS["loss"].title
    return curve_figure(
        curves,
        title=title,
        x_title=series.AXES["step"],
        y_title=title,
        smoothing=smoothing,
        log_y=None,
        events=events,
        first_epoch=firsts,
        baseline=baseline,
        max_points=max_points,
    )
