"""The pieces of the run details page: summary cards, all curves, events in context, downloads.

Log text (event messages, the lines around them, error reasons) is only ever put
in ``st.code``/``st.dataframe`` cells, which show text as text: never Markdown or HTML.
Names that end up in Markdown -- a metric's in the "best eval" card, the log's path, an
event kind in an expander label -- go through ``streamlit_text`` first.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import data, panels, series
from dashboard.alert_banner import alerts_of, curve_alerts
from dashboard.curves import curve_figure
from dashboard.panels import outliers_toggle, smoothing_slider
from dashboard.safe_text import streamlit_text
from dashboard.state import Context
from parsers.events import is_event_file
from parsers.humanize import duration_ms, loss, number

__all__ = ["downloads", "event_list", "run_curves", "summary"]

# Events shown with their surrounding lines, worst kinds first.
CONTEXT_EVENTS = 20
# Lines shown before and after an event: a traceback continues below its first line.
CONTEXT_BEFORE, CONTEXT_AFTER = 3, 8
KIND_ORDER = (
    "traceback",
    "error",
    "nan",
    "overflow",
    "interrupt",
    "resume",
    "warning",
    "start",
    "finish",
    "checkpoint",
)


def _row(runs: pd.DataFrame, run: str) -> dict:
    rows = runs[runs["run"] == run]
    return rows.iloc[0].to_dict() if len(rows) else {}


def _value(row: dict, key: str):
    value = row.get(key)
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def summary(ctx: Context, runs: pd.DataFrame, run: str) -> None:
    """Status, progress, losses, speed and time of one run as metric cards; an error row's reason."""
    row = _row(runs, run)
    if row.get("status") == "error":
        st.error("This run could not be read:")
        st.code(str(row.get("error") or "unknown error"), language=None)
        return
    total = _value(row, "total_epochs")
    best = _value(row, "best_value")
    cards = {
        "status": str(row.get("status", "-")),
        "epochs": f"{number(_value(row, 'epochs_done'))}" + (f" / {number(total)}" if total else ""),
        "last loss": loss(_value(row, "last_loss")),
        "min loss": loss(_value(row, "min_loss")),
        "best eval": f"{_value(row, 'best_metric')} {best:.4g}" if best is not None else "-",
        "epoch time": duration_ms(_value(row, "mean_epoch_time_ms")),
        "samples/s": number(_value(row, "samples_per_sec")),
        "wall time": _seconds(_value(row, "wall_time_s")),
        "ETA": _seconds(_value(row, "eta_s")) if row.get("status") == "running" else "-",
        "cost so far": _cost(ctx, runs, run),
    }
    items = list(cards.items())
    for line in (items[:5], items[5:]):
        for column, (label, value) in zip(st.columns(5), line):
            column.metric(label, streamlit_text(value))  # a metric is named by its log
    st.caption(_sources(ctx, row, run))


def _sources(ctx: Context, row: dict, run: str) -> str:
    """Where the run's figures came from: its log, the formats detected, the hyperparameters'
    file (or why a config beside the log was not read: ``parsers.store.configs``' caps)."""
    formats = _value(row, "formats")
    where = Path(str(row.get("path", ""))) / str(row.get("log", ""))
    hparams = data.meta(ctx.runs_dir, run).get("hparams_source") or "none found"
    parts = {"log": where, "formats": formats if formats is not None else "-", "hyperparameters": hparams}
    return " · ".join(f"{name}: {streamlit_text(value)}" for name, value in parts.items())


def _cost(ctx: Context, runs: pd.DataFrame, run: str) -> str:
    costs = panels.costs(
        ctx, runs[runs["run"] == run].reset_index(drop=True), data.hparams(ctx.runs_dir, ctx.runs)
    )
    if not len(costs) or pd.isna(costs["cost_so_far"].iloc[0]):
        return "-"
    return f"{costs['cost_so_far'].iloc[0]:,.2f} {costs['currency'].iloc[0]}"


def _seconds(value) -> str:
    return duration_ms(None if value is None else float(value) * 1000.0)


