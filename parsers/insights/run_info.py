"""Hyperparameters apart from run information: which keys of a run's ``hparams`` are not choices.

A run folder's ``hparams.json`` (``training/`` writes one) records the configuration and, next
to it, facts about the run: its name and start time, the command line, library versions,
paths, the device, the sweep it belongs to (``sweep.name``, ``sweep.point.*``: copies of the
keys it varies) and figures derived from the data (``steps_per_epoch``, ``train_size``).
Compared as hyperparameters, those make every run look different.  ``is_run_info`` says which
keys are information (by name: the rule table below, checked on the whole dotted key and on
its last part), ``split_run_info`` cuts a ``RunStore.hparams()`` frame in two.

    hyper, info = split_run_info(store.hparams())
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["NESTED_PATTERNS", "RUN_INFO_PATTERNS", "is_run_info", "split_run_info"]

# Full-match patterns (case-insensitive) over a key and over the first part of a dotted key
# (``sweep.point.lr`` is the sweep's): a run's name, times, command line, versions, paths,
# device, sweep and figures derived from its data.
RUN_INFO_PATTERNS = (
    r"(run|config|experiment|job|task|exp)_?name|name|run_?id|job_?id",
    r".*_(time|date|timestamp)|time|date|timestamp|started|finished|resumes",
    r"command(_line)?|cmd|argv|entry_?point|script",
    r".*_version|version|git_.*|commit|hostname|host|user",
    r".*_(path|dir|file|url|root)|path|dir|root|output|pretrained",
    r"device(_.*)?|.*_device|devices|world_size|rank(_.*)?|local_rank|nproc.*|gpus?|npus?",
    r"sweep",
    r"steps_per_epoch|dataset_size|train_size|val_size|eval_size|test_size|class_names|split",
)
# Over the last part of a nested key (``env.torch_version``, ``data.train_dir``) only what its
# suffix says: ``optimizer.name`` is a choice.
NESTED_PATTERNS = (r".*_(time|date|timestamp|version|path|dir|file|url|root)",)
_INFO = re.compile("|".join(f"(?:{p})" for p in RUN_INFO_PATTERNS), re.IGNORECASE)
_NESTED = re.compile("|".join(f"(?:{p})" for p in NESTED_PATTERNS), re.IGNORECASE)


def is_run_info(key: str) -> bool:
    """Whether ``key`` (``sweep.point.lr_max``, ``start_time``...) is run information, not a choice."""
    parts = key.split(".")
    return bool(_INFO.fullmatch(key) or _INFO.fullmatch(parts[0]) or _NESTED.fullmatch(parts[-1]))


def split_run_info(hparams: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(hyperparameters, run information)`` of a ``run`` + one-column-per-key frame; ``run`` in both."""
    info = [c for c in hparams.columns if c != "run" and is_run_info(str(c))]
    hyper = [c for c in hparams.columns if c != "run" and c not in info]
    return hparams[["run", *hyper]], hparams[["run", *info]]
