"""The cases that fool hand-written log parsers, each checked the way a user would."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import parsers
from parsers.schema import conform
from tests.conftest import DATA

NAN_LOG = DATA / "mindspore-2.10-cpu" / "nan.log"


def test_nan_abort_is_an_event_not_a_loss_record() -> None:
    log = parsers.parse_log(NAN_LOG)
    assert log.steps["step"].tolist() == [1]  # step 2 never printed a loss
    nan = log.events[log.events["kind"] == "nan"]
    assert len(nan) == 1
    assert nan["message"].iloc[0].startswith("ValueError: In epoch: 1 step: 2, loss is NAN or INF")
    assert parsers.summarize(log)["status"] == "crashed"


def test_a_crash_says_in_which_epoch_it_happened() -> None:
    """basic.log's run killed in epoch 3, after step 14 (nan.log's traceback, from the same
    MindSpore, as the crash): the traceback and its error are events of epoch 3 at their lines."""
    basic = (DATA / "mindspore-2.10-cpu" / "basic.log").read_text().splitlines(keepends=True)
    cut = basic.index("epoch: 3 step: 14, loss is 0.49895575642585754\n") + 1
    crash = NAN_LOG.read_text().splitlines(keepends=True)[1:]  # from "Traceback (most recent call last):"
    log = parsers.parse_log("".join(basic[:cut] + crash))
    traceback = log.events[log.events["kind"] == "traceback"]
    assert (traceback["line"].tolist(), traceback["epoch"].tolist()) == ([cut + 1], [3])
    assert set(log.events["epoch"]) == {3}
    assert parsers.summarize(log)["status"] == "crashed"


def test_quoted_format_string_in_traceback_is_no_record() -> None:
    quoted = (
        '    raise ValueError("In epoch: {} step: {}, loss is NAN or INF, training process cannot continue, "'
    )
    log = parsers.parse_log(NAN_LOG)
    line = NAN_LOG.read_text().splitlines().index(quoted) + 1
    for table in log.tables().values():
        assert line not in table["line"].tolist()


def test_a_nan_loss_line_is_kept_as_nan_and_flagged() -> None:
    text = "epoch: 1 step: 1, loss is 0.5\nepoch: 1 step: 2, loss is nan\nepoch: 1 step: 3, loss is inf\n"
    log = parsers.parse_log(text)
    losses = log.steps["loss"].tolist()
    assert losses[0] == 0.5 and pd.isna(losses[1]) and losses[2] == float("inf")
    assert log.events.loc[log.events["kind"] == "nan", "line"].tolist() == [2, 3]


def test_final_line_without_newline_counts_only_when_complete() -> None:
    complete = "epoch: 1 step: 1, loss is 0.5\nepoch: 1 step: 2, loss is 0.25"
    cut_in_number = "epoch: 1 step: 1, loss is 0.5\nepoch: 1 step: 2, loss is 0."
    cut_in_text = "epoch: 1 step: 1, loss is 0.5\nepoch: 1 step: 2, loss"
    assert parsers.parse_log(complete).steps["loss"].tolist() == [0.5, 0.25]
    assert parsers.parse_log(cut_in_number).steps["loss"].tolist() == [0.5]
    assert parsers.parse_log(cut_in_text).steps["loss"].tolist() == [0.5]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # steps restart each epoch (LossMonitor), 3 steps per epoch
        (
            [
                "epoch: 1 step: 1,",
                "epoch: 1 step: 2,",
                "epoch: 1 step: 3,",
                "epoch: 2 step: 1,",
                "epoch: 2 step: 2,",
            ],
            [1, 2, 3, 4, 5],
        ),
        # steps count globally (older scripts, cumulative counters)
        (
            [
                "epoch: 1 step: 1,",
                "epoch: 1 step: 2,",
                "epoch: 1 step: 3,",
                "epoch: 2 step: 4,",
                "epoch: 2 step: 5,",
            ],
            [1, 2, 3, 4, 5],
        ),
        # sink mode: one record per epoch at the last step
        (["epoch: 1 step: 15,", "epoch: 2 step: 15,", "epoch: 3 step: 15,"], [15, 30, 45]),
        # sink mode with a cumulative counter
        (["epoch: 1 step: 15,", "epoch: 2 step: 30,", "epoch: 3 step: 45,"], [15, 30, 45]),
    ],
)
def test_global_step_right_whether_steps_restart_or_accumulate(lines: list[str], expected: list[int]) -> None:
    text = "".join(f"{line} loss is 0.5\n" for line in lines)
    assert parsers.parse_log(text).steps["global_step"].tolist() == expected


def test_two_ranks_out_of_step_in_one_file_keep_their_cumulative_counters() -> None:
    """Rank 0 starts epoch 2 while rank 1 is still in epoch 1: the file's own order falls back at
    that change, each rank's counter does not, so the counters are run-wide (global step = step)."""
    rows = [
        (0, 1, 1),
        (1, 1, 1),
        (0, 1, 2),
        (0, 1, 3),
        (0, 2, 4),
        (1, 1, 2),
        (1, 1, 3),
        (1, 2, 4),
        (0, 2, 5),
        (1, 2, 5),
    ]
    text = "".join(f"[rank {rank}] epoch: {epoch} step: {step}, loss is 0.5\n" for rank, epoch, step in rows)
    steps = parsers.parse_log(text).steps
    assert steps["rank"].tolist() == [rank for rank, _, _ in rows]
    assert steps["global_step"].tolist() == [step for _, _, step in rows]


