"""Typed errors of the training package, with messages safe to show to users.

The CLI turns any :class:`TrainingError` into ``Error: <message>`` and exit code 2, so each
message names the file, folder or key at fault and says what to change, in one line.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ClassCountError",
    "ConfigError",
    "DatasetError",
    "MissingDependencyError",
    "RunFolderError",
    "StrayEntryError",
    "TrainingError",
]


class TrainingError(Exception):
    """Base of every error the training package raises on purpose."""


class ConfigError(TrainingError):
    """A config file or a ``--set``/``--grid`` override is unreadable, unknown or mistyped."""


class DatasetError(TrainingError):
    """The image folder cannot be used as a classification dataset."""


class StrayEntryError(DatasetError):
    """A file or folder in the data tree that is neither a class folder nor an image.

    The origin story: a ``.ipynb_checkpoints`` folder made a 9-class set look like 10
    classes and silently pinned accuracy at 0.5; we stop before training instead.
    """


class ClassCountError(DatasetError):
    """``class_num`` in the config disagrees with the class folders on disk."""


class CheckpointError(TrainingError):
    """A checkpoint to load (``--pretrained``/``--resume``) is missing or unreadable."""


class RunFolderError(TrainingError):
    """The run folder cannot be created, or is not a run that can be resumed."""


class MissingDependencyError(TrainingError):
    """An optional dependency (MindSpore) is not installed."""
