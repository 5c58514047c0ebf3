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

The walk from record to record, with both CRCs checked on the way, is the compiled
scanner's ``event_records`` (about 0.1 s for a million records), or its numpy twin
``parsers.events.walk`` in an install without a compiler.  Looking for the next valid
record after a bad length is rare and done here, vectorized.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from parsers.events.crc32c import D, Z, masked
from parsers.events.walk import FOOTER, HEADER, data_ok, header_ok, u32

try:
    from parsers._scan import event_records

    COMPILED = True
except ImportError:  # the C extension was not built: the same records, found more slowly
    from parsers._scan_py import event_records

    COMPILED = False

__all__ = ["COMPILED", "FOOTER", "HEADER", "Framing", "frame", "header_ok_at"]

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
        offsets, lens, ok, stop, bad_header = event_records(buf, pos)
        if not ok.all():
            corrupt += [(int(o), "data checksum mismatch") for o in offsets[~ok]]
            offsets, lens = offsets[ok], lens[ok]
        starts.append(offsets + HEADER)
        lengths.append(lens)
        if not bad_header:
            break  # nothing more, or a valid header whose record is not complete yet: torn
        found = _resync(buf, stop + 1, size)
        if found is None:
            if final and stop < size:
                corrupt.append((stop, "no valid record after this offset"))
                stop = size
            break
        corrupt.append((stop, "length checksum mismatch"))
        pos = found
    only = len(starts) == 1
    return Framing(
        starts[0] if only else np.concatenate(starts),
        lengths[0] if only else np.concatenate(lengths),
        stop,
        corrupt,
    )


def header_ok_at(buf: np.ndarray, pos: int) -> bool:
    """Whether the 8 bytes at ``pos`` are a length guarded by a valid CRC."""
    return bool(header_ok(buf, np.array([pos], dtype=np.int64))[0])


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
        for at in candidates[masked(crc) == u32(buf, candidates + 8)]:
            n = _LENGTH(buf.data, int(at))[0]
            after = int(at) + HEADER + n + FOOTER
            if after > size or data_ok(buf, np.array([at]), np.array([n], dtype=np.int64))[0]:
                return int(at)
        pos = stop
    return None
