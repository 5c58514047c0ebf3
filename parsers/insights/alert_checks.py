"""One check per alert rule: does it hold for a run, and at which log line did it become true?

Each check reads one run's tables from the store (``RunData``) and returns a ``Trigger``
(the rule's figure, a sentence saying it, the line and rank that made it true) or None.
Checks are pure functions of the tables, so the watcher and the dashboard get the same
answer, and a test can feed them a store built from real logs.

Where a rule is about history (a NaN, N overflows in a row, a loss rise, an eval drop)
the check finds the first line where it held, so an alert raised late (a watcher started
after the fact) still points at the line where things went wrong.  Where it is about the
present (stalled, throughput, rank lag, cost) it judges the run as it is now and points at
the latest line it used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from parsers.insights.direction import lower_is_better
from parsers.insights.rules import Rule

__all__ = [
    "LOSS_SPAN",
    "STEP_WINDOW",
    "RunData",
    "Trigger",
    "cost",
    "crashed",
    "eval_drop",
    "finished",
    "loss_rise",
    "nan",
    "overflow",
    "rank_lag",
    "stalled",
    "throughput_drop",
]

# loss-rise smooths with an exponential moving average over about this many loss records
# (pandas' ewm span), so one noisy step does not count as a rise.
LOSS_SPAN = 10
# throughput-drop from step records judges the median of the last STEP_WINDOW of them: one
# slow step (a checkpoint save, a GC pause) is not a drop.  Epoch records count one by one.
STEP_WINDOW = 5
_EMPTY = pd.DataFrame()


@dataclass(frozen=True)
class Trigger:
    """Why a rule holds: its figure, a sentence for people, and where in the log it became true."""

    value: float | None
    detail: str
    line: int | None
    rank: int | None = None
    text: str | None = None  # an event's message: the text when the log file cannot be read


@dataclass
class RunData:
    """What the checks read of one run: its runs-table row, its cost row, the last line of
    its (first) log, and those of its tables that the rules asked for."""

    row: Mapping[str, Any]
    cost: Mapping[str, Any] = field(default_factory=dict)
    last_line: int | None = None
    last_rank: int | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        return self.tables.get(name, _EMPTY)


# --- history: the first line where the rule held ---------------------------------------------


def nan(run: RunData, rule: Rule) -> Trigger | None:
    """A NaN/Inf loss: a step whose loss is not finite, or a line the parser read as a NaN event."""
    records = _nan_records(run.table("steps"), run.table("events"))
    if not len(records):
        return None
    first = records.iloc[0]
    n = len(records)
    return Trigger(
        float(n),
        f"{n} NaN/Inf loss record{'s' * (n > 1)}, the first at line {first['line']}",
        int(first["line"]),
        _rank(first["rank"]),
        _text(first),
    )


def _nan_records(steps: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    parts = []
    if len(events):  # first: a step and an event on one line are one record, with the event's text
        parts.append(events.loc[events["kind"] == "nan", ["rank", "line", "message"]])
    if len(steps):
        loss = steps["loss"].to_numpy(np.float64, na_value=np.nan)
        parts.append(steps.loc[~np.isfinite(loss), ["rank", "line"]].assign(message=pd.NA))
    records = _in_line_order(parts)
    return records.drop_duplicates(["rank", "line"]).reset_index(drop=True) if len(records) else records


def overflow(run: RunData, rule: Rule) -> Trigger | None:
    """N loss-scale overflows in a row, per rank: a step flagged overflow or an overflow event
    counts one; only a step that says it did not overflow breaks the run (a step that does not
    say, as in logs printing every 100th step, leaves the count alone)."""
    marks = _overflow_marks(run.table("steps"), run.table("events"))
    need = int(rule.limit)
    for _, group in marks.groupby(marks["rank"].fillna(-1), sort=True):
        flags = pd.Series(group["overflowed"].to_numpy(bool))
        streak = (~flags).cumsum()  # a clean step starts a new streak
        counts = flags.astype(int).groupby(streak).cumsum()
        hit = np.flatnonzero(counts.to_numpy() >= need)
        if len(hit):
            at = hit[0]
            length = int(flags.groupby(streak).transform("sum").iloc[at])
            first = group.iloc[at]
            detail = f"{length} loss-scale overflows in a row ({need} reached at line {first['line']})"
            return Trigger(float(length), detail, int(first["line"]), _rank(first["rank"]), _text(first))
    return None


def _overflow_marks(steps: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    parts = []
    if len(steps):
        said = steps[steps["overflow"].notna()]
        parts.append(said[["rank", "line"]].assign(overflowed=said["overflow"].astype(bool), message=pd.NA))
    if len(events):
        said = events[events["kind"] == "overflow"]
        parts.append(said[["rank", "line", "message"]].assign(overflowed=True))
    marks = _in_line_order(parts)
    if not len(marks):
        return pd.DataFrame({"rank": [], "line": [], "message": [], "overflowed": []})
    # a step and an event on one line are one overflow; an overflow on either side wins
    marks = marks.sort_values("overflowed", ascending=False, kind="stable")
    marks = marks.drop_duplicates(["rank", "line"]).sort_values(["line"], kind="stable")
    return marks.reset_index(drop=True)


def loss_rise(run: RunData, rule: Rule) -> Trigger | None:
    """The smoothed loss (EMA over ``LOSS_SPAN`` records) rose above its lowest point so far by
    more than the limit, judged from the ``LOSS_SPAN``-th record on (before that the average
    is still a handful of noisy values); losses of the lowest rank, NaN/Inf left to ``nan``."""
    steps = _one_rank(run.table("steps"))
    loss = steps["loss"].to_numpy(np.float64, na_value=np.nan) if len(steps) else np.array([])
    ok = np.isfinite(loss)
    if ok.sum() < LOSS_SPAN:
        return None
    steps, loss = steps[ok].iloc[LOSS_SPAN - 1 :], loss[ok]
    smooth = pd.Series(loss).ewm(span=LOSS_SPAN).mean().to_numpy()[LOSS_SPAN - 1 :]
    loss = loss[LOSS_SPAN - 1 :]
    best = np.minimum.accumulate(smooth)
    worse = _worse_by(smooth - best, best, rule)
    hit = np.flatnonzero(worse > rule.limit)
    if not len(hit):
        return None
    at = hit[0]
    row = steps.iloc[at]
    return Trigger(
        float(worse[at]),
        f"smoothed loss {smooth[at]:.4g} is {_amount(worse[at], rule)} above its "
        f"best {best[at]:.4g} (loss {loss[at]:.4g} at line {row['line']})",
        int(row["line"]),
        _rank(row["rank"]),
    )


def eval_drop(run: RunData, rule: Rule) -> Trigger | None:
    """An eval metric got worse than its best value so far by more than the limit (lower is better
    for loss/error-like names, see ``parsers.insights.direction``)."""
    evals = run.table("evals")
    if not len(evals):
        return None
    found = []
    keys = [evals["rank"].fillna(-1), evals["metric"]]  # each rank judged on its own evals
    for (_, metric), group in evals.groupby(keys, sort=False):
        values = group["value"].to_numpy(np.float64, na_value=np.nan)
        ok = np.isfinite(values)
        group, values = group[ok], values[ok]
        sign = -1.0 if lower_is_better(str(metric)) else 1.0
        best = sign * np.maximum.accumulate(sign * values) if len(values) else values
        worse = _worse_by(sign * (best - values), best, rule)
        hit = np.flatnonzero(worse > rule.limit)
        if len(hit):
            at = hit[0]
            found.append(
                (int(group["line"].iloc[at]), str(metric), values[at], best[at], worse[at], group.iloc[at])
            )
    if not found:
        return None
    line, metric, value, best, worse, row = min(found, key=lambda f: f[0])
    return Trigger(
        float(worse),
        f"eval {metric} {value:.4g} is {_amount(worse, rule)} worse than its best {best:.4g}",
        line,
        _rank(row["rank"]),
    )


# --- the present: the run as it is now -------------------------------------------------------


def throughput_drop(run: RunData, rule: Rule) -> Trigger | None:
    """The latest throughput is below the median of the run's earlier records (the first, compile,
    record left out) by more than the limit.  From the epochs' samples/s, else their step time,
    else the steps' own step times (the median of the last ``STEP_WINDOW``)."""
    series = _throughput(run)
    if series is None:
        return None
    values, lines, ranks, unit, window = series
    if len(values) < 2 + window:
        return None
    current = float(np.median(values[-window:]))
    base = float(np.median(values[1:-window]))
    worse = _worse_by(np.array([base - current]), np.array([base]), rule)[0]
    if not worse > rule.limit:
        return None
    return Trigger(
        float(worse),
        f"throughput {current:.4g} {unit} is {_amount(worse, rule)} below the run's median {base:.4g} {unit}",
        int(lines[-1]),
        _rank(ranks[-1]),
    )


