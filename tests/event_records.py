"""Where each record of an event file starts, read from its length fields: for tests that
damage one record on purpose (the reader under test is not used to find them)."""

from __future__ import annotations

from parsers.events.walk import HEADER


def record_offsets(data: bytes) -> list[int]:
    """Byte offset of every record: length (8) + length CRC (4) + data + data CRC (4)."""
    offsets, pos = [], 0
    while pos < len(data):
        offsets.append(pos)
        pos += HEADER + int.from_bytes(data[pos : pos + 8], "little") + 4
    return offsets
