"""CRC32C (Castagnoli) of many short byte ranges at once, in numpy.

Event files guard each record with two masked CRC32Cs (of the length and of the data).
A million scalars are a million records of ~40 bytes: a loop over them in Python would
take seconds, and a C package would be one more compiled dependency.  CRC is linear over
GF(2), so a message's CRC is the XOR of one table entry per byte, chosen by the byte and
by its distance from the message's end:

    crc(x) = ~(Z[n] ^ XOR_j D[n-1-j][x[j]])    Z[n] = S^n(0xFFFFFFFF),  D[d][b] = S^d(T[b])

where ``T`` is the usual byte table and ``S`` feeds one zero byte into the register.
That is one gather and one ``bitwise_xor.reduceat`` over all the bytes of all the
messages, with no Python per message.  Messages longer than ``SPAN`` bytes (graphs,
images) are cut into ``SPAN``-byte blocks combined with the same tables.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SPAN", "crc32c", "crc32c_many", "masked"]

POLY = 0x82F63B78  # Castagnoli, reflected
SPAN = 512  # longest message done in one gather; 512 x 256 x 4 bytes of tables stay in cache
_MASK_DELTA = 0xA282EAD8


def _byte_table() -> np.ndarray:
    crc = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        crc = np.where(crc & 1, (crc >> 1) ^ np.uint32(POLY), crc >> 1).astype(np.uint32)
    return crc


T = _byte_table()


def _zero_byte(reg: np.ndarray) -> np.ndarray:
    """``S``: the register after one more byte of value 0."""
    return T[reg & 0xFF] ^ (reg >> np.uint32(8))


def _distance_tables() -> tuple[np.ndarray, np.ndarray]:
    table = np.empty((SPAN, 256), dtype=np.uint32)
    table[0] = T
    for d in range(1, SPAN):
        table[d] = _zero_byte(table[d - 1])
    ones = np.empty(SPAN + 1, dtype=np.uint32)
    ones[0] = 0xFFFFFFFF
    for n in range(1, SPAN + 1):
        ones[n] = _zero_byte(ones[n - 1 : n])[0]
    return table, ones


D, Z = _distance_tables()
_FLAT = D.ravel()


def masked(crc: np.ndarray | int) -> np.ndarray | int:
    """The masked form stored in TFRecord/event files: rotate right by 15, add a constant."""
    if isinstance(crc, (int, np.integer)):
        crc = int(crc)
        return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF
    crc = crc.astype(np.uint32)
    return ((crc >> np.uint32(15)) | (crc << np.uint32(17))) + np.uint32(_MASK_DELTA)


def crc32c_many(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC32C of ``buf[starts[i] : starts[i] + lengths[i]]`` for every ``i`` (uint32)."""
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.empty(len(starts), dtype=np.uint32)
    short = lengths <= SPAN
    if short.any():
        out[short] = _short(buf, starts[short], lengths[short])
    for i in np.flatnonzero(~short):
        out[i] = crc32c(buf[starts[i] : starts[i] + lengths[i]])
    return out


def _short(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """All messages at most ``SPAN`` long, grouped by length: per group, a (messages x length)
    gather of bytes and of table entries, XOR-reduced along the rows.  Groups are cut into
    blocks of about ``_BLOCK`` bytes so the temporaries stay in cache."""
    out = Z[lengths] ^ np.uint32(0xFFFFFFFF)
    order = np.argsort(lengths.astype(np.uint16), kind="stable")  # radix sort: lengths <= SPAN
    sorted_lengths = lengths[order]
    bounds = np.flatnonzero(np.diff(sorted_lengths)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(order)]):
        n = int(sorted_lengths[lo])
        if n == 0:
            continue
        offsets = np.arange(n, dtype=np.int64)
        rows = (n - 1 - offsets) << 8
        step = max(1, _BLOCK // n)
        for a in range(lo, hi, step):
            chosen = order[a : min(a + step, hi)]
            data = buf[starts[chosen, None] + offsets]
            out[chosen] ^= np.bitwise_xor.reduce(_FLAT[rows | data], axis=1)
    return out


_BLOCK = 1 << 20


def _shift(reg: int, n: int) -> int:
    """``S^n(reg)``: the register after ``n`` zero bytes (byte k of ``reg`` is ``k+1`` bytes from leaving)."""
    while n >= 4:
        step = min(n, SPAN)
        reg = int(
            D[step - 1, reg & 0xFF]
            ^ D[step - 2, (reg >> 8) & 0xFF]
            ^ D[step - 3, (reg >> 16) & 0xFF]
            ^ D[step - 4, reg >> 24]
        )
        n -= step
    for _ in range(n):
        reg = int(T[reg & 0xFF]) ^ (reg >> 8)
    return reg


def crc32c(data: bytes | np.ndarray) -> int:
    """CRC32C of one message of any length."""
    arr = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data
    n = len(arr)
    if n <= SPAN:
        return int(_short(arr, np.zeros(1, np.int64), np.array([n], np.int64))[0])
    acc = 0
    head = n % SPAN or SPAN
    bounds = range(head, n + 1, SPAN)
    prev = 0
    for end in bounds:
        block = arr[prev:end]
        part = int(np.bitwise_xor.reduce(D[np.arange(len(block) - 1, -1, -1), block]))
        acc = _shift(acc, len(block)) ^ part
        prev = end
    return (_shift(0xFFFFFFFF, n) ^ acc) ^ 0xFFFFFFFF
