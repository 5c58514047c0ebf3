"""Reading one summary / event file, whole or from where the last read stopped.

``read_event_file`` returns the scalars of the complete records after ``cursor.offset``
and a new cursor: the offset just past the last complete record, what was learned of
the file (MindSpore or TensorBoard, the tags known to be scalars) and the corrupt
records met so far.  Handing that cursor to the next read of the grown file gives
exactly the rows a cold read would give after the ones already had: a torn last record
is left for the next read, never half-decoded.  The file is read in blocks of
``BLOCK`` bytes, so a file of any size is read in bounded memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa

from parsers.errors import NotEventFileError, UnreadableLogError
from parsers.events.decode import Decoded, Dialect, concat_decoded, decode
from parsers.events.records import HEADER, frame, header_ok_at
from parsers.events.wire import PAD

__all__ = ["BLOCK", "EventChunk", "EventCursor", "read_event_file"]

BLOCK = 4 << 20  # measured: 1 to 4 MB blocks read a 1M-scalar file fastest; larger ones only cost memory
_MALFORMED = "valid checksums but not an Event message"


@dataclass
class EventCursor:
    """Where the next read of a file starts and what earlier reads learned (JSON-able)."""

    offset: int = 0
    records: int = 0  # records with valid checksums read so far
    scalars: int = 0
    corrupt: list[tuple[int, str]] = field(default_factory=list)  # (byte offset, why)
    dialect: Dialect = field(default_factory=Dialect)

    def to_json(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "records": self.records,
            "scalars": self.scalars,
            "corrupt": [list(c) for c in self.corrupt],
            "kind": self.dialect.kind,
            "version": self.dialect.version,
            "scalar_tags": sorted(self.dialect.scalar_tags),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EventCursor:
        dialect = Dialect(data.get("kind"), data.get("version"), set(data.get("scalar_tags") or ()))
        corrupt = [(int(o), str(why)) for o, why in data.get("corrupt") or ()]
        return cls(int(data["offset"]), int(data["records"]), int(data["scalars"]), corrupt, dialect)


@dataclass
class EventChunk:
    """The scalars read by one call (tag, step, wall_time, value, record) and the cursor after it."""

    scalars: pd.DataFrame
    cursor: EventCursor
    corrupt: list[tuple[int, str]]  # met by this read
    pending: int  # bytes after ``cursor.offset`` not read yet (a torn record, or one being written)
    bytes_read: int


def read_event_file(
    path: str | os.PathLike[str],
    cursor: EventCursor | None = None,
    *,
    final: bool = True,
    opener: Callable[[], BinaryIO] | None = None,
    block: int = BLOCK,
) -> EventChunk:
    """Scalars of the complete records of ``path`` after ``cursor`` (the start when None).

    ``final``: the file is finished, so bytes at its end that start no valid record are
    reported as corrupt; otherwise they wait, as a record still being written would.
    Raises ``NotEventFileError`` when the file has bytes but no valid record at all.
    ``opener`` opens the file's bytes (an fsspec file, say); ``path`` then only names it.
    """
    old = cursor or EventCursor()
    dialect = Dialect(old.dialect.kind, old.dialect.version, set(old.dialect.scalar_tags))
    cursor = EventCursor(old.offset, old.records, old.scalars, list(old.corrupt), dialect)
    parts: list[Decoded] = []
    corrupt: list[tuple[int, str]] = []
    start = cursor.offset
    try:
        handle = opener() if opener else open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise UnreadableLogError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        handle.seek(cursor.offset)
        carry = b""
        while True:
            chunk = handle.read(block)
            data, eof = carry + chunk, len(chunk) < block
            padded = np.frombuffer(data + bytes(PAD), dtype=np.uint8)
            framing = frame(padded[: len(data)], final=final and eof)
            if cursor.records == 0 and not framing.records and len(data) >= HEADER:
                _check_event_file(path, padded[: len(data)], framing, at_start=cursor.offset == 0)
            decoded = decode(padded, framing.starts, framing.lengths, cursor.dialect)
            at = cursor.offset + framing.starts[decoded.malformed] - HEADER
            found = [(int(o), "not an Event message") for o in at]
            decoded.record = decoded.record + (cursor.records + 1)  # 1-based, over the whole file
            parts.append(decoded)
            corrupt += sorted([(cursor.offset + o, why) for o, why in framing.corrupt] + found)
            cursor.records += framing.records
            cursor.offset += framing.end
            carry = data[framing.end :]
            if eof:
                break
            if framing.end == 0:  # a record larger than the block: read it whole next time
                block = 2 * max(block, len(data))
    cursor.corrupt += corrupt
    scalars = _frame(concat_decoded(parts))
    cursor.scalars += len(scalars)
    return EventChunk(scalars, cursor, corrupt, len(carry), cursor.offset - start)


def _check_event_file(path: Any, buf: np.ndarray, framing: Any, *, at_start: bool) -> None:
    """No valid record yet: bytes that start with no valid header, or only corrupt records,
    are not an event file (a torn first record is a file being written: it waits)."""
    if framing.corrupt or (at_start and not header_ok_at(buf, 0)):
        where = framing.corrupt[0][0] if framing.corrupt else 0
        raise NotEventFileError(
            f"{path}: not a TensorBoard event file or MindSpore summary file "
            f"(no record with a valid checksum; the first bad one at byte {where})"
        )


def _frame(decoded: Decoded) -> pd.DataFrame:
    """The scalars with ``record``: the 1-based number of the record (of those with valid
    checksums) in the file, which plays the part of a text log's line number.  One frame
    for the whole read, built from numpy arrays: concatenating a frame per block costs more
    than reading the blocks."""
    names = pa.array(decoded.tag_names, type=pa.string())
    return pd.DataFrame(
        {
            "tag": pd.array(names.take(pa.array(decoded.tag_code)), dtype="string"),  # no str per value
            "step": decoded.step,
            "wall_time": decoded.wall_time,
            "value": decoded.value,
            "record": decoded.record,
        }
    )
