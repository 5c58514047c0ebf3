"""The Runs page's alert banner and the curves' alert markers: what ``parse-log watch`` would
report now, by the same rules.

The rules are evaluated by ``parsers.insights.alerts.evaluate_alerts`` (through the cached
loader ``data.alerts``, once per change of the runs concerned) for runs that are running,
stalled or crashed: a finished run's story is on its own page.  The page fills the banner
last, into a slot at its top, so the alerts never delay the runs table or the chart.  The
warning itself holds only counts; each alert is an ``st.text`` block (shown as typed, never
as Markdown or HTML), since run names and log lines are not ours to trust.  Text rather than
a table also keeps the page's tables the ones its tests and users look for.

The curves mark the same alerts (``curve_alerts``), for every run drawn, live or not: a flag
at the x where the rule became true (its log line), the rule and its sentence on hover.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from dashboard import data
from parsers.insights.cost import Price

__all__ = ["BANNER_RULES", "LIVE_STATUSES", "alert_banner", "alert_text", "alerts_of", "curve_alerts"]

# What a person keeping the page open wants to be told; a budget (cost=) is theirs to set
# with parse-log watch.
BANNER_RULES = (
    "nan",
    "overflow=3",
    "stalled",
    "crashed",
    "loss-rise=10%",
    "throughput-drop=20%",
    "rank-lag=15%",
)
LIVE_STATUSES = ("running", "stalled", "crashed")


def alert_banner(slot, runs_dir: str, runs: pd.DataFrame, prices: Sequence[Price]) -> None:
    """Fill ``slot`` (an ``st.container()`` placed at the top: while the page reruns, the
    banner it showed stays until this run's replaces it) with the alerts that hold for the
    live runs, or leave it empty."""
    live = runs.loc[runs["status"].isin(LIVE_STATUSES), "run"].tolist() if len(runs) else []
    if not live:
        return
    found = data.alerts(runs_dir, runs, live, BANNER_RULES, prices)
    if not len(found):
        return
    with slot.container():
        n, n_runs = len(found), found["run"].nunique()
        st.warning(
            f"{n} alert{'s' * (n != 1)} on {n_runs} run{'s' * (n_runs != 1)}, by the rules of "
            f"parse-log watch ({', '.join(BANNER_RULES)})",
            icon="⚠️",
        )
        for alert in found.to_dict("records"):
            st.text(alert_text(alert))


def alert_text(alert: dict) -> str:
    """``RUN  RULE  DETAIL`` and, below, ``line N: TEXT``: what ``parse-log watch`` prints, in two lines."""
    head = f"{alert['run']}  {alert['rule']}  {alert['detail']}"
    if pd.isna(alert.get("line")):
        return head
    return f"{head}\nline {int(alert['line'])}: {alert.get('text') or ''}"


def curve_alerts(
    runs_dir: str, runs: pd.DataFrame, names: Sequence[str], prices: Sequence[Price]
) -> tuple[tuple[str, str, int, str], ...]:
    """``(run, rule, line, detail)`` of each alert of ``BANNER_RULES`` holding for ``names`` at a
    known line: hashable, so a cached figure is keyed by it."""
    if not len(names) or not len(runs):
        return ()
    found = data.alerts(runs_dir, runs, list(names), BANNER_RULES, prices)
    found = found[found["line"].notna()]
    return tuple(
        (str(a["run"]), str(a["rule"]), int(a["line"]), str(a["detail"])) for a in found.to_dict("records")
    )


def alerts_of(marks: Sequence[tuple[str, str, int, str]], run: str) -> pd.DataFrame:
    """The ``curve_alerts`` of one run as ``rule``/``line``/``detail`` rows."""
    rows = [
        {"rule": rule, "line": line, "detail": detail} for name, rule, line, detail in marks if name == run
    ]
    return pd.DataFrame(rows, columns=["rule", "line", "detail"])
