"""Streamlit pieces the pages are laid out from: the runs table, the curves panel, live refresh.

Each piece reads through ``dashboard.data`` and draws with the pure builders of
``dashboard.curves``; a page only decides where they go.  Widget keys are given
a prefix per page so the same panel can appear on two pages without clashing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import data, series
from dashboard.alert_banner import alerts_of, curve_alerts
from dashboard.analysis import DEFAULT_SMOOTHING, half_life_share
from dashboard.charts import escape_plotly
from dashboard.curves import curve_figure, run_curves
from dashboard.names import short_names
from dashboard.safe_text import streamlit_text
from dashboard.state import Context
from parsers.insights.cost import DEFAULT_PRICES, Price, PriceError, load_prices, run_costs

__all__ = [
    "COST_COLUMNS",
    "RUNS_COLUMNS",
    "cost_totals",
    "costs",
    "curves_panel",
    "live",
    "outliers_toggle",
    "prices",
    "runs_table",
    "smoothing_slider",
    "status_line",
]

# Raw points per run on the overlay chart (half as many smoothed): about one per pixel of a wide
# chart, min/max per bucket so every spike stays, and light enough for the browser to draw five
# runs at once without a wait (charts.DEFAULT_MAX_POINTS, for report images, is 4000).
CHART_POINTS = 1000

# A text column's width for its text: the grid's padding and sort arrow, and a wide character
# of its 14px sans-serif (digits and most letters are narrower), up to a limit.
TEXT_PX, CHAR_PX, MAX_COLUMN_PX = 28, 8, 640

RUNS_COLUMNS = {
    "compare": st.column_config.CheckboxColumn(
        "compared", help="Shown on the charts (choose in the sidebar)."
    ),
    "run": st.column_config.TextColumn("run", pinned=True),
    "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
    "last loss": st.column_config.NumberColumn(format="%.4g"),
    "min loss": st.column_config.NumberColumn(format="%.4g"),
    "epoch time": st.column_config.NumberColumn(
        format="compact", help="Mean, first (compile) epoch left out."
    ),
    "samples/s": st.column_config.NumberColumn(format="%.1f"),
    "ranks": st.column_config.TextColumn(
        "ranks",
        help="Jobs kept in one log per rank: a lagging rank (rank-lag=15%) or one that stopped first.",
    ),
    "wall time": st.column_config.NumberColumn(format="compact"),
    "ETA": st.column_config.NumberColumn(
        format="compact", help="Running runs: remaining epochs x mean epoch time."
    ),
    "cost so far": st.column_config.NumberColumn(format="%.2f"),
    "cost projected": st.column_config.NumberColumn(
        format="%.2f", help="At the current pace, to the last epoch."
    ),
    "Δ last loss": st.column_config.NumberColumn(format="%+.4g"),
    "Δ min loss": st.column_config.NumberColumn(format="%+.4g"),
    "Δ best eval": st.column_config.NumberColumn(format="%+.4g"),
    "Δ% epoch time": st.column_config.NumberColumn(format="%+.1f%%"),
    "Δ% samples/s": st.column_config.NumberColumn(format="%+.1f%%"),
    "last update": st.column_config.DatetimeColumn(format="distance"),
    "error": st.column_config.TextColumn("error", width="medium", help="Why the log could not be read."),
}

COST_COLUMNS = {
    "run": st.column_config.TextColumn("run", pinned=True),
    "wall time": st.column_config.NumberColumn(format="compact"),
    "ETA": st.column_config.NumberColumn(format="compact"),
    "cost so far": st.column_config.NumberColumn(format="%.2f"),
    "cost projected": st.column_config.NumberColumn(format="%.2f"),
    "cost per epoch": st.column_config.NumberColumn(format="%.3f"),
    "value then": st.column_config.NumberColumn(format="%.4g"),
    "best": st.column_config.NumberColumn(format="%.4g"),
    "time after": st.column_config.NumberColumn(format="compact"),
    "still to run": st.column_config.NumberColumn(format="compact"),
    "would have saved": st.column_config.NumberColumn(format="%.2f"),
}


def runs_table(view: pd.DataFrame, *, key: str) -> None:
    """The runs table; sorting is the grid's own (click a header)."""
    if not len(view):
        st.info("No runs in this folder yet: any folder holding a training log is a run.")
        return
    st.dataframe(
        view,
        hide_index=True,
        column_config=_fitted(RUNS_COLUMNS, view, ("ranks",)),
        key=key,
        height=min(38 + 35 * len(view), 460),
        placeholder="–",
    )


