"""From scanned lines to raw records: each pattern runs once per line *shape*.

For every distinct shape (see ``parsers.scan``) the registry's patterns are tried,
in priority order, on one representative line.  When the winning match's groups
coincide with number tokens, a ``ShapePlan`` records the token slot of each
field; the values of every line of that shape are then gathered by slot in
compiled code, without running a regex on them.  Groups that hold no number are
constant across a shape (``overflow cond: False``) and are read once.  Anything
else (a dict of metrics, ``nan`` as a loss) falls back to the regex on each line
of that shape, which is exact and only costs time where such lines exist.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from parsers.registry import NUMERIC_TYPES, LinePattern, LogFormat
from parsers.scan import KIND_INT, LineScan, gather_ints, gather_token_text, scan_lines
from parsers.source import CUT_MARK
from parsers.values import TYPE_SCALE, UNIT_MS, to_value

__all__ = [
    "PRINTED_NAN",
    "Batch",
    "ChunkRecords",
    "Dispatcher",
    "constant_column",
    "extract_chunk",
    "is_constant",
    "printed_nan",
]

# The raw column naming the ``metric_*`` fields whose printed value was NaN, comma-joined.
# In a float column a printed ``val_loss: nan`` and a ``val_loss`` the line does not
# print both read NaN; an eval that diverged must still be a row of the evals table.
PRINTED_NAN = "printed_nan"

# A rank tag in front of a record: "[rank 3]", "[1,3]<stdout>:", "rank_3:", "[Rank 3]".
# srun --label prefixes each line with the task number: "0: ...".
_RANK_TAG = (
    # Open MPI's ``[1,3]<stdout>:``, also as SageMaker prints it: ``[1,mpirank:3,algo-1]<stdout>:``
    r"(?:\[\s*rank\s*:?\s*(?P<r1>\d+)\s*\]|\[\d+,(?:mpirank:)?(?P<r2>\d+)(?:,[\w.-]+)?\]<std(?:out|err)>"
    r"|\brank[_ ](?P<r3>\d+)\b"
    r"|^(?P<r4>\d{1,4}): )"
)


@dataclass(frozen=True)
class FieldPlan:
    """Where one column's value of a line comes from."""

    column: str
    kind: str
    slot: int = -1  # token index within the line; -1 means ``constant``
    negate: bool = False
    scale: float = 1.0
    constant: Any = None


@dataclass(frozen=True)
class ShapePlan:
    fmt: LogFormat
    pattern: LinePattern
    fields: tuple[FieldPlan, ...]
    per_line: bool


@dataclass
class Batch:
    """Records of one pattern from one chunk: column arrays plus 0-based local line index."""

    fmt: LogFormat
    pattern: LinePattern
    rows: np.ndarray
    columns: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChunkRecords:
    n_lines: int
    n_bytes: int
    batches: list[Batch]
    skipped_rows: np.ndarray  # local indices of non-blank lines nothing understood
    noise: int


