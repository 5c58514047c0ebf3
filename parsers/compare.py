"""Baseline against candidate: a table of deltas and the verdict of ``--fail-on`` rules.

This is what a CI gate asks: did training get slower or worse than the baseline
log kept in the repo?  ``compare`` returns data (two DataFrames and a flag); the
command only renders them and turns ``failed`` into exit code 1.

Rules are ``NAME=LIMIT`` with ``LIMIT`` either relative (``5%``: of the baseline's
value) or absolute (``0.02``: in the metric's own unit), or a bare ``NAME`` for
flags.  A rule whose metric is missing on either side fails, saying which side
lacks it: a gate that passes because the candidate stopped printing throughput
would hide exactly the change it is there to catch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from parsers.insights.direction import lower_is_better
from parsers.insights.rules import Rule, RuleError
from parsers.insights.rules import parse_rule as read_rule
from parsers.parse import ParsedLog
from parsers.summary import summarize

__all__ = ["RULES", "Comparison", "Rule", "RuleError", "compare", "delta", "parse_rule", "run_metrics"]


@dataclass(frozen=True)
class RuleKind:
    """What a rule watches: a metric of ``run_metrics`` and the direction that is worse."""

    metric: str | None  # None: every eval metric
    worse: str  # "rise", "drop" or "any" (a flag: any occurrence in the candidate)
    help: str

    @property
    def takes(self) -> str:
        """What ``parsers.insights.rules.parse_rule`` reads after ``=``: nothing, or a limit."""
        return "flag" if self.worse == "any" else "limit"


RULES: dict[str, RuleKind] = {
    "throughput-drop": RuleKind("samples_per_sec", "drop", "samples/s fell by more than LIMIT"),
    "epoch-time-rise": RuleKind(
        "mean_epoch_time_ms", "rise", "mean epoch time (first left out) rose by more than LIMIT"
    ),
    "final-loss-rise": RuleKind("final_loss", "rise", "last loss rose by more than LIMIT"),
    "min-loss-rise": RuleKind("min_loss", "rise", "lowest loss rose by more than LIMIT"),
    "wall-time-rise": RuleKind("total_time_s", "rise", "total training time rose by more than LIMIT"),
    "eval-drop": RuleKind(None, "drop", "a best eval metric got worse by more than LIMIT"),
    "nan": RuleKind("nan_count", "any", "the candidate logged a NaN/Inf loss"),
}

# Metrics shown in the deltas table: key -> (label, which direction is better).
METRICS: dict[str, tuple[str, str]] = {
    "epochs_done": ("epochs done", "higher"),
    "epochs_in_mean": ("epochs in mean epoch time", "higher"),
    "final_loss": ("final loss", "lower"),
    "min_loss": ("min loss", "lower"),
    "mean_epoch_time_ms": ("mean epoch time (ms)", "lower"),
    "samples_per_sec": ("throughput (samples/s)", "higher"),
    "nan_count": ("NaN/Inf losses", "lower"),
    "overflow_count": ("loss-scale overflows", "lower"),
    "total_time_s": ("wall time (s)", "lower"),
}
EVAL_PREFIX = "eval "


@dataclass
class Comparison:
    """What ``compare`` found.

    ``deltas``: one row per metric -- ``metric``, ``baseline``, ``candidate``, ``change``
    (candidate - baseline), ``change_pct`` (of the baseline's magnitude), ``better_when``
    (``higher``/``lower``).  ``checks``: one row per rule and metric it looked at --
    ``rule``, ``metric``, ``baseline``, ``candidate``, ``worse_by`` (a fraction for ``%``
    limits, else in the metric's unit), ``passed``, ``reason``.
    """

    deltas: pd.DataFrame
    checks: pd.DataFrame

    @property
    def failed(self) -> bool:
        return bool(len(self.checks)) and not bool(self.checks["passed"].all())


def parse_rule(text: str) -> Rule:
    """``throughput-drop=5%`` -> Rule; a typo names the rules there are (the reader ``watch`` uses too)."""
    return read_rule(text, RULES, option="--fail-on")


def run_metrics(log: ParsedLog, summary: dict[str, Any] | None = None) -> dict[str, float | None]:
    """The figures compared, from ``summarize`` plus the best value of each eval metric."""
    summary = summary if summary is not None else summarize(log)
    timed = int(log.epochs["epoch_time_ms"].notna().sum()) if len(log.epochs) else 0
    events = summary.get("events") or {}
    values: dict[str, float | None] = {
        "epochs_done": summary.get("epochs_done"),
        "epochs_in_mean": max(timed - 1, 0) if timed > 1 else timed,
        "final_loss": summary.get("last_loss"),
        "min_loss": summary.get("min_loss"),
        "mean_epoch_time_ms": summary.get("mean_epoch_time_ms"),
        "samples_per_sec": summary.get("samples_per_sec"),
        "nan_count": events.get("nan", 0),
        "overflow_count": events.get("overflow", 0),
        "total_time_s": summary.get("total_time_s"),
    }
    for metric, best in best_evals(log.evals).items():
        values[EVAL_PREFIX + metric] = best
    return values


def best_evals(evals: pd.DataFrame) -> dict[str, float]:
    """Best value of each eval metric over the run (max, or min for loss/error-like metrics)."""
    if not len(evals):
        return {}
    finite = evals[np.isfinite(evals["value"].to_numpy(dtype=float, na_value=np.nan))]
    best = {}
    for metric, values in finite.groupby("metric", sort=False)["value"]:
        best[str(metric)] = float(values.min() if lower_is_better(str(metric)) else values.max())
    return best


def compare(
    baseline: ParsedLog,
    candidate: ParsedLog,
    *,
    rules: Sequence[Rule | str] = (),
    summaries: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> Comparison:
    """Deltas of every metric and the result of each rule (``summaries`` saves recomputing them)."""
    base = run_metrics(baseline, summaries[0] if summaries else None)
    cand = run_metrics(candidate, summaries[1] if summaries else None)
    deltas = _deltas(base, cand)
    parsed = [parse_rule(r) if isinstance(r, str) else r for r in rules]
    rows = [row for rule in parsed for row in _check(rule, base, cand)]
    checks = pd.DataFrame(rows, columns=_CHECK_COLUMNS)
    checks["passed"] = checks["passed"].astype(bool)
    return Comparison(deltas=deltas, checks=checks)


def _direction(key: str) -> str:
    if key.startswith(EVAL_PREFIX):
        return "lower" if lower_is_better(key[len(EVAL_PREFIX) :]) else "higher"
    return METRICS[key][1]


def _label(key: str) -> str:
    return key if key.startswith(EVAL_PREFIX) else METRICS[key][0]


def delta(baseline: float | None, candidate: float | None) -> tuple[float | None, float | None]:
    """``candidate - baseline`` and that change in percent of the baseline's magnitude: the one
    definition of a delta against a baseline (``compare``, the report, the dashboard's runs table).
    None when either is missing or not finite; the percentage is None when the baseline is 0."""
    known = [v is not None and math.isfinite(v) for v in (baseline, candidate)]
    if not all(known):
        return None, None
    change = candidate - baseline
    return change, (100.0 * change / abs(baseline) if baseline else None)


def _deltas(base: dict[str, float | None], cand: dict[str, float | None]) -> pd.DataFrame:
    keys = list(dict.fromkeys([*base, *cand]))
    rows = []
    for key in keys:
        b, c = base.get(key), cand.get(key)
        change, pct = delta(b, c)
        rows.append(
            {
                "metric": _label(key),
                "baseline": b,
                "candidate": c,
                "change": change,
                "change_pct": pct,
                "better_when": _direction(key),
            }
        )
    frame = pd.DataFrame(
        rows, columns=["metric", "baseline", "candidate", "change", "change_pct", "better_when"]
    )
    for col in ("baseline", "candidate", "change", "change_pct"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame


_CHECK_COLUMNS = ["rule", "metric", "baseline", "candidate", "worse_by", "passed", "reason"]


def _check(rule: Rule, base: dict[str, float | None], cand: dict[str, float | None]) -> list[dict]:
    kind = RULES[rule.name]
    if kind.worse == "any":
        count = cand.get(kind.metric) or 0
        reason = f"candidate logged {count:g} NaN/Inf loss(es)" if count else "no NaN/Inf loss"
        return [_row(rule, kind.metric, base.get(kind.metric), count, count, not count, reason)]
    if kind.metric is not None:
        return [_limit_check(rule, kind.metric, base, cand, kind.worse)]
    metrics = [k for k in base if k.startswith(EVAL_PREFIX) and k in cand]
    if not metrics:
        missing = (
            "neither log" if not any(k.startswith(EVAL_PREFIX) for k in [*base, *cand]) else "not both logs"
        )
        return [_row(rule, "eval", None, None, None, False, f"cannot check: {missing} printed eval metrics")]
    return [
        _limit_check(rule, m, base, cand, "rise" if _direction(m) == "lower" else "drop") for m in metrics
    ]


def _limit_check(rule: Rule, key: str, base: dict, cand: dict, worse: str) -> dict:
    b, c = base.get(key), cand.get(key)
    if b is None or c is None:
        side = " and ".join(s for s, v in (("baseline", b), ("candidate", c)) if v is None)
        return _row(rule, key, b, c, None, False, f"cannot check: {side} log has no {_label(key)}")
    worse_by = (c - b) if worse == "rise" else (b - c)
    if rule.relative:
        worse_by = worse_by / abs(b) if b else (math.inf if worse_by > 0 else 0.0)
    passed = worse_by <= rule.limit
    shown = f"{100 * worse_by:.2f}%" if rule.relative else f"{worse_by:.4g}"
    limit = f"{100 * rule.limit:g}%" if rule.relative else f"{rule.limit:g}"
    verb = "rose" if worse == "rise" else "fell"
    reason = (
        f"{_label(key)} {verb} by {shown} (limit {limit})"
        if worse_by > 0
        else f"{_label(key)} did not get worse"
    )
    return _row(rule, key, b, c, worse_by, passed, reason)


def _row(rule: Rule, key: str | None, b: Any, c: Any, worse_by: Any, passed: bool, reason: str) -> dict:
    label = _label(key) if key and (key in METRICS or key.startswith(EVAL_PREFIX)) else (key or "")
    return {
        "rule": rule.text or rule.name,
        "metric": label,
        "baseline": b,
        "candidate": c,
        "worse_by": worse_by,
        "passed": bool(passed),
        "reason": reason,
    }