def test_timemonitor_line_closes_the_epoch_above_it() -> None:
    text = (
        "epoch: 1 step: 2, loss is 0.9\nepoch time: 100.0 ms, per step time: 50.0 ms\n"
        "epoch: 2 step: 2, loss is 0.8\nepoch time: 80.0 ms, per step time: 40.0 ms\n"
    )
    epochs = parsers.parse_log(text).epochs
    assert epochs[["epoch", "epoch_time_ms", "step_time_ms", "steps"]].values.tolist() == [
        [1, 100.0, 50.0, 2],
        [2, 80.0, 40.0, 2],
    ]


PREFIXES = [
    "",
    "2024-05-06 19:00:42,939 - INFO - ",
    "[INFO] ",
    "[rank 3] ",
    "[WARNING] ME(2276:139885872941952,MainProcess):2024-05-06-19:00:42.939.000 [train.py:55] ",
    "2025-04-07 15:34:29,173 - [mindformers/core/callback/callback.py:529] - INFO - ",
    "[2023-11-05 07:00:48] mindcv.utils.callbacks INFO - ",
]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_logging_prefixes_parse_like_bare_lines(prefix: str) -> None:
    bare = (
        "epoch: 1 step: 1, loss is 0.75\n"
        "epoch: 1 step: 2, loss is Tensor(shape=[], dtype=Float32, value= 0.5)\n"
        "Train epoch time: 405.299 ms, per step time: 27.020 ms\n"
        "epoch 1 cost time = 508.71, train step num: 2, one step time: 27.04 ms, "
        "train samples per second of cluster: 1183.2\n"
    )
    wrapped = "".join(prefix + line + "\n" for line in bare.splitlines())
    plain, prefixed = parsers.parse_log(bare), parsers.parse_log(wrapped)
    cols = ["epoch", "step", "global_step", "loss"]
    pd.testing.assert_frame_equal(plain.steps[cols], prefixed.steps[cols])
    ecols = ["epoch", "epoch_time_ms", "step_time_ms", "steps", "samples_per_sec"]
    pd.testing.assert_frame_equal(plain.epochs[ecols], prefixed.epochs[ecols])


def test_rank_tag_in_prefix_fills_rank() -> None:
    text = "[rank 0] epoch: 1 step: 1, loss is 0.7\n[rank 1] epoch: 1 step: 1, loss is 0.9\n"
    steps = parsers.parse_log(text).steps
    assert steps["rank"].tolist() == [0, 1]


def test_modelarts_platform_lines_are_noise_never_records() -> None:
    text = (
        'time="2023-08-28T00:41:45+08:00" level=info msg="epoch time: 5 ms, per step time: 5 ms" file="x.go:1"\n'
        "[ModelArts Service Log]epoch: 1 step: 1, loss is 0.3\n"
        "[Modelarts Service Log]Training completed.\n"
        "epoch: 1 step: 1, loss is 0.7\n"
    )
    log = parsers.parse_log(text)
    assert log.steps["loss"].tolist() == [0.7]
    assert len(log.epochs) == 0
    assert log.meta["lines_noise"] == 3
    assert log.meta["lines_skipped"] == 0


