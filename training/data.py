"""Resolve a config's data into validated train/val sets, before any training starts.

Everything that can be wrong with the data (missing folder, stray entries, a ``class_num``
that does not match, too few images for one batch) is found here, before a run folder
exists, so a bad dataset costs seconds and leaves nothing behind. No MindSpore needed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from training.config import TrainConfig
from training.digits import write_digits
from training.errors import DatasetError
from training.imagefolder import ImageFolder, check_class_num, scan_image_folder, split_by_ratio

__all__ = ["DIGITS_DIR", "DataPlan", "prepare_data"]

# Where the digits tree goes when the config gives no data_path, relative to --runs-dir.
DIGITS_DIR = Path(".datasets") / "sklearn-digits"


@dataclasses.dataclass(frozen=True)
class DataPlan:
    """Validated folders and, for a ratio split, the sample indices of each side."""

    train: ImageFolder
    val: ImageFolder
    train_indices: list[int] | None  # None: use the whole folder
    val_indices: list[int] | None

    @property
    def train_size(self) -> int:
        return self.train.size if self.train_indices is None else len(self.train_indices)

    @property
    def val_size(self) -> int:
        return self.val.size if self.val_indices is None else len(self.val_indices)

    def describe(self) -> dict[str, Any]:
        """The dataset facts recorded in ``hparams.json``."""
        split_by_folders = self.train_indices is None
        return {
            "dataset_path": str(self.train.root.resolve()),
            "eval_dataset_path": str(self.val.root.resolve()) if split_by_folders else None,
            "split": "folders" if split_by_folders else "ratio",
            "dataset_size": self.train_size + self.val_size,
            "train_size": self.train_size,
            "val_size": self.val_size,
            "class_names": list(self.train.classes),
        }


def prepare_data(config: TrainConfig, *, runs_dir: Path) -> DataPlan:
    """Write the digits if needed, validate the folders and split them."""
    root = Path(config.data_path) if config.data_path else None
    if config.dataset == "digits":
        root = write_digits(root or runs_dir / DIGITS_DIR)
    train = scan_image_folder(root)
    if config.eval_data_path:
        val = scan_image_folder(config.eval_data_path)
        check_class_num(train, config.class_num, other=val)
        plan = DataPlan(train=train, val=val, train_indices=None, val_indices=None)
    else:
        check_class_num(train, config.class_num)
        train_idx, val_idx = split_by_ratio(train, val_ratio=config.val_ratio, seed=config.split_seed)
        plan = DataPlan(train=train, val=train, train_indices=train_idx, val_indices=val_idx)
    if plan.train_size < config.batch_size:
        raise DatasetError(
            f"only {plan.train_size} training images in {train.root}, fewer than one batch "
            f"(batch_size {config.batch_size}); lower batch_size or add images"
        )
    return plan
