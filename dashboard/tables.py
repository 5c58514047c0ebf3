"""The tables the pages show, shaped from the store's frames: runs, hyperparameters, filters.

Pure pandas, so what a user sees is unit-tested without a browser.  Durations
become ``Timedelta`` columns (the grid shows them as clocks and still sorts
them); error rows keep every column, empty, with the reason in ``error``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dashboard.analysis import advise, baseline_deltas
from dashboard.name_filter import compile_name_filter

__all__ = [
    "STATUS_LABELS",
    "advice_table",
    "cost_view",
    "differing_keys",
    "filter_runs",
    "highlight_differences",
    "hparam_choices",
    "hparam_text",
    "parallel_table",
    "reference_run",
    "runs_view",
    "within",
]

STATUS_LABELS = {
    "running": "● running",
    "finished": "✓ finished",
    "crashed": "✗ crashed",
    "stalled": "○ stalled",
    "error": "⚠ error",
}


def _seconds(values: pd.Series, *, resolution: str = "s") -> pd.Series:
    return pd.to_timedelta(pd.to_numeric(values, errors="coerce"), unit="s").dt.round(resolution)


def _epochs(row: dict[str, Any]) -> str:
    done, total = row.get("epochs_done"), row.get("total_epochs")
    if done is None or (isinstance(done, float) and math.isnan(done)):
        return ""
    return f"{int(done)} / {int(total)}" if total is not None and pd.notna(total) else f"{int(done)}"


def _epochs_text(done: pd.Series, total: pd.Series) -> np.ndarray:
    """``_epochs`` of every row at once (the runs table is built on every rerun)."""
    shown = done.astype("Int64").astype("string")
    with_total = shown + " / " + total.astype("Int64").astype("string")
    return with_total.fillna(shown).fillna("").to_numpy(dtype=object)


def _best_text(runs: pd.DataFrame) -> np.ndarray:
    """``METRIC VALUE`` of each row's best eval (``acc 0.9123``), or empty."""
    value = pd.to_numeric(runs["best_value"], errors="coerce")
    text = value.map(lambda v: f"{v:.4g}", na_action="ignore").astype("string")
    return (runs["best_metric"].astype("string") + " " + text).fillna("").to_numpy(dtype=object)


def _reason(row: dict[str, Any]) -> str:
    """The error without the log's path in front: the row already says which run it is."""
    error = row.get("error")
    if error is None or (isinstance(error, float) and math.isnan(error)):
        return ""
    text, path = str(error), str(row.get("path") or "")
    if path and text.startswith(path) and ": " in text:
        return text.split(": ", 1)[1]
    return text


def runs_view(
    runs: pd.DataFrame,
    costs: pd.DataFrame | None = None,
    *,
    compared: Sequence[str] = (),
    baseline: str | None = None,
    ranks: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The runs table as shown: one row per run, readable columns, cost and baseline deltas joined;
    ``ranks`` (``dashboard.ranks.rank_flag`` of multi-rank runs) a column when any run has one."""
    done = pd.to_numeric(runs["epochs_done"], errors="coerce")
    total = pd.to_numeric(runs["total_epochs"], errors="coerce")
    view = pd.DataFrame(
        {
            "compare": runs["run"].isin(list(compared)).to_numpy(),
            "run": runs["run"].to_numpy(),
            "status": runs["status"].map(lambda s: STATUS_LABELS.get(s, s)).to_numpy(),
            "epochs": _epochs_text(done, total),
            "progress": (done / total).where(total > 0).clip(upper=1.0).to_numpy(),
            "last loss": pd.to_numeric(runs["last_loss"], errors="coerce").to_numpy(),
            "min loss": pd.to_numeric(runs["min_loss"], errors="coerce").to_numpy(),
            "best eval": _best_text(runs),
            "epoch time": _seconds(
                pd.to_numeric(runs["mean_epoch_time_ms"], errors="coerce") / 1000.0, resolution="ms"
            ).to_numpy(),
            "samples/s": pd.to_numeric(runs["samples_per_sec"], errors="coerce").to_numpy(),
            "wall time": _seconds(runs["wall_time_s"]).to_numpy(),
            "ETA": _seconds(runs["eta_s"].where(runs["status"] == "running")).to_numpy(),
        }
    )
    if costs is not None and len(costs):
        by_run = costs.set_index("run")
        for column, label in (("cost_so_far", "cost so far"), ("cost_projected", "cost projected")):
            view[label] = view["run"].map(by_run[column]).to_numpy()
        view["priced as"] = view["run"].map(by_run["priced_as"]).to_numpy()
    if ranks:
        view.insert(view.columns.get_loc("samples/s") + 1, "ranks", view["run"].map(dict(ranks)).to_numpy())
    if baseline:
        view = _with_deltas(view, runs, baseline)
    view["last update"] = pd.to_datetime(runs["last_update"], utc=True).to_numpy()
    failed = (runs["status"] == "error").to_numpy()
    view.loc[failed, "epochs"] = ""
    if failed.any():  # the reason right beside the status, where it is seen without scrolling
        view.insert(3, "error", [_reason(r) for r in runs.to_dict("records")])
    return view


def _with_deltas(view: pd.DataFrame, runs: pd.DataFrame, baseline: str) -> pd.DataFrame:
    deltas = baseline_deltas(runs, baseline)
    shown = {
        "Δ last loss": "Δ last_loss",
        "Δ min loss": "Δ min_loss",
        "Δ best eval": "Δ best_value",
        "Δ% epoch time": "Δ% mean_epoch_time_ms",
        "Δ% samples/s": "Δ% samples_per_sec",
    }
    for label, column in shown.items():
        if column in deltas:
            view[label] = deltas[column].to_numpy()
    return view


def hparam_text(value: Any) -> str:
    """One hyperparameter value as text, the same way everywhere (lists and dicts as JSON)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, np.ndarray):
        return json.dumps(value.tolist(), default=str)
    if isinstance(value, (float, np.floating)) and float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))  # the store's wide table turns ints into floats where a run lacks the key
    return str(value)