class Dispatcher:
    """Holds the ordered patterns and the plan of every shape seen so far."""

    def __init__(self, patterns: list[tuple[LogFormat, LinePattern]]) -> None:
        import re

        self.patterns = [(fmt, pat, pat.compiled()) for fmt, pat in patterns]
        self.rank_tag = re.compile(_RANK_TAG, re.IGNORECASE)
        self.plans: dict[int, ShapePlan | None] = {}
        self.glued: dict[int, bool] = {}  # shape -> its lines hold two records (``glued_pieces``)
        # The general line grammar, when one of the formats read is it.
        self.grammar = next((fmt for fmt, _, _ in self.patterns if fmt.grammar), None)

    def match(self, text: str):
        """First pattern matching ``text``: used for representatives and fallbacks."""
        for fmt, pat, regex in self.patterns:
            found = regex.search(text)
            if found:
                return fmt, pat, found
        return None

    def is_glued(self, shape: int, text: str) -> bool:
        """Whether the lines of a shape hold several records glued together (``glued_pieces``), each
        read as a line of its own: two pieces at least must give records -- or one a record and
        another an event (a ``[ERROR]`` message glued to a step line) -- else the line is one."""
        if shape not in self.glued:
            tables = [_tables_in(p, self) for p in glued_pieces(text)]
            records = sum(bool(t & _RECORD_TABLES) for t in tables)
            self.glued[shape] = records >= 2 or (records == 1 and any("events" in t for t in tables))
        return self.glued[shape]

    def plan(self, shape: int, text: str, tokens: list[tuple[int, int, int]]) -> ShapePlan | None:
        if shape in self.plans:
            return self.plans[shape]
        found = self.match(text)
        plan = None
        if self.grammar is not None and (found is None or _yields_to_grammar(found[0], found[1])):
            plan = self._read(text, tokens)
        elif self.grammar is not None and found[1].table == "epochs":
            plan = self._read(text, tokens)
            plan = plan if _grammar_reads_more(found[1], plan) else None
        if plan is None and found is not None:
            plan = self._build(text, tokens, *found)
            if self.grammar is not None and plan.pattern.table in ("evals", "steps"):
                plan = self._with_grammar_position(plan, text, tokens)
        self.plans[shape] = plan
        return plan

    def _with_grammar_position(self, plan: ShapePlan, text: str, tokens) -> ShapePlan:
        """A named pattern's plan, given the position its line prints and the pattern does not read.

        ``Epoch(val) [8][1730]  top1 acc: 0.0661``: the top-1 pattern reads the metrics, the line
        says which epoch they evaluate (else the epoch in force, 9, would be used).
        ``885/885 [15:52<00:00,  1.13it/s]{'loss': 0.0528, ...}``: the Trainer's dict names no
        step, the tqdm bar it is glued to counts them.
        """
        wanted = "epoch" if plan.pattern.table == "evals" else "global_step"
        if _has(plan, wanted) or (wanted == "global_step" and _has(plan, "step")):
            return plan
        grammar = self._read(text, tokens)
        if grammar is None or grammar.pattern.table != plan.pattern.table:
            return plan
        extra = tuple(f for f in grammar.fields if f.column == wanted and f.slot >= 0)
        return ShapePlan(plan.fmt, plan.pattern, (*plan.fields, *extra), plan.per_line) if extra else plan

    def _read(self, text: str, tokens: list[tuple[int, int, int]]) -> ShapePlan | None:
        """The grammar's plan for a shape: each value a token slot or a constant (never per line)."""
        from parsers.formats.grammar import grammar_pattern, read_line

        to_char = _char_offsets(text)
        spans = [(to_char(s), to_char(e)) for s, e, _ in tokens]
        reading = read_line(text, spans)
        if reading is None:
            return None
        slot_of = {span: i for i, span in enumerate(spans)}
        plans = []
        for value in reading.values:
            if value.start < 0:
                plans.append(FieldPlan(value.column, value.kind, constant=value.constant))
                continue
            slot = slot_of.get((value.start, value.end))
            if slot is None or (value.kind == "int" and tokens[slot][2] != KIND_INT):
                continue  # not a plain number token: the value is left out, never read per line
            plans.append(
                FieldPlan(value.column, value.kind, slot=slot, negate=value.negate, scale=value.scale)
            )
        if not any(
            p.column in ("loss", "epoch_time_ms", "epoch", "total_epochs") or p.column.startswith("metric_")
            for p in plans
        ):
            return None
        columns = {p.column for p in plans}
        if "rank" not in columns:
            plans.extend(
                self._tag_rank(
                    text, tokens, min((v.start for v in reading.values if v.start >= 0), default=0)
                )
            )
        nan = printed_nan([p.column for p in plans], {p.column: p.constant for p in plans if p.slot < 0})
        if nan is not None:
            plans.append(FieldPlan(PRINTED_NAN, "str", constant=nan))
        return ShapePlan(self.grammar, grammar_pattern(reading), tuple(plans), False)

    def _tag_rank(self, text, tokens, end) -> list[FieldPlan]:
        tag = self.rank_tag.search(text, 0, end)
        if not tag:
            return []
        group = next(g for g in ("r1", "r2", "r3", "r4") if tag.group(g) is not None)
        to_byte = _byte_offsets(text)
        start, stop = to_byte(tag.start(group)), to_byte(tag.end(group))
        for i, (s, e, _) in enumerate(tokens):
            if (s, e) == (start, stop):
                return [FieldPlan("rank", "int", slot=i)]
        return [FieldPlan("rank", "int", constant=int(tag.group(group)))]

    def _build(self, text, tokens, fmt, pat, match) -> ShapePlan:
        to_byte = _byte_offsets(text)
        by_span = {(s, e): (i, kind) for i, (s, e, kind) in enumerate(tokens)}
        plans: list[FieldPlan] = []
        per_line = False
        for group, kind in pat.fields.items():
            span = match.span(group)
            value = match.group(group)
            unit = match.group(f"{group}_unit") if f"{group}_unit" in match.re.groupindex else None
            scale = UNIT_MS.get((unit or "ms").lower(), 1.0) if kind == "duration" else 1.0
            scale *= TYPE_SCALE.get(kind, 1.0)
            if value is None:
                plans.append(FieldPlan(group, kind, constant=None))
                continue
            start, end = to_byte(span[0]), to_byte(span[1])
            slot = _token_slot(by_span, start, end, kind, text[span[0] : span[1]])
            if slot is not None:
                plans.append(FieldPlan(group, kind, slot=slot[0], negate=slot[1], scale=scale))
            elif not any(start < e and s < end for s, e, _ in tokens):
                plans.append(FieldPlan(group, kind, constant=to_value(value, kind, unit)))
            else:
                per_line = True
        plans.extend(self._rank_plan(text, match, tokens, to_byte, pat))
        nan = printed_nan(list(pat.fields), {fp.column: fp.constant for fp in plans if fp.slot < 0})
        if nan is not None:
            plans.append(FieldPlan(PRINTED_NAN, "str", constant=nan))
        return ShapePlan(fmt, pat, tuple(plans), per_line)

    def rank_of(self, text: str, end: int) -> int | None:
        """The rank a tag in front of position ``end`` names, if any."""
        tag = self.rank_tag.search(text, 0, end)
        if not tag:
            return None
        return int(next(tag.group(g) for g in ("r1", "r2", "r3", "r4") if tag.group(g) is not None))

    def _rank_plan(self, text, match, tokens, to_byte, pat) -> list[FieldPlan]:
        if "rank" in pat.fields:
            return []
        tag = self.rank_tag.search(text, 0, match.start())
        if not tag:
            return []
        group = next(g for g in ("r1", "r2", "r3", "r4") if tag.group(g) is not None)
        start, end = to_byte(tag.start(group)), to_byte(tag.end(group))
        for i, (s, e, _) in enumerate(tokens):
            if (s, e) == (start, end):
                return [FieldPlan("rank", "int", slot=i)]
        return [FieldPlan("rank", "int", constant=int(tag.group(group)))]


