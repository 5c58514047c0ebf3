"""``parse-log``'s summary (``parsers.summarize``) on the cases its rules single out: a NaN loss
that ended in a traceback, a run whose epochs are counted by the status rule itself, throughput
from two sources, eval metrics in the order the log printed them.

Each log is a few lines of the MindSpore callbacks' own text (or the reference log with one line
edited); the expected figures are read off that text.  The store's runs table is checked against
the same text where it applies the same rule (``parsers.store.summary``).
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

import pytest
from cli_logs import THROUGHPUT, reference_log

import parsers
from parsers.schema import TABLES
from parsers.store import RunStore
from parsers.store.summary import run_epochs
from parsers.summary import mean_after_first, run_status, status_of, wall_time_s, warmup_rows
from tests.conftest import DATA

FIT = DATA / "mindspore-2.10-cpu" / "fit.log"  # real MindSpore 2.10 CPU run: eval and train times
MEGATRON = DATA / "megatron" / "megatron_llm_lm_loss_issue11.log"
TRACEBACK = 'Traceback (most recent call last):\n  File "train.py", line 3, in <module>\nRuntimeError: boom\n'


def _store_row(runs: Path, name: str, text: str) -> dict:
    """The runs-table row of a run folder holding ``text`` as its one log."""
    (runs / name).mkdir(parents=True)
    (runs / name / "train.log").write_text(text)
    store = RunStore(runs)
    store.refresh()
    return store.runs().set_index("run").loc[name].to_dict()


def test_a_nan_loss_that_ended_in_a_traceback_is_crashed_even_with_a_record_after_it(tmp_path: Path) -> None:
    """A worker's traceback, then one more step line from another process: the last record comes
    after the error, so only 'a NaN loss and a traceback' says the run crashed."""
    head = "epoch: 1 step: 1, loss is 2.5\nepoch: 1 step: 2, loss is nan\n"
    tail = "epoch: 1 step: 3, loss is 2.4\n"
    for name, text, status in (
        ("nan_then_traceback", head + TRACEBACK + tail, "crashed"),
        # the worker died printing it: a traceback cut before its error line, no other event
        ("nan_then_cut_traceback", head + TRACEBACK.rsplit("RuntimeError", 1)[0] + tail, "crashed"),
        ("nan_only", head + tail, "running"),  # a NaN loss alone does not end a run
        ("traceback_only", head.replace("nan", "2.45") + TRACEBACK + tail, "running"),  # record after it
    ):
        log = parsers.parse_log(text)
        assert parsers.summarize(log)["status"] == status, name
        assert run_status(log) == status, name
        assert _store_row(tmp_path / "runs", name, text)["status"] == status, name


def test_the_status_of_a_log_counts_its_epochs_itself_when_not_given_them() -> None:
    """``run_status(log)`` alone: a log that announced two epochs and ran both is finished,
    one that announced three is still running -- the same as ``summarize`` says."""
    for total, status in ((2, "finished"), (3, "running")):
        text = (
            f"Start run training, total epoch: {total}.\n"
            "epoch: 1 step: 1, loss is 2.5\nepoch: 1 step: 2, loss is 2.1\n"
            "epoch: 2 step: 1, loss is 1.5\nepoch: 2 step: 2, loss is 1.2\n"
        )
        log = parsers.parse_log(text)
        assert run_status(log) == parsers.summarize(log)["status"] == status


def test_throughput_printed_for_some_epochs_and_computed_for_others_names_both_sources(
    tmp_path: Path,
) -> None:
    """The reference log prints samples/s for every epoch; with epoch 1's figure cut off and
    the batch size given, epoch 1's throughput is computed from its step time."""
    text = reference_log(tmp_path / "ref.log").read_text()
    printed = [float(v) for v in THROUGHPUT.findall(text)]
    cut = re.sub(r", train samples per second of cluster: [\d.]+", "", text, count=1)
    summary = parsers.summarize(parsers.parse_log("Namespace(batch_size=32, device_num=1)\n" + cut))
    assert summary["samples_per_sec_source"] == "computed,printed"
    assert summary["samples_per_sec"] == pytest.approx(sum(printed[1:]) / 3)  # epoch 1 left out
    alone = parsers.summarize(parsers.parse_log(text))
    assert alone["samples_per_sec_source"] == "printed"


