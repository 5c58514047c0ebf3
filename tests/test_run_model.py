"""One run model: a run folder's hyperparameters are read by one function for every front end.

A model-zoo run folder holds its log and a ``config.py`` (an EasyDict literal, nested), no
``hparams.json``.  ``parse-log report --json`` (its ``summary.json``) and the dashboard's
Hyperparameters page must show the same hyperparameters; a ``config.py`` that does not parse
is refused by both with the same reason.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import streamlit as st
from cli_logs import corpus_log, run_cli
from streamlit.testing.v1 import AppTest

from dashboard.tables import hparam_text

APP = Path(__file__).resolve().parent.parent / "dashboard" / "streamlit_app.py"
CONFIG_PY = """\
from easydict import EasyDict as ed

config = ed({
    "lr": 0.01,
    "batch_size": 32,
    "optimizer": {"name": "Momentum", "momentum": 0.9},
    "epoch_size": 90,
    "milestones": [30, 60],
})
scale = compute_scale()  # not a literal: left out, never run
"""


def run_folder(root: Path, name: str, config: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    shutil.copyfile(corpus_log("fit.log"), folder / "train.log")
    (folder / "config.py").write_text(config, encoding="utf-8")
    return folder


def report_json(folder: Path, out: Path, tmp_path: Path):
    return run_cli("report", folder, "-o", out, "--json", env={"BROWSER_PATH": str(tmp_path / "no-chrome")})


def hparams_page(monkeypatch, root: Path, run: str) -> AppTest:
    monkeypatch.setattr(sys, "argv", [str(APP), "--runs", str(root)])
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("views/hparams.py").run()
    at.sidebar.multiselect[0].set_value([run]).run()
    at.toggle(key="hparams.all").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def shown_row(at: AppTest, run: str) -> dict[str, str]:
    """The page's Hyperparameters table row of ``run``: key -> the text shown (blank cells left out)."""
    table = next(d.value for d in at.dataframe if "run" in d.value.columns and "lr" in d.value.columns)
    row = table[table["run"] == run].drop(columns="run").iloc[0]
    return {k: v for k, v in row.items() if isinstance(v, str) and v}


def test_a_config_py_folder_has_the_same_hyperparameters_in_the_report_and_the_dashboard(
    monkeypatch, tmp_path
):
    root = tmp_path / "runs"
    folder = run_folder(root, "zoo-run", CONFIG_PY)
    out = tmp_path / "report"
    result = report_json(folder, out, tmp_path)
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads((out / "summary.json").read_text())["runs"]
    expected = {
        "lr": 0.01,
        "batch_size": 32,
        "optimizer.name": "Momentum",
        "optimizer.momentum": 0.9,
        "epoch_size": 90,
        "milestones": [30, 60],
    }
    assert entry["hparams"] == expected
    shown = shown_row(hparams_page(monkeypatch, root, "zoo-run"), "zoo-run")
    assert shown == {key: hparam_text(value) for key, value in expected.items()}


def test_a_config_py_that_does_not_parse_is_refused_with_one_reason_everywhere(monkeypatch, tmp_path):
    root = tmp_path / "runs"
    folder = run_folder(root, "broken-run", "config = ed({\n    'lr': 0.01,\n")
    result = report_json(folder, tmp_path / "report", tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    reason = "config.py not read: invalid Python: "
    assert line.startswith(f"Error: {folder / 'config.py'} not read: invalid Python: "), line
    told = line.split(reason, 1)[1]
    # shown as text: Markdown's punctuation escaped with a backslash
    warnings = [
        re.sub(r"\\(.)", r"\1", w.value) for w in hparams_page(monkeypatch, root, "broken-run").warning
    ]
    assert any(f"{reason}{told}" in w for w in warnings), warnings


def test_a_train_log_named_directly_has_its_folders_hyperparameters(tmp_path):
    from parsers.runs import load_run

    folder = run_folder(tmp_path / "runs", "zoo-run", CONFIG_PY)
    by_log, by_folder = load_run(folder / "train.log"), load_run(folder)
    assert by_log.name == by_folder.name == "zoo-run"
    assert by_log.hparams == by_folder.hparams and by_log.hparams["optimizer.name"] == "Momentum"
    assert by_log.hparams_source == "config.py"
