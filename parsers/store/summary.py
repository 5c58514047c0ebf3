"""One summary row per run, from its logs' manifests -- never from the whole steps table.

runs -- ``RunStore.runs()``, one row per run, by name (columns and dtypes: ``parsers.schema.RUNS``)
    run                 folder relative to the runs folder ('.' for the runs folder itself)
    path                the folder (or URL prefix)
    log                 its log file name(s), comma-separated, in rank order
    status              running | finished | crashed | stalled | error
    epochs_done         Int64    epochs that printed a time line, else whose steps all ran
    total_epochs        Int64    as announced by the log
    steps               Int64    step records
    first_loss, last_loss, min_loss   float64 (min over finite losses)
    best_metric         string   the eval metric reported most often (ties: the first seen)
    best_value          float64  its best value: lowest for loss/error/WER/perplexity-like names, else highest
    mean_epoch_time_ms  float64  without the first (compile) epoch
    samples_per_sec     float64  mean throughput, without the first epoch
    wall_time_s         float64  training plus evaluation time of the epochs
    eta_s               float64  remaining epochs x mean epoch time, while running
    last_update         datetime64[ns, UTC]  latest modification time of its logs
    error               string   why a log of the run could not be read (the first such log)
    formats             string   detected formats, comma-separated

The figures follow ``parsers.summarize`` (same rules: the first epoch left out of time
averages, ETA only while running), computed from the running statistics each log's
context keeps (first/last/min loss, last epoch and step, event counts, metric values)
plus the small epochs table.  A run is 'error' when none of its logs could be read or
none holds a record of a known format; otherwise a bad log's reason is in ``error``.

Stalled: a run whose log says it is running but has not grown for longer than
``stall_after_s`` -- ``STALL_FACTOR`` (20) times the usual time between two step records
(mean epoch time / step records per epoch), at least ``STALL_MIN_S`` (5 min) and at least
twice the longest evaluation seen; ``STALL_UNKNOWN_S`` (1 h) when no epoch time is
known.  It is decided when the runs table is read, against the clock at that moment;
a stalled run has no ETA.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from parsers.engine import computed_throughput, merge_meta
from parsers.insights.direction import lower_is_better
from parsers.schema import RUNS, column_floats, conform, empty_table
from parsers.summary import completed_epochs, eta_s, mean_without_warmup, status_of, wall_time_s

__all__ = [
    "RUN_COLUMNS",
    "STALL_FACTOR",
    "STALL_MIN_S",
    "STALL_UNKNOWN_S",
    "epoch_figures",
    "run_epochs",
    "run_meta",
    "run_row",
    "stall_after_s",
]

RUN_COLUMNS = tuple(RUNS)  # the runs table's columns, with their dtypes in parsers.schema.RUNS
STALL_FACTOR = 20.0
STALL_MIN_S = 300.0
STALL_UNKNOWN_S = 3600.0


def run_meta(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """``ParsedLog.meta`` of the run, merged from its logs as ``parsers.engine.assemble`` merges files."""
    usable = [m for m in manifests if m.get("meta")]
    if not usable:
        return {}
    return merge_meta([m["meta"] for m in usable], [m.get("rank") for m in usable], None)


def run_epochs(frames: list[pd.DataFrame], meta: dict[str, Any]) -> pd.DataFrame:
    """The run's epochs table: its logs' tables joined, throughput computed from the run's meta."""
    frames = [f for f in frames if len(f)]
    epochs = pd.concat(frames, ignore_index=True) if frames else empty_table("epochs")
    epochs = conform(epochs, "epochs")
    if meta:
        computed_throughput(epochs, meta)
    return epochs


