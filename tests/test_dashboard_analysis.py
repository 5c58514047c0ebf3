"""The dashboard's pure figures on real logs: smoothing, curves, convergence, spikes kept in charts."""

from __future__ import annotations

import ast
import math
import re

import numpy as np
import pandas as pd
import pytest
from conftest import DATA
from dashboard_runs import SPIKE_LOSS, write_run

import parsers
from dashboard import series
from dashboard.analysis import (
    advise,
    baseline_deltas,
    convergence_epoch,
    epoch_series,
    half_life_share,
    most_recent,
    time_weighted_ema,
)
from dashboard.curves import bulk_range, curve_figure
from training.log_lines import EPOCH_TIME, EVAL_RESULT, RUN_FINISHED, RUN_START, STEP_LOSS


def loop_ema(x, y, weight, x_range):
    """W&B's sample code, point by point: the reference the vectorised version must match."""
    w = min(math.sqrt(weight), 0.999)
    last, debias, out = 0.0, 0.0, []
    for i in range(len(y)):
        change = (x[i] - x[max(i - 1, 0)]) / x_range * 1000.0
        adj = w**change
        last = last * adj + y[i]
        debias = debias * adj + 1.0
        out.append(last / debias)
    return np.array(out)


@pytest.fixture(scope="module")
def fit():
    return parsers.parse_log(DATA / "quickstart" / "quickstart_r1x_mindvision.log")


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.9, 0.99])
def test_ema_matches_the_wandb_formula_on_a_real_loss_curve(weight):
    log = parsers.parse_log(DATA / "mindspore-2.10-cpu" / "basic.log")
    x = log.steps["global_step"].to_numpy(dtype=float)
    y = log.steps["loss"].to_numpy(dtype=float)
    span = float(x.max() - x.min())
    got = time_weighted_ema(x, y, weight=weight, x_range=span)
    if weight == 0.0:
        np.testing.assert_allclose(got, y)
    else:
        np.testing.assert_allclose(got, loop_ema(x, y, weight, span), rtol=1e-9)


def test_ema_does_not_overflow_over_100k_points_with_light_smoothing():
    x = np.arange(1, 100_001, dtype=float)
    y = 2.0 + np.sin(x / 500.0)
    got = time_weighted_ema(x, y, weight=0.05, x_range=x.max() - x.min())
    assert np.isfinite(got).all()
    span = x.max() - x.min()
    np.testing.assert_allclose(got[:5000], loop_ema(x[:5000], y[:5000], 0.05, span), rtol=1e-9)
    # the memory is short, so the tail computed on its own from a little earlier agrees too
    np.testing.assert_allclose(got[-1000:], loop_ema(x[-2000:], y[-2000:], 0.05, span)[-1000:], rtol=1e-5)


def test_ema_smooths_runs_alike_whatever_their_logging_rate():
    """A run printing every step and one printing every 10th step of the same curve come out the same."""
    x = np.arange(1, 5001, dtype=float)
    y = np.exp(-x / 1500.0)
    dense = time_weighted_ema(x, y, weight=0.9, x_range=5000.0)
    sparse = time_weighted_ema(x[::10], y[::10], weight=0.9, x_range=5000.0)
    np.testing.assert_allclose(sparse[50:], dense[::10][50:], rtol=0.02)


def test_ema_skips_nan_and_inf_without_poisoning_the_rest():
    """A run that went NaN, then more steps: the NaN/Inf points get no smoothed value, and every
    other point is W&B's average of the finite points alone, as if the bad ones were never logged."""
    keras = (DATA / "pytorch" / "keras_nan_loss.log").read_text()
    basic = (DATA / "mindspore-2.10-cpu" / "basic.log").read_text()
    went_nan = [float(v) for v in re.findall(r"step - loss: (\S+) -", keras)]
    assert np.isnan(went_nan).sum() == 2  # 0.2445, nan, nan as printed
    later = [float(v) for v in re.findall(r"loss is (\S+)$", basic, re.MULTILINE)][:20]
    y = np.r_[later[:10], went_nan, math.inf, later[10:], -math.inf]
    x = np.arange(1, len(y) + 1, dtype=float) * 10.0
    log = parsers.parse_log(DATA / "pytorch" / "keras_nan_loss.log")
    assert np.isnan(log.steps["loss"].to_numpy(dtype=float)).sum() == 2  # the parser keeps them as NaN
    got = time_weighted_ema(x, y, weight=0.6)
    bad = ~np.isfinite(y)
    assert np.isnan(got[bad]).all()
    span = x[~bad].max() - x[~bad].min()
    np.testing.assert_allclose(got[~bad], loop_ema(x[~bad], y[~bad], 0.6, span), rtol=1e-12)


