"""Several ranks writing to one stream: records glued on one line, one epoch timed by each rank.

No published log with these kinds of lines was found (issue 11 lists them): the lines here are
real lines of ``tests/data`` put together the way ranks sharing a stream put them -- a newline
lost between two records, each rank's ``Train epoch time`` for the same epoch, a rank's last
``epoch time`` printed after another's ``End training``.  The log each line comes from is named
beside it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import parsers
from parsers.dispatch import glued_pieces
from tests.conftest import data_logs


def _parse(*lines: str) -> parsers.ParsedLog:
    return parsers.parse_log("\n".join(lines) + "\n", strict=False)


# mindspore/mindcv_quickstart_lossmonitor_timemonitor.log
STEP_1 = "epoch: 1 step: 156, loss is 2.0816354751586914"
STEP_2 = "epoch: 1 step: 312, loss is 1.4474115371704102"
TIMED = "Train epoch time: 416429.509 ms, per step time: 532.519 ms"
# modelzoo/facedetection_rank_iter_loss_brackets.log
FACE = (
    "rank[{rank}], iter[0], loss[{loss}], overflow:False, loss_scale:1024.0, lr:6.24999984211172e-06, "
    "batch_images:(64, 3, 448, 768), batch_labels:(64, 200, 6)"
)


@pytest.mark.parametrize("formats", [(), ("mindspore",)], ids=["all formats", "grammar"])
def test_two_records_on_one_line_are_two_records(formats: tuple[str, ...]) -> None:
    """A newline lost between two ranks' LossMonitor lines: both losses, both on line 1."""
    text = STEP_1 + STEP_1.replace("2.0816354751586914", "2.0811") + "\n" + STEP_2 + "\n"
    log = parsers.parse_log(text, strict=False, exclude_formats=formats)
    assert log.steps[["epoch", "step", "line"]].values.tolist() == [[1, 156, 1], [1, 156, 1], [1, 312, 2]]
    assert log.steps["loss"].tolist() == pytest.approx([2.0816354751586914, 2.0811, 1.4474115371704102])


def test_glued_records_keep_each_ranks_tag() -> None:
    """``...batch_labels:(64, 200, 6)rank[1], iter[0], ...``: rank 1's record starts right after
    rank 0's last value; each rank keeps its own loss."""
    log = _parse(FACE.format(rank=0, loss=318555.8) + FACE.format(rank=1, loss=318601.2))
    assert log.steps[["rank", "step", "line"]].values.tolist() == [[0, 0, 1], [1, 0, 1]]
    assert log.steps["loss"].tolist() == pytest.approx([318555.8, 318601.2])


def test_a_rank_prefix_glued_after_a_value() -> None:
    # mindformers-style ``[rank0]:`` prefixes on the LossMonitor line above
    log = _parse(f"[rank0]: {STEP_1}[rank1]: {STEP_1.replace('2.0816354751586914', '2.09')}")
    assert log.steps[["rank", "loss"]].values.tolist() == [[0, pytest.approx(2.0816354751586914)], [1, 2.09]]


@pytest.mark.parametrize(
    "line",
    [
        # a record's start found again after a space or a separator is part of the record
        "epoch: 1, {'top_5_accuracy', 'top_1_accuracy'}: {'top_5_accuracy': 0.0058}, eval_cost:19.47",
        "epoch: 1 step: 5004, loss is 6.906126 epoch: 1 step: 5004",
        # a glued start of another shape (modelzoo/resnet50_gpu_benchmark_glued.log) is no second record
        "epoch: [0/1] step: [20/5004], loss is 6.940182Epoch time: 12416.098 ms, fps: 412 img/sec.",
        "1.2345epoch: 1",  # no record start before the first number
    ],
)
def test_lines_that_are_one_record_are_not_cut(line: str) -> None:
    assert glued_pieces(line) == []


def test_no_line_of_the_real_corpus_is_cut() -> None:
    """Every published log in tests/data writes one record a line: the rule cuts none of them."""
    cut = [
        f"{log.name}:{number}"
        for log in data_logs()
        for number, line in enumerate(log.read_text(errors="replace").splitlines(), 1)
        if glued_pieces(line)
    ]
    assert cut == []


def test_one_epoch_timed_by_each_untagged_rank_is_one_epoch_with_several_timings() -> None:
    """Four ranks print ``Train epoch time`` for epoch 1 with no rank tag: four timings of one epoch,
    one row each, as tagged ranks' are (their rank unknown); epochs done is still 2."""
    times = ["416429.509", "416501.118", "416388.734", "416470.002"]
    log = _parse(
        STEP_1,
        *(TIMED.replace("416429.509", t) for t in times),
        "epoch: 2 step: 154, loss is 0.19752007722854614",  # the same log's next epoch
        "Train epoch time: 156746.872 ms, per step time: 200.444 ms",
    )
    epochs = log.epochs
    assert epochs["epoch"].tolist() == [1, 1, 1, 1, 2]
    assert epochs["epoch_time_ms"].tolist() == pytest.approx([*map(float, times), 156746.872])
    assert epochs["rank"].isna().all()
    assert parsers.summarize(log)["epochs_done"] == 2


def test_tagged_ranks_each_time_their_epoch() -> None:
    """The same timings with rank tags: one row per rank, as before (the untagged rule changes nothing)."""
    lines = [f"[rank {r}] {TIMED}" for r in range(2)]
    log = _parse(f"[rank 0] {STEP_1}", f"[rank 1] {STEP_1}", *lines)
    assert log.epochs[["epoch", "rank"]].values.tolist() == [[1, 0], [1, 1]]


