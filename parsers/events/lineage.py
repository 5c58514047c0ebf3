"""MindSpore's train lineage: what ``SummaryCollector`` records of a training when it has ended.

Beside its summary file, ``SummaryCollector`` writes a ``*_lineage`` file (same framing: an
``mindspore.irpb.LineageEvent`` per record).  Its ``train_lineage`` record is written by the
callback's ``end``, so its presence says the training ended, and it holds what the summary
file itself never says::

    LineageEvent  6 train_lineage TrainLineage
    TrainLineage  1 hyper_parameters { 4 epoch int32   6 device_num int32   8 batch_size int32 }
                  2 train_dataset    { 2 train_dataset_size int32 }   (batches x batch size)

so the total epochs, the batch size, the devices and the steps per epoch (dataset size over
batch size) of a summary-only run come from here rather than from a config.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from parsers.events.records import frame
from parsers.events.wire import LENGTH, PAD, VARINT, Fields, fields

__all__ = ["LINEAGE_SUFFIX", "lineage_files", "lineage_meta", "lineage_stats", "read_lineage"]

LINEAGE_SUFFIX = "_lineage"
_NAME = ".out.events.summary."
_CAP = 16 << 20  # a lineage file is a few KB; a larger one is not read


def lineage_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The lineage files directly in ``folder``, in name order."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [
        Path(folder, n) for n in names if _NAME in n and n.endswith(LINEAGE_SUFFIX) and not n.startswith(".")
    ]


def read_lineage(path: str | os.PathLike[str]) -> dict[str, int]:
    """What the last ``train_lineage`` record of ``path`` says (empty when it has none or cannot
    be read): ``total_epochs``, ``batch_size``, ``device_num``, ``steps_per_epoch``."""
    try:
        if os.path.getsize(path) > _CAP:
            return {}
        data = Path(path).read_bytes()
    except OSError:
        return {}
    buf = np.frombuffer(data + bytes(PAD), dtype=np.uint8)
    framing = frame(buf[: len(data)], final=True)
    event = fields(buf, framing.starts, framing.starts + framing.lengths, {6})
    train = event.where(6, LENGTH)
    if not len(train):
        return {}
    last = _sub(buf, event, train[-1:], {1, 2})
    out: dict[str, int] = {}
    hyper = _sub(buf, last, last.where(1, LENGTH)[-1:], {4, 6, 8})
    for number, name in ((4, "total_epochs"), (6, "device_num"), (8, "batch_size")):
        out.update(_positive(hyper, number, name))
    dataset = _sub(buf, last, last.where(2, LENGTH)[-1:], {2})
    size = _positive(dataset, 2, "size").get("size")
    if size and out.get("batch_size"):
        out["steps_per_epoch"] = size // out["batch_size"]
    return out


def lineage_meta(folders: list[Path]) -> dict[str, Any]:
    """``{"lineage": {...}}`` for ``meta`` from the lineage files in ``folders`` (the last file
    with a train lineage wins), or {} when there is none."""
    found: dict[str, int] = {}
    for folder in folders:
        for path in lineage_files(folder):
            found = read_lineage(path) or found
    return {"lineage": found} if found else {}


def lineage_stats(folders: list[Path]) -> list[list[Any]]:
    """``[name, size, mtime_ns]`` of each lineage file in ``folders``: what changes when MindSpore
    writes one (a store compares it to know when to look again)."""
    stats = []
    for path in (p for folder in folders for p in lineage_files(folder)):
        try:
            st = path.stat()
        except OSError:
            continue
        stats.append([path.name, st.st_size, st.st_mtime_ns])
    return stats


def _sub(buf: np.ndarray, parent: Fields, rows: np.ndarray, wanted: set[int]) -> Fields:
    starts = parent.value[rows].astype(np.int64)
    return fields(buf, starts, starts + parent.length[rows], wanted)


def _positive(found: Fields, number: int, name: str) -> dict[str, int]:
    sel = found.where(number, VARINT)
    if not len(sel):
        return {}
    value = int(found.value[sel[-1]].astype(np.int64))
    return {name: value} if value > 0 else {}
