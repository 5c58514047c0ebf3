"""Remote logs: ``s3://`` (AWS S3, Huawei OBS, MinIO, moto) through ``pyarrow.fs.S3FileSystem``.

Why pyarrow and not s3fs: s3fs needs aiobotocore, which pins botocore to a window a few
days wide, so installing it beside anything that wants a newer botocore fails on some
days and not others.  pyarrow is a core dependency already; its S3 client is the AWS C++
SDK, with no Python dependency to fight.  It sits behind fsspec's ``ArrowFSWrapper``,
so the store keeps one interface (``find``, ``info``, ``open``, ``glob``) for every URL;
other protocols (``memory://``, ``gcs://`` with gcsfs installed) still go to fsspec.

Storage options keep the names users already pass (s3fs's: ``key``, ``secret``,
``token``, ``anon``, ``endpoint_url``, ``client_kwargs={"endpoint_url", "region_name"}``);
pyarrow's own names work too.  They travel with every log to the Dask workers, so they
are plain values (they pickle), and ``StorageOptions`` keeps the secret ones out of any
``repr`` -- of a log, a run, a Dask task.  A filesystem is built once per process and
options, with connect and request timeouts so that a hung endpoint fails instead of
waiting forever.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, BinaryIO

from parsers.errors import UnreadableLogError

__all__ = ["RemoteError", "StorageOptions", "filesystem", "reaching", "redact", "s3_arguments"]

S3_PROTOCOLS = ("s3", "s3a")
CONNECT_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 15.0  # no byte for this long ends a request (the SDK's low-speed limit)
MAX_ATTEMPTS = 3
READ_BUFFER = 4 << 20  # a compressed log is read in requests this big, not gzip's 128 KB
_SECRET = re.compile(r"key|secret|token|password|credential", re.IGNORECASE)
_ENV_SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_ALIASES = {  # s3fs / boto names -> pyarrow.fs.S3FileSystem arguments
    "key": "access_key",
    "aws_access_key_id": "access_key",
    "secret": "secret_key",
    "aws_secret_access_key": "secret_key",
    "token": "session_token",
    "aws_session_token": "session_token",
    "anon": "anonymous",
    "region_name": "region",
}
_NATIVE = {
    "access_key", "secret_key", "session_token", "anonymous", "region", "scheme",
    "endpoint_override", "connect_timeout", "request_timeout", "force_virtual_addressing",
    "role_arn", "session_name", "external_id", "proxy_options", "tls_ca_file_path",
}  # fmt: skip
_OURS = {"endpoint_url", "use_ssl", "max_attempts", "client_kwargs"}
_FILESYSTEMS: dict[str, Any] = {}
_HINTS = (
    (("ACCESS_DENIED", "INVALID_ACCESS_KEY_ID", "SIGNATURE_DOES_NOT_MATCH", "EXPIRED_TOKEN"),
     "check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or the storage options)"),
    (("NETWORK_CONNECTION",), "check that the endpoint is right and reachable (--endpoint-url)"),
)  # fmt: skip


class RemoteError(UnreadableLogError):
    """A remote store that cannot be listed or read: unreachable endpoint, bad credential,
    missing bucket, an option the S3 backend does not know."""


class StorageOptions(dict):
    """Storage options whose ``repr`` hides credentials (they pickle as a plain dict would)."""

    def __repr__(self) -> str:
        return repr(_masked(self))


def _masked(options: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: _masked(v) if isinstance(v, Mapping) else "***" if _SECRET.search(k) and v else v
        for k, v in options.items()
    }


def filesystem(url: str, options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for ``url``: pyarrow's S3 for s3://, else fsspec's own."""
    protocol, _, path = url.partition("://")
    if protocol.lower() not in S3_PROTOCOLS:
        from parsers.store._deps import require

        return require("fsspec").core.url_to_fs(url, **dict(options or {}))
    try:
        return _s3(dict(options or {})), path.rstrip("/")
    except RemoteError as exc:  # options it cannot use: say which URL they were for
        raise RemoteError(f"{redact(url, options)}: {exc}") from None


def s3_arguments(options: Mapping[str, Any]) -> dict[str, Any]:
    """``pyarrow.fs.S3FileSystem`` keyword arguments from storage options (s3fs or pyarrow names).

    ``endpoint_url`` (``http://127.0.0.1:9000``, ``https://obs.cn-north-4.myhuaweicloud.com``)
    becomes ``endpoint_override`` plus ``scheme``; anything the backend cannot honour is an
    error naming the option (never its value), rather than being silently ignored.
    """
    flat = {**dict(options.get("client_kwargs") or {}), **options}
    unknown = sorted(k for k in flat if k not in _ALIASES and k not in _NATIVE and k not in _OURS)
    if unknown:
        known = ", ".join(sorted({*_ALIASES, *_NATIVE, *_OURS}))
        raise RemoteError(f"storage option(s) {', '.join(unknown)} not supported for s3:// (known: {known})")
    args = {_ALIASES.get(k, k): v for k, v in flat.items() if k not in _OURS}
    if flat.get("endpoint_url"):
        scheme, _, host = str(flat["endpoint_url"]).rpartition("://")
        args["endpoint_override"] = host.rstrip("/")
        args.setdefault("scheme", scheme or "https")
    if flat.get("use_ssl") is False:
        args.setdefault("scheme", "http")
    args.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    args.setdefault("request_timeout", REQUEST_TIMEOUT_S)
    return args


