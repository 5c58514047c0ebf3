"""Numbers and summaries as a person reads them: one formatting for the terminal and the report.

``summary_view`` turns the dict of ``parsers.summarize`` into labelled lines, so
``parse-log`` and ``report.md`` phrase the same figures the same way.  The raw
dict stays what ``--json`` and ``summary.json`` carry; only text goes through here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["ANOMALY_KINDS", "anomalies", "duration_ms", "loss", "number", "summary_view"]

# Event kinds that mean something went wrong; warnings and checkpoints are not anomalies.
ANOMALY_KINDS = ("nan", "overflow", "error", "traceback", "interrupt")
MISSING = "-"


def number(value: float | None, *, digits: int = 1) -> str:
    """``1,352.3``: thousands separated, ``-`` when missing, non-finite values spelled out."""
    if value is None:
        return MISSING
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def loss(value: float | None) -> str:
    """Four significant digits: losses span 1e-4..1e1 within one run."""
    if value is None:
        return MISSING
    return f"{value:.4g}"


def duration_ms(value: float | None) -> str:
    """``245.5 ms``, ``12.3 s``, ``7m 25s``, ``11h 08m``: the unit a person would pick."""
    if value is None or not math.isfinite(value):
        return MISSING
    seconds = value / 1000.0
    if abs(value) < 1000.0:
        return f"{value:.1f} ms"
    if abs(seconds) < 60.0:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def _seconds(value: float | None) -> str:
    return duration_ms(None if value is None else value * 1000.0)


def _epochs(summary: Mapping[str, Any]) -> str:
    total = summary.get("total_epochs")
    done = summary.get("epochs_done", 0)
    return f"{done} of {total}" if total else f"{done} (total not announced)"


def _steps(summary: Mapping[str, Any]) -> str:
    text = number(summary.get("steps"))
    last = summary.get("last_global_step")
    if last is not None and last != summary.get("steps"):
        text += f" (last global step {number(last)})"
    return text


def _losses(summary: Mapping[str, Any]) -> str:
    if summary.get("first_loss") is None:
        return MISSING
    return (
        f"first {loss(summary['first_loss'])}, last {loss(summary['last_loss'])}, "
        f"min {loss(summary.get('min_loss'))}"
    )


def _epoch_time(summary: Mapping[str, Any]) -> str:
    mean = summary.get("mean_epoch_time_ms")
    if mean is None:  # an event-only run says why it has none (parsers.events.config)
        return f"{MISSING} ({summary['epochs_unknown']})" if summary.get("epochs_unknown") else MISSING
    return f"{duration_ms(mean)} (mean, first epoch left out)"


def _throughput(summary: Mapping[str, Any]) -> str:
    value = summary.get("samples_per_sec")
    if value is None:
        return MISSING
    source = summary.get("samples_per_sec_source")
    return f"{number(value)} samples/s" + (f" ({source})" if source else "")


def anomalies(events: Mapping[str, int]) -> str:
    """``nan 2, traceback 1``, or ``none``."""
    found = [f"{kind} {events[kind]}" for kind in ANOMALY_KINDS if events.get(kind)]
    return ", ".join(found) if found else "none"


def _lines(summary: Mapping[str, Any]) -> str:
    text = f"{number(summary.get('lines_read'))} read, {number(summary.get('lines_skipped'))} skipped"
    if summary.get("lines_noise"):
        text += f", {number(summary['lines_noise'])} platform noise"
    return text


def summary_view(summary: Mapping[str, Any]) -> dict[str, str]:
    """Labelled text lines of one log's summary, in reading order; optional lines left out."""
    events = summary.get("events") or {}
    view = {
        "format": ", ".join(summary.get("formats") or []) or MISSING,
        "status": str(summary.get("status", MISSING)),
        "epochs": _epochs(summary),
        "steps": _steps(summary),
        "loss": _losses(summary),
        "epoch time": _epoch_time(summary),
        "throughput": _throughput(summary),
        "total time": _seconds(summary.get("total_time_s")),
    }
    if summary.get("eta_s") is not None:
        view["ETA"] = _seconds(summary["eta_s"])
    if summary.get("evals"):
        view["eval"] = ", ".join(f"{k} {v:.4g}" for k, v in summary["evals"].items())
    view["anomalies"] = anomalies(events)
    if events.get("warning"):
        view["warnings"] = number(events["warning"])
    view["lines"] = _lines(summary)
    return view
