"""The registry of log formats.  Formats are data: a name, line patterns, typed fields.

A format never contains code that runs per line.  Each ``LinePattern`` says which
table its lines feed, and its regex's named groups are columns of that table
(``parsers.schema``) with a type saying how the text becomes a value.  Adding a
format is adding one module under ``parsers/formats`` (or a TOML file, see
``parsers.user_formats``); nothing else in the code branches on format names.

Field types:
    int, float, str, bool     the printed value
    ms, s, min, h             a duration, stored in milliseconds
    duration                  a duration whose unit is the group ``<name>_unit``
    hms                       a ``[D days, ]H:MM:SS[.f]`` timedelta, stored in milliseconds
    nonzero                   a count read as a flag: true when not 0 (skipped iterations)
    epoch_progress            fractional epochs done (Hugging Face's ``'epoch': 0.37``): the epoch it is in
    percent                   a percentage, stored as a fraction
    dict                      a Python-literal dict (eval metrics or hyperparameters)
    kwargs                    ``Namespace(a=1, b='x')``-style keyword arguments
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from parsers.errors import DuplicateFormatError, FormatDefinitionError, UnknownFormatError
from parsers.schema import EVENT_KINDS, TABLES

__all__ = [
    "FIELD_TYPES",
    "FORMATS",
    "LinePattern",
    "LogFormat",
    "forced_names",
    "get_format",
    "hparam_keys",
    "named_formats",
    "ordered_patterns",
    "register",
]

FIELD_TYPES = frozenset(
    {
        "int",
        "float",
        "str",
        "bool",
        "ms",
        "s",
        "min",
        "h",
        "duration",
        "hms",
        "percent",
        "dict",
        "kwargs",
        "val_pairs",
        "epoch_progress",
        "nonzero",
    }
)
NUMERIC_TYPES = frozenset({"int", "float", "ms", "s", "min", "h", "duration", "hms", "percent"})

# Targets a pattern may feed besides the four tables.
EXTRA_TARGETS = {
    "meta": {"total_epochs", "framework_version", "device", "batch_size", "device_num", "steps_per_epoch"},
    "hparams": {"hparams", "key", "value"},
    "noise": set(),
    # Lines that only say which epoch the following lines belong to ("Epoch 3").
    "context": {"epoch", "total_epochs", "steps_per_epoch"},
    # A step's time printed on a line of its own (MindYOLO), joined to the step's loss record.
    "step_times": {"epoch", "step", "step_time_ms", "total_epochs", "steps_per_epoch"},
}

# Group names allowed per table beyond the schema's columns.
_TABLE_EXTRAS = {
    "steps": {"total_epochs", "steps_per_epoch"},
    "epochs": {"seconds", "total_epochs", "phase"},
    # step / steps_per_epoch: the progress of a running evaluation (``[10/313]``), see evals_table
    "evals": {"metrics", "total_epochs", "step", "steps_per_epoch"},
    "events": {"total_epochs"},
}

PRIORITY_NOISE = 0
PRIORITY_EVENT_FIRST = 10
PRIORITY_RECORD = 50
PRIORITY_COMMON = 80
PRIORITY_GENERIC = 90


@dataclass(frozen=True)
class LinePattern:
    """One kind of line: where its values go and how to read them.

    ``regex`` is searched (not matched) in the line, so logging prefixes such as
    timestamps, ``[INFO]`` or rank tags in front of a record do not matter.
    ``constants`` fill columns the line implies (an event's ``kind``, ``phase``).
    ``also`` names further tables fed by the same line (a Keras epoch line holds the
    epoch's loss, its time and a validation metric).
    Lower ``priority`` is tried first; the first pattern that matches a line wins.
    """

    table: str
    regex: str
    fields: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, object] = field(default_factory=dict)
    priority: int = PRIORITY_RECORD
    name: str = ""
    also: tuple[str, ...] = ()

    def compiled(self):
        """The regex compiled for linear time (RE2, see ``parsers.formats._regex``)."""
        from parsers.formats._regex import compile_linear  # the package imports this module

        return compile_linear(self.regex)


@dataclass(frozen=True)
class LogFormat:
    """A named log layout, and everything assembly needs to know about it, as data.

    ``generic`` formats only count when no other format matched.  A ``shared`` format
    holds lines any log may carry (events, hyperparameter dumps): it is read even when
    ``--format`` forces another one, and is never named as what a log was detected as.
    ``eval_not_metrics`` are keys of this format's eval dicts that say where the dict
    stands or how long the evaluation took, not what it measured (``*_runtime``: by
    suffix); ``eval_epoch_key`` is the key giving such a dict's epoch when its line
    names none (a fractional progress figure counts as the epoch it falls in).
    ``hparam_meta`` names the printed hyperparameters that state a ``meta`` field
    (``device``, ``device_num``, ``batch_size``), first found wins.
    """

    name: str
    description: str
    patterns: tuple[LinePattern, ...]
    epoch_base: int | None = 1  # None: 0-based if any record says epoch 0
    step_base: int = 1
    generic: bool = False
    shared: bool = False
    grammar: bool = False  # read by the general line grammar (parsers.formats.grammar), not by regexes
    eval_not_metrics: tuple[str, ...] = ("epoch", "step")
    eval_epoch_key: str | None = "epoch"
    hparam_meta: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    origin: str = ""
    example: str = ""


FORMATS: dict[str, LogFormat] = {}


def register(fmt: LogFormat, *, into: dict[str, LogFormat] | None = None) -> LogFormat:
    """Add ``fmt`` to a registry (the built-in one by default) after checking its patterns.

    User formats from TOML go into a per-call copy, so a format found beside one
    log never leaks into the parsing of another.
    """
    registry = FORMATS if into is None else into
    origin = fmt.origin or _caller_origin()
    fmt = LogFormat(**{**fmt.__dict__, "origin": origin})
    if fmt.name in registry:
        first = registry[fmt.name].origin
        raise DuplicateFormatError(
            f"format {fmt.name!r} is already registered (first defined in {first}); redefined in {origin}"
        )
    for index, pattern in enumerate(fmt.patterns):
        _check_pattern(fmt.name, index, pattern)
    registry[fmt.name] = fmt
    return fmt


def get_format(name: str, formats: dict[str, LogFormat] | None = None) -> LogFormat:
    """The format called ``name``; the error lists the known names."""
    registry = FORMATS if formats is None else formats
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise UnknownFormatError(f"unknown format {name!r}; known formats: {known}") from None


def ordered_patterns(
    names: list[str] | None = None, formats: dict[str, LogFormat] | None = None
) -> list[tuple[LogFormat, LinePattern]]:
    """Patterns of the given formats (all when None), in the order lines try them."""
    registry = FORMATS if formats is None else formats
    chosen = [get_format(n, registry) for n in names] if names else list(registry.values())
    pairs = [(fmt, pat) for fmt in chosen for pat in fmt.patterns]
    return sorted(pairs, key=lambda pair: pair[1].priority)


def forced_names(forced: str, formats: dict[str, LogFormat]) -> list[str]:
    """The formats read when ``--format`` names one: it, plus the shared ones."""
    get_format(forced, formats)
    return [forced, *(name for name, fmt in formats.items() if fmt.shared and name != forced)]


def named_formats(names: Iterable[str], formats: Mapping[str, LogFormat]) -> list[str]:
    """``names`` without the shared formats: those a user is told were detected or tried."""
    return [name for name in names if not (name in formats and formats[name].shared)]


def hparam_keys(meta_field: str, formats: Mapping[str, LogFormat]) -> tuple[str, ...]:
    """The hyperparameter names that state ``meta_field``, over all formats, in registry order."""
    keys = (key for fmt in formats.values() for key in fmt.hparam_meta.get(meta_field, ()))
    return tuple(dict.fromkeys(keys))


def _caller_origin() -> str:
    for frame in inspect.stack()[2:]:
        if frame.filename != __file__:
            return f"{frame.filename}:{frame.lineno}"
    return "<unknown>"


def _check_pattern(fmt_name: str, index: int, pattern: LinePattern) -> None:
    where = f"format {fmt_name!r}, pattern {index + 1}"
    try:
        compiled = pattern.compiled()
    except re.error as exc:
        raise FormatDefinitionError(f"{where}: invalid regex: {exc}") from None
    allowed: set[str] = set()
    for table in (pattern.table, *pattern.also):
        if table in TABLES:
            allowed |= set(TABLES[table]) | _TABLE_EXTRAS.get(table, set())
        elif table in EXTRA_TARGETS:
            allowed |= EXTRA_TARGETS[table]
        else:
            targets = ", ".join([*TABLES, *EXTRA_TARGETS])
            raise FormatDefinitionError(f"{where}: unknown table {table!r} (use one of {targets})")
    for group, kind in pattern.fields.items():
        if kind not in FIELD_TYPES:
            raise FormatDefinitionError(
                f"{where}: field {group!r} has unknown type {kind!r} "
                f"(use one of {', '.join(sorted(FIELD_TYPES))})"
            )
        if group not in compiled.groupindex:
            raise FormatDefinitionError(f"{where}: field {group!r} is not a named group of the regex")
        is_metric = "evals" in (pattern.table, *pattern.also) and group.startswith("metric_")
        if group not in allowed and not is_metric:
            raise FormatDefinitionError(
                f"{where}: field {group!r} is not a column of {pattern.table!r} "
                f"(columns: {', '.join(sorted(allowed))})"
            )
    kind = pattern.constants.get("kind")
    if pattern.table == "events" and kind not in EVENT_KINDS:
        raise FormatDefinitionError(f"{where}: events need constants.kind in {', '.join(EVENT_KINDS)}")