def test_eval_metrics_are_listed_in_the_order_the_log_printed_them() -> None:
    text = (
        "epoch: 1 step: 1, loss is 2.5\n{'top_5_accuracy': 0.5, 'loss': 1.9, 'top_1_accuracy': 0.2}\n"
        "epoch: 2 step: 1, loss is 1.5\n{'top_5_accuracy': 0.75, 'loss': 1.4, 'top_1_accuracy': 0.25}\n"
    )
    evals = parsers.summarize(parsers.parse_log(text))["evals"]
    assert list(evals.items()) == [("top_5_accuracy", 0.75), ("loss", 1.4), ("top_1_accuracy", 0.25)]


def test_a_run_without_epoch_lines_has_an_empty_epochs_table() -> None:
    """``run_epochs`` of a run none of whose logs printed an epoch line: the table's columns, no rows."""
    empty = run_epochs([], {"batch_size": 32})
    assert len(empty) == 0 and list(empty.columns) == list(TABLES["epochs"])


def test_the_mean_epoch_time_leaves_out_the_first_epoch_only_when_there_are_more() -> None:
    """One timed epoch: its own time is the mean (nothing else is known); two: the second's."""
    one = "epoch: 1 step: 1, loss is 2.5\nTrain epoch time: 1500.5 ms, per step time: 1500.5 ms\n"
    two = one + "epoch: 2 step: 1, loss is 2.1\nTrain epoch time: 700.25 ms, per step time: 700.25 ms\n"
    for text, mean_ms, wall_s in ((one, 1500.5, 1.5005), (two, 700.25, 2.20075)):
        summary = parsers.summarize(parsers.parse_log(text))
        assert summary["mean_epoch_time_ms"] == mean_ms
        assert summary["total_time_s"] == pytest.approx(wall_s, abs=1e-9)


def test_the_wall_time_adds_each_epochs_evaluation(tmp_path: Path) -> None:
    """The CPU fit log prints 'Eval epoch time' before each 'Train epoch time' (see its
    .expect.toml): the wall time is both, summed, in parse-log's summary and the runs table."""
    text = FIT.read_text()
    train = [float(v) for v in re.findall(r"^Train epoch time: ([\d.]+) ms", text, re.MULTILINE)]
    evals = [float(v) for v in re.findall(r"^Eval epoch time: ([\d.]+) ms", text, re.MULTILINE)]
    assert (train, evals) == ([245.539, 40.154, 39.405], [244.540, 39.069, 38.371])
    wall_s = (sum(train) + sum(evals)) / 1000.0
    assert parsers.summarize(parsers.parse_log(FIT))["total_time_s"] == pytest.approx(wall_s, abs=1e-9)
    assert _store_row(tmp_path / "runs", "fit", text)["wall_time_s"] == pytest.approx(wall_s, abs=1e-9)


def test_epochs_that_took_no_time_give_no_wall_time() -> None:
    """Epoch times of 0 ms (a timer that printed nothing useful): no wall time, not just the evals'."""
    text = (
        "epoch: 1 step: 1, loss is 2.5\nTrain epoch time: 0.0 ms, per step time: 0.0 ms\n"
        "Eval epoch time: 5.0 ms, per step time: 5.0 ms\n"
    )
    assert parsers.summarize(parsers.parse_log(text))["total_time_s"] is None


def test_a_run_that_could_not_be_read_has_done_no_epochs(tmp_path: Path) -> None:
    row = _store_row(tmp_path / "runs", "binary", "\x00\x01\x02 not text")
    assert (row["status"], row["epochs_done"], row["steps"]) == ("error", 0, 0)
    assert row["error"].endswith("binary file, not a text log")


def test_a_log_that_counts_iterations_not_epochs_has_done_no_epochs(tmp_path: Path) -> None:
    """Megatron-LLM's 'iteration 125/250000' lines (four of them, see the log's .expect.toml)
    number iterations, not epochs: 0 epochs done, in the summary and the runs table."""
    text = MEGATRON.read_text()
    assert len(re.findall(r"^ iteration +\d+/ *250000 \|", text, re.MULTILINE)) == 4
    summary = parsers.summarize(parsers.parse_log(MEGATRON))
    assert (summary["steps"], summary["epochs_done"], summary["status"]) == (4, 0, "running")
    row = _store_row(tmp_path / "runs", "megatron", text)
    assert (row["steps"], row["epochs_done"]) == (4, 0)


