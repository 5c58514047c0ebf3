"""Record framing of TensorBoard event files and MindSpore summary files.

Both write the TFRecord framing: ``u64 length | masked CRC32C(length) | data | masked
CRC32C(data)``, little-endian.  ``frame`` finds the records of a buffer that starts on
a record boundary and says three things a reader of a growing file needs:

* where the last complete record ends (``end``): a torn last record -- the writer is
  half-way through it -- is not read and waits for the next refresh;
* which records in the middle are corrupt (a bad data CRC: skipped, the walk goes on
  with the length, which its own CRC vouched for; a bad length CRC: the walk looks for
  the next position that starts a valid record), each with its byte offset;
* whether anything valid was found at all, so that a file of random bytes or with a
  wrong CRC everywhere is reported as not an event file rather than as empty.

The walk from length to length is the one Python loop per record (``struct`` reads
the length); both CRCs of every record are checked afterwards in one numpy pass.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from parsers.events.crc32c import D, Z, crc32c_many, masked

__all__ = ["HEADER", "Framing", "frame", "header_ok_at"]

HEADER = 12  # u64 length + u32 masked CRC of the length
FOOTER = 4  # u32 masked CRC of the data
_LENGTH = struct.Struct("<Q").unpack_from
_RESYNC_WINDOW = 1 << 20


@dataclass
class Framing:
    """What ``frame`` found in ``buf[start:]``; offsets are relative to the buffer."""

    starts: np.ndarray  # data start of each valid record
    lengths: np.ndarray  # data length of each valid record
    end: int  # just past the last complete record (valid or corrupt): where the next read starts
    corrupt: list[tuple[int, str]] = field(default_factory=list)  # (offset of the record, why)

    @property
    def records(self) -> int:
        return len(self.starts)


def frame(buf: np.ndarray, start: int = 0, *, final: bool = False) -> Framing:
    """Records of ``buf`` (uint8, padded or not) from ``start``, which is a record boundary.

    ``final``: the buffer is the whole file and will not grow, so trailing bytes that
    start no valid record are corrupt rather than a record still being written.
    """
    size = len(buf)
    starts: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    corrupt: list[tuple[int, str]] = []
    pos = start
    while True:
        offsets, lens, stop = _walk(buf, pos, size)
        good_header = _header_ok(buf, offsets, lens)
        bad = np.flatnonzero(~good_header)
        if len(bad):  # the walk trusted a length its CRC does not vouch for: cut it there
            offsets, lens, stop = offsets[: bad[0]], lens[: bad[0]], int(offsets[bad[0]])
        data_ok = _data_ok(buf, offsets, lens)
        corrupt += [(int(o), "data checksum mismatch") for o in offsets[~data_ok]]
        starts.append(offsets[data_ok] + HEADER)
        lengths.append(lens[data_ok])
        if not len(bad) and (stop + HEADER > size or header_ok_at(buf, stop)):
            break  # nothing more, or a valid header whose record is not complete yet: torn
        found = _resync(buf, stop + 1, size)
        if found is None:
            if final and stop < size:
                corrupt.append((stop, "no valid record after this offset"))
                stop = size
            break
        corrupt.append((stop, "length checksum mismatch"))
        pos = found
    return Framing(np.concatenate(starts), np.concatenate(lengths), stop, corrupt)


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


_PATIENCE = 64  # records read one by one before guessing (and after a wrong guess)
_GUESS = 1 << 14
_PERIODS = 32


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


def _u32(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    return buf[at[:, None] + np.arange(4)].view("<u4").ravel()


def _header_ok(buf: np.ndarray, offsets: np.ndarray, lens: np.ndarray) -> np.ndarray:
    if not len(offsets):
        return np.zeros(0, dtype=bool)
    crc = crc32c_many(buf, offsets, np.full(len(offsets), 8, dtype=np.int64))
    return masked(crc) == _u32(buf, offsets + 8)


def _data_ok(buf: np.ndarray, offsets: np.ndarray, lens: np.ndarray) -> np.ndarray:
    if not len(offsets):
        return np.zeros(0, dtype=bool)
    crc = crc32c_many(buf, offsets + HEADER, lens)
    return masked(crc) == _u32(buf, offsets + HEADER + lens)


def header_ok_at(buf: np.ndarray, pos: int) -> bool:
    """Whether the 8 bytes at ``pos`` are a length guarded by a valid CRC."""
    return bool(_header_ok(buf, np.array([pos], dtype=np.int64), np.zeros(1, dtype=np.int64))[0])


def _resync(buf: np.ndarray, pos: int, size: int) -> int | None:
    """The first offset at or after ``pos`` whose 8 bytes carry their own valid CRC and whose
    record, if complete, has a valid data CRC too (a window at a time, vectorized)."""
    while pos + HEADER <= size:
        stop = min(size - HEADER + 1, pos + _RESYNC_WINDOW)
        candidates = np.arange(pos, stop, dtype=np.int64)
        crc = np.full(len(candidates), 0, dtype=np.uint32)
        for j in range(8):  # CRC of 8 bytes at every offset: byte j is 7 - j from the end
            crc ^= D[7 - j][buf[candidates + j]]
        crc ^= Z[8] ^ np.uint32(0xFFFFFFFF)
        for at in candidates[masked(crc) == _u32(buf, candidates + 8)]:
            n = _LENGTH(buf.data, int(at))[0]
            after = int(at) + HEADER + n + FOOTER
            if after > size or _data_ok(buf, np.array([at]), np.array([n], dtype=np.int64))[0]:
                return int(at)
        pos = stop
    return None
