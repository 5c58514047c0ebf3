"""The one error a user can cause in ``parse-log watch`` beyond the store's and the rules'."""

from __future__ import annotations

from parsers.errors import LogError

__all__ = ["WatchError"]


class WatchError(LogError):
    """Bad ``watch`` input: a missing log, a bad ``--every``, webhook URL or ``--exec`` command."""
