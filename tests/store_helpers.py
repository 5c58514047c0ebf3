"""Helpers for the run-store tests: growing logs, and 'same as a cold parse' checks."""

from __future__ import annotations

import math
import random
import shutil
from pathlib import Path

import pandas as pd

import parsers
from parsers.schema import TABLES

META_KEYS = ("formats", "format_records", "total_epochs", "hparams", "framework_version", "device",
             "lines_read", "lines_skipped", "lines_noise", "skipped_examples", "steps_per_epoch",
             "batch_size", "device_num", "ranks")  # fmt: skip


def cuts(size: int, *, seed: int, n: int) -> list[int]:
    """``n`` byte offsets in (0, size), sorted: where a growing log is looked at (mid-line mostly)."""
    rng = random.Random(seed)
    return sorted({rng.randint(1, max(size - 1, 1)) for _ in range(n)})


def complete_prefix(data: bytes, end: int) -> bytes:
    """What a refresh can read of ``data[:end]``: up to the last newline (the half line waits)."""
    return data[: data.rfind(b"\n", 0, end) + 1]


def cold(data: bytes, name: str, tmp: Path) -> parsers.ParsedLog:
    """``parse_log`` of ``data`` saved as a file called ``name`` (file names carry ranks)."""
    folder = tmp / "cold"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)
    return parsers.parse_log(folder / name, strict=False)


def assert_same_tables(store, run: str, expected: parsers.ParsedLog, *, other_process: bool = False) -> None:
    """The store's tables of ``run`` are the cold parse's, row for row.

    ``other_process``: the store was written by another process (a Dask worker).  The
    parser orders the metrics of one eval line by iterating sets of column names, so
    that order follows the process's hash seed; compare those rows by metric name.
    """
    for name in TABLES:
        got, want = store.table(name, [run]).drop(columns="run"), getattr(expected, name)
        if other_process and name == "evals":
            got, want = (
                t.sort_values(["line", "metric"], kind="stable", ignore_index=True) for t in (got, want)
            )
        pd.testing.assert_frame_equal(got, want, obj=f"{run}: {name}")


def assert_same_meta(got: dict, expected: dict) -> None:
    for key in META_KEYS:
        a, b = got.get(key), expected.get(key)
        same = a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
        assert same, f"meta[{key!r}]: store {a!r}, cold parse {b!r}"
