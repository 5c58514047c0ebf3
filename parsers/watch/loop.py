"""The watch loop: refresh the store, evaluate the rules, deliver what is new, sleep, repeat.

Each tick costs what the logs grew by: the store reads only appended bytes, and only
runs whose logs changed are evaluated again (plus the ``stalled`` rule, which the clock
alone can make true, on the others).  The first tick evaluates every run, so a watcher
started after a NaN still reports it.  A tick that fails (a folder unmounted for a
moment, a log rotated away) is reported on stderr and the next one tries again.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

import pandas as pd

from parsers.errors import LogError
from parsers.insights.alerts import ALERT_RULES, evaluate_alerts
from parsers.insights.cost import Price
from parsers.insights.rules import Rule
from parsers.store.discover import RunSpec, discover_local, file_runs
from parsers.store.runstore import STORE_DIR, RunStore
from parsers.watch.deliver import Delivery
from parsers.watch.errors import WatchError
from parsers.watch.message import alert_record
from parsers.watch.state import SentAlerts
from parsers.watch.stopping import StopRequest

__all__ = ["Target", "Watcher", "resolve_target"]


@dataclass(frozen=True)
class Target:
    """What is watched: every run under ``folder``, or the named ``logs``; ``base`` is the folder
    they are named relative to (and where the store and the price table live by default)."""

    base: Path
    folder: Path | None
    logs: tuple[str, ...]

    def runs(self, store_dir: Path) -> list[RunSpec]:
        """The runs as they are now (a new run folder joins the next tick)."""
        if self.folder is not None:
            if not self.folder.is_dir():
                raise WatchError(f"{self.folder}: no such folder of runs (any more)")
            return discover_local(self.folder, skip=store_dir)
        try:
            return file_runs(list(self.logs), root=str(self.base))
        except OSError as exc:
            raise WatchError(f"{exc.filename or self.logs[0]}: cannot read ({exc.strerror or exc})") from None


def resolve_target(sources: Sequence[str]) -> Target:
    """One folder of runs, or one or more log files; anything else is bad input."""
    paths = [Path(s) for s in sources]
    for path in paths:
        if not path.exists():
            raise WatchError(f"{path}: no such file or folder")
    folders = [p for p in paths if p.is_dir()]
    if folders and len(paths) > 1:
        raise WatchError("give one folder of runs, or log files -- not several folders or both")
    if folders:
        return Target(folders[0], folders[0], ())
    parents = {str(p.resolve().parent) for p in paths}
    base = Path(os.path.commonpath(sorted(parents)))
    return Target(base, None, tuple(str(p) for p in paths))


class Watcher:
    """Follows a target through its store and delivers each alert once."""

    def __init__(
        self,
        target: Target,
        rules: Sequence[Rule],
        *,
        store_dir: Path | None = None,
        prices: Sequence[Price],
        delivery: Delivery,
        err: TextIO | None = None,
    ) -> None:
        self.target = target
        self.rules = list(rules)
        self.store = RunStore(target.base, store_dir if store_dir is not None else target.base / STORE_DIR)
        self.sent = SentAlerts(self.store.store_dir)
        self.sent.read()  # a damaged record is bad input: say so now, not at the first alert
        self.prices = list(prices)
        self.delivery = delivery
        self.err = err
        self._reported: set[tuple[str, str, str]] = set()
        self.delivered = 0  # alerts delivered by the last tick

    def tick(self, *, everything: bool) -> pd.DataFrame:
        """One look: the alerts that hold for the runs evaluated; new ones are delivered."""
        runs = self.target.runs(self.store.store_dir)
        root = str(self.target.folder.resolve()) if self.target.folder is not None else None
        results = self.store.refresh_runs(runs, root=root)
        self._report_errors(results)
        self.sent.forget(results.loc[results["status"] == "reparsed", "run"].tolist())
        names = [run.name for run in runs]
        rebuilt = set(self.store.changed_runs)  # new lines, or an edited config (the device: the cost)
        changed = names if everything else [name for name in names if name in rebuilt]
        found = [evaluate_alerts(self.store, self.rules, prices=self.prices, runs=changed)] if changed else []
        clock = [rule for rule in self.rules if ALERT_RULES[rule.name].clock]
        rest = [name for name in names if name not in set(changed)]
        if clock and rest:
            found.append(evaluate_alerts(self.store, clock, prices=self.prices, runs=rest))
        found = [frame for frame in found if len(frame)]
        alerts = pd.concat(found, ignore_index=True) if found else evaluate_alerts(self.store, [])
        now = datetime.now(timezone.utc)
        new = self.sent.claim([alert_record(row, now=now) for row in alerts.to_dict("records")])
        for record in new:
            self.delivery.send(record)
        self.delivered = len(new)
        return alerts

    def run(self, *, every_s: float, once: bool, stop: StopRequest) -> int:
        """Watch until ``stop`` is set (0), or look once (1 when some rule holds, else 0)."""
        alerts = self.tick(everything=True)  # bad input fails here, before any waiting
        if once:
            return self._once_result(alerts)
        self._say(f"watching {self._what()} every {every_s:g} s (store {self.store.store_dir}); Ctrl-C stops")
        while not stop.wait(every_s):
            try:
                self.tick(everything=False)
            except LogError as exc:
                self._say(str(exc))
            except Exception:  # a bug, not bad input: its traceback, then the next tick
                traceback.print_exc(file=self.err or sys.stderr)
        self._say("stopped")
        return 0

    def _once_result(self, alerts: pd.DataFrame) -> int:
        if not len(alerts):
            return 0
        if not self.delivered:
            self._say(f"{len(alerts)} alert(s) hold, all sent before (recorded in {self.sent.path})")
        return 1

    def _report_errors(self, results: pd.DataFrame) -> None:
        """A log the store cannot read, said once (not on every tick)."""
        for row in results[results["status"] == "error"].itertuples():
            key = (str(row.run), str(row.log), str(row.error))
            if key not in self._reported:
                self._reported.add(key)
                self._say(f"{row.run}/{row.log}: {row.error}")

    def _what(self) -> str:
        if self.target.folder is not None:
            return f"the runs under {self.target.folder}"
        return ", ".join(self.target.logs)

    def _say(self, message: str) -> None:
        print(f"watch: {message}", file=self.err or sys.stderr, flush=True)