def test_half_life_grows_with_the_weight():
    assert 0 < half_life_share(0.6) < half_life_share(0.9) < half_life_share(0.99) < 0.2


def test_convergence_epoch_on_a_real_ten_epoch_run(fit):
    values = epoch_series(fit.steps, fit.evals)
    assert list(values.index) == list(range(1, 11))
    epoch = convergence_epoch(values, tolerance=0.05, maximize=False)
    best, scale = values.min(), values.max() - values.min()
    assert values.loc[:epoch].min() <= best + 0.05 * scale
    if epoch > 1:
        assert values.loc[: epoch - 1].min() > best + 0.05 * scale


def test_convergence_for_a_rising_metric():
    acc = pd.Series([0.5, 0.8, 0.9, 0.905, 0.906, 0.9065], index=range(1, 7))
    assert convergence_epoch(acc, tolerance=0.02, maximize=True) == 3  # 0.0065 left < 2% of 0.4065
    assert convergence_epoch(acc, tolerance=0.0, maximize=True) == 6
    assert convergence_epoch(acc.iloc[:1], maximize=True) is None


def test_advice_counts_the_time_of_the_epochs_after_convergence(fit):
    advice = advise(fit.steps, fit.epochs, fit.evals, tolerance=0.5)
    assert advice is not None and advice.basis == "mean loss per epoch"
    after = fit.epochs[fit.epochs["epoch"] > advice.epoch]["epoch_time_ms"].sum() / 1000.0
    assert advice.saved_s == pytest.approx(after)
    assert advice.saved_cost(18.2) == pytest.approx(after / 3600 * 18.2)
    assert advice.remaining_s == 0


# Eval loss per epoch of a run that plateaus after epoch 4, and each epoch's printed time.
PLATEAU_EVAL_LOSS = [2.1, 1.2, 0.71, 0.52, 0.515, 0.5138, 0.5131, 0.5127]
PLATEAU_EPOCH_MS = [91_250.5, 60_410.25, 60_388.0, 61_002.75, 59_870.5, 60_120.0, 60_777.25, 60_095.5]


def plateau_log(path) -> str:
    """A finished 8-epoch run as the training emitter prints it, evaluated after every epoch."""
    lines = [RUN_START.format(epochs=len(PLATEAU_EVAL_LOSS))]
    for epoch, (value, ms) in enumerate(zip(PLATEAU_EVAL_LOSS, PLATEAU_EPOCH_MS), start=1):
        lines += [STEP_LOSS.format(epoch=epoch, step=s, loss=value + 0.3 / s) for s in (1, 2, 3)]
        lines.append(EPOCH_TIME.format(mode="Train", epoch_ms=ms, step_ms=ms / 3))
        lines.append(EVAL_RESULT.format(epoch=epoch, metrics={"acc": 1 - value / 3, "loss": value}))
    lines.append(RUN_FINISHED.format(seconds=sum(PLATEAU_EPOCH_MS) / 1000))
    path.write_text("\n".join(lines) + "\n")
    return path.read_text()


def test_advice_names_the_epoch_a_plateauing_eval_loss_stopped_improving(tmp_path):
    text = plateau_log(tmp_path / "train.log")
    evals = [
        ast.literal_eval(m) for m in re.findall(r"^Eval result: epoch \d+, metrics: (\{.*\})$", text, re.M)
    ]
    loss = [e["loss"] for e in evals]
    times_s = [float(v) / 1000 for v in re.findall(r"^Train epoch time: ([\d.]+) ms", text, re.M)]
    best, scale = min(loss), max(loss) - min(loss)
    # the first epoch already within 1% of the whole range of the best the run ever reached
    stopped = next(e for e, v in enumerate(loss, start=1) if v <= best + 0.01 * scale)
    assert stopped == 4 < len(loss)  # the log was written to plateau there
    log = parsers.parse_log(tmp_path / "train.log")
    advice = advise(log.steps, log.epochs, log.evals, metric="loss", tolerance=0.01)
    assert advice is not None and advice.basis == "eval loss"
    assert (advice.epoch, advice.last_epoch) == (stopped, len(loss)) and advice.converged
    assert (advice.value, advice.best) == (loss[stopped - 1], best)  # lower is better for a loss
    assert advice.saved_s == pytest.approx(sum(times_s[stopped:]), rel=1e-9)
    assert advice.remaining_s == 0  # finished: nothing left to run
    assert advice.saved_cost(18.2) == pytest.approx(sum(times_s[stopped:]) / 3600 * 18.2, rel=1e-9)
    # a running run that has plateaued also saves the time it still has to go
    running = advise(log.steps, log.epochs, log.evals, metric="loss", tolerance=0.01, eta_s=7200.0)
    assert running.saved_cost(18.2) == pytest.approx((sum(times_s[stopped:]) + 7200.0) / 3600 * 18.2)


