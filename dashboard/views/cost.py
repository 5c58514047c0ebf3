"""Cost & time page: the price table (saved to TOML), cost per run, and the convergence advisor."""

import streamlit as st

from dashboard import data, panels, state
from dashboard.analysis import DEFAULT_TOLERANCE
from dashboard.figures import cost_figure
from dashboard.safe_text import streamlit_text
from dashboard.tables import advice_table, cost_view
from parsers.insights.cost import PriceError, prices_frame, prices_from_frame, save_prices

ctx = state.context()
if ctx is None:
    st.stop()

st.header("Cost & time")
st.subheader("Prices")
st.caption(
    f"Saved to {streamlit_text(ctx.settings.prices)}. A run is priced by the row whose device names its "
    "`device_target` hyperparameter, else by the first row."
)
edited = st.data_editor(
    prices_frame(panels.prices(ctx)),
    num_rows="dynamic",
    hide_index=True,
    key="cost.prices",
    column_config={
        "device": st.column_config.TextColumn("device", required=True),
        "devices": st.column_config.NumberColumn("devices per job", min_value=1, step=1, required=True),
        "price_per_device_hour": st.column_config.NumberColumn(
            "price per device-hour", min_value=0.0, format="%.2f", required=True
        ),
        "currency": st.column_config.TextColumn("currency", required=True),
    },
)
if st.button("Save prices", key="cost.save", icon=":material/save:"):
    try:
        save_prices(ctx.settings.prices, prices_from_frame(edited))
        st.success(f"Saved {streamlit_text(ctx.settings.prices)}")
    except PriceError as exc:
        st.error(streamlit_text(exc))  # may quote what was typed into the table

if not len(ctx.runs):
    st.info("No runs yet.")
    st.stop()
hparams = data.hparams(ctx.runs_dir, ctx.runs)
costs = panels.costs(ctx, ctx.runs, hparams)
st.subheader("Cost per run")
panels.cost_totals(costs, ctx.runs)
st.dataframe(
    cost_view(ctx.runs, costs),
    hide_index=True,
    key="cost.table",
    column_config=panels.COST_COLUMNS,
    placeholder="–",
)
compared = costs[costs["run"].isin(ctx.compared)]
if len(compared):
    st.plotly_chart(
        cost_figure(compared, currency=" / ".join(compared["currency"].unique())), key="cost.chart"
    )

st.subheader("Convergence advisor")
st.caption(
    "The epoch after which the loss (or an eval metric) stopped improving by more than the tolerance, "
    "and what stopping there would have saved. Compared runs only."
)
left, right = st.columns(2)
tolerance = (
    left.slider(
        "Tolerance (% of the run's range of values)",
        0.1,
        10.0,
        DEFAULT_TOLERANCE * 100,
        0.1,
        key="cost.tolerance",
    )
    / 100.0
)
tables = {t: data.run_tables(ctx.runs_dir, ctx.runs, ctx.compared, t) for t in ("steps", "epochs", "evals")}
metrics = sorted({m for t in tables["evals"].values() for m in t["metric"].dropna().unique()})
basis = right.selectbox(
    "Judge by",
    ["loss", *metrics],
    key="cost.basis",
    format_func=lambda m: "mean loss per epoch" if m == "loss" else f"eval {m}",
)
st.dataframe(
    advice_table(ctx.runs, costs, tables, metric=None if basis == "loss" else basis, tolerance=tolerance),
    hide_index=True,
    key="cost.advice",
    column_config=panels.COST_COLUMNS,
    placeholder="–",
)
