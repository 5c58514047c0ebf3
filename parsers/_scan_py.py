"""Pure-Python twin of the compiled scanner ``parsers._scan``.

Used only when the C extension was not built (an install without a compiler).
It gives the same tables, only slower: a regex per line instead of one compiled
pass over the bytes.  Shapes are hashed differently, which is fine, because a
shape hash is only ever compared with hashes made by the same implementation.

The event-file functions' twins are numpy, not a loop per record (which would take
seconds for a million records): ``event_records`` is ``parsers.events.walk``, and
``event_scalars`` leaves every record to the general decoder (``parsers.events.decode``),
which is what the compiled one does for the records it does not take.  They are
imported when called: ``parsers.events`` imports this module.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["event_records", "event_scalars", "gather_ints", "gather_token_text", "masked_crc32c", "scan"]

_TOKEN = re.compile(rb"(?<![A-Za-z_0-9])\d+(\.\d+)?([eE][-+]?\d+)?")
_KIND_MARK = {1: b"\x01", 2: b"\x02", 3: b"\x03"}


def _kind(match: re.Match[bytes]) -> int:
    return 3 if match.group(2) else 2 if match.group(1) else 1


def scan(buf, n_lines_max: int, n_tok_max: int):
    data = bytes(buf)
    line_start, line_end, line_shape, line_tok0 = [], [], [], []
    tok_start, tok_end, tok_kind = [], [], []
    pos = 0
    while pos < len(data) and len(line_start) < n_lines_max:
        stop = data.find(b"\n", pos)
        stop = len(data) if stop < 0 else stop
        end = stop - 1 if stop > pos and data[stop - 1] == 13 else stop
        line = data[pos:end]
        line_tok0.append(len(tok_start))
        pieces, last = [], 0
        for match in _TOKEN.finditer(line):
            if len(tok_start) == n_tok_max:
                return (True, *([np.empty(0)] * 7))
            kind = _kind(match)
            tok_start.append(pos + match.start())
            tok_end.append(pos + match.end())
            tok_kind.append(kind)
            pieces += [line[last : match.start()], _KIND_MARK[kind]]
            last = match.end()
        pieces.append(line[last:])
        line_start.append(pos)
        line_end.append(end)
        line_shape.append(hash(b"".join(pieces)) & 0xFFFFFFFFFFFFFFFF)
        pos = stop + 1
    line_tok0.append(len(tok_start))
    return (
        pos < len(data),
        np.asarray(line_start, np.int32),
        np.asarray(line_end, np.int32),
        np.asarray(line_shape, np.uint64),
        np.asarray(line_tok0, np.int32),
        np.asarray(tok_start, np.int32),
        np.asarray(tok_end, np.int32),
        np.asarray(tok_kind, np.uint8),
    )


def gather_ints(buf, tok_start, tok_end):
    data = bytes(buf)
    out = [int(re.match(rb"\d+", data[s:e]).group()) for s, e in zip(tok_start, tok_end)]
    return np.asarray(out, np.int64)


def gather_token_text(buf, tok_start, tok_end):
    data = bytes(buf)
    pieces = [data[s:e] for s, e in zip(tok_start, tok_end)]
    offsets = np.zeros(len(pieces) + 1, np.int64)
    offsets[1:] = np.cumsum([len(p) for p in pieces])
    return np.frombuffer(b"".join(pieces), np.uint8), offsets


def masked_crc32c(data) -> int:
    from parsers.events.crc32c import crc32c, masked

    return int(masked(crc32c(np.asarray(data, dtype=np.uint8))))


def event_records(buf, pos: int):
    from parsers.events.walk import walk_records

    return walk_records(np.asarray(buf, dtype=np.uint8), int(pos))


def event_scalars(buf, starts, lengths):
    n = len(starts)
    empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
    return (np.full(n, np.nan), np.zeros(n, np.int64), empty_i, np.zeros(0, np.int32), empty_f,
            empty_i, empty_i, np.arange(n, dtype=np.int64))  # fmt: skip