def test_advice_for_a_run_still_improving_and_none_without_two_epochs():
    text = (DATA / "mindspore-2.10-cpu" / "fit.log").read_text()
    acc = [float(v) for v in re.findall(r"'acc': np\.float64\(([\d.]+)\)", text)]
    assert acc == sorted(acc) and len(set(acc)) == len(acc) == 3  # better every epoch
    log = parsers.parse_log(DATA / "mindspore-2.10-cpu" / "fit.log")
    advice = advise(log.steps, log.epochs, log.evals, metric="acc")
    assert advice is not None and advice.basis == "eval acc"
    assert (advice.epoch, advice.best) == (len(acc), max(acc)) and not advice.converged
    assert advice.saved_s == 0 and advice.saved_cost(18.2) == 0
    nan = parsers.parse_log(DATA / "mindspore-2.10-cpu" / "nan.log")
    assert advise(nan.steps, nan.epochs, nan.evals) is None


def test_most_recent_and_baseline_deltas():
    runs = pd.DataFrame(
        {
            "run": ["a", "b", "c", "bad"],
            "status": ["finished", "running", "finished", "error"],
            "last_update": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02", "2024-01-04"], utc=True),
            "last_loss": [1.0, 0.5, 2.0, np.nan],
            "samples_per_sec": [100.0, 110.0, 90.0, np.nan],
        }
    )
    assert most_recent(runs, limit=2) == ["b", "c"]
    deltas = baseline_deltas(runs, "a").set_index("run")
    assert deltas.loc["b", "Δ last_loss"] == pytest.approx(-0.5)
    assert deltas.loc["c", "Δ% samples_per_sec"] == pytest.approx(-10.0)


@pytest.mark.parametrize("axis", list(series.AXES))
def test_curves_of_a_real_log_on_every_axis(fit, axis):
    curve = series.curve(fit.steps, fit.epochs, fit.evals, metric="loss", x=axis)
    assert len(curve) == len(fit.steps)
    assert curve["x"].is_monotonic_increasing
    if axis == "epoch":
        assert curve["x"].max() == pytest.approx(10.0)
    first = series.first_epoch_end(fit.steps, fit.epochs, x=axis)
    assert first is not None and curve["x"].min() <= first <= curve["x"].max()


def test_training_time_axis_follows_the_printed_epoch_times(fit):
    curve = series.curve(fit.steps, fit.epochs, fit.evals, metric="loss", x="time")
    total_h = fit.epochs["epoch_time_ms"].sum() / 3.6e6
    assert curve["x"].iloc[-1] == pytest.approx(total_h, rel=1e-6)


def test_eval_curve_and_metrics_found_in_a_real_log(fit):
    found = series.metrics_of(fit.steps, fit.epochs, fit.evals)
    assert "loss" in found and "epoch_time" in found
    evals = [k for k in found if k.startswith("eval:")]
    assert evals
    curve = series.curve(fit.steps, fit.epochs, fit.evals, metric=evals[0], x="epoch")
    assert len(curve) == (fit.evals["metric"] == evals[0][5:]).sum()


def test_events_are_placed_on_the_curve_and_escaped_in_hover():
    log = parsers.parse_log(DATA / "mindspore-2.10-cpu" / "nan.log")
    curve = series.curve(log.steps, log.epochs, log.evals, metric="loss", x="step")
    events = series.event_points(log.events, curve)
    assert set(events["kind"]) >= {"nan", "traceback"}
    events.loc[0, "message"] = "<script>alert(1)</script>"
    fig = curve_figure({"nan": curve}, title="loss", x_title="step", y_title="loss", events={"nan": events})
    hover = [t for tr in fig.data if tr.meta and tr.meta["role"] == "event" for t in tr.text]
    assert any("&lt;script&gt;" in t for t in hover) and not any("<script>" in t for t in hover)


