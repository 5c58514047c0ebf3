"""scikit-learn's handwritten digits, written once as an ImageFolder tree of PNG files.

The default config trains on real images that ship with scikit-learn, so a new user gets a
genuine run (and a genuine log) in minutes without downloading anything. Writing them as an
ImageFolder tree means the digits go through exactly the same validation and
``ImageFolderDataset`` path as a user's own data. No MindSpore needed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from training._optional import require

__all__ = ["write_digits"]

_MAX_PIXEL = 16  # load_digits pixels are 0..16


def write_digits(root: str | Path, *, per_class: int | None = None, classes: int = 10) -> Path:
    """Write the digits under ``root/<digit>/<index>.png`` unless ``root`` already exists.

    The tree is built in a sibling temporary folder and renamed into place, so an
    interrupted write never leaves a half-filled tree that later looks complete. The bytes
    are deterministic. ``per_class``/``classes`` keep only the first images of the first
    digits, for quick smoke runs.
    """
    root = Path(root)
    if root.exists():
        return root
    image_module = require("PIL.Image", purpose="writing the digits", package="Pillow")
    datasets = require("sklearn.datasets", purpose="writing the digits", package="scikit-learn")
    root.parent.mkdir(parents=True, exist_ok=True)
    digits = datasets.load_digits()
    pixels = np.rint(digits.images * (255 / _MAX_PIXEL)).astype(np.uint8)
    tmp = root.with_name(f".{root.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        written: dict[int, int] = {}
        for index, (image, label) in enumerate(zip(pixels, digits.target)):
            label = int(label)
            if label >= classes or written.get(label, 0) == per_class:
                continue
            (tmp / str(label)).mkdir(exist_ok=True)
            image_module.fromarray(image).save(tmp / str(label) / f"{index:04d}.png")
            written[label] = written.get(label, 0) + 1
        os.replace(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root
