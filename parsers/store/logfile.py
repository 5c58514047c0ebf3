"""A log wherever it lives -- a local file or a URL (see ``remote``) -- and how to tell it changed.

The store recognises a log by a fingerprint of its first bytes plus its location, the
way log shippers such as Vector do: a renamed file keeps its fingerprint, a rotated or
rewritten one gets a new one.  Size and modification time say cheaply whether it
changed at all; a second fingerprint of the bytes just before the last complete line
read proves that what was read is still there, so appending is safe.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from parsers.errors import UnreadableLogError
from parsers.source import UTF16_BOMS, check_text, open_regular, open_text, regular_stat
from parsers.store import remote

__all__ = ["FINGERPRINT_BYTES", "LogFile", "Stat", "mtime_ns"]

FINGERPRINT_BYTES = 1024
TAIL_BYTES = 256
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Stat:
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class LogFile:
    """One log: a local path, or a URL read through fsspec with ``storage_options`` (credentials:
    kept out of ``repr``)."""

    location: str
    storage_options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False, repr=False)

    @property
    def is_local(self) -> bool:
        return "://" not in self.location or self.location.startswith("file://")

    @property
    def path(self) -> Path | None:
        return Path(self.location.removeprefix("file://")) if self.is_local else None

    def filesystem(self):
        """The fsspec filesystem of a remote log (pyarrow's S3 for s3://, see ``remote``)."""
        return remote.filesystem(self.location, self.storage_options)[0]

    def stat(self) -> Stat:
        try:
            if self.is_local:
                st = regular_stat(self.path)  # type: ignore[arg-type]  # a FIFO, device, loop: an error
                return Stat(st.st_size, st.st_mtime_ns)
            info = self.filesystem().info(self.location)
        except FileNotFoundError:
            raise UnreadableLogError(f"{self.location}: no such file") from None
        except OSError as exc:
            raise self._unreadable(exc) from None
        return Stat(int(info.get("size") or 0), mtime_ns(info))

    def open_raw(self) -> BinaryIO:
        """The file's bytes as stored (compressed, for a .gz); a remote one is read in ranged
        requests, each ``read`` fetching only the bytes asked for (an append reads only itself)."""
        try:
            if self.is_local:
                return open_regular(self.path)  # type: ignore[arg-type]
            return self.filesystem().open(self.location, "rb")
        except OSError as exc:
            raise self._unreadable(exc) from None

    def read(self, start: int, length: int) -> bytes:
        try:
            with self.open_raw() as handle:
                handle.seek(start)
                return handle.read(length)
        except OSError as exc:
            raise self._unreadable(exc) from None

    def is_gzip(self) -> bool:
        """Gzip'd or UTF-16: the text is not the file's bytes, so it is read whole each time."""
        return self.read(0, 2) in (_GZIP_MAGIC, *UTF16_BOMS)

    def opener(self, *, gzip_file: bool):
        """A function opening the log's text (decompressed for a .gz, decoded from UTF-16)."""
        if not gzip_file:
            return self.open_raw
        if self.is_local:
            return lambda: open_text(self.open_raw(), self.location)
        return lambda: open_text(remote.buffered(self.open_raw()), self.location)

    def _unreadable(self, exc: OSError) -> UnreadableLogError:
        """The error of a log that cannot be read, its message free of credentials."""
        return UnreadableLogError(
            f"{self.location}: cannot read: {remote.redact(str(exc), self.storage_options)}"
        )

    def fingerprint(self, length: int) -> str:
        return _digest(self.read(0, length))

    def tail_digest(self, offset: int) -> str:
        """Fingerprint of the bytes just before ``offset`` (where the next read starts)."""
        start = max(0, offset - TAIL_BYTES)
        return _digest(self.read(start, offset - start))

    def check_text(self, *, gzip_file: bool) -> None:
        """Fail with a clear message for an empty or broken-gzip log."""
        check_text(self.opener(gzip_file=gzip_file), self.location)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def mtime_ns(info: dict[str, Any]) -> int:
    """Modification time from an fsspec info dict (S3: LastModified; others: mtime/created)."""
    for key in ("mtime", "LastModified", "last_modified", "created", "ETag"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return int(value.timestamp() * 1e9)
        if isinstance(value, (int, float)):
            return int(value * 1e9)
        return int(hashlib.blake2b(str(value).encode(), digest_size=7).hexdigest(), 16)
    return 0
