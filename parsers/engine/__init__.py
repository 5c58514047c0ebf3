"""The assembly engine: raw records of a log, part by part, to the four tables and ``meta``.

records   what the scanner extracted (``RawRecords``), before any context
context   running facts about the lines read so far (``Context``), JSON-able
generic / epochs / numbering / meta   the whole-log decisions, each in one place
steps / tables / times                the rows of each table
assembly  ``assemble_increment`` (one part after a context) and ``assemble``
          (a whole log: one part after an empty context)
"""

from parsers.engine.assembly import APPENDED_TABLES, WHOLE_TABLE, Increment, assemble, assemble_increment
from parsers.engine.context import Context, ContextChanged
from parsers.engine.meta import computed_throughput, merge_meta
from parsers.engine.records import RawRecords

__all__ = [
    "APPENDED_TABLES",
    "WHOLE_TABLE",
    "Context",
    "ContextChanged",
    "Increment",
    "RawRecords",
    "assemble",
    "assemble_increment",
    "computed_throughput",
    "merge_meta",
]