def _throughput(run: RunData) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, int] | None:
    """(values, lines, ranks, unit, window) of the best throughput figure the run prints."""
    epochs = _one_rank(run.table("epochs"))
    for column, unit, invert in (("samples_per_sec", "samples/s", False), ("step_time_ms", "steps/s", True)):
        found = _figure(epochs, column, invert)
        if found is not None:
            return (*found, unit, 1)
    found = _figure(_one_rank(run.table("steps")), "step_time_ms", True)
    return (*found, "steps/s", STEP_WINDOW) if found is not None else None


def _figure(table: pd.DataFrame, column: str, invert: bool) -> tuple[np.ndarray, ...] | None:
    if not len(table):
        return None
    values = table[column].to_numpy(np.float64, na_value=np.nan)
    ok = np.isfinite(values) & (values > 0)
    if not ok.any():
        return None
    values = 1000.0 / values[ok] if invert else values[ok]
    return values, table["line"].to_numpy()[ok], table["rank"].to_numpy()[ok]


def rank_lag(run: RunData, rule: Rule) -> Trigger | None:
    """One rank's mean step time is behind the median of the other ranks' by more than the limit.
    Step times from the steps table, else the epochs' step time; each rank's first record (the
    compile) left out."""
    per_rank = _rank_step_times(run)
    if per_rank is None or len(per_rank) < 2:
        return None
    lags = []
    for rank, (mean, line) in per_rank.items():
        others = float(np.median([m for r, (m, _) in per_rank.items() if r != rank]))
        worse = _worse_by(np.array([mean - others]), np.array([others]), rule)[0]
        lags.append((worse, rank, mean, others, line))
    worse, rank, mean, others, line = max(lags)
    if not worse > rule.limit:
        return None
    return Trigger(
        float(worse),
        f"rank {rank}: mean step time {mean:.4g} ms is {_amount(worse, rule)} behind "
        f"the median {others:.4g} ms of the other {len(per_rank) - 1} rank{'s' * (len(per_rank) > 2)}",
        line,
        rank,
    )