def _s3(options: dict[str, Any]):
    """The S3 filesystem for these options, built once per process (the SDK client is costly)."""
    args = s3_arguments(options)
    attempts = int(options.get("max_attempts") or MAX_ATTEMPTS)
    cache_key = json.dumps([args, attempts], sort_keys=True, default=str)
    if cache_key not in _FILESYSTEMS:
        import pyarrow.fs as pafs

        try:
            native = pafs.S3FileSystem(**args, retry_strategy=pafs.AwsStandardS3RetryStrategy(attempts))
        except (TypeError, ValueError, OSError) as exc:
            raise RemoteError(f"s3:// options cannot be used: {redact(str(exc), options)}") from None
        _FILESYSTEMS[cache_key] = _wrapper_class()(native, skip_instance_cache=True)
    return _FILESYSTEMS[cache_key]


@functools.cache
def _wrapper_class() -> type:
    """``ArrowFSWrapper`` with the listing calls an object store needs.  Defined on first use:
    fsspec belongs to the ``store`` extra and is imported only when a remote log is read."""
    from parsers.store._deps import require

    arrow = require("fsspec.implementations.arrow")

    class S3Wrapper(arrow.ArrowFSWrapper):
        def find(self, path, maxdepth=None, withdirs=False, detail=False, **kwargs):
            """Everything under ``path`` in one paginated listing (fsspec's default walks folder
            by folder -- a request per folder -- and drops listing errors silently)."""
            return _find(self, path, maxdepth=maxdepth, withdirs=withdirs, detail=detail)

        # fsspec's isdir/isfile answer False on any error, so an unreachable endpoint would
        # read as "no logs found"; these raise it instead.
        def isdir(self, path):
            return _kind(self, path) == "directory"

        def isfile(self, path):
            return _kind(self, path) == "file"

    return S3Wrapper


def _find(fs, path: str, *, maxdepth: int | None, withdirs: bool, detail: bool):
    from pyarrow.fs import FileSelector, FileType

    path = fs._strip_protocol(path).rstrip("/")
    depth = path.count("/")
    found = {}
    for info in fs.fs.get_file_info(FileSelector(path, recursive=True, allow_not_found=True)):
        if info.type is FileType.Directory and not withdirs:
            continue
        if maxdepth is None or info.path.count("/") - depth <= maxdepth:
            found[info.path] = fs._make_entry(info)
    if not found and fs.isfile(path):  # find names a file itself, as fsspec's does
        found[path] = fs.info(path)
    names = sorted(found)
    return {name: found[name] for name in names} if detail else names


def _kind(fs, path: str) -> str | None:
    """'file', 'directory' or None (not there); other failures (network, access) are raised."""
    try:
        return fs.info(path)["type"]
    except FileNotFoundError:
        return None


def buffered(handle: BinaryIO) -> BinaryIO:
    """``handle`` read ``READ_BUFFER`` bytes per request (for gzip, which reads 128 KB at a time)."""
    return io.BufferedReader(handle, buffer_size=READ_BUFFER)  # type: ignore[arg-type]


@contextmanager
def reaching(url: str, options: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Turn a failure to talk to the store behind ``url`` into one ``RemoteError`` line naming
    the URL and the endpoint, without credentials; a missing object stays ``FileNotFoundError``."""
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as exc:
        endpoint = _endpoint(options or {})
        where = f" (endpoint {endpoint})" if endpoint else ""
        detail = redact(str(exc), options)
        raise RemoteError(f"{redact(url, options)}{where}: {detail}{_hint(detail)}") from None


def _hint(detail: str) -> str:
    """What to check, for the failures a user can fix (pyarrow names them in its message)."""
    for words, hint in _HINTS:
        if any(word in detail for word in words):
            return f" -- {hint}"
    return ""


def _endpoint(options: Mapping[str, Any]) -> str | None:
    client = options.get("client_kwargs") or {}
    return options.get("endpoint_url") or client.get("endpoint_url") or options.get("endpoint_override")


def redact(text: str, options: Mapping[str, Any] | None = None) -> str:
    """``text`` on one line with every credential value (options, AWS variables, user:pass@ in a
    URL) replaced by ``***``: what may be printed, stored in a manifest or put in a result row."""
    secrets = [str(v) for v in _secret_values(options or {})]
    secrets += [os.environ[name] for name in _ENV_SECRETS if os.environ.get(name)]
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 4:  # a 1-3 character "secret" would blank out ordinary words
            text = text.replace(secret, "***")
    text = re.sub(r"(://)[^/@\s]+@", r"\1***@", text)
    return " ".join(text.split())


def _secret_values(options: Mapping[str, Any]) -> Iterator[Any]:
    for name, value in options.items():
        if isinstance(value, Mapping):
            yield from _secret_values(value)
        elif _SECRET.search(name) and value:
            yield value
