"""The run folder: where a run's files live and what they are called.

A run folder is self-describing: ``train.log`` (what the job printed), ``hparams.json``
(every hyperparameter plus the environment, written before the first step),
``checkpoints/`` and, once training finishes, ``metrics.json``. Readers need nothing
from this package to use them; this module only names them and writes them safely.
No MindSpore needed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

from training.errors import RunFolderError

__all__ = [
    "CHECKPOINT_DIR",
    "HPARAMS_FILE",
    "LOG_FILE",
    "METRICS_FILE",
    "SUMMARY_DIR",
    "create_run_folder",
    "default_run_name",
    "read_json",
    "safe_name",
    "write_json",
]

LOG_FILE = "train.log"
HPARAMS_FILE = "hparams.json"
METRICS_FILE = "metrics.json"
CHECKPOINT_DIR = "checkpoints"
SUMMARY_DIR = "summary"  # MindSpore summary files, with --summary (SummaryCollector)
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


def default_run_name(config_name: str, started: dt.datetime) -> str:
    """``<config>-<YYYYmmdd-HHMMSS>``: sorts by start time within one config."""
    return safe_name(f"{config_name}-{started:%Y%m%d-%H%M%S}")


def safe_name(text: str) -> str:
    """``text`` with runs of characters that are awkward in folder names replaced by ``_``."""
    return _UNSAFE.sub("_", text)


def create_run_folder(runs_dir: Path, name: str, *, unique: bool) -> Path:
    """Create ``runs_dir/name``; with ``unique``, add ``-2``, ``-3``... instead of failing.

    An explicit ``--name`` that already exists is an error, since writing into it would
    mix two runs in one log; ``--resume`` is the way to continue one.
    """
    runs_dir.mkdir(parents=True, exist_ok=True)
    candidate, number = runs_dir / name, 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            if not unique:
                raise RunFolderError(
                    f"run folder already exists: {candidate} (choose another --name, "
                    "or continue it with --resume)"
                ) from None
        except OSError as exc:
            raise RunFolderError(f"cannot create run folder {candidate}: {exc.strerror}") from exc
        number += 1
        candidate = runs_dir / f"{name}-{number}"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` atomically, so an interrupted run never leaves a truncated file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    """Read a run-folder JSON file, as a RunFolderError if missing or malformed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RunFolderError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise RunFolderError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise RunFolderError(f"{path} must hold a JSON object")
    return data