def _fitted(config: dict, view: pd.DataFrame, columns: Sequence[str]) -> dict:
    """``config`` with each of ``columns`` wide enough for its longest text: the grid cuts a cell
    at the column's edge with no way to read the rest (the ranks flag names the lagging rank last)."""
    fitted = dict(config)
    for column in columns:
        if column in view and view[column].notna().any():
            longest = int(view[column].dropna().astype(str).str.len().max())
            fitted[column] = {**config[column], "width": min(TEXT_PX + CHAR_PX * longest, MAX_COLUMN_PX)}
    return fitted


def live(ctx: Context, body: Callable[[], None]) -> None:
    """Run ``body`` in a fragment that reruns itself every few seconds while a run is running."""
    every = ctx.settings.refresh_s if ctx.running else None
    st.fragment(body, run_every=every)()


def smoothing_slider(container, *, key: str) -> float:
    """W&B's smoothing parameter; the raw series stays drawn, faint, behind the smoothed one."""
    return container.slider(
        "Smoothing (time-weighted EMA)",
        0.0,
        0.99,
        DEFAULT_SMOOTHING,
        0.01,
        key=key,
        help=(
            "Each point becomes an average of the earlier ones, weighted by their distance along x, so runs "
            f"that log at different rates are smoothed alike. {DEFAULT_SMOOTHING}: a point's weight halves "
            f"over {half_life_share(DEFAULT_SMOOTHING):.1%} of the x range; 0.99: over "
            f"{half_life_share(0.99):.0%}. 0 draws the raw values only."
        ),
    )


def outliers_toggle(container, *, key: str) -> bool:
    """Fit the y axis to the bulk of the values; spikes stay in the data, marked at the edge."""
    return container.toggle(
        "Ignore outliers in y range",
        value=True,
        key=key,
        help="The y axis leaves out each run's top and bottom 0.1% of values; points outside are drawn as "
        "triangles at the edge (hover for the value): a single spike is seen without flattening the rest.",
    )


# What each chart control shows before it is touched (its key is ``<panel key>.<name>``).
CONTROL_DEFAULTS = {
    "x": "step",
    "scale": "auto",
    "smooth": DEFAULT_SMOOTHING,
    "outliers": True,
    "events": True,
    "alerts": True,
    "delta": False,
}


def _options(metrics: dict[str, series.Metric], values: dict) -> dict:
    """The chart's options from the controls' values (name -> value, as the widgets return
    them); a metric no longer offered falls back to the first, as the selectbox does."""
    metric = values.get("metric")
    return {
        "metric": metric if metric in metrics else next(iter(metrics)),
        "x": values["x"] or "step",
        "smoothing": values["smooth"],
        "log_y": {"linear": False, "log": True}.get(values["scale"] or "auto"),
        "events": values["events"],
        "alerts": values["alerts"],
        "delta": values["delta"],
        "outliers": values["outliers"],
    }


def _expected_options(metrics: dict[str, series.Metric], key: str) -> dict:
    """What ``_controls`` will return, read from the session before the controls are drawn: the
    chart can then be sent first, and the browser starts on it before the controls' scripts."""
    state = st.session_state
    values = {name: state.get(f"{key}.{name}", default) for name, default in CONTROL_DEFAULTS.items()}
    return _options(metrics, {**values, "metric": state.get(f"{key}.metric")})


def _controls(container, metrics: dict[str, series.Metric], key: str, *, baseline: str | None) -> dict:
    """Metric, x axis and a popover of scale, smoothing and markers, drawn in ``container``."""
    metric_col, x_col, more_col = container.columns([3, 2, 2], vertical_alignment="bottom")
    values = {
        "metric": metric_col.selectbox(
            "Metric", list(metrics), key=f"{key}.metric", format_func=lambda m: metrics[m].title
        ),
        "x": x_col.segmented_control(
            "x axis", list(series.AXES), default=CONTROL_DEFAULTS["x"], key=f"{key}.x"
        ),
    }
    more = more_col.popover("Scale, smoothing, markers", icon=":material/tune:")
    values["scale"] = more.segmented_control(
        "y scale",
        ["auto", "linear", "log"],
        default=CONTROL_DEFAULTS["scale"],
        key=f"{key}.scale",
        help="auto: log when all values are positive and span more than a factor of 100.",
    )
    values["smooth"] = smoothing_slider(more, key=f"{key}.smooth")
    values["outliers"] = outliers_toggle(more, key=f"{key}.outliers")
    values["events"] = more.toggle("Event markers", value=CONTROL_DEFAULTS["events"], key=f"{key}.events")
    values["alerts"] = more.toggle(
        "Alert markers",
        value=CONTROL_DEFAULTS["alerts"],
        key=f"{key}.alerts",
        help="Where a rule of parse-log watch became true (NaN, overflows, crash, loss rise, ...).",
    )
    values["delta"] = more.toggle(
        "Minus baseline",
        value=CONTROL_DEFAULTS["delta"],
        key=f"{key}.delta",
        disabled=baseline is None,
        help="Each run's value minus the baseline's at the same x (pin a baseline in the sidebar).",
    )
    return _options(metrics, values)


