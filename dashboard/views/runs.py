"""Runs page: filter the runs table, and the compared runs' curves, refreshed while runs run.

The page reads top to bottom as filters, alert banner, runs table, chart; it is sent chart
first.  A page's time to its first chart is mostly the browser fetching and starting plotly,
so the chart goes out before anything else of the page; each part above it has a container
reserved in its place and is filled after.  The filters' values are read from the session
before the filter widgets are drawn, and the widgets drawn last with the same keys.
"""

import re

import streamlit as st

from dashboard import data, panels, state
from dashboard.alert_banner import alert_banner
from dashboard.name_filter import MAX_PATTERN_CHARS, compile_name_filter
from dashboard.safe_text import streamlit_text
from dashboard.tables import filter_runs, hparam_choices, runs_view
from parsers.insights.run_info import split_run_info

ctx = state.context()
if ctx is None:
    st.stop()

st.header("Runs")
filters = st.container()  # filled after the chart, with the values read here
settings = data.hparams(ctx.runs_dir, ctx.runs) if len(ctx.runs) else None  # with the device, for prices
hparams = split_run_info(settings)[0] if settings is not None else ctx.runs[["run"]]  # what to filter by
offered = hparam_choices(hparams)
pattern = st.session_state.get("runs.pattern") or ""
choices = [c for c in st.session_state.get("runs.hparams") or [] if c in offered]
try:
    compile_name_filter(pattern)
    bad_pattern = None
except re.error as exc:
    bad_pattern, pattern = exc, ""


def _filtered(runs):
    return filter_runs(runs, hparams, pattern=pattern, choices=choices)


def body() -> None:
    runs = ctx.fresh_runs()
    banner = st.container()  # filled last: the alerts never delay the table or the chart
    table = st.container()  # filled after the chart is sent; a container keeps the table shown meanwhile
    panels.curves_panel(ctx, runs, ctx.compared, key="runs.curves")
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

with filters:
    left, right = st.columns(2)
    left.text_input(
        "Filter by name (regular expression, RE2 syntax)",
        key="runs.pattern",
        placeholder="e.g. resnet|vit",
        max_chars=MAX_PATTERN_CHARS,
        help="Matched anywhere in the run's name, in time linear in the name: "
        "no backreferences or lookaround.",
    )
    right.multiselect(
        "Filter by hyperparameter",
        offered,
        key="runs.hparams",
        help="Keys that differ between runs. "
        "Several values of one key: any of them; several keys: all of them.",
    )
    if bad_pattern is not None:
        st.error(f"Not a regular expression: {streamlit_text(bad_pattern)}")  # quotes the pattern typed
    filtered = _filtered(ctx.runs)["run"].tolist()
    if (pattern or choices) and filtered:
        st.button(
            "Compare the filtered runs",
            key="runs.compare_filtered",
            on_click=lambda names: st.session_state.update(compare=names),
            args=(filtered[:10],),
            help="Up to 10, replacing the sidebar selection.",
        )
