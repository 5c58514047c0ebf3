"""Every real log in tests/data parses to what a person counting its lines finds.

Each ``<name>.log`` has a ``<name>.expect.toml`` written by hand from the log (see
the folder's SOURCES.md for where the lines were published); adding a log and its
expectations adds a test.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

import parsers
from parsers.schema import TABLES
from tests.conftest import data_logs

LOGS = data_logs()


def _expected(log: Path) -> dict:
    return tomllib.loads(log.with_suffix(".expect.toml").read_text())


@pytest.mark.parametrize("log", LOGS, ids=lambda p: f"{p.parent.name}/{p.name}")
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
    if len(steps) and steps["epoch"].notna().all() and steps["step"].notna().all():
        assert (steps["global_step"] >= 1).all()
        assert (steps["epoch"] >= 1).all()


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
