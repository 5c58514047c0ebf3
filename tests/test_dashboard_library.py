"""The dashboard's guarded file access, price table, cost and runs table, over the real run store."""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest
from dashboard_runs import BROKEN, REAL_RUNS, copy_real_runs

from dashboard.curves import wide_range
from dashboard.files import MAX_UPLOAD_MB, FolderError, log_context, resolve_within, save_upload
from dashboard.settings import parse_settings
from dashboard.tables import (
    differing_keys,
    filter_runs,
    highlight_differences,
    hparam_choices,
    hparam_text,
    parallel_table,
    runs_view,
)
from parsers.insights.cost import (
    DEFAULT_PRICES,
    Price,
    PriceError,
    load_prices,
    price_for,
    prices_frame,
    prices_from_frame,
    run_costs,
    save_prices,
)
from parsers.store import RunStore


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = copy_real_runs(tmp_path_factory.mktemp("runs"))
    store = RunStore(root)
    store.refresh()
    return store


def test_folder_input_cannot_leave_the_root(tmp_path):
    (tmp_path / "root" / "team").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path / "outside")
    root = tmp_path / "root"
    assert resolve_within(root, "") == root.resolve()
    assert resolve_within(root, "team/") == (root / "team").resolve()
    for escape in ("..", "../outside", str(tmp_path / "outside"), "/etc", "team/../../outside", "link"):
        with pytest.raises(FolderError, match="outside the runs root"):
            resolve_within(root, escape)
    with pytest.raises(FolderError, match="not a folder"):
        resolve_within(root, "missing")


def test_uploads_get_safe_names_new_folders_and_a_size_limit(tmp_path):
    first = save_upload(tmp_path, "../../etc/passwd", b"epoch: 1 step: 1, loss is 1.0\n")
    assert first.parent.parent == tmp_path.resolve() and first.name == "passwd.log"
    again = save_upload(tmp_path, "passwd", b"x\n")
    assert again.parent.name == "passwd-2" and first.read_bytes() != again.read_bytes()
    named = save_upload(tmp_path, "train.log.gz", b"\x1f\x8b", run="my run/<b>")
    assert named.name == "train.log.gz" and named.parent.name == "my_run_b"
    with pytest.raises(FolderError, match=f"larger than {MAX_UPLOAD_MB} MB"):
        save_upload(tmp_path, "big.log", b"x" * (MAX_UPLOAD_MB * 1024 * 1024 + 1))


def test_log_context_reads_the_lines_around_each_event(store):
    log = store.runs_dir / "nan" / "train.log"
    lines = log.read_text().splitlines()
    around = log_context(log, [2, len(lines)], root=store.runs_dir, before=2, after=5)
    assert around[2] == [(n, lines[n - 1]) for n in range(1, 8)]
    assert around[len(lines)][-1] == (len(lines), lines[-1])


