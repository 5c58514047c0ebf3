"""The record walk of an event file in numpy: the twin of the compiled ``event_records``.

``parsers._scan.event_records`` follows the lengths of a buffer's records in C and checks
both CRC32Cs of each as it goes.  Without the compiled scanner (an install without a
compiler) the same walk is done here, in numpy: a loop per record in Python would take
seconds for a million scalars, so the walk guesses ahead (writers repeat themselves)
and the CRCs of all the records are checked afterwards in one vectorized pass
(``parsers.events.crc32c``).  Both return the same thing, see ``walk_records``.
"""

from __future__ import annotations

import struct

import numpy as np

from parsers.events.crc32c import crc32c_many, masked

__all__ = ["FOOTER", "HEADER", "data_ok", "header_ok", "u32", "walk_records"]

HEADER = 12  # u64 length + u32 masked CRC of the length
FOOTER = 4  # u32 masked CRC of the data
_LENGTH = struct.Struct("<Q").unpack_from
_PATIENCE = 64  # records read one by one before guessing (and after a wrong guess)
_GUESS = 1 << 14
_PERIODS = 32


def walk_records(buf: np.ndarray, pos: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, bool]:
    """Follow the records of ``buf`` (uint8) from ``pos`` (a record boundary), checking both CRCs.

    Returns ``(offsets, lengths, data_ok, stop, bad_header)``: per whole record whose length
    CRC holds, its offset, data length and whether its data CRC holds; ``stop`` where the
    walk ended (the end of the records, a record not complete yet, or a length whose CRC
    fails: then ``bad_header`` is True)."""
    size = len(buf)
    offsets, lens, stop = _walk(buf, pos, size)
    good = header_ok(buf, offsets)
    bad = np.flatnonzero(~good)
    if len(bad):  # the walk trusted a length its CRC does not vouch for: cut it there
        offsets, lens, stop = offsets[: bad[0]], lens[: bad[0]], int(offsets[bad[0]])
        return offsets, lens, data_ok(buf, offsets, lens), stop, True
    torn = stop + HEADER > size or bool(header_ok(buf, np.array([stop], dtype=np.int64))[0])
    return offsets, lens, data_ok(buf, offsets, lens), stop, not torn


def _walk(buf: np.ndarray, pos: int, size: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Follow lengths from ``pos`` while whole records fit; returns offsets, lengths, stop.

    Writers repeat themselves: a training loop records the same tags every step, so the
    record sizes repeat with a short period.  After a few records read one by one, the
    walk guesses the next ``_GUESS`` offsets by repeating the last period, reads all
    their lengths at once, and keeps the guesses up to the first one that is wrong; then
    it goes on one by one.  Which offsets are whole records is settled at the end."""
    raw, unpack, limit = buf.data, _LENGTH, size - HEADER
    pieces: list[np.ndarray] = []
    reached = [pos]
    while pos <= limit:
        for _ in range(_PATIENCE):
            pos += unpack(raw, pos)[0] + HEADER + FOOTER
            reached.append(pos)
            if pos > limit:
                break
        else:
            guessed = _guess(buf, reached, size)
            if len(guessed):
                pieces.append(np.array(reached[:-1], dtype=np.int64))
                pieces.append(guessed[:-1])
                pos = int(guessed[-1])
                reached = [pos]
    reached[-1] = min(reached[-1], size + 1)  # only the last can be past the end (a corrupt length)
    ends = np.concatenate([*pieces, np.array(reached, dtype=np.int64)])
    whole = int(np.searchsorted(ends, size, side="right"))  # offsets are increasing: a prefix fits
    offsets = ends[: whole - 1] if whole else ends[:0]
    lens = ends[1:whole] - offsets - HEADER - FOOTER
    return offsets, lens, int(ends[whole - 1])


def _guess(buf: np.ndarray, reached: list[int], size: int) -> np.ndarray:
    """Offsets after ``reached[-1]`` that repeating the last period of record sizes predicts and
    the file confirms, ending with the offset after the last confirmed record; empty if none."""
    sizes = np.diff(np.array(reached[-(2 * _PERIODS + 1) :], dtype=np.int64))
    period = next((p for p in range(1, _PERIODS + 1) if (sizes[-p:] == sizes[-2 * p : -p]).all()), 0)
    if not period:
        return sizes[:0]
    predicted = np.resize(sizes[-period:], _GUESS)
    starts = reached[-1] + np.concatenate(([0], np.cumsum(predicted)))
    inside = starts[:-1] + HEADER <= size
    ok = inside & (starts[1:] <= size)
    at = np.where(inside, starts[:-1], 0)
    ok &= buf[at[:, None] + np.arange(8)].view("<u8").ravel() + HEADER + FOOTER == predicted
    confirmed = int(np.argmin(ok)) if not ok.all() else len(ok)
    return starts[: confirmed + 1] if confirmed else sizes[:0]


def u32(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The little-endian u32 at each offset."""
    return buf[at[:, None] + np.arange(4)].view("<u4").ravel()


def header_ok(buf: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Whether the 8 bytes at each offset are a length guarded by a valid CRC."""
    if not len(offsets):
        return np.zeros(0, dtype=bool)
    crc = crc32c_many(buf, offsets, np.full(len(offsets), 8, dtype=np.int64))
    return masked(crc) == u32(buf, offsets + 8)


def data_ok(buf: np.ndarray, offsets: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Whether the data of each record (at ``offsets``, ``lens`` bytes) matches its stored CRC."""
    if not len(offsets):
        return np.zeros(0, dtype=bool)
    crc = crc32c_many(buf, offsets + HEADER, lens)
    return masked(crc) == u32(buf, offsets + HEADER + lens)
