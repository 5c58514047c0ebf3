"""Check an ImageFolder tree before training and split it into train and validation indices.

MindSpore's ``ImageFolderDataset`` takes every sub-folder as a class and every file as an
image, so one stray ``.ipynb_checkpoints`` folder turns 9 classes into 10 and training runs
on, quietly wrong. We scan the tree first and stop with one line naming the offending path.
The scan lists classes and files in the order ``ImageFolderDataset`` uses (sorted class
folders, sorted file names), so split indices computed here address the same samples there.
No MindSpore needed.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

from training.errors import ClassCountError, DatasetError, StrayEntryError

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageFolder",
    "check_class_num",
    "scan_image_folder",
    "split_by_ratio",
]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})


@dataclasses.dataclass(frozen=True)
class ImageFolder:
    """A validated tree: class names (sorted) and, per class, its image file names (sorted)."""

    root: Path
    classes: tuple[str, ...]
    files: tuple[tuple[str, ...], ...]

    @property
    def size(self) -> int:
        return sum(len(names) for names in self.files)

    def class_indexing(self) -> dict[str, int]:
        """Class name -> label, the mapping ``ImageFolderDataset`` would choose itself."""
        return {name: label for label, name in enumerate(self.classes)}


def scan_image_folder(root: str | Path) -> ImageFolder:
    """Validate ``root`` (one folder per class, only images inside) and list its contents."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"image folder not found: {root}")
    classes = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or not entry.is_dir():
            raise StrayEntryError(
                f"stray {'folder' if entry.is_dir() else 'file'} in image folder: {entry} "
                "(only one folder per class is allowed; move it out of the data folder)"
            )
        classes.append(entry)
    if not classes:
        raise DatasetError(f"image folder {root} has no class folders (expected one per class)")
    files = tuple(_scan_class(folder) for folder in classes)
    return ImageFolder(root=root, classes=tuple(p.name for p in classes), files=files)


def _scan_class(folder: Path) -> tuple[str, ...]:
    names = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        is_image = entry.is_file() and entry.suffix.lower() in IMAGE_SUFFIXES
        if entry.name.startswith(".") or not is_image:
            raise StrayEntryError(
                f"stray {'folder' if entry.is_dir() else 'file'} in class folder: {entry} "
                f"(class folders may hold only {'/'.join(sorted(IMAGE_SUFFIXES))} images)"
            )
        names.append(entry.name)
    if not names:
        raise DatasetError(f"class folder has no images: {folder}")
    return tuple(names)


def check_class_num(
    folder: ImageFolder,
    class_num: int,
    *,
    other: ImageFolder | None = None,
) -> None:
    """Raise ClassCountError unless the folders hold exactly ``class_num`` (identical) classes."""
    if len(folder.classes) != class_num:
        raise ClassCountError(
            f"class_num is {class_num} but {folder.root} has {len(folder.classes)} class "
            f"folders ({', '.join(folder.classes)}); fix class_num or the data folder"
        )
    if other is not None and other.classes != folder.classes:
        raise ClassCountError(
            f"class folders differ between {folder.root} ({', '.join(folder.classes)}) "
            f"and {other.root} ({', '.join(other.classes)})"
        )


def split_by_ratio(
    folder: ImageFolder,
    *,
    val_ratio: float,
    seed: int,
) -> tuple[list[int], list[int]]:
    """Stratified (train, val) sample indices: ``val_ratio`` of each class, drawn with ``seed``.

    Stratifying keeps every class in both halves even for small classes; each class with at
    least two images gives at least one to each side.
    """
    rng = random.Random(seed)
    train: list[int] = []
    val: list[int] = []
    start = 0
    for names in folder.files:
        indices = list(range(start, start + len(names)))
        rng.shuffle(indices)
        n_val = min(max(round(len(indices) * val_ratio), 1), len(indices) - 1)
        val += sorted(indices[:n_val])
        train += sorted(indices[n_val:])
        start += len(names)
    return train, val
