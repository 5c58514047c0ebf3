"""A job kept in one folder per rank is one run whose logs are its ranks (issue 13).

Distributed launchers write one folder per device: the model zoo's
``run_distribute_train.sh`` runs ``python train.py > log`` in ``device0/``, ``device1/``...;
msrun and ModelArts jobs leave ``rank_0/``... (sometimes under ``log/``).  The folders are
built here, on disk, from real multi-device lines: the model zoo's ``grep`` over
``device0/log`` and ``device1/log`` of HarDNet and PSENet (``tests/data/modelzoo``), split back
into each device's own file, and the real mindformers step line for a four-rank job under
``log/rank_N/``.  They go through the real store, ``parse_log`` and the dashboard (AppTest).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import parsers
from dashboard.ranks import rank_flag, rank_story, rank_table
from parsers.store import RunStore
from parsers.store.discover import discover_local
from tests.conftest import DATA

MODELZOO = DATA / "modelzoo"
HARDNET = MODELZOO / "hardnet_grep_device_prefix.log"
PSENET = MODELZOO / "psenet_fullwidth_colon_device_grep.log"
MINDFORMERS = DATA / "mindformers" / "ttp_worker0_grep_epoch.log"
APP = Path(__file__).resolve().parent.parent / "dashboard" / "streamlit_app.py"


def per_device(grep_block: Path) -> dict[str, list[str]]:
    """A ``grep`` block's lines by the folder its prefix names (``device0``), prefix removed."""
    found: dict[str, list[str]] = {}
    for line in grep_block.read_text(encoding="utf-8").splitlines(keepends=True):
        m = re.match(r"(device_?\d+)/log:", line)
        if m:
            found.setdefault(m.group(1), []).append(line[m.end() :])
    return found


def device_folders(run: Path, grep_block: Path) -> dict[str, list[str]]:
    """``run/deviceN/log`` per device, as the model zoo's launch script leaves them."""
    lines = per_device(grep_block)
    for folder, own in lines.items():
        (run / folder).mkdir(parents=True)
        (run / folder / "log").write_text("".join(own), encoding="utf-8")
    return lines


def rank_log_folders(run: Path, ranks: int = 4, steps: int = 5) -> None:
    """``run/log/rank_N/train.log`` with the real mindformers step line, each rank its own losses."""
    first = MINDFORMERS.read_text(encoding="utf-8").splitlines()[0]
    for rank in range(ranks):
        folder = run / "log" / f"rank_{rank}"
        folder.mkdir(parents=True)
        lines = []
        for step in range(1, steps + 1):
            line = re.sub(r"step:\[\s*1/\s*19\]", f"step:[{step:5d}/{steps:5d}]", first)
            lines.append(re.sub(r"loss: [\d.]+", f"loss: {10 - step - rank / 10:.3f}", line) + "\n")
        (folder / "train.log").write_text("".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rank-folders") / "runs"
    device_folders(root / "hardnet", HARDNET)
    device_folders(root / "psenet", PSENET)
    rank_log_folders(root / "job4")
    (root / "job4" / "hparams.json").write_text(json.dumps({"lr": 0.001}))
    single = root / "single"  # a run folder of its own beside them: untouched
    single.mkdir()
    (single / "train.log").write_text("".join(per_device(HARDNET)["device0"]), encoding="utf-8")
    RunStore(root).refresh()
    return root


def test_each_per_rank_job_is_one_run_not_one_per_folder(runs_dir):
    runs = RunStore(runs_dir).runs().set_index("run")
    assert sorted(runs.index) == ["hardnet", "job4", "psenet", "single"]
    assert (runs["status"] != "error").all(), runs["error"].tolist()
    assert runs.loc["hardnet", "log"] == "device0/log, device1/log"
    assert runs.loc["psenet", "log"] == "device_0/log, device_1/log"
    assert runs.loc["job4", "log"] == ", ".join(f"log/rank_{r}/train.log" for r in range(4))


@pytest.mark.parametrize(("run", "grep_block"), [("hardnet", HARDNET), ("psenet", PSENET)])
def test_the_ranks_are_the_device_folders_with_their_own_lines(runs_dir, run, grep_block):
    store = RunStore(runs_dir)
    steps = store.table("steps", [run])
    lines = per_device(grep_block)
    for rank, folder in enumerate(sorted(lines)):
        own = "".join(lines[folder])
        losses = [float(v) for v in re.findall(r"loss is ([\d.]+)", own)]
        assert steps.loc[steps["rank"] == rank, "loss"].tolist() == pytest.approx(losses)
    assert [log["rank"] for log in store.meta(run)["logs"]] == [0, 1]
    assert store.table("steps", [run])["rank"].unique().tolist() == [0, 1]


def test_the_store_and_parse_log_agree_on_the_ranks(runs_dir):
    """``parse_log(folder)`` of the same job gives the ranks the store gives."""
    for run in ("hardnet", "job4"):
        parsed = parsers.parse_log(runs_dir / run).steps
        stored = RunStore(runs_dir).table("steps", [run])
        assert parsed["rank"].tolist() == stored["rank"].tolist()
        assert parsed["loss"].tolist() == pytest.approx(stored["loss"].tolist())


def test_a_job_under_log_rank_folders_keeps_its_config_and_four_ranks(runs_dir):
    store = RunStore(runs_dir)
    assert store.hparams(["job4"])["lr"].tolist() == [0.001]
    steps, epochs = store.table("steps", ["job4"]), store.table("epochs", ["job4"])
    meta = store.meta("job4")
    table = rank_table(steps, epochs, meta["logs"], meta.get("files") or [])
    assert table["rank"].tolist() == [0, 1, 2, 3]
    assert table["steps done"].tolist() == [5, 5, 5, 5]
    assert rank_flag(rank_story(table, steps, epochs)).startswith("4 ranks")


def test_a_rank_folder_at_the_root_makes_the_root_the_run(tmp_path):
    device_folders(tmp_path, HARDNET)
    found = discover_local(tmp_path)
    assert [(r.name, [(s.log, s.rank) for s in r.logs]) for r in found] == [
        (".", [("device0/log", 0), ("device1/log", 1)])
    ]


def test_the_runs_table_and_the_ranks_view_show_the_devices(runs_dir, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(APP), "--runs", str(runs_dir)])
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    runs = next(d.value for d in at.dataframe if "compare" in d.value.columns).set_index("run")
    assert runs.loc["hardnet", "ranks"].startswith("2 ranks")
    assert runs.loc["job4", "ranks"].startswith("4 ranks")
    at.query_params["run"] = "hardnet"
    at.switch_page("views/run.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Ranks" in [h.value for h in at.subheader]
    ranks = next(d.value for d in at.dataframe if "steps done" in d.value.columns)
    assert ranks["rank"].tolist() == [0, 1]
    assert ranks["log"].tolist() == ["device0/log", "device1/log"]