def _has(plan: ShapePlan, column: str) -> bool:
    return any(f.column == column and (f.slot >= 0 or f.constant is not None) for f in plan.fields)


def _yields_to_grammar(fmt: LogFormat, pat: LinePattern) -> bool:
    """Whether a line this pattern claims is read by the grammar first.

    The fallbacks do: the generic format, and the shared format's readings of lines that
    are not events (a bare dict, a lone metric, a ``key: value`` line); when the grammar
    finds no record in such a line, the fallback's reading stands.
    """
    return fmt.generic or (fmt.shared and pat.table not in ("events", "noise", "meta"))


def _grammar_reads_more(pat: LinePattern, plan: ShapePlan | None) -> bool:
    """Whether the grammar's plan beats a named pattern that reads only an epoch's time.

    ``epoch: 141 train loss: 0.0192 epoch time: 19.43s``: TimeMonitor's pattern finds the
    time, the grammar the loss as well; the line is a step record that closes its epoch.
    """
    return (
        plan is not None
        and pat.table == "epochs"
        and "loss" not in pat.fields
        and plan.pattern.table == "steps"
    )


def _char_offsets(text: str):
    """Byte offset in the line's UTF-8 -> character offset (identity for ASCII)."""
    if text.isascii():
        return lambda pos: pos
    data = text.encode("utf-8", "surrogateescape")
    starts = [i for i in range(len(data) + 1) if i == len(data) or (data[i] & 0xC0) != 0x80]
    index = {b: c for c, b in enumerate(starts)}
    return lambda pos: index.get(pos, -1)


def _byte_offsets(text: str):
    if text.isascii():
        return lambda pos: pos
    return lambda pos: len(text[:pos].encode("utf-8", "surrogateescape"))