def test_the_best_metric_is_the_one_the_ranks_printed_most_in_all(tmp_path: Path) -> None:
    """Each rank prints 'acc' twice; rank 1 also prints 'f1' three times: 'acc' was printed most
    in the run (4 against 3) though 'f1' was in each log that has it, and its best value is the
    highest of all four."""
    runs = tmp_path / "runs"
    (runs / "job").mkdir(parents=True)
    (runs / "job" / "rank_0.log").write_text(
        "epoch: 1 step: 1, loss is 2.5\n{'acc': 0.5}\nepoch: 2 step: 1, loss is 2.0\n{'acc': 0.7}\n"
    )
    (runs / "job" / "rank_1.log").write_text(
        "epoch: 1 step: 1, loss is 2.4\n{'acc': 0.55, 'f1': 0.1}\nepoch: 2 step: 1, loss is 1.9\n"
        "{'acc': 0.6, 'f1': 0.2}\nepoch: 3 step: 1, loss is 1.7\n{'f1': 0.3}\n"
    )
    store = RunStore(runs)
    store.refresh()
    row = store.runs().set_index("run").loc["job"]
    assert (row["best_metric"], row["best_value"]) == ("acc", 0.7)


def test_the_mean_without_a_warm_up_leaves_out_the_first_known_value_only() -> None:
    """The Ranks view's rule (no per-rank warm-up given): the first known value is the warm-up;
    unknown values are skipped, and a single value is its own mean."""
    assert mean_after_first([math.nan, 900.0, 100.0, 110.0]) == 105.0
    assert mean_after_first([math.nan, 50.0, math.nan]) == 50.0
    assert mean_after_first([math.nan]) is None and mean_after_first([]) is None


def test_throughput_leaves_out_the_first_epoch_in_the_summary_and_the_runs_table(tmp_path: Path) -> None:
    """DS-CNN prints each epoch's mean throughput (``mean_wps:12102.26 wavs/sec``, then 12107.45):
    the first epoch compiles, so the run's throughput is the second's, in both places."""
    text = (DATA / "modelzoo" / "dscnn_eval_acc_percent.log").read_text()
    printed = [float(v) for v in re.findall(r"mean_wps:([\d.]+)", text)]
    assert printed == [12102.26, 12107.45]
    assert parsers.summarize(parsers.parse_log(text))["samples_per_sec"] == printed[1]
    assert _store_row(tmp_path / "runs", "dscnn", text)["samples_per_sec"] == printed[1]


def test_the_best_of_a_loss_like_eval_metric_is_its_lowest(tmp_path: Path) -> None:
    """A run evaluated by its validation loss only: the runs table's best value is the lowest
    loss printed (0.41), not the highest."""
    text = (
        "epoch: 1 step: 1, loss is 2.5\nEval result: epoch 1, metrics: {'val_loss': 0.9}\n"
        "epoch: 2 step: 1, loss is 2.1\nEval result: epoch 2, metrics: {'val_loss': 0.41}\n"
        "epoch: 3 step: 1, loss is 2.0\nEval result: epoch 3, metrics: {'val_loss': 0.55}\n"
    )
    row = _store_row(tmp_path / "runs", "a", text)
    assert (row["best_metric"], row["best_value"]) == ("val_loss", 0.41)


NAN = math.nan


def test_a_ranks_compile_epoch_is_its_first_epoch_with_a_value() -> None:
    """The warm-up rows, rule by rule, on the tables the parsers build:
    - a rank whose first epoch row has no time (only an evaluation, say) compiled in the first
      epoch that has one, which is left out;
    - line order decides, not table order;
    - an untagged log beside a tagged rank is a rank of its own, with its own compile epoch;
    - a timing with no epoch number is an epoch of its own: only the first is the warm-up."""
    values = [NAN, 500.0, 100.0]
    warm = warmup_rows(rank=[0, 0, 0], epoch=[1, 2, 3], line=[10, 20, 30], value=values)
    assert warm.tolist() == [False, True, False]
    assert mean_after_first(values, warm) == 100.0
    assert warmup_rows(rank=[0, 0], epoch=[2, 1], line=[20, 10], value=[100.0, 900.0]).tolist() == [
        False,
        True,
    ]
    tagged_and_not = warmup_rows(
        rank=[0, 0, NAN, NAN], epoch=[1, 2, 3, 4], line=[1, 2, 1, 2], value=[900.0, 100.0, 800.0, 120.0]
    )
    assert tagged_and_not.tolist() == [True, False, True, False]
    unnumbered = warmup_rows(rank=[NAN] * 3, epoch=[NAN] * 3, line=[1, 2, 3], value=[900.0, 100.0, 110.0])
    assert unnumbered.tolist() == [True, False, False]


