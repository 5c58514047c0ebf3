"""``parse-log report``: every file it writes exists and is valid, with and without a browser,
and the chart builders it shares with the dashboard keep what a person needs to see."""

from __future__ import annotations

import ast
import base64
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_logs import LOSS, REPO, corpus_log, edited, numbers, reference_log, run_cli
from PIL import Image

import parsers
from dashboard import charts, curves
from dashboard.images import IMAGE_HEIGHT, IMAGE_SCALE, IMAGE_WIDTH, find_browser
from parsers.schema import LOG_TABLES, conform, empty_table
from parsers.table_files import to_jsonable

# What each chart draws: (table, column) -- a chart is expected when some run has a value there.
CHART_DATA = {
    "loss": ("steps", "loss"),
    "epoch_time": ("epochs", "epoch_time_ms"),
    "throughput": ("epochs", "samples_per_sec"),
    "eval": ("evals", "value"),
}
HPARAMS = {"batch_size": 32, "epoch_size": 4, "lr_max": 0.1, "device_target": "CPU"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A run folder (train.log + hparams.json), a plain log, and a baseline log."""
    root = tmp_path_factory.mktemp("runs")
    run_dir = root / "resnet-20240506"
    run_dir.mkdir()
    reference_log(run_dir / "train.log")
    (run_dir / "hparams.json").write_text(json.dumps(HPARAMS))
    half = reference_log(root / "half_batch.log", batch=16)
    baseline = reference_log(root / "baseline.log", steps=50)
    return {"resnet-20240506": run_dir, "half_batch": half}, baseline


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    if find_browser() is None:
        pytest.skip("no Chromium/Chrome here (.ci/run installs Debian's chromium)")
    logs, baseline = runs
    out = tmp_path_factory.mktemp("report")
    result = run_cli("report", *logs.values(), "--baseline", baseline, "-o", out, "--title", "Nightly")
    assert result.returncode == 0, result.stderr
    return out, result


def tables_of(logs: dict) -> dict:
    """``{table: {run: frame}}`` of parsed logs: what the loss chart takes, in the report and the app."""
    return {name: {run: getattr(log, name) for run, log in logs.items()} for name in LOG_TABLES}


def log_of(path):
    return parsers.parse_log(path / "train.log" if path.is_dir() else path)


def expected_charts(paths) -> set[str]:
    tables = [log_of(p) for p in paths]
    return {
        name
        for name, (table, col) in CHART_DATA.items()
        if any(getattr(t, table)[col].notna().any() for t in tables)
    }


def test_manifest_lists_what_was_written(report):
    out, result = report
    for name in ("report.md", "report.html", "summary.json"):
        assert str(out / name) in result.stdout
    assert "not written" not in result.stdout


def test_images_exist_and_decode_at_the_size_asked(report, runs):
    out, _ = report
    logs, baseline = runs
    written = json.loads((out / "summary.json").read_text())["images"]
    assert set(written) == expected_charts([*logs.values(), baseline]) == set(CHART_DATA)
    for name, files in written.items():
        with Image.open(out / files["png"]) as png:
            png.verify()
        with Image.open(out / files["png"]) as png:
            assert png.format == "PNG"
            assert png.size == (IMAGE_WIDTH * IMAGE_SCALE, IMAGE_HEIGHT * IMAGE_SCALE)
            assert len(png.convert("RGB").getcolors(maxcolors=1 << 20)) > 20, f"{name}.png looks blank"
        svg = ET.parse(out / files["svg"]).getroot()
        assert svg.tag.endswith("svg") and float(svg.get("width")) == IMAGE_WIDTH


def test_summary_json_matches_parse_log(report, runs):
    out, _ = report
    logs, baseline = runs
    data = json.loads((out / "summary.json").read_text())
    assert data["title"] == "Nightly"
    assert [r["name"] for r in data["runs"]] == list(logs)
    for entry, path in zip(data["runs"], logs.values()):
        assert entry["summary"] == to_jsonable(parsers.summarize(log_of(path)))
    assert data["runs"][0]["hparams"] == HPARAMS  # from hparams.json in the run folder
    assert data["baseline"]["summary"] == to_jsonable(parsers.summarize(log_of(baseline)))
    for name, path in logs.items():
        deltas = {row["metric"]: row for row in data["deltas"][name]}
        assert deltas["final loss"]["candidate"] == numbers(LOSS, log_path(path))[-1]
        assert deltas["final loss"]["baseline"] == numbers(LOSS, baseline)[-1]


def log_path(path):
    return path / "train.log" if path.is_dir() else path


def test_html_is_self_contained_and_holds_the_data(report, runs):
    out, _ = report
    logs, _ = runs
    page = (out / "report.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE)
    markup = re.sub(r"<script\b.*?</script>", "", page, flags=re.S | re.IGNORECASE)  # plotly.js names URLs
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", markup, re.IGNORECASE)
    assert "plotly.js v" in page  # the library is inlined, not fetched
    assert page.count("Plotly.newPlot(") == len(CHART_DATA)
    embedded = re.search(
        r'<script type="application/json" id="epochscope-summary">(.*?)</script>', page, re.S
    )
    assert json.loads(embedded[1].replace("<\\/", "</")) == json.loads((out / "summary.json").read_text())
    for name, path in logs.items():
        assert name in page
        assert json.dumps(numbers(LOSS, log_path(path))[-1]) in page  # the loss curve's last point


def test_markdown_links_resolve_and_tables_name_the_runs(report, runs):
    out, _ = report
    logs, _ = runs
    text = (out / "report.md").read_text()
    targets = re.findall(r"\]\(([^)]+)\)", text)
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert targets and all((out / t).is_file() for t in targets)
    assert {p.split(".")[0] for p in images} == set(CHART_DATA)
    header = next(line for line in text.splitlines() if line.startswith("|  |"))
    assert all(name in header for name in logs) and "(baseline)" in header
    assert all(f"## {name} compared with baseline" in text for name in logs)


def test_without_a_browser_the_rest_is_still_written(runs, tmp_path):
    logs, _ = runs
    out = tmp_path / "report"
    result = run_cli("report", *logs.values(), "-o", out, env={"BROWSER_PATH": str(tmp_path / "no-chrome")})
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stdout.splitlines() if "no Chromium or Chrome found" in line]
    assert len(said) == 1
    assert all((out / f).is_file() for f in ("report.md", "report.html", "summary.json"))
    assert not list(out.glob("*.png")) and not list(out.glob("*.svg"))
    text = (out / "report.md").read_text()
    assert "![" not in text and "Images not written" in text
    data = json.loads((out / "summary.json").read_text())
    assert data["images"] == {} and "no Chromium or Chrome found" in data["images_note"]
    assert (out / "report.html").read_text().count("Plotly.newPlot(") == len(CHART_DATA)


def test_json_output_names_the_runs_and_files_written(runs, tmp_path):
    """``report --json``: one JSON object a CI step can read, naming each run as given and the
    files written, whose summary.json holds each run's own figures."""
    logs, _ = runs
    run_dir = logs["resnet-20240506"]
    out = tmp_path / "report"
    no_browser = {"BROWSER_PATH": str(tmp_path / "no-chrome")}
    result = run_cli(
        "report", *logs.values(), "-o", out, "--baseline", run_dir / "train.log", "--json", env=no_browser
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["runs"] == ", ".join(logs)  # the run folder's name, the log's name
    assert manifest["baseline"] == "resnet-20240506-baseline"  # told apart from the run of that name
    assert "no Chromium or Chrome found" in manifest["images"]
    files = {kind: Path(manifest[kind]) for kind in ("markdown", "html", "json")}
    assert files == {"markdown": out / "report.md", "html": out / "report.html", "json": out / "summary.json"}
    assert all(path.is_file() for path in files.values())
    data = json.loads(files["json"].read_text())
    assert [r["name"] for r in data["runs"]] == list(logs)
    for entry, path in zip(data["runs"], logs.values()):
        text = log_path(path).read_text()
        assert entry["summary"]["last_loss"] == numbers(LOSS, log_path(path))[-1]
        assert entry["summary"]["epochs_done"] == len(re.findall(r"^epoch time: ", text, re.M))
    assert data["runs"][0]["hparams"] == HPARAMS
    assert data["baseline"]["source"] == str(run_dir / "train.log")


def test_report_bad_input(tmp_path):
    missing = tmp_path / "missing-run"
    result = run_cli("report", missing, "-o", tmp_path / "out")
    assert result.returncode == 2 and result.stderr.startswith("Error: ") and str(missing) in result.stderr
    no_out = run_cli("report", corpus_log("fit.log"))
    assert no_out.returncode == 2 and "-o" in no_out.stderr


def test_missing_plotly_says_what_to_install(tmp_path):
    code = (
        "import sys; sys.modules['plotly'] = None; from parsers.cli import main; "
        f"sys.exit(main(['report', {str(corpus_log('fit.log'))!r}, '-o', {str(tmp_path)!r}]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2
    assert (
        result.stderr.startswith("Error: parse-log report needs plotly")
        and "epochscope[report]" in result.stderr
    )


# --- chart builders -----------------------------------------------------------------------------


def test_charts_import_only_plotting_and_data_libraries():
    tree = ast.parse(Path(charts.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= {"__future__", "collections", "numpy", "pandas", "plotly"}, imported


def test_a_single_spike_among_millions_of_steps_stays_visible():
    n = 1_700_000
    rng = np.random.default_rng(0)
    loss = 2.0 * np.exp(-np.arange(n) / 3e5) + rng.normal(0, 0.01, n) + 0.1
    spike, dip = 1_234_567, 345_678
    loss[spike], loss[dip] = 50.0, 1e-6
    steps = conform(pd.DataFrame({"global_step": np.arange(1, n + 1), "loss": loss}), "steps")
    tables = {name: {"long run": steps if name == "steps" else empty_table(name)} for name in LOG_TABLES}
    fig = curves.loss_figure(tables)
    (trace,) = [t for t in fig.data if t.meta["role"] == "raw"]  # faint, behind the smoothed line
    assert len(trace.y) <= charts.DEFAULT_MAX_POINTS + 2
    assert max(trace.y) == 50.0 and spike + 1 in trace.x
    assert min(trace.y) == 1e-6 and dip + 1 in trace.x
    assert trace.y[-1] == loss[-1]  # the final loss is always drawn


def test_nan_losses_are_marked_at_their_step_not_dropped(tmp_path):
    """A run whose loss went NaN at one step and Inf at another: one mark each, at those steps."""
    bad = {100: "nan", 150: "inf"}  # the 100th and 150th loss lines: epoch 2 step 40, epoch 3 step 30
    seen = iter(range(1, 10**6))
    path = edited(
        reference_log(tmp_path / "clean.log"),
        tmp_path / "nan.log",
        r"loss is (\S+)$",
        lambda m: f"loss is {bad.get(next(seen), m[1])}",
    )
    text = path.read_text()
    losses = LOSS.findall(text)  # LossMonitor prints every step: a loss line's rank is its global step
    bad_steps = [i for i, v in enumerate(losses, start=1) if v in ("nan", "inf")]
    assert bad_steps == sorted(bad)
    finite = [float(v) for v in losses if v not in ("nan", "inf")]
    steps_line = re.search(r"^epoch: (\d+) step: (\d+), loss is nan$", text, re.M)
    assert (int(steps_line[1]) - 1) * 60 + int(steps_line[2]) == bad_steps[0]  # 60 steps per epoch
    log = parsers.parse_log(path)
    fig = curves.loss_figure(tables_of({"nan run": log}))
    (mark,) = [t for t in fig.data if t.meta["role"] == "nonfinite"]
    assert list(mark.x) == bad_steps and mark.name == "nan run: NaN/Inf (2)"
    # at the top of the plot (a 0..1 axis laid over it), where the curve cannot hide them
    assert mark.yaxis == "y2" and list(mark.y) == [0.97] * 2
    (line,) = [t for t in fig.data if t.meta["role"] == "raw"]
    assert not set(bad_steps) & set(line.x) and len(line.x) == len(finite)


def test_axes_have_units_and_runs_are_distinguishable():
    logs = {name: parsers.parse_log(corpus_log(f"{name}.log")) for name in ("fit", "sink", "basic")}
    epochs = {name: log.epochs for name, log in logs.items()}
    figures = {
        "loss": curves.loss_figure(tables_of(logs), baseline="basic"),
        "epoch_time": charts.epoch_time_figure(epochs, baseline="basic"),
        "throughput": charts.throughput_figure(epochs),
    }
    assert figures["loss"].layout.xaxis.title.text == "global step"
    assert figures["epoch_time"].layout.yaxis.title.text in ("epoch time (ms)", "epoch time (s)")
    assert figures["throughput"].layout.yaxis.title.text == "throughput (samples/s)"
    for fig in figures.values():  # each run's line (the smoothed one, on the loss chart)
        lines = [t for t in fig.data if (t.meta or {}).get("role", "smoothed") == "smoothed"]
        styles = [(t.line.color, t.line.dash) for t in lines]
        assert len(set(styles)) == len(styles) == 3
    assert any("(baseline)" in t.name for t in figures["loss"].data)


def _axis(trace: dict, axis: str) -> list[float]:
    """A trace's x or y from plotly JSON: a list, or a typed array (``{"dtype": "f8", "bdata": ...}``)."""
    data = trace.get(axis, [])
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"])).tolist()
    return [float(v) for v in data]


def _drawn(fig: dict) -> dict:
    """Each run's raw, smoothed, NaN and event traces (their points), and the epoch-1 marks."""
    traces = {
        (t["meta"]["run"], t["meta"]["role"], t["meta"].get("kind")): (_axis(t, "x"), _axis(t, "y"))
        for t in fig["data"]
        if t.get("meta", {}).get("role") in ("raw", "smoothed", "nonfinite", "event")
    }
    marks = sorted((s["x0"], s["line"]["color"]) for s in fig["layout"].get("shapes", []))
    return {"traces": traces, "epoch 1 ends": marks, "title": fig["layout"]["title"]["text"]}


def test_the_report_and_the_dashboard_draw_the_same_loss_chart(tmp_path, monkeypatch):
    """The same runs: ``parse-log report``'s loss figure and the dashboard's opening loss chart
    have the same smoothed and raw lines, markers and epoch-1 lines (one builder)."""
    import streamlit as st
    from dashboard_runs import copy_real_runs
    from streamlit.testing.v1 import AppTest

    from dashboard.report import report_figures
    from parsers.runs import load_runs

    names = ["fit", "sink", "nan"]
    root = copy_real_runs(tmp_path / "runs", names)
    report = json.loads(report_figures(load_runs([root / n for n in names]))["loss"].to_json())
    app = REPO / "dashboard" / "streamlit_app.py"
    monkeypatch.setattr(sys, "argv", [str(app), "--runs", str(root)])
    st.cache_data.clear()
    at = AppTest.from_file(str(app), default_timeout=60)
    at.run()
    at.sidebar.multiselect[0].set_value(names).run()
    assert not at.exception, [e.message for e in at.exception]
    shown = json.loads(at.get("plotly_chart")[0].proto.spec)
    drawn = _drawn(report)
    assert {run for run, role, _ in drawn["traces"] if role == "raw"} == set(names)
    assert {run for run, role, _ in drawn["traces"] if role == "smoothed"} == {"fit", "sink"}  # nan: 2 points
    assert len(drawn["epoch 1 ends"]) == 2  # nan.log stops in epoch 1
    assert _drawn(shown) == drawn