@pytest.mark.parametrize(
    ("line", "loss", "overflow", "scale"),
    [
        ("epoch: 3 step: 10, loss is 0.78", 0.78, None, None),
        ("epoch: 3 step: 10, loss is [0.78]", 0.78, None, None),
        ("epoch: 3 step: 10, loss is Tensor(shape=[], dtype=Float32, value= 0.78)", 0.78, None, None),
        ("epoch: 3 step: 10, loss is Tensor(shape=[1], dtype=Float32, value= [ 0.78])", 0.78, None, None),
        (
            "epoch: 3 step: 10, loss is (Tensor(shape=[], dtype=Float32, value= 0.78), "
            "Tensor(shape=[], dtype=Bool, value= True), Tensor(shape=[], dtype=Float32, value= 65536))",
            0.78,
            True,
            65536.0,
        ),
        ("epoch: 3 step: 10, loss is (0.78, False, 65536.0)", 0.78, False, 65536.0),
        ("epoch:3 step:10, loss is 0.78", 0.78, None, None),
        ("epoch: 3 step: 10, loss is 7.8e-05", 7.8e-05, None, None),
    ],
)
def test_lossmonitor_variants(line: str, loss: float, overflow: bool | None, scale: float | None) -> None:
    log = parsers.parse_log(line + "\n")
    row = log.steps.iloc[0]
    assert (row["epoch"], row["step"], row["loss"]) == (3, 10, loss)
    assert (None if pd.isna(row["overflow"]) else bool(row["overflow"])) == overflow
    assert (None if pd.isna(row["loss_scale"]) else row["loss_scale"]) == scale
    if overflow:
        assert log.events["kind"].tolist() == ["overflow"]


def test_announced_total_and_finish_events() -> None:
    text = "Start run training, total epoch: 90.\nepoch: 1 step: 1, loss is 0.5\nResNet50 training success\n"
    log = parsers.parse_log(text)
    assert log.meta["total_epochs"] == 90
    assert log.events["kind"].tolist() == ["start", "finish"]


def test_hyperparameters_from_namespace_and_config_dict() -> None:
    text = (
        "Namespace(batch_size=32, lr=0.1, device_target='Ascend', dataset_path='/cache/data')\n"
        "{'class_num': 9, 'momentum': 0.9, 'lr_decay_mode': 'cosine'}\n"
        "epoch: 1 step: 1, loss is 0.5\n"
        "{'acc': np.float64(0.93)}\n"
    )
    log = parsers.parse_log(text)
    assert log.meta["hparams"] == {
        "batch_size": 32,
        "lr": 0.1,
        "device_target": "Ascend",
        "dataset_path": "/cache/data",
        "class_num": 9,
        "momentum": 0.9,
        "lr_decay_mode": "cosine",
    }
    assert log.meta["device"] == "Ascend"
    assert log.evals[["metric", "value"]].values.tolist() == [["acc", 0.93]]


def test_throughput_computed_from_batch_size_says_so() -> None:
    text = "Namespace(batch_size=32, device_num=8)\nepoch: 1 step: 10, loss is 0.5\nepoch time: 1000.0 ms, per step time: 100.0 ms\n"
    epochs = parsers.parse_log(text).epochs
    assert epochs["samples_per_sec"].tolist() == [32 * 8 * 1000.0 / 100.0]
    assert epochs["samples_per_sec_source"].tolist() == ["computed"]


def test_a_printed_throughput_stands_and_only_the_missing_one_is_computed() -> None:
    """The model zoo's line prints the cluster's samples per second for epoch 1 (2500, not the
    32 x 8 / 100 ms = 2560 the batch size gives); epoch 2's TimeMonitor line prints none, so only
    epoch 2's is computed (32 x 8 / 80 ms), and each row says which it is."""
    text = (
        "Namespace(batch_size=32, device_num=8)\n"
        "epoch: 1 step: 10, loss is 0.5\n"
        "epoch 1 cost time = 1.00, train step num: 10, one step time: 100.00 ms, "
        "train samples per second of cluster: 2500.0\n"
        "epoch: 2 step: 10, loss is 0.4\n"
        "epoch time: 800.0 ms, per step time: 80.0 ms\n"
    )
    epochs = parsers.parse_log(text).epochs
    assert epochs["samples_per_sec"].tolist() == [2500.0, 32 * 8 * 1000.0 / 80.0]
    assert epochs["samples_per_sec_source"].tolist() == ["printed", "computed"]