def run_row(manifests: list[dict[str, Any]], figures: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """The public summary figures of one run plus the inputs of the stalled rule.

    ``figures`` are the ``epoch_figures`` of the run's epochs table: callers keep them cached
    per epochs file, so a refresh does not read every run's epochs table again.
    """
    ok = [m for m in manifests if not m.get("fatal")]
    errors = [m["error"] for m in manifests if m.get("error")]
    stats = [m.get("stats") or {} for m in ok]
    n_steps = sum(s.get("n_steps", 0) for s in stats)
    has_rows = (
        n_steps
        or figures["max_line"] is not None
        or any(s.get("event_counts") or s.get("metrics") for s in stats)
    )
    row: dict[str, Any] = dict.fromkeys(RUN_COLUMNS)
    row.update(error=errors[0] if errors else None, steps=n_steps, formats=", ".join(meta.get("formats", [])))
    row["total_epochs"] = meta.get("total_epochs")
    if not ok or not has_rows:
        row.update(status="error", epochs_done=0)
        return row
    seen = _event_kinds(stats)
    done = _epochs_done(figures, stats, meta, seen)
    status = _status(figures, stats, meta, seen, done)
    mean_ms = figures["mean_epoch_time_ms"]
    row.update(status=status, epochs_done=done, **_losses(stats), **_best(stats))
    row.update(mean_epoch_time_ms=mean_ms, samples_per_sec=figures["samples_per_sec"])
    row.update(wall_time_s=figures["wall_time_s"], _max_eval_s=figures["max_eval_s"])
    row["eta_s"] = eta_s(
        total_epochs=meta.get("total_epochs"), epochs_done=done, mean_epoch_time_ms=mean_ms, status=status
    )
    row["_interval_s"] = _interval_s(mean_ms, n_steps, stats)
    return row


def epoch_figures(epochs: pd.DataFrame) -> dict[str, Any]:
    """What the summary takes from the epochs table, as ``parsers.summarize`` computes it.

    In numpy rather than pandas: it runs for every run that changed, a thousand of them
    after an ingest.  Each rank's first timed epoch (in line order) is left out of the means.
    """
    if not len(epochs):
        return dict(_NO_EPOCHS)
    line, epoch, rank, train, evals, throughput = (
        column_floats(epochs, name)
        for name in ("line", "epoch", "rank", "epoch_time_ms", "eval_time_ms", "samples_per_sec")
    )
    known_evals = evals[~np.isnan(evals)]
    return {
        "timed_epochs": len(np.unique(epoch[~np.isnan(epoch)])),
        "max_line": int(np.nanmax(line)),
        "mean_epoch_time_ms": mean_without_warmup(train, rank, epoch, line),
        "samples_per_sec": mean_without_warmup(throughput, rank, epoch, line),
        "wall_time_s": wall_time_s(train, evals, rank=rank, epoch=epoch),
        "max_eval_s": float(known_evals.max()) / 1000.0 if len(known_evals) else None,
    }


_NO_EPOCHS = {"timed_epochs": 0, "max_line": None, "mean_epoch_time_ms": None, "samples_per_sec": None,
              "wall_time_s": None, "max_eval_s": None}  # fmt: skip


def _event_kinds(stats: list[dict]) -> set[str]:
    """The kinds of event any log of the run printed: the status rules ask only whether one
    did (a finish line, a NaN loss and a traceback), never how many."""
    return {kind for s in stats for kind, n in (s.get("event_counts") or {}).items() if n}


def _epochs_done(figures: dict, stats: list[dict], meta: dict, seen: set[str]) -> int:
    """``parsers.summary.completed_epochs`` fed from the running statistics."""
    lasts = [(s["last_epoch"], s.get("last_epoch_step")) for s in stats if s.get("last_epoch") is not None]
    last = max((e for e, _ in lasts), default=None)
    steps = [step for e, step in lasts if e == last and step is not None]
    return completed_epochs(
        timed_epochs=figures["timed_epochs"],
        last_epoch=last,
        last_epoch_step=max(steps) if steps else None,
        steps_per_epoch=meta.get("steps_per_epoch"),
        finished="finish" in seen,
    )


def _status(figures: dict, stats: list[dict], meta: dict, seen: set[str], done: int) -> str:
    """``parsers.summary.status_of`` fed from the running statistics."""
    lines = [s["max_step_line"] for s in stats if s.get("max_step_line") is not None]
    if figures["max_line"] is not None:
        lines.append(figures["max_line"])
    bad = [s["bad_event_line"] for s in stats if s.get("bad_event_line") is not None]
    return status_of(
        finished="finish" in seen,
        total_epochs=meta.get("total_epochs"),
        epochs_done=done,
        last_record_line=max(lines or [0]),
        last_bad_line=max(bad) if bad else None,
        nan_and_traceback={"nan", "traceback"} <= seen,
    )


def _losses(stats: list[dict]) -> dict[str, Any]:
    with_steps = [s for s in stats if s.get("n_steps")]
    mins = [s["min_loss"] for s in with_steps if s.get("min_loss") is not None]
    return {
        "first_loss": with_steps[0].get("first_loss") if with_steps else None,
        "last_loss": with_steps[-1].get("last_loss") if with_steps else None,
        "min_loss": min(mins) if mins else None,
    }


def _best(stats: list[dict]) -> dict[str, Any]:
    metrics: dict[str, dict[str, Any]] = {}
    for s in stats:
        for name, entry in (s.get("metrics") or {}).items():
            mine = metrics.setdefault(name, {"n": 0, "min": None, "max": None})
            mine["n"] += entry["n"]
            for key, pick in (("min", min), ("max", max)):
                if entry.get(key) is not None:
                    mine[key] = entry[key] if mine[key] is None else pick(mine[key], entry[key])
    if not metrics:
        return {"best_metric": None, "best_value": None}
    name = max(metrics, key=lambda k: metrics[k]["n"])  # first seen wins ties
    value = metrics[name]["min" if lower_is_better(name) else "max"]
    return {"best_metric": name, "best_value": value}


def _interval_s(mean_ms: float | None, n_steps: int, stats: list[dict]) -> float | None:
    """Usual seconds between two step records (or epoch records, for logs without steps)."""
    if not mean_ms:
        return None
    epochs_with_steps = max([s.get("last_epoch") or 1 for s in stats if s.get("n_steps")] or [1])
    per_epoch = n_steps / epochs_with_steps if n_steps else 1.0
    return mean_ms / 1000.0 / max(per_epoch, 1.0)


def stall_after_s(interval_s: np.ndarray, max_eval_s: np.ndarray) -> np.ndarray:
    """Seconds without growth after which a running run is called stalled (see module docstring),
    for every row of the runs table at once (NaN for unknown); ``catalog.query_runs`` applies it
    against the clock.  The one definition of the rule."""
    limit = np.fmax(np.maximum(STALL_FACTOR * interval_s, STALL_MIN_S), 2.0 * max_eval_s)  # fmax: no eval
    return np.where(np.isfinite(interval_s), limit, STALL_UNKNOWN_S)
