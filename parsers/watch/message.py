"""An alert in each shape it is delivered in: a JSON record, one line, chat text, environment.

Every shape is built from the record, the JSON-safe dict of one row of
``parsers.insights.alerts.evaluate_alerts`` plus the time it fired.  Log text is data
everywhere: control characters (a terminal escape sequence in a log line) are replaced
before a line reaches a terminal, and nothing here is ever run by a shell.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["ENV_PREFIX", "alert_env", "alert_record", "chat_text", "one_line"]

ENV_PREFIX = "EPOCHSCOPE_"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def alert_record(row: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """The alert as plain JSON values (NaN and <NA> become null) with the UTC time it fired."""
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    record: dict[str, Any] = {"time": when.isoformat(timespec="seconds").replace("+00:00", "Z")}
    for key, value in row.items():
        record[key] = _plain(value)
    return record


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) or hasattr(value, "dtype"):
        number = float(value)
        if not math.isfinite(number):
            return None
        return int(number) if number.is_integer() and not isinstance(value, float) else number
    return value


def one_line(record: dict[str, Any]) -> str:
    """``TIME ALERT RUN RULE: detail | LOG:LINE: text | cost so far X CUR`` on one line."""
    parts = [f"{record['time']} ALERT {record['run']} {record['rule']}: {record['detail']}"]
    if record.get("line") is not None:
        where = (
            f"{Path(record['log']).name}:{record['line']}" if record.get("log") else f"line {record['line']}"
        )
        parts.append(f"{where}: {record.get('text') or ''}".rstrip())
    parts.append(_cost(record))
    return _safe(" | ".join(parts))


def chat_text(record: dict[str, Any]) -> str:
    """A few lines for a chat message; starts with 'epochscope' (a DingTalk bot's keyword check)."""
    lines = [f"epochscope alert: {record['run']} -- {record['rule']}", str(record["detail"])]
    if record.get("line") is not None:
        lines.append(f"line {record['line']} of {record.get('log') or 'the log'}:")
        lines.append(str(record.get("text") or ""))
    lines.append(_cost(record))
    return "\n".join(_safe(line) for line in lines)


def alert_env(record: dict[str, Any]) -> dict[str, str]:
    """``EPOCHSCOPE_RUN``, ``EPOCHSCOPE_RULE``, ... one variable per field ('' when unknown)."""
    return {
        ENV_PREFIX + key.upper(): ("" if value is None else str(value)).replace("\x00", "")
        for key, value in record.items()
    }


def _cost(record: dict[str, Any]) -> str:
    spent, projected = record.get("cost_so_far"), record.get("cost_projected")
    currency = record.get("currency") or ""
    if spent is None:
        return "cost so far unknown (no epoch time in the log)"
    text = f"cost so far {spent:,.2f} {currency}"
    return text + (f" (projected {projected:,.2f} {currency})" if projected is not None else "")


def _safe(text: str) -> str:
    return _CONTROL.sub(" ", text)
