"""A log assembled part by part -- cut anywhere, even mid-line -- gives a cold parse's tables.

Library level (``parsers.engine`` through the store's part reader), over every
real log in tests/data, at random cut points and segment sizes; the store-level tests
(``test_store.py``) add the files, locks and manifests on top of this.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parsers.dispatch import Dispatcher
from parsers.engine import Context, ContextChanged, computed_throughput, merge_meta
from parsers.parse import formats_for
from parsers.registry import ordered_patterns
from parsers.schema import conform, empty_table
from parsers.source import open_sources
from parsers.store.segments import read_parts
from tests.conftest import DATA, data_logs
from tests.store_helpers import assert_same_meta, cold, complete_prefix, cuts

LOGS = data_logs()


def grow(path: Path, data: bytes, points: list[int], *, segment: int) -> tuple[dict, dict, int, Context]:
    """Feed ``data`` to ``path`` up to each point and read the new part; returns tables, meta,
    restarts and the context the store keeps (its ``stats`` are the running figures the store's
    runs table is made from, its ``epochs_raw`` the epoch records it saves)."""
    src = open_sources(path)[0]
    formats = formats_for([src], None)
    dispatcher = Dispatcher(ordered_patterns(None, formats))
    context, offset, restarts = Context(src.name, src.rank), 0, 0
    tables: dict[str, list] = {"steps": [], "evals": [], "events": []}
    epochs, meta = None, None
    for end in [*points, len(data)]:
        path.write_bytes(data[:end])
        try:
            parts = list(
                read_parts(
                    src,
                    context,
                    start=offset,
                    size=end,
                    formats=formats,
                    dispatcher=dispatcher,
                    segment=segment,
                )
            )
        except ContextChanged as exc:
            restarts += 1
            context, offset, epochs = exc.context.hinted(), 0, None
            tables = {k: [] for k in tables}
            parts = list(  # in parts as small as before: the hints must settle every decision up front
                read_parts(
                    src, context, start=0, size=end, formats=formats, dispatcher=dispatcher, segment=segment
                )
            )
        for part in parts:
            if part.increment is None:
                continue
            for name in tables:
                tables[name].append(getattr(part.increment, name))
            epochs = part.increment.epochs if part.increment.epochs is not None else epochs
            meta, context, offset = part.increment.meta, part.increment.context, part.end
    out = {k: conform(pd.concat(v, ignore_index=True), k) if v else empty_table(k) for k, v in tables.items()}
    out["epochs"] = epochs if epochs is not None else empty_table("epochs")
    meta = merge_meta([meta], [src.rank], None) if meta else {}
    computed_throughput(out["epochs"], meta)
    return out, meta, restarts, context


@pytest.mark.parametrize("log", LOGS, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("seed", [0, 1])
def test_parts_give_the_cold_parse(log: Path, seed: int, tmp_path: Path) -> None:
    data = log.read_bytes()
    if not data.endswith(b"\n"):
        data += b"\n"  # the store never reads a last line without its newline
    points = cuts(len(data), seed=seed, n=3 + seed * 3)
    segment = [1 << 30, 2048][seed]
    path = tmp_path / "grow" / log.name
    path.parent.mkdir()
    path.write_bytes(data[:1])
    got, meta, _, context = grow(path, data, points, segment=segment)
    expected = cold(complete_prefix(data, len(data)), log.name, tmp_path)
    for name in ("steps", "epochs", "evals", "events"):
        pd.testing.assert_frame_equal(got[name], getattr(expected, name), obj=name)
    assert_same_meta(meta, expected.meta)
    assert _running_figures(context.stats) == _table_figures(expected)


def _running_figures(stats: dict) -> dict:
    keys = ("first_loss", "last_loss", "min_loss", "n_steps", "max_global_step", "max_step_line")
    return {
        **{k: stats.get(k) for k in keys},
        "last_epoch": (stats.get("last_epoch"), stats.get("last_epoch_step")),
        "event_counts": stats.get("event_counts", {}),
        "bad_event_line": stats.get("bad_event_line"),
        "metrics": {m: (e["n"], e["min"], e["max"], e["last"]) for m, e in stats.get("metrics", {}).items()},
    }


def _table_figures(log) -> dict:
    """What the runs table shows of a log, worked out from its whole tables (the running figures
    are folded part by part and must come out the same)."""
    steps, events, evals = log.steps, log.events, log.evals
    loss = steps["loss"].to_numpy(np.float64)
    finite = loss[np.isfinite(loss)]

    def number(value):
        return None if value is None or pd.isna(value) else float(value)

    def largest(column: pd.Series):
        return None if column.isna().all() else int(column.max())

    epoch = steps["epoch"].dropna()
    last_epoch = int(epoch.max()) if len(epoch) else None
    at_last = steps.loc[steps["epoch"] == last_epoch, "step"] if last_epoch is not None else steps["step"][:0]
    bad = events[events["kind"].isin(["traceback", "error", "interrupt"])]
    return {
        "first_loss": number(loss[0]) if len(steps) else None,
        "last_loss": number(loss[-1]) if len(steps) else None,
        "min_loss": float(finite.min()) if len(finite) else None,
        "n_steps": len(steps) or None,
        "max_global_step": largest(steps["global_step"]) if len(steps) else None,
        "max_step_line": largest(steps["line"]) if len(steps) else None,
        "last_epoch": (last_epoch, largest(at_last) if len(at_last) else None),
        "event_counts": {str(k): int(n) for k, n in events["kind"].value_counts().items()},
        "bad_event_line": int(bad["line"].max()) if len(bad) else None,
        "metrics": {
            str(m): (
                len(g),
                number(g["value"][np.isfinite(g["value"].astype(float))].min()),
                number(g["value"][np.isfinite(g["value"].astype(float))].max()),
                number(g["value"].iloc[-1]),
            )
            for m, g in evals.groupby("metric", sort=False)
        },
    }


def test_a_resumed_epoch_appended_keeps_the_furthest_step_of_the_last_epoch(tmp_path: Path) -> None:
    """A job restarted from a checkpoint appends to its log and prints epoch 3 again from step 1:
    read in two parts (the restart in the second), the running figures still hold epoch 3's
    furthest step (10), as a cold read of the whole file does -- so the store and ``parse-log``
    agree on the epochs done."""
    lines = [f"epoch: {e} step: {s}, loss is {1 / (e * s):.4f}\n" for e in (1, 2, 3) for s in range(1, 11)]
    resumed = [f"epoch: 3 step: {s}, loss is {0.5 / s:.4f}\n" for s in range(1, 5)]
    data = "".join(lines + resumed).encode()
    path = tmp_path / "train.log"
    path.write_bytes(data[:1])
    _, _, _, context = grow(path, data, [len("".join(lines).encode())], segment=1 << 30)
    assert (context.stats["last_epoch"], context.stats["last_epoch_step"]) == (3, 10)
    assert _running_figures(context.stats) == _table_figures(cold(data, path.name, tmp_path))


# Logs whose text changes a whole-log decision in a later part, after rows that depend on it were
# committed: each restarts once, and the hinted pass must settle the decision from the first line.
# A case: the log's lines, cut points (after so many lines), the segment size, and figures
# counted by hand from the lines.
Case = tuple[list[str], list[int], int, dict]


def _lines(name: str) -> list[str]:
    return (DATA / name).read_text("utf-8").splitlines(keepends=True)


_CRASH = [  # a run killed mid-epoch (the frames of mindyolo/yolov7_modelarts_traceback_issue186.log)
    "Traceback (most recent call last):\n",
    '  File "train.py", line 290, in <module>\n',
    "    train(args)\n",
    "KeyboardInterrupt\n",
]


def _resumed_time_line() -> Case:
    """MindYOLO (step time on a line of its own) resumed from the epoch-140 checkpoint: epoch 141's
    lines printed again, then epoch 142's step line and a crash.  Epoch 141's second time line, read
    in a later part, changes a committed step ("a step time line changes a committed step")."""
    yolo = _lines("mindyolo/yolov5_gpu_issue441.log")  # 13 lines: epoch 139's end, epochs 140-142
    lines = yolo + yolo[5:9] + [yolo[9]] + _CRASH
    # 5 step rows; the last, epoch 142's step 7 of 7, is global step 141 x 7 + 7 and takes the one
    # time line printed for epoch 142 step 7 (the crashed run printed none).
    return lines, [13, 17], 1 << 30, {"rows": 5, "last_global_step": 994, "last_step_time_ms": 380.29}


def _resumed_step_line() -> Case:
    """The same run resumed from the epoch-140 checkpoint and killed right after epoch 141's step
    line: a step of an epoch whose time lines the window no longer keeps ("a step of an old epoch
    may take a step time no longer kept")."""
    yolo = _lines("mindyolo/yolov5_gpu_issue441.log")
    lines = [*yolo, yolo[5], *_CRASH]
    # 4 step rows; the last is epoch 141's step 7 of 7 again (global step 140 x 7 + 7), whose only
    # time line is the first run's 363.31 ms.
    return lines, [6, 13], 1 << 30, {"rows": 4, "last_global_step": 987, "last_step_time_ms": 363.31}


def _resumed_step_line_in_a_tail() -> Case:
    """The same resumed step line in a log tail that begins at epoch 141's time line (its step line
    cut off): only that time record, no step waiting for it, says the window dropped epoch 141 when
    epoch 142 arrived, so the resumed step must still take 363.31 ms."""
    yolo = _lines("mindyolo/yolov5_gpu_issue441.log")
    lines = [*yolo[6:], yolo[5], *_CRASH]
    # 2 step rows: epoch 142's step 7, then epoch 141's step 7 again (global step 140 x 7 + 7).
    return lines, [3, 7], 1 << 30, {"rows": 2, "last_global_step": 987, "last_step_time_ms": 363.31}


def _stray_line_before_mindspore() -> Case:
    """A stray ``epoch 1 iter 3 loss 0.3`` (read only by the line grammar) in the first part,
    MindSpore's LossMonitor lines after it: beside a named format's steps the grammar's row is
    dropped, and the row already committed must go too ("specific records after generic ones were
    kept"; its epoch 1 keeps the numbering from asking for a restart of its own)."""
    lines = ["epoch 1 iter 3 loss 0.3\n", *_lines("mindspore-2.10-cpu/fit.log")]
    # 6 step rows, all MindSpore's: epoch 3's step 14 is global step 2 x 14 + 14.
    return lines, [1], 1 << 30, {"rows": 6, "last_global_step": 42}


def _epoch_zero_after_epoch_one() -> Case:
    """An unknown layout whose first part prints epoch 1 and whose second prints epoch 0 (the run
    started again in the same log): the counter counts from 0, so the first part's rows are the
    second epoch, as a cold parse reads them ("printed epoch 0 after epochs counted from 1")."""
    lines = ["epoch 1 step 1 loss 0.9\n", "epoch 1 step 2 loss 0.8\n", "epoch 0 step 1 loss 0.7\n"]
    # 3 step rows: epochs 2, 2, 1 (counted from 0); the last is epoch 1's step 1.  Parts of 50
    # bytes: the restarted pass numbers the epoch-1 lines before it reads the epoch 0 again, so
    # only its hint says the counter starts at 0.
    return lines, [2], 50, {"rows": 3, "last_global_step": 1}


def _fairseq_json_summary_first() -> Case:
    """fairseq's JSON layout read by the grammar: the excerpt starts with epoch 1's ``train`` summary
    (no update counter of its own), then epoch 2's ``train_inner`` lines print ``num_updates``: a
    stronger step position after weaker fallback rows were kept."""
    fsdp = _lines("fairseq/fsdp_json_13b_cpu_offload.log")
    inner = [line for line in fsdp if "| train_inner |" in line][:3]
    epoch2 = [  # epoch 1's first three lines as epoch 2's, counting on from update 10
        line.replace('"epoch": 1', '"epoch": 2').replace(
            f'"num_updates": "{i}"', f'"num_updates": "{i + 10}"'
        )
        for i, line in enumerate(inner, start=1)
    ]
    lines = [*fsdp[-5:-1], "2021-03-08 12:43:15 | INFO | fairseq.trainer | begin training epoch 2\n", *epoch2]
    # 3 step rows (the summary is dropped), the last at num_updates 13.
    return lines, [4], 300, {"rows": 3, "last_global_step": 13}


def _mindcv_epoch_time_late() -> Case:
    """MindSpore LossMonitor printing every 156 global steps, without epoch 1's TimeMonitor line:
    epochs 1 and 2 are numbered with the largest step printed (780) until epoch 2's ``Train epoch
    time: 156746.872 ms, per step time: 200.444 ms`` says 782 steps an epoch ("step numbering
    changed").  The hinted pass takes 782 from the aborted pass's epoch records from line 1."""
    quickstart = _lines("mindspore/mindcv_quickstart_lossmonitor_timemonitor.log")
    lines = quickstart[3:8] + quickstart[14:38]  # epochs 1-5, epoch 1's time line cut
    # Segments of 400 bytes: the aborted pass reads epochs 2 and 3's time lines in one part; the
    # hinted pass numbers epoch 2's first rows before reading a time line of its own, and later
    # joins its own epoch records with the aborted pass's.
    # 25 step rows; 156746.872 / 200.444 = 782 steps an epoch; the last row, epoch 5 step 772,
    # is global step 4 x 782 + 772.
    return lines, [10], 400, {"rows": 25, "last_global_step": 3900, "steps_per_epoch": 782}


def _fairseq_summary_then_progress() -> Case:
    """fairseq's text layout: epoch 8's summary (read by the fallback grammar) before epoch 9's
    progress lines (read by the fairseq format): specific records after generic ones were kept."""
    # 3 step rows (epoch 9: 1000, 2000; epoch 10: 1000), the last at num_updates=25634.
    lines = _lines("fairseq/transformer_epoch_summary_valid_issue514.log")
    return lines, [1], 200, {"rows": 3, "last_global_step": 25634}


def _mindyolo_time_after_first_step() -> Case:
    """MindYOLO, a segment ending between the first step line and its time line: step times appeared
    after step records were committed."""
    # 4 step rows, epoch 1 steps 100-400 (global step 400), the last timed 660.74 ms.
    lines = _lines("mindyolo/yolov8_overflow_issue402.log")
    return lines, [2], 250, {"rows": 4, "last_global_step": 400, "last_step_time_ms": 660.74}


def _mindyolo_time_line_after_a_warning() -> Case:
    """MindYOLO with a warning printed between epoch 141's step line and its time line, the refresh
    between them: the step was committed without a time ("a step time line changes a committed
    step"), and the time line in the next part must reach it."""
    yolo = _lines("mindyolo/yolov5_gpu_issue441.log")
    lines = [*yolo[:6], "2025-04-15 13:57:21,990 [WARNING] dataloader is slow\n", *yolo[6:]]
    # 3 step rows, epoch 141's step 7 (global step 987) timed 363.31 ms by the line after the warning.
    return lines, [7], 1 << 30, {"rows": 3, "last_global_step": 994, "last_step_time_ms": 380.29}


def _resnet_step_time_late() -> Case:
    """The model zoo's ResNet epoch summaries (no step counter: each closes its epoch), the first two
    without ``per step time``: counted 1, 2 until epoch 3's line says 40559 / 207.995 = 195 steps an
    epoch ("step numbering changed").  The hinted pass takes 195 from the aborted pass's epoch
    records before it reads epoch 3's line."""
    lines = [
        "epoch: [1/90] loss: 4.5, epoch time: 40.559 s\n",
        "epoch: [2/90] loss: 3.9, epoch time: 40.100 s\n",
        "epoch: [3/90] loss: 3.5, epoch time: 40.559 s, per step time: 207.995 ms\n",
    ]
    # 3 step rows, each at its epoch's end: the last is global step 3 x 195.
    return lines, [2], 1 << 30, {"rows": 3, "last_global_step": 585, "steps_per_epoch": 195}


def _resnet_epoch_printed_twice() -> Case:
    """Two untagged ranks printing the model zoo's ResNet summary (no step counter), the second copy
    of epoch 1 in the next part: a summary printed once an epoch stands at its epoch's end (global
    step 195), but one printed twice is no epoch's end, and the rows are counted instead."""
    lines = [
        "epoch: [1/90] loss: 4.5, epoch time: 40.559 s, per step time: 207.995 ms\n",
        "epoch: [1/90] loss: 4.4, epoch time: 40.559 s, per step time: 207.995 ms\n",
        "epoch: [2/90] loss: 3.9, epoch time: 40.100 s, per step time: 205.641 ms\n",
    ]
    # 3 step rows counted 1, 2, 3 (not 195, 195, 390).
    return lines, [1], 1 << 30, {"rows": 3, "last_global_step": 3}


@pytest.mark.parametrize(
    "case",
    [
        _resumed_time_line,
        _resumed_step_line,
        _resumed_step_line_in_a_tail,
        _fairseq_json_summary_first,
        _epoch_zero_after_epoch_one,
        _stray_line_before_mindspore,
        _mindcv_epoch_time_late,
        _fairseq_summary_then_progress,
        _mindyolo_time_after_first_step,
        _resnet_step_time_late,
        _resnet_epoch_printed_twice,
        _mindyolo_time_line_after_a_warning,
    ],
    ids=lambda case: case.__name__.lstrip("_"),
)
def test_a_decision_changed_in_a_later_part_restarts_once(case: Callable[[], Case], tmp_path: Path) -> None:
    """A log whose later lines change how its earlier rows are read (a resumed run printing an old
    epoch's step and time lines again, an epoch summary before the step lines, the steps per epoch
    known only from a later epoch's time line) shows, after a refresh, the tables and figures of a
    cold parse -- the same global steps, steps per epoch and step times -- after one re-read.  If it
    broke, the dashboard would show wrong global steps or step times, or a refresh would re-read the
    whole log again and again."""
    lines, after, segment, figures = case()
    data = "".join(lines).encode()
    points = [len("".join(lines[:n]).encode()) for n in after]
    path = tmp_path / "grow" / "train.log"
    path.parent.mkdir()
    path.write_bytes(data[:1])
    got, meta, restarts, context = grow(path, data, points, segment=segment)
    expected = cold(data, path.name, tmp_path)
    for name in ("steps", "epochs", "evals", "events"):
        pd.testing.assert_frame_equal(got[name], getattr(expected, name), obj=name)
    assert_same_meta(meta, expected.meta)
    assert _running_figures(context.stats) == _table_figures(expected)
    assert restarts == 1  # once: the hinted pass settles the decision from the first line
    steps = got["steps"]
    seen = {
        "rows": len(steps),
        "last_global_step": int(steps["global_step"].iloc[-1]),
        "last_step_time_ms": float(steps["step_time_ms"].iloc[-1]),
        "steps_per_epoch": meta.get("steps_per_epoch"),
    }
    assert {k: seen[k] for k in figures} == figures


def _kept_epoch_records(data: bytes, path: Path) -> tuple[int, int]:
    """The epoch records a store keeps in its saved state for a log read in one part, and the rows of
    that log's epochs table."""
    path.write_bytes(data[:1])
    got, _, _, context = grow(path, data, [], segment=1 << 30)
    kept = context.epochs_raw
    return (0 if kept is None else len(kept["cols"]["line"][1])), len(got["epochs"])


def test_a_throughput_printed_every_100_steps_is_not_kept_as_an_epoch_record_per_line(tmp_path: Path) -> None:
    """YOLOv5 prints ``fps`` with every 100th step's loss: a step's throughput, no epoch's.  The store
    keeps a log's epoch records in its saved state (they are rebuilt at every refresh), so a long
    run's 20,000 such lines must not become 20,000 kept records -- the state, and every refresh's
    work, would grow with the log.  A throughput printed once an epoch (DS-CNN) is an epoch's: each
    is kept and is a row of the epochs table."""
    step_rate = "".join(
        f"2021-08-05 16:01:34,116:INFO:epoch[{i // 9}], iter[{i * 100}], loss:{400 - i * 0.01:.6f}, "
        f"fps:{500 + i % 7}.07 imgs/sec, lr:0.00027\n"
        for i in range(20_000)
    ).encode()
    kept, rows = _kept_epoch_records(step_rate, tmp_path / "yolov5.log")
    assert rows == 0  # none is an epoch's throughput
    assert kept == 2  # the first repeat, for the epochs table's rule to see
    epoch_rate = "".join(
        f"epoch[{e}], iter[{e * 443 + 442}], loss:{0.74 + e / 100:.2f}, mean_wps:{12102 + e}.26 wavs/sec\n"
        for e in range(1, 41)
    ).encode()
    assert _kept_epoch_records(epoch_rate, tmp_path / "dscnn.log") == (40, 40)


def test_a_log_with_step_times_on_their_own_lines_growing_by_epochs_is_never_read_again(
    tmp_path: Path,
) -> None:
    """MindYOLO prints each step's time on the line after its loss.  A run refreshed after each
    epoch must read only the new lines each time: the time lines of an epoch already over are
    out of the window the store keeps, and that alone is no reason to read the whole log again
    (on an 11-hour run, every refresh would re-read hours of log)."""
    lines = _lines("mindyolo/yolov5_gpu_issue441.log")  # epoch 139's end, then epochs 140-142
    data = "".join(lines).encode()
    points = [len("".join(lines[:n]).encode()) for n in (5, 9)]  # after epochs 140 and 141
    path = tmp_path / "grow" / "train.log"
    path.parent.mkdir()
    path.write_bytes(data[:1])
    got, meta, restarts, _ = grow(path, data, points, segment=1 << 30)
    assert restarts == 0
    assert (meta["files"][0]["lines"], meta["files"][0]["bytes"]) == (13, len(data))  # all of it, once
    # 7 steps an epoch: epoch 140's step 7 is global step 980; each takes its own time line.
    steps = got["steps"][["epoch", "global_step", "step_time_ms"]].values.tolist()
    assert steps == [[140, 980, 365.26], [141, 987, 363.31], [142, 994, 380.29]]


def test_hyperparameters_printed_in_two_parts_are_all_the_runs(tmp_path: Path) -> None:
    """A ``key: value`` config dump, then (after a refresh) a printed config dict: the run's
    hyperparameters are both, as a cold read of the whole file gives them -- the dashboard's
    hyperparameter view must not lose the dump when the dict arrives."""
    lines = [
        "lr: 0.1\n",
        "batch_size: 32\n",
        "epoch_size: 90\n",
        "epoch: 1 step: 1, loss is 0.5\n",
        "{'momentum': 0.9, 'weight_decay': 0.0001}\n",
        "epoch: 1 step: 2, loss is 0.4\n",
    ]
    data = "".join(lines).encode()
    path = tmp_path / "grow" / "train.log"
    path.parent.mkdir()
    path.write_bytes(data[:1])
    _, meta, _, _ = grow(path, data, [len("".join(lines[:4]).encode())], segment=1 << 30)
    expected = {"lr": 0.1, "batch_size": 32, "epoch_size": 90, "momentum": 0.9, "weight_decay": 0.0001}
    assert meta["hparams"] == expected
    assert cold(data, path.name, tmp_path).meta["hparams"] == expected