def _rank_step_times(run: RunData) -> dict[int, tuple[float, int]] | None:
    for name in ("steps", "epochs"):
        table = run.table(name)
        if not len(table) or table["rank"].isna().all():
            continue
        timed = table[np.isfinite(table["step_time_ms"].to_numpy(np.float64, na_value=np.nan))]
        timed = timed[timed["rank"].notna()].sort_values("line", kind="stable")
        if timed["rank"].nunique() < 2:
            continue
        found = {}
        for rank, group in timed.groupby("rank"):
            kept = group.iloc[1:] if len(group) > 1 else group
            found[int(rank)] = (float(kept["step_time_ms"].mean()), int(group["line"].iloc[-1]))
        return found
    return None


def stalled(run: RunData, rule: Rule) -> Trigger | None:
    """The store calls the run stalled: its log says running but stopped growing (see
    ``parsers.store.summary``); the figure is the seconds since it last grew."""
    if run.row.get("status") != "stalled":
        return None
    since = _seconds_since(run.row.get("last_update"))
    shown = f"{since / 60:.0f} min" if since is not None else "a long time"
    return Trigger(since, f"no new line for {shown}", run.last_line, run.last_rank)


def crashed(run: RunData, rule: Rule) -> Trigger | None:
    """The store calls the run crashed; the line is the exception a traceback ended with (the
    first error after the last traceback), else the last error line."""
    if run.row.get("status") != "crashed":
        return None
    event = _crash_event(run.table("events"))
    done = _number(run.row.get("epochs_done"))
    detail = f"crashed after {done:g} epoch{'s' * (done != 1)}" if done is not None else "crashed"
    if event is None:
        return Trigger(done, detail, run.last_line, run.last_rank)
    return Trigger(done, detail, int(event["line"]), _rank(event["rank"]), _text(event))


