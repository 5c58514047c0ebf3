"""Reading rules: ``NAME`` or ``NAME=VALUE``, for ``compare --fail-on`` and ``watch --on`` alike.

Both commands take rules written the same way and fail the same way on a typo, so the
reading is here once; each command keeps its own table of rule names (``compare.RULES``,
``alerts.ALERT_RULES``) whose entries say what value they take:

    flag    no value                        nan, crashed
    limit   relative ``5%`` or absolute     throughput-drop=5%, final-loss-rise=0.02
    count   a whole number >= 1             overflow=3
    money   an amount and its currency      cost=200CNY

A rule that cannot be read raises ``RuleError`` naming the option it came from, so
the CLI prints one ``Error: --on 'overflow=x': ...`` line and exits 2.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from parsers.errors import LogError

__all__ = ["TAKES", "Rule", "RuleError", "parse_rule", "rule_usage"]

# What each kind of value looks like in help text, and an example for error messages.
TAKES: dict[str, tuple[str, str]] = {
    "flag": ("", ""),
    "limit": ("LIMIT", "5%"),
    "count": ("N", "3"),
    "money": ("AMOUNT", "200CNY"),
}
_MONEY = re.compile(r"(?P<amount>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(?P<unit>[A-Za-z]*)")


class RuleError(LogError):
    """A rule (``--fail-on``, ``--on``) that cannot be read."""


class RuleKindLike(Protocol):
    """An entry of a rule table: all the reader needs is what value the rule takes."""

    @property
    def takes(self) -> str: ...


@dataclass(frozen=True)
class Rule:
    """A parsed rule.  ``limit`` is a fraction when ``relative`` (``5%`` -> 0.05), else in the
    metric's own unit (a count for ``count`` rules, an amount for ``money`` ones); ``unit`` is
    the currency of a ``money`` rule (upper case, '' when not given); ``text`` as written."""

    name: str
    limit: float = 0.0
    relative: bool = False
    text: str = ""
    unit: str = ""


def rule_usage(name: str, kind: RuleKindLike) -> str:
    """``throughput-drop=LIMIT``, ``overflow=N``, ``nan``: how the rule is written."""
    placeholder = TAKES[kind.takes][0]
    return f"{name}={placeholder}" if placeholder else name


def parse_rule(text: str, rules: Mapping[str, RuleKindLike], *, option: str) -> Rule:
    """``throughput-drop=5%`` -> Rule, checked against ``rules``; a typo names the rules there are."""
    name, has_value, value = (part.strip() for part in text.partition("="))
    if name not in rules:
        known = ", ".join(rule_usage(n, k) for n, k in rules.items())
        raise RuleError(f"{option} {text!r}: unknown rule (known: {known})")
    takes = rules[name].takes
    if takes == "flag":
        if has_value:
            raise RuleError(f"{option} {text!r}: {name} takes no value")
        return Rule(name, text=text)
    if not value:
        raise RuleError(f"{option} {text!r}: needs a limit, e.g. {name}={TAKES[takes][1]}")
    reader = {"limit": _limit, "count": _count, "money": _money}[takes]
    return Rule(name, text=text, **reader(value, f"{option} {text!r}"))


def _limit(value: str, where: str) -> dict:
    relative = value.endswith("%")
    number = _number(value.removesuffix("%"), where, f"{value!r} is not a number or a percentage")
    if number < 0:
        raise RuleError(f"{where}: the limit must be a number >= 0")
    return {"limit": number / 100.0 if relative else number, "relative": relative}


def _count(value: str, where: str) -> dict:
    if not value.isdigit() or int(value) < 1:
        raise RuleError(f"{where}: {value!r} is not a whole number >= 1")
    return {"limit": float(int(value))}


def _money(value: str, where: str) -> dict:
    match = _MONEY.fullmatch(value)
    if match is None:
        raise RuleError(f"{where}: {value!r} is not an amount such as 200CNY")
    amount = _number(match["amount"], where, f"{value!r} is not an amount such as 200CNY")
    if amount <= 0:
        raise RuleError(f"{where}: the amount must be > 0")
    return {"limit": amount, "unit": match["unit"].upper()}


def _number(text: str, where: str, complaint: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise RuleError(f"{where}: {complaint}") from None
    if not math.isfinite(number):
        raise RuleError(f"{where}: the limit must be a finite number >= 0")
    return number
