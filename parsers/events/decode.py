"""The scalars of ``Event`` records, TensorBoard's and MindSpore's.

Only these fields are read (the rest of each message is skipped by its wire type)::

    Event      1 wall_time double   2 step int64   3 version string   5 summary Summary
    Summary    1 value Value (repeated)
    Value      1 tag string
               2 simple_value float      TensorBoard (tensorboardX, torch, TF1)
               3 scalar_value float      MindSpore (in TensorBoard, field 3 is bytes: never fixed32)
               8 tensor TensorProto      TensorBoard (TF2): a scalar when the tag's plugin is "scalars"
               9 metadata SummaryMetadata  TensorBoard; in MindSpore 9 is a histogram
    SummaryMetadata 1 plugin_data { 1 plugin_name string }
    TensorProto     1 dtype  4 tensor_content  5 float_val  6 double_val  7 int_val  10 int64_val  13 half_val

MindSpore's ``summary.proto`` (package ``mindspore.irpb``) numbers Event like
TensorBoard's but its Value differs from field 3 on; the version string of a file's
first record (``MindSpore.Event:1`` or ``brain.Event:2``) says which file is which, and
only TensorBoard files are searched for tensors.  TF2 writes a tag's metadata only with
its first value, so the tags known to be scalars are carried from one read of a growing
file to the next (``Dialect``).

Most records have one shape -- wall time, step, and a Summary of Values that each hold a
tag and a float -- and the compiled scanner reads those (``event_scalars``: about 0.1 s
for a million).  Every other record (the version record, TF2's tensors, anything
repeated or malformed) is read by ``decode_general``, in numpy, walking the fields of
all those messages in lockstep (``parsers.events.wire``); without the compiled scanner
it reads every record.  Both give the same rows for the records they share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from parsers.events.wire import FIXED32, FIXED64, LENGTH, VARINT, Fields, fields, fixed, varint

try:
    from parsers._scan import event_scalars
except ImportError:  # no compiled scanner: its twin leaves every record to decode_general
    from parsers._scan_py import event_scalars

__all__ = ["Decoded", "Dialect", "concat_decoded", "decode", "decode_general"]

MINDSPORE, TENSORBOARD = "mindspore", "tensorboard"
_SCALARS_PLUGIN = b"scalars"
# TensorFlow DataType -> (numpy type, repeated field carrying it, wire type of one element)
_DTYPES = {
    1: ("<f4", 5, FIXED32),  # DT_FLOAT: float_val
    2: ("<f8", 6, FIXED64),  # DT_DOUBLE: double_val
    3: ("<i4", 7, VARINT),  # DT_INT32: int_val
    9: ("<i8", 10, VARINT),  # DT_INT64: int64_val
    19: ("<f2", 13, VARINT),  # DT_HALF: half_val holds the 16 bits in an int32
}


@dataclass
class Dialect:
    """What a reader learns about one file and keeps for its next read."""

    kind: str | None = None  # MINDSPORE or TENSORBOARD, from the version record
    version: str | None = None
    scalar_tags: set[str] = field(default_factory=set)  # TF2: tags whose metadata said "scalars"


@dataclass
class Decoded:
    """One entry per scalar value, in file order.  Tags are numbers into ``tag_names``: a
    million values carry a handful of tags, each decoded to text once."""

    record: np.ndarray  # index of the record (into the starts given to ``decode``)
    step: np.ndarray  # int64
    wall_time: np.ndarray  # float64, seconds since the epoch
    tag_code: np.ndarray  # int64 index into ``tag_names``
    tag_names: list[str]
    value: np.ndarray  # float64
    malformed: np.ndarray  # record indices whose Event could not be read

    @property
    def tag(self) -> np.ndarray:
        """The tag of each value, as an object array of str."""
        return np.array([*self.tag_names, ""], dtype=object)[self.tag_code]


def decode(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, dialect: Dialect) -> Decoded:
    """The scalars of the records ``buf[starts[i] : starts[i] + lengths[i]]``; updates ``dialect``.

    ``buf`` must have ``wire.PAD`` bytes after the last record (the numpy reader reads ahead)."""
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    wall, step, record, code, value, tag_start, tag_length, other = event_scalars(buf, starts, lengths)
    names = [_text(buf, a, n) for a, n in zip(tag_start.tolist(), tag_length.tolist())]
    simple = Decoded(
        record, step[record], wall[record], code.astype(np.int64), names, value, np.zeros(0, np.int64)
    )
    if not len(other):
        return simple
    rest = decode_general(buf, starts[other], lengths[other], dialect)
    rest.record, rest.malformed = other[rest.record], other[rest.malformed]
    return _merged(simple, rest) if len(record) else rest


def _text(buf: np.ndarray, start: int, length: int) -> str:
    return bytes(buf[start : start + length]).decode("utf-8", "replace")


def _merged(a: Decoded, b: Decoded) -> Decoded:
    """The values of two decodes of different records, in record order."""
    record = np.concatenate([a.record, b.record])
    order = np.argsort(record, kind="stable")  # a record's values are all on one side: kept in order
    return Decoded(
        record[order],
        np.concatenate([a.step, b.step])[order],
        np.concatenate([a.wall_time, b.wall_time])[order],
        np.concatenate([a.tag_code, b.tag_code + len(a.tag_names)])[order],
        a.tag_names + b.tag_names,
        np.concatenate([a.value, b.value])[order],
        np.union1d(a.malformed, b.malformed).astype(np.int64),
    )


def concat_decoded(parts: list[Decoded]) -> Decoded:
    """The decodes of consecutive blocks as one (their ``record`` numbers already distinct)."""
    if len(parts) == 1:
        return parts[0]
    offsets = np.cumsum([0] + [len(p.tag_names) for p in parts[:-1]])
    return Decoded(
        np.concatenate([p.record for p in parts]),
        np.concatenate([p.step for p in parts]),
        np.concatenate([p.wall_time for p in parts]),
        np.concatenate([p.tag_code + offset for p, offset in zip(parts, offsets.tolist())]),
        [name for p in parts for name in p.tag_names],
        np.concatenate([p.value for p in parts]),
        np.concatenate([p.malformed for p in parts]),
    )


def decode_general(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, dialect: Dialect) -> Decoded:
    """``decode`` for records of any shape, in numpy (see the module's docstring)."""
    event = fields(buf, starts, starts + lengths, {1, 2, 3, 5})
    wall = np.full(len(starts), np.nan)
    sel = event.where(1, FIXED64)
    wall[event.message[sel]] = event.value[sel].view(np.float64)
    step = np.zeros(len(starts), dtype=np.int64)
    sel = event.where(2, VARINT)
    step[event.message[sel]] = event.value[sel].view(np.int64)
    _learn_version(buf, event, dialect)
    summary = event.where(5, LENGTH)
    summary_records = event.message[summary]
    values = _children(buf, event, summary, 1)
    records = summary_records[values.message]
    value_starts, value_ends = _ranges(values, np.arange(len(values.message)))
    value = fields(buf, value_starts, value_ends, {1, 2, 3, 8, 9})
    tag_start, tag_len = _first_range(value, 1, len(value_starts))
    number = np.full(len(value_starts), np.nan)
    for field_number in (2, 3):  # simple_value (TensorBoard) or scalar_value (MindSpore)
        sel = value.where(field_number, FIXED32)
        number[value.message[sel]] = value.value[sel].astype(np.uint32).view(np.float32)
    names, code = _strings(buf, tag_start, tag_len)
    if dialect.kind != MINDSPORE:
        _tensor_scalars(buf, value, names, code, number, dialect)
    keep = ~np.isnan(number) | _nan_kept(value, number)
    keep &= tag_start >= 0
    order = np.flatnonzero(keep)
    order = order[
        np.argsort(records[order], kind="stable")
    ]  # file order: a summary may come late in its Event
    return Decoded(
        record=records[order],
        step=step[records[order]],
        wall_time=wall[records[order]],
        tag_code=code[order],
        tag_names=names,
        value=number[order],
        malformed=np.flatnonzero(event.malformed).astype(np.int64),
    )


def _learn_version(buf: np.ndarray, event: Fields, dialect: Dialect) -> None:
    sel = event.where(3, LENGTH)
    if dialect.kind is not None or not len(sel):
        return
    start, length = int(event.value[sel[0]]), int(event.length[sel[0]])
    dialect.version = bytes(buf[start : start + length]).decode("utf-8", "replace")
    dialect.kind = MINDSPORE if dialect.version.startswith("MindSpore") else TENSORBOARD


def _ranges(found: Fields, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    start = found.value[rows].astype(np.int64)
    return start, start + found.length[rows]


def _children(buf: np.ndarray, parent: Fields, rows: np.ndarray, number: int) -> Fields:
    """Field ``number`` (length-delimited) of the messages at ``parent``'s ``rows``, in order;
    the result's ``message`` indexes ``rows``."""
    starts, ends = _ranges(parent, rows)
    found = fields(buf, starts, ends, {number}, ordered=True)
    keep = found.where(number, LENGTH)
    return Fields(
        found.message[keep],
        found.number[keep],
        found.wire[keep],
        found.value[keep],
        found.length[keep],
        found.malformed,
    )


def _first_range(found: Fields, number: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per message, the range of length-delimited field ``number`` (-1 when absent)."""
    start = np.full(n, -1, dtype=np.int64)
    length = np.zeros(n, dtype=np.int64)
    sel = found.where(number, LENGTH)[::-1]  # reversed: the first occurrence is written last
    start[found.message[sel]] = found.value[sel].astype(np.int64)
    length[found.message[sel]] = found.length[sel]
    return start, length


def _nan_kept(value: Fields, number: np.ndarray) -> np.ndarray:
    """Values that really are NaN (a diverged loss is worth seeing), not missing."""
    present = np.zeros(len(number), dtype=bool)
    for field_number in (2, 3):
        present[value.message[value.where(field_number, FIXED32)]] = True
    return present & np.isnan(number)


def _strings(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The distinct UTF-8 texts of the ranges, each decoded once, and per range the index of
    its text (-1 for a range that is absent, ``start`` < 0).

    A million values carry a handful of tags: the ranges' bytes are hashed as 64-bit words
    (one multiply-xor per word, vectorized), grouped by hash, and each group checked equal
    to its first member, so a hash collision cannot merge two tags."""
    if not len(start):
        return [], np.zeros(0, dtype=np.int64)
    words = _words(buf, start, length)
    key = np.zeros(len(start), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in words.T:
            key = (key ^ column) * np.uint64(0x9E3779B97F4A7C15)
            key ^= key >> np.uint64(29)
    key ^= length.astype(np.uint64)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if not (words == words[first][inverse]).all():  # a collision: compare the bytes themselves
        _, first, inverse = np.unique(words, axis=0, return_index=True, return_inverse=True)
    texts = [_text(buf, int(start[i]), int(length[i])) for i in first.tolist()]
    return texts, np.where(start < 0, -1, inverse.ravel()).astype(np.int64)


def _words(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Each range's bytes, zero-padded to a whole number of 8-byte words: (ranges, words)."""
    width = max(8, -(-int(length.max(initial=0)) // 8) * 8)
    offsets = np.arange(width)
    raw = buf[np.maximum(start, 0)[:, None] + offsets]
    raw[offsets >= length[:, None]] = 0
    return np.ascontiguousarray(raw).view("<u8")


def _tensor_scalars(
    buf: np.ndarray, value: Fields, names: list[str], code: np.ndarray, number: np.ndarray, dialect: Dialect
) -> None:
    """TF2 scalars: rank-0 tensors whose tag's metadata named the "scalars" plugin."""
    tensor = value.where(8, LENGTH)
    if not len(tensor):
        return
    meta = value.where(9, LENGTH)
    if len(meta):
        plugin = _children(buf, value, meta, 1)
        plugin_names = _children(buf, plugin, np.arange(len(plugin.message)), 1)
        start, end = _ranges(plugin_names, np.arange(len(plugin_names.message)))
        is_scalar = (end - start == len(_SCALARS_PLUGIN)) & _equals(buf, start, _SCALARS_PLUGIN)
        owners = value.message[meta][plugin.message[plugin_names.message[is_scalar]]]
        dialect.scalar_tags.update(names[c] for c in set(code[owners].tolist()) if c >= 0)
    owners = value.message[tensor]
    scalar_codes = [c for c, name in enumerate(names) if name in dialect.scalar_tags]
    chosen = np.isin(code[owners], scalar_codes)
    if chosen.any():
        number[owners[chosen]] = _tensor_values(buf, value, tensor[chosen])


def _equals(buf: np.ndarray, start: np.ndarray, text: bytes) -> np.ndarray:
    same = np.ones(len(start), dtype=bool)
    for i, byte in enumerate(text):
        same &= buf[start + i] == byte
    return same


def _tensor_values(buf: np.ndarray, value: Fields, rows: np.ndarray) -> np.ndarray:
    """The first element of each TensorProto, as float64 (NaN for a dtype not listed)."""
    starts, ends = _ranges(value, rows)
    tensor = fields(buf, starts, ends, {1, 4, 5, 6, 7, 10, 13})
    out = np.full(len(rows), np.nan)
    dtype = np.zeros(len(rows), dtype=np.int64)
    sel = tensor.where(1, VARINT)
    dtype[tensor.message[sel]] = tensor.value[sel].astype(np.int64)
    for code, (numpy_type, number, wire) in _DTYPES.items():
        width = np.dtype(numpy_type).itemsize
        content = tensor.where(4, LENGTH)
        content = content[(dtype[tensor.message[content]] == code) & (tensor.length[content] >= width)]
        at = tensor.value[content].astype(np.int64)
        raw = buf[at[:, None] + np.arange(width)]
        out[tensor.message[content]] = raw.view(numpy_type).ravel()
        for kind in (LENGTH, wire):  # packed (the usual) or one element on its own
            sel = tensor.where(number, kind)
            sel = sel[dtype[tensor.message[sel]] == code]
            at = tensor.value[sel].astype(np.int64)
            bits = _element(buf, at, kind, wire, width)
            out[tensor.message[sel]] = _as(bits, numpy_type)
    return out


def _element(buf: np.ndarray, at: np.ndarray, kind: int, wire: int, width: int) -> np.ndarray:
    """The first element's bits: from a packed run (``kind`` LENGTH, ``at`` its start) or the field."""
    if kind != LENGTH:
        return at.astype(np.uint64)
    if wire == VARINT:
        return varint(buf, at)[0]
    return fixed(buf, at, width).astype(np.uint64)


def _as(bits: np.ndarray, numpy_type: str) -> np.ndarray:
    if numpy_type == "<f4":
        return bits.astype(np.uint32).view(np.float32).astype(np.float64)
    if numpy_type == "<f8":
        return bits.view(np.float64)
    if numpy_type == "<f2":
        return bits.astype(np.uint16).view(np.float16).astype(np.float64)
    return bits.view(np.int64).astype(np.float64)  # int32 / int64 (varints sign-extend to 64 bits)