def differing_keys(hparams: pd.DataFrame) -> list[str]:
    """Hyperparameter columns whose values are not all the same over these rows (missing counts)."""
    keys = [c for c in hparams.columns if c != "run"]
    return [k for k in keys if hparams[k].map(hparam_text).nunique(dropna=False) > 1]


def hparam_choices(hparams: pd.DataFrame, *, limit: int = 30) -> list[str]:
    """``key=value`` filter choices: keys that differ between runs, with fewer than ``limit`` values."""
    out = []
    for key in differing_keys(hparams):
        values = sorted(v for v in hparams[key].map(hparam_text).unique() if v != "")
        if len(values) <= limit:
            out.extend(f"{key}={v}" for v in values)
    return out


def within(runs: pd.DataFrame, folder: str) -> pd.DataFrame:
    """The runs whose folder is ``folder`` or below it (the store's ``path`` is absolute)."""
    if not len(runs) or "path" not in runs:
        return runs
    base = Path(folder).resolve()
    paths = runs["path"].astype(str)
    # as text first (vectorized: this runs on every rerun), as paths for whatever text does not settle
    under = (paths == str(base)) | paths.str.startswith(str(base).rstrip("/") + "/")
    keep = under.to_numpy(dtype=bool, copy=True)
    if keep.all():
        return runs
    keep[~keep] = [Path(p) == base or base in Path(p).parents for p in paths[~keep]]
    return runs[keep].reset_index(drop=True)


def filter_runs(
    runs: pd.DataFrame, hparams: pd.DataFrame, *, pattern: str = "", choices: Sequence[str] = ()
) -> pd.DataFrame:
    """Rows whose name matches ``pattern`` (a regex run by RE2, linear time: see ``name_filter``;
    ``re.error`` if bad) and, for every key picked in ``choices`` (``key=value``), have one of
    the values picked for it."""
    regex = compile_name_filter(pattern)
    keep = runs["run"].astype(str).map(lambda name: bool(regex.search(name))).astype(bool)
    wanted: dict[str, set[str]] = {}
    for choice in choices:
        key, _, value = choice.partition("=")
        wanted.setdefault(key, set()).add(value)
    if wanted and len(hparams):
        by_run = hparams.set_index("run")
        for key, values in wanted.items():
            texts = by_run[key].map(hparam_text) if key in by_run else pd.Series(dtype=str)
            keep &= runs["run"].map(texts).isin(values).to_numpy()
    return runs[keep.to_numpy()]


HIGHLIGHT = "background-color: #FFF3B0"


def reference_run(hparams: pd.DataFrame, baseline: str | None = None) -> str | None:
    """The run others are compared with: the baseline when it is among them, else the run with
    the most keys (a run whose log printed nothing would make every cell look different)."""
    if not len(hparams):
        return None
    if baseline in set(hparams["run"]):
        return baseline
    return str(hparams.loc[hparams.drop(columns="run").notna().sum(axis=1).idxmax(), "run"])


def highlight_differences(hparams: pd.DataFrame, *, reference: str | None = None):
    """A Styler marking each cell that differs from ``reference_run``'s value; a run that lacks
    the key is left blank rather than marked."""
    frame = hparams.reset_index(drop=True).astype(object).map(hparam_text)
    name = reference_run(hparams.reset_index(drop=True), reference)
    ref = frame.loc[frame["run"] == name].iloc[0] if name is not None else None

    def mark(column: pd.Series) -> list[str]:
        if ref is None or column.name == "run":
            return [""] * len(column)
        return [HIGHLIGHT if v != ref[column.name] and v != "" else "" for v in column]

    return frame.style.apply(mark, axis=0)


# Result columns of the runs table drawn as the last axes of the parallel-coordinates view.
RESULTS = {"min_loss": "min loss", "last_loss": "last loss", "best_value": "best eval"}


