"""Protobuf wire format, decoded for many messages at once with numpy.

An event file holds a million tiny ``Event`` messages; parsing them one by one (even
with the C ``protobuf`` runtime) costs microseconds each in Python.  ``fields`` instead
walks all messages in lockstep: each pass reads one field -- key varint, then a varint,
a fixed64, a fixed32 or a length-delimited range -- of every message not yet finished,
as numpy operations over arrays of cursors.  A message of k fields costs k passes for
all messages together.  Nested messages are decoded by calling ``fields`` again on the
ranges of the length-delimited fields found.  Only the wire format is known here; which
field numbers mean what is ``parsers.events.decode``'s business.

Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.  Groups (3, 4) are
obsolete and never used by event files: a message holding one is reported malformed,
like a message whose fields run past its end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PAD", "Fields", "fields", "fixed"]

PAD = 16  # zero bytes the buffer must have after its last message: reads run a little ahead
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


@dataclass
class Fields:
    """One row per occurrence of a wanted field (see ``fields`` for their order)."""

    message: np.ndarray  # index of the message it belongs to
    number: np.ndarray  # field number
    wire: np.ndarray  # wire type
    value: np.ndarray  # uint64: the varint, the fixed bits, or (LENGTH) the start of the bytes
    length: np.ndarray  # LENGTH: the number of bytes; else 0
    malformed: np.ndarray  # per message: True when it could not be read to its end

    def where(self, number: int, wire: int) -> np.ndarray:
        """Positions (into these rows) of field ``number`` with wire type ``wire``."""
        return np.flatnonzero((self.number == number) & (self.wire == wire))


def varint(buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The varint at each position, and the position after it (at most 10 bytes)."""
    byte = buf[pos].astype(np.uint64)
    value = byte & np.uint64(0x7F)
    after = pos + 1
    more = np.flatnonzero(byte >= 0x80)
    shift = np.uint64(7)
    while len(more) and shift < 70:
        byte = buf[after[more]].astype(np.uint64)
        value[more] |= (byte & np.uint64(0x7F)) << shift
        after[more] += 1
        more = more[byte >= 0x80]
        shift += np.uint64(7)
    return value, after


def fixed(buf: np.ndarray, pos: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` (4 or 8) little-endian bytes at each position, as uint32/uint64."""
    raw = buf[pos[:, None] + np.arange(width)]
    return raw.view("<u4" if width == 4 else "<u8").ravel()


def fields(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, wanted: set[int], *, ordered: bool = False
) -> Fields:
    """The occurrences of the ``wanted`` field numbers in messages ``buf[starts[i]:ends[i]]``.

    Rows come pass by pass (every message's first field, then every second...);
    ``ordered`` sorts them by message, which repeated fields whose order matters need."""
    n = len(starts)
    cursor = np.asarray(starts, dtype=np.int64).copy()
    ends = np.asarray(ends, dtype=np.int64)
    malformed = np.zeros(n, dtype=bool)
    active = np.flatnonzero(cursor < ends)
    found: list[tuple[np.ndarray, ...]] = []
    want = np.array(sorted(wanted), dtype=np.uint64)
    while len(active):
        key, at = varint(buf, cursor[active])
        number, wire = key >> np.uint64(3), key & np.uint64(7)
        value = np.zeros(len(active), dtype=np.uint64)
        length = np.zeros(len(active), dtype=np.int64)
        after = at.copy()
        _read_values(buf, wire, at, value, length, after)
        bad = ~np.isin(wire, (VARINT, FIXED64, LENGTH, FIXED32)) | (after > ends[active])
        keep = np.isin(number, want) & ~bad
        if keep.any():
            found.append((active[keep], number[keep], wire[keep], value[keep], length[keep]))
        malformed[active[bad]] = True
        cursor[active] = after
        active = active[~bad & (after < ends[active])]
    return _collect(found, malformed, ordered=ordered)


def _read_values(buf, wire, at, value, length, after) -> None:
    """Fill ``value``/``length``/``after`` for each field according to its wire type."""
    for kind, width in ((FIXED64, 8), (FIXED32, 4)):
        sel = np.flatnonzero(wire == kind)
        if len(sel):
            value[sel] = fixed(buf, at[sel], width)
            after[sel] = at[sel] + width
    sel = np.flatnonzero(wire == VARINT)
    if len(sel):
        value[sel], after[sel] = varint(buf, at[sel])
    sel = np.flatnonzero(wire == LENGTH)
    if len(sel):
        size, begin = varint(buf, at[sel])
        size = np.minimum(size, np.uint64(1 << 62)).astype(np.int64)  # a huge one is caught as bad
        value[sel] = begin.astype(np.uint64)
        length[sel] = size
        after[sel] = begin + size


def _collect(found: list[tuple[np.ndarray, ...]], malformed: np.ndarray, *, ordered: bool) -> Fields:
    if not found:
        empty_u = np.zeros(0, dtype=np.uint64)
        empty_i = np.zeros(0, dtype=np.int64)
        return Fields(empty_i, empty_u, empty_u, empty_u, empty_i, malformed)
    if len(found) == 1:
        return Fields(*found[0], malformed)
    columns = [np.concatenate(parts) for parts in zip(*found)]
    if ordered:
        order = np.argsort(columns[0], kind="stable")  # message order; passes keep field order
        columns = [c[order] for c in columns]
    return Fields(*columns, malformed)
