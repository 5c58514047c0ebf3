"""Errors a user can see.  Messages are one line, name the file, and are safe to print.

The CLI turns any ``LogError`` into ``Error: <message>`` and exit code 2; the
dashboard shows it in the row of the run it concerns.  Anything else escaping the
library is a bug, not bad input.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DuplicateFormatError",
    "EmptyLogError",
    "FormatDefinitionError",
    "LogError",
    "NoRecordsError",
    "NotEventFileError",
    "UnknownFormatError",
    "UnreadableLogError",
]


class LogError(Exception):
    """Base class of every error caused by the input rather than by epochscope."""


class UnreadableLogError(LogError):
    """Missing path, a directory without logs, a binary file, a broken gzip."""


class NotEventFileError(UnreadableLogError):
    """Named or placed like a summary / event file, but no record in it has a valid checksum."""


class ConfigError(LogError):
    """A config file beside a log (hparams.json, YAML, config.py) that is not read: why, and which file."""


class EmptyLogError(LogError):
    """The file exists but holds no text."""


class NoRecordsError(LogError):
    """Text, but no line of any known format."""


class UnknownFormatError(LogError):
    """``--format NAME`` names no registered format."""


class DuplicateFormatError(LogError):
    """A format name registered twice."""


class FormatDefinitionError(LogError):
    """A user format (TOML) that cannot be used: bad regex, unknown field type."""