def _token_slot(by_span, start, end, kind, raw) -> tuple[int, bool] | None:
    if kind not in NUMERIC_TYPES and kind != "epoch_progress":  # progress: gathered, then rounded up
        return None
    hit = by_span.get((start, end))
    negate = False
    if hit is None and raw.startswith(("-", "+")):
        hit = by_span.get((start + 1, end))
        negate = raw.startswith("-")
    if hit is None or (kind == "int" and hit[1] != KIND_INT):
        return None
    return hit[0], negate


def extract_chunk(buf: np.ndarray, dispatcher: Dispatcher) -> ChunkRecords:
    """Raw records of every line in ``buf`` (whole lines; the last may lack '\\n')."""
    scan = scan_lines(buf)
    codes, shapes = pd.factorize(scan.line_shape)
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(shapes)))])
    vector: dict[int, list[tuple[ShapePlan, np.ndarray]]] = defaultdict(list)
    fallback: list[np.ndarray] = []
    cut: list[np.ndarray] = []
    glued: list[np.ndarray] = []
    skipped: list[np.ndarray] = []
    noise = 0
    for k, shape in enumerate(shapes.tolist()):
        rows = order[bounds[k] : bounds[k + 1]]
        rep = int(rows[0])
        text = _line_text(buf, scan, rep)
        if not text.strip():
            continue
        if text.endswith(CUT_MARK):  # cut for its length (parsers.source): searched for events only
            cut.append(rows)
            continue
        if dispatcher.is_glued(shape, text):
            glued.append(rows)
            continue
        plan = dispatcher.plan(shape, text, _tokens(scan, rep))
        if plan is None:
            skipped.append(rows)
        elif plan.pattern.table == "noise":
            noise += len(rows)
        elif plan.per_line:
            fallback.append(rows)
        else:
            vector[id(plan.pattern)].append((plan, rows))
    batches = [_gather(buf, scan, plans) for plans in vector.values()]
    extra, extra_skipped, extra_noise = _per_line(buf, scan, fallback, dispatcher)
    batches.extend(extra)
    skipped.extend(extra_skipped)
    if glued:
        batches.extend(_glued_records(buf, scan, glued, dispatcher))
    if cut:
        extra, extra_skipped, _ = _per_line(buf, scan, cut, _events_only(dispatcher))
        batches.extend(extra)
        skipped.extend(extra_skipped)
    all_skipped = np.sort(np.concatenate(skipped)) if skipped else np.empty(0, np.int64)
    return ChunkRecords(scan.n_lines, len(buf), batches, all_skipped, noise + extra_noise)


# A record's start: the text before a line's first number (``epoch: ``, ``[rank``), with 3 letters at least.
_RECORD_START = re.compile(r"^\s*(?P<start>[^\d\s][^\d]*?)\d")
_GLUE = "0123456789])"
_RECORD_TABLES = frozenset({"steps", "epochs", "evals"})
# A logger's level tag that opens a line of its own (MindSpore's ``[ERROR] ME(...)``, ``[WARNING]
# DEVICE(...)``), found glued right after a value: another process's message lost its newline.
_LEVEL_TAG = re.compile(r"(?<=[0-9\])])\[(?:ERROR|WARNING|WARN|CRITICAL|FATAL|EXCEPTION|INFO)\]")


def glued_pieces(text: str) -> list[str]:
    """A line's records when several were written without a newline between them, else ``[]``.

    Ranks writing to one stream can lose a newline: ``epoch: 1 step: 10, loss is 2.3038epoch: 1
    step: 10, loss is 2.3041``, ``[rank0]: ... loss is 2.30[rank1]: ... loss is 2.31``.  The rule:
    the text a line starts with up to its first number (its record's start: ``epoch: ``,
    ``[rank``) found again right after a value (a digit, ``]`` or ``)`` before it, no space or
    separator) starts a second record of the same shape; the line is cut there.  A start found
    after a space or a separator is a part of the record (``epoch: 3, ... epoch: 3``), never cut.
    A logger's level tag right after a value (``loss is 2.25[ERROR] ME(...)``) is cut the same
    way: the record and the error message are each a line of their own.
    """
    cuts = [m.start() for m in _LEVEL_TAG.finditer(text)]
    found = _RECORD_START.match(text)
    start = found.group("start") if found is not None else ""
    if sum(c.isalpha() for c in start) >= 3:
        at = text.find(start, found.end())
        while at > 0:
            if text[at - 1] in _GLUE:
                cuts.append(at)
            at = text.find(start, at + len(start))
    if not cuts:
        return []
    bounds = [0, *sorted(set(cuts)), len(text)]
    return [text[a:b] for a, b in pairwise(bounds)]


