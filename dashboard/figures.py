"""The dashboard's other figures: hyperparameters against results, and cost per run.

Pure functions ``DataFrame -> go.Figure`` like ``dashboard.charts``, whose layout they reuse.
Axis labels, tick texts and bar categories are hyperparameter keys, their values and run
names -- text from config files and folders -- so each is escaped for plotly.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import _empty, _layout, escape_plotly

__all__ = ["cost_figure", "parallel_figure"]


def parallel_figure(table: pd.DataFrame, *, color: str | None = None) -> go.Figure:
    """One axis per column of ``table`` (one row per run); text columns get one tick per value."""
    dims = []
    for column in table.columns:
        values = table[column]
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() == values.notna().sum() and numeric.notna().any():
            dims.append({"label": escape_plotly(column), "values": numeric.astype(float).tolist()})
            continue
        text = values.astype(str)
        cats = sorted(text.unique().tolist())
        codes = text.map({c: i for i, c in enumerate(cats)})
        dims.append(
            {
                "label": escape_plotly(column),
                "values": codes.tolist(),
                "tickvals": list(range(len(cats))),
                "ticktext": [escape_plotly(c) for c in cats],
            }
        )
    line = {"color": "#0072B2"}
    if color and color in table and pd.to_numeric(table[color], errors="coerce").notna().any():
        line = {
            "color": pd.to_numeric(table[color], errors="coerce").tolist(),
            "colorscale": "Viridis",
            "showscale": True,
            "colorbar": {"title": {"text": escape_plotly(color)}},
        }
    fig = go.Figure(go.Parcoords(dimensions=dims, line=line, labelangle=-20, labelside="top"))
    fig.update_layout(template="plotly_white", font={"size": 13}, margin={"l": 70, "r": 70, "t": 60, "b": 30})
    return fig if dims else _empty(fig, "no hyperparameters to compare")


def cost_figure(costs: pd.DataFrame, *, currency: str) -> go.Figure:
    """Cost so far and still to come per run (``run``, ``cost_so_far``, ``cost_projected``)."""
    rows = costs.dropna(subset=["cost_so_far"]).sort_values("cost_so_far")
    remaining = (rows["cost_projected"] - rows["cost_so_far"]).clip(lower=0).fillna(0)
    names = [escape_plotly(run) for run in rows["run"]]  # categories: plotly draws them as tick text
    fig = go.Figure(
        [
            go.Bar(
                y=names,
                x=rows["cost_so_far"].tolist(),
                orientation="h",
                name="so far",
                marker={"color": "#0072B2"},
            ),
            go.Bar(
                y=names,
                x=remaining.tolist(),
                orientation="h",
                name="still to come (projected)",
                marker={"color": "#56B4E9", "pattern": {"shape": "/"}},
            ),
        ]
    )
    _layout(fig, title="Cost per run", x=f"cost ({currency})", y="")
    fig.update_layout(
        barmode="stack",
        legend={"traceorder": "normal"},
        hovermode="y unified",
        height=max(260, 60 + 34 * len(rows)),
    )
    return fig if len(rows) else _empty(fig, "no run has a wall time yet")
