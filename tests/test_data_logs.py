"""Every real log in tests/data parses to what a person counting its lines finds.

Each ``<name>.log`` has a ``<name>.expect.toml`` written by hand from the log (see
the folder's SOURCES.md for where the lines were published); adding a log and its
expectations adds a test.  Besides counts and first/last loss, a file pins, where the
log prints them: ``epoch_times`` (epochs-table rows with an epoch time),
``first_epoch_time_ms``, ``first_samples_per_sec``, ``step_times`` (steps with a step time),
``first_step_time_ms`` and ``last_step_time_ms`` (by line), ``eval_metrics`` (names as the
parser names them), ``[eval_value]`` (metric, epoch, value; no epoch where the text
does not say one), ``total_epochs``, ``last_global_step`` (of the last step record,
worked out from the text) and ``steps_per_epoch`` (the ``meta`` figure the global step and the
ETA are worked out from; pinned where the text states or implies it).  A key the parser gets wrong keeps the log's value and
carries a ``# parser disagrees: ...`` comment: its test fails until the parser is fixed.

A log whose layout no built-in format reads yet (issue 11's general line grammar) carries a top-level
``known_gap = "<what the parser gets wrong>"``: its count and figure tests are strict xfails, so the day the
parser reads it right they XPASS, fail, and the marker has to go.  ``known_gap_tests`` (a subset of
``["counts", "figures"]``, both by default) names the tests the gap breaks when only one of them does.
The schema test always runs: a crash or a schema violation on any log is a bug, never a known gap.
A figure the text does not determine (the global step when steps per epoch are never printed) is listed in
``unpinned`` instead of being guessed.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import parsers
from parsers.schema import TABLES
from tests.conftest import data_logs

LOGS = data_logs()
GAP_TESTS = ("counts", "figures")


def _expected(log: Path) -> dict:
    return tomllib.loads(log.with_suffix(".expect.toml").read_text())


def _known_gap_params(test: str) -> list:
    """``LOGS`` as parameters; a log with a ``known_gap`` that breaks ``test`` is a strict xfail there."""
    params = []
    for log in LOGS:
        want = _expected(log)
        marks = []
        if "known_gap" in want:
            broken = want.get("known_gap_tests", list(GAP_TESTS))
            assert set(broken) <= set(GAP_TESTS), f"{log}: known_gap_tests must name {GAP_TESTS}"
            if test in broken:
                marks.append(pytest.mark.xfail(strict=True, reason=want["known_gap"]))
        params.append(pytest.param(log, marks=marks, id=f"{log.parent.name}/{log.name}"))
    return params


@pytest.mark.parametrize("log", _known_gap_params("counts"))
def test_counts_match_the_log(log: Path) -> None:
    want = _expected(log)
    parsed = parsers.parse_log(log, strict=False)
    nan_events = int((parsed.events["kind"] == "nan").sum())
    got = {
        "steps": len(parsed.steps),
        "epochs": len(parsed.epochs),
        "evals": len(parsed.evals),
        "nan_events": nan_events,
        "total_epochs": parsed.meta["total_epochs"],
    }
    for key in ("steps", "epochs", "evals", "nan_events", "total_epochs"):
        if key in want:
            assert got[key] == want[key], f"{key}: log says {want[key]}, parsed {got[key]}"
    losses = parsed.steps["loss"].to_numpy(dtype=float)
    for key, index in (("first_loss", 0), ("last_loss", -1)):
        if key in want:
            expected = float(want[key])
            value = losses[index]
            assert (math.isnan(expected) and math.isnan(value)) or value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("log", LOGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_tables_follow_the_schema(log: Path) -> None:
    parsed = parsers.parse_log(log, strict=False)
    for name, columns in TABLES.items():
        table = getattr(parsed, name)
        assert list(table.columns) == list(columns), name
        assert {c: str(t) for c, t in table.dtypes.items()} == columns, name
    lines = parsed.meta["lines_read"]
    for table in parsed.tables().values():
        if len(table):
            assert table["line"].between(1, lines).all()
    steps = parsed.steps
    if len(steps) and steps["epoch"].notna().all():
        assert (steps["epoch"] >= 1).all()


def _close(value: float, expected: float) -> bool:
    return (math.isnan(expected) and math.isnan(value)) or value == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("log", _known_gap_params("figures"))
def test_figures_match_the_log(log: Path) -> None:
    """Epoch times, throughput, eval metrics and the last global step, as a person reads them."""
    want = _expected(log)
    parsed = parsers.parse_log(log, strict=False)
    timed = parsed.epochs[parsed.epochs["epoch_time_ms"].notna()].sort_values("line", kind="stable")
    if "epoch_times" in want:
        assert len(timed) == want["epoch_times"], (
            f"epoch times: log has {want['epoch_times']}, parsed {len(timed)}"
        )
    if "first_epoch_time_ms" in want:
        assert len(timed), "no epoch time parsed"
        first = float(timed["epoch_time_ms"].iloc[0])
        assert _close(first, want["first_epoch_time_ms"]), f"first epoch time: {first} ms"
    if "first_samples_per_sec" in want:
        rated = parsed.epochs.dropna(subset=["samples_per_sec"]).sort_values("line", kind="stable")
        assert len(rated), "no throughput parsed"
        first = float(rated["samples_per_sec"].iloc[0])
        assert _close(first, want["first_samples_per_sec"]), f"first throughput: {first} samples/s"
    timed_steps = parsed.steps.dropna(subset=["step_time_ms"]).sort_values("line", kind="stable")
    if "step_times" in want:
        assert len(timed_steps) == want["step_times"], f"step times: parsed {len(timed_steps)}"
    for key, index in (("first_step_time_ms", 0), ("last_step_time_ms", -1)):
        if key in want:
            got = float(timed_steps["step_time_ms"].iloc[index])
            assert _close(got, want[key]), f"{key}: log says {want[key]}, parsed {got}"
    evals = parsed.evals
    if "eval_metrics" in want:
        metrics = sorted(set(evals["metric"]))
        assert metrics == sorted(want["eval_metrics"]), f"eval metrics: parsed {metrics}"
    if "eval_value" in want:
        spec = want["eval_value"]
        rows = evals[evals["metric"] == spec["metric"]]
        if "epoch" in spec:
            rows = rows[rows["epoch"] == spec["epoch"]]
            assert len(rows), f"no {spec['metric']} in epoch {spec['epoch']}: {evals.to_dict('records')}"
            values = rows["value"].to_numpy(dtype=float)
            assert all(_close(v, spec["value"]) for v in values), f"{spec['metric']}: {values}"
        else:
            values = rows["value"].to_numpy(dtype=float)
            assert any(_close(v, spec["value"]) for v in values), f"{spec['metric']}: {values}"
    if "steps_per_epoch" in want:
        got = parsed.meta.get("steps_per_epoch")
        assert got == want["steps_per_epoch"], (
            f"steps per epoch: log says {want['steps_per_epoch']}, parsed {got}"
        )
    if "last_global_step" in want:
        steps = parsed.steps.sort_values("line", kind="stable")
        assert len(steps), "no step record parsed"
        last = steps["global_step"].iloc[-1]
        assert not pd.isna(last) and int(last) == want["last_global_step"], (
            f"last global step: log says {want['last_global_step']}, parsed {last}"
        )


def test_every_log_pins_the_figures_it_prints() -> None:
    """A log whose tables hold a figure must pin it, so a new log cannot skip the hand count.

    ``unpinned = ["last_global_step"]`` says the text does not determine that figure (steps per
    epoch never printed); a comment beside it says why."""
    unpinned = []
    for log in LOGS:
        want = _expected(log)
        parsed = parsers.parse_log(log, strict=False)
        needed = {
            "last_global_step": len(parsed.steps) > 0,
            "epoch_times": parsed.epochs["epoch_time_ms"].notna().any(),
            "first_epoch_time_ms": parsed.epochs["epoch_time_ms"].notna().any(),
            "first_samples_per_sec": parsed.epochs["samples_per_sec"].notna().any(),
            "eval_metrics": len(parsed.evals) > 0,
            "eval_value": len(parsed.evals) > 0,
            "total_epochs": parsed.meta["total_epochs"] is not None,
        }
        left_open = set(want.get("unpinned", ()))
        unpinned += [
            f"{log.parent.name}/{log.name}: {key}"
            for key, need in needed.items()
            if need and key not in want and key not in left_open
        ]
    assert unpinned == []


def test_every_format_has_real_test_data() -> None:
    """A built-in format nobody has a real log for is a format nobody has checked."""
    seen = set()
    for log in LOGS:
        seen.update(parsers.parse_log(log, strict=False).meta["formats"])
    built_in = {name for name, fmt in parsers.FORMATS.items() if not fmt.origin.endswith(".toml")}
    assert built_in - seen - {"common", "modelarts"} == set()


def test_data_folders_cite_their_sources() -> None:
    for folder in {log.parent for log in LOGS}:
        sources = (folder / "SOURCES.md").read_text()
        for log in folder.glob("*.log"):
            assert log.name in sources, f"{log} is not listed in {folder}/SOURCES.md"


def test_losses_are_the_printed_numbers() -> None:
    """Exact float round trip: the parsed loss equals float() of the printed text."""
    log = Path(__file__).parent / "data" / "mindspore-2.10-cpu" / "basic.log"
    printed = [float(line.rsplit(" ", 1)[1]) for line in log.read_text().splitlines() if "loss is" in line]
    parsed = parsers.parse_log(log).steps["loss"].to_numpy()
    assert np.array_equal(parsed, np.asarray(printed))


def test_each_format_counts_the_lines_it_read() -> None:
    """``meta["format_records"]`` says which format read how many lines: in MindSpore 2.10's
    ``fit`` log every one of the 15 lines is a record -- 6 step lines, 6 epoch times (an eval
    and a train time per epoch) and 3 eval results -- all of the built-in MindSpore format."""
    log = parsers.parse_log(Path(__file__).parent / "data" / "mindspore-2.10-cpu" / "fit.log")
    text = (Path(__file__).parent / "data" / "mindspore-2.10-cpu" / "fit.log").read_text().splitlines()
    assert sum("loss is" in line for line in text) == 6 and sum("epoch time" in line for line in text) == 6
    assert log.meta["format_records"] == {"mindspore": len(text)} == {"mindspore": 15}
    assert (log.meta["lines_read"], log.meta["lines_skipped"], log.meta["skipped_examples"]) == (15, 0, [])


def test_a_line_no_format_reads_is_counted_and_named_by_its_number() -> None:
    """A loss line garbled in transit, put in as line 4 of the fit log: every record around it
    kept, the line counted as skipped and named by its line number (1-based, as an editor shows it)."""
    lines = (Path(__file__).parent / "data" / "mindspore-2.10-cpu" / "fit.log").read_text().splitlines(True)
    text = "".join([*lines[:3], "loss is ???\n", *lines[3:]])
    log = parsers.parse_log(text)
    assert log.meta["format_records"] == {"mindspore": 15}
    assert (log.meta["lines_read"], log.meta["lines_skipped"], log.meta["skipped_examples"]) == (16, 1, [4])


def test_other_layouts_lines_beside_the_named_format_are_counted_as_skipped() -> None:
    """A stray ``iter 7 loss 0.3`` and ``val acc 0.5`` in the fit log: only the line grammar reads
    them, and beside MindSpore's own step and eval records they are dropped -- the tables stay the
    15 MindSpore records, and both dropped lines (a step and an eval) are counted as skipped."""
    lines = (Path(__file__).parent / "data" / "mindspore-2.10-cpu" / "fit.log").read_text().splitlines(True)
    text = "".join([*lines[:3], "iter 7 loss 0.3\n", "val acc 0.5\n", *lines[3:]])
    log = parsers.parse_log(text)
    clean = parsers.parse_log("".join(lines))
    assert log.steps["loss"].tolist() == clean.steps["loss"].tolist()
    assert log.evals["value"].tolist() == clean.evals["value"].tolist()
    assert (log.meta["lines_read"], log.meta["lines_skipped"]) == (17, 2)
