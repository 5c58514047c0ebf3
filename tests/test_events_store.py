"""Summary and TensorBoard event files as runs of the run store, on real files written by tensorboardX.

The store's tables of a run must be what a cold read gives (``parsers.runs.load_run``):
for a file read whole, for a file refreshed while it grows (torn records on the way),
with a corrupt record in the middle, and for a folder holding a text log and event files
of one run (rows joined on step).  Every event file here is written by a real writer.
"""

from __future__ import annotations

import json
import math
import shutil
import struct
from pathlib import Path

import pytest
from cli_logs import call_cli

from parsers.runs import load_run
from parsers.schema import TABLES
from parsers.store import RunStore
from tests.store_helpers import assert_same_tables
from tests.test_events import (
    LOG_LINE,
    T0,
    SummaryWriter,
    expected_scalars,
    write_lightning_like,
    write_run,
    written,
)

pytest.importorskip("duckdb")

HEADER, FOOTER = 12, 4  # length (8) + its CRC (4); the data's CRC (4)


def record_ends(data: bytes) -> list[int]:
    """Byte offsets just past each complete record of an event file's bytes."""
    ends, pos = [], 0
    while pos + HEADER <= len(data):
        (length,) = struct.unpack("<Q", data[pos : pos + 8])
        end = pos + HEADER + length + FOOTER
        if end > len(data):
            break
        ends.append(end)
        pos = end
    return ends


def cold(folder: Path):
    return load_run(folder).log


def test_an_event_file_folder_is_a_run_with_the_tables_of_a_cold_read(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs / "tb", range(1, 41))
    store = RunStore(runs)
    refreshed = store.refresh()
    assert refreshed["status"].tolist() == ["new"] and refreshed["error"].isna().all()
    assert_same_tables(store, "tb", cold(runs / "tb"))
    scalars = store.table("scalars", ["tb"])
    assert len(scalars) == len(expected_scalars(range(1, 41)))
    (row,) = store.runs().to_dict("records")
    assert row["status"] == "running" and row["steps"] == 40 and row["formats"] == "tensorboard"
    assert (
        row["first_loss"] == written(1, "train/loss")[0] and row["last_loss"] == written(40, "train/loss")[0]
    )
    assert row["best_metric"] == "acc"
    assert store.meta("tb")["tags"] == {"train/loss": 40, "train/lr": 40, "grad_norm": 40, "eval/acc": 8}
    assert store.refresh()["status"].tolist() == ["unchanged"]


def test_a_growing_event_file_refreshed_incrementally_equals_a_cold_read(tmp_path: Path) -> None:
    """The file grows by 193 bytes at a time, so most refreshes end in a torn record, which waits."""
    source = write_run(tmp_path / "source", range(1, 41))
    data = source.read_bytes()
    ends = record_ends(data)
    assert ends[-1] == len(data)
    runs = tmp_path / "runs"
    (runs / "tb").mkdir(parents=True)
    growing, reference = runs / "tb" / source.name, tmp_path / "cold" / "tb"
    store, statuses, parsed, torn = RunStore(runs), [], 0, 0
    for cut in [*range(193, len(data), 193), len(data)]:
        with growing.open("ab") as handle:
            handle.write(data[growing.stat().st_size if growing.exists() else 0 : cut])
        refreshed = store.refresh()
        statuses += refreshed["status"].tolist()
        parsed += int(refreshed["bytes_parsed"].sum())
        complete = max([e for e in ends if e <= cut], default=0)
        (event_file,) = store.meta("tb")["event_files"]
        assert event_file["pending_bytes"] == cut - complete and not event_file["corrupt"]
        torn += cut != complete
        shutil.rmtree(reference.parent, ignore_errors=True)
        reference.mkdir(parents=True)
        (reference / source.name).write_bytes(data[:complete])
        if complete:
            assert_same_tables(store, "tb", cold(reference))
    assert torn > 10 and statuses[0] == "new" and set(statuses[1:]) == {"appended"}
    assert parsed == len(data)  # every byte read once
    assert len(store.table("scalars", ["tb"])) == len(expected_scalars(range(1, 41)))


