"""Alert rules over the run store: which runs break which rule now, and at which log line.

    from parsers.insights.alerts import evaluate_alerts, parse_alert_rule
    rules = [parse_alert_rule(r) for r in ("nan", "overflow=3", "cost=200CNY")]
    evaluate_alerts(RunStore("runs"), rules)     # one row per run and rule that holds

The rule table (``ALERT_RULES``) says, per rule, what it takes after ``=`` (read by
``parsers.insights.rules``, as ``compare --fail-on`` rules are), which of a run's tables
its check reads, and the check itself (``parsers.insights.alert_checks``).  ``parse-log
watch`` calls ``evaluate_alerts`` on every tick and the dashboard for its banner, so the
two never disagree.  Remembering which alerts were already sent is the watcher's business
(``parsers.watch.state``), not this module's.

Alerts -- one row per run and rule that holds
    run             string   the run (folder relative to the runs folder)
    rule            string   the rule as written (``overflow=3``)
    value           float64  the rule's figure: NaN/Inf records, overflows in a row, seconds
                             without growth, epochs done, rise/drop/lag (a fraction for ``%``
                             rules), cost reached
    detail          string   the same in a sentence
    line            Int64    the log line where the rule became true (or the latest it used)
    text            string   that line, stripped
    log             string   the log file holding that line
    rank            Int64    its rank, where known
    cost_so_far, cost_projected   float64   from the price table, as the dashboard shows them
    currency        string
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from parsers.insights import alert_checks as checks
from parsers.insights.alert_checks import RunData, Trigger
from parsers.insights.cost import DEFAULT_PRICES, Price, run_costs
from parsers.insights.lines import read_line
from parsers.insights.rules import Rule, parse_rule

if TYPE_CHECKING:
    from parsers.store.runstore import RunStore

__all__ = ["ALERT_COLUMNS", "ALERT_RULES", "AlertKind", "evaluate_alerts", "parse_alert_rule"]


@dataclass(frozen=True)
class AlertKind:
    """A rule: what it takes after ``=``, its help line, the tables its check reads, the check,
    and whether it can become true while the log does not change (``stalled``: the clock)."""

    takes: str
    help: str
    needs: tuple[str, ...]
    check: Callable[[RunData, Rule], Trigger | None]
    clock: bool = False


ALERT_RULES: dict[str, AlertKind] = {
    "nan": AlertKind("flag", "a loss was NaN or Inf", ("steps", "events"), checks.nan),
    "overflow": AlertKind("count", "N loss-scale overflows in a row", ("steps", "events"), checks.overflow),
    "stalled": AlertKind(
        "flag", "the log stopped growing while the run is running", (), checks.stalled, True
    ),
    "crashed": AlertKind("flag", "an error or traceback ended the run", ("events",), checks.crashed),
    "finished": AlertKind("flag", "the run finished", ("events",), checks.finished),
    "loss-rise": AlertKind(
        "limit", "smoothed loss rose above its best by more than LIMIT", ("steps",), checks.loss_rise
    ),
    "eval-drop": AlertKind(
        "limit", "an eval metric fell below its best by more than LIMIT", ("evals",), checks.eval_drop
    ),
    "throughput-drop": AlertKind(
        "limit",
        "throughput fell below the run's median by more than LIMIT",
        ("epochs", "steps"),
        checks.throughput_drop,
    ),
    "rank-lag": AlertKind(
        "limit",
        "a rank's mean step time is behind the others' median by more than LIMIT",
        ("steps", "epochs"),
        checks.rank_lag,
    ),
    "cost": AlertKind("money", "spent or projected cost reached AMOUNT (the price table)", (), checks.cost),
}

ALERT_COLUMNS = ("run", "rule", "value", "detail", "line", "text", "log", "rank", "cost_so_far",
                 "cost_projected", "currency")  # fmt: skip


def parse_alert_rule(text: str, *, option: str = "--on") -> Rule:
    """``overflow=3`` -> Rule; a typo names the rules there are (one ``Error:`` line in the CLI)."""
    return parse_rule(text, ALERT_RULES, option=option)


def evaluate_alerts(
    store: RunStore,
    rules: Sequence[Rule],
    *,
    prices: Sequence[Price] = DEFAULT_PRICES,
    runs: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The alerts that hold now for ``runs`` (all runs when None; runs the store could not read
    are left out), one row per run and rule (``ALERT_COLUMNS``).  Reads only the tables the
    rules need, one run at a time."""
    if not rules or (runs is not None and not len(runs)):
        return _frame([])
    table = store.runs()
    if runs is not None:
        table = table[table["run"].isin(list(runs))]
    table = table[table["status"] != "error"].reset_index(drop=True)
    if not len(table):
        return _frame([])
    names = table["run"].tolist()
    costs = run_costs(table, store.hparams(names), prices)
    needs = sorted({name for rule in rules for name in ALERT_RULES[rule.name].needs})
    rows = []
    for row, cost in zip(table.to_dict("records"), costs.to_dict("records")):
        meta = store.meta(row["run"])
        data = _run_data(store, row, cost, meta, needs)
        for rule in rules:
            trigger = ALERT_RULES[rule.name].check(data, rule)
            if trigger is not None:
                rows.append(_alert(row, cost, rule, trigger, meta))
    return _frame(rows)


def _run_data(store: RunStore, row: dict, cost: dict, meta: dict[str, Any], needs: list[str]) -> RunData:
    files = meta.get("files") or []
    first = files[0] if files else {}
    return RunData(
        row=row,
        cost=cost,
        last_line=first.get("lines") or None,
        last_rank=first.get("rank"),
        tables={name: store.table(name, [row["run"]]) for name in needs},
    )


def _alert(row: dict, cost: dict, rule: Rule, trigger: Trigger, meta: dict[str, Any]) -> dict[str, Any]:
    location = _log_of(meta, trigger.rank)
    # the line as the file has it (an event's message may be a summary of it); the message
    # when the file cannot be read (a URL)
    text = read_line(location, trigger.line) if location and trigger.line else None
    text = text if text is not None else trigger.text
    return {
        "run": row["run"],
        "rule": rule.text or rule.name,
        "value": trigger.value,
        "detail": trigger.detail,
        "line": trigger.line,
        "text": text,
        "log": location,
        "rank": trigger.rank,
        "cost_so_far": cost.get("cost_so_far"),
        "cost_projected": cost.get("cost_projected"),
        "currency": cost.get("currency"),
    }


def _log_of(meta: dict[str, Any], rank: int | None) -> str | None:
    """The log file of ``rank`` in the run (its only log when it has one)."""
    logs = meta.get("logs") or []
    if len(logs) == 1 or (logs and rank is None):
        return logs[0]["location"]
    return next((log["location"] for log in logs if log.get("rank") == rank), None)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(ALERT_COLUMNS))
    for column in ("run", "rule", "detail", "text", "log", "currency"):
        frame[column] = frame[column].astype("string")
    for column in ("line", "rank"):
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    for column in ("value", "cost_so_far", "cost_projected"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame
