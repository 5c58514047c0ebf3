"""The runs table's ranks column shows its whole flag: the grid cuts a cell at the column's edge
and offers no way to read the rest, and the flag names the lagging rank last.  The app runs in
Streamlit's AppTest on the generated 8-rank job of ``test_ranks`` (rank 5 slow, rank 3 stopped)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest
from test_ranks import SLOW, STOPPED, eight_ranks

from parsers.store import RunStore

APP = Path(__file__).resolve().parent.parent / "dashboard" / "streamlit_app.py"
# The narrowest a character of the grid's 14px sans-serif is drawn on average (digits are 7.7px).
MIN_CHAR_PX = 7


def test_the_ranks_column_is_as_wide_as_its_flag(monkeypatch, tmp_path):
    root = tmp_path / "runs"
    eight_ranks(root / "job8")
    RunStore(root).refresh()
    monkeypatch.setattr(sys, "argv", [str(APP), "--runs", str(root)])
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    table = next(d for d in at.dataframe if "ranks" in d.value.columns)
    flag = table.value["ranks"].dropna().iloc[0]
    assert f"rank {SLOW} lags" in flag and f"rank {STOPPED} stopped first" in flag
    width = json.loads(table.proto.columns)["ranks"]["width"]
    assert width >= MIN_CHAR_PX * len(flag), (width, flag)
