"""TensorBoard event files written by tensorboardX, read back by ``parsers.events``.

Every expected value is what the test itself wrote: tags, steps, wall times (given
explicitly to the writer) and values as float32, the precision event files store.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_logs import call_cli
from event_records import record_offsets

from parsers.errors import NotEventFileError
from parsers.events import event_files, is_event_file, parse_events, read_event_file
from parsers.events.records import HEADER
from parsers.events.tags import classify
from parsers.runs import load_run
from parsers.schema import TABLES

with warnings.catch_warnings():  # tensorboardX's protobuf modules warn about their generated code
    warnings.simplefilter("ignore")
    from tensorboardX import SummaryWriter

T0 = 1_700_000_000.0


def written(step: int, tag: str) -> tuple[float, float]:
    """The (value, wall time) the writer below records for ``tag`` at ``step``."""
    base = {"train/loss": 2.5, "train/lr": 0.1, "eval/acc": 0.5, "grad_norm": 7.0}[tag]
    return float(np.float32(base / (1 + step))), T0 + step * 0.25 + len(tag) * 1e-3


TAGS = ("train/loss", "train/lr", "grad_norm")


def write_run(folder: Path, steps: range, *, eval_every: int = 5) -> Path:
    """A real TensorBoard event file: three tags every step, eval/acc every ``eval_every``."""
    writer = SummaryWriter(str(folder), flush_secs=3600)
    for step in steps:
        for tag in TAGS:
            value, wall = written(step, tag)
            writer.add_scalar(tag, value, step, walltime=wall)
        if step % eval_every == 0:
            value, wall = written(step, "eval/acc")
            writer.add_scalar("eval/acc", value, step, walltime=wall)
    writer.close()
    (path,) = event_files(folder)
    return path


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    write_run(tmp_path / "tb", range(1, 41))
    return tmp_path / "tb"


def expected_scalars(steps: range, *, eval_every: int = 5) -> pd.DataFrame:
    rows = []
    for step in steps:
        tags = [*TAGS, "eval/acc"] if step % eval_every == 0 else list(TAGS)
        for tag in tags:
            value, wall = written(step, tag)
            rows.append({"tag": tag, "step": step, "wall_time": wall, "value": value})
    return pd.DataFrame(rows)


def test_every_scalar_comes_back_with_its_step_and_wall_time(run_dir: Path) -> None:
    run = parse_events(run_dir)
    want = expected_scalars(range(1, 41))
    got = run.scalars
    assert list(got.columns) == list(TABLES["scalars"])
    assert got["tag"].tolist() == want["tag"].tolist()
    assert got["step"].tolist() == want["step"].tolist()
    assert got["wall_time"].tolist() == want["wall_time"].tolist()  # doubles: exact
    assert got["value"].tolist() == want["value"].tolist()  # float32 values: exact
    assert set(got["source"]) == {"tfevents"}
    assert run.meta["formats"] == ["tensorboard"]
    (described,) = run.meta["event_files"]
    assert described["records"] == 1 + len(want)  # the file-version record, then one per scalar
    assert described["corrupt"] == [] and described["pending_bytes"] == 0


def test_tags_fill_the_steps_and_evals_tables(run_dir: Path) -> None:
    run = parse_events(run_dir)
    steps = run.steps
    assert steps["global_step"].tolist() == list(range(1, 41))
    assert steps["loss"].tolist() == [written(s, "train/loss")[0] for s in range(1, 41)]
    assert steps["lr"].tolist() == [written(s, "train/lr")[0] for s in range(1, 41)]
    assert steps["epoch"].isna().all() and set(steps["source"]) == {"tfevents"}
    # the loss's wall times are 0.25 s apart, one step apart: 250 ms a step
    assert steps["step_time_ms"].iloc[1:].round(6).tolist() == [250.0] * 39
    assert run.evals["metric"].tolist() == ["acc"] * 8
    assert run.evals["value"].tolist() == [written(s, "eval/acc")[0] for s in range(5, 41, 5)]
    assert "grad_norm" in set(run.scalars["tag"])  # no column means it, the long table keeps it


@pytest.mark.parametrize(
    ("tag", "meaning"),
    [
        ("loss", ("steps", "loss")),
        ("loss/auto", ("steps", "loss")),  # MindSpore's SummaryCollector
        ("train/loss", ("steps", "loss")),
        ("Loss/train", ("steps", "loss")),
        ("train_loss", ("steps", "loss")),
        ("lr", ("steps", "lr")),
        ("learning_rate", ("steps", "lr")),
        ("train/learning_rate", ("steps", "lr")),
        ("loss_scale", ("steps", "loss_scale")),
        ("eval/acc", ("evals", "acc")),
        ("val_loss", ("evals", "loss")),
        ("Loss/test", ("evals", "Loss")),
        ("top_1_accuracy", ("evals", "top_1_accuracy")),
        ("grad_norm", None),
    ],
)
def test_tag_spellings(tag: str, meaning: tuple[str, str] | None) -> None:
    assert classify([tag]).get(tag) == meaning


def test_a_growing_file_read_incrementally_equals_a_cold_read(tmp_path: Path, run_dir: Path) -> None:
    """The file grows a few bytes at a time, cut anywhere -- mid-header, mid-data, mid-CRC."""
    (source,) = event_files(run_dir)
    data = source.read_bytes()
    growing = tmp_path / "grow" / source.name
    growing.parent.mkdir()
    cursor, parts = None, []
    cuts = sorted({*range(0, len(data), 97), *range(5, len(data), 331), len(data)})
    for cut in cuts:
        growing.write_bytes(data[:cut])
        chunk = read_event_file(growing, cursor, final=False)
        assert chunk.cursor.offset + chunk.pending == cut
        parts.append(chunk.scalars)
        cursor = chunk.cursor
    cold = read_event_file(source)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), cold.scalars)
    assert cursor.to_json() == cold.cursor.to_json()


def test_a_torn_last_record_waits(tmp_path: Path, run_dir: Path) -> None:
    (source,) = event_files(run_dir)
    data = source.read_bytes()
    torn = tmp_path / source.name
    torn.write_bytes(data[:-7])  # the last record lost its CRC's last bytes: still being written
    chunk = read_event_file(torn, final=False)
    whole = read_event_file(source)
    assert len(chunk.scalars) == len(whole.scalars) - 1
    assert chunk.corrupt == [] and chunk.pending > 0
    assert chunk.cursor.offset == len(data) - chunk.pending - 7
    torn.write_bytes(data)
    rest = read_event_file(torn, chunk.cursor, final=False)
    assert rest.scalars.to_dict("records") == whole.scalars.iloc[-1:].to_dict("records")


@pytest.mark.parametrize("where", ["data", "length"])
def test_a_corrupt_record_in_the_middle_is_skipped_reported_and_the_rest_kept(
    tmp_path: Path, run_dir: Path, where: str
) -> None:
    (source,) = event_files(run_dir)
    data = bytearray(source.read_bytes())
    offsets = record_offsets(bytes(data))
    bad = offsets[50]  # record 51: the file-version record, then scalars
    data[bad + (HEADER + 3 if where == "data" else 2)] ^= 0xFF
    broken = tmp_path / "broken" / source.name
    broken.parent.mkdir()
    broken.write_bytes(bytes(data))
    run = parse_events(broken.parent)
    want = expected_scalars(range(1, 41)).drop(index=49).reset_index(drop=True)
    assert run.scalars["tag"].tolist() == want["tag"].tolist()
    assert run.scalars["value"].tolist() == want["value"].tolist()
    (described,) = run.meta["event_files"]
    assert [offset for offset, _ in described["corrupt"]] == [bad]
    (warning,) = run.events[run.events["kind"] == "warning"]["message"]
    assert f"corrupt record skipped at byte {bad}" in warning and source.name in warning


def test_random_bytes_are_not_an_event_file(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "events.out.tfevents.1700000000.host"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(NotEventFileError, match=bad.name):
        parse_events(bad)
    result = call_cli(capsys, bad)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and str(bad) in line and "not a TensorBoard event file" in line


def test_wrong_checksums_everywhere_are_not_an_event_file(tmp_path: Path, run_dir: Path, capsys) -> None:
    (source,) = event_files(run_dir)
    data = bytearray(source.read_bytes())
    for offset in record_offsets(bytes(data)):
        length = int.from_bytes(data[offset : offset + 8], "little")
        data[offset + HEADER + length] ^= 0x55  # every data CRC wrong; the framing itself is intact
    bad = tmp_path / source.name
    bad.write_bytes(bytes(data))
    result = call_cli(capsys, bad)
    assert result.returncode == 2 and "Error: " in result.stderr and str(bad) in result.stderr


def test_cli_summarizes_an_event_folder_and_exports_the_scalars(
    tmp_path: Path, run_dir: Path, capsys
) -> None:
    out = tmp_path / "out"
    result = call_cli(capsys, run_dir, "--to", "parquet", "-o", out)
    assert result.returncode == 0, result.stderr
    assert "tensorboard" in result.stdout
    back = pd.read_parquet(out / "scalars.parquet")
    assert back["value"].tolist() == expected_scalars(range(1, 41))["value"].tolist()
    assert pd.read_parquet(out / "steps.parquet")["loss"].tolist() == [
        written(s, "train/loss")[0] for s in range(1, 41)
    ]


def test_names_that_are_event_files() -> None:
    assert is_event_file("events.out.tfevents.1700000000.host")
    assert is_event_file("events.out.events.summary.1700000000.0.host_MS")
    assert not is_event_file("events.out.events.summary.1700000000.0.host_lineage")
    assert not is_event_file("train.log")


LOG_LINE = "epoch: {epoch} step: {step}, loss is {loss}"


def test_a_folder_with_a_log_and_event_files_is_one_run_joined_on_step(tmp_path: Path) -> None:
    """The log prints the loss of steps 1..40 (10 a epoch); the event file records the same
    losses and the lr, plus steps 41..45 the log has not printed yet -- and one loss differs."""
    run = tmp_path / "run"
    write_run(run / "tb", range(1, 46))
    lines = []
    for step in range(1, 41):
        loss = written(step, "train/loss")[0] if step != 7 else 9.5
        lines.append(LOG_LINE.format(epoch=(step - 1) // 10 + 1, step=(step - 1) % 10 + 1, loss=repr(loss)))
    (run / "train.log").write_text("\n".join(lines) + "\n")
    joined = load_run(run).log
    steps = joined.steps
    assert steps["global_step"].tolist() == list(range(1, 46))  # joined, not doubled
    assert steps["lr"].tolist() == [written(s, "train/lr")[0] for s in range(1, 46)]
    assert steps["source"].tolist() == ["log+tfevents"] * 40 + ["tfevents"] * 5
    assert steps["epoch"].tolist() == [(s - 1) // 10 + 1 for s in range(1, 46)]
    assert steps.loc[6, "loss"] == 9.5  # the log's row stays...
    (conflict,) = joined.events[joined.events["kind"] == "conflict"]["message"]
    assert "step 7" in conflict and "9.5" in conflict and repr(written(7, "train/loss")[0]) in conflict
    assert len(joined.scalars) == len(expected_scalars(range(1, 46)))


def test_hidden_folders_are_skipped(tmp_path: Path, run_dir: Path) -> None:
    shutil.copytree(run_dir, tmp_path / "x" / ".hidden")
    assert event_files(tmp_path / "x") == []


def write_lightning_like(folder: Path, *, epochs: int, per_epoch: int, extra: int = 0) -> None:
    """What PyTorch Lightning records: ``train_loss`` and ``epoch`` (from 0) with every step,
    0.25 s apart, plus ``extra`` steps of an epoch that has not finished."""
    writer = SummaryWriter(str(folder), flush_secs=3600)
    for step in range(1, epochs * per_epoch + extra + 1):
        wall = T0 + step * 0.25
        writer.add_scalar("train_loss", 1.0 / step, step, walltime=wall)
        writer.add_scalar("epoch", float((step - 1) // per_epoch), step, walltime=wall)
    writer.close()


def test_an_epoch_tag_gives_steps_their_epoch_and_wall_times_give_epoch_times(tmp_path: Path) -> None:
    write_lightning_like(tmp_path / "tb", epochs=3, per_epoch=10, extra=4)
    run = parse_events(tmp_path / "tb")
    assert run.steps["epoch"].tolist() == [(s - 1) // 10 + 1 for s in range(1, 35)]  # counted from 1
    epochs = run.epochs
    assert epochs["epoch"].tolist() == [1, 2, 3]  # the 4th has 4 steps so far: not finished
    np.testing.assert_allclose(epochs["epoch_time_ms"].to_numpy(), [2500.0] * 3)  # 10 steps x 0.25 s
    np.testing.assert_allclose(epochs["step_time_ms"].to_numpy(), [250.0] * 3)
    assert epochs["steps"].tolist() == [10, 10, 10] and set(epochs["source"]) == {"tfevents"}


def test_a_summary_only_run_takes_total_epochs_and_batch_size_from_its_config(tmp_path: Path) -> None:
    """An event file records neither; the run folder's hparams.json does: ETA and samples/s."""
    write_lightning_like(tmp_path / "pl", epochs=3, per_epoch=10, extra=4)
    (tmp_path / "pl" / "hparams.json").write_text('{"trainer": {"max_epochs": 5}, "batch_size": 32}')
    run = load_run(tmp_path / "pl")
    assert run.log.meta["total_epochs"] == 5 and run.log.meta["batch_size"] == 32
    summary = run.summary
    assert summary["status"] == "running" and summary["epochs_done"] == 3 and summary["total_epochs"] == 5
    assert summary["eta_s"] == pytest.approx(2 * 2.5)  # 2 epochs left x 2.5 s
    assert run.log.epochs["samples_per_sec"].tolist() == pytest.approx([32 / 0.25] * 3)
    (event_file,) = event_files(tmp_path / "pl")
    assert load_run(event_file).log.meta.get("total_epochs") is None  # a file on its own: no config