def parallel_table(
    runs: pd.DataFrame, hparams: pd.DataFrame, *, runs_shown: Sequence[str] | None = None, limit: int = 8
) -> tuple[pd.DataFrame, str | None]:
    """Rows for the parallel-coordinates view: the keys that differ (up to ``limit``, the most
    filled first, only keys most runs have), then the results; and the result column to colour
    lines by.  Runs lacking one of the keys are left out: a missing value has no place on an axis."""
    rows = hparams if runs_shown is None else hparams[hparams["run"].isin(list(runs_shown))]
    keys = []
    for key in sorted(differing_keys(rows), key=lambda k: -rows[k].notna().sum()):
        having = rows[rows[key].notna()]
        varies = having[key].map(hparam_text).nunique() > 1
        if varies and len(keys) < limit and len(having) >= (0.75 * len(rows) if keys else 2):
            keys.append(key)  # the first key picks the runs; later ones must keep most of them
            rows = having
    results = {c: label for c, label in RESULTS.items() if c in runs and runs[c].notna().any()}
    merged = rows[["run", *keys]].merge(runs[["run", *results]], on="run", how="left")
    table = pd.DataFrame({k: _axis_values(merged[k]) for k in keys})
    for column, label in results.items():
        table[label] = pd.to_numeric(merged[column], errors="coerce").to_numpy()
    color = next((label for label in results.values() if table[label].notna().any()), None)
    return table, color


def _axis_values(values: pd.Series) -> pd.Series:
    """Numbers stay numbers; anything else becomes its text (one tick per distinct value)."""
    try:
        numeric = pd.to_numeric(values, errors="coerce")
    except (TypeError, ValueError):  # lists, dicts
        return values.map(hparam_text)
    if numeric.notna().sum() == values.notna().sum():
        return numeric.astype(float)
    return values.map(hparam_text)


def cost_view(runs: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """Time and money per run: wall time, ETA, cost so far, projected and per epoch."""
    by_run = costs.set_index("run")
    return pd.DataFrame(
        {
            "run": runs["run"].to_numpy(),
            "status": runs["status"].map(lambda s: STATUS_LABELS.get(s, s)).to_numpy(),
            "epochs": [_epochs(r) if r.get("status") != "error" else "" for r in runs.to_dict("records")],
            "wall time": _seconds(runs["wall_time_s"]).to_numpy(),
            "ETA": _seconds(runs["eta_s"].where(runs["status"] == "running")).to_numpy(),
            "cost so far": runs["run"].map(by_run["cost_so_far"]).to_numpy(),
            "cost projected": runs["run"].map(by_run["cost_projected"]).to_numpy(),
            "cost per epoch": runs["run"].map(by_run["cost_per_epoch"]).to_numpy(),
            "currency": runs["run"].map(by_run["currency"]).to_numpy(),
            "priced as": runs["run"].map(by_run["priced_as"]).to_numpy(),
        }
    )


def advice_table(
    runs: pd.DataFrame,
    costs: pd.DataFrame,
    tables: dict[str, dict[str, pd.DataFrame]],
    *,
    metric: str | None,
    tolerance: float,
) -> pd.DataFrame:
    """The convergence advisor's answer for each run that has its tables in ``tables``."""
    rows = []
    by_run = runs.set_index("run")
    rate = costs.set_index("run")
    for run in tables["steps"]:
        info = by_run.loc[run]
        advice = advise(
            tables["steps"][run],
            tables["epochs"][run],
            tables["evals"][run],
            metric=metric,
            tolerance=tolerance,
            mean_epoch_time_ms=_number(info.get("mean_epoch_time_ms")),
            eta_s=_number(info.get("eta_s")) if info.get("status") == "running" else None,
        )
        rows.append(_advice_row(run, advice, rate.loc[run] if run in rate.index else None))
    return pd.DataFrame(rows, columns=list(ADVICE_COLUMNS))


ADVICE_COLUMNS = (
    "run",
    "note",
    "judged by",
    "stopped improving after epoch",
    "of epochs",
    "value then",
    "best",
    "time after",
    "still to run",
    "would have saved",
    "currency",
)


def _advice_row(run: str, advice, cost) -> dict[str, Any]:
    if advice is None:
        return {"run": run, "note": "fewer than two epochs with a value"}
    saved = advice.saved_cost(float(cost["rate_per_hour"])) if cost is not None else np.nan
    note = "converged: could have stopped earlier" if advice.converged else "still improving"
    return {
        "run": run,
        "judged by": advice.basis,
        "stopped improving after epoch": advice.epoch,
        "of epochs": advice.last_epoch,
        "value then": advice.value,
        "best": advice.best,
        "time after": pd.Timedelta(seconds=round(advice.saved_s)),
        "still to run": pd.Timedelta(seconds=round(advice.remaining_s)),
        "would have saved": saved,
        "currency": cost["currency"] if cost is not None else "",
        "note": note,
    }


def _number(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
