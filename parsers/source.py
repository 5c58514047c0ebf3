"""Where log bytes come from: a file, a gzip'd file, a directory of per-rank logs, or text.

Reading is in blocks that end on a line boundary, so a log of any size is parsed
in bounded memory, and a half-written last line can be held back for the next
refresh of a growing log.

Logs are written by many hands, so the bytes are made safe here, before any
pattern sees them, without losing a record:

* a line longer than ``MAX_LINE_BYTES`` (1 MB: a tensor dumped by ``print``, a config
  on one line) is cut: its first ``CUT_HEAD_BYTES`` stay, followed by ``CUT_MARK``, and
  the rest is skipped as it is read (memory stays bounded).  ``parsers.dispatch``
  searches a cut line for events only; otherwise it is counted as a skipped line.
* a lone ``\\r`` (a progress bar redrawn in place) ends a line, as ``\\n`` does;
  ``\\r\\n`` is one line end.
* NUL bytes (what a crashed node leaves where the file system had allocated blocks),
  other control bytes and UTF-8 byte order marks read as spaces: they never hide the
  line they touch, nor make garbage look like a record.
* bytes that are not UTF-8 are kept; patterns see them as U+FFFD.
* a UTF-16 log (with its byte order mark) is decoded to UTF-8, plain or gzip'd.
* a gzip file cut short yields its text up to the cut, then one ``[WARNING]`` line
  saying where the text ends.

Each of these keeps a block's size equal to the bytes it stands for, except a cut
line and UTF-16/gzip (whose offsets are not the file's anyway): ``iter_blocks``
yields each block with the number of source bytes it covers.

Only regular files are opened (a FIFO would wait for a writer, ``/dev/zero`` never
ends); anything else is an ``UnreadableLogError`` saying what the path is.
"""

from __future__ import annotations

import codecs
import errno
import io
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from parsers.errors import EmptyLogError, LogError, UnreadableLogError

__all__ = [
    "BLOCK_SIZE",
    "CUT_HEAD_BYTES",
    "CUT_MARK",
    "LOG_SUFFIXES",
    "MAX_LINE_BYTES",
    "RANK_FOLDER",
    "UTF16_BOMS",
    "LogSource",
    "check_inside",
    "check_text",
    "iter_blocks",
    "looks_like_log",
    "mostly_binary",
    "open_regular",
    "open_sources",
    "open_text",
    "rank_from_name",
    "regular_stat",
]

BLOCK_SIZE = 4 << 20
MAX_LINE_BYTES = 1 << 20  # a longer line is cut: never matched against record patterns
CUT_HEAD_BYTES = 4096  # what is kept of a cut line, searched for events
CUT_MARK = " [epochscope: line cut, longer than 1 MB]"
LOG_SUFFIXES = (".log", ".txt", ".out", ".err", ".gz")
_RANK_IN_NAME = re.compile(r"(?:rank|device|worker|node|card|npu|gpu)[_\-.]?(\d+)", re.IGNORECASE)
# A folder of one device's logs, as distributed launchers name them (``device0/log``,
# ``rank_1/``, ``worker-2/``, ``train_parallel3/``): its logs are a rank of the run above it.
# Not ``gpu0/`` or ``node1/``: people name separate experiments after the card or host they ran on.
RANK_FOLDER = re.compile(r"(?:rank|device|worker|train_parallel)[_\-.]?\d+", re.IGNORECASE)
# Model-zoo launch scripts write each device's output to a file named ``log`` (``> log 2>&1``).
_LOG_NAMES = ("log",)
_GZIP_MAGIC = b"\x1f\x8b"
UTF16_BOMS = {codecs.BOM_UTF16_LE: "utf-16-le", codecs.BOM_UTF16_BE: "utf-16-be"}
_LONE_CR = re.compile(rb"\r(?!\n)")  # one character of lookahead: linear
# NUL and the other control bytes but tab, line ends and ESC (colours) read as spaces: the
# scanner marks numbers in a line's shape with control bytes, and no record holds one.
_CONTROLS = bytes([*range(0, 9), 11, 12, *range(14, 27), *range(28, 32), 127])
_CONTROLS_AS_SPACES = bytes.maketrans(_CONTROLS, b" " * len(_CONTROLS))
_BINARY_SAMPLE = 1 << 20
_BINARY_SHARE = 0.3  # more than this share of a sample not text: binary
_CONTROL_CHAR = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f\ufffd]")


