"""A run as ``report`` and ``compare`` take it: a log file, or a run folder holding one.

A run folder (what ``python -m training`` writes) holds ``train.log`` and, written
before the first step, ``hparams.json``; with ``--summary``, a ``summary/`` folder of
MindSpore summary files too.  Any other folder is read the way ``parse_log`` reads
folders: every log in it, one per rank.  Summary and TensorBoard event files anywhere
under the folder (or named directly) are read by ``parsers.events``; with a text log
beside them, their rows are joined to the log's on step (``parsers.events.join``).
The hyperparameters are read by the run store's reader (``parsers.store.configs.read_hparams``),
so ``report``, ``compare``, ingest and the dashboard show the same ones: ``hparams.json``
when there is one (it is complete), else a YAML config, else ``config.py`` (read with
``ast``, never run), else what the log printed; nested keys flattened (``optimizer.lr``).
A config that reader refuses is a ``ConfigError`` here, ``PATH not read: REASON`` -- the
dashboard shows the same reason in the run's hyperparameters source.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from parsers.errors import ConfigError
from parsers.parse import ParsedLog, parse_log
from parsers.source import looks_like_log
from parsers.store.configs import NOT_READ, read_hparams
from parsers.store.discover import config_files
from parsers.summary import summarize

__all__ = [
    "RUN_HPARAMS",
    "RUN_LOG",
    "Run",
    "config_problems",
    "folder_hparams",
    "load_run",
    "load_runs",
    "run_names",
]

RUN_LOG = "train.log"
RUN_HPARAMS = "hparams.json"


@dataclass
class Run:
    """One parsed run with the name it is shown under."""

    name: str
    source: Path
    log: ParsedLog
    hparams: dict[str, Any] = field(default_factory=dict)
    hparams_source: str = ""  # the file they came from, ``log`` or ``''`` (as the store says)

    @cached_property
    def summary(self) -> dict[str, Any]:
        """``parsers.summarize`` of the log, computed once."""
        return summarize(self.log)


def load_run(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    formats_file: str | os.PathLike[str] | None = None,
) -> Run:
    """Parse the log of ``path`` (a log, a run folder, or a folder of per-rank logs)."""
    path = Path(path)
    log = _parse(path, format=format, formats_file=formats_file)
    hparams, source = folder_hparams(_run_folder(path), printed=log.meta.get("hparams"))
    from parsers.events.config import with_config, with_log_config

    # total epochs, batch size: never in event files, maybe not in a text log; maybe in the config
    log = (with_config if log.meta.get("event_files") else with_log_config)(log, hparams)
    return Run(name=_name(path), source=path, log=log, hparams=hparams, hparams_source=source)


def folder_hparams(folder: Path | None, *, printed: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    """(hyperparameters, source) of a local run folder (None: a log named on its own) by the one
    reader the store uses; a config it refuses is a ``ConfigError`` naming the file."""
    files = {}
    if folder is not None:
        files = {e.name: (e.stat().st_size, e.stat().st_mtime_ns) for e in os.scandir(folder) if _visible(e)}
    read = lambda name: (folder / name).read_bytes()  # noqa: E731
    hparams, source = read_hparams(config_files(files), read, printed=printed)
    problems = config_problems(source, folder=str(folder or ""))
    if problems:
        raise ConfigError(problems[0])
    return hparams, source


def _run_folder(path: Path) -> Path | None:
    """The run folder whose configs belong to ``path``: itself, or the folder of a ``train.log``
    named directly (the run is named after that folder too); None for any other log file."""
    if path.is_dir():
        return path
    return path.parent if path.name == RUN_LOG else None


def config_problems(source: str, *, folder: str) -> list[str]:
    """``FOLDER/NAME not read: REASON`` for each config file ``read_hparams`` refused (as ``source``
    names them; printed hyperparameters over a cap are left out, the log itself is still read)."""
    parts = [part.split(NOT_READ, 1) for part in source.split("; ") if NOT_READ in part]
    return [f"{os.path.join(folder, name)}{NOT_READ}{why}" for name, why in parts if name != "log"]


def _visible(entry: os.DirEntry) -> bool:
    return not entry.name.startswith(".") and entry.is_file()


def _parse(path: Path, **options: Any) -> ParsedLog:
    """A log, an event file, or a folder of either or both (joined on step)."""
    from parsers.events import event_files, is_event_file, parse_events

    if path.is_file() and is_event_file(path.name):
        return parse_events(path)
    target = path / RUN_LOG if (path / RUN_LOG).is_file() else path
    if not path.is_dir() or not event_files(path):
        return parse_log(target, **options)
    if target == path and not any(looks_like_log(p) for p in path.rglob("*") if p.is_file()):
        return parse_events(path)
    from parsers.events.join import join_logs

    return join_logs(parse_log(target, **options), parse_events(path))


def load_runs(paths: Sequence[str | os.PathLike[str]], **options: Any) -> list[Run]:
    """``load_run`` each path, named by ``run_names``."""
    runs = [load_run(p, **options) for p in paths]
    for run, name in zip(runs, run_names(paths)):
        run.name = name
    return runs


def run_names(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """A short name per path, made unique (``run``, ``run-2``) so legends and folders tell them apart."""
    names, seen = [], {}
    for path in paths:
        name = _name(Path(path))
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return names


def _name(path: Path) -> str:
    """The folder's name for a run folder or ``.../run/train.log``; else the file name without suffixes."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: named as given; reading it says what it is
        resolved = path.absolute()
    if resolved.is_dir():
        return resolved.name
    if resolved.name == RUN_LOG:
        return resolved.parent.name
    return resolved.name.split(".")[0] or resolved.name