def _tables_in(piece: str, dispatcher: Dispatcher) -> set[str]:
    """The tables a piece of a line gives rows to, read as a line of its own."""
    chunk = extract_chunk(_piece_buffer(piece), dispatcher)
    return {b.pattern.table for b in chunk.batches}


def _piece_buffer(piece: str) -> np.ndarray:
    return np.frombuffer(piece.encode("utf-8", "surrogateescape") + b"\n", np.uint8)


def _glued_records(buf, scan, groups: list[np.ndarray], dispatcher: Dispatcher) -> list[Batch]:
    """Each piece of each glued line read as a line of its own; its records keep the line's number."""
    batches = []
    for rows in groups:
        for row in rows.tolist():
            for piece in glued_pieces(_line_text(buf, scan, row)):
                for batch in extract_chunk(_piece_buffer(piece), dispatcher).batches:
                    batch.rows = np.full(len(batch.rows), row, np.int64)
                    batches.append(batch)
    return batches


def _line_text(buf: np.ndarray, scan: LineScan, row: int) -> str:
    raw = buf[scan.line_start[row] : scan.line_end[row]].tobytes()
    return raw.decode("utf-8", "surrogateescape")


def _shown(text: str) -> str:
    """Text for a table: bytes that are not UTF-8 (surrogates in ``_line_text``) as U+FFFD."""
    return text if text.isascii() else text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _events_only(dispatcher: Dispatcher) -> Dispatcher:
    """A dispatcher of ``dispatcher``'s event patterns alone (made once)."""
    events = getattr(dispatcher, "events_only", None)
    if events is None:
        events = Dispatcher([(fmt, pat) for fmt, pat, _ in dispatcher.patterns if pat.table == "events"])
        dispatcher.events_only = events  # type: ignore[attr-defined]
    return events


def _tokens(scan: LineScan, row: int) -> list[tuple[int, int, int]]:
    base = scan.line_start[row]
    first, last = scan.line_tok0[row], scan.line_tok0[row + 1]
    # Whole arrays to lists, not one int() per token: a 2 MB tensor line has 400,000 tokens.
    starts = (scan.tok_start[first:last] - base).tolist()
    ends = (scan.tok_end[first:last] - base).tolist()
    return list(zip(starts, ends, scan.tok_kind[first:last].tolist(), strict=True))


def _gather(buf: np.ndarray, scan: LineScan, plans: list[tuple[ShapePlan, np.ndarray]]) -> Batch:
    """Values of every field for all lines of the shapes that share one pattern."""
    first = plans[0][0]
    rows = np.concatenate([r for _, r in plans])
    batch = Batch(first.fmt, first.pattern, rows)
    columns = dict.fromkeys(fp.column for plan, _ in plans for fp in plan.fields)
    for column in columns:
        parts = [_field_values(buf, scan, plan, rows_, column) for plan, rows_ in plans]
        batch.columns[column] = concat_columns(parts)
    if first.pattern.table == "events":
        messages = np.empty(len(rows), dtype=object)
        messages[:] = [_shown(_line_text(buf, scan, int(r)).strip()) for r in rows]
        batch.columns["message"] = messages
    return batch


def _field_values(buf, scan, plan: ShapePlan, rows: np.ndarray, column: str):
    fp = next((f for f in plan.fields if f.column == column), None)
    if fp is None or fp.slot < 0:
        return constant_column(
            len(rows), None if fp is None else fp.constant, numeric=_is_numeric(plan, column)
        )
    tok = scan.line_tok0[rows] + fp.slot
    if fp.kind == "int":
        values = gather_ints(buf, scan.tok_start[tok], scan.tok_end[tok])
        return -values if fp.negate else values
    data, offsets = gather_token_text(buf, scan.tok_start[tok], scan.tok_end[tok])
    text = pa.LargeStringArray.from_buffers(len(tok), pa.py_buffer(offsets), pa.py_buffer(data))
    values = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    if fp.kind == "epoch_progress":  # fractional epochs done: the epoch it is in (``to_value``'s rule)
        return np.maximum(1.0, np.ceil(values))
    if fp.negate:
        values = -values
    return values * fp.scale if fp.scale != 1.0 else values


