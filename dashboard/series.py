"""One run's tables as (x, y) curves: which metric, against step, epoch or training time.

The schema's steps table has a global step and an epoch but no clock, so the
"training time" axis is estimated from what the log printed: per-step times when
most steps have one (times the gap between printed steps), else each epoch's
time spread evenly over its steps.  Axis labels say "estimated" for that reason.
Only the lowest rank of a multi-rank log is drawn: ranks print near-identical
curves that would zigzag when interleaved.  Pure pandas; no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.analysis import time_weighted_ema

__all__ = [
    "AXES",
    "METRICS",
    "Metric",
    "alert_points",
    "curve",
    "event_points",
    "first_epoch_end",
    "metric_of",
    "metrics_of",
    "minus_baseline",
    "step_axes",
]

# x-axis choices: key -> axis title.
AXES = {"step": "global step", "epoch": "epoch", "time": "training time (h, estimated from printed times)"}


@dataclass(frozen=True)
class Metric:
    """A y quantity: the table it lives in, its column (or eval metric name), its axis title."""

    table: str  # steps | epochs | evals
    column: str
    title: str
    per_step: bool  # drawn smoothed (many noisy points) or as lines+markers (one per epoch)


METRICS = {
    "loss": Metric("steps", "loss", "loss", True),
    "lr": Metric("steps", "lr", "learning rate", True),
    "loss_scale": Metric("steps", "loss_scale", "loss scale", True),
    "step_time_ms": Metric("steps", "step_time_ms", "step time (ms)", True),
    "epoch_time": Metric("epochs", "epoch_time_ms", "epoch time (s)", False),
    "throughput": Metric("epochs", "samples_per_sec", "throughput (samples/s)", False),
}


def metrics_of(
    steps: pd.DataFrame, epochs: pd.DataFrame, evals: pd.DataFrame, scalars: pd.DataFrame | None = None
) -> dict[str, Metric]:
    """The metrics that have at least one value in these tables (several runs may be concatenated);
    with ``scalars`` (a run's summary / event file scalars), every recorded tag too, as ``tag:<tag>``."""
    tables = {"steps": steps, "epochs": epochs}
    found = {
        k: m for k, m in METRICS.items() if len(tables[m.table]) and tables[m.table][m.column].notna().any()
    }
    for name in evals["metric"].dropna().unique().tolist() if len(evals) else []:
        found[f"eval:{name}"] = Metric("evals", str(name), f"eval {name}", False)
    for tag in scalars["tag"].dropna().unique().tolist() if scalars is not None and len(scalars) else []:
        found[f"tag:{tag}"] = metric_of(f"tag:{tag}")
    return found


def _lowest_rank(table: pd.DataFrame) -> pd.DataFrame:
    if "rank" not in table or not table["rank"].notna().any():
        return table
    return table[table["rank"] == table["rank"].min()]


def step_axes(steps: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Steps of the lowest rank, sorted, with ``epoch_x`` (fractional epoch) and ``time_h``."""
    rows = _lowest_rank(steps).dropna(subset=["global_step"]).sort_values(["global_step", "line"])
    rows = rows.reset_index(drop=True)
    gs = rows["global_step"].to_numpy(dtype=float)
    epoch = rows["epoch"].to_numpy(dtype=float, na_value=np.nan)
    rows["epoch_x"] = _fractional_epoch(gs, epoch)
    rows["time_h"] = _step_hours(rows, gs, epochs)
    return rows


def _fractional_epoch(gs: np.ndarray, epoch: np.ndarray) -> np.ndarray:
    """(epoch - 1) + the share of the epoch's steps done, from the typical steps per epoch."""
    if not len(gs) or np.isnan(epoch).all():
        return np.full(len(gs), np.nan)
    gap = float(np.median(np.diff(gs))) if len(gs) > 1 else 1.0
    frame = pd.DataFrame({"gs": gs, "epoch": epoch}).dropna()
    first = frame.groupby("epoch")["gs"].min()
    spans = np.diff(first.to_numpy())
    per_epoch = float(np.median(spans)) if len(spans) else float(frame["gs"].max() - first.iloc[0] + gap)
    start = pd.Series(epoch).map(first).to_numpy(dtype=float)
    within = np.clip((gs - start + gap) / max(per_epoch, 1.0), 0.0, 1.0)
    return (epoch - 1.0) + within


def _step_hours(rows: pd.DataFrame, gs: np.ndarray, epochs: pd.DataFrame) -> np.ndarray:
    """Estimated training time at each step: printed step times, else epoch times spread evenly."""
    step_ms = rows["step_time_ms"].to_numpy(dtype=float, na_value=np.nan)
    if len(step_ms) and np.isfinite(step_ms).mean() > 0.5:
        gaps = np.diff(gs, prepend=gs[0] - 1.0) if len(gs) else gs
        filled = np.where(np.isfinite(step_ms), step_ms, np.nanmean(step_ms))
        return np.cumsum(filled * np.maximum(gaps, 1.0)) / 3.6e6
    times = _epoch_ms(epochs)
    if times is None or rows["epoch"].isna().all():
        return np.full(len(rows), np.nan)
    start_ms = times.cumsum() - times
    epoch = rows["epoch"].astype(float)
    frac = rows["epoch_x"].to_numpy(dtype=float) - (epoch.to_numpy() - 1.0)
    return (epoch.map(start_ms).to_numpy(dtype=float) + frac * epoch.map(times).to_numpy(dtype=float)) / 3.6e6


def _epoch_ms(epochs: pd.DataFrame, last: int | None = None) -> pd.Series | None:
    """Time of every epoch 1..last (missing ones get the mean), indexed by epoch; None without times."""
    timed = _lowest_rank(epochs).dropna(subset=["epoch", "epoch_time_ms"])
    if not len(timed):
        return None
    per = timed.groupby(timed["epoch"].astype(int))["epoch_time_ms"].first()
    top = max(int(per.index.max()), last or 0)
    return per.reindex(range(1, top + 1)).fillna(per.mean()).astype(float)


def metric_of(key: str) -> Metric:
    """The metric named ``key``: one of ``METRICS``, ``eval:<name>`` or ``tag:<recorded tag>``."""
    if key in METRICS:
        return METRICS[key]
    if key.startswith("tag:"):
        return Metric("scalars", key.removeprefix("tag:"), f"tag {key.removeprefix('tag:')}", True)
    name = key.removeprefix("eval:")
    return Metric("evals", name, f"eval {name}", False)


def curve(
    steps: pd.DataFrame,
    epochs: pd.DataFrame,
    evals: pd.DataFrame,
    *,
    metric: str,
    x: str,
    axes: pd.DataFrame | None = None,
    scalars: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``x``, ``y`` (and ``line``) of one run's ``metric`` against axis ``x`` (a key of ``AXES``);
    ``axes`` is ``step_axes(steps, epochs)`` when the caller has it already; ``scalars`` holds
    the recorded tags a ``tag:`` metric is drawn from."""
    spec = metric_of(metric)
    axes = step_axes(steps, epochs) if axes is None else axes
    if spec.table == "scalars":
        return _tag_curve(scalars, spec.column, x, axes)
    if spec.table == "steps":
        column = {"step": "global_step", "epoch": "epoch_x", "time": "time_h"}[x]
        out = pd.DataFrame({"x": axes[column].astype(float), "y": axes[spec.column].astype(float)})
        out["line"] = axes["line"].to_numpy()
        return out.dropna(subset=["x"]).reset_index(drop=True)
    rows = _epoch_rows(spec, epochs, evals)
    ends = _epoch_ends(axes, epochs, x, rows["epoch"])
    out = pd.DataFrame({"x": ends, "y": rows["value"].to_numpy(dtype=float), "line": rows["line"].to_numpy()})
    return out.dropna(subset=["x"]).sort_values("x").reset_index(drop=True)


def _tag_curve(scalars: pd.DataFrame | None, tag: str, x: str, axes: pd.DataFrame) -> pd.DataFrame:
    """A recorded tag by step (its last value where a step was recorded twice); on the epoch axis
    placed by the run's steps, on the time axis by its own wall times (measured, not estimated)."""
    if scalars is None or not len(scalars):
        return pd.DataFrame({"x": [], "y": [], "line": []})
    rows = scalars[(scalars["tag"] == tag).to_numpy(dtype=bool, na_value=False)]
    rows = rows.drop_duplicates("step", keep="last").sort_values("step")
    step = rows["step"].to_numpy(dtype=float, na_value=np.nan)
    wall = rows["wall_time"].to_numpy(dtype=float, na_value=np.nan)
    if x == "step":
        where = step
    elif x == "time":
        where = (wall - np.nanmin(scalars["wall_time"].to_numpy(dtype=float, na_value=np.nan))) / 3600.0
    else:
        where = _epoch_at(axes, step)
    out = pd.DataFrame({"x": where, "y": rows["value"].to_numpy(dtype=float), "line": np.nan})
    return out.dropna(subset=["x"]).reset_index(drop=True)


def _epoch_at(axes: pd.DataFrame, step: np.ndarray) -> np.ndarray:
    """The fractional epoch at each step, interpolated along the run's steps (NaN outside them)."""
    known = axes.dropna(subset=["epoch_x"])
    if not len(known):
        return np.full(len(step), np.nan)
    gs, ex = known["global_step"].to_numpy(dtype=float), known["epoch_x"].to_numpy(dtype=float)
    return np.interp(step, gs, ex, left=np.nan, right=np.nan)


def _epoch_rows(spec: Metric, epochs: pd.DataFrame, evals: pd.DataFrame) -> pd.DataFrame:
    """epoch, value, line of an epoch-level metric (epoch time in seconds)."""
    if spec.table == "evals":
        rows = _lowest_rank(evals)
        rows = rows[rows["metric"] == spec.column].sort_values("line")
        epoch = rows["epoch"].astype(float)
        epoch = epoch.fillna(epoch.max() if epoch.notna().any() else 1.0)  # a final eval naming no epoch
        return pd.DataFrame({"epoch": epoch, "value": rows["value"].astype(float), "line": rows["line"]})
    rows = _lowest_rank(epochs).dropna(subset=["epoch", spec.column]).sort_values("epoch")
    scale = 1e-3 if spec.column == "epoch_time_ms" else 1.0
    return pd.DataFrame(
        {"epoch": rows["epoch"].astype(float), "value": rows[spec.column] * scale, "line": rows["line"]}
    )


def _epoch_ends(axes: pd.DataFrame, epochs: pd.DataFrame, x: str, epoch: pd.Series) -> np.ndarray:
    """Where on axis ``x`` each epoch ends: its number, its last global step, or the time so far."""
    epoch = epoch.astype(float)
    if x == "epoch":
        return epoch.to_numpy()
    if x == "step":
        last = axes.dropna(subset=["epoch"]).groupby(axes["epoch"].astype(float))["global_step"].max()
        return epoch.map(last.astype(float)).to_numpy(dtype=float)
    times = _epoch_ms(epochs, int(epoch.max()) if len(epoch) else None)
    if times is None:
        return np.full(len(epoch), np.nan)
    ends = times.cumsum() / 3.6e6
    return epoch.map(lambda e: ends.get(int(e), np.nan)).to_numpy(dtype=float)


def event_points(events: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Events placed on a curve: at the x of the last point logged at or before the event's line."""
    rows = events.dropna(subset=["line"])
    known = points.dropna(subset=["line"]).sort_values("line")
    if not len(rows) or not len(known):
        return pd.DataFrame({"x": [], "kind": [], "message": [], "line": []})
    lines = known["line"].to_numpy(dtype=float)
    at = np.searchsorted(lines, rows["line"].to_numpy(dtype=float), side="right") - 1
    x = known["x"].to_numpy(dtype=float)[np.clip(at, 0, None)]
    return pd.DataFrame(
        {
            "x": x,
            "kind": rows["kind"].astype(str).to_numpy(),
            "message": rows["message"].astype(str).to_numpy(),
            "line": rows["line"].to_numpy(),
        }
    )


def alert_points(alerts: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Alerts (``parsers.insights.alerts`` rows: ``rule``/``detail``/``line``) placed on a curve
    as ``event_points`` places events: ``kind`` is the rule, ``message`` its detail."""
    rows = alerts.rename(columns={"rule": "kind", "detail": "message"})[["kind", "message", "line"]]
    return event_points(rows, points)


def first_epoch_end(
    steps: pd.DataFrame, epochs: pd.DataFrame, *, x: str, axes: pd.DataFrame | None = None
) -> float | None:
    """Where epoch 1 (graph compilation and warm-up on Ascend) ends on axis ``x``; None when the
    log does not show epoch 1 ending (no time line for it and no step of a later epoch)."""
    ended = (epochs["epoch"] == 1).any() or (steps["epoch"] > 1).any()
    if not ended:
        return None
    if x == "epoch":
        return 1.0
    axes = step_axes(steps, epochs) if axes is None else axes
    ends = _epoch_ends(axes, epochs, x, pd.Series([1.0]))
    value = float(ends[0]) if len(ends) else float("nan")
    return value if np.isfinite(value) else None


def minus_baseline(
    curves: dict[str, pd.DataFrame], baseline: str, *, smoothing: float
) -> dict[str, pd.DataFrame]:
    """Each other run's ``y`` minus the baseline's (smoothed, when the chart smooths) at the same x,
    interpolated; outside the baseline's x range the difference is unknown and left out."""
    base = curves[baseline]
    base = base[np.isfinite(base["y"].to_numpy(dtype=float))]
    if not len(base):
        return {}
    bx = base["x"].to_numpy(dtype=float)
    by = base["y"].to_numpy(dtype=float)
    if smoothing > 0:
        by = time_weighted_ema(bx, by, weight=smoothing)
    out = {}
    for run, frame in curves.items():
        if run == baseline:
            continue
        ref = np.interp(frame["x"].to_numpy(dtype=float), bx, by, left=np.nan, right=np.nan)
        shifted = frame.assign(y=frame["y"].to_numpy(dtype=float) - ref)
        out[run] = shifted[np.isfinite(ref)].reset_index(drop=True)
    return out
