"""Regex building blocks shared by the format modules, so every format spells a
number, a loss or a prefix the same way -- and the one place line patterns compile.

Every line pattern, built-in or a user's (``--formats FILE``), is compiled by
``compile_linear`` with Google's RE2 (the ``google-re2`` package): RE2 runs in time
linear in the line whatever the pattern, so a ``.*?`` before a keyword (the model
zoo's ``total_loss`` line, torchvision's MetricLogger, the checkpoint event) or a
user's ``(a+)+$`` cannot backtrack for minutes on a long line.  A pattern RE2 cannot
run (lookahead, backreferences, lookbehind other than ``WORD_START``) is refused
with a ``re.error`` saying so, never compiled with Python's backtracking engine.

What each pattern relies on:

* all of them: RE2's linear time.  Python's ``re`` is used for none of them.
* the built-in patterns that start with ``WORD_START`` (LossMonitor, TimeMonitor,
  MindYOLO, mindocr, the model zoo's epoch lines, torchvision, timm, mindvision): the
  rewrite below, RE2 having no lookbehind.  ``WORD_START`` is only allowed at the start
  of a pattern, where it becomes "start of line or one character that is not a letter,
  digit, ``_`` or ``/``", and the match is reported as starting after that character.
* RE2's classes are ASCII: ``\\d``, ``\\w``, ``\\s`` and ``\\b`` do not match Unicode
  digits, letters or spaces, which no built-in pattern needs (``WORD_START`` spells
  Unicode letters and digits out, as Python's ``\\w`` did).
* text with lone surrogates (bytes that are not UTF-8, decoded with
  ``surrogateescape``) is searched with each such character as U+FFFD: same
  positions, and groups hold the replacement character, never a surrogate.

Other regexes in ``parsers`` run on bounded or anchored input and stay on ``re``:
the rank tag in ``dispatch`` (literal prefixes, no nested repetition), the value
readers in ``values`` (anchored, on one field), file names in ``source``.  Lines
longer than ``parsers.source.MAX_LINE_BYTES`` never reach any of them whole.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["BOOL", "END", "LOSS", "NUM", "TENSOR_VALUE", "UNIT", "WORD_START", "compile_linear"]

# 12, 0.78, .5, 1e-05, -3.2E+4
NUM = r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?"
# A loss may also be printed as nan/inf by Python, numpy or MindSpore.
LOSS = rf"(?:{NUM}|[-+]?(?:nan|NaN|NAN|inf|Inf|INF|infinity|Infinity))"
# Tensor(shape=[], dtype=Float32, value= 0.78)  and  Tensor(shape=[1], dtype=Float32, value= [ 0.78])
TENSOR_VALUE = r"Tensor\(shape=\[[^\]]*\],\s*dtype=\w+,\s*value=\s*\[?\s*"
BOOL = r"(?:True|False|true|false)"
# Trailing whitespace only: a record is complete only when nothing follows it.
END = r"\s*$"
UNIT = r"(?:ms|s|sec|min|h)"
# Not preceded by a letter, digit, underscore or slash: "epoch" but not "val_epoch".
WORD_START = r"(?<![\w/])"

# WORD_START as RE2 spells it: the preceding character is consumed, and the empty group
# after it marks where the match really starts.
_START_GROUP = "_epochscope_start"
_RE2_WORD_START = rf"(?:^|[^\p{{L}}\p{{N}}_/])(?P<{_START_GROUP}>)"
_SURROGATE = re.compile("[\udc80-\udcff]")
_COMPILED: dict[str, LinearPattern] = {}


def compile_linear(regex: str) -> LinearPattern:
    """``regex`` compiled with RE2 (cached); ``re.error`` if RE2 cannot run it."""
    pattern = _COMPILED.get(regex)
    if pattern is None:
        pattern = _COMPILED[regex] = LinearPattern(regex)
    return pattern


class LinearPattern:
    """An RE2 pattern with the part of ``re.Pattern``'s interface the parser uses:
    ``search``, ``pattern``, ``groupindex``; its matches take group names everywhere."""

    __slots__ = ("_re2", "groupindex", "pattern", "shifted")

    def __init__(self, regex: str) -> None:
        import re2

        self.pattern = regex
        self.shifted = regex.startswith(WORD_START)
        body = regex[len(WORD_START) :] if self.shifted else regex
        if WORD_START in body:
            raise re.error("WORD_START is only supported at the start of a pattern")
        options = re2.Options()
        options.log_errors = False
        try:
            self._re2 = re2.compile(_RE2_WORD_START + body if self.shifted else body, options)
        except re2.error as exc:
            raise re.error(
                f"{exc} (patterns run on RE2, in linear time: no lookaround or backreferences)"
            ) from None
        self.groupindex = {k: v for k, v in self._re2.groupindex.items() if k != _START_GROUP}

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> LinearMatch | None:
        try:
            found = self._re2.search(text, pos, endpos)
        except UnicodeEncodeError:  # lone surrogates: same positions, U+FFFD in their place
            found = self._re2.search(_SURROGATE.sub("\ufffd", text), pos, endpos)
        return None if found is None else LinearMatch(found, self)

    def __repr__(self) -> str:
        return f"compile_linear({self.pattern!r})"


class LinearMatch:
    """One RE2 match: groups by name or number, the whole match without WORD_START's character."""

    __slots__ = ("_match", "re")

    def __init__(self, match: Any, pattern: LinearPattern) -> None:
        self._match, self.re = match, pattern

    def _index(self, group: int | str) -> int:
        return self._match.re.groupindex[group] if isinstance(group, str) else group

    def span(self, group: int | str = 0) -> tuple[int, int]:
        if group == 0 and self.re.shifted:
            return self._match.span(self._index(_START_GROUP))[0], self._match.end(0)
        return self._match.span(self._index(group))

    def start(self, group: int | str = 0) -> int:
        return self.span(group)[0]

    def end(self, group: int | str = 0) -> int:
        return self.span(group)[1]

    def group(self, group: int | str = 0) -> str | None:
        if group == 0 and self.re.shifted:
            start, end = self.span(0)
            return self._match.string[start:end]
        return self._match.group(self._index(group))

    def groupdict(self) -> dict[str, str | None]:
        return {name: self._match.group(index) for name, index in self.re.groupindex.items()}

    @property
    def string(self) -> str:
        return self._match.string