def _crash_event(events: pd.DataFrame) -> pd.Series | None:
    if not len(events):
        return None
    bad = events[events["kind"].isin(["traceback", "error", "interrupt", "nan"])].sort_values("line")
    if not len(bad):
        return None
    tracebacks = bad[bad["kind"] == "traceback"]
    if len(tracebacks):
        after = bad[(bad["line"] > tracebacks["line"].max()) & (bad["kind"] != "traceback")]
        return after.iloc[0] if len(after) else tracebacks.iloc[-1]
    return bad.iloc[-1]


def finished(run: RunData, rule: Rule) -> Trigger | None:
    """The store calls the run finished; the line is its closing line, else its last line."""
    if run.row.get("status") != "finished":
        return None
    events = run.table("events")
    done = _number(run.row.get("epochs_done"))
    loss = _number(run.row.get("last_loss"))
    detail = f"finished {done:g} epochs" if done is not None else "finished"
    detail += f", last loss {loss:.4g}" if loss is not None else ""
    closing = events[events["kind"] == "finish"] if len(events) else events
    if len(closing):
        row = closing.iloc[-1]
        return Trigger(done, detail, int(row["line"]), _rank(row["rank"]), _text(row))
    return Trigger(done, detail, run.last_line, run.last_rank)


def cost(run: RunData, rule: Rule) -> Trigger | None:
    """Spent or projected cost (``parsers.insights.cost.run_costs``) reached the amount; a rule
    naming another currency than the run's price row never compares amounts across currencies."""
    currency = str(run.cost.get("currency") or "")
    if rule.unit and rule.unit != currency.upper():
        return None
    spent, projected = _number(run.cost.get("cost_so_far")), _number(run.cost.get("cost_projected"))
    for figure, what in ((spent, "spent"), (projected, "projected")):
        if figure is not None and figure >= rule.limit:
            return Trigger(
                figure,
                f"{what} {figure:,.2f} {currency} (limit {rule.limit:g} {currency})",
                run.last_line,
                run.last_rank,
            )
    return None


# --- shared pieces ---------------------------------------------------------------------------


def _worse_by(worse: np.ndarray, reference: np.ndarray, rule: Rule) -> np.ndarray:
    """How much worse, in the rule's terms: a fraction of the reference's magnitude for ``%``."""
    if not rule.relative:
        return worse
    with np.errstate(divide="ignore", invalid="ignore"):
        out = worse / np.abs(reference)
    return np.where(reference == 0, np.where(worse > 0, np.inf, 0.0), out)


def _amount(worse: float, rule: Rule) -> str:
    return f"{100 * worse:.1f}%" if rule.relative else f"{worse:.4g}"


def _one_rank(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the lowest rank (all rows when no rank is known), in line order."""
    if not len(table):
        return table
    ranks = table["rank"]
    if ranks.notna().any():
        table = table[ranks == ranks.min()]
    return table.sort_values("line", kind="stable")


def _in_line_order(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({"rank": [], "line": [], "message": []})
    return pd.concat(parts, ignore_index=True).sort_values("line", kind="stable").reset_index(drop=True)


def _text(row: pd.Series) -> str | None:
    message = row.get("message")
    return None if message is None or message is pd.NA or isinstance(message, float) else str(message)


def _rank(value: Any) -> int | None:
    return (
        None
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
        else int(value)
    )


def _number(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _seconds_since(when: Any) -> float | None:
    if when is None or when is pd.NaT or when is pd.NA:
        return None
    return max((pd.Timestamp.now(tz="UTC") - pd.Timestamp(when)).total_seconds(), 0.0)