def test_an_epoch_time_after_end_training_belongs_to_the_last_epoch() -> None:
    """An early-stopped run whose last ``epoch time`` line is printed after ``End training``
    (a rank's stream flushed late): it times the last epoch, not a new one."""
    sppnet = Path(__file__).parent / "data" / "modelzoo" / "sppnet_eval_set_dict_end_training.log"
    lines = sppnet.read_text().splitlines()
    last_time = lines.index("epoch time: 530946.874 ms, per step time: 106.104 ms")
    end = next(i for i, line in enumerate(lines) if line.startswith("End training"))
    moved = lines[:last_time] + lines[last_time + 1 : end + 1] + [lines[last_time]]
    log = _parse(*moved)
    assert log.epochs["epoch"].tolist()[-2:] == [149, 150]
    assert log.epochs["epoch_time_ms"].iloc[-1] == pytest.approx(530946.874)
    assert log.epochs["line"].iloc[-1] == len(moved)
    assert (
        parsers.summarize(log)["epochs_done"] == parsers.summarize(parsers.parse_log(sppnet))["epochs_done"]
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_parts_give_the_cold_parse(seed: int, tmp_path: Path) -> None:
    """A log grown line by line (as ``parse-log watch`` reads it) gives the cold parse's tables:
    glued records, several timings of one epoch (DS-CNN's once-an-epoch throughput is grown in
    ``tests/test_incremental.py`` with the other real logs)."""
    from tests.store_helpers import cold, cuts
    from tests.test_incremental import grow

    lines = [
        STEP_1 + STEP_1.replace("2.0816354751586914", "2.0811"),
        *(TIMED.replace("416429.509", t) for t in ("416429.509", "416501.118")),
        "epoch: 2 step: 154, loss is 0.19752007722854614",  # the same log's next epoch
        "Train epoch time: 156746.872 ms, per step time: 200.444 ms",
    ]
    data = ("\n".join(lines) + "\n").encode()
    path = tmp_path / "grow" / "ranks.log"
    path.parent.mkdir()
    path.write_bytes(data[:1])
    got, _, _, _ = grow(path, data, cuts(len(data), seed=seed, n=4), segment=[1 << 30, 256][seed])
    expected = cold(data, "ranks.log", tmp_path)
    assert expected.steps["line"].tolist() == [1, 1, 4]
    assert expected.epochs["epoch"].tolist() == [1, 1, 2]
    for name in ("steps", "epochs", "evals", "events"):
        pd.testing.assert_frame_equal(got[name], getattr(expected, name), obj=name)


def test_a_step_line_glued_to_an_error_message_keeps_both() -> None:
    """A device's ``[ERROR]`` message lost the newline before it and landed right after a loss:
    the step record (its loss) and the error event are both there, on the same line."""
    # mindspore/getnext_task_fail_warning.log
    error = (
        "[ERROR] DEVICE(2420702,fffe06ffd1e0,python):2023-11-20-15:34:32.886.561 "
        "[mindspore/ccsrc/plugin/device/ascend/hal/device/ascend_kernel_runtime.cc:761] "
        "DumpTaskExceptionInfo] Task fail infos task_id: 2, stream_id: 45, tid: 2420702, device_id: 0, "
        "retcode: 507011 ( model execute failed)"
    )
    log = _parse(STEP_1, STEP_2 + error, STEP_2.replace("step: 312", "step: 468"))
    assert log.steps[["step", "loss", "line"]].values.tolist() == [
        [156, 2.0816354751586914, 1],
        [312, 1.4474115371704102, 2],
        [468, 1.4474115371704102, 3],
    ]
    assert log.events[["kind", "line"]].values.tolist() == [["error", 2]]
    assert log.events["message"].iloc[0].startswith("[ERROR] DEVICE(2420702")
    assert log.meta["lines_skipped"] == 0


def test_sagemakers_open_mpi_prefix_tags_the_rank() -> None:
    """SageMaker runs Open MPI with its own tag, ``[1,mpirank:0,algo-1]<stdout>:`` (GitHub issue
    aws-samples/sagemaker-distributed-training-workshop#6); the same line from rank 3 is rank 3's."""
    line = "[1,mpirank:0,algo-1]<stdout>:#015Epoch 0:  50% 1/2 [00:00<00:00,  6.54it/s, loss=2.29, v_num=0]"
    log = _parse(line, line.replace("mpirank:0", "mpirank:3").replace("loss=2.29", "loss=2.31"))
    assert log.steps[["rank", "loss"]].values.tolist() == [[0, 2.29], [3, 2.31]]


def test_each_tagged_rank_keeps_the_throughput_it_prints_once_an_epoch() -> None:
    """DS-CNN's end-of-epoch line (``tests/data/modelzoo/dscnn_eval_acc_percent.log``) from two
    ranks of one job: each rank prints epoch 1's and epoch 2's throughput once, so every line is an
    epoch record of its rank -- two ranks printing the same epoch is no throughput printed every
    step (which the epochs table drops)."""
    first = "epoch[1], iter[443], loss:0.73811543, mean_wps:12102.26 wavs/sec"
    second = "epoch[2], iter[665], loss:0.381568, mean_wps:12107.45 wavs/sec"
    log = _parse(
        f"[rank 0] {first}",
        f"[rank 1] {first.replace('12102.26', '12088.91')}",
        f"[rank 0] {second}",
        f"[rank 1] {second.replace('12107.45', '12095.30')}",
    )
    assert log.epochs[["epoch", "rank", "samples_per_sec"]].values.tolist() == [
        [1, 0, 12102.26],
        [1, 1, 12088.91],
        [2, 0, 12107.45],
        [2, 1, 12095.30],
    ]
