"""Every dashboard view, run in-process with ``streamlit.testing.v1.AppTest`` on a folder of real logs.

The app reads through the real run store (``parsers.store``); nothing is mocked.  The runs
folder holds real published logs (``tests/data``) in run folders, some with ``hparams.json``,
one log in no known format, and one whose error line carries HTML and Markdown.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import streamlit as st
import streamlit.testing.v1.app_test
from dashboard_runs import BROKEN, REAL_RUNS, append_epoch, copy_real_runs, write_run
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

import parsers
from dashboard.data import TABLES
from parsers.insights.cost import PRICES_FILE

APP = Path(__file__).resolve().parent.parent / "dashboard" / "streamlit_app.py"
HOSTILE = "RuntimeError: bad <script>alert(1)</script> **bold** [link](http://example.invalid)"
# Newest first: the five the app must preselect.
NEWEST = ["fit", "sink", "quickstart", "resnet18-cifar10", "html"]


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    root = copy_real_runs(tmp_path_factory.mktemp("runs"))
    html = root / "html"
    html.mkdir()
    text = (root / "fit" / "train.log").read_text()
    (html / "train.log").write_text(text + f"Traceback (most recent call last):\n  File 'x.py'\n{HOSTILE}\n")
    order = NEWEST + [r for r in REAL_RUNS if r not in NEWEST]
    now = time.time()
    for age, run in enumerate(order):  # a few seconds apart: recent enough that nothing is "stalled"
        os.utime(root / run / "train.log", (now - age * 5, now - age * 5))
    return root


def open_app(monkeypatch, runs_dir: Path, *, page: str | None = None, **query) -> AppTest:
    monkeypatch.setattr(sys, "argv", [str(APP), "--runs", str(runs_dir)])
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def figure(at: AppTest, index: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def values(trace: dict, axis: str) -> list[float]:
    """A trace's x or y: a list, or plotly's typed array (``{"dtype": "f8", "bdata": base64}``)."""
    data = trace.get(axis, [])
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"])).tolist()
    return list(data)


def traces(fig: dict, role: str) -> dict[str, dict]:
    return {t["meta"]["run"]: t for t in fig["data"] if t.get("meta", {}).get("role") == role}


def table_with(at: AppTest, column: str):
    """The first table on the page that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def runs_table(at: AppTest):
    return table_with(at, "compare")


def test_runs_table_lists_every_run_and_the_broken_log_as_an_error_row(monkeypatch, runs_dir):
    at = open_app(monkeypatch, runs_dir)
    table = runs_table(at).set_index("run")
    assert set(table.index) == {*REAL_RUNS, "html"}
    assert "error" in table.loc[BROKEN, "status"] and "no records" in table.loc[BROKEN, "error"]
    assert table.loc["quickstart", "epochs"] == "10 / 10"
    assert {"last loss", "best eval", "epoch time", "samples/s", "wall time", "ETA", "cost so far"} <= set(
        table
    )
    assert "1 error" in at.caption[0].value


def test_most_recent_five_runs_are_preselected_and_drawn(monkeypatch, runs_dir):
    at = open_app(monkeypatch, runs_dir)
    assert at.sidebar.multiselect[0].value == NEWEST
    assert set(runs_table(at).query("compare")["run"]) == set(NEWEST)
    drawn = traces(figure(at), "raw")
    assert set(drawn) == set(NEWEST)


def test_selecting_two_runs_overlays_them(monkeypatch, runs_dir):
    at = open_app(monkeypatch, runs_dir)
    at.sidebar.multiselect[0].set_value(["basic", "nan"]).run()
    raw = traces(figure(at), "raw")
    assert set(raw) == {"basic", "nan"}
    log = parsers.parse_log(runs_dir / "basic" / "train.log")
    assert values(raw["basic"], "y") == log.steps["loss"].tolist()  # the store's values, unchanged
    assert traces(figure(at), "event")  # nan.log's NaN and traceback are marked


def test_filters_narrow_the_table_and_a_bad_regex_says_so(monkeypatch, runs_dir):
    at = open_app(monkeypatch, runs_dir)
    at.text_input(key="runs.pattern").input("^(fit|basic)$").run()
    assert set(runs_table(at)["run"]) == {"fit", "basic"}
    at.button(key="runs.compare_filtered").click().run()
    assert set(at.sidebar.multiselect[0].value) == {"fit", "basic"}
    at.text_input(key="runs.pattern").input("(").run()
    assert any("Not a regular expression" in e.value for e in at.error)
    at.text_input(key="runs.pattern").input("").run()
    at.multiselect(key="runs.hparams").set_value(["optimizer=adam"]).run()
    assert list(runs_table(at)["run"]) == ["sink"]


