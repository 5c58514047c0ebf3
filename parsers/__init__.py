"""epochscope parsers: training logs in, tidy pandas tables out.

    >>> import parsers
    >>> log = parsers.parse_log("train.log")
    >>> log.steps.head()          # epoch, step, global_step, loss, ...

The tables' columns are documented in ``parsers.schema``; the formats known are
``parsers.FORMATS``.  Nothing here imports MindSpore or Streamlit.
"""

from parsers.errors import (
    DuplicateFormatError,
    EmptyLogError,
    FormatDefinitionError,
    LogError,
    NoRecordsError,
    UnknownFormatError,
    UnreadableLogError,
)
from parsers.parse import ParsedLog, parse_log
from parsers.registry import FORMATS, LinePattern, LogFormat, get_format, register
from parsers.schema import EVENT_KINDS, TABLES
from parsers.summary import summarize

__all__ = [
    "EVENT_KINDS",
    "FORMATS",
    "TABLES",
    "DuplicateFormatError",
    "EmptyLogError",
    "FormatDefinitionError",
    "LinePattern",
    "LogError",
    "LogFormat",
    "NoRecordsError",
    "ParsedLog",
    "UnknownFormatError",
    "UnreadableLogError",
    "get_format",
    "parse_log",
    "register",
    "summarize",
]