def test_a_corrupt_record_in_the_middle_is_skipped_counted_and_reported_with_its_offset(
    tmp_path: Path,
) -> None:
    source = write_run(tmp_path / "source", range(1, 41))
    data = bytearray(source.read_bytes())
    ends = record_ends(bytes(data))
    start = ends[29]  # the 31st record: the lr of step 10 (after the version record, 3 or 4 a step)
    data[start + HEADER + 5] ^= 0xFF  # a byte of its data: the data's CRC no longer matches
    runs = tmp_path / "runs"
    (runs / "tb").mkdir(parents=True)
    (runs / "tb" / source.name).write_bytes(bytes(data))
    store = RunStore(runs)
    assert store.refresh()["error"].isna().all()
    assert_same_tables(store, "tb", cold(runs / "tb"))
    events = store.table("events", ["tb"])
    warnings = events[events["kind"] == "warning"]["message"].tolist()
    (warning,) = [w for w in warnings if "corrupt record" in w]
    assert f"corrupt record skipped at byte {start}" in warning and source.name in warning
    assert any(w.startswith("no epoch times") for w in warnings)  # no epoch tag, no config: said why
    (event_file,) = store.meta("tb")["event_files"]
    assert [o for o, _ in event_file["corrupt"]] == [start]
    scalars = store.table("scalars", ["tb"])
    assert len(scalars) == len(expected_scalars(range(1, 41))) - 1  # that one scalar, no other
    assert scalars["step"].max() == 40  # the records after it are kept
    (row,) = store.runs().to_dict("records")
    assert row["status"] == "running" and row["steps"] == 40
    lr = scalars[scalars["tag"] == "train/lr"]["step"].tolist()
    assert lr == [s for s in range(1, 41) if s != 10]


