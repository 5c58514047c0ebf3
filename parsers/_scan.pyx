# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled core of ``parsers.scan``: one pass over the bytes of a block of lines.

See ``parsers/scan.py`` for what is recorded and why; ``parsers/_scan_py.py`` is the
same algorithm in pure Python, used when this extension is not built.  The second part
reads event files (TensorBoard's, MindSpore's summaries): the record walk with CRC32C and
the scalars of the common Event shape, used by ``parsers.events``.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.math cimport NAN
from libc.string cimport memcmp, memcpy

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


# ---- Event files (TensorBoard / MindSpore summaries): record framing, CRC32C, scalars ----
# See ``parsers/events/records.py`` and ``parsers/events/decode.py`` for what is read and why;
# ``parsers/_scan_py.py`` has the twins (numpy, for installs without a compiler).

cdef uint32_t CRC_TABLE[8][256]


cdef void _crc_tables() noexcept:
    """Slicing-by-8 tables of CRC32C (Castagnoli, reflected polynomial 0x82F63B78)."""
    cdef uint32_t c
    cdef int n, k
    for n in range(256):
        c = n
        for k in range(8):
            c = (c >> 1) ^ (0x82F63B78U if c & 1 else 0)
        CRC_TABLE[0][n] = c
    for n in range(256):
        c = CRC_TABLE[0][n]
        for k in range(1, 8):
            c = CRC_TABLE[0][c & 0xFF] ^ (c >> 8)
            CRC_TABLE[k][n] = c


_crc_tables()


cdef inline uint32_t _u32(const uint8_t* p) noexcept nogil:
    return <uint32_t>p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


cdef inline uint64_t _u64(const uint8_t* p) noexcept nogil:
    return <uint64_t>_u32(p) | (<uint64_t>_u32(p + 4) << 32)


cdef inline uint32_t _masked_crc32c(const uint8_t* p, uint64_t n) noexcept nogil:
    """The masked CRC32C event files store: the CRC rotated right by 15, plus a constant."""
    cdef uint32_t crc = 0xFFFFFFFFU, lo
    while n >= 8:
        lo = crc ^ _u32(p)
        crc = (CRC_TABLE[7][lo & 0xFF] ^ CRC_TABLE[6][(lo >> 8) & 0xFF]
               ^ CRC_TABLE[5][(lo >> 16) & 0xFF] ^ CRC_TABLE[4][lo >> 24]
               ^ CRC_TABLE[3][p[4]] ^ CRC_TABLE[2][p[5]] ^ CRC_TABLE[1][p[6]] ^ CRC_TABLE[0][p[7]])
        p += 8
        n -= 8
    while n > 0:
        crc = CRC_TABLE[0][(crc ^ p[0]) & 0xFF] ^ (crc >> 8)
        p += 1
        n -= 1
    crc ^= 0xFFFFFFFFU
    return ((crc >> 15) | (crc << 17)) + 0xA282EAD8U


def masked_crc32c(const uint8_t[::1] data):
    """The masked CRC32C of ``data`` (what a record stores after its length and its data)."""
    return _masked_crc32c(&data[0] if data.shape[0] else NULL, data.shape[0])


