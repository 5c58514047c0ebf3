"""Which recorded tags mean a column of the tables, as data.

A summary or event file names its scalars freely: ``loss``, ``loss/auto``
(MindSpore's ``SummaryCollector``), ``train/loss``, ``Loss/train``, ``lr``,
``learning_rate``, ``eval/acc``, ``val_loss``...  The rules below say, in order,
which of them fill ``steps.loss``, ``steps.lr``, ``steps.loss_scale``, ``steps.epoch`` or
become ``evals`` rows (the metric named by the pattern's ``metric`` group).  The first rule
that matches a tag wins; a tag no rule matches is only in the ``scalars`` table, where
every tag is.  Add a spelling by adding a rule, not code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

__all__ = ["TAG_RULES", "TagRule", "classify"]

_TRAIN = r"(?:train(?:ing)?[/_ .-])?"
_EVAL = r"(?:eval(?:uation)?|val(?:id(?:ation)?)?|test)"
_LR = r"(?:lr|learning[_ ]?rate)"
_SUFFIX = r"(?:/auto|/train(?:ing)?|/scalar)?"  # /auto: what SummaryCollector appends


@dataclass(frozen=True)
class TagRule:
    """Tags matching ``pattern`` (whole tag, any case) fill ``table``'s ``column`` (steps) or,
    for ``evals``, are the metric its ``metric`` group names."""

    table: str
    column: str | None
    pattern: str

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE)


TAG_RULES: tuple[TagRule, ...] = (
    TagRule("steps", "epoch", rf"{_TRAIN}epoch{_SUFFIX}"),  # PyTorch Lightning records it every step
    TagRule("steps", "loss_scale", rf"{_TRAIN}loss[_ ]?scal(?:e|ing){_SUFFIX}"),
    TagRule("steps", "loss", rf"{_TRAIN}(?:total[_ ]?)?loss{_SUFFIX}|loss[/_ ]train(?:ing)?"),
    TagRule(
        "steps", "lr", rf"{_TRAIN}(?:lr|learning[_ ]?rate){_SUFFIX}|(?:lr|learning[_ ]?rate)[/_-]group[_-]?0"
    ),
    TagRule("evals", None, rf"{_EVAL}[/_ .-](?P<metric>.+)"),
    TagRule("evals", None, rf"(?P<metric>.+?)[/_ .-]{_EVAL}"),
    TagRule(
        "evals",
        None,
        r"(?P<metric>(?:top[_-]?[15][_-]?)?acc(?:uracy)?|top[_-]?[15]|map|f1(?:[_-]score)?|auc|bleu|perplexity|ppl)",
    ),
)


def classify(tags: Iterable[str], rules: tuple[TagRule, ...] = TAG_RULES) -> dict[str, tuple[str, str]]:
    """``{tag: (table, column or metric)}`` for each tag some rule claims."""
    out: dict[str, tuple[str, str]] = {}
    for tag in tags:
        for rule in rules:
            match = rule.regex.fullmatch(tag)
            if match:
                out[tag] = (rule.table, rule.column or match.group("metric"))
                break
    return out
