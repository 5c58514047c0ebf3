"""MindSpore 2.10 summary files, written here by MindSpore itself, read back by ``parsers.events``.

Three writers of scalars: ``SummaryRecord.add_value("scalar", ...)``, the
``ops.ScalarSummary`` operator inside a network, and ``SummaryCollector`` during a tiny
``python -m training --summary`` run.  Expected values are what the test wrote (as the
float32 the summary stores) or what the same run's log printed.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parsers.events import event_files, parse_events, read_event_file
from parsers.runs import load_run
from training.cli import main
from training.run_folder import SUMMARY_DIR

pytestmark = pytest.mark.training  # real MindSpore on the CPU

ms = pytest.importorskip("mindspore")


def loss_at(step: int) -> float:
    return float(np.float32(3.0 / step))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[float, float]]:
    """SummaryRecord with loss and lr at steps 1..12 (and a histogram, a tensor, an image that
    are not scalars); returns the folder and the clock before the first record and after closing
    (MindSpore stamps the wall time in its writer process, a little after ``record`` returns)."""
    from mindspore import SummaryRecord, Tensor

    ms.set_device("CPU")
    folder = tmp_path_factory.mktemp("summary")
    opened = time.time()
    with SummaryRecord(str(folder)) as record:
        for step in range(1, 13):
            record.add_value("scalar", "loss", Tensor(np.float32(loss_at(step))))
            record.add_value("scalar", "learning_rate", Tensor(np.float32(0.1)))
            if step % 4 == 0:
                record.add_value("scalar", "eval/acc", Tensor(np.float32(step / 20)))
                record.add_value("histogram", "weights", Tensor(np.arange(10, dtype=np.float32)))
                record.add_value("tensor", "activations", Tensor(np.ones((2, 2), dtype=np.float32)))
                record.add_value("image", "input", Tensor(np.zeros((1, 3, 4, 4), dtype=np.float32)))
            record.record(step)
    return folder, (opened, time.time())


def test_summary_record_scalars_come_back_with_their_steps_and_wall_times(recorded) -> None:
    folder, clock = recorded
    run = parse_events(folder)
    scalars = run.scalars
    loss = scalars[scalars["tag"] == "loss"]
    assert loss["step"].tolist() == list(range(1, 13))
    assert loss["value"].tolist() == [loss_at(s) for s in range(1, 13)]
    lr = scalars[scalars["tag"] == "learning_rate"]
    assert lr["value"].tolist() == [float(np.float32(0.1))] * 12
    acc = scalars[scalars["tag"] == "eval/acc"]
    assert acc["step"].tolist() == [4, 8, 12]
    opened, closed = clock
    walls = loss["wall_time"].to_numpy()
    assert (opened <= walls).all() and (walls <= closed).all() and (np.diff(walls) >= 0).all()
    assert (lr["wall_time"].to_numpy() == walls).all()  # one Event per step holds both
    assert set(scalars["tag"]) == {"loss", "learning_rate", "eval/acc"}  # histograms etc. are not scalars
    assert set(scalars["source"]) == {"summary"} and run.meta["formats"] == ["mindspore-summary"]
    assert run.steps["loss"].tolist() == [loss_at(s) for s in range(1, 13)]
    assert run.evals["value"].tolist() == [float(np.float32(s / 20)) for s in (4, 8, 12)]


def test_a_growing_summary_file_read_incrementally_equals_a_cold_read(recorded, tmp_path: Path) -> None:
    folder, _ = recorded
    (source,) = event_files(folder)
    data = source.read_bytes()
    growing = tmp_path / source.name
    cursor, parts = None, []
    for cut in [*range(0, len(data), 61), len(data)]:
        growing.write_bytes(data[:cut])
        chunk = read_event_file(growing, cursor, final=False)
        parts.append(chunk.scalars)
        cursor = chunk.cursor
    cold = read_event_file(source)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), cold.scalars)


def test_the_numpy_twin_reads_a_summary_file_as_the_compiled_scanner_does(
    recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MindSpore's Values with histograms, tensors and images beside the scalars: the compiled
    scanner leaves those records to the numpy decoder; without it numpy reads them all."""
    from parsers import _scan_py
    from parsers.events import decode, records

    if not records.COMPILED:
        pytest.skip("needs the compiled scanner to compare with")
    folder, _ = recorded
    (source,) = event_files(folder)
    compiled = read_event_file(source)
    monkeypatch.setattr(records, "event_records", _scan_py.event_records)
    monkeypatch.setattr(decode, "event_scalars", _scan_py.event_scalars)
    twin = read_event_file(source)
    pd.testing.assert_frame_equal(compiled.scalars, twin.scalars)
    assert compiled.cursor.to_json() == twin.cursor.to_json()
    assert compiled.scalars["tag"].value_counts().to_dict() == {
        "loss": 12,
        "learning_rate": 12,
        "eval/acc": 3,
    }