def test_a_text_log_and_event_files_of_one_run_are_joined_on_step(tmp_path: Path) -> None:
    """As ``test_events``' cold join: steps 1..40 in the log, 1..45 in ``tb/``, step 7's loss differs."""
    runs = tmp_path / "runs"
    run = runs / "run"
    write_run(run / "tb", range(1, 46))
    lines = []
    for step in range(1, 41):
        loss = written(step, "train/loss")[0] if step != 7 else 9.5
        lines.append(LOG_LINE.format(epoch=(step - 1) // 10 + 1, step=(step - 1) % 10 + 1, loss=repr(loss)))
    (run / "train.log").write_text("\n".join(lines) + "\n")
    store = RunStore(runs)
    refreshed = store.refresh()
    assert refreshed["run"].tolist() == ["run", "run"]  # tb/ holds only event files: part of run/
    assert refreshed["log"].tolist()[0] == "train.log" and refreshed["log"].tolist()[1].startswith("tb/")
    assert_same_tables(store, "run", cold(run))
    steps = store.table("steps", ["run"])
    assert steps["global_step"].tolist() == list(range(1, 46))
    assert steps["source"].tolist() == ["log+tfevents"] * 40 + ["tfevents"] * 5
    conflicts = store.table("events", ["run"]).query("kind == 'conflict'")
    assert len(conflicts) == 1 and "step 7" in conflicts["message"].iloc[0]
    (row,) = store.runs().to_dict("records")
    assert row["run"] == "run" and row["steps"] == 45  # joined rows: 40 in both counted once, 5 summary-only
    assert (
        row["first_loss"] == written(1, "train/loss")[0] and row["last_loss"] == written(45, "train/loss")[0]
    )
    assert row["min_loss"] == written(45, "train/loss")[0]  # 2.5 / (1 + step) falls: the summary's last
    assert row["formats"].split(", ")[-1] == "tensorboard"


def test_a_folder_of_event_files_under_a_folder_without_a_log_is_a_run_of_its_own(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs / "exp" / "summary", range(1, 6))
    (runs / "exp" / "notes.md").write_text("not a log\n")
    store = RunStore(runs)
    store.refresh()
    assert store.runs()["run"].tolist() == ["exp/summary"]


def test_a_text_log_run_has_an_empty_scalars_table(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / "a").mkdir(parents=True)
    (runs / "a" / "train.log").write_text(LOG_LINE.format(epoch=1, step=1, loss="0.5") + "\n")
    store = RunStore(runs)
    store.refresh()
    assert list(store.table("scalars")) == ["run", *TABLES["scalars"]] and not len(store.table("scalars"))


@pytest.mark.parametrize("content", ["random", "bad_crc"])
def test_a_file_named_like_an_event_file_that_is_not_one_is_an_error_row(
    tmp_path: Path, content: str
) -> None:
    runs = tmp_path / "runs"
    if content == "random":
        (runs / "bad").mkdir(parents=True)
        (runs / "bad" / "events.out.tfevents.1700000000.host").write_bytes(bytes(range(256)) * 8)
    else:
        path = write_run(runs / "bad", range(1, 11))
        data = bytearray(path.read_bytes())
        for end in record_ends(bytes(data)):
            data[end - 1] ^= 0xFF  # every record's data CRC wrong
        path.write_bytes(bytes(data))
    store = RunStore(runs)
    (refreshed,) = store.refresh().to_dict("records")
    assert refreshed["status"] == "error" and "not a TensorBoard event file" in refreshed["error"]
    (row,) = store.runs().to_dict("records")
    assert row["status"] == "error" and "not a TensorBoard event file" in row["error"]


def test_wall_times_give_epoch_times_and_the_config_the_total_epochs_for_an_eta(tmp_path: Path) -> None:
    """A Lightning-like run (``epoch`` tag) of 3 finished epochs of 10 steps, 0.25 s a step, and
    4 steps of the 4th; its hparams.json says 5 epochs of batch 32: ETA is 2 epochs x 2.5 s."""
    write_lightning_like(tmp_path / "source", epochs=3, per_epoch=10, extra=4)
    (source,) = (tmp_path / "source").iterdir()
    data = source.read_bytes()
    runs = tmp_path / "runs"
    (runs / "pl").mkdir(parents=True)
    (runs / "pl" / "hparams.json").write_text(json.dumps({"max_epochs": 5, "batch_size": 32}))
    store = RunStore(runs)
    half = record_ends(data)[1 + 2 * 15]  # the version record, then 2 a step: steps 1..16
    (runs / "pl" / source.name).write_bytes(data[:half])
    store.refresh()
    (row,) = store.runs().to_dict("records")
    assert row["epochs_done"] == 1 and row["eta_s"] == pytest.approx(4 * 2.5)
    with (runs / "pl" / source.name).open("ab") as handle:
        handle.write(data[half:])
    assert store.refresh()["status"].tolist() == ["appended"]
    (row,) = store.runs().to_dict("records")
    assert row["status"] == "running" and row["epochs_done"] == 3 and row["total_epochs"] == 5
    assert row["mean_epoch_time_ms"] == pytest.approx(2500.0)
    assert row["eta_s"] == pytest.approx(5.0)
    assert row["samples_per_sec"] == pytest.approx(32 / 0.25)
    epochs = store.table("epochs", ["pl"])
    assert epochs["epoch"].tolist() == [1, 2, 3]
    assert epochs["samples_per_sec"].to_numpy() == pytest.approx([128.0] * 3)
    assert set(epochs["samples_per_sec_source"]) == {"computed"}
    steps = store.table("steps", ["pl"])
    assert steps["epoch"].tolist() == [(s - 1) // 10 + 1 for s in range(1, 35)]
    assert_same_tables(store, "pl", cold(runs / "pl"))  # load_run reads the same config


def write_plain(folder: Path, steps: int) -> Path:
    """What a PyTorch loop with tensorboardX records: ``train/loss`` every step (0.25 s apart) and
    ``eval/acc`` every 10 -- no ``epoch`` tag."""
    writer = SummaryWriter(str(folder), flush_secs=3600)
    for step in range(1, steps + 1):
        writer.add_scalar("train/loss", 1.0 / step, step, walltime=T0 + step * 0.25)
        if step % 10 == 0:
            writer.add_scalar("eval/acc", step / 100, step, walltime=T0 + step * 0.25 + 0.1)
    writer.close()
    (path,) = (p for p in folder.iterdir() if p.name.startswith("events.out.tfevents"))
    return path


def grown_store(tmp_path: Path, hparams: dict, steps: int, first: int) -> tuple[RunStore, Path, bytes]:
    """A store over ``runs/tb`` whose event file holds steps 1..``first`` of ``steps`` (refreshed)."""
    data = write_plain(tmp_path / "source", steps).read_bytes()
    runs = tmp_path / "runs"
    (runs / "tb").mkdir(parents=True)
    if hparams:
        (runs / "tb" / "hparams.json").write_text(json.dumps(hparams))
    path = runs / "tb" / "events.out.tfevents.1700000000.host"
    ends = record_ends(data)
    path.write_bytes(data[: ends[first + first // 10]])  # the version record, a loss a step, acc every 10
    store = RunStore(runs)
    store.refresh()
    return store, path, data


def test_steps_per_epoch_in_the_config_give_an_event_run_without_epoch_tag_its_epochs(tmp_path: Path) -> None:
    """25 of 30 steps, 10 a epoch (hparams.json), 0.25 s a step: epochs 1 and 2 took 2.5 s, one
    epoch is left (ETA 2.5 s), batch 32 makes 128 samples/s; at step 30 the run has finished."""
    hparams = {"steps_per_epoch": 10, "epochs": 3, "batch_size": 32}
    store, path, data = grown_store(tmp_path, hparams, 30, 25)
    (row,) = store.runs().to_dict("records")
    assert row["run"] == "tb" and row["log"] == "events.out.tfevents.1700000000.host"  # the row's own
    assert row["status"] == "running" and row["epochs_done"] == 2 and row["total_epochs"] == 3
    assert row["mean_epoch_time_ms"] == pytest.approx(2500.0) and row["eta_s"] == pytest.approx(2.5)
    assert row["samples_per_sec"] == pytest.approx(128.0) and row["steps"] == 25
    cold_run = load_run(path.parent)
    assert cold_run.summary["epochs_done"] == 2 and cold_run.summary["eta_s"] == pytest.approx(2.5)
    assert_same_tables(store, "tb", cold_run.log)
    path.write_bytes(data)
    store.refresh()
    (row,) = store.runs().to_dict("records")
    assert row["status"] == "finished" and row["epochs_done"] == 3 and math.isnan(row["eta_s"])
    epochs = store.table("epochs", ["tb"])
    assert epochs["epoch"].tolist() == [1, 2, 3]
    assert epochs["epoch_time_ms"].to_numpy() == pytest.approx([2500.0] * 3)
    steps = store.table("steps", ["tb"])
    assert steps["epoch"].tolist() == [(s - 1) // 10 + 1 for s in range(1, 31)]
    assert steps["step"].tolist() == [(s - 1) % 10 + 1 for s in range(1, 31)]  # within the epoch, as a log's
    assert_same_tables(store, "tb", cold(path.parent))


def test_total_steps_in_the_config_finish_an_event_run(tmp_path: Path) -> None:
    """An event file cannot say it ended; ``max_steps`` in hparams.json can: reached, finished."""
    store, path, data = grown_store(tmp_path, {"max_steps": 30}, 30, 20)
    (row,) = store.runs().to_dict("records")
    assert row["status"] == "running"
    path.write_bytes(data)
    store.refresh()
    (row,) = store.runs().to_dict("records")
    assert row["status"] == "finished"
    (finish,) = store.table("events", ["tb"]).query("kind == 'finish'")["message"]
    assert finish.startswith("step 30 of 30")
    assert load_run(path.parent).summary["status"] == "finished"
    assert_same_tables(store, "tb", cold(path.parent))


def test_an_event_run_without_epoch_tag_or_config_says_why_it_has_no_epoch_times(
    tmp_path: Path, capsys
) -> None:
    store, path, _ = grown_store(tmp_path, {}, 30, 30)
    shown = call_cli(capsys, path.parent)
    (line,) = [line for line in shown.stdout.splitlines() if line.startswith("epoch time")]
    assert "no epoch tag" in line and "steps_per_epoch" in line  # parse-log's summary says why
    run = load_run(path.parent)
    assert run.summary["epochs_done"] == 0 and run.summary["mean_epoch_time_ms"] is None
    assert run.summary["status"] == "running" and run.summary["events"] == {"warning": 1}
    (why,) = run.log.events["message"]
    assert why.startswith("no epoch times") and "steps_per_epoch" in why
    assert store.table("events", ["tb"])["message"].tolist() == [why]
    (row,) = store.runs().to_dict("records")
    assert row["status"] == "running" and math.isnan(row["mean_epoch_time_ms"]) and row["steps"] == 30


TINY_SUMMARY = Path(__file__).parent / "data" / "mindspore-2.10-cpu" / "summary_tiny"


def test_a_summary_folder_is_finished_once_its_lineage_file_appears(tmp_path: Path) -> None:
    """MindSpore writes the lineage file after the summary's last record, so a store that looked
    at the folder before the training ended must build the run's row again when it appears,
    though no summary byte changed: 2 epochs of 3 steps (54 images, batches of 16), finished."""
    runs = tmp_path / "runs"
    # Copied as a training writes it, with today's times: ``copy2`` would keep the checkout's mtime,
    # and a clone more than an hour old would hold a run stalled, not running.
    shutil.copytree(TINY_SUMMARY, runs / "alone", copy_function=shutil.copy)
    (lineage,) = (runs / "alone").glob("*_lineage")
    held = lineage.rename(tmp_path / lineage.name)
    store = RunStore(runs)
    store.refresh()
    (row,) = store.runs().to_dict("records")
    assert (row["status"], row["epochs_done"], row["steps"]) == ("running", 0, 6)
    held.rename(lineage)
    assert store.refresh()["status"].tolist() == ["unchanged"]  # the event file is as it was
    assert store.changed_runs == ["alone"]
    (row,) = store.runs().to_dict("records")
    assert (row["status"], row["epochs_done"], row["total_epochs"], row["steps"]) == ("finished", 2, 2, 6)
    assert store.table("epochs")["epoch"].tolist() == [1, 2]
    store.refresh()
    assert store.changed_runs == []
