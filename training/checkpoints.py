"""Saving, finding and loading checkpoints, with model-zoo file names.

Files are named ``<net_name>-<epoch>_<steps per epoch>.ckpt`` like ``ModelCheckpoint``'s,
but written by our own callback: ``ModelCheckpoint`` prints nothing, and on a resumed run it
renames its prefix to avoid existing files, which would split one run's checkpoints under
two names. ``--pretrained`` loads by name and shape and reports the rest instead of
failing, so a 9-class backbone can start a 2-class model.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import mindspore as ms
from mindspore import nn

from training.errors import CheckpointError

__all__ = [
    "PretrainedReport",
    "checkpoint_path",
    "latest_checkpoint",
    "list_checkpoints",
    "load_pretrained",
    "load_training_state",
]

_SCHEDULE = "learning_rate"  # the optimizer's per-step learning rates, one per step
_NAME = re.compile(r"-(?P<epoch>\d+)_(?P<steps>\d+)\.ckpt\Z")


@dataclasses.dataclass(frozen=True)
class PretrainedReport:
    """What ``--pretrained`` did: parameters loaded, skipped (with reason), ignored entries."""

    path: Path
    loaded: tuple[str, ...]
    skipped: dict[str, str]  # model parameter -> why it kept its initial value
    ignored: tuple[str, ...]  # checkpoint entries with no model parameter of that name

    def summary(self, *, limit: int = 8) -> str:
        """The skipped parameters for the log line, shortened after ``limit`` entries."""
        items = [f"{name}: {reason}" for name, reason in self.skipped.items()]
        if len(items) > limit:
            items = [*items[:limit], f"and {len(items) - limit} more"]
        return "; ".join(items) or "none"


def checkpoint_path(directory: Path, *, prefix: str, epoch: int, steps: int) -> Path:
    return directory / f"{prefix}-{epoch}_{steps}.ckpt"


def list_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """(epoch, path) of every checkpoint in ``directory``, oldest epoch first."""
    if not directory.is_dir():
        return []
    found = [(int(m["epoch"]), p) for p in directory.glob("*.ckpt") if (m := _NAME.search(p.name))]
    return sorted(found)


def latest_checkpoint(directory: Path) -> tuple[int, Path]:
    """The newest checkpoint in ``directory`` and the epoch it completed."""
    found = list_checkpoints(directory)
    if not found:
        raise CheckpointError(f"no checkpoint to resume from in {directory}")
    return found[-1]


def _read(path: Path) -> dict[str, ms.Parameter]:
    if not Path(path).is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        return ms.load_checkpoint(str(path))
    except (ValueError, RuntimeError, OSError) as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc


def load_pretrained(net: nn.Cell, path: Path) -> PretrainedReport:
    """Load every checkpoint parameter whose name and shape match one of ``net``'s."""
    entries = _read(path)
    own = net.parameters_dict()
    loadable, skipped = {}, {}
    for name, param in own.items():
        if name not in entries:
            skipped[name] = "not in checkpoint"
        elif tuple(entries[name].shape) != tuple(param.shape):
            skipped[name] = f"shape {tuple(entries[name].shape)} in checkpoint, {tuple(param.shape)} in model"
        else:
            loadable[name] = entries[name]
    ms.load_param_into_net(net, loadable, strict_load=True)
    ignored = tuple(sorted(set(entries) - set(own)))
    return PretrainedReport(path=Path(path), loaded=tuple(loadable), skipped=skipped, ignored=ignored)


def load_training_state(cells: list[nn.Cell], path: Path) -> None:
    """Restore network and optimizer (moments, ``global_step``) for ``--resume``.

    The optimizer's ``global_step`` indexes the per-step learning rates, so restoring it
    continues the schedule where the checkpoint left it. The saved schedule itself
    (``learning_rate``) is not restored: the one computed from the current config wins, so
    ``--set epoch_size=<more>`` can extend a finished run.
    """
    entries = {k: v for k, v in _read(path).items() if k != _SCHEDULE}
    for cell in cells:
        not_loaded, _ = ms.load_param_into_net(cell, entries, strict_load=True)
        not_loaded = [name for name in not_loaded if name != _SCHEDULE]
        if not_loaded:
            raise CheckpointError(
                f"checkpoint {path} does not match this model: {len(not_loaded)} parameters "
                f"missing (first: {not_loaded[0]}); was it written with another config?"
            )
