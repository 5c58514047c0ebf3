"""A folder of many small logs is parsed in one batch with exactly the tables of one log at a time.

``parse_log(folder)`` reads each file as a rank of one run.  Each log's decisions are its
own, but its rows are piled up and the tables (the epochs table included) are built once
for all logs, 64 logs at a time (``parsers.engine.assembly.assemble``).  The folder here is
made of windows of the real logs in ``tests/data`` -- every family, a window from each log's
head, middle and end -- so the small logs are as varied as the real ones (evals, events,
epoch records, step times, generic records, epoch bases), and several folds of them.  The reference is the engine's one-part path
(``assemble_increment``, what the store runs per log), tables joined as ``parse_log`` joined
them before batching, and ``parse_log`` of each file alone.
"""

from __future__ import annotations

import pandas as pd
import pytest

import parsers
from parsers.dispatch import Dispatcher
from parsers.engine import Context, assemble_increment
from parsers.engine.meta import computed_throughput, merge_meta
from parsers.parse import TABLE_NAMES, formats_for, parse_source
from parsers.registry import ordered_patterns
from parsers.schema import conform, empty_table
from parsers.source import UTF16_BOMS, open_sources
from tests.conftest import DATA

WINDOW = 25  # lines per small log


def windows(text: bytes) -> list[bytes]:
    """The first ``WINDOW`` lines of a log, ``WINDOW`` lines from its middle and its last ones."""
    lines = text.splitlines(keepends=True)
    middle = max(len(lines) // 2 - WINDOW // 2, 0)
    return [b"".join(part) for part in (lines[:WINDOW], lines[middle : middle + WINDOW], lines[-WINDOW:])]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("many") / "job"
    out.mkdir()
    rank = 0
    for log in sorted(DATA.glob("*/*.log")):
        text = log.read_bytes()
        if text[:2] in UTF16_BOMS:  # a window of UTF-16 bytes would not be text
            continue
        for window in windows(text):
            if window.strip():
                (out / f"rank_{rank}.log").write_bytes(window)
                rank += 1
    assert rank > 250  # rows are folded 64 logs at a time: several folds
    return out


def one_log_at_a_time(folder) -> parsers.ParsedLog:
    """The folder's tables as ``parse_log`` built them before batching: each log assembled alone,
    its tables conformed, then joined."""
    sources = open_sources(folder)
    formats = formats_for(sources, None)
    dispatcher = Dispatcher(ordered_patterns(None, formats))
    parts, ranks = [], []
    for src in sources:
        raw = parse_source(src, dispatcher)
        parts.append(assemble_increment(raw, Context(raw.name, raw.rank), formats, stats=False))
        ranks.append(raw.rank)
    tables = {}
    for name in TABLE_NAMES:
        frames = [empty_table(name) if getattr(p, name) is None else getattr(p, name) for p in parts]
        tables[name] = conform(pd.concat(frames, ignore_index=True), name)
    meta = merge_meta([p.meta for p in parts], ranks, None)
    computed_throughput(tables["epochs"], meta)
    return parsers.ParsedLog(**tables, meta=meta)


def test_the_batch_gives_the_tables_and_meta_of_one_log_at_a_time(folder):
    batched = parsers.parse_log(folder, strict=False)
    reference = one_log_at_a_time(folder)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(getattr(batched, name), getattr(reference, name), obj=name)
    assert batched.meta == reference.meta
    assert len(batched.steps) > 1000 and batched.epochs["rank"].nunique() > 64 and len(batched.evals) > 20
    assert len(batched.events) > 20 and batched.steps["rank"].nunique() > 100


def test_each_log_of_the_folder_has_the_rows_it_has_alone(folder):
    """What a user checks: the folder's rows are ``parse_log(rank_N.log)``'s, log after log
    (the epochs' throughput, computed from all the folder's devices, aside)."""
    batched = parsers.parse_log(folder, strict=False)
    alone = [parsers.parse_log(src.path, strict=False) for src in open_sources(folder)]
    for name in ("steps", "evals", "events"):
        expected = conform(pd.concat([getattr(log, name) for log in alone], ignore_index=True), name)
        pd.testing.assert_frame_equal(getattr(batched, name), expected, obj=name)
    epochs = conform(pd.concat([log.epochs for log in alone], ignore_index=True), "epochs")
    same = [c for c in epochs.columns if not c.startswith("samples_per_sec")]
    pd.testing.assert_frame_equal(batched.epochs[same], epochs[same], obj="epochs")
