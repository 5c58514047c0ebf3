"""User formats from a TOML file: named regexes with typed fields, no code.

Example (``epochscope-formats.toml`` next to the log, or ``--formats FILE``)::

    [formats.mytrainer]
    description = "our in-house trainer"

    [[formats.mytrainer.patterns]]
    table = "steps"
    regex = 'it (?P<step>\\d+)/\\d+ ep (?P<epoch>\\d+) loss=(?P<loss>\\S+)'
    fields = { step = "int", epoch = "int", loss = "float" }

Field types are those of ``parsers.registry``; a mistake is reported with the file
name and the pattern's number.
"""

from __future__ import annotations

import sys
from pathlib import Path

from parsers.errors import DuplicateFormatError, FormatDefinitionError, LogError
from parsers.registry import LinePattern, LogFormat, register
from parsers.source import open_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["MAX_FORMATS_BYTES", "load_user_formats"]

MAX_FORMATS_BYTES = 1 << 20  # a formats file is a few KB; more is not read as one


def load_user_formats(path: Path, into: dict[str, LogFormat]) -> list[str]:
    """Register every format in ``path`` into ``into`` (a per-parse registry); returns their names."""
    path = Path(path)
    try:
        with open_regular(path) as handle:  # a FIFO or device here would block or never end
            data = tomllib.loads(handle.read(MAX_FORMATS_BYTES + 1).decode("utf-8"))
    except OSError as exc:
        raise LogError(f"{path}: cannot read formats file: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FormatDefinitionError(f"{path}: not valid TOML: {exc}") from None
    names = []
    for name, spec in (data.get("formats") or {}).items():
        try:
            register(_format(path, name, spec), into=into)
        except (FormatDefinitionError, DuplicateFormatError) as exc:
            message = str(exc)
            raise FormatDefinitionError(message if str(path) in message else f"{path}: {message}") from None
        names.append(name)
    if not names:
        raise FormatDefinitionError(f"{path}: no [formats.NAME] tables found")
    return names


def _format(path: Path, name: str, spec: dict) -> LogFormat:
    if not isinstance(spec, dict) or not isinstance(spec.get("patterns"), list):
        raise FormatDefinitionError(f"{path}: format {name!r} needs a [[formats.{name}.patterns]] list")
    patterns = []
    for index, item in enumerate(spec["patterns"], start=1):
        if not isinstance(item, dict) or "regex" not in item or "table" not in item:
            raise FormatDefinitionError(f"{path}: format {name!r}, pattern {index}: needs table and regex")
        patterns.append(
            LinePattern(
                table=str(item["table"]),
                regex=str(item["regex"]),
                fields=dict(item.get("fields", {})),
                constants=dict(item.get("constants", {})),
                priority=int(item.get("priority", 40)),
                name=str(item.get("name", f"{name} #{index}")),
            )
        )
    return LogFormat(
        name=name,
        description=str(spec.get("description", f"user format from {path.name}")),
        patterns=tuple(patterns),
        epoch_base=spec.get("epoch_base", 1),
        step_base=int(spec.get("step_base", 1)),
        origin=str(path),
    )
