"""The dashboard's few file-system touches, each guarded: folder choice, uploads, log context.

A browser user may type any folder name and upload any file name, so every path
is resolved (symlinks followed) and must stay inside the configured runs root;
an upload's name is reduced to safe characters and never overwrites a file.
Log lines are read as text for display only -- nothing here parses them.
No Streamlit import: these are unit-tested directly.
"""

from __future__ import annotations

import io
import itertools
import os
import re
from collections.abc import Iterable
from pathlib import Path

from parsers.errors import LogError, UnreadableLogError
from parsers.source import CUT_HEAD_BYTES, check_inside, open_regular, open_text

__all__ = ["MAX_UPLOAD_MB", "UPLOAD_SUFFIXES", "FolderError", "log_context", "resolve_within", "save_upload"]

# Per file; Streamlit's own limit (server.maxUploadSize in .streamlit/config.toml) is the same.
MAX_UPLOAD_MB = 200
UPLOAD_SUFFIXES = ("log", "txt", "out", "gz")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FolderError(LogError, ValueError):
    """A folder or file name the dashboard refuses; the message is safe to show."""


def resolve_within(root: Path, relative: str) -> Path:
    """``root / relative`` resolved, refused unless it is ``root`` or inside it (no ``..``, no
    absolute path elsewhere, no symlink pointing out)."""
    if "\x00" in relative:  # the OS cannot take it: a message, not a traceback
        raise FolderError(f"{relative!r} is not a folder name (it holds a NUL character)")
    base = root.resolve()
    target = (base / relative.strip()).resolve() if relative.strip() else base
    if target != base and base not in target.parents:
        raise FolderError(f"{relative!r} is outside the runs root {base}")
    if not target.is_dir():
        raise FolderError(f"{relative!r} is not a folder under {base}")
    return target


def _safe_name(name: str) -> str:
    """Letters, digits, ``._-`` only; no leading dot; at most 100 characters."""
    return _UNSAFE.sub("_", name).strip("._")[:100] or "upload"


def save_upload(runs_dir: Path, filename: str, data: bytes, *, run: str | None = None) -> Path:
    """Write an uploaded log as ``<runs_dir>/<run>/<filename>``, a new run folder each time."""
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise FolderError(f"{filename!r} is larger than {MAX_UPLOAD_MB} MB")
    name = _safe_name(Path(filename.replace("\\", "/")).name)  # a name, never a path
    if name.rsplit(".", 1)[-1].lower() not in UPLOAD_SUFFIXES:
        name += ".log"
    folder_name = _safe_name(run or name.split(".")[0])
    runs_dir = runs_dir.resolve()
    for n in itertools.count(1):
        folder = runs_dir / (folder_name if n == 1 else f"{folder_name}-{n}")
        try:
            folder.mkdir(parents=False)
            break
        except FileExistsError:
            continue
    path = folder / name
    with open(path, "xb") as out:
        out.write(data)
    return path


def _open_text(path: Path):
    """The log's text as the parser reads it (gunzipped, UTF-16 decoded); a FIFO or device is
    refused (``UnreadableLogError``), never waited on."""
    raw = open_text(open_regular(path), str(path))
    buffered = raw if isinstance(raw, io.BufferedIOBase) else io.BufferedReader(raw)
    return io.TextIOWrapper(buffered, "utf-8", "replace")


def log_context(
    path: Path, lines: Iterable[int], *, root: Path, before: int = 3, after: int = 3
) -> dict[int, list[tuple[int, str]]]:
    """For each 1-based line number, the lines around it (``before``/``after``), read in one pass.

    ``path`` comes from the store, but the file may have been swapped for a link since the
    store read it: its real path must lie inside the runs ``root``, as every store read's
    must (``parsers.source.check_inside``); the resolved path is what is opened.
    """
    wanted = sorted({int(n) for n in lines})
    if not wanted or not path.is_file():
        return {}
    try:
        check_inside(path, root)
        handle = _open_text(Path(os.path.realpath(path)))
    except UnreadableLogError:  # outside the root, or swapped for something odd: no context
        return {}
    keep = {n for w in wanted for n in range(max(w - before, 1), w + after + 1)}
    text: dict[int, str] = {}
    with handle:
        for number, line in enumerate(itertools.islice(_lines(handle), max(keep)), 1):
            if number in keep:
                text[number] = line.rstrip("\r\n").replace("\x00", "")
    return {w: [(n, text[n]) for n in range(max(w - before, 1), w + after + 1) if n in text] for w in wanted}


def _lines(handle) -> Iterable[str]:
    """The lines of a text handle, each at most ``CUT_HEAD_BYTES`` characters: the rest of a longer
    line is read past, never held (a 50 MB line is one line, as the parser counts it)."""
    while True:
        line = handle.readline(CUT_HEAD_BYTES)
        if not line:
            return
        if not line.endswith(("\n", "\r")):
            while (rest := handle.readline(CUT_HEAD_BYTES)) and not rest.endswith(("\n", "\r")):
                pass
        yield line
