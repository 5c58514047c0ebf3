"""The Runs page's alert banner says what ``parse-log watch --once`` says, for the live runs.

Real logs in run folders, the real app in Streamlit's AppTest, and the watcher as a real
process on the same folder: the banner's rows are the watcher's alerts.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from watch_helpers import BASIC_LOG, NAN_LOG, line_of, real_lines, run_folder, run_watch

from dashboard.alert_banner import BANNER_RULES
from tests.conftest import DATA

APP = Path(__file__).resolve().parent.parent / "dashboard" / "streamlit_app.py"
FINISHED = DATA / "quickstart" / "quickstart_r1x_mindvision.log"
HOSTILE = "RuntimeError: bad <script>alert(1)</script> **bold** [link](http://example.invalid)"


def open_runs_page(monkeypatch, runs: Path) -> AppTest:
    monkeypatch.setattr(sys, "argv", [str(APP), "--runs", str(runs)])
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def alert_rows(at: AppTest) -> list[dict]:
    """The banner's alerts: each an ``st.text`` block ``RUN  RULE  DETAIL\nline N: TEXT``."""
    rows = []
    for block in at.text:
        head, _, where = block.value.partition("\n")
        run, rule, detail = head.split("  ", 2)
        number, _, text = where.removeprefix("line ").partition(": ")
        rows.append({"run": run, "rule": rule, "detail": detail, "line": int(number), "text": text})
    return rows


@pytest.fixture
def runs(tmp_path) -> Path:
    root = tmp_path / "runs"
    run_folder(root, "crashed", real_lines(NAN_LOG))
    run_folder(root, "healthy", real_lines(BASIC_LOG))
    run_folder(root, "finished", real_lines(FINISHED))
    now = time.time()
    for log in root.glob("*/train.log"):
        os.utime(log, (now, now))
    return root


def test_banner_shows_the_watchers_alerts_for_live_runs(monkeypatch, runs):
    at = open_runs_page(monkeypatch, runs)
    rows = alert_rows(at)
    number, text = line_of(NAN_LOG, "ValueError: In epoch")
    assert {(r["run"], r["rule"], r["line"], r["text"]) for r in rows} == {
        ("crashed", "nan", number, text),
        ("crashed", "crashed", number, text),
    }
    assert any("2 alerts on 1 run" in w.value for w in at.warning)
    watched = run_watch(runs, "--on", *BANNER_RULES, "--once", "--json")
    said = {(a["run"], a["rule"], a["line"]) for a in map(json.loads, watched.stdout.splitlines())}
    assert said == {(r["run"], r["rule"], r["line"]) for r in rows}


def test_no_banner_when_live_runs_are_healthy(monkeypatch, tmp_path):
    root = tmp_path / "runs"
    run_folder(root, "healthy", real_lines(BASIC_LOG))
    run_folder(root, "finished", real_lines(FINISHED))
    at = open_runs_page(monkeypatch, root)
    assert alert_rows(at) == [] and not any("alert" in w.value for w in at.warning)


def test_a_log_line_in_the_banner_stays_text(monkeypatch, tmp_path):
    root = tmp_path / "runs"
    lines = [
        *real_lines(BASIC_LOG),
        "Traceback (most recent call last):\n",
        "  File 'x.py'\n",
        HOSTILE + "\n",
    ]
    run_folder(root, "html", lines)
    at = open_runs_page(monkeypatch, root)
    rows = alert_rows(at)
    assert [(r["rule"], r["text"]) for r in rows] == [("crashed", HOSTILE)]
    assert all("<script>" not in w.value for w in at.warning)
    assert not at.markdown or all(HOSTILE not in m.value for m in at.markdown)


def chart_alerts(at: AppTest) -> dict[str, list[str]]:
    """The alert markers of the Runs page's chart: run -> the rules flagged."""
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return {
        t["meta"]["run"]: t["meta"]["rules"]
        for t in spec["data"]
        if (t.get("meta") or {}).get("role") == "alert"
    }


def test_the_curves_flag_where_the_watchers_rules_became_true(monkeypatch, runs):
    at = open_runs_page(monkeypatch, runs)
    at.sidebar.multiselect[0].set_value(["crashed", "healthy"]).run()
    assert not at.exception, [e.message for e in at.exception]
    assert {run: sorted(rules) for run, rules in chart_alerts(at).items()} == {"crashed": ["crashed", "nan"]}
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    flags = next(t for t in spec["data"] if (t.get("meta") or {}).get("role") == "alert")
    assert sorted(t.split(":")[0] for t in flags["text"]) == ["crashed", "nan"]  # the rule, then its sentence


def test_alert_markers_can_be_turned_off(monkeypatch, runs):
    at = open_runs_page(monkeypatch, runs)
    at.sidebar.multiselect[0].set_value(["crashed"]).run()
    at.toggle(key="runs.curves.alerts").set_value(False).run()
    assert chart_alerts(at) == {}