@dataclass(frozen=True)
class LogSource:
    """One log: a display name, the rank it belongs to (if known) and how to open it."""

    name: str
    rank: int | None
    path: Path | None = None
    text: bytes | None = None

    def size_hint(self) -> int:
        """Bytes the source will yield, when cheap to know (plain files and text); else 0."""
        if self.text is not None:
            return len(self.text)
        try:
            with open_regular(self.path) as handle:  # type: ignore[arg-type]
                if handle.read(2) in (_GZIP_MAGIC, *UTF16_BOMS):
                    return 0
                return os.fstat(handle.fileno()).st_size
        except (OSError, UnreadableLogError):
            return 0

    def open(self) -> BinaryIO:
        """The log's text as UTF-8 bytes (decompressed, decoded from UTF-16)."""
        if self.text is not None:
            return open_text(io.BytesIO(self.text), self.name, gunzip=False)  # text given is text
        assert self.path is not None
        return open_text(open_regular(self.path), self.name)


def open_sources(source: str | os.PathLike[str] | bytes) -> list[LogSource]:
    """Resolve what the user passed into a list of logs, failing with a clear message."""
    if isinstance(source, bytes):
        return [LogSource("<text>", None, text=source)]
    if isinstance(source, str) and ("\n" in source or "\r" in source):
        return [LogSource("<text>", None, text=source.encode("utf-8", "surrogateescape"))]
    path = Path(source)
    if path.is_dir():
        return _directory(path)
    _check_file(path)
    return [LogSource(str(path), rank_from_name(path.name), path=path)]


def _directory(path: Path) -> list[LogSource]:
    files = sorted(
        (p for p in path.rglob("*") if looks_like_log(p) and not p.is_dir()),
        key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(p))],
    )
    if not files:
        raise UnreadableLogError(
            f"{path}: directory holds no log files (looked for {', '.join(LOG_SUFFIXES)})"
        )
    ranks = [rank_from_name(str(p.relative_to(path))) for p in files]
    if len(files) > 1 and any(r is None for r in ranks):
        ranks = list(range(len(files)))
    for p in files:
        _check_file(p)
    return [LogSource(str(p), rank, path=p) for p, rank in zip(files, ranks)]


def looks_like_log(path: Path) -> bool:
    """Whether a file in a run folder is a log, by its name (``*.log``, ``*.log.1``, ``log``, ...)."""
    name = path.name.lower()
    return not name.startswith(".") and (
        name.endswith(LOG_SUFFIXES) or name in _LOG_NAMES or re.search(r"\.log\.\d+$", name) is not None
    )


def rank_from_name(name: str) -> int | None:
    """The device rank a log's file name (or path in its folder) says, e.g. ``rank_3.log``."""
    found = _RANK_IN_NAME.findall(name)
    return int(found[-1]) if found else None


# --- opening: regular files only, inside a root ----------------------------------------------

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading if it is a regular file; else ``UnreadableLogError`` naming
    what it is.  Never blocks: a FIFO swapped in after a check is opened non-blocking and refused."""
    regular_stat(path)  # a socket cannot even be opened: say what it is first
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UnreadableLogError(f"{path}: {_os_reason(path, exc)}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnreadableLogError(f"{path}: {_kind(mode)}, not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _kind(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def _os_reason(path: str | os.PathLike[str], exc: OSError) -> str:
    """What an ``OSError`` opening ``path`` means, in words (lower case, one line)."""
    if exc.errno == errno.ELOOP:
        return "symlink loop (a link that leads back to itself)"
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):
            return "missing file (a link to a file that is gone)"
        return "no such file or directory"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EISDIR:
        return "a directory, not a log file"
    return f"cannot read: {(exc.strerror or str(exc)).lower()}"


def check_inside(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> None:
    """``UnreadableLogError`` unless the real path of ``path`` (links followed) is under the real
    path of ``root``: a link in a runs folder never leads a reader outside it."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    if real != base and not real.startswith(base.rstrip(os.sep) + os.sep):
        raise UnreadableLogError(f"{path}: a link leading outside the runs root {base}; not read")