def test_baseline_adds_deltas_and_the_minus_baseline_curve(monkeypatch, runs_dir):
    at = open_app(monkeypatch, runs_dir)
    at.sidebar.selectbox[0].set_value("basic").run()
    table = runs_table(at).set_index("run")
    assert table.loc["basic", "Δ last loss"] == 0
    fig = figure(at)
    assert "basic (baseline)" in {t["name"] for t in fig["data"]}
    at.toggle(key="runs.curves.delta").set_value(True).run()
    fig = figure(at)
    assert "minus baseline" in fig["layout"]["title"]["text"] and "basic" not in traces(fig, "raw")


@pytest.mark.parametrize("axis", ["step", "epoch", "time"])
def test_curve_controls_change_the_chart(monkeypatch, runs_dir, axis):
    at = open_app(monkeypatch, runs_dir)
    at.segmented_control(key="runs.curves.x").set_value(axis).run()
    at.segmented_control(key="runs.curves.scale").set_value("log").run()
    fig = figure(at)
    assert fig["layout"]["yaxis"]["type"] == "log"
    assert fig["layout"]["xaxis"]["title"]["text"].startswith(
        {"step": "global", "epoch": "epoch", "time": "train"}[axis]
    )
    metrics = at.selectbox(key="runs.curves.metric")
    evals = [m for m in metrics.options if m.startswith("eval")]
    assert evals
    metrics.set_value(metrics.options[metrics.options.index(evals[0])]).run()
    assert figure(at)["layout"]["title"]["text"].startswith("eval")


def test_runs_on_very_different_scales_get_a_log_axis_by_default(monkeypatch, runs_dir):
    at = open_app(monkeypatch, runs_dir)
    at.sidebar.multiselect[0].set_value(["yolov8-overflow", "fit"]).run()  # loss 15,810 next to 0.55
    assert figure(at)["layout"]["yaxis"]["type"] == "log"
    at.segmented_control(key="runs.curves.scale").set_value("linear").run()
    assert figure(at)["layout"]["yaxis"].get("type", "linear") == "linear"


def test_hyperparameters_show_what_differs_and_link_to_a_run(monkeypatch, runs_dir):
    at = open_app(monkeypatch, runs_dir, page="views/hparams.py")
    at.sidebar.multiselect[0].set_value(["fit", "basic", "sink"]).run()
    assert set(table_with(at, "run").columns) == {"run", "lr", "batch_size", "optimizer"}
    info = next(d.value for d in at.dataframe if "device_target" in d.value.columns)  # run information, apart
    assert set(info["run"]) == {"fit", "basic", "sink"}
    at.toggle(key="hparams.all").set_value(True).run()
    assert "device_target" not in table_with(at, "run").columns  # the device is not a hyperparameter
    at.selectbox(key="hparams.open").set_value("sink").run()
    link = at.get("page_link")[0]
    assert link.proto.label == "Open sink" and "run=sink" in link.proto.query_string
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["type"] == "parcoords"


def test_cost_page_saves_the_price_table_and_advises(monkeypatch, runs_dir):
    at = open_app(monkeypatch, runs_dir, page="views/cost.py")
    prices = table_with(at, "price_per_device_hour")
    assert prices.iloc[0].tolist() == ["Ascend 910", 1, 18.2, "CNY"]
    at.button(key="cost.save").click().run()
    assert (runs_dir / PRICES_FILE).read_text().count("Ascend 910") == 1
    costs = table_with(at, "priced as").set_index("run")
    assert costs.loc["quickstart", "priced as"].startswith("1 x Ascend 910")
    at.sidebar.multiselect[0].set_value(["quickstart", "nan"]).run()
    advice = table_with(at, "judged by").set_index("run")
    assert advice.loc["quickstart", "of epochs"] == 10
    assert 1 <= advice.loc["quickstart", "stopped improving after epoch"] <= 10
    assert "fewer than two epochs" in advice.loc["nan", "note"]


def test_run_page_shows_events_with_their_log_lines_as_text(monkeypatch, runs_dir):
    at = open_app(monkeypatch, runs_dir, page="views/run.py", run="html")
    assert at.header[0].value == "html"
    events = table_with(at, "message")
    assert HOSTILE in events["message"].tolist()
    shown = "\n".join(c.value for c in at.code)
    assert HOSTILE in shown and "Traceback (most recent call last):" in shown
    rendered = [m.value for m in [*at.markdown, *at.caption, *at.error, *at.info]]
    assert not any("<script>" in text or "**bold**" in text for text in rendered)
    assert [b.proto.label for b in at.get("download_button")] == ["CSV", "Parquet"] * len(TABLES)
    assert len(at.get("plotly_chart")) >= 3  # loss, epoch time, throughput, eval


class RecordingMediaFileManager(MediaFileManager):
    """Streamlit's own media file manager, kept so a test can serve a download as the server
    does on a click (AppTest builds a new one, out of reach, for every run)."""

    made: ClassVar[list[MediaFileManager]] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        RecordingMediaFileManager.made.append(self)