def test_price_table_round_trips_through_toml(tmp_path):
    path = tmp_path / "prices.toml"
    assert load_prices(path) == list(DEFAULT_PRICES)
    assert DEFAULT_PRICES[0] == Price("Ascend 910", 1, 18.2, "CNY")
    prices = [Price("Ascend 910B", 8, 25.0, "CNY"), Price('A100 "SXM"', 1, 2.5, "USD")]
    save_prices(path, prices)
    assert load_prices(path) == prices
    assert prices_from_frame(prices_frame(prices)) == prices
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_price_tables_say_what_is_wrong(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text("[[prices]]\ndevice = 'x'\n")
    with pytest.raises(PriceError, match="price row 1"):
        load_prices(path)
    path.write_text("not toml [")
    with pytest.raises(PriceError, match="cannot read"):
        load_prices(path)
    frame = prices_frame(list(DEFAULT_PRICES)).assign(devices=0)
    with pytest.raises(PriceError, match="devices >= 1"):
        prices_from_frame(frame)


def test_runs_are_priced_by_their_device(store):
    prices = [Price("Ascend 910", 1, 18.2, "CNY"), Price("CPU server", 2, 0.5, "CNY")]
    assert price_for({"device_target": "CPU"}, prices).device == "CPU server"
    assert price_for({"device_target": "GPU"}, prices).device == "Ascend 910"
    assert price_for({}, prices).device == "Ascend 910"
    runs, hparams = store.runs(), store.hparams()
    costs = run_costs(runs, hparams, prices).set_index("run")
    row = runs.set_index("run").loc["fit"]
    assert costs.loc["fit", "priced_as"].startswith("2 x CPU server")
    assert costs.loc["fit", "cost_so_far"] == pytest.approx(row["wall_time_s"] / 3600 * 1.0)
    q = runs.set_index("run").loc["quickstart"]
    assert costs.loc["quickstart", "cost_projected"] == pytest.approx(q["wall_time_s"] / 3600 * 18.2)
    assert costs.loc["quickstart", "cost_per_epoch"] == pytest.approx(q["mean_epoch_time_ms"] / 3.6e6 * 18.2)


def test_running_run_projects_its_eta(store):
    runs = store.runs()
    running = runs[(runs["status"] == "running") & runs["eta_s"].notna()]
    if not len(running):
        pytest.skip("no run with an ETA among the real logs")
    costs = run_costs(running, store.hparams(), list(DEFAULT_PRICES))
    expected = (running["wall_time_s"] + running["eta_s"]) / 3600 * 18.2
    np.testing.assert_allclose(costs["cost_projected"], expected)


def test_runs_view_has_every_run_and_the_broken_one_as_an_error_row(store):
    runs = store.runs()
    view = runs_view(
        runs, run_costs(runs, store.hparams(), list(DEFAULT_PRICES)), compared=["fit"], baseline="fit"
    )
    assert set(view["run"]) == set(REAL_RUNS)
    broken = view.set_index("run").loc[BROKEN]
    assert "error" in broken["status"] and "no records" in broken["error"]
    assert view.set_index("run").loc["fit", "compare"]
    assert view.set_index("run").loc["fit", "Δ last loss"] == 0
    assert isinstance(view["wall time"].dropna().iloc[0], pd.Timedelta)


def test_filters_by_regex_and_hyperparameter(store):
    runs, hparams = store.runs(), store.hparams()
    assert set(filter_runs(runs, hparams, pattern="^(fit|sink)$")["run"]) == {"fit", "sink"}
    choices = hparam_choices(hparams)
    assert "optimizer=adam" in choices and "lr=0.01" in choices
    assert set(filter_runs(runs, hparams, choices=["optimizer=sgd", "lr=0.01"])["run"]) == {"basic"}
    assert set(filter_runs(runs, hparams, choices=["optimizer=sgd", "optimizer=adam"])["run"]) == {
        "fit",
        "basic",
        "sink",
        "nan",
    }
    with pytest.raises(re.error):
        filter_runs(runs, hparams, pattern="(")


def test_differing_keys_and_value_text():
    frame = pd.DataFrame(
        {"run": ["a", "b"], "lr": [0.1, 0.1], "bs": [32.0, 64.0], "layers": [[1, 2], [1, 2]]}
    )
    assert differing_keys(frame) == ["bs"]
    assert hparam_text(32.0) == "32" and hparam_text(np.nan) == "" and hparam_text({"b": 1}) == '{"b": 1}'


def test_settings_from_script_arguments(tmp_path, monkeypatch):
    monkeypatch.delenv("EPOCHSCOPE_RUNS", raising=False)
    default = parse_settings([])
    assert default.root == (default.root.cwd() / "runs").resolve() and default.refresh_s == 3.0
    settings = parse_settings(["--runs", str(tmp_path), "--refresh", "0.1"])
    assert (
        settings.root == tmp_path.resolve()
        and settings.prices == tmp_path.resolve() / "epochscope-prices.toml"
    )
    assert settings.refresh_s == 1.0
    monkeypatch.setenv("EPOCHSCOPE_RUNS", os.fspath(tmp_path / "x"))
    assert parse_settings([]).root == (tmp_path / "x").resolve()
    with pytest.raises(ValueError, match="unknown dashboard arguments"):
        parse_settings(["--rusn", "x"])


def test_parallel_view_takes_the_runs_that_share_keys(store):
    table, color = parallel_table(store.runs(), store.hparams())
    assert set(table.columns) == {"lr", "batch_size", "optimizer", "min loss", "last loss", "best eval"}
    assert len(table) == 4 and table[["lr"]].notna().all().all()  # the four runs with an hparams.json
    assert color == "min loss"


def test_differences_are_marked_against_the_fullest_run_or_the_baseline():
    frame = pd.DataFrame({"run": ["bare", "a", "b"], "lr": [np.nan, 0.1, 0.2], "bs": [np.nan, 32, 32]})
    styles = highlight_differences(frame)._compute().ctx
    marked = {(row, col) for (row, col), css in styles.items() if css}
    assert marked == {(2, 1)}  # b's lr differs from a's; the run without keys is left blank
    styles = highlight_differences(frame, reference="b")._compute().ctx
    assert {(row, col) for (row, col), css in styles.items() if css} == {(1, 1)}


def test_auto_log_scale_for_runs_on_very_different_scales():
    small = pd.DataFrame({"x": [1.0, 2.0], "y": [0.5, 0.4]})
    huge = pd.DataFrame({"x": [1.0, 2.0], "y": [15_810.0, 900.0]})
    assert wide_range({"a": small, "b": huge}) and not wide_range({"a": small})
    assert not wide_range({"a": small.assign(y=[-1.0, 500.0])})
