"""One pass over the bytes of a log: line spans, line shapes and number tokens.

Why this exists: a training log is millions of lines in a handful of shapes
(``epoch: # step: #, loss is #.#``).  Running every format's regex on every line
is what makes hand-written parsers slow.  Instead we read each byte once, here,
in compiled code, and record for every line

* its span in the buffer,
* a 64-bit hash of its *shape*: the line with every number replaced by a marker
  of the number's kind (integer, decimal, exponent), so lines that differ only
  in their numbers share a shape,
* the spans of its number tokens.

The regexes then run once per distinct shape (see ``dispatch``), and the numbers
of all lines of a shape are gathered by slot, vectorised.  The byte loop is C
(``_scan.pyx``, built by Cython at install time) with a pure-Python twin
(``_scan_py.py``) for installs without a compiler.  Digits inside words
(``ResNet50``, ``float64``, ``top_1``) belong to the shape, not to a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

try:
    from parsers import _scan as _impl

    COMPILED = True
except ImportError:  # the C extension was not built: same results, slower
    from parsers import _scan_py as _impl

    COMPILED = False

__all__ = ["COMPILED", "LineScan", "gather_ints", "gather_token_text", "scan_lines"]

KIND_INT = 1
KIND_DECIMAL = 2
KIND_EXPONENT = 3

gather_ints = _impl.gather_ints
gather_token_text = _impl.gather_token_text


@dataclass(frozen=True)
class LineScan:
    """Result of scanning one buffer: per-line and per-token arrays.

    Token ``k`` of line ``i`` is ``line_tok0[i] + k`` while below ``line_tok0[i+1]``.
    Positions are byte offsets into the scanned buffer.
    """

    line_start: np.ndarray  # int32, first byte of the line
    line_end: np.ndarray  # int32, one past the last byte, without '\r\n'
    line_shape: np.ndarray  # uint64 shape hash
    line_tok0: np.ndarray  # int32, len = lines + 1
    tok_start: np.ndarray  # int32
    tok_end: np.ndarray  # int32
    tok_kind: np.ndarray  # uint8, KIND_*

    @property
    def n_lines(self) -> int:
        return len(self.line_start)


def scan_lines(buf: np.ndarray) -> LineScan:
    """Scan a uint8 buffer holding whole lines (the last may lack its newline).

    Arrays are sized for typical logs (lines of dozens of bytes, a number every few
    bytes) and the scan is repeated with worst-case sizes in the rare buffer of
    short lines or dense numbers that needs more.
    """
    if len(buf) >= 2**31 - 1:
        raise ValueError("a single block of more than 2 GiB without a line break")
    guesses = ((len(buf) // 24 + 16, len(buf) // 6 + 16), (len(buf) + 1, len(buf) // 2 + 1))
    for n_lines, n_tok in guesses:
        full, *arrays = _impl.scan(buf, n_lines, n_tok)
        if not full:
            return LineScan(*arrays)
    raise AssertionError("unreachable: the second guess bounds lines and tokens")  # pragma: no cover