def downloads(at: AppTest) -> dict[str, tuple[str, bytes]]:
    """What each download button of the last run would save: file name -> (MIME type, bytes)."""
    manager = RecordingMediaFileManager.made[-1]
    files = {}
    for button in at.get("download_button"):
        url = manager.execute_deferred(button.proto.deferred_file_id)  # the click: the file is built
        stored = manager._storage.get_file(url.rsplit("/", 1)[-1])
        files[stored.filename] = (stored.mimetype, stored.content)
    return files


def numbered(text: str, pattern: str) -> list[tuple[int, re.Match[str]]]:
    return [(n, m) for n, line in enumerate(text.splitlines(), start=1) if (m := re.search(pattern, line))]


def test_run_page_downloads_are_the_runs_tables(monkeypatch, runs_dir):
    """The CSV and Parquet a user downloads hold the run's tables: the values its log prints,
    at their lines; Parquet with the documented dtypes."""
    monkeypatch.setattr(streamlit.testing.v1.app_test, "MediaFileManager", RecordingMediaFileManager)
    at = open_app(monkeypatch, runs_dir, page="views/run.py", run="html")
    files = downloads(at)
    assert set(files) == {f"html-{t}.{ext}" for t in TABLES for ext in ("csv", "parquet")}
    log_path = runs_dir / "html" / "train.log"
    log, text = parsers.parse_log(log_path), log_path.read_text()
    tables = {}
    for name in TABLES:
        (csv_type, csv), (_, parquet) = files[f"html-{name}.csv"], files[f"html-{name}.parquet"]
        assert csv_type == "text/csv"
        tables[name] = pd.read_parquet(io.BytesIO(parquet))
        pd.testing.assert_frame_equal(tables[name], getattr(log, name))  # dtypes kept
        from_csv = pd.read_csv(io.BytesIO(csv))
        pd.testing.assert_frame_equal(from_csv, pd.read_csv(io.StringIO(tables[name].to_csv(index=False))))
    steps = numbered(text, r"^epoch: (\d+) step: (\d+), loss is (\S+)$")
    assert tables["steps"][["epoch", "step", "loss", "line"]].values.tolist() == [
        [int(m[1]), int(m[2]), float(m[3]), n] for n, m in steps
    ]
    train_ms = [float(m[1]) for _, m in numbered(text, r"^Train epoch time: ([\d.]+) ms")]
    assert tables["epochs"]["epoch_time_ms"].tolist() == train_ms
    evals = numbered(text, r"^Eval result: epoch (\d+), metrics: \{'(\w+)': np\.float64\(([\d.]+)\)\}")
    assert tables["evals"][["epoch", "metric", "value", "line"]].values.tolist() == [
        [int(m[1]), m[2], float(m[3]), n] for n, m in evals
    ]
    ((hostile_line, _),) = numbered(text, re.escape(HOSTILE))
    events = tables["events"].set_index("line")
    assert events.loc[hostile_line, "message"] == HOSTILE  # whole, unescaped: it is data, not markup
    assert "traceback" in set(events["kind"])


def test_run_page_of_a_broken_log_shows_the_reason(monkeypatch, runs_dir):
    at = open_app(monkeypatch, runs_dir, page="views/run.py", run=BROKEN)
    assert at.error and "could not be read" in at.error[0].value
    assert "no records of any known format" in at.code[0].value


def test_upload_adds_a_run_folder(monkeypatch, runs_dir):
    at = open_app(monkeypatch, runs_dir, page="views/upload.py")
    log = (Path(__file__).parent / "data" / "mindspore-2.10-cpu" / "sink.log").read_bytes()
    at.file_uploader[0].set_value(("uploaded sink.log", log, "text/plain")).run()
    at.button(key="upload.save").click().run()
    assert at.success and (runs_dir / "uploaded_sink" / "uploaded_sink.log").read_bytes() == log
    at.switch_page("views/runs.py").run()
    assert "uploaded_sink" in set(runs_table(at)["run"])


def test_runs_folder_box_cannot_leave_the_root(monkeypatch, runs_dir):
    at = open_app(monkeypatch, runs_dir)
    at.sidebar.text_input[0].input("../").run()
    assert "outside the runs root" in at.sidebar.error[0].value
    assert not at.dataframe
    at.sidebar.text_input[0].input("fit").run()
    assert list(runs_table(at)["run"]) == ["fit"]


def test_a_growing_log_shows_its_new_epoch(monkeypatch, tmp_path):
    log = write_run(tmp_path / "live", epochs=5, steps=50, done=2)
    at = open_app(monkeypatch, tmp_path)
    assert runs_table(at).set_index("run").loc["live", "epochs"] == "2 / 5"
    append_epoch(log, 3, 50)
    st.cache_data.clear()  # what the REFRESH_S ttl does in a live app
    at.run()
    assert runs_table(at).set_index("run").loc["live", "epochs"] == "3 / 5"
