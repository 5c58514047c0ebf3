"""The pure-Python scanner (installs without a compiler) gives the tables the C one does."""

from __future__ import annotations

from pathlib import Path

import pytest

import parsers
from parsers import _scan_py, scan
from tests.conftest import data_logs


@pytest.mark.skipif(not scan.COMPILED, reason="needs the compiled scanner to compare with")
@pytest.mark.parametrize("log", data_logs()[::3], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_python_twin_gives_the_same_tables(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = parsers.parse_log(log, strict=False)
    monkeypatch.setattr(scan, "_impl", _scan_py)
    monkeypatch.setattr(scan, "gather_ints", _scan_py.gather_ints)
    monkeypatch.setattr(scan, "gather_token_text", _scan_py.gather_token_text)
    import parsers.dispatch as dispatch

    monkeypatch.setattr(dispatch, "gather_ints", _scan_py.gather_ints)
    monkeypatch.setattr(dispatch, "gather_token_text", _scan_py.gather_token_text)
    twin = parsers.parse_log(log, strict=False)
    for name, table in compiled.tables().items():
        assert table.equals(twin.tables()[name]), name
    assert compiled.meta["lines_skipped"] == twin.meta["lines_skipped"]
