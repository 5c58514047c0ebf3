"""The dashboard's other figures: hyperparameters against results, and cost per run.

Pure functions ``DataFrame -> go.Figure`` like ``dashboard.charts``, whose layout they reuse.
Axis labels, tick texts and bar categories are hyperparameter keys, their values and run
names -- text from config files and folders -- so each is escaped for plotly.  Long axis labels
are shortened (``short_label``: the end of a dotted key, cut at ``LABEL_CHARS``) and written
as annotations above their axis with the full key on hover, since plotly's own parcoords
labels can neither be hovered nor kept from overlapping.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import apply_layout, empty_figure, escape_plotly
from dashboard.names import short_names

__all__ = [
    "AXES_SHARE",
    "EXACT_TICKS",
    "LABEL_CHARS",
    "TICK_CHARS",
    "cost_figure",
    "parallel_figure",
    "short_label",
    "spread_ticks",
    "tick_texts",
]

# Characters of an axis label and of a category tick before they are cut (with an ellipsis).
LABEL_CHARS, TICK_CHARS = 16, 14
# A numeric hyperparameter with at most this many values gets one tick per value.
EXACT_TICKS = 8
# With a colour bar, the axes take this share of the width (the bar the rest).
AXES_SHARE = 0.9
# Ticks of a numeric axis and of the colour bar, both ends included.
TICKS = 5


def short_label(key: str, *, limit: int = LABEL_CHARS) -> str:
    """``optimizer.params.weight_decay`` -> ``weight_decay``; cut to ``limit`` characters."""
    last = str(key).rsplit(".", 1)[-1] or str(key)
    return last if len(last) <= limit else last[: limit - 1] + "…"


def parallel_figure(
    table: pd.DataFrame, *, color: str | None = None, exact_ticks: Sequence[str] = ()
) -> go.Figure:
    """One axis per column of ``table`` (one row per run); text columns get one tick per value, and
    so do the numeric ``exact_ticks`` columns (hyperparameters: a seed of 1 or 2 has no tick 1.4);
    other numeric axes get ``TICKS`` ticks from their lowest to their highest value.
    Labels are short annotations with the full key on hover (``short_label``)."""
    dims = []
    for column in table.columns:
        values = table[column]
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() == values.notna().sum() and numeric.notna().any():
            values_f = numeric.astype(float).tolist()
            dims.append({"label": "", "values": values_f, "name": escape_plotly(column)})
            seen = sorted(numeric.dropna().unique().tolist())
            exact = column in exact_ticks and len(seen) <= EXACT_TICKS
            ticks = seen if exact else spread_ticks(seen[0], seen[-1])
            dims[-1].update(tickvals=ticks, ticktext=[escape_plotly(t) for t in tick_texts(ticks)])
            continue
        text = values.astype(str)
        cats = sorted(text.unique().tolist())
        codes = text.map({c: i for i, c in enumerate(cats)})
        dims.append(
            {
                "label": "",
                "name": escape_plotly(column),  # plotly reads tags in every string
                "values": codes.tolist(),
                "tickvals": list(range(len(cats))),
                "ticktext": [escape_plotly(short_label(c, limit=TICK_CHARS)) for c in cats],
            }
        )
    line = _line_colors(table, color)
    colorbar = isinstance(line["color"], list)
    domain = {"x": [0.0, AXES_SHARE if colorbar else 1.0]}
    fig = go.Figure(go.Parcoords(dimensions=dims, line=line, domain=domain))
    fig.update_layout(template="plotly_white", font={"size": 13}, margin={"l": 70, "r": 70, "t": 70, "b": 30})
    _axis_labels(fig, list(table.columns), right=domain["x"][1])
    return fig if dims else empty_figure(fig, "no hyperparameters to compare")


def spread_ticks(lo: float, hi: float, *, count: int = TICKS) -> list[float]:
    """``count`` ticks from ``lo`` to ``hi``, both ends included (one when they are equal).

    Every numeric axis is given its ticks: plotly then writes no range values of its own at the
    axis' ends, which repeated the end ticks it also drew there."""
    if not hi > lo:
        return [lo]
    return [lo + (hi - lo) * i / (count - 1) for i in range(count)]


def tick_texts(ticks: Sequence[float]) -> list[str]:
    """The shortest ``%g`` texts (3 to 8 significant digits) that tell ``ticks`` apart."""
    for digits in range(3, 9):
        texts = [f"{t:.{digits}g}" for t in ticks]
        if len(set(texts)) == len(texts):
            return texts
    return texts


def _line_colors(table: pd.DataFrame, color: str | None) -> dict:
    """Lines coloured by result ``color``, the colour bar spanning exactly the values drawn
    (plotly's own range, from the values with a margin, showed 0.15..0.18 as -0.2..0.6)."""
    values = pd.to_numeric(table[color], errors="coerce") if color and color in table else None
    if values is None or not values.notna().any():
        return {"color": "#0072B2"}
    lo, hi = float(values.min()), float(values.max())
    ticks = spread_ticks(lo, hi)
    return {
        "color": values.tolist(),
        "colorscale": "Viridis",
        "cmin": lo,
        "cmax": hi if hi > lo else lo + (abs(lo) or 1.0) * 1e-9,
        "showscale": True,
        "colorbar": {
            "title": {"text": escape_plotly(color)},
            "tickvals": ticks,
            "ticktext": tick_texts(ticks),
        },
    }


def _axis_labels(fig: go.Figure, columns: list[str], *, right: float) -> None:
    """Each axis' short label above it, its full key on hover; the axes are spread evenly over
    ``0..right`` of the plot's width (the parcoords domain)."""
    n = len(columns)
    for i, column in enumerate(columns):
        fig.add_annotation(
            x=right * i / (n - 1) if n > 1 else right / 2,
            xanchor="center",
            y=1.0,
            xref="paper",
            yref="paper",
            yanchor="bottom",
            yshift=18,
            showarrow=False,
            text=escape_plotly(short_label(column)),
            hovertext=escape_plotly(column),
            font={"size": 12},
        )


def cost_figure(costs: pd.DataFrame, *, currency: str) -> go.Figure:
    """Cost so far and still to come per run (``run``, ``cost_so_far``, ``cost_projected``)."""
    rows = costs.dropna(subset=["cost_so_far"]).sort_values("cost_so_far")
    remaining = (rows["cost_projected"] - rows["cost_so_far"]).clip(lower=0).fillna(0)
    short = short_names(rows["run"].tolist())  # a sweep's runs by what differs, full name on hover
    names = [escape_plotly(short[run]) for run in rows["run"]]  # categories: plotly draws them as tick text
    fig = go.Figure(
        [
            go.Bar(
                y=names,
                x=rows["cost_so_far"].tolist(),
                orientation="h",
                name="so far",
                customdata=[escape_plotly(run) for run in rows["run"]],
                hovertemplate="%{customdata}: %{x:.2f}",
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
    apply_layout(fig, title="Cost per run", x=f"cost ({currency})", y="")
    fig.update_layout(
        barmode="stack",
        legend={"traceorder": "normal"},
        hovermode="y unified",
        height=max(260, 60 + 34 * len(rows)),
    )
    return fig if len(rows) else empty_figure(fig, "no run has a wall time yet")
