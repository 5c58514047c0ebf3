"""POSTing an alert as JSON, in the body each chat tool's incoming webhook expects.

Presets (``--webhook-format``), each a plain text message as the tools document it:

    slack     {"text": TEXT}
    feishu    {"msg_type": "text", "content": {"text": TEXT}}        (Lark too)
    dingtalk  {"msgtype": "text", "text": {"content": TEXT}}
    wecom     {"msgtype": "text", "text": {"content": TEXT}}        (at most 2048 bytes)
    json      the alert record itself, for your own endpoint

Feishu, DingTalk and WeCom answer HTTP 200 even when they refuse a message (a keyword
missing, a bad token) and say so in the body (``code``/``errcode``/``StatusCode`` not 0);
that counts as a failure.  Connection errors, timeouts, HTTP 429 and 5xx are retried with
exponential backoff; a refusal is not (it would be refused again).  Only the standard
library is used: a watcher must run on a bare training host.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from parsers.watch.errors import WatchError
from parsers.watch.message import chat_text

__all__ = [
    "ATTEMPTS",
    "FIRST_BACKOFF_S",
    "PRESETS",
    "DeliveryError",
    "check_url",
    "post_alert",
    "webhook_body",
]

ATTEMPTS = 3  # tries per alert: now, after FIRST_BACKOFF_S, after twice that
FIRST_BACKOFF_S = 1.0
TIMEOUT_S = 10.0
WECOM_MAX_BYTES = 2048
_REFUSE_IN_BODY = ("feishu", "dingtalk", "wecom")  # they answer 200 and an error code


class DeliveryError(Exception):
    """A delivery that failed; the message says why (reported on stderr, never fatal)."""


def _dingtalk(record: dict[str, Any]) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": chat_text(record)}}


def _wecom(record: dict[str, Any]) -> dict[str, Any]:
    text = chat_text(record).encode("utf-8")[:WECOM_MAX_BYTES].decode("utf-8", "ignore")
    return {"msgtype": "text", "text": {"content": text}}


PRESETS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "slack": lambda record: {"text": chat_text(record)},
    "feishu": lambda record: {"msg_type": "text", "content": {"text": chat_text(record)}},
    "dingtalk": _dingtalk,
    "wecom": _wecom,
    "json": lambda record: dict(record),
}


def check_url(url: str) -> str:
    """The URL if it is http(s) with a host; else ``WatchError`` (exit 2 before watching starts)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WatchError(f"--webhook {url!r}: needs an http:// or https:// URL")
    return url


def webhook_body(record: dict[str, Any], preset: str) -> bytes:
    return json.dumps(PRESETS[preset](record), ensure_ascii=False).encode("utf-8")


def post_alert(
    url: str,
    record: dict[str, Any],
    *,
    preset: str = "json",
    wait: Callable[[float], bool],
    attempts: int = ATTEMPTS,
    backoff_s: float = FIRST_BACKOFF_S,
) -> None:
    """POST the alert; retry what may pass later.  ``wait(seconds)`` sleeps between tries and
    returns True when the watcher is stopping (then the remaining tries are given up)."""
    body = webhook_body(record, preset)
    reason = "not tried"
    for attempt in range(attempts):
        if attempt and wait(backoff_s * 2 ** (attempt - 1)):
            raise DeliveryError(f"{reason}; watcher stopping, {attempts - attempt} tries left undone")
        try:
            _post(url, body, check=preset in _REFUSE_IN_BODY)
            return
        except _Retry as exc:
            reason = str(exc)
    raise DeliveryError(f"{reason} (after {attempts} tries)")


class _Retry(Exception):
    """A failure that may pass: connection refused, timeout, 429, 5xx."""


def _post(url: str, body: bytes, *, check: bool) -> None:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # http(s) only: check_url
            answer = response.read(65536)
    except urllib.error.HTTPError as exc:
        message = f"HTTP {exc.code} {exc.reason}"
        if exc.code == 429 or exc.code >= 500:
            raise _Retry(message) from None
        raise DeliveryError(message) from None
    except (urllib.error.URLError, OSError) as exc:  # refused, unreachable, DNS, timeout
        raise _Retry(f"cannot reach {urlsplit(url).netloc}: {getattr(exc, 'reason', exc)}") from None
    if check:
        _check_answer(answer)


def _check_answer(answer: bytes) -> None:
    """Chat tools refuse with HTTP 200 and an error code in the body."""
    try:
        data = json.loads(answer)
    except ValueError:
        return  # Slack answers "ok"; other endpoints may answer anything
    if not isinstance(data, dict):
        return
    for key in ("errcode", "code", "StatusCode"):
        if data.get(key) not in (None, 0, "0"):
            message = data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or ""
            raise DeliveryError(f"refused: {key} {data[key]} {message}".rstrip())