def event_records(const uint8_t[::1] buf, Py_ssize_t pos):
    """Follow the records of ``buf`` from ``pos`` (a record boundary), checking both CRCs.

    Returns ``(offsets, lengths, data_ok, stop, bad_header)``: per whole record whose length
    CRC holds, its offset, data length and whether its data CRC holds; ``stop`` where the
    walk ended (the end of the records, a record not complete yet, or a length whose CRC
    fails: then ``bad_header`` is True)."""
    cdef Py_ssize_t size = buf.shape[0]
    cdef Py_ssize_t cap = max(0, (size - pos) // 16 + 1)
    offsets_a = np.empty(cap, np.int64)
    lengths_a = np.empty(cap, np.int64)
    ok_a = np.empty(cap, np.uint8)
    cdef int64_t[::1] offsets = offsets_a
    cdef int64_t[::1] lengths = lengths_a
    cdef uint8_t[::1] ok = ok_a
    cdef Py_ssize_t k = 0
    cdef uint64_t n
    cdef bint bad = False
    cdef const uint8_t* base = &buf[0] if size else NULL
    with nogil:
        while pos + 12 <= size:
            if _masked_crc32c(base + pos, 8) != _u32(base + pos + 8):
                bad = True
                break
            n = _u64(base + pos)
            if n > <uint64_t>(size - pos - 16) or pos + 16 > size:
                break  # torn: the record is not complete yet
            offsets[k] = pos
            lengths[k] = <int64_t>n
            ok[k] = _masked_crc32c(base + pos + 12, n) == _u32(base + pos + 12 + n)
            k += 1
            pos += 16 + <Py_ssize_t>n
    return offsets_a[:k], lengths_a[:k], ok_a[:k].view(np.bool_), pos, bad


cdef inline Py_ssize_t _varint(const uint8_t* buf, Py_ssize_t pos, Py_ssize_t end, uint64_t* out) noexcept nogil:
    """Read a varint at ``pos`` (not past ``end``): the position after it, or -1."""
    cdef uint64_t value = 0
    cdef int shift = 0
    cdef uint8_t byte
    while pos < end and shift < 70:
        byte = buf[pos]
        value |= (<uint64_t>(byte & 0x7F)) << shift
        pos += 1
        if byte < 0x80:
            out[0] = value
            return pos
        shift += 7
    return -1


cdef inline Py_ssize_t _skip(const uint8_t* buf, Py_ssize_t pos, Py_ssize_t end, uint64_t wire,
                             uint64_t* value, Py_ssize_t* length) noexcept nogil:
    """Read one field's payload by wire type: the position after it, or -1 (malformed)."""
    cdef uint64_t size
    length[0] = 0
    if wire == 0:
        return _varint(buf, pos, end, value)
    if wire == 1:
        if pos + 8 > end:
            return -1
        value[0] = _u64(buf + pos)
        return pos + 8
    if wire == 5:
        if pos + 4 > end:
            return -1
        value[0] = _u32(buf + pos)
        return pos + 4
    if wire == 2:
        pos = _varint(buf, pos, end, &size)
        if pos < 0 or size > <uint64_t>(end - pos):
            return -1
        value[0] = <uint64_t>pos
        length[0] = <Py_ssize_t>size
        return pos + <Py_ssize_t>size
    return -1


def event_scalars(const uint8_t[::1] buf, const int64_t[::1] starts, const int64_t[::1] lengths):
    """The scalars of the Event messages ``buf[starts[i] : starts[i] + lengths[i]]`` of the
    common shape: wall_time, step and a Summary whose Values each hold a tag and a float
    (``simple_value``, field 2, or MindSpore's ``scalar_value``, field 3).  A record of any
    other shape (a version string, a tensor or metadata in a Value, a repeated or malformed
    field) is listed in ``other`` for the general decoder, with none of its values here.

    Returns ``(wall, step, record, tag, value, tag_start, tag_length, other)``: per record
    its wall time (NaN when absent) and step (0), per value its record, tag number and
    value, per tag number the range of its first occurrence."""
    cdef Py_ssize_t n = starts.shape[0], i, k = 0, mark, total = 0
    for i in range(n):
        total += lengths[i]
    cdef Py_ssize_t cap = total // 9 + 1
    wall_a = np.full(n, np.nan)
    step_a = np.zeros(n, np.int64)
    record_a = np.empty(cap, np.int64)
    tag_a = np.empty(cap, np.int32)
    value_a = np.empty(cap, np.float64)
    other_a = np.empty(n, np.int64)
    cdef double[::1] wall = wall_a
    cdef int64_t[::1] step = step_a
    cdef int64_t[::1] record = record_a
    cdef int32_t[::1] tag = tag_a
    cdef double[::1] value = value_a
    cdef int64_t[::1] other = other_a
    cdef Py_ssize_t n_other = 0
    cdef const uint8_t* b = &buf[0] if buf.shape[0] else NULL
    cdef Py_ssize_t pos, end, spos, send, vpos, vend, p, p_s, length, tag_pos, tag_len
    cdef uint64_t key, field, wire, v, number_bits
    cdef bint bad, seen_wall, seen_step, seen_summary, has_number
    cdef float as_float
    cdef _TagTable table = _TagTable()
    for i in range(n):
        pos = starts[i]
        end = pos + lengths[i]
        mark = k
        bad = seen_wall = seen_step = seen_summary = False
        while pos < end and not bad:
            pos = _varint(b, pos, end, &key)
            if pos < 0:
                bad = True
                break
            field = key >> 3
            wire = key & 7
            p = _skip(b, pos, end, wire, &v, &length)
            if p < 0:
                bad = True
                break
            if field == 1 and wire == 1:
                bad = seen_wall
                seen_wall = True
                memcpy(&wall[i], &v, 8)
            elif field == 2 and wire == 0:
                bad = seen_step
                seen_step = True
                step[i] = <int64_t>v
            elif field == 3 and wire == 2:
                bad = True  # the version record: the general decoder learns the file's kind from it
            elif field == 5 and wire == 2:
                bad = seen_summary
                seen_summary = True
                spos = <Py_ssize_t>v
                send = spos + length
                while spos < send and not bad:
                    spos = _varint(b, spos, send, &key)
                    if spos < 0:
                        bad = True
                        break
                    field = key >> 3
                    wire = key & 7
                    p_s = _skip(b, spos, send, wire, &v, &length)
                    if p_s < 0:
                        bad = True
                        break
                    spos = p_s
                    if field != 1 or wire != 2:
                        continue
                    vpos = <Py_ssize_t>v
                    vend = vpos + length
                    tag_pos = -1
                    tag_len = 0
                    has_number = False
                    while vpos < vend:
                        vpos = _varint(b, vpos, vend, &key)
                        if vpos < 0:
                            bad = True
                            break
                        field = key >> 3
                        wire = key & 7
                        vpos = _skip(b, vpos, vend, wire, &v, &length)
                        if vpos < 0:
                            bad = True
                            break
                        if field == 1 and wire == 2:
                            if tag_pos < 0:
                                tag_pos = <Py_ssize_t>v
                                tag_len = length
                        elif (field == 2 or field == 3) and wire == 5:
                            if has_number:
                                bad = True
                                break
                            has_number = True
                            number_bits = v
                        elif (field == 8 or field == 9) and wire == 2:
                            bad = True  # a tensor or metadata: TensorBoard 2's scalars, the general decoder's
                            break
                    if bad or not has_number or tag_pos < 0:
                        continue
                    if k == cap:  # cannot happen (a value takes 9 bytes at least): the general decoder's then
                        bad = True
                        break
                    as_float = _f32(<uint32_t>number_bits)
                    record[k] = i
                    value[k] = as_float
                    tag[k] = table.intern(b, tag_pos, tag_len)
                    k += 1
            pos = p
        if bad:
            k = mark
            wall[i] = NAN
            step[i] = 0
            other[n_other] = i
            n_other += 1
    tag_start, tag_length = table.ranges()
    return (wall_a, step_a, record_a[:k], tag_a[:k], value_a[:k], tag_start, tag_length, other_a[:n_other])


cdef inline float _f32(uint32_t bits) noexcept nogil:
    cdef float out
    memcpy(&out, &bits, 4)
    return out


cdef class _TagTable:
    """Tag bytes -> a small number, by open addressing on an FNV-1a hash of the bytes."""

    cdef object slots_a, start_a, length_a, hash_a
    cdef int32_t[::1] slots
    cdef int64_t[::1] start
    cdef int64_t[::1] length
    cdef uint64_t[::1] hashes
    cdef Py_ssize_t count

    def __cinit__(self):
        self.count = 0
        self._grow(64)

    cdef void _grow(self, Py_ssize_t capacity):
        old_start, old_length = (self.start_a, self.length_a) if self.count else (None, None)
        self.slots_a = np.full(2 * capacity, -1, np.int32)
        self.slots = self.slots_a
        new_start = np.empty(capacity, np.int64)
        new_length = np.empty(capacity, np.int64)
        new_hash = np.empty(capacity, np.uint64)
        if self.count:
            new_start[: self.count] = old_start[: self.count]
            new_length[: self.count] = old_length[: self.count]
            new_hash[: self.count] = self.hash_a[: self.count]
        self.start_a, self.length_a, self.hash_a = new_start, new_length, new_hash
        self.start, self.length, self.hashes = new_start, new_length, new_hash
        cdef Py_ssize_t t, mask = 2 * capacity - 1, s
        for t in range(self.count):
            s = <Py_ssize_t>(self.hashes[t] & mask)
            while self.slots[s] >= 0:
                s = (s + 1) & mask
            self.slots[s] = <int32_t>t

    cdef int32_t intern(self, const uint8_t* b, Py_ssize_t pos, Py_ssize_t n):
        cdef uint64_t h = FNV_OFFSET
        cdef Py_ssize_t j, mask = self.slots.shape[0] - 1, s
        cdef int32_t t
        for j in range(n):
            h = (h ^ b[pos + j]) * FNV_PRIME
        s = <Py_ssize_t>(h & mask)
        while True:
            t = self.slots[s]
            if t < 0:
                break
            if self.hashes[t] == h and self.length[t] == n and memcmp(b + self.start[t], b + pos, n) == 0:
                return t
            s = (s + 1) & mask
        if self.count == self.start.shape[0]:
            self._grow(2 * self.start.shape[0])
            return self.intern(b, pos, n)
        t = <int32_t>self.count
        self.start[t] = pos
        self.length[t] = n
        self.hashes[t] = h
        self.slots[s] = t
        self.count += 1
        return t

    def ranges(self):
        return self.start_a[: self.count].copy(), self.length_a[: self.count].copy()
