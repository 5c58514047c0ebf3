"""Turning printed text into values: numbers with units, booleans, Python literals.

Logs print values the way Python's ``repr`` does, including numpy and MindSpore
wrappers (``np.float64(0.93)``, ``Tensor(shape=[], dtype=Float32, value= 0.78)``).
Everything here is read with ``ast.literal_eval`` after unwrapping; nothing a log
contains is ever executed.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

__all__ = ["UNIT_MS", "literal_dict", "literal_kwargs", "number", "to_value", "val_pairs"]

UNIT_MS: dict[str, float] = {
    "ms": 1.0,
    "msec": 1.0,
    "millisecond": 1.0,
    "milliseconds": 1.0,
    "s": 1000.0,
    "sec": 1000.0,
    "secs": 1000.0,
    "second": 1000.0,
    "seconds": 1000.0,
    "min": 60000.0,
    "mins": 60000.0,
    "minute": 60000.0,
    "minutes": 60000.0,
    "h": 3600000.0,
    "hour": 3600000.0,
    "hours": 3600000.0,
    "us": 0.001,
    "µs": 0.001,
}
TYPE_SCALE = {"ms": 1.0, "s": 1000.0, "min": 60000.0, "h": 3600000.0, "percent": 0.01}

# np.float64(0.9) / np.int64(3) / Tensor(shape=[], dtype=Float32, value= 0.78) / tensor(0.7)
_WRAPPED = re.compile(
    r"(?:np|numpy)\.\w+\(\s*([^()]*?)\s*\)"
    r"|Tensor\(shape=\[[^\]]*\],\s*dtype=\w+,\s*value=\s*\[?\s*([^()\]]*?)\s*\]?\s*\)"
    r"|tensor\(\s*([^(),]*?)\s*(?:,[^()]*)?\)"
)
_NAN_WORDS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "+inf": math.inf}


def number(text: str) -> float:
    """A float from printed text: ``0.78``, ``[0.78]``, ``nan``, ``INF``, ``85.4%``."""
    cleaned = text.strip().strip("[]()").strip().rstrip("%")
    lowered = cleaned.lower()
    if lowered in _NAN_WORDS:
        return _NAN_WORDS[lowered]
    return float(cleaned)


def to_value(text: str | None, kind: str, unit: str | None = None) -> Any:
    """Convert one captured group according to its registry field type."""
    if text is None:
        return None
    if kind == "str":
        return text.strip()
    if kind == "bool":
        return text.strip().lower() in {"true", "1", "yes"}
    if kind == "nonzero":
        return number(text) != 0
    if kind == "int":
        return int(float(text.strip().strip("[]")))
    if kind in ("dict", "kwargs"):
        return literal_dict(text) if kind == "dict" else literal_kwargs(text)
    if kind == "val_pairs":
        return val_pairs(text)
    if kind == "hms":
        return hms_ms(text)
    if kind == "epoch_progress":
        return max(1, math.ceil(number(text)))
    value = number(text)
    if kind == "duration":
        return value * UNIT_MS.get((unit or "ms").strip().lower(), 1.0)
    return value * TYPE_SCALE.get(kind, 1.0)


_HMS = re.compile(r"^\s*(?:(\d+)\s+days?,\s*)?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)\s*$")


def hms_ms(text: str) -> float:
    """``0:04:38``, ``25 days, 2:07:47`` or ``0:00:00.096494`` in milliseconds."""
    match = _HMS.match(text)
    if not match:
        raise ValueError(f"not a timedelta: {text!r}")
    days, hours, minutes, seconds = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return total * 1000.0


def _unwrap(text: str) -> str:
    return _WRAPPED.sub(lambda m: next(g for g in m.groups() if g is not None), text)


def _safe_literal(text: str) -> Any:
    text = re.sub(r"\b(nan|inf)\b", lambda m: f"'{m.group(1)}'", _unwrap(text))
    return ast.literal_eval(text)


def literal_dict(text: str) -> dict[str, Any]:
    """A printed dict as a dict; numbers stay numbers, NaN/inf survive; {} on failure."""
    try:
        value = _safe_literal(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): _restore_special(v) for k, v in value.items()}


_PAIR = re.compile(
    r"(?:^|\s)-\s+(?P<key>[A-Za-z_][\w.@]*):\s*(?P<value>[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|nan|inf))"
)


def val_pairs(text: str) -> dict[str, Any]:
    """The validation figures of Keras' ``- loss: 0.23 - acc: 0.91 - val_loss: 0.60 - val_acc: 0.83``:
    every ``val_`` pair (the others are the training figures of the same epoch), by name."""
    return {
        m.group("key"): float(m.group("value"))
        for m in _PAIR.finditer(text)
        if m.group("key").startswith("val_")
    }


def literal_kwargs(text: str) -> dict[str, Any]:
    """``Namespace(a=1, b='x')`` or ``a=1, b='x'`` as a dict, read with ``ast`` only."""
    inner = text.strip()
    match = re.match(r"^[\w.]*\((.*)\)$", inner, re.S)
    if match:
        inner = match.group(1)
    try:
        call = ast.parse(f"f({_unwrap(inner)})", mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return {}
    result: dict[str, Any] = {}
    for keyword in getattr(call, "keywords", []):
        if keyword.arg is None:
            continue
        try:
            result[keyword.arg] = ast.literal_eval(keyword.value)
        except (ValueError, SyntaxError, TypeError):
            result[keyword.arg] = ast.unparse(keyword.value)
    return result


def _restore_special(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in _NAN_WORDS:
        return _NAN_WORDS[value.lower()]
    return value