def run_curves(ctx: Context, runs: pd.DataFrame, run: str) -> None:
    """Every metric the run has, two charts per row, against the chosen x axis."""
    tables = {t: data.run_tables(ctx.runs_dir, runs, [run], t).get(run) for t in data.TABLES}
    if tables["steps"] is None:
        return
    metrics = series.metrics_of(tables["steps"], tables["epochs"], tables["evals"])
    if not metrics:
        st.info("No loss, time or eval values in this log.")
        return
    left, mid, right = st.columns([2, 2, 3])
    x = left.segmented_control("x axis", list(series.AXES), default="step", key="run.x") or "step"
    outliers = outliers_toggle(mid, key="run.outliers")
    smoothing = smoothing_slider(right, key="run.smooth")
    marks = alerts_of(curve_alerts(ctx.runs_dir, runs, [run], panels.prices(ctx)), run)
    columns = st.columns(2)
    for i, (key, metric) in enumerate(metrics.items()):
        curve = series.curve(tables["steps"], tables["epochs"], tables["evals"], metric=key, x=x)
        events = series.event_points(tables["events"], curve)
        fig = curve_figure(
            {run: curve},
            title=metric.title,
            x_title=series.AXES[x],
            y_title=metric.title,
            smoothing=smoothing,
            per_step=metric.per_step,
            events={run: events},
            alerts={run: series.alert_points(marks, curve)},
            first_epoch={run: series.first_epoch_end(tables["steps"], tables["epochs"], x=x)},
            ignore_outliers=outliers,
        )
        fig.update_layout(height=380, showlegend=False)
        columns[i % 2].plotly_chart(fig, key=f"run.chart.{key}")


def _log_path(ctx: Context, run: str) -> Path | None:
    """The run's one log file (events of a multi-file run do not say which file they came from)."""
    logs = data.meta(ctx.runs_dir, run).get("logs") or []
    if len(logs) != 1 or not logs[0].get("location"):
        return None
    path = Path(str(logs[0]["location"]))
    if is_event_file(path.name):  # records, not lines: no text around an event to show
        return None
    return path if path.is_file() else None


def event_list(ctx: Context, run: str) -> None:
    """The run's events as a table, and the log lines around the worst of them."""
    events = data.run_tables(ctx.runs_dir, ctx.runs, [run], "events").get(run)
    st.subheader("Events")
    if events is None or not len(events):
        st.caption("No events (NaN, overflow, errors, restarts, checkpoints...) in this log.")
        return
    kinds = [k for k in KIND_ORDER if k in set(events["kind"].astype(str))]
    kinds += sorted(set(events["kind"].astype(str)) - set(kinds))
    chosen = st.multiselect(
        "Kinds",
        kinds,
        default=[k for k in kinds if k not in ("checkpoint", "start")] or kinds,
        key="run.kinds",
    )
    rows = events[events["kind"].isin(chosen)].sort_values("line")
    st.dataframe(
        rows[["kind", "epoch", "line", "message"]],
        hide_index=True,
        key="run.events",
        column_config={"message": st.column_config.TextColumn(width="large")},
    )
    _contexts(ctx, run, rows)


def _contexts(ctx: Context, run: str, rows: pd.DataFrame) -> None:
    path = _log_path(ctx, run)
    if path is None or not len(rows):
        return
    order = {k: i for i, k in enumerate(KIND_ORDER)}
    worst = (
        rows.assign(o=rows["kind"].map(order).fillna(len(order)))
        .sort_values(["o", "line"])
        .head(CONTEXT_EVENTS)
    )
    lines = tuple(int(n) for n in worst["line"].dropna())
    around = data.context_lines(ctx.runs_dir, str(path), lines, CONTEXT_BEFORE, CONTEXT_AFTER)
    st.caption(f"Log lines around {len(lines)} of {len(rows)} events (worst kinds first).")
    for i, record in enumerate(worst.to_dict("records")):
        target = int(record["line"])
        with st.expander(streamlit_text(f"line {target}: {record['kind']}"), expanded=i == 0):
            text = "\n".join(f"{'>' if n == target else ' '} {n:>7}  {t}" for n, t in around.get(target, []))
            st.code(text or "(line not found)", language=None)


def downloads(ctx: Context, run: str) -> None:
    """Each table as CSV and Parquet; the file is built only when its button is clicked."""
    st.subheader("Tables")
    columns = st.columns(len(data.TABLES))
    for column, name in zip(columns, data.TABLES):
        table = data.run_tables(ctx.runs_dir, ctx.runs, [run], name).get(run)
        if table is None:
            continue
        column.markdown(f"**{name}** ({len(table):,} row{'' if len(table) == 1 else 's'})")
        column.download_button(
            "CSV",
            lambda t=table: t.to_csv(index=False),
            file_name=f"{run}-{name}.csv",
            mime="text/csv",
            key=f"run.csv.{name}",
            on_click="ignore",
            icon=":material/download:",
        )
        column.download_button(
            "Parquet",
            lambda t=table: _parquet(t),
            file_name=f"{run}-{name}.parquet",
            mime="application/octet-stream",
            key=f"run.parquet.{name}",
            on_click="ignore",
            icon=":material/download:",
        )


def _parquet(table: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()