def test_chinese_event_lines_and_prefixes() -> None:
    text = (
        "开始训练, 总轮数: 3\n"
        "[训练] epoch: 1 step: 1, loss is 0.5\n"
        "日志 Train epoch time: 100.5 ms, per step time: 50.2 ms\n"
        "保存 checkpoint: ./ckpt/resnet-1_1.ckpt\n"
        "训练完成! 总耗时: 0.1 分钟\n"
    )
    log = parsers.parse_log(text)
    assert log.steps[["epoch", "step", "loss"]].values.tolist() == [[1, 1, 0.5]]
    assert log.epochs["epoch_time_ms"].tolist() == [100.5]
    assert log.events["kind"].tolist() == ["start", "checkpoint", "finish"]
    assert log.meta["total_epochs"] == 3


@pytest.mark.parametrize(
    ("line", "epoch_ms", "step_ms", "data_ms", "eval_ms"),
    [
        ("epoch time: 515333.027 ms, per step time: 27.397 ms", 515333.027, 27.397, None, None),
        ("Train epoch time: 405.299 ms, per step time: 27.020 ms", 405.299, 27.020, None, None),
        (
            "Train epoch time: 405.299 ms, per step time: 27.020 ms (data time: 3.125 ms)",
            405.299,
            27.020,
            3.125,
            None,
        ),
        ("Epoch time:360760.985, per step time:288.378", 360760.985, 288.378, None, None),
        ("epoch time: 429.470 ms", 429.470, None, None, None),
        ("Eval epoch time: 815743.776 ms, per step time: 163.149 ms", None, None, None, 815743.776),
    ],
)
def test_timemonitor_variants(line: str, epoch_ms, step_ms, data_ms, eval_ms) -> None:
    row = parsers.parse_log("epoch: 1 step: 1, loss is 0.5\n" + line + "\n").epochs.iloc[0]
    got = [row["epoch_time_ms"], row["step_time_ms"], row["data_time_ms"], row["eval_time_ms"]]
    assert [None if pd.isna(v) else v for v in got] == [epoch_ms, step_ms, data_ms, eval_ms]
    assert row["epoch"] == 1


def test_huggingface_trainer_dicts() -> None:
    text = (
        "{'loss': 2.345, 'learning_rate': 0.000018, 'epoch': 0.5}\n"
        "{'eval_loss': 1.892, 'eval_accuracy': 0.876, 'eval_runtime': 4.12, 'epoch': 0.5}\n"
        "{'loss': 1.345, 'grad_norm': 1.7, 'learning_rate': 0.000009, 'epoch': 1.5}\n"
        "{'eval_loss': 1.5, 'eval_accuracy': 0.9, 'eval_samples_per_second': 100.0, 'epoch': 2.0}\n"
        "{'train_runtime': 510.4751, 'train_samples_per_second': 195.896, 'train_loss': 2.65, 'epoch': 2.0}\n"
    )
    log = parsers.parse_log(text)
    assert log.meta["formats"] == ["huggingface"]
    assert log.steps[["epoch", "global_step", "loss", "lr"]].values.tolist() == [
        [1, 1, 2.345, 0.000018],
        [2, 2, 1.345, 0.000009],
    ]
    assert log.evals[["epoch", "metric", "value"]].values.tolist() == [
        [1, "eval_loss", 1.892],
        [1, "eval_accuracy", 0.876],
        [2, "eval_loss", 1.5],
        [2, "eval_accuracy", 0.9],
    ]
    assert log.events["kind"].tolist() == ["finish"]


def test_mindformers_nested_eval_dict() -> None:
    # As published in the MindFormers LLaMA README (run_mode eval, wiki2048 perplexity).
    line = "PerplexityMetric = {'PerplexityMetric': {'loss': 2.1142693907022476, 'PPL': 8.283531529594038}}\n"
    evals = parsers.parse_log(line).evals
    assert evals[["metric", "value"]].values.tolist() == [
        ["loss", 2.1142693907022476],
        ["PPL", 8.283531529594038],
    ]