@pytest.fixture(scope="module")
def long_run(tmp_path_factory):
    """100,000 steps rendered with the training emitter's lines, one spike planted at step 54,321."""
    log = write_run(tmp_path_factory.mktemp("long") / "long", epochs=10, steps=10_000, spike=54_321)
    return parsers.parse_log(log)


def test_a_single_step_spike_among_100k_steps_survives_downsampling(long_run):
    curve = series.curve(long_run.steps, long_run.epochs, long_run.evals, metric="loss", x="step")
    fig = curve_figure({"long": curve}, title="loss", x_title="step", y_title="loss", smoothing=0.9)
    raw = next(tr for tr in fig.data if tr.meta["role"] == "raw")
    assert len(raw.x) <= 4100
    spike = [x for x, y in zip(raw.x, raw.y) if y == SPIKE_LOSS]
    assert spike == [54_321.0]
    smoothed = next(tr for tr in fig.data if tr.meta["role"] == "smoothed")
    assert max(smoothed.y) < 5.0  # the smoothed line is not dragged up by one step


def test_the_spike_is_left_off_the_y_axis_but_marked_at_its_edge(long_run):
    curve = series.curve(long_run.steps, long_run.epochs, long_run.evals, metric="loss", x="step")
    fig = curve_figure({"long": curve}, title="loss", x_title="step", y_title="loss", smoothing=0.9)
    top = fig.layout.yaxis.range[1]
    assert 2.0 < top < 10.0
    off = [tr for tr in fig.data if tr.meta["role"] == "offscale"]
    assert [(x, v) for tr in off for x, v in zip(tr.x, tr.customdata)] == [(54_321.0, SPIKE_LOSS)]
    kept = curve_figure({"long": curve}, title="l", x_title="s", y_title="l", ignore_outliers=False)
    assert kept.layout.yaxis.range is None


def test_bulk_range_keeps_the_low_tail_of_a_converging_loss(long_run):
    curve = series.curve(long_run.steps, long_run.epochs, long_run.evals, metric="loss", x="step")
    low, _ = bulk_range({"long": curve}, {})
    assert low == pytest.approx(curve["y"].min())


def test_a_second_start_line_is_marked_as_a_restart():
    curve = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [1.0, 0.9, 0.8], "line": [2, 3, 5]})
    events = pd.DataFrame(
        {"x": [1.0, 3.0], "kind": ["start", "start"], "message": ["Start run", "Start run"], "line": [1, 4]}
    )
    fig = curve_figure({"r": curve}, title="loss", x_title="step", y_title="loss", events={"r": events})
    marked = [(t.meta["kind"], list(t.x)) for t in fig.data if t.meta["role"] == "event"]
    assert marked == [("restart", [3.0])]


def test_a_run_still_improving_saves_nothing_by_stopping(fit):
    still = advise(fit.steps, fit.epochs, fit.evals, tolerance=0.0, eta_s=3600.0)
    if still.converged:
        pytest.skip("the log's loss stopped improving before its last epoch even at zero tolerance")
    assert still.saved_s == 0 and still.saved_cost(18.2) == 0
    done = advise(fit.steps, fit.epochs, fit.evals, tolerance=0.5, eta_s=3600.0)
    assert done.converged and done.saved_cost(18.2) == pytest.approx((done.saved_s + 3600.0) / 3600 * 18.2)


def test_a_log_axis_over_decades_is_labelled_at_powers_of_ten_only(long_run):
    """Plotly labels 2 and 5 of every decade of a log axis on its own: beside a loss curve that
    reads as a column of bare digits (2, 5, 2, 5 ...).  Over two decades or more, the axis is
    labelled at 0.1, 1, 10 ...; over less than that Plotly's finer labels are the only ones."""
    curve = series.curve(long_run.steps, long_run.epochs, long_run.evals, metric="loss", x="step")
    scaled = curve.assign(y=curve["y"] * 1000.0)  # a second run a thousand times higher
    wide = curve_figure({"a": curve, "b": scaled}, title="l", x_title="s", y_title="l", log_y=True)
    assert wide.layout.yaxis.type == "log" and wide.layout.yaxis.dtick == 1
    narrow = curve_figure({"a": curve}, title="l", x_title="s", y_title="l", log_y=True)  # spike left off
    low, high = narrow.layout.yaxis.range  # log10 units
    assert high - low < 2 and narrow.layout.yaxis.type == "log" and narrow.layout.yaxis.dtick is None
