"""Runs page: filter the runs table, and the compared runs' curves, refreshed while runs run."""

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
settings = data.hparams(ctx.runs_dir, ctx.runs) if len(ctx.runs) else None  # with the device, for prices
hparams = split_run_info(settings)[0] if settings is not None else ctx.runs[["run"]]  # what to filter by
left, right = st.columns(2)
pattern = left.text_input(
    "Filter by name (regular expression, RE2 syntax)",
    key="runs.pattern",
    placeholder="e.g. resnet|vit",
    max_chars=MAX_PATTERN_CHARS,
    help="Matched anywhere in the run's name, in time linear in the name: no backreferences or lookaround.",
)
choices = right.multiselect(
    "Filter by hyperparameter",
    hparam_choices(hparams),
    key="runs.hparams",
    help="Keys that differ between runs. Several values of one key: any of them; several keys: all of them.",
)


try:
    compile_name_filter(pattern)
except re.error as exc:
    st.error(f"Not a regular expression: {streamlit_text(exc)}")  # quotes the pattern typed
    pattern = ""


def _filtered(runs):
    return filter_runs(runs, hparams, pattern=pattern, choices=choices)


filtered = _filtered(ctx.runs)["run"].tolist()
if (pattern or choices) and filtered:
    st.button(
        "Compare the filtered runs",
        key="runs.compare_filtered",
        on_click=lambda names: st.session_state.update(compare=names),
        args=(filtered[:10],),
        help="Up to 10, replacing the sidebar selection.",
    )


def body() -> None:
    runs = ctx.fresh_runs()
    banner = st.container()  # filled last: the alerts never delay the table or the chart
    table = st.container()  # filled after the chart is sent; a container keeps the table shown meanwhile
    panels.curves_panel(ctx, runs, ctx.compared, key="runs.curves")
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
