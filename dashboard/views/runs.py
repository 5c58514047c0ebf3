"""Runs page: filter the runs table, and the compared runs' curves, refreshed while runs run."""

import re

import streamlit as st

from dashboard import data, first_draw, panels, state
from dashboard.alert_banner import alert_banner
from dashboard.name_filter import MAX_PATTERN_CHARS, compile_name_filter
from dashboard.safe_text import streamlit_text
from dashboard.tables import filter_runs, hparam_choices, runs_view
from parsers.insights.run_info import split_run_info

ctx = state.context()
if ctx is None:
    st.stop()

FIRST_CHART = "runs.first_chart_drawn"  # session key: the browser has drawn this session's first chart

st.header("Runs")
settings = data.hparams(ctx.runs_dir, ctx.runs) if len(ctx.runs) else None  # with the device, for prices
hparams = split_run_info(settings)[0] if settings is not None else ctx.runs[["run"]]  # what to filter by
# Until the browser has drawn the session's first chart, only the chart is sent; the filters, the
# table and the chart's controls follow in the next run (dashboard.first_draw says why).
held = first_draw.pending(FIRST_CHART)
filters = st.container()


def _filters() -> tuple[str, list[str]]:
    """The name and hyperparameter filters; their values (a bad expression: none, and why)."""
    left, right = st.columns(2)
    pattern = left.text_input(
        "Filter by name (regular expression, RE2 syntax)",
        key="runs.pattern",
        placeholder="e.g. resnet|vit",
        max_chars=MAX_PATTERN_CHARS,
        help="Matched anywhere in the run's name, in time linear in the name: "
        "no backreferences or lookaround.",
    )
    choices = right.multiselect(
        "Filter by hyperparameter",
        hparam_choices(hparams),
        key="runs.hparams",
        help="Keys that differ between runs. "
        "Several values of one key: any of them; several keys: all of them.",
    )
    try:
        compile_name_filter(pattern)
    except re.error as exc:
        st.error(f"Not a regular expression: {streamlit_text(exc)}")  # quotes the pattern typed
        pattern = ""
    filtered = filter_runs(ctx.runs, hparams, pattern=pattern, choices=choices)["run"].tolist()
    if (pattern or choices) and filtered:
        st.button(
            "Compare the filtered runs",
            key="runs.compare_filtered",
            on_click=lambda names: st.session_state.update(compare=names),
            args=(filtered[:10],),
            help="Up to 10, replacing the sidebar selection.",
        )
    return pattern, choices


if held:  # what the widgets will show when drawn: nothing typed or chosen yet on a first run
    pattern, choices = "", []
else:
    with filters:
        pattern, choices = _filters()


def _filtered(runs):
    return filter_runs(runs, hparams, pattern=pattern, choices=choices)


chart: dict[str, bool] = {}  # whether the fragment drew a chart


def body() -> None:
    runs = ctx.fresh_runs()
    banner = st.container()  # filled last: the alerts never delay the table or the chart
    table = st.container()  # filled after the chart is sent; a container keeps the table shown meanwhile
    chart["drawn"] = panels.curves_panel(ctx, runs, ctx.compared, key="runs.curves", controls=not held)
    if held and chart["drawn"]:
        return  # the table, its status line and the alerts come with the full page
    # The table sits above the chart but is built and sent after it: the chart (cached per data
    # version, and sent before its own controls) goes out first and the browser fetches plotly
    # while the rest is being built.  The filters stay above, drawn before the fragment: drawn
    # after it, a selection in the sidebar was at times lost to the live reruns (e2e, 2 in 4).
    shown = _filtered(runs)
    view = runs_view(
        shown,
        panels.costs(ctx, runs, settings),
        compared=ctx.compared,
        baseline=ctx.baseline,
        ranks=data.rank_flags(ctx.runs_dir, shown),
    )
    with table:
        panels.runs_table(view, key="runs.table")
        panels.status_line(runs, shown, ctx)
    alert_banner(banner, ctx.runs_dir, runs, panels.prices(ctx))


panels.live(ctx, body)
if held and chart.get("drawn"):
    first_draw.ask_when_drawn(FIRST_CHART)
elif held:  # no chart to wait for: the filters now, in their place
    st.session_state[FIRST_CHART] = True
    with filters:
        _filters()