def test_megatron_skipped_iterations_flag_overflow() -> None:
    text = (
        "iteration      200/    1000 | elapsed time per iteration (ms): 430.0 | learning rate: 1.342E-04 | "
        "lm loss: 7.399415E+00 | loss scale: 16384.0 | number of skipped iterations:   2 | number of nan iterations:   0 |\n"
        "iteration      210/    1000 | elapsed time per iteration (ms): 431.0 | learning rate: 1.342E-04 | "
        "lm loss: 7.3E+00 | loss scale: 8192.0 | number of skipped iterations:   0 | number of nan iterations:   0 |\n"
    )
    log = parsers.parse_log(text)
    assert log.steps[["global_step", "loss", "loss_scale", "step_time_ms"]].values.tolist() == [
        [200, 7.399415, 16384.0, 430.0],
        [210, 7.3, 8192.0, 431.0],
    ]
    assert log.steps["overflow"].tolist() == [True, False]
    assert log.events[["kind", "line"]].values.tolist() == [["overflow", 1]]


def test_key_value_config_dump_gives_hyperparameters() -> None:
    text = (
        "epoch_size: 90\nbatch_size: 32\nlr_decay_mode: cosine\nuse_label_smooth: True\ndata_path: /cache/data\n"
        "epoch: 1 step: 1, loss is 0.5\n"
        "note: something happened\n"
    )
    log = parsers.parse_log(text)
    assert log.meta["hparams"] == {
        "epoch_size": 90,
        "batch_size": 32,
        "lr_decay_mode": "cosine",
        "use_label_smooth": True,
        "data_path": "/cache/data",
    }
    assert log.meta["lines_skipped"] == 1  # a lone "key: value" line is not a config dump