def curves_panel(
    ctx: Context, runs: pd.DataFrame, names: Sequence[str], *, key: str, controls: bool = True
) -> bool:
    """Metric, x axis, smoothing, scale and marker controls, and the overlaid chart of ``names``;
    whether a chart was drawn.

    The chart sits below its controls but is sent before them, drawn with the options the
    session holds: the browser fetches and starts plotly (most of a page's time to its first
    chart) while the controls are still on their way.  Should a control return another value
    than the session held (a metric the runs no longer have), the chart is sent again.  With
    ``controls`` False only the chart is sent (their place is kept: see ``first_draw``)."""
    names = list(names)
    if ctx.baseline and ctx.baseline not in names:
        names = [ctx.baseline, *names]
    if not names:
        st.info("Select runs to compare in the sidebar.")
        return False
    versions = data.versions(runs, names)
    metrics = _available(ctx.runs_dir, versions)
    if not metrics:
        st.info("The selected runs have no loss, time or eval values yet.")
        return False
    box, slot = st.container(), st.empty()
    if f"{key}.metric" in st.session_state:  # a rerun: controls first, as a person just used one
        opts = _controls(box, metrics, key, baseline=ctx.baseline)
        _draw_chart(slot, ctx, runs, versions, opts, key=f"{key}.chart")
        return True
    expected = _expected_options(metrics, key)
    _draw_chart(slot, ctx, runs, versions, expected, key=f"{key}.chart")
    if not controls:
        return True
    opts = _controls(box, metrics, key, baseline=ctx.baseline)
    if opts != expected:
        _draw_chart(slot, ctx, runs, versions, opts, key=f"{key}.chart.again")
    return True


def _draw_chart(slot, ctx: Context, runs: pd.DataFrame, versions: tuple, opts: dict, *, key: str) -> None:
    """The chart (cached per data version and options) and the line saying how it is drawn."""
    names = [run for run, _, _ in versions]
    marks = curve_alerts(ctx.runs_dir, runs, names, prices(ctx)) if opts["alerts"] else ()
    chart = _figure(ctx.runs_dir, versions, tuple(sorted(opts.items())), ctx.baseline, marks)
    with slot.container():
        st.plotly_chart(chart, key=key)
        st.caption(_settings_line(opts, chart))