def test_scalar_summary_operators_in_a_network(tmp_path: Path) -> None:
    from mindspore import SummaryRecord, Tensor, nn, ops

    ms.set_device("CPU")
    ms.set_context(mode=ms.PYNATIVE_MODE)

    class Net(nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            self.summary = ops.ScalarSummary()

        def construct(self, x):
            self.summary("op_loss", x)
            return x * 2

    net = Net()
    with SummaryRecord(str(tmp_path), network=net) as record:
        for step in range(1, 5):
            net(Tensor(np.float32(loss_at(step))))
            record.record(step)
    scalars = parse_events(tmp_path).scalars
    assert scalars["tag"].tolist() == ["op_loss"] * 4
    assert scalars["step"].tolist() == [1, 2, 3, 4]
    assert scalars["value"].tolist() == [loss_at(s) for s in range(1, 5)]


@pytest.fixture(scope="module")
def summary_run(tmp_path_factory: pytest.TempPathFactory, digits3: Path, tiny) -> Path:
    """A tiny ``python -m training --summary`` run: train.log and summary/ side by side."""
    runs = tmp_path_factory.mktemp("runs")
    assert main([*tiny.args(digits3, class_num=3), "--runs-dir", str(runs), "--name", "s", "--summary"]) == 0
    return runs / "s"


def test_training_with_summary_leaves_a_log_and_a_summary_folder(summary_run: Path, tiny) -> None:
    files = event_files(summary_run / SUMMARY_DIR)
    assert len(files) == 1 and files[0].name.endswith("_MS")
    scalars = parse_events(summary_run / SUMMARY_DIR).scalars
    steps = tiny.epochs * tiny.steps
    assert sorted(set(scalars["step"])) == list(range(1, steps + 1))  # collect_freq=1: every step
    assert set(scalars["tag"]) == {"loss/auto"}
    # wall times: in order, after the run started (hparams.json, to the second), before its log ended
    started = datetime.fromisoformat(json.loads((summary_run / "hparams.json").read_text())["start_time"])
    walls = scalars["wall_time"].to_numpy()
    assert (np.diff(walls) >= 0).all()
    assert (
        started.timestamp() - 1 <= walls.min() and walls.max() <= (summary_run / "train.log").stat().st_mtime
    )


def test_a_run_with_log_and_summary_is_joined_on_step(summary_run: Path, tiny) -> None:
    log_only = load_run(summary_run / "train.log").log
    joined = load_run(summary_run).log
    steps = tiny.epochs * tiny.steps
    assert joined.steps["global_step"].tolist() == list(range(1, steps + 1))  # not doubled
    assert set(joined.steps["source"]) == {"log+summary"}
    # LossMonitor prints the float32 loss SummaryCollector records: the same number
    assert [float(np.float32(v)) for v in log_only.steps["loss"]] == joined.scalars.drop_duplicates("step")[
        "value"
    ].tolist()
    assert not (joined.events["kind"] == "conflict").any()
    assert joined.epochs.equals(log_only.epochs) and joined.evals.equals(log_only.evals)


def test_a_run_with_log_and_summary_in_the_store_is_one_run_as_a_cold_read(
    summary_run: Path, tmp_path: Path, tiny
) -> None:
    """The store finds ``summary/`` as part of the run beside ``train.log`` and gives its tables
    the cold read's: joined on step, the summary's scalars in their own table."""
    pytest.importorskip("duckdb")
    from parsers.store import RunStore
    from tests.store_helpers import assert_same_tables

    runs = tmp_path / "runs"
    shutil.copytree(summary_run, runs / "s")
    store = RunStore(runs)
    refreshed = store.refresh()
    assert refreshed["run"].tolist() == ["s", "s"] and refreshed["error"].isna().all()
    assert refreshed["log"].tolist()[1].startswith(f"{SUMMARY_DIR}/")
    assert_same_tables(store, "s", load_run(runs / "s").log)
    (row,) = store.runs().to_dict("records")
    assert row["steps"] == tiny.epochs * tiny.steps and row["status"] == "finished"
    assert row["formats"].endswith("mindspore-summary")
    assert set(store.table("scalars", ["s"])["tag"]) == {"loss/auto"}


def test_a_summary_folder_alone_is_finished_with_its_epochs_from_the_train_lineage(
    summary_run: Path, tmp_path: Path, tiny
) -> None:
    """Only ``summary/`` of the run, no log, no hparams.json: SummaryCollector's lineage file,
    written when the training ended, gives the total epochs, the steps per epoch (dataset size
    over batch size) and the end -- finished, every epoch timed, in a cold read and the store."""
    pytest.importorskip("duckdb")
    from parsers.store import RunStore

    runs = tmp_path / "runs"
    shutil.copytree(summary_run / SUMMARY_DIR, runs / "alone")
    run = load_run(runs / "alone")
    assert run.log.meta["lineage"]["steps_per_epoch"] == tiny.steps
    summary = run.summary
    assert summary["status"] == "finished" and summary["total_epochs"] == tiny.epochs
    assert summary["epochs_done"] == tiny.epochs and summary["steps"] == tiny.epochs * tiny.steps
    epochs = run.log.epochs
    assert (
        epochs["epoch"].tolist() == list(range(1, tiny.epochs + 1))
        and epochs["steps"].tolist() == [tiny.steps] * tiny.epochs
    )
    assert (epochs["epoch_time_ms"] > 0).all()
    (finish,) = run.log.events.query("kind == 'finish'")["message"]
    assert "train lineage" in finish
    (lineage,) = (runs / "alone").glob("*_lineage")
    held = lineage.rename(tmp_path / lineage.name)  # the store first sees the run before it ended
    store = RunStore(runs)
    store.refresh()
    (row,) = store.runs().to_dict("records")
    assert row["status"] == "running" and row["epochs_done"] == 0  # no epochs, no total, no end yet
    held.rename(lineage)  # MindSpore writes it after the summary's last record: the row is built again
    store.refresh()
    (row,) = store.runs().to_dict("records")
    assert row["run"] == "alone" and row["status"] == "finished" and row["epochs_done"] == tiny.epochs
    assert row["total_epochs"] == tiny.epochs and row["mean_epoch_time_ms"] > 0
    from tests.store_helpers import assert_same_tables

    assert_same_tables(store, "alone", run.log)
