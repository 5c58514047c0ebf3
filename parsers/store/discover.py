"""Finding runs: any folder holding a log is a run; its logs are its ranks.

A folder's logs are the files ``parse_log`` would read from it (``*.log``, ``*.txt``,
``*.out``, ``*.err``, ``*.gz``, ``*.log.N``, a file named ``log``; hidden files never),
taken from that folder only -- a subfolder with logs is a run of its own, except a rank
folder: ``device0/``, ``rank_1/``, ``worker-2/``, ``train_parallel3/`` (what the model zoo's
``run_distribute_train.sh``, msrun and ModelArts write, one per device) belongs to the run
of the folder above it, or above a ``log/``/``logs/`` folder holding it (``RUN/log/rank_1/``
is run ``RUN``), and its logs are that run's ranks (``gather_rank_folders``).  Ranks come
from the file names or paths in the run (``rank_3.log``, ``device3/log``) or, when several
logs do not all name one, from their order, exactly as ``parse_log(folder)`` assigns them.
Hidden folders (the store itself, ``.git``) are skipped.  Summary and TensorBoard event
files are logs of their folder's run too; a folder holding only those (``summary/`` beside
a ``train.log``) belongs to the run of the folder above when that one has a text log
(``parsers.store.events.attach_event_folders``).
Works on a local folder or a URL (``s3://bucket/prefix``, see ``remote``).
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from parsers.events import is_event_file
from parsers.source import RANK_FOLDER, check_inside, looks_like_log, open_regular, rank_from_name
from parsers.store import remote
from parsers.store.configs import CONFIG_BYTES
from parsers.store.entry import LogSpec
from parsers.store.events import attach_event_folders
from parsers.store.logfile import mtime_ns

__all__ = [
    "CONFIG_NAMES",
    "RunSpec",
    "config_files",
    "discover_local",
    "discover_remote",
    "file_runs",
    "gather_rank_folders",
    "read_config",
    "run_spec",
]

CONFIG_NAMES = ("hparams.json", "config.py")
_CONFIG_SUFFIXES = (".yaml", ".yml")
_LOG_FOLDERS = ("log", "logs")  # a folder of rank folders inside a run: RUN/log/rank_1/


@dataclass
class RunSpec:
    """A run: its name (folder relative to the root, '.' for the root), folder, logs, config files."""

    name: str
    folder: str
    logs: list[LogSpec]
    configs: dict[str, tuple[int, int]] = field(default_factory=dict)  # file name -> (size, mtime_ns)
    log_stats: dict[str, tuple[int, int]] = field(default_factory=dict)  # as found, to skip unchanged logs
    storage_options: dict[str, Any] = field(default_factory=dict, repr=False)  # may hold credentials
    root: str = ""  # the folder or URL the run was found under (runs gone from it are pruned)
    confine: str = ""  # a local runs root every file read must really be under ("": files named explicitly)


def _natural(text: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def run_spec(
    name: str,
    folder: str,
    files: dict[str, tuple[int, int]],
    *,
    join,
    storage_options=None,
    root: str = "",
    confine: str = "",
) -> RunSpec | None:
    """The run of one folder from its files (name -> (size, mtime_ns)), or None if it holds no log.

    ``confine``: the local runs root whose real path every log and config must stay under.
    """
    logs = sorted((n for n in files if looks_like_log(Path(n)) and not is_event_file(n)), key=_natural)
    events = sorted(n for n in files if is_event_file(n))
    if not logs and not events:
        return None
    ranks = _ranks(logs)
    options = remote.StorageOptions(storage_options or {})  # one copy per run, its secrets out of repr
    specs = [LogSpec(join(folder, n), name, n, rank, options, confine) for n, rank in zip(logs, ranks)]
    specs += [LogSpec(join(folder, n), name, n, None, options, confine) for n in events]
    stats = {n: files[n] for n in [*logs, *events]}
    return RunSpec(name, folder, specs, config_files(files), stats, options, root, confine)


def _ranks(logs: list[str]) -> list[int | None]:
    """Each log's rank from its name or path in the run; by order when several do not all say one
    (``parse_log(folder)``'s rule)."""
    ranks = [rank_from_name(n) for n in logs]
    if len(logs) > 1 and any(r is None for r in ranks):
        ranks = list(range(len(logs)))
    return ranks


def gather_rank_folders(
    runs: list[RunSpec], configs: dict[str, dict[str, tuple[int, int]]] | None = None
) -> list[RunSpec]:
    """Runs with each rank folder's logs moved into the run of the folder holding it (see the
    module docstring): ``RUN/device0/log`` and ``RUN/device1/log`` are one run ``RUN`` of two
    ranks, not two runs.  The run keeps its folder's configs (``configs``: config files per
    folder name, for a folder that holds no log itself), else takes the first rank folder's."""
    by_name = {run.name: run for run in runs}
    hosts: dict[str, list[tuple[str, RunSpec]]] = {}
    for run in runs:
        host, prefix = _rank_host(run.name)
        if host is not None:
            hosts.setdefault(host, []).append((prefix, run))
    if not hosts:
        return runs
    moved = {id(run) for members in hosts.values() for _, run in members}
    kept = [run for run in runs if id(run) not in moved]
    for host_name, members in hosts.items():
        host = by_name.get(host_name)
        if host is None or id(host) in moved:
            prefix, first = members[0]
            own = dict((configs or {}).get(host_name, {}))
            host = RunSpec(host_name, _folder_above(first.folder, prefix), [], own, {},
                           first.storage_options, first.root, first.confine)  # fmt: skip
            kept.append(host)
        for prefix, run in members:
            host.logs += [dataclasses.replace(s, run=host_name, log=f"{prefix}/{s.log}") for s in run.logs]
            host.log_stats.update({f"{prefix}/{n}": stat for n, stat in run.log_stats.items()})
            if not host.configs:
                host.configs = {f"{prefix}/{n}": stat for n, stat in run.configs.items()}
        text = [s for s in host.logs if not is_event_file(s.log)]
        text.sort(key=lambda s: _natural(s.log))
        ranked = [dataclasses.replace(s, rank=r) for s, r in zip(text, _ranks([s.log for s in text]))]
        host.logs = ranked + [s for s in host.logs if is_event_file(s.log)]
    return sorted(kept, key=lambda r: _natural(r.name))


def _rank_host(name: str) -> tuple[str | None, str]:
    """(the run a rank folder's logs belong to, the folder's path in that run); (None, "") for a
    folder that is not a rank folder."""
    if name == "." or not RANK_FOLDER.fullmatch(posixpath.basename(name)):
        return None, ""
    host, prefix = posixpath.dirname(name) or ".", posixpath.basename(name)
    if host != "." and posixpath.basename(host).lower() in _LOG_FOLDERS:
        host, prefix = posixpath.dirname(host) or ".", f"{posixpath.basename(host)}/{prefix}"
    return host, prefix


def _folder_above(folder: str, prefix: str) -> str:
    """The folder (path or URL) that holds ``prefix`` (``device0`` or ``log/rank_1``) of ``folder``."""
    sep = "/" if "://" in folder else os.sep
    for _ in prefix.split("/"):
        folder = folder.rstrip(sep).rsplit(sep, 1)[0]
    return folder


def config_files(files: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The config files among a folder's files (hparams.json, config.py, *.yaml, *.yml)."""
    return {n: files[n] for n in files if n in CONFIG_NAMES or n.lower().endswith(_CONFIG_SUFFIXES)}


def discover_local(root: Path, *, skip: Path | None = None) -> list[RunSpec]:
    """Runs under a local folder (recursively), in name order.

    Folders are entered, never folder links; a file that is not a regular file or a link
    that goes nowhere is still listed (its run gets an error row saying what it is), and
    every file is read later only if its real path is under the root's (``confine``).
    """
    root = Path(root)
    real_root = os.path.realpath(root)
    runs = []
    skip_resolved = skip.resolve() if skip is not None else None
    configs: dict[str, dict[str, tuple[int, int]]] = {}
    stack = [root]
    while stack:
        folder = stack.pop()
        files: dict[str, tuple[int, int]] = {}
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if skip_resolved is None or Path(entry.path).resolve() != skip_resolved:
                        stack.append(Path(entry.path))
                else:
                    files[entry.name] = _entry_stat(entry)
            except OSError:
                continue
        rel = folder.relative_to(root).as_posix()
        configs[rel] = config_files(files)
        spec = run_spec(
            rel, str(folder), files, join=os.path.join, root=str(root.resolve()), confine=real_root
        )
        if spec is not None:
            runs.append(spec)
    return gather_rank_folders(attach_event_folders(sorted(runs, key=lambda r: _natural(r.name))), configs)


def discover_remote(url: str, *, storage_options: dict[str, Any] | None = None) -> list[RunSpec]:
    """Runs under an fsspec URL prefix (``s3://bucket/runs``), named relative to it."""
    fs, base = remote.filesystem(url, storage_options)
    protocol = url.split("://", 1)[0]
    base = base.rstrip("/")
    folders: dict[str, dict[str, tuple[int, int]]] = {}
    for path, info in fs.find(base, detail=True).items():
        pure = PurePosixPath(path)
        rel = pure.relative_to(base) if path.startswith(base + "/") else PurePosixPath(pure.name)
        if info.get("type") == "directory" or any(part.startswith(".") for part in rel.parts):
            continue
        folders.setdefault(str(pure.parent), {})[pure.name] = (int(info.get("size") or 0), mtime_ns(info))
    runs, configs = [], {}
    for folder, files in folders.items():
        rel = PurePosixPath(folder).relative_to(base).as_posix() if folder != base else "."
        configs[rel] = config_files(files)
        spec = run_spec(
            rel, f"{protocol}://{folder}", files, join=_join_url, storage_options=storage_options, root=url
        )
        if spec is not None:
            runs.append(spec)
    return gather_rank_folders(attach_event_folders(sorted(runs, key=lambda r: _natural(r.name))), configs)


def file_runs(paths: list[str], *, storage_options: dict[str, Any] | None = None, root: str) -> list[RunSpec]:
    """Runs of explicitly named log files (paths or URLs): one per folder, named relative to their
    common parent (a single folder: its own name)."""
    remote = bool(paths) and "://" in paths[0]
    sep = posixpath if remote else os.path
    by_folder: dict[str, dict[str, tuple[int, int]]] = {}
    for path in paths:
        by_folder.setdefault(sep.dirname(path), {})[sep.basename(path)] = _stat(path, storage_options)
    folders = sorted(by_folder)
    base = sep.commonpath(folders) if len(folders) > 1 else sep.dirname(folders[0]) if folders else ""
    runs = []
    for folder in folders:
        name = sep.relpath(folder, base) if not remote else PurePosixPath(folder).relative_to(base).as_posix()
        spec = run_spec(
            name if name != "." else sep.basename(folder),
            folder,
            by_folder[folder],
            join=_join_url if remote else os.path.join,
            storage_options=storage_options,
            root=root,
        )
        if spec is not None:
            runs.append(spec)
    return runs


def _entry_stat(entry: os.DirEntry) -> tuple[int, int]:
    """(size, mtime_ns) of a file, links followed; (-1, -1) for a link that leads nowhere."""
    try:
        st = entry.stat()
    except OSError:  # a dangling link or a link loop: the refresh says which
        return -1, -1
    return st.st_size, st.st_mtime_ns


def read_config(run: RunSpec, name: str) -> bytes:
    """A config file beside a run's logs (hparams.json, a YAML file, config.py), local or remote.

    A local one is read only if it is a regular file (a FIFO would block) whose real path
    is under the runs root (a link to another team's secrets is not followed out).
    """
    if "://" not in run.folder:
        path = Path(run.folder, name)
        if run.confine:
            check_inside(path, run.confine)
        with open_regular(path) as handle:
            return handle.read(CONFIG_BYTES + 1)
    fs, path = remote.filesystem(_join_url(run.folder, name), run.storage_options)
    return fs.cat_file(path)


def _stat(path: str, storage_options: dict[str, Any] | None) -> tuple[int, int]:
    if "://" not in path:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns
    fs, inner = remote.filesystem(path, storage_options)
    info = fs.info(inner)
    return int(info.get("size") or 0), mtime_ns(info)


def _join_url(folder: str, name: str) -> str:
    return f"{folder.rstrip('/')}/{name}"
