# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled core of ``parsers.scan``: one pass over the bytes of a block of lines.

See ``parsers/scan.py`` for what is recorded and why; ``parsers/_scan_py.py`` is the
same algorithm in pure Python, used when this extension is not built.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

cdef uint64_t FNV_OFFSET = 0xCBF29CE484222325ULL
cdef uint64_t FNV_PRIME = 0x100000001B3ULL


cdef enum:
    C_OTHER = 0
    C_DIGIT = 1
    C_WORD = 2
    C_NEWLINE = 3
    C_CR = 4

cdef uint8_t CLASS[256]
for _c in range(256):
    CLASS[_c] = C_OTHER
for _c in range(48, 58):
    CLASS[_c] = C_DIGIT
for _c in list(range(65, 91)) + list(range(97, 123)) + [95]:
    CLASS[_c] = C_WORD
CLASS[10] = C_NEWLINE
CLASS[13] = C_CR


cdef inline bint _digit(uint8_t c) noexcept nogil:
    return 48 <= c <= 57


cdef inline bint _word(uint8_t c) noexcept nogil:
    return (65 <= c <= 90) or (97 <= c <= 122) or c == 95


cdef inline Py_ssize_t _number_end(const uint8_t[::1] buf, Py_ssize_t i, Py_ssize_t end,
                                   uint8_t* kind) noexcept nogil:
    """End of the number token starting at ``i``: digits, optional .digits, optional exponent."""
    cdef Py_ssize_t j
    while i < end and _digit(buf[i]):
        i += 1
    kind[0] = 1
    if i + 1 < end and buf[i] == 46 and _digit(buf[i + 1]):
        kind[0] = 2
        i += 1
        while i < end and _digit(buf[i]):
            i += 1
    if i + 1 < end and (buf[i] == 101 or buf[i] == 69):
        j = i + 1
        if j < end and (buf[j] == 43 or buf[j] == 45):
            j += 1
        if j < end and _digit(buf[j]):
            kind[0] = 3
            i = j
            while i < end and _digit(buf[i]):
                i += 1
    return i


def scan(const uint8_t[::1] buf, Py_ssize_t n_lines_max, Py_ssize_t n_tok_max):
    """Return (full, line_start, line_end, line_shape, line_tok0, tok_start, tok_end, tok_kind)."""
    line_start_a = np.empty(n_lines_max, np.int32)
    line_end_a = np.empty(n_lines_max, np.int32)
    line_shape_a = np.empty(n_lines_max, np.uint64)
    line_tok0_a = np.empty(n_lines_max + 1, np.int32)
    tok_start_a = np.empty(n_tok_max, np.int32)
    tok_end_a = np.empty(n_tok_max, np.int32)
    tok_kind_a = np.empty(n_tok_max, np.uint8)
    cdef int32_t[::1] line_start = line_start_a
    cdef int32_t[::1] line_end = line_end_a
    cdef uint64_t[::1] line_shape = line_shape_a
    cdef int32_t[::1] line_tok0 = line_tok0_a
    cdef int32_t[::1] tok_start = tok_start_a
    cdef int32_t[::1] tok_end = tok_end_a
    cdef uint8_t[::1] tok_kind = tok_kind_a
    cdef Py_ssize_t n = buf.shape[0]
    cdef Py_ssize_t pos = 0, line = 0, tok = 0, start, stop, end, i, j
    cdef uint64_t h
    cdef uint8_t c, kind
    cdef bint word, full = False
    cdef uint8_t cls
    with nogil:
        while pos < n and line < n_lines_max:
            start = pos
            h = FNV_OFFSET
            line_tok0[line] = <int32_t>tok
            word = False
            i = start
            # One pass per line: the newline ends it; '\r' before it is left out of the shape.
            while i < n:
                c = buf[i]
                cls = CLASS[c]
                if cls == C_NEWLINE:
                    break
                if cls == C_DIGIT and not word:
                    if tok == n_tok_max:
                        full = True
                        while i < n and buf[i] != 10:
                            i += 1
                        break
                    j = _number_end(buf, i, n, &kind)
                    tok_start[tok] = <int32_t>i
                    tok_end[tok] = <int32_t>j
                    tok_kind[tok] = kind
                    tok += 1
                    h = (h ^ kind) * FNV_PRIME
                    i = j
                else:
                    if cls != C_CR:
                        h = (h ^ c) * FNV_PRIME
                    word = cls == C_WORD or (word and cls == C_DIGIT)
                    i += 1
            stop = i
            end = stop
            if end > start and buf[end - 1] == 13:
                end -= 1
            line_start[line] = <int32_t>start
            line_end[line] = <int32_t>end
            line_shape[line] = h
            line += 1
            pos = stop + 1
        if pos < n:
            full = True
        line_tok0[line] = <int32_t>tok
    return (
        full,
        line_start_a[:line],
        line_end_a[:line],
        line_shape_a[:line],
        line_tok0_a[: line + 1],
        tok_start_a[:tok],
        tok_end_a[:tok],
        tok_kind_a[:tok],
    )


def gather_ints(const uint8_t[::1] buf, const int32_t[::1] tok_start, const int32_t[::1] tok_end):
    """Integer value of each token (its leading digits)."""
    cdef Py_ssize_t k, i, n = tok_start.shape[0]
    out_a = np.empty(n, np.int64)
    cdef int64_t[::1] out = out_a
    cdef int64_t value
    with nogil:
        for k in range(n):
            value = 0
            i = tok_start[k]
            while i < tok_end[k] and _digit(buf[i]):
                value = value * 10 + (buf[i] - 48)
                i += 1
            out[k] = value
    return out_a


def gather_token_text(const uint8_t[::1] buf, const int32_t[::1] tok_start, const int32_t[::1] tok_end):
    """Token bytes copied into one buffer with Arrow-style int64 offsets."""
    cdef Py_ssize_t k, i, o, n = tok_start.shape[0]
    offsets_a = np.empty(n + 1, np.int64)
    cdef int64_t[::1] offsets = offsets_a
    cdef int64_t total = 0
    for k in range(n):
        offsets[k] = total
        total += tok_end[k] - tok_start[k]
    offsets[n] = total
    data_a = np.empty(total, np.uint8)
    cdef uint8_t[::1] data = data_a
    with nogil:
        for k in range(n):
            o = offsets[k]
            for i in range(tok_start[k], tok_end[k]):
                data[o] = buf[i]
                o += 1
    return data_a, offsets_a
