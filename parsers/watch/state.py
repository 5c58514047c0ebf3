"""Which alerts were sent: one file in the store folder, so a restarted watcher does not repeat itself.

``alerts.json`` maps run -> rule (as written) -> when it fired, its line and figure.  An
alert is recorded *before* it is delivered, under a lock and by replacing the file whole
(``parsers.store.files``): a watcher killed at any moment never sends an alert twice, and
two watchers on one store never both send it (the price: a watcher killed in the middle
of a delivery loses that one delivery).  A run whose log was replaced (the store parsed
it again from the start: a new job in the same folder) starts with a clean slate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from parsers.store.files import atomic_write_json, store_lock
from parsers.watch.errors import WatchError

__all__ = ["STATE_FILE", "SentAlerts"]

STATE_FILE = "alerts.json"


class SentAlerts:
    """The record of sent alerts of one store folder."""

    def __init__(self, store_dir: Path) -> None:
        self.path = Path(store_dir) / STATE_FILE
        self.store_dir = Path(store_dir)

    def read(self) -> dict[str, dict[str, Any]]:
        """run -> rule -> what was sent; a file that is not ours is an error, not a fresh start."""
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise WatchError(
                f"{self.path}: cannot read the record of sent alerts ({exc}); delete it to start over"
            ) from None
        sent = data.get("sent") if isinstance(data, dict) else None
        if not isinstance(sent, dict):
            raise WatchError(f"{self.path}: not a record of sent alerts; delete it to start over")
        return sent

    def claim(self, alerts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The alerts not sent before, now recorded as sent; the caller delivers exactly these."""
        with store_lock(self.store_dir, "alerts"):
            sent = self.read()
            new = [a for a in alerts if a["rule"] not in sent.get(a["run"], {})]
            for alert in new:
                sent.setdefault(alert["run"], {})[alert["rule"]] = {
                    key: alert.get(key) for key in ("time", "line", "value", "detail")
                }
            if new:
                self._write(sent)
        return new

    def forget(self, runs: Iterable[str]) -> None:
        """Drop the record of ``runs`` (their logs were replaced: new jobs, new alerts)."""
        runs = set(runs)
        if not runs:
            return
        with store_lock(self.store_dir, "alerts"):
            sent = self.read()
            if runs & set(sent):
                self._write({run: rules for run, rules in sent.items() if run not in runs})

    def _write(self, sent: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path, {"sent": sent}, durable=True)
