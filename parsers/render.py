"""The one renderer every ``parse-log`` command hands its result to.

A command computes a result with one library call -- a mapping of labelled values,
a mapping of such mappings or DataFrames, a DataFrame, or a parsed log's tables --
and ``render`` shows it: as text for a person, as JSON for a tool, or (tables) as
csv / parquet / json files in a folder.  No command formats output itself, so the flags that choose
the output (``--json``, ``--to``, ``-o``) mean the same everywhere.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, TextIO

import pandas as pd

from parsers.table_files import TABLE_FORMATS, to_jsonable, write_tables

__all__ = ["FILE_FORMATS", "Tables", "render"]

FILE_FORMATS = tuple(TABLE_FORMATS)


class Tables(Protocol):
    """What ``--to`` writes: named tables plus metadata (``parsers.ParsedLog`` is one)."""

    meta: dict[str, Any]

    def tables(self) -> dict[str, pd.DataFrame]: ...


def render(
    result: Mapping[str, Any] | pd.DataFrame | Tables,
    *,
    to: str = "text",
    out_dir: Path | None = None,
    stream: TextIO | None = None,
) -> list[Path]:
    """Show ``result`` on ``stream`` (``to`` = text or json), or write its tables into ``out_dir``
    (``to`` = one of ``FILE_FORMATS``).  Returns the files written (none when printing).
    """
    if out_dir is not None:
        return write_tables(result.tables(), result.meta, to=to, out_dir=Path(out_dir))
    stream = stream or sys.stdout
    if to == "json":
        stream.write(json.dumps(to_jsonable(_plain(result)), indent=2) + "\n")
    else:
        stream.write(_text(result))
    return []


def _plain(result: Any) -> Any:
    if isinstance(result, pd.DataFrame):
        return result.astype(object).where(result.notna(), None).to_dict("records")
    if isinstance(result, Mapping):
        return {k: _plain(v) for k, v in result.items()}
    return result


def _text(result: Any) -> str:
    if isinstance(result, pd.DataFrame):
        if not len(result):
            return "(no rows)\n"
        return result.to_string(index=False, na_rep="-", float_format=_float) + "\n"
    if not isinstance(result, Mapping):
        return f"{result}\n"
    scalars = {k: v for k, v in result.items() if not isinstance(v, (Mapping, pd.DataFrame))}
    width = max((len(str(k)) for k in scalars), default=0)
    parts = []
    for key, value in result.items():
        if key in scalars:
            parts.append(f"{key!s:<{width}}  {_scalar(value)}\n")
        else:
            parts.append(f"{'' if not parts else chr(10)}== {key} ==\n{_text(value)}")
    return "".join(parts)


def _float(value: float) -> str:
    return f"{value:.6g}"


def _scalar(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return "-" if value is None else str(value)
