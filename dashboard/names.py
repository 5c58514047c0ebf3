"""Run names as people tell them apart: a sweep's runs by what differs, not by their common prefix.

``python -m training sweep --name lr`` names its runs ``lr-lr_max=0.1-seed=1``,
``lr-lr_max=0.2-seed=1``...: in a chip or a chart label only the end says which is which.
``short_names`` strips the prefix (and suffix) all the names share, cut at a separator so no
word is split, and keeps a name whole when nothing would be left; the full name goes in a hover.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["SEPARATORS", "short_names"]

SEPARATORS = "-/: "  # not "_", "." or "=": they join a key, a number, a value


def short_names(names: Sequence[str], *, keep: int = 3) -> dict[str, str]:
    """``{name: what distinguishes it}``; names unchanged when there are fewer than two, or when
    the common part is shorter than ``keep`` characters (nothing worth hiding)."""
    unique = list(dict.fromkeys(str(n) for n in names))
    if len(unique) < 2:
        return {n: n for n in unique}
    head = _cut_head(_common_prefix(unique))
    tail = _cut_tail(_common_prefix([n[len(head) :][::-1] for n in unique])[::-1])
    out = {}
    for name in unique:
        middle = name[len(head) : len(name) - len(tail)] if tail else name[len(head) :]
        middle = middle.strip(SEPARATORS)
        out[name] = middle if middle and len(head) + len(tail) >= keep else name
    return out if len(set(out.values())) == len(out) else {n: n for n in unique}


def _common_prefix(texts: Sequence[str]) -> str:
    """The characters all ``texts`` start with (text, not path components)."""
    first, last = min(texts), max(texts)
    size = next((i for i, (a, b) in enumerate(zip(first, last)) if a != b), min(len(first), len(last)))
    return first[:size]


def _cut_head(prefix: str) -> str:
    """The common prefix up to and including its last separator (a word is never split)."""
    found = [m.end() for m in re.finditer(f"[{re.escape(SEPARATORS)}]", prefix)]
    return prefix[: found[-1]] if found else ""


def _cut_tail(suffix: str) -> str:
    """The common suffix from its first separator on."""
    found = re.search(f"[{re.escape(SEPARATORS)}]", suffix)
    return suffix[found.start() :] if found else ""
