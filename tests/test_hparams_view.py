"""Hyperparameters that read well: run information kept apart, axes only for what varies, short
labels with the full key on hover, runs named by what distinguishes them.

The runs are a four-point sweep laid out as ``python -m training sweep`` lays it out: each
folder a real log and an ``hparams.json`` holding the digits config (``training.config``, the
real loader) plus the keys the trainer adds (``training/trainer.py``: name, start time, command
line, sweep point, versions, paths, data facts).  The page runs in Streamlit's AppTest; the
same sweep trained for real is in ``test_hparams_view_e2e.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from watch_helpers import BASIC_LOG, FIT_LOG, real_lines, run_folder

from dashboard.figures import LABEL_CHARS, parallel_figure, short_label
from dashboard.names import short_names
from dashboard.tables import parallel_table
from parsers.insights.run_info import is_run_info, split_run_info
from parsers.store import RunStore
from training.config import CONFIG_DIR, load_config

APP = Path(__file__).resolve().parent.parent / "dashboard" / "streamlit_app.py"
GRID = [(0.05, 1), (0.05, 2), (0.2, 1), (0.2, 2)]
# What the trainer writes besides the config (training/trainer.py, training/data.py): not choices.
TRAINER_INFO = ("config_name", "run_name", "start_time", "pretrained", "summary_dir", "command", "sweep.name",
                "sweep.point.lr_max", "sweep.point.seed", "mindspore_version", "device_count", "steps_per_epoch",
                "dataset_path", "eval_dataset_path", "split", "dataset_size", "train_size", "val_size",
                "class_names")  # fmt: skip


def sweep_hparams(name: str, lr_max: float, seed: int, hour: int) -> dict:
    config = load_config(CONFIG_DIR / "digits.yaml", overrides=[f"lr_max={lr_max}", f"seed={seed}"])
    return {
        **config.to_dict(),
        "config_name": "digits",
        "run_name": name,
        "start_time": f"2026-12-01T{hour:02d}:00:00+00:00",
        "pretrained": None,
        "summary_dir": None,
        "command": f"python -m training sweep --grid lr_max=0.05,0.2 --grid seed=1,2 --name digits-sweep #{hour}",
        "sweep": {"name": "digits-sweep", "point": {"lr_max": lr_max, "seed": seed}},
        "mindspore_version": "2.7.0",
        "device_count": 1,
        "steps_per_epoch": 22,
        "dataset_path": "/runs/.digits/train",
        "eval_dataset_path": None,
        "split": "ratio",
        "dataset_size": 1797,
        "train_size": 1438,
        "val_size": 359,
        "class_names": [str(d) for d in range(10)],
    }


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sweep") / "runs"
    for hour, (lr_max, seed) in enumerate(GRID):
        name = f"digits-sweep-lr_max={lr_max}-seed={seed}"
        log = run_folder(root, name, real_lines(BASIC_LOG if seed == 1 else FIT_LOG))
        (log.parent / "hparams.json").write_text(json.dumps(sweep_hparams(name, lr_max, seed, hour)), "utf-8")
    RunStore(root).refresh()
    return root


def test_the_trainers_facts_are_run_information_and_the_config_is_not():
    config = load_config(CONFIG_DIR / "digits.yaml").to_dict()
    assert [k for k in TRAINER_INFO if not is_run_info(k)] == []
    assert [
        k for k in config if is_run_info(k) and k not in ("data_path", "eval_data_path", "device_target")
    ] == []
    assert not is_run_info("optimizer.name") and is_run_info("env.torch_version")


def test_the_store_keeps_hyperparameters_apart_from_run_information(sweep):
    store = RunStore(sweep)
    hyper, info = store.hparams(part="hyper"), store.hparams(part="info")
    assert set(TRAINER_INFO) <= set(info.columns) and not set(TRAINER_INFO) & set(hyper.columns)
    assert {"lr_max", "seed", "batch_size", "net_name"} <= set(hyper.columns)
    assert sorted([*hyper.columns, *info.columns[1:]]) == sorted(store.hparams().columns)
    assert [f.columns.tolist() for f in split_run_info(store.hparams())] == [
        hyper.columns.tolist(),
        info.columns.tolist(),
    ]


def test_parallel_coordinates_of_the_sweep_have_an_axis_per_varied_key_and_results(sweep):
    store = RunStore(sweep)
    table, color = parallel_table(store.runs(), store.hparams(part="hyper"))
    keys = [c for c in table.columns if c not in ("min loss", "last loss", "best eval")]
    assert keys == ["lr_max", "seed"] and color is not None
    fig = parallel_figure(table, color=color)
    assert [d.name for d in fig.data[0].dimensions] == table.columns.tolist()
    assert [a.hovertext for a in fig.layout.annotations] == table.columns.tolist()


def test_long_keys_and_values_are_cut_with_the_full_text_on_hover():
    key = "optimizer.param_groups.weight_decay_for_bias_and_norm"
    assert short_label(key).startswith("weight_decay") and len(short_label(key)) == LABEL_CHARS
    assert short_label("lr_max") == "lr_max"
    table = __import__("pandas").DataFrame(
        {key: [0.1, 0.2], "scheduler": ["cosine_with_warmup_restarts", "step"]}
    )
    fig = parallel_figure(table)
    labels = {a.hovertext: a.text for a in fig.layout.annotations}
    assert labels == {key: short_label(key), "scheduler": "scheduler"}
    ticks = fig.data[0].dimensions[1].ticktext
    assert all(len(t) <= 14 for t in ticks) and "step" in ticks


def test_sweep_runs_are_named_by_what_distinguishes_them():
    names = [f"digits-sweep-lr_max={lr}-seed={s}" for lr, s in GRID]
    assert list(short_names(names).values()) == [f"lr_max={lr}-seed={s}" for lr, s in GRID]
    assert short_names(["resnet50", "vit"]) == {"resnet50": "resnet50", "vit": "vit"}
    assert short_names(["only-one"]) == {"only-one": "only-one"}


def open_hparams_page(monkeypatch, runs: Path) -> AppTest:
    monkeypatch.setattr(sys, "argv", [str(APP), "--runs", str(runs)])
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("views/hparams.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_page_shows_run_information_apart_and_no_metadata_axis(monkeypatch, sweep):
    at = open_hparams_page(monkeypatch, sweep)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    axes = [d["name"] for d in spec["data"][0]["dimensions"]]
    assert axes[:2] == ["lr_max", "seed"] and not [a for a in axes if is_run_info(a)]
    seed = spec["data"][0]["dimensions"][1]
    assert (seed["tickvals"], seed["ticktext"]) == ([1, 2], ["1", "2"])  # the values run, no tick at 1.4
    tables = {t.proto.id: t for t in at.dataframe}
    info = next(t for t in at.dataframe if "run_name" in t.value.columns)
    assert {"start_time", "command", "sweep.point.lr_max", "mindspore_version"} <= set(info.value.columns)
    hyper = next(t for t in at.dataframe if t is not info)
    assert not [c for c in hyper.value.columns if c != "run" and is_run_info(c)], tables


def test_the_sidebar_chips_name_sweep_runs_by_their_point(monkeypatch, sweep):
    at = open_hparams_page(monkeypatch, sweep)
    chips = at.sidebar.multiselect[0]
    shown = [chips.format_func(o) for o in chips.options]
    assert sorted(shown) == sorted(f"lr_max={lr}-seed={s}" for lr, s in GRID)


def test_the_runs_chart_names_sweep_runs_by_their_point(monkeypatch, sweep):
    monkeypatch.setattr(sys, "argv", [str(APP), "--runs", str(sweep)])
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    names = [f"digits-sweep-lr_max={lr}-seed={s}" for lr, s in GRID]
    at.sidebar.multiselect[0].set_value(names).run()
    assert not at.exception, [e.message for e in at.exception]
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    lines = {t["meta"]["run"]: t for t in traces if t["meta"]["role"] == "smoothed"}
    assert {run: t["name"] for run, t in lines.items()} == {n: n.removeprefix("digits-sweep-") for n in names}
    assert all(t["hovertext"] == run for run, t in lines.items())  # the full name on hover
