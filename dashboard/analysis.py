"""Figures the dashboard derives from parsed tables: smoothing, convergence, cost, deltas.

Pure functions over the schema's tables (``parsers.schema``) and the run store's
one-row-per-run table, with no Streamlit import, so they are unit-tested on real
logs and could serve ``parse-log`` too.  The run store already computes status,
ETA and wall time per run; nothing here re-derives those, it builds on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parsers.compare import delta
from parsers.insights.direction import higher_is_better

__all__ = [
    "DEFAULT_SMOOTHING",
    "DEFAULT_TOLERANCE",
    "Advice",
    "advise",
    "baseline_deltas",
    "convergence_epoch",
    "epoch_series",
    "half_life_share",
    "higher_is_better",
    "most_recent",
    "time_weighted_ema",
]

# W&B's smoothing parameter (0..1); 0.9 halves a point's weight over ~1.3% of the chart's x range.
DEFAULT_SMOOTHING = 0.9
# "Stopped improving": no later epoch beat the best so far by more than this share of the range.
DEFAULT_TOLERANCE = 0.01
# W&B's constant: the decay is expressed per 1/1000 of the chart's x range.
VIEWPORT_SCALE = 1000.0
# exp(CHUNK_SPAN) must stay far from float overflow; see time_weighted_ema.
CHUNK_SPAN = 50.0


def time_weighted_ema(
    x: np.ndarray, y: np.ndarray, *, weight: float = DEFAULT_SMOOTHING, x_range: float | None = None
) -> np.ndarray:
    """W&B's time-weighted EMA: each point is the average of the earlier ones, weighted by
    ``w ** (distance in x / x_range * 1000)`` with ``w = min(sqrt(weight), 0.999)``.

    Weights depend on x distance, not on point count, so a run that logs every step
    and one that logs every 100 steps are smoothed alike when the same ``x_range``
    (the chart's) is passed for both.  Non-finite ``y`` are left out of the average
    and come back as NaN.  Vectorised in chunks whose decay spans at most
    ``exp(CHUNK_SPAN)``, so 100,000 points take milliseconds and nothing overflows.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = np.full(len(y), np.nan)
    ok = np.isfinite(y) & np.isfinite(x)
    if not ok.any():
        return out
    xs, ys = x[ok], y[ok]
    w = min(math.sqrt(max(weight, 0.0)), 0.999)
    span = x_range if x_range and x_range > 0 else float(xs.max() - xs.min())
    if w <= 0.0 or span <= 0.0:
        out[ok] = ys
        return out
    t = (xs - xs[0]) * (-math.log(w) * VIEWPORT_SCALE / span)  # decay "time": weight = exp(-dt)
    out[ok] = _chunked_ema(t, ys)
    return out


def _chunked_ema(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """sum_j y_j e^-(t_i-t_j) / sum_j e^-(t_i-t_j) over j <= i, carrying sums across chunks."""
    out = np.empty(len(y))
    num = den = 0.0
    last_t = t[0]
    start = 0
    while start < len(t):
        stop = max(int(np.searchsorted(t, t[start] + CHUNK_SPAN, side="right")), start + 1)
        t0 = t[start]
        grow = np.exp(t[start:stop] - t0)
        carry = math.exp(-(t0 - last_t))
        nums = num * carry + np.cumsum(y[start:stop] * grow)
        dens = den * carry + np.cumsum(grow)
        out[start:stop] = nums / dens
        shrink = math.exp(-(t[stop - 1] - t0))
        num, den, last_t = nums[-1] * shrink, dens[-1] * shrink, t[stop - 1]
        start = stop
    return out


def half_life_share(weight: float) -> float:
    """The share of the x range over which a point's weight halves, for the slider's help text."""
    w = min(math.sqrt(max(weight, 0.0)), 0.999)
    return 0.0 if w <= 0.0 else math.log(0.5) / math.log(w) / VIEWPORT_SCALE


def convergence_epoch(
    values: pd.Series, *, tolerance: float = DEFAULT_TOLERANCE, maximize: bool
) -> int | None:
    """The first epoch after which no later epoch improved on the best so far by more than
    ``tolerance`` times the run's whole range of values; ``values`` is indexed by epoch, sorted.

    The range, not the best value, is the scale: a loss that reaches 0.000 or an accuracy near
    1.0 would make a tolerance relative to the best meaningless or far too loose."""
    values = values[np.isfinite(values.astype(float))].astype(float)
    if len(values) < 2:
        return None
    signed = values if maximize else -values
    best_so_far = signed.cummax()
    final = float(best_so_far.iloc[-1])
    scale = float(values.max() - values.min())
    close = best_so_far >= final - tolerance * scale
    return int(close.idxmax())


def epoch_series(steps: pd.DataFrame, evals: pd.DataFrame, *, metric: str | None = None) -> pd.Series:
    """One value per epoch: the eval ``metric`` when given, else the mean finite step loss."""
    if metric is not None:
        rows = evals[(evals["metric"] == metric) & evals["epoch"].notna()]
        return rows.groupby(rows["epoch"].astype(int))["value"].last().sort_index()
    rows = steps[steps["epoch"].notna() & np.isfinite(steps["loss"].astype(float))]
    return rows.groupby(rows["epoch"].astype(int))["loss"].mean().sort_index()


@dataclass(frozen=True)
class Advice:
    """Where a run stopped improving and what stopping there would have saved."""

    basis: str  # "mean loss per epoch" or "eval <metric>"
    epoch: int  # last epoch that still improved by more than the tolerance
    last_epoch: int  # last epoch with a value
    value: float  # the basis value at ``epoch``
    best: float  # the best value over the whole run
    saved_s: float  # training time of the epochs after ``epoch`` (measured, or mean epoch time)
    remaining_s: float  # ETA still to come for a running run (0 when finished)

    @property
    def converged(self) -> bool:
        """Some epoch after ``epoch`` ran without improving: stopping earlier was possible."""
        return self.epoch < self.last_epoch

    def saved_cost(self, rate_per_hour: float) -> float:
        """Money that stopping after ``epoch`` would have saved: the epochs run since and, for a
        run that has converged, the time it still has to run; nothing while it still improves."""
        remaining = self.remaining_s if self.converged else 0.0
        return (self.saved_s + remaining) / 3600.0 * rate_per_hour


def advise(
    steps: pd.DataFrame,
    epochs: pd.DataFrame,
    evals: pd.DataFrame,
    *,
    metric: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    mean_epoch_time_ms: float | None = None,
    eta_s: float | None = None,
) -> Advice | None:
    """The convergence advisor for one run; None when fewer than two epochs have a value."""
    values = epoch_series(steps, evals, metric=metric)
    maximize = higher_is_better(metric) if metric else False
    epoch = convergence_epoch(values, tolerance=tolerance, maximize=maximize)
    if epoch is None:
        return None
    later = [int(e) for e in values.index if e > epoch]
    best = float(values.max() if maximize else values.min())
    return Advice(
        basis=f"eval {metric}" if metric else "mean loss per epoch",
        epoch=epoch,
        last_epoch=int(values.index.max()),
        value=float(values.loc[epoch]),
        best=best,
        saved_s=_epochs_time_s(epochs, later, mean_epoch_time_ms),
        remaining_s=float(eta_s) if eta_s and math.isfinite(eta_s) else 0.0,
    )


def _epochs_time_s(epochs: pd.DataFrame, which: Iterable[int], mean_ms: float | None) -> float:
    """Measured time of the given epochs; an epoch without a time line counts the mean."""
    which = list(which)
    timed = epochs.dropna(subset=["epoch", "epoch_time_ms"])
    per_epoch = timed.groupby(timed["epoch"].astype(int))["epoch_time_ms"].first()
    fallback = mean_ms if mean_ms and math.isfinite(mean_ms) else 0.0
    return float(sum(per_epoch.get(e, fallback) for e in which)) / 1000.0


def most_recent(runs: pd.DataFrame, *, limit: int = 5) -> list[str]:
    """The runs that were active last (by ``last_update``), up to ``limit``; error rows left out."""
    if not len(runs):
        return []
    ok = runs[runs["status"] != "error"] if "status" in runs else runs
    return ok.sort_values("last_update", ascending=False, na_position="last")["run"].head(limit).tolist()


# Columns of the runs table compared against the baseline.
DELTA_COLUMNS = (
    "last_loss", "min_loss", "best_value", "mean_epoch_time_ms", "samples_per_sec", "wall_time_s",
)  # fmt: skip


def baseline_deltas(runs: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Per run, each compared column minus the baseline's, and the change in percent of it
    (``parsers.compare.delta``, as ``parse-log compare`` and the report compute them)."""
    base = runs.loc[runs["run"] == baseline]
    out = pd.DataFrame({"run": runs["run"].to_numpy()})
    if not len(base):
        return out
    for column in DELTA_COLUMNS:
        if column not in runs:
            continue
        values = pd.to_numeric(runs[column], errors="coerce").astype(float)
        ref = float(pd.to_numeric(base[column], errors="coerce").astype(float).iloc[0])
        pairs = [delta(ref, value) for value in values.tolist()]
        out[f"Δ {column}"] = np.array([change for change, _ in pairs], dtype=float)
        out[f"Δ% {column}"] = np.array([pct for _, pct in pairs], dtype=float)
    return out