def _is_numeric(plan: ShapePlan, column: str) -> bool:
    if column.startswith("metric_"):
        return True
    kind = plan.pattern.fields.get(column, "int" if column == "rank" else "str")
    return kind in NUMERIC_TYPES or kind in ("bool", "epoch_progress", "nonzero")


def constant_column(n: int, value: Any, *, numeric: bool) -> np.ndarray:
    """``n`` copies of ``value``: float64 (NaN for missing) for numbers and flags, else object.

    Numeric constants are read-only broadcast views that take no memory: a log of
    millions of LossMonitor lines has no loss scale, and must not pay 8 bytes a row
    for each column it lacks until the final table is built.
    """
    if numeric:
        return np.broadcast_to(np.float64(np.nan if value is None else float(value)), (n,))
    return np.full(n, value, dtype=object)


def is_constant(values: np.ndarray) -> bool:
    """True for the broadcast views ``constant_column`` makes."""
    return values.ndim == 1 and len(values) > 0 and values.strides == (0,)


def concat_columns(parts: list[np.ndarray]) -> np.ndarray:
    """Join column pieces; pieces that are all the same constant stay a broadcast view."""
    if len(parts) == 1:
        return parts[0]
    total = sum(len(p) for p in parts)
    if all(p.dtype != object for p in parts):
        first = parts[0][:1]
        if all(is_constant(p) or not len(p) for p in parts) and all(
            (np.isnan(p[0]) and np.isnan(first[0])) or p[0] == first[0] for p in parts if len(p)
        ):
            return np.broadcast_to(first[0], (total,))
        return np.concatenate(parts)
    return np.concatenate([p.astype(object) for p in parts])


def _per_line(buf, scan, groups: list[np.ndarray], dispatcher: Dispatcher):
    """Regex on each line of shapes whose values are not plain number tokens."""
    records: dict[int, tuple[LogFormat, LinePattern, list[int], list[dict]]] = {}
    skipped: list[int] = []
    noise = 0
    for rows in groups:
        for row in rows.tolist():
            text = _line_text(buf, scan, row)
            found = dispatcher.match(text)
            if found is None:
                skipped.append(row)
                continue
            fmt, pat, match = found
            if pat.table == "noise":
                noise += 1
                continue
            values = _match_values(pat, match, text)
            if values["rank"] is None and "rank" not in pat.fields:
                values["rank"] = dispatcher.rank_of(text, match.start())
            entry = records.setdefault(id(pat), (fmt, pat, [], []))
            entry[2].append(row)
            entry[3].append(values)
    batches = []
    for fmt, pat, rows, values in records.values():
        frame = pd.DataFrame(values)
        batch = Batch(fmt, pat, np.asarray(rows, dtype=np.int64))
        for col in frame.columns:
            kind = pat.fields.get(col, "int" if col == "rank" else "str")
            if kind in NUMERIC_TYPES or kind in ("bool", "epoch_progress", "nonzero"):
                batch.columns[col] = np.array([_as_float(v) for v in frame[col]], dtype=np.float64)
            else:
                batch.columns[col] = frame[col].to_numpy(dtype=object)
        batches.append(batch)
    return batches, [np.asarray(skipped, dtype=np.int64)], noise


def printed_nan(columns: list[str], values: dict[str, Any]) -> str | None:
    """The ``metric_*`` columns among ``columns`` whose value in ``values`` is a printed NaN ("" for none).

    None when there is no metric column, so lines of other patterns carry no such column.
    """
    metrics = [g for g in columns if g.startswith("metric_")]
    if not metrics:
        return None
    return ",".join(g for g in metrics if isinstance(values.get(g), float) and math.isnan(values[g]))


def _as_float(value: Any) -> float:
    try:
        return np.nan if value is None else float(value)
    except (TypeError, ValueError):
        return np.nan


def _match_values(pat: LinePattern, match, text: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for group, kind in pat.fields.items():
        unit_group = f"{group}_unit"
        unit = match.group(unit_group) if unit_group in match.re.groupindex else None
        try:
            values[group] = to_value(match.group(group), kind, unit)
        except (ValueError, OverflowError):
            values[group] = None
    if "rank" not in values:
        values["rank"] = None
    nan = printed_nan(list(pat.fields), values)
    if nan is not None:
        values[PRINTED_NAN] = nan
    if pat.table == "events":
        values["message"] = _shown(text.strip())
    return values
