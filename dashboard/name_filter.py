"""The Runs page's name filter: a regular expression typed by whoever opens the page, run by RE2.

Python's ``re`` backtracks, so a pattern such as ``(a+)+$`` against a run named with 26 ``a``
and one other character took 9.7 s on every rerun of the page (doubling with each further
character) and held a server thread all that time.  RE2 (Google's engine, ``google-re2``)
matches in time linear in the name whatever the pattern, in bounded memory, and refuses
what it cannot do that way (backreferences, lookaround); the page shows that refusal as a
bad pattern.  The syntax is otherwise Python's: ``resnet|vit``, ``^exp-\\d+$``, ``(?i)lr``.
"""

from __future__ import annotations

import re

import re2

__all__ = ["MAX_PATTERN_CHARS", "compile_name_filter"]

# The text box's limit: a filter is a few words, and RE2's program size grows with the pattern.
MAX_PATTERN_CHARS = 500


def compile_name_filter(pattern: str):
    """The compiled pattern (``.search(name)`` is linear in the name), or ``re.error`` with RE2's
    reason when RE2 refuses it, so callers handle a bad pattern exactly as before."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise re.error(f"longer than {MAX_PATTERN_CHARS} characters")
    options = re2.Options()
    options.log_errors = False  # a typo in the box is not worth a line on the server's stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else b"not accepted by RE2"
        text = (
            reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        )  # RE2 says bytes
        raise re.error(text) from None