def test_eval_row_order_does_not_depend_on_the_hash_seed() -> None:
    """Two processes must give the same tables (the store compares them across processes)."""
    import subprocess
    import sys

    code = (
        "import parsers; log = parsers.parse_log('tests/data/pytorch/torchvision_metriclogger_deepspark.log');"
        "print(log.evals['metric'].tolist())"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**__import__("os").environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            cwd=str(DATA.parent.parent),
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(seen) == 1, seen


def test_timings_that_do_not_divide_say_nothing_about_steps_per_epoch() -> None:
    """A Train epoch time of 1000 ms at 300 ms a step is 3.33 steps: a rounded or averaged timer,
    not a count.  The steps printed (7 an epoch) number the second epoch's step 2 as step 9."""
    epoch = "Train epoch time: 1000.000 ms, per step time: 300.000 ms\n"
    text = "".join(f"epoch: 1 step: {s}, loss is {1 / s}\n" for s in range(1, 8)) + epoch
    text += "epoch: 2 step: 1, loss is 0.1\nepoch: 2 step: 2, loss is 0.09\n"
    log = parsers.parse_log(text)
    assert log.meta["steps_per_epoch"] == 7
    assert log.steps["global_step"].tolist()[-2:] == [8, 9]


def test_a_step_time_rounded_to_zero_prints_no_warning_and_guesses_no_steps() -> None:
    """MindSpore's TimeMonitor rounds to 3 decimals: a tiny sink-mode epoch prints ``per step time:
    0.000 ms`` (and an empty one ``epoch time: 0.000 ms`` too).  Dividing by it must not print numpy's
    "RuntimeWarning: divide by zero" on the user's terminal, nor make a steps count of infinity."""
    text = (
        "epoch: 1 step: 4, loss is 0.5\n"
        "Train epoch time: 12.000 ms, per step time: 0.000 ms\n"
        "epoch: 2 step: 4, loss is 0.4\n"
        "Train epoch time: 0.000 ms, per step time: 0.000 ms\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning is a failure
        log = parsers.parse_log(text)
    assert log.epochs["epoch_time_ms"].tolist() == [12.0, 0.0]
    assert log.epochs["steps"].isna().all()
    assert log.meta["steps_per_epoch"] == 4  # the largest step printed, not 12 / 0


def test_events_are_listed_in_the_order_the_log_printed_them() -> None:
    """A NaN loss (found in the step records) and a crash (read from its own lines) are one list in
    line order, numbered from 0: the run page and ``events.csv`` tell the story as it happened."""
    text = (
        "epoch: 1 step: 1, loss is 0.5\n"
        "epoch: 1 step: 2, loss is nan\n"
        "Traceback (most recent call last):\n"
        '  File "train.py", line 3, in <module>\n'
        "ValueError: boom\n"
        "epoch: 1 step: 3, loss is inf\n"
    )
    events = parsers.parse_log(text, strict=False).events
    assert events[["kind", "line"]].values.tolist() == [
        ["nan", 2],
        ["traceback", 3],
        ["error", 5],
        ["nan", 6],
    ]
    assert events.index.tolist() == [0, 1, 2, 3]


def test_the_step_count_an_epoch_line_prints_numbers_the_next_epochs_steps() -> None:
    """LossMonitor printing every 100 steps never shows an epoch's last step; the model zoo's epoch
    line does: ``train step num: 18810``.  That count, not the largest step seen (100), nor the
    timers' ratio (508710 / 27.04 is no whole number), numbers epoch 2's step 100 as global step
    18,910.  An epoch that printed no throughput says nothing of where one came from."""
    text = (
        "epoch: 1 step: 100, loss is 0.9\n"
        "epoch 1 cost time = 508.71, train step num: 18810, one step time: 27.04 ms, "
        "train samples per second of cluster: 1183.2\n"
        "epoch: 2 step: 100, loss is 0.8\n"
        "epoch time: 515333.027 ms, per step time: 27.397 ms\n"
        "epoch: 3 step: 100, loss is 0.7\n"
    )
    log = parsers.parse_log(text)
    assert log.meta["steps_per_epoch"] == 18810
    assert log.steps["global_step"].tolist() == [100, 18910, 37720]
    epochs = log.epochs
    assert epochs["steps"].tolist()[0] == 18810 and pd.isna(epochs["steps"].iloc[1])
    assert epochs["samples_per_sec_source"].tolist()[0] == "printed"
    assert pd.isna(epochs["samples_per_sec_source"].iloc[1])  # no throughput printed, none computed


def test_the_framework_version_a_log_prints_is_in_its_meta() -> None:
    """Which MindSpore a run used, from the line that says so: in the log's meta (``meta.json`` of
    ``parse-log --to``)."""
    text = "[INFO] MindSpore version 2.3.0rc1\nepoch: 1 step: 1, loss is 0.5\n"
    assert parsers.parse_log(text).meta["framework_version"] == "MindSpore version 2.3.0rc1"


def test_the_format_that_read_most_of_a_log_is_named_first() -> None:
    """``parse-log`` prints the formats a log was read with, the main one first: here MindSpore's
    6 records before the grammar's one line, though that line came first in the file."""
    text = "2021-01-01 12:00:00 | INFO | valid | epoch 001 | loss 4.2 | ppl 18.3\n"
    text += "".join(f"epoch: 1 step: {s}, loss is 0.5\n" for s in range(1, 6))
    text += "Train epoch time: 100.0 ms, per step time: 20.0 ms\n"
    meta = parsers.parse_log(text, strict=False).meta
    assert meta["formats"] == ["mindspore", "grammar"]
    assert meta["format_records"] == {"mindspore": 6, "grammar": 1}


def test_a_throughput_on_every_step_line_leaves_the_epoch_lines_their_times() -> None:
    """A trainer printing a throughput with each logged step's loss, and an epoch line with the
    epoch's loss and time: the throughputs are the steps' (two an epoch), and dropping them must
    not drop the epoch lines, which print a loss too but are timed."""
    text = ""
    for e in (1, 2):
        for s in (100, 200):
            text += f"Epoch {e} step {s}, loss {1 / (e * s):.4f}, throughput {1200 + s} samples/s\n"
        text += f"Epoch {e} finished, loss {0.5 / e:.3f}, epoch time 120.5 s\n"
    epochs = parsers.parse_log(text, strict=False).epochs
    assert epochs[["epoch", "epoch_time_ms"]].values.tolist() == [[1, 120500.0], [2, 120500.0]]
    assert epochs["samples_per_sec"].isna().all()


def test_a_throughput_printed_once_an_epoch_under_an_epoch_header_is_the_epochs() -> None:
    """DS-CNN's ``step 443, loss 0.70, mean_wps: 12101.26 wavs/sec`` names no epoch: the ``Epoch 1/10``
    header above it does.  Printed once under each header, it is that epoch's throughput."""
    text = "".join(
        f"Epoch {e}/10\nstep 443, loss {0.7 / e:.3f}, mean_wps: {12100 + e}.26 wavs/sec\n" for e in (1, 2, 3)
    )
    epochs = parsers.parse_log(text, strict=False).epochs
    assert epochs[["epoch", "samples_per_sec"]].values.tolist() == [
        [1, 12101.26],
        [2, 12102.26],
        [3, 12103.26],
    ]


def test_an_eval_epochs_step_count_is_not_the_training_epochs() -> None:
    """Mask R-CNN's eval prints ``Eval epoch time ..., per step time`` over its 5000 eval steps:
    the training epoch has 19714 (its own Train epoch time / per step time)."""
    text = (
        "epoch: 1 step: 19714, loss is 1.0\n"
        "Eval epoch time: 815743.776 ms, per step time: 163.149 ms\n"
        "Train epoch time: 15771365.491 ms, per step time: 800.008 ms\n"
        "epoch: 2 step: 100, loss is 0.9\n"
    )
    log = parsers.parse_log(text)
    assert log.meta["steps_per_epoch"] == 19714
    assert log.steps["global_step"].tolist() == [19714, 19814]


EVAL_STEPS_FORMAT = r"""
[formats.det]
description = "a detection trainer that evaluates one image at a time"

[[formats.det.patterns]]
table = "steps"
regex = 'epoch (?P<epoch>\d+) iter (?P<step>\d+) loss (?P<loss>\S+)'
fields = { epoch = "int", step = "int", loss = "float" }

[[formats.det.patterns]]
table = "epochs"
regex = '(?P<phase>Train|Eval) epoch (?P<epoch>\d+) done: (?P<steps>\d+) steps in (?P<epoch_time_ms>[\d.]+)s'
fields = { phase = "str", epoch = "int", steps = "int", epoch_time_ms = "s" }
"""


def test_steps_an_evaluation_prints_are_not_training_steps(tmp_path) -> None:
    """Mask R-CNN's case in a user's format: each epoch trains 200 steps and evaluates 500 images one
    at a time, and prints both counts.  Epoch 2's iteration 100 is global step 300 (200 + 100),
    not 600: the evaluation's count says nothing of how long a training epoch is."""
    formats = tmp_path / "formats.toml"
    formats.write_text(EVAL_STEPS_FORMAT)
    text = (
        "epoch 1 iter 100 loss 2.5\nepoch 1 iter 200 loss 2.1\n"
        "Train epoch 1 done: 200 steps in 61.5s\nEval epoch 1 done: 500 steps in 20.0s\n"
        "epoch 2 iter 100 loss 1.8\nepoch 2 iter 200 loss 1.6\n"
    )
    log = parsers.parse_log(text, formats_file=formats)
    assert log.steps["global_step"].tolist() == [100, 200, 300, 400]
    assert log.meta["steps_per_epoch"] == 200


def test_an_evaluation_between_logging_steps_is_in_the_epoch_its_progress_says() -> None:
    """Hugging Face's Trainer logging every 0.8 epoch and evaluating at 1.1 (``eval_steps`` not a
    multiple of ``logging_steps``): the eval dict's own ``'epoch': 1.1`` puts it in epoch 2, though
    the last training record before it was in epoch 1."""
    text = (
        "{'loss': 0.6931, 'grad_norm': 1.2, 'learning_rate': 4e-05, 'epoch': 0.8}\n"
        "{'eval_loss': 0.65, 'eval_accuracy': 0.71, 'eval_runtime': 3.2, 'eval_samples_per_second': 312.5, 'epoch': 1.1}\n"
        "{'loss': 0.55, 'grad_norm': 1.1, 'learning_rate': 3e-05, 'epoch': 1.6}\n"
    )
    log = parsers.parse_log(text)
    assert log.evals[["metric", "epoch"]].values.tolist() == [["eval_loss", 2], ["eval_accuracy", 2]]
    assert log.steps["epoch"].tolist() == [1, 2]


def test_a_table_sorted_before_it_is_conformed_keeps_each_row_whole() -> None:
    """``conform`` (every table passes it on its way to the user and the store) must take a frame's
    rows by position: a sorted frame keeps its old labels, and one column converted (a text
    ``kind``) beside one taken as it is (the ``line`` integers) was joined by label, pairing a crash
    with a NaN loss's line."""
    frame = pd.DataFrame(
        {
            "kind": ["traceback", "nan"],
            "line": pd.array([9, 2], dtype="Int64"),
            "message": ["boom", "loss nan"],
        }
    ).sort_values("line", kind="stable")
    out = conform(frame, "events")
    assert out[["kind", "line", "message"]].values.tolist() == [
        ["nan", 2, "loss nan"],
        ["traceback", 9, "boom"],
    ]
