"""Train MindSpore image classifiers into self-describing run folders.

``python -m training --config training/configs/digits.yaml`` trains the embedded default;
see :mod:`training.cli`. Importing this package, loading configs and validating data need
no MindSpore; :func:`train`, :func:`resume` and :func:`run_sweep` import it when called and
raise :class:`MissingDependencyError` (naming ``pip install epochscope[training]``) if it
is missing.
"""

from __future__ import annotations

from training.config import TrainConfig, load_config
from training.errors import (
    ClassCountError,
    ConfigError,
    DatasetError,
    MissingDependencyError,
    StrayEntryError,
    TrainingError,
)
from training.sweep import run_sweep
from training.trainer import RunResult, resume, train

__all__ = [
    "ClassCountError",
    "ConfigError",
    "DatasetError",
    "MissingDependencyError",
    "RunResult",
    "StrayEntryError",
    "TrainConfig",
    "TrainingError",
    "load_config",
    "resume",
    "run_sweep",
    "train",
]
