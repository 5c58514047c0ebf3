"""Rows of one raw table, appended block by block into growing column buffers.

Why not keep a list of per-block arrays and concatenate at the end: for a log of
millions of steps that final join is a full extra pass over every column, done
while nothing else runs.  Appending into buffers instead happens on the main
thread while the scanner threads work on the next blocks, and with a capacity
estimated from the file size the buffers are allocated about once.

A column that has been one constant so far (a format that prints no loss scale,
an event's kind) stays a single value until a block disagrees; most columns of
most logs never become arrays at all.
"""

from __future__ import annotations

import math

import numpy as np

from parsers.dispatch import is_constant

__all__ = ["ColumnParts", "Columns"]

Columns = dict[str, np.ndarray]
_UNSET = object()


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


class ColumnParts:
    """Columns of one raw table: numeric buffers, constants, and object-array pieces."""

    def __init__(self) -> None:
        self.n = 0
        self.capacity = 0
        self.numeric: dict[str, np.ndarray] = {}
        self.constant: dict[str, object] = {}
        self.objects: dict[str, list[np.ndarray]] = {}
        self.codes = np.empty(0, np.int16)
        self.names: list[str] = []

    def append(self, fmt: str, columns: Columns, *, expected_rows: int = 0) -> None:
        """Add one block's rows; ``expected_rows`` is a guess of the table's final size."""
        n = len(columns["line"])
        if not n:
            return
        self._reserve(self.n + n, expected_rows)
        if fmt not in self.names:
            self.names.append(fmt)
        self.codes[self.n : self.n + n] = self.names.index(fmt)
        for key in dict.fromkeys([*self.numeric, *self.constant, *self.objects, *columns]):
            self._put(key, columns.get(key), n)
        self.n += n

    def join(self) -> tuple[Columns, np.ndarray, list[str]]:
        """All rows so far: (columns, per-row format codes, format names), views where possible."""
        n = self.n
        out: Columns = {key: buf[:n] for key, buf in self.numeric.items()}
        for key, value in self.constant.items():
            out[key] = (
                np.broadcast_to(np.float64(np.nan if value is None else value), (n,))
                if value is None or isinstance(value, (int, float))
                else np.full(n, value, dtype=object)
            )
        for key, pieces in self.objects.items():
            out[key] = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        return out, self.codes[:n], list(self.names)

    def _reserve(self, needed: int, expected: int) -> None:
        if needed <= self.capacity:
            return
        capacity = max(needed, expected, self.capacity * 2, 1024)
        self.codes = _grow(self.codes, capacity, self.n)
        for key, buf in self.numeric.items():
            self.numeric[key] = _grow(buf, capacity, self.n)
        self.capacity = capacity

    def _put(self, key: str, values: np.ndarray | None, n: int) -> None:
        if key in self.objects or (values is not None and values.dtype == object):
            self._put_object(key, values, n)
            return
        value = (
            None
            if values is None or (is_constant(values) and np.isnan(values[0]))
            else (values[0].item() if is_constant(values) else _UNSET)
        )
        if key in self.constant and value is not _UNSET and _same(value, self.constant[key]):
            return
        if key not in self.numeric:
            if key not in self.constant and value is not _UNSET and (self.n == 0 or value is None):
                self.constant[key] = value
                return
            self._materialize(key, values)
        self._write(key, values, n)

    def _materialize(self, key: str, values: np.ndarray | None) -> None:
        """Turn a constant (or a column new in this block) into a buffer.

        Integer columns (epochs, steps, lines) stay int64 while nothing in them is missing.
        """
        before = self.constant.pop(key, None)
        real_ints = values is not None and not is_constant(values) and values.dtype.kind in "iu"
        integer = real_ints and (self.n == 0 or (before is not None and float(before).is_integer()))
        buf = np.empty(self.capacity, np.int64 if integer else np.float64)
        if self.n:
            buf[: self.n] = np.nan if before is None else before
        self.numeric[key] = buf

    def _write(self, key: str, values: np.ndarray | None, n: int) -> None:
        buf = self.numeric[key]
        needs_float = values is None or values.dtype.kind == "f"
        if needs_float and buf.dtype.kind != "f":
            buf = self.numeric[key] = buf.astype(np.float64)
        target = buf[self.n : self.n + n]
        if values is None:
            target[:] = np.nan
        elif is_constant(values):
            target[:] = values[0]
        else:
            target[:] = values

    def _put_object(self, key: str, values: np.ndarray | None, n: int) -> None:
        if key not in self.objects:
            self.objects[key] = [self._as_object(key)] if self.n else []
        piece = np.full(n, None, dtype=object) if values is None else values.astype(object, copy=False)
        self.objects[key].append(piece)

    def _as_object(self, key: str) -> np.ndarray:
        """Rows so far of a column that turns out to hold text, as objects."""
        if key in self.numeric:
            return self.numeric.pop(key)[: self.n].astype(object)
        value = self.constant.pop(key, None)
        return np.full(self.n, value, dtype=object)


def _grow(buf: np.ndarray, capacity: int, used: int) -> np.ndarray:
    bigger = np.empty(capacity, buf.dtype)
    bigger[:used] = buf[:used]
    return bigger
