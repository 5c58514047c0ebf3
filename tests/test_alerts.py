"""Each ``parse-log watch`` rule fires on a log built from real lines, at the line that made it true,
and stays quiet on a healthy log.

Runs are real logs from ``tests/data`` (whole, or a few of their real lines put together),
checked with ``parse-log watch RUN --on RULE --once --json``; every expected line number,
text and figure is read off the log text by the test.
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from watch_helpers import BASIC_LOG, FIT_LOG, NAN_LOG, line_of, real_lines, run_folder

from parsers.cli import main
from tests.conftest import DATA

YOLO_OVERFLOW = DATA / "mindyolo" / "yolov8_overflow_issue402.log"
RACE_OVERFLOW = DATA / "modelzoo" / "race_classifier_parameter_scale.log"
NO_OVERFLOW = DATA / "mindformers" / "ttp_worker0_grep_epoch.log"
KERAS_NAN = DATA / "pytorch" / "keras_nan_loss.log"
ASCEND_CRASH = DATA / "mindspore" / "ascend_error_e39999_traceback.log"
FINISHED_EVENT = DATA / "modelarts" / "mindcv_maxvit_openi_modelarts.log"
FINISHED_EPOCHS = DATA / "quickstart" / "quickstart_r1x_mindvision.log"
LOSS_SPIKES = DATA / "mindocr" / "svtr_loss_spikes_issue670.log"
EVAL_RESULTS = DATA / "modelzoo" / "resnet_eval_results.log"


def once(capsys, target, *rules: str, extra: tuple[str, ...] = ()) -> tuple[int, list[dict], str]:
    """``parse-log watch TARGET --on RULES --once --json``: exit code, alerts, stderr."""
    code = main(["watch", str(target), "--on", *rules, "--once", "--json", *extra])
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines()], out.err


def copy_of(tmp_path, log, name: str = "job"):
    return run_folder(tmp_path / "runs", name, real_lines(log))


def fired(capsys, target, rule: str, extra: tuple[str, ...] = ()) -> dict:
    """The one alert of ``rule`` (exit code 1: a rule holds)."""
    code, found, err = once(capsys, target, rule, extra=extra)
    assert code == 1, err
    assert [a["rule"] for a in found] == [rule], found
    return found[0]


def assert_quiet(capsys, target, rule: str) -> None:
    code, found, err = once(capsys, target, rule)
    assert (code, found) == (0, []), err


# --- nan ---------------------------------------------------------------------------------------


def test_nan_fires_at_the_line_that_said_nan(tmp_path, capsys):
    log = copy_of(tmp_path, NAN_LOG)
    number, text = line_of(NAN_LOG, "ValueError: In epoch")
    alert = fired(capsys, log, "nan")
    assert (alert["run"], alert["line"], alert["text"], alert["log"]) == ("job", number, text, str(log))
    assert alert["value"] == 1


def test_nan_counts_each_nan_loss_once(tmp_path, capsys):
    log = copy_of(tmp_path, KERAS_NAN)
    nan_steps = [
        n for n, line in enumerate(real_lines(KERAS_NAN), 1) if re.search(r"/step - loss: nan", line)
    ]
    alert = fired(capsys, log, "nan")
    assert (alert["value"], alert["line"]) == (len(nan_steps), nan_steps[0])
    assert alert["text"] == real_lines(KERAS_NAN)[nan_steps[0] - 1].strip()


def test_nan_quiet_on_a_healthy_log(tmp_path, capsys):
    assert_quiet(capsys, copy_of(tmp_path, BASIC_LOG), "nan")


# --- overflow=N --------------------------------------------------------------------------------


def overflow_lines(log) -> list[int]:
    return [n for n, line in enumerate(real_lines(log), 1) if "overflow, still update" in line]


def test_overflow_fires_when_the_nth_in_a_row_arrives(tmp_path, capsys):
    log = copy_of(tmp_path, YOLO_OVERFLOW)
    lines = overflow_lines(YOLO_OVERFLOW)  # a warning before each printed step: none says "no overflow"
    alert = fired(capsys, log, "overflow=3")
    assert (alert["line"], alert["value"]) == (lines[2], len(lines))
    assert alert["text"] == real_lines(YOLO_OVERFLOW)[lines[2] - 1].strip()
    assert_quiet(capsys, log, f"overflow={len(lines) + 1}")


def test_overflow_flag_of_the_step_tuple_counts(tmp_path, capsys):
    log = copy_of(tmp_path, RACE_OVERFLOW)
    flagged = [n for n, line in enumerate(real_lines(RACE_OVERFLOW), 1) if "dtype=Bool, value= True" in line]
    assert fired(capsys, log, "overflow=2")["line"] == flagged[1]


def test_overflow_quiet_when_every_step_says_no_overflow(tmp_path, capsys):
    assert "overflow cond: False" in NO_OVERFLOW.read_text()
    assert_quiet(capsys, copy_of(tmp_path, NO_OVERFLOW), "overflow=1")


# --- stalled -----------------------------------------------------------------------------------


def test_stalled_fires_on_a_running_log_that_stopped_growing(tmp_path, capsys):
    log = copy_of(tmp_path, BASIC_LOG)  # no closing line, no total: a running job
    hour_ago = time.time() - 3600
    os.utime(log, (hour_ago, hour_ago))
    lines = real_lines(BASIC_LOG)
    alert = fired(capsys, log, "stalled")
    assert (alert["line"], alert["text"]) == (len(lines), lines[-1].strip())
    assert alert["value"] == pytest.approx(3600, abs=120)


def test_stalled_quiet_on_a_log_written_just_now(tmp_path, capsys):
    assert_quiet(capsys, copy_of(tmp_path, BASIC_LOG), "stalled")


# --- crashed / finished ------------------------------------------------------------------------


def test_crashed_points_at_the_exception_the_traceback_ended_with(tmp_path, capsys):
    number, text = line_of(NAN_LOG, "ValueError: ")
    alert = fired(capsys, copy_of(tmp_path, NAN_LOG), "crashed")
    assert (alert["line"], alert["text"]) == (number, text)


def test_crashed_on_a_log_cut_inside_its_traceback(tmp_path, capsys):
    number, text = line_of(ASCEND_CRASH, "Traceback (most recent call last)")
    alert = fired(capsys, copy_of(tmp_path, ASCEND_CRASH), "crashed")
    assert (alert["line"], alert["text"]) == (number, text)


def test_finished_at_the_closing_line(tmp_path, capsys):
    number, text = line_of(FINISHED_EVENT, "Finish training!")
    alert = fired(capsys, copy_of(tmp_path, FINISHED_EVENT), "finished")
    assert (alert["line"], alert["text"]) == (number, text)


def test_finished_by_its_epoch_count_at_the_last_line(tmp_path, capsys):
    lines = real_lines(FINISHED_EPOCHS)
    total = re.findall(r"Epoch:\[\s*\d+/\s*(\d+)\]", FINISHED_EPOCHS.read_text())[0]
    assert f"Epoch:[  9/ {total}]" in FINISHED_EPOCHS.read_text()  # 0-based: epoch 9 of 10 is the last
    alert = fired(capsys, copy_of(tmp_path, FINISHED_EPOCHS), "finished")
    assert (alert["line"], alert["text"], alert["value"]) == (len(lines), lines[-1].strip(), int(total))


@pytest.mark.parametrize("rule", ["crashed", "finished"])
def test_crashed_and_finished_quiet_while_running(tmp_path, capsys, rule):
    assert_quiet(capsys, copy_of(tmp_path, BASIC_LOG), rule)


# --- loss-rise=LIMIT ---------------------------------------------------------------------------


def reference_rise(losses: list[float], span: int = 10) -> list[float]:
    """Smoothed loss above its best so far, as a fraction, from the ``span``-th loss on: the EMA
    with weights (1 - 2/(span+1))**age over the values so far (pandas' ``ewm(span)``), by hand."""
    keep = 1 - 2 / (span + 1)
    smooth = [sum(v * keep ** (i - j) for j, v in enumerate(losses[: i + 1])) / sum(keep**k for k in range(i + 1))
              for i in range(len(losses))]  # fmt: skip
    judged = smooth[span - 1 :]
    return [(s - min(judged[: i + 1])) / min(judged[: i + 1]) for i, s in enumerate(judged)]


def test_loss_rise_fires_where_the_smoothed_loss_left_its_best(tmp_path, capsys):
    lines = real_lines(LOSS_SPIKES)
    losses = [float(m) for m in re.findall(r"loss: ([\d.]+),", LOSS_SPIKES.read_text())]
    rise = reference_rise(losses)
    first = next(i for i, r in enumerate(rise) if r > 0.10) + 9  # index among the loss lines
    number = [n for n, line in enumerate(lines, 1) if "loss: " in line][first]
    alert = fired(capsys, copy_of(tmp_path, LOSS_SPIKES), "loss-rise=10%")
    assert (alert["line"], alert["text"]) == (number, lines[number - 1].strip())
    assert alert["value"] == pytest.approx(rise[first - 9])


def test_loss_rise_quiet_while_the_loss_falls(tmp_path, capsys):
    losses = [float(v) for v in re.findall(r"loss is (\S+)$", BASIC_LOG.read_text(), re.MULTILINE)]
    assert max(reference_rise(losses)) < 0.10
    assert_quiet(capsys, copy_of(tmp_path, BASIC_LOG), "loss-rise=10%")


# --- eval-drop=LIMIT ---------------------------------------------------------------------------


def test_eval_drop_fires_at_the_first_worse_evaluation(tmp_path, capsys):
    accs = [(n, float(m[1])) for n, line in enumerate(real_lines(EVAL_RESULTS), 1)
            if (m := re.search(r"\{'acc': ([\d.]+)\}", line))]  # fmt: skip
    (_, best), (number, worse) = accs[0], accs[1]
    assert worse < best
    alert = fired(capsys, copy_of(tmp_path, EVAL_RESULTS), "eval-drop=1%")
    assert alert["line"] == number
    assert alert["value"] == pytest.approx((best - worse) / best)


def test_eval_drop_quiet_while_accuracy_rises(tmp_path, capsys):
    accs = [float(v) for v in re.findall(r"'acc': np.float64\(([\d.]+)\)", FIT_LOG.read_text())]
    assert accs == sorted(accs)
    assert_quiet(capsys, copy_of(tmp_path, FIT_LOG), "eval-drop=1%")


# --- throughput-drop=LIMIT ---------------------------------------------------------------------


def test_throughput_drop_fires_on_a_slower_last_epoch(tmp_path, capsys):
    """basic.log with its last TimeMonitor line replaced by fit.log's (a real, slower epoch)."""
    lines = real_lines(BASIC_LOG)
    last = max(n for n, line in enumerate(lines) if line.startswith("Train epoch time"))
    slow = next(line for line in real_lines(FIT_LOG) if line.startswith("Train epoch time: 40.154"))
    lines[last] = slow
    log = run_folder(tmp_path / "runs", "job", lines)
    per_step = [float(v) for v in re.findall(r"per step time: ([\d.]+) ms", "".join(lines))]
    base, now = 1000 / per_step[1], 1000 / per_step[2]  # the first (compile) epoch left out
    alert = fired(capsys, log, "throughput-drop=20%")
    assert (alert["line"], alert["text"]) == (last + 1, slow.strip())
    assert alert["value"] == pytest.approx((base - now) / base)


def test_throughput_drop_quiet_on_steady_step_times(tmp_path, capsys):
    assert_quiet(capsys, copy_of(tmp_path, LOSS_SPIKES), "throughput-drop=20%")
    assert_quiet(capsys, copy_of(tmp_path, BASIC_LOG, "basic"), "throughput-drop=20%")


# --- rank-lag=LIMIT ----------------------------------------------------------------------------


def ranks_folder(tmp_path, logs) -> object:
    folder = tmp_path / "runs" / "job"
    for rank, log in enumerate(logs):
        run_folder(tmp_path / "runs", "job", real_lines(log), log=f"rank_{rank}.log")
    return folder


def train_step_ms(log) -> float:
    """Mean per-step time of the training epochs, the first left out."""
    values = [
        float(v)
        for v in re.findall(r"^Train epoch time: [\d.]+ ms, per step time: ([\d.]+)", log.read_text(), re.M)
    ]
    return sum(values[1:]) / len(values[1:])


def test_rank_lag_names_the_slow_rank(tmp_path, capsys):
    folder = ranks_folder(tmp_path, [BASIC_LOG, BASIC_LOG, FIT_LOG])
    lag = train_step_ms(FIT_LOG) / train_step_ms(BASIC_LOG) - 1
    alert = fired(capsys, folder, "rank-lag=15%")
    assert (alert["rank"], alert["log"]) == (2, str(folder / "rank_2.log"))
    assert alert["value"] == pytest.approx(lag, rel=1e-6)
    assert alert["text"] == real_lines(FIT_LOG)[alert["line"] - 1].strip()


def test_rank_lag_quiet_when_ranks_keep_pace(tmp_path, capsys):
    assert_quiet(capsys, ranks_folder(tmp_path, [BASIC_LOG, BASIC_LOG]), "rank-lag=15%")


# --- cost=AMOUNT -------------------------------------------------------------------------------


def keras_epoch_s() -> list[float]:
    return [float(v) for v in re.findall(r"- (\d+)s \d+s/step", KERAS_NAN.read_text())]


def test_cost_fires_on_money_spent(tmp_path, capsys):
    log = copy_of(tmp_path, KERAS_NAN)
    prices = tmp_path / "prices.toml"
    prices.write_text(
        '[[prices]]\ndevice = "Ascend 910"\ndevices = 8\nprice_per_device_hour = 250.0\ncurrency = "CNY"\n'
    )
    spent = sum(keras_epoch_s()) / 3600 * 8 * 250.0
    assert spent > 500
    alert = fired(capsys, log, "cost=500CNY", extra=("--prices", str(prices)))
    assert alert["value"] == pytest.approx(spent) and alert["cost_so_far"] == pytest.approx(spent)
    assert alert["detail"].startswith("spent") and alert["currency"] == "CNY"
    lines = real_lines(KERAS_NAN)
    assert (alert["line"], alert["text"]) == (len(lines), lines[-1].strip())


def test_cost_fires_on_the_projection_before_the_money_is_spent(tmp_path, capsys):
    log = copy_of(tmp_path, KERAS_NAN)  # default price: one Ascend 910 at 18.2 CNY/h
    spent = sum(keras_epoch_s()) / 3600 * 18.2
    alert = fired(capsys, log, "cost=200CNY")
    assert alert["cost_so_far"] == pytest.approx(spent) and spent < 200
    assert alert["detail"].startswith("projected") and alert["value"] >= 200


def test_cost_quiet_on_a_cheap_run(tmp_path, capsys):
    assert_quiet(capsys, copy_of(tmp_path, BASIC_LOG), "cost=200CNY")


# --- every alert says what it cost so far ------------------------------------------------------


def test_every_alert_carries_the_cost_so_far(tmp_path, capsys):
    log = copy_of(tmp_path, KERAS_NAN)
    code, found, _ = once(capsys, log, "nan", "cost=200CNY")
    assert code == 1
    spent = sum(keras_epoch_s()) / 3600 * 18.2
    assert {a["rule"] for a in found} == {"nan", "cost=200CNY"}
    assert all(a["cost_so_far"] == pytest.approx(spent) and a["currency"] == "CNY" for a in found)
