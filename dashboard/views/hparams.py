"""Hyperparameters page: what differs between the compared runs, and hyperparameters against results.

Run information (name, times, command line, versions, paths, device, sweep point, figures
derived from the data: ``parsers.insights.run_info``) is kept apart, in its own table: it is
not a choice, and as an axis it would make every run look different."""

import streamlit as st

from dashboard import data, state
from dashboard.figures import parallel_figure
from dashboard.safe_text import streamlit_text
from dashboard.tables import (
    RESULTS,
    differing_keys,
    highlight_differences,
    hparam_text,
    parallel_table,
    reference_run,
)
from parsers.store.configs import NOT_READ

ctx = state.context()
if ctx is None:
    st.stop()

st.header("Hyperparameters")
if not len(ctx.runs):
    st.info("No runs yet.")
    st.stop()
hparams = data.hparams(ctx.runs_dir, ctx.runs, part="hyper")
info = data.hparams(ctx.runs_dir, ctx.runs, part="info")
names = [r for r in [ctx.baseline, *ctx.compared] if r] or ctx.runs["run"].head(5).tolist()
chosen = hparams[hparams["run"].isin(names)]
bare = chosen["run"][chosen.drop(columns="run").isna().all(axis=1)].tolist()
chosen = chosen[~chosen["run"].isin(bare)]
keys = differing_keys(chosen)
show_all = st.toggle("Show keys that are the same in every run", key="hparams.all")
present = [c for c in chosen.columns if c != "run" and chosen[c].notna().any()]
columns = ["run", *present] if show_all else ["run", *keys]
if len(chosen) < 2:
    st.info("Compare at least two runs (sidebar) to see what differs between them.")
elif not keys:
    st.success("The compared runs have the same hyperparameters.")
reference = reference_run(chosen, ctx.baseline)
why = "the baseline" if reference == ctx.baseline else "the run with most keys"
missing = f" No hyperparameters found for: {streamlit_text(', '.join(bare))}." if bare else ""
st.caption(
    f"{len(keys)} of {len(hparams.columns) - 1} keys differ between the {len(chosen)} runs compared; "
    f"cells that differ from {streamlit_text(reference)} ({why}) are highlighted.{missing}"
)
for name in names:  # a config the store refused (size, aliases, nesting, keys) or could not parse
    source = data.meta(ctx.runs_dir, name).get("hparams_source") or ""
    if NOT_READ in source:
        st.warning(streamlit_text(f"{name}: {source}"), icon=":material/warning:")
st.dataframe(
    highlight_differences(chosen[columns], reference=ctx.baseline), hide_index=True, key="hparams.table"
)
about = info[info["run"].isin(names)]
about = about[["run", *[c for c in about.columns if c != "run" and about[c].notna().any()]]]
with st.expander(
    f"Run information: {len(about.columns) - 1} keys (name, times, command, versions, paths...)"
):
    st.dataframe(about.map(hparam_text).astype("string"), hide_index=True, key="hparams.info")

left, right = st.columns([3, 2])
run = left.selectbox(
    "Open a run", hparams["run"].tolist(), index=None, key="hparams.open", placeholder="choose a run"
)
if run:
    right.page_link(
        "views/run.py",
        label=f"Open {streamlit_text(run)}",
        icon=":material/arrow_forward:",
        query_params={"run": run},
    )

st.subheader("Hyperparameters against results")
scope = st.segmented_control("Runs", ["compared", "all"], default="all", key="hparams.scope") or "all"
table, color = parallel_table(ctx.runs, hparams, runs_shown=names if scope == "compared" else None)
keys = [c for c in table.columns if c not in RESULTS.values()]
st.plotly_chart(parallel_figure(table, color=color, exact_ticks=keys), key="hparams.parallel")
st.caption(
    "Hyperparameters that differ between the runs shown, then results. Drag along an axis to select a range; "
    "text values are spread over their axis in alphabetical order; hover a label for the full key."
)
