"""Run details page: one run's summary, its ranks' health (a job with one log per rank), every
curve, its events with the log lines around them, and its tables as CSV/Parquet.  Chosen by
``?run=NAME`` (the Hyperparameters page links here)."""

import streamlit as st

from dashboard import panels, state
from dashboard.rank_panel import ranks_view
from dashboard.run_panels import downloads, event_list, run_curves, summary
from dashboard.safe_text import streamlit_text

ctx = state.context()
if ctx is None:
    st.stop()
if not len(ctx.runs):
    st.header("Run details")
    st.info("No runs yet.")
    st.stop()

names = ctx.runs["run"].tolist()
wanted = st.query_params.get("run")
default = wanted if wanted in names else (ctx.compared[0] if ctx.compared else names[0])
run = st.selectbox("Run", names, index=names.index(default))
st.query_params["run"] = run
st.header(streamlit_text(run))  # a folder name: text, never Markdown


def body() -> None:
    runs = ctx.fresh_runs()
    summary(ctx, runs, run)
    ranks_view(ctx, runs, run)
    run_curves(ctx, runs, run)


panels.live(ctx, body)
event_list(ctx, run)
downloads(ctx, run)