def regular_stat(path: str | os.PathLike[str]) -> os.stat_result:
    """``os.stat(path)`` of a regular file; else ``UnreadableLogError`` saying what the path is."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise UnreadableLogError(f"{path}: {_os_reason(path, exc)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UnreadableLogError(f"{path}: {_kind(st.st_mode)}, not a regular file")
    return st


def _check_file(path: Path) -> None:
    check_text(lambda: open_text(open_regular(path), str(path)), str(path))


def check_text(opener: Callable[[], BinaryIO], name: str) -> None:
    """Fail with a clear message for an empty log or a gzip file broken before its first line
    (binary content is judged after parsing: see ``mostly_binary``)."""
    with opener() as handle:
        try:
            head = handle.read(8192)
        except OSError as exc:
            raise UnreadableLogError(f"{name}: cannot read: {exc}") from None
        cut = getattr(handle, "cut", False)  # None or why: a gzip file
    if cut and b"\n" not in head:
        raise UnreadableLogError(f"{name}: broken gzip file: {cut}")
    if not head:
        raise EmptyLogError(f"{name}: {'file is empty' if cut is False else 'gzip file holds no text'}")


def mostly_binary(opener: Callable[[], BinaryIO]) -> bool:
    """Whether a log's first megabyte is mostly not text: over 30% of it control bytes or
    invalid UTF-8, or most of its lines holding a control byte.  Asked only of a log in which
    no record was found (prose with a NUL run in it is text without records)."""
    try:
        with opener() as handle:
            sample = handle.read(_BINARY_SAMPLE)
    except (OSError, EOFError, zlib.error, LogError):
        return False
    text = sample.decode("utf-8", "replace")
    if not text.strip():
        return bool(text)
    if len(_NOT_TEXT.findall(text)) > _BINARY_SHARE * len(text):
        return True
    lines = [line for line in text.splitlines() if line.strip()]
    return sum(_CONTROL_CHAR.search(line) is not None for line in lines) * 2 > len(lines)


# --- text streams ---------------------------------------------------------------------------


def open_text(handle: BinaryIO, name: str, *, gunzip: bool = True) -> BinaryIO:
    """The UTF-8 text of a raw stream: gunzipped (a cut reported), UTF-16 decoded."""
    head = _peek(handle, 2)
    if gunzip and head == _GZIP_MAGIC:
        handle = _Gunzip(handle, name)  # type: ignore[assignment]
        head = _peek(handle, 2)
    if head in UTF16_BOMS and _looks_utf16(_peek(handle, _UTF16_SAMPLE)[2:], UTF16_BOMS[head]):
        handle.read(2)
        handle = _Transcode(handle, UTF16_BOMS[head])  # type: ignore[assignment]
    return handle


_UTF16_SAMPLE = 4096


def _looks_utf16(sample: bytes, encoding: str) -> bool:
    """Whether the bytes after a UTF-16 byte-order mark are UTF-16 text, not two stray bytes
    before ordinary UTF-8 (a crashed writer's garbage can start with ``FE FF`` as well).  UTF-16
    text holds line ends (``0A 00`` or ``00 0A``) or ASCII's NUL halves; a sample too short to
    hold either is taken at its mark's word."""
    sample = sample[: len(sample) - len(sample) % 2]
    if len(sample) < 8:
        return True
    text = sample.decode(encoding, "replace")
    return "\n" in text or sample.count(0) * 4 >= len(sample)


def _peek(handle: BinaryIO, n: int) -> bytes:
    if hasattr(handle, "peek"):
        return handle.peek(n)[:n]  # type: ignore[attr-defined]
    where = handle.tell()
    head = handle.read(n)
    handle.seek(where)
    return head


class _Decoded(io.RawIOBase):
    """Text made from a raw stream, read forward; ``seek`` skips ahead, or starts over from the
    raw stream's beginning to go back (the store seeks to where a part starts)."""

    def __init__(self, raw: BinaryIO, name: str) -> None:
        self.raw, self.name = raw, name
        self.start = raw.tell() if raw.seekable() else 0
        self.pending = b""
        self.done = False
        self.pos = 0
        self._reset()

    def _reset(self) -> None:  # what a start over resets
        raise NotImplementedError

    def _more(self) -> None:  # append decoded text to ``pending`` or set ``done``
        raise NotImplementedError

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self.raw.seekable()

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer) -> int:
        while not self.pending and not self.done:
            self._more()
        n = min(len(buffer), len(self.pending))
        memoryview(buffer).cast("B")[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        self.pos += n
        return n

    def peek(self, n: int) -> bytes:
        while len(self.pending) < n and not self.done:
            self._more()
        return self.pending[:n]

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self.pos
        elif whence != io.SEEK_SET:
            raise io.UnsupportedOperation("a decoded stream seeks from its start only")
        if offset < self.pos:
            self.raw.seek(self.start)
            self.pending, self.done, self.pos = b"", False, 0
            self._reset()
        scratch = bytearray(1 << 20)
        while self.pos < offset and self.readinto(memoryview(scratch)[: offset - self.pos]):
            pass
        return self.pos

    def close(self) -> None:
        self.raw.close()
        super().close()


class _Gunzip(_Decoded):
    """A gzip stream (any number of members) read with zlib; a cut or corrupt stream ends the
    text where it breaks and sets ``cut`` to why, instead of losing what came before."""

    def _reset(self) -> None:
        self.inflate = zlib.decompressobj(31)
        self.compressed = 0
        self.cut: str | None = None

    def _more(self) -> None:
        data = self.raw.read(1 << 16)
        self.compressed += len(data)
        try:
            self.pending += self.inflate.decompress(data)
            while self.inflate.eof and self.inflate.unused_data:  # the next member
                rest = self.inflate.unused_data
                if not rest.startswith(_GZIP_MAGIC):
                    return self._stop("trailing bytes after the gzip data are not gzip")
                self.inflate = zlib.decompressobj(31)
                self.pending += self.inflate.decompress(rest)
        except zlib.error as exc:
            return self._stop(f"gzip data corrupt after {self.compressed:,} compressed bytes ({exc})")
        if not data:
            self.done = True
            if not self.inflate.eof:
                self._stop(None)

    def _stop(self, why: str | None) -> None:
        self.done = True
        self.cut = why or (
            f"gzip data ends early, after {self.compressed:,} compressed bytes "
            f"({self.pos + len(self.pending):,} bytes of text); the rest of the log is lost"
        )


class _Transcode(_Decoded):
    """UTF-16 text as UTF-8 (undecodable units as U+FFFD)."""

    def __init__(self, raw: BinaryIO, encoding: str) -> None:
        self.encoding = encoding
        super().__init__(raw, getattr(raw, "name", "<log>"))

    def _reset(self) -> None:
        self.decoder = codecs.getincrementaldecoder(self.encoding)("replace")

    def _more(self) -> None:
        data = self.raw.read(1 << 20)
        self.done = not data
        self.pending += self.decoder.decode(data, final=self.done).encode("utf-8", "surrogatepass")

    @property
    def cut(self) -> str | bool | None:
        return getattr(self.raw, "cut", False)


# --- blocks of whole lines ------------------------------------------------------------------


def iter_blocks(
    handle: BinaryIO, *, block_size: int = BLOCK_SIZE, final: bool = True
) -> Iterator[tuple[memoryview, int]]:
    """Blocks of whole, cleaned lines, each with the number of source bytes it stands for.

    Read straight into fresh buffers (no concatenation copies).  The tail without a
    line end is carried into the next block, and yielded last only if ``final`` (a
    growing log's half-written line waits for the next refresh).  Lines longer than
    ``MAX_LINE_BYTES`` are cut as they are read (see the module's docstring).
    """
    carry = b""
    skipping: list | None = None  # [head, source bytes] of a cut line whose end is not read yet
    while True:
        buf = bytearray(len(carry) + block_size)
        buf[: len(carry)] = carry
        try:
            got = handle.readinto(memoryview(buf)[len(carry) :])  # type: ignore[attr-defined]
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableLogError(f"{getattr(handle, 'name', '<log>')}: read failed: {exc}") from None
        if not got:
            break
        total = len(carry) + got
        _clean(buf, len(carry) - carry.endswith(b"\r"), total)
        start, prefix, used = 0, b"", 0
        if skipping is not None:
            end = buf.find(b"\n", 0, total)
            if end < 0:
                skipping[1] += total
                carry = b""
                continue
            prefix, used = skipping[0] + CUT_MARK.encode() + b"\n", skipping[1] + end + 1
            start, skipping = end + 1, None
        stop = buf.rfind(b"\n", start, total) + 1 or start
        carry = bytes(buf[stop:total])
        if len(carry) > MAX_LINE_BYTES:
            skipping, carry = [carry[:CUT_HEAD_BYTES], len(carry)], b""
        block = _cut_long_lines(buf, start, stop)
        if prefix:
            block = memoryview(prefix + bytes(block))
        if len(block):
            yield block, used + stop - start
    if not final:
        carry = b""  # a half-written line waits for the next read
    elif skipping is not None:
        carry = skipping[0] + CUT_MARK.encode()
        yield memoryview(carry), skipping[1]
    elif carry:
        yield memoryview(carry), len(carry)
    cut = getattr(handle, "cut", None)
    if cut:  # one line of its own after the text: the events table says where the text ends
        note = f"[WARNING] epochscope: {getattr(handle, 'name', '<log>')}: {cut}\n"
        yield memoryview(b"\n" * bool(carry) + note.encode()), 0


def _clean(buf: bytearray, lo: int, hi: int) -> None:
    """Make ``buf[lo:hi]`` safe in place, byte for byte: control bytes and UTF-8 BOMs as spaces, a lone
    ``\\r`` as ``\\n`` (a ``\\r`` last in the buffer waits: a ``\\n`` may follow)."""
    lo = max(lo, 0)
    if hi > lo and buf[hi - 1] == 13:
        hi -= 1
    if buf.find(b"\x00", lo, hi) >= 0:
        buf[lo:hi] = _nuls_to_line_end(bytes(buf[lo:hi]))
    buf[lo:hi] = buf[lo:hi].translate(_CONTROLS_AS_SPACES)
    if buf.find(codecs.BOM_UTF8, lo, hi) >= 0:
        buf[lo:hi] = buf[lo:hi].replace(codecs.BOM_UTF8, b"   ")
    crs = buf.count(b"\r", lo, hi)
    if crs and crs != buf.count(b"\r\n", lo, hi):
        buf[lo:hi] = _LONE_CR.sub(b"\n", buf[lo:hi])


def _nuls_to_line_end(chunk: bytes) -> bytes:
    """``chunk`` with its NULs taken out of each line and as many spaces put at the line's end:
    a line glued to a NUL run starts where its text starts (``^Traceback`` still matches)."""
    data = np.frombuffer(chunk, np.uint8)
    nul, newline = data == 0, data == 10
    line = np.cumsum(newline) - newline  # a line's '\n' belongs to it
    counts = np.bincount(line[nul], minlength=int(line[-1]) + 1)
    kept = data[~nul]
    ends = np.append(np.flatnonzero(kept == 10), len(kept))[: len(counts)]
    return np.insert(kept, np.repeat(ends, counts), 32).tobytes()


def _cut_long_lines(buf: bytearray, start: int, stop: int) -> memoryview:
    """``buf[start:stop]`` (whole lines) with every line over ``MAX_LINE_BYTES`` cut.

    A line that long holds a whole aligned window of half the limit without a line
    end, so only such windows are looked at: a few ``find`` calls per block.
    """
    half = MAX_LINE_BYTES // 2
    pieces, last = [], start
    for window in range(start, stop, half):
        if window < last or buf.find(b"\n", window, min(window + half, stop)) >= 0:
            continue
        begin = buf.rfind(b"\n", start, window) + 1 or start
        end = buf.find(b"\n", window, stop)
        if end - begin > MAX_LINE_BYTES:
            pieces += [buf[last:begin], buf[begin : begin + CUT_HEAD_BYTES], CUT_MARK.encode()]
            last = end
    if not pieces:
        return memoryview(buf)[start:stop]
    return memoryview(b"".join([*pieces, buf[last:stop]]))
