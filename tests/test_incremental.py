"""A log assembled part by part -- cut anywhere, even mid-line -- gives a cold parse's tables.

Library level (``parsers.engine`` through the store's part reader), over every
real log in tests/data, at random cut points and segment sizes; the store-level tests
(``test_store.py``) add the files, locks and manifests on top of this.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parsers.dispatch import Dispatcher
from parsers.engine import Context, ContextChanged, computed_throughput, merge_meta
from parsers.parse import formats_for
from parsers.registry import ordered_patterns
from parsers.schema import conform, empty_table
from parsers.source import open_sources
from parsers.store.segments import read_parts
from tests.conftest import data_logs
from tests.store_helpers import assert_same_meta, cold, complete_prefix, cuts

LOGS = data_logs()


def grow(path: Path, data: bytes, points: list[int], *, segment: int) -> tuple[dict, dict, int, dict]:
    """Feed ``data`` to ``path`` up to each point and read the new part; returns tables, meta,
    restarts and the running figures (``Context.stats``) the store's runs table is made from."""
    src = open_sources(path)[0]
    formats = formats_for([src], None)
    dispatcher = Dispatcher(ordered_patterns(None, formats))
    context, offset, restarts = Context(src.name, src.rank), 0, 0
    tables: dict[str, list] = {"steps": [], "evals": [], "events": []}
    epochs, meta = None, None
    for end in [*points, len(data)]:
        path.write_bytes(data[:end])
        try:
            parts = list(
                read_parts(
                    src,
                    context,
                    start=offset,
                    size=end,
                    formats=formats,
                    dispatcher=dispatcher,
                    segment=segment,
                )
            )
        except ContextChanged as exc:
            restarts += 1
            context, offset, epochs = exc.context.hinted(), 0, None
            tables = {k: [] for k in tables}
            parts = list(  # in parts as small as before: the hints must settle every decision up front
                read_parts(
                    src, context, start=0, size=end, formats=formats, dispatcher=dispatcher, segment=segment
                )
            )
        for part in parts:
            if part.increment is None:
                continue
            for name in tables:
                tables[name].append(getattr(part.increment, name))
            epochs = part.increment.epochs if part.increment.epochs is not None else epochs
            meta, context, offset = part.increment.meta, part.increment.context, part.end
    out = {k: conform(pd.concat(v, ignore_index=True), k) if v else empty_table(k) for k, v in tables.items()}
    out["epochs"] = epochs if epochs is not None else empty_table("epochs")
    meta = merge_meta([meta], [src.rank], None) if meta else {}
    computed_throughput(out["epochs"], meta)
    return out, meta, restarts, context.stats


@pytest.mark.parametrize("log", LOGS, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("seed", [0, 1])
def test_parts_give_the_cold_parse(log: Path, seed: int, tmp_path: Path) -> None:
    data = log.read_bytes()
    if not data.endswith(b"\n"):
        data += b"\n"  # the store never reads a last line without its newline
    points = cuts(len(data), seed=seed, n=3 + seed * 3)
    segment = [1 << 30, 2048][seed]
    path = tmp_path / "grow" / log.name
    path.parent.mkdir()
    path.write_bytes(data[:1])
    got, meta, _, stats = grow(path, data, points, segment=segment)
    expected = cold(complete_prefix(data, len(data)), log.name, tmp_path)
    for name in ("steps", "epochs", "evals", "events"):
        pd.testing.assert_frame_equal(got[name], getattr(expected, name), obj=name)
    assert_same_meta(meta, expected.meta)
    assert _running_figures(stats) == _table_figures(expected)


def _running_figures(stats: dict) -> dict:
    keys = ("first_loss", "last_loss", "min_loss", "n_steps", "max_global_step", "max_step_line")
    return {
        **{k: stats.get(k) for k in keys},
        "last_epoch": (stats.get("last_epoch"), stats.get("last_epoch_step")),
        "event_counts": stats.get("event_counts", {}),
        "bad_event_line": stats.get("bad_event_line"),
        "metrics": {m: (e["n"], e["min"], e["max"], e["last"]) for m, e in stats.get("metrics", {}).items()},
    }


def _table_figures(log) -> dict:
    """What the runs table shows of a log, worked out from its whole tables (the running figures
    are folded part by part and must come out the same)."""
    steps, events, evals = log.steps, log.events, log.evals
    loss = steps["loss"].to_numpy(np.float64)
    finite = loss[np.isfinite(loss)]

    def number(value):
        return None if value is None or pd.isna(value) else float(value)

    def largest(column: pd.Series):
        return None if column.isna().all() else int(column.max())

    epoch = steps["epoch"].dropna()
    last_epoch = int(epoch.max()) if len(epoch) else None
    at_last = steps.loc[steps["epoch"] == last_epoch, "step"] if last_epoch is not None else steps["step"][:0]
    bad = events[events["kind"].isin(["traceback", "error", "interrupt"])]
    return {
        "first_loss": number(loss[0]) if len(steps) else None,
        "last_loss": number(loss[-1]) if len(steps) else None,
        "min_loss": float(finite.min()) if len(finite) else None,
        "n_steps": len(steps) or None,
        "max_global_step": largest(steps["global_step"]) if len(steps) else None,
        "max_step_line": largest(steps["line"]) if len(steps) else None,
        "last_epoch": (last_epoch, largest(at_last) if len(at_last) else None),
        "event_counts": {str(k): int(n) for k, n in events["kind"].value_counts().items()},
        "bad_event_line": int(bad["line"].max()) if len(bad) else None,
        "metrics": {
            str(m): (
                len(g),
                number(g["value"][np.isfinite(g["value"].astype(float))].min()),
                number(g["value"][np.isfinite(g["value"].astype(float))].max()),
                number(g["value"].iloc[-1]),
            )
            for m, g in evals.groupby("metric", sort=False)
        },
    }


def test_a_resumed_epoch_appended_keeps_the_furthest_step_of_the_last_epoch(tmp_path: Path) -> None:
    """A job restarted from a checkpoint appends to its log and prints epoch 3 again from step 1:
    read in two parts (the restart in the second), the running figures still hold epoch 3's
    furthest step (10), as a cold read of the whole file does -- so the store and ``parse-log``
    agree on the epochs done."""
    lines = [f"epoch: {e} step: {s}, loss is {1 / (e * s):.4f}\n" for e in (1, 2, 3) for s in range(1, 11)]
    resumed = [f"epoch: 3 step: {s}, loss is {0.5 / s:.4f}\n" for s in range(1, 5)]
    data = "".join(lines + resumed).encode()
    path = tmp_path / "train.log"
    path.write_bytes(data[:1])
    _, _, _, stats = grow(path, data, [len("".join(lines).encode())], segment=1 << 30)
    assert (stats["last_epoch"], stats["last_epoch_step"]) == (3, 10)
    assert _running_figures(stats) == _table_figures(cold(data, path.name, tmp_path))