def test_timings_without_an_epoch_number_each_add_to_the_wall_time() -> None:
    """TimeMonitor lines the parser could not number are still time spent: 1 s + 2 s + 0.5 s of eval."""
    assert wall_time_s([1000.0, 2000.0], [NAN, 500.0], rank=[NAN, NAN], epoch=[NAN, NAN]) == 3.5


def test_an_error_on_the_last_records_own_line_is_a_crash() -> None:
    """Two ranks' output glued: the last record and an ``[ERROR]`` share line 7.  Nothing was
    recorded after the error, so the run crashed."""
    common = {"finished": False, "total_epochs": None, "epochs_done": 1, "nan_and_traceback": False}
    assert status_of(last_record_line=7, last_bad_line=7, **common) == "crashed"
    assert status_of(last_record_line=8, last_bad_line=7, **common) == "running"


def test_a_run_that_prints_only_minute_long_epoch_times_is_not_stalled_after_fifteen_minutes(
    tmp_path: Path,
) -> None:
    """TimeMonitor alone (no step records): one line a minute, so quiet for 15 minutes is
    under the 20-line stall limit (20 minutes); quiet for 25 minutes is stalled."""
    text = "".join(f"Train epoch time: {60000 + e:.3f} ms, per step time: 100.000 ms\n" for e in range(3))
    (tmp_path / "job").mkdir()
    log = tmp_path / "job" / "train.log"
    log.write_text(text)
    store = RunStore(tmp_path)
    for quiet_min, status in ((15, "running"), (25, "stalled")):
        then = time.time() - quiet_min * 60
        os.utime(log, (then, then))
        store.refresh()
        assert store.runs().set_index("run").loc["job", "status"] == status, quiet_min


def test_each_rank_leaves_its_own_compiling_epoch_out_of_the_throughput(tmp_path: Path) -> None:
    """Two DS-CNN ranks print each epoch's mean throughput (``mean_wps``): both compiled in epoch 1,
    so the run's throughput is the mean of epochs 2 and 3 of both ranks, in both places."""
    rates = {0: [9000.0, 12000.0, 12100.0], 1: [8000.0, 11800.0, 11900.0]}
    folder = tmp_path / "runs" / "job"
    folder.mkdir(parents=True)
    for rank, per_epoch in rates.items():
        (folder / f"rank_{rank}.log").write_text(
            "".join(
                f"epoch[{e}], iter[{222 * (e + 1) - 1}], loss:{0.5 / (e + 1)}, mean_wps:{wps} wavs/sec\n"
                for e, wps in enumerate(per_epoch)
            )
        )
    expected = (12000.0 + 12100.0 + 11800.0 + 11900.0) / 4
    assert parsers.summarize(parsers.parse_log(folder))["samples_per_sec"] == pytest.approx(expected)
    store = RunStore(tmp_path / "runs")
    store.refresh()
    assert store.runs().set_index("run").loc["job", "samples_per_sec"] == pytest.approx(expected)


def test_an_untagged_log_beside_rank_1_is_a_rank_of_its_own() -> None:
    """A missing rank is no rank: rows with none are one rank beside rank 1 (not rank 1's), and
    beside rank 0 (not rank 0's) -- for the compile epoch and for the wall time alike."""
    warm = warmup_rows(
        rank=[1, 1, NAN, NAN], epoch=[1, 2, 3, 4], line=[1, 2, 1, 2], value=[900.0, 100.0, 800.0, 120.0]
    )
    assert warm.tolist() == [True, False, True, False]
    # rank 0 took 2 s, the untagged rank 10 s: the run took 10 s (merged, they would make 12 s)
    assert (
        wall_time_s([1000.0, 1000.0, 5000.0, 5000.0], [NAN] * 4, rank=[0, 0, NAN, NAN], epoch=[1, 2, 3, 4])
        == 10.0
    )
    assert (
        wall_time_s([1000.0, 1000.0, 5000.0, 5000.0], [NAN] * 4, rank=[1, 1, NAN, NAN], epoch=[1, 2, 3, 4])
        == 10.0
    )