def _settings_line(opts: dict, chart: go.Figure) -> str:
    """What the hidden options are set to, so a smoothed or clipped chart never passes for raw."""
    smoothing = (
        f"smoothing {opts['smoothing']:.2f}, raw values faint behind" if opts["smoothing"] else "no smoothing"
    )
    scale = "log" if chart.layout.yaxis.type == "log" else "linear"
    chosen = {None: f"auto ({scale})", True: "log", False: "linear"}[opts["log_y"]]
    clipped = sum(len(t.x) for t in chart.data if (t.meta or {}).get("role") == "offscale")
    outliers = (
        f"{clipped} point(s) outside the y range, marked at its edge"
        if clipped
        else "no point off the y range"
    )
    return f"{smoothing} · y scale {chosen} · {outliers}"


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def _available(runs_dir: str, versions: tuple) -> dict[str, series.Metric]:
    tables = data.tables_of(runs_dir, versions)
    found: dict[str, series.Metric] = {}
    for run in tables["steps"]:
        found.update(
            series.metrics_of(
                tables["steps"][run], tables["epochs"][run], tables["evals"][run], tables["scalars"][run]
            )
        )
    order = list(series.METRICS)
    return dict(sorted(found.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


# A resource, not data: the figure is only read (st.plotly_chart copies it to JSON), and each read
# of a cache_data entry unpickles it -- a plotly Figure validates itself again, about 40% of a
# warm rerun of the Runs page.
@st.cache_resource(ttl=600, max_entries=32, show_spinner=False)
def _figure(
    runs_dir: str, versions: tuple, options: tuple, baseline: str | None, marks: tuple = ()
) -> go.Figure:
    """The chart, built once per selection, data version, set of options and alerts (reopening is free)."""
    opts = dict(options)
    tables = data.tables_of(runs_dir, versions)
    key, metric = opts["metric"], series.metric_of(opts["metric"])
    curves, events, alerts, firsts = run_curves(
        tables,
        metric=key,
        x=opts["x"],
        events=opts["events"],
        alerts={run: alerts_of(marks, run) for run in tables["steps"]} if marks else None,
    )
    delta = bool(opts["delta"] and baseline in curves)
    if delta:
        curves = series.minus_baseline(
            curves, baseline, smoothing=opts["smoothing"] if metric.per_step else 0.0
        )
    figure = curve_figure(
        curves,
        title=metric.title + (" minus baseline" if delta else ""),
        x_title=series.AXES[opts["x"]],
        y_title=f"Δ {metric.title}" if delta else metric.title,
        smoothing=opts["smoothing"],
        per_step=metric.per_step,
        log_y=False if delta else opts["log_y"],
        events=events,
        alerts=alerts,
        first_epoch=firsts,
        baseline=None if delta else baseline,
        ignore_outliers=opts["outliers"],
        reference=0.0 if delta else None,
        max_points=CHART_POINTS,
    )
    return _named_by_difference(figure, list(curves))


def _named_by_difference(fig: go.Figure, names: list[str]) -> go.Figure:
    """Legend entries by what tells the runs apart (a sweep's point, ``dashboard.names``), the
    full run name in the lines' hover."""
    short = short_names(names)
    for trace in fig.data:
        run = (trace.meta or {}).get("run")
        if run not in short or short[run] == run:
            continue
        full = escape_plotly(run)
        if trace.name and trace.name.startswith(full):
            trace.name = escape_plotly(short[run]) + trace.name[len(full) :]
        if trace.meta.get("role") in ("raw", "smoothed") and trace.hovertemplate is None:
            trace.hovertext = full  # shown with x and y; text, never a template
    return fig


def prices(ctx: Context) -> list[Price]:
    """The price table from its TOML file; the default row (with a warning) if the file is bad."""
    try:
        return load_prices(ctx.settings.prices)
    except PriceError as exc:
        st.warning(
            f"{streamlit_text(exc)}. Using the default price ({streamlit_text(DEFAULT_PRICES[0].label)})."
        )
        return list(DEFAULT_PRICES)


def costs(ctx: Context, runs: pd.DataFrame, hparams: pd.DataFrame | None) -> pd.DataFrame:
    """Cost so far, projected and per epoch of every run, priced by the price table."""
    if not len(runs):
        return pd.DataFrame()
    return run_costs(runs, hparams if hparams is not None else runs[["run"]], prices(ctx))


def cost_totals(costs: pd.DataFrame, runs: pd.DataFrame) -> None:
    """What all runs cost so far and what the running ones will add, per currency."""
    running = runs["status"].isin(["running"]).to_numpy()
    for currency_text, part in costs.groupby("currency"):
        currency = streamlit_text(currency_text)  # typed into the price table: text in a label
        mask = running[part.index]
        left, mid, right = st.columns(3)
        left.metric(f"Spent so far ({currency})", f"{part['cost_so_far'].sum():,.2f}")
        still = (part["cost_projected"] - part["cost_so_far"])[mask].clip(lower=0).sum()
        mid.metric(f"Still to come for running runs ({currency})", f"{still:,.2f}")
        right.metric("Runs priced", f"{part['cost_so_far'].notna().sum()} of {len(part)}")


def status_line(runs: pd.DataFrame, shown: pd.DataFrame, ctx: Context) -> None:
    """One caption: how many runs, which are live, how many could not be read, what is filtered."""
    counts = runs["status"].value_counts().to_dict() if len(runs) else {}
    parts = [f"{len(runs)} runs"] + [f"{n} {s}" for s, n in sorted(counts.items())]
    if len(shown) != len(runs):
        parts.append(f"{len(shown)} shown (filtered)")
    if counts.get("running"):
        parts.append(f"live: refreshing every {ctx.settings.refresh_s:g} s")
    st.caption(" · ".join(parts))
