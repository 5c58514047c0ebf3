"""The run store's rules as a user meets them: when a quiet run is called stalled, when it has
an ETA, and what a refresh notices (a .gz log, an edited formats file), on real logs.

Time is the logs' modification time: a run is made quiet for N seconds with ``os.utime``,
which is what the store reads, and its thresholds are worked out by hand from the log
text in each test's comments.  Nothing of the store is replaced or mocked.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from cli_logs import timed_epochs

import parsers
from parsers.runs import load_run
from parsers.store import RunStore
from parsers.store.discover import discover_local
from parsers.store.sync import plan
from tests.conftest import DATA, REPO
from tests.store_helpers import assert_same_tables, cold

QUICKSTART = DATA / "mindspore" / "mindcv_quickstart_lossmonitor_timemonitor.log"
RESNET18 = DATA / "modelzoo" / "resnet18_cifar10_epoch_summary.log"
NO_EPOCH_TIME = DATA / "modelzoo" / "bert_pretrain_standalone.log"
FIT = DATA / "mindspore-2.10-cpu" / "fit.log"
ASCEND_CRASH = DATA / "mindspore" / "ascend_error_e39999_traceback.log"


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    folder = tmp_path / "runs"
    folder.mkdir()
    return folder


def _run(runs: Path, name: str, text: bytes, *, quiet_s: float = 0.0, log: str = "train.log") -> Path:
    """A run folder whose log was last written ``quiet_s`` seconds ago."""
    path = runs / name / log
    path.parent.mkdir(parents=True)
    path.write_bytes(text)
    when = time.time() - quiet_s
    os.utime(path, (when, when))
    return path


def _runs_table(runs: Path) -> pd.DataFrame:
    store = RunStore(runs)
    store.refresh()
    return store.runs().set_index("run")


def _losses(text: bytes, pattern: bytes) -> list[float]:
    """The losses as the log prints them."""
    return [float(v) for v in re.findall(pattern, text)]


# --- stalled -------------------------------------------------------------------------------


def test_a_run_is_stalled_after_20_usual_step_intervals_without_growth(runs: Path) -> None:
    # Train epoch times after the first (compile) one: 156746.872, 156574.210, 158398.108 and
    # 154978.618 ms, mean 156674.452 ms; 25 loss lines over 5 epochs = 5 an epoch, so a loss
    # line every 31.33 s, and 20 of those are 626.7 s (above the 5-minute floor).
    text = QUICKSTART.read_bytes()
    for name, quiet in {"fresh": 0, "quiet_600s": 600, "quiet_660s": 660}.items():
        _run(runs, name, text, quiet_s=quiet)
    table = _runs_table(runs)
    assert table.loc["fresh", "status"] == "running"
    assert table.loc["quiet_600s", "status"] == "running"
    assert table.loc["quiet_660s", "status"] == "stalled"


def test_a_run_with_one_step_line_an_epoch_waits_20_epochs(runs: Path) -> None:
    # One loss line an epoch, 30 s epochs (the first, compiling, left out of the mean): a line
    # every 30 s, so 20 of those are 600 s -- not the 5-minute floor, not half of 600.
    text = timed_epochs([90000, 30000, 30000, 30000]).encode()
    _run(runs, "quiet_450s", text, quiet_s=450)
    _run(runs, "quiet_660s", text, quiet_s=660)
    table = _runs_table(runs)
    assert table.loc["quiet_450s", "status"] == "running"
    assert table.loc["quiet_660s", "status"] == "stalled"


def test_a_run_is_never_stalled_before_five_minutes(runs: Path) -> None:
    # One line an epoch; epoch times after the first: 2.413, 2.486, 2.443, 2.851 s, mean
    # 2.54825 s, so 20 intervals are 51 s: the 5-minute floor decides.  "[5/90]": 85 epochs
    # left, ETA 85 x 2.54825 = 216.60125 s while it runs.
    text = b"".join(RESNET18.read_bytes().splitlines(keepends=True)[:5])
    _run(runs, "quiet_240s", text, quiet_s=240)
    _run(runs, "quiet_360s", text, quiet_s=360)
    table = _runs_table(runs)
    assert table.loc["quiet_240s", "status"] == "running"
    assert table.loc["quiet_240s", "eta_s"] == pytest.approx(216.60125)
    assert table.loc["quiet_360s", "status"] == "stalled"
    assert pd.isna(table.loc["quiet_360s", "eta_s"])  # a stalled run has no ETA


def test_a_run_without_epoch_times_is_stalled_after_an_hour(runs: Path) -> None:
    # Two step lines and no epoch time: nothing says how often it writes, so one hour.
    text = NO_EPOCH_TIME.read_bytes()
    _run(runs, "quiet_3000s", text, quiet_s=3000)
    _run(runs, "quiet_3900s", text, quiet_s=3900)
    table = _runs_table(runs)
    assert table.loc["quiet_3000s", "status"] == "running"
    assert table.loc["quiet_3900s", "status"] == "stalled"


def test_a_run_evaluating_is_given_twice_its_longest_evaluation(runs: Path) -> None:
    # The CPU fit log with epoch 2's evaluation taking 400 s instead of 39 ms: a long
    # validation set.  Loss lines every ~0.02 s and the 5-minute floor would call it stalled
    # after 300 s; twice the longest evaluation is 800 s.
    text = FIT.read_bytes().replace(b"Eval epoch time: 39.069 ms", b"Eval epoch time: 400000.000 ms")
    assert b"Eval epoch time: 400000.000 ms" in text
    _run(runs, "quiet_600s", text, quiet_s=600)
    _run(runs, "quiet_900s", text, quiet_s=900)
    table = _runs_table(runs)
    assert table.loc["quiet_600s", "status"] == "running"
    assert table.loc["quiet_900s", "status"] == "stalled"


# --- ETA -----------------------------------------------------------------------------------


def test_a_crashed_run_has_no_eta(runs: Path) -> None:
    # Five epochs of a 90-epoch job (ETA 216.60125 s, see above), then the Ascend error and
    # traceback that ended another job: it will not finish, so no ETA.
    epochs = b"".join(RESNET18.read_bytes().splitlines(keepends=True)[:5])
    _run(runs, "going", epochs)
    _run(runs, "crashed", epochs + ASCEND_CRASH.read_bytes())
    table = _runs_table(runs)
    assert table.loc["going", "status"] == "running"
    assert table.loc["going", "eta_s"] == pytest.approx(216.60125)
    assert table.loc["crashed", "status"] == "crashed"
    assert table.loc["crashed", "epochs_done"] == 5
    assert pd.isna(table.loc["crashed", "eta_s"])
    # parse-log's summary of the same logs says the same
    going, crashed = (
        parsers.summarize(parsers.parse_log(runs / r / "train.log")) for r in ("going", "crashed")
    )
    assert (going["status"], going["eta_s"]) == ("running", pytest.approx(216.60125))
    assert (crashed["status"], crashed["eta_s"]) == ("crashed", None)


# --- what a refresh notices ----------------------------------------------------------------


def test_a_gzipped_log_is_read(runs: Path, tmp_path: Path) -> None:
    text = QUICKSTART.read_bytes()
    lines = text.splitlines(keepends=True)
    log = _run(runs, "a", gzip.compress(b"".join(lines[:20])), log="train.log.gz")
    store = RunStore(runs)
    first = store.refresh().iloc[0]
    assert (first["run"], first["log"], first["status"]) == ("a", "train.log.gz", "new")
    assert store.table("steps")["loss"].tolist() == _losses(b"".join(lines[:20]), rb"loss is (\S+)")
    assert store.refresh().iloc[0]["status"] == "unchanged"
    log.write_bytes(gzip.compress(text))  # rotated logs are compressed again whole: read it again
    assert store.refresh().iloc[0]["status"] == "reparsed"
    assert store.table("steps")["loss"].tolist() == _losses(text, rb"loss is (\S+)")
    assert len(store.table("steps")) == 25
    assert store.table("evals")["value"].tolist() == [0.951]  # {'accuracy': 0.951}
    assert_same_tables(store, "a", cold(text, "train.log", tmp_path))


OWN_STEPS = """[formats.mytrainer]
[[formats.mytrainer.patterns]]
table = "steps"
regex = 'it (?P<step>\\d+)/\\d+ ep (?P<epoch>\\d+) loss=(?P<loss>\\S+)'
fields = { step = "int", epoch = "int", loss = "float" }
"""
OWN_EPOCHS = """
[[formats.mytrainer.patterns]]
table = "epochs"
regex = 'ep (?P<epoch>\\d+) took (?P<epoch_time_ms>[\\d.]+)s'
fields = { epoch = "int", epoch_time_ms = "s" }
"""
OWN_LOG = "it 1/2 ep 1 loss=0.9\nit 2/2 ep 1 loss=0.7\nep 1 took 1.5s\nit 1/2 ep 2 loss=0.5\n"


def test_an_edited_formats_file_beside_a_log_reads_it_again(runs: Path, monkeypatch) -> None:
    """The user adds the epoch-time line to their format: the unchanged log is read with it."""
    monkeypatch.setenv("EPOCHSCOPE_FORMATS_BESIDE_LOGS", "1")  # the store reads one only when asked
    _run(runs, "a", OWN_LOG.encode(), log="job.log")
    formats = runs / "a" / "epochscope-formats.toml"
    formats.write_text(OWN_STEPS)
    store = RunStore(runs)
    assert store.refresh().iloc[0]["status"] == "new"
    assert store.table("steps")["loss"].tolist() == [0.9, 0.7, 0.5]
    assert store.table("epochs").empty
    formats.write_text(OWN_STEPS + OWN_EPOCHS)
    later = time.time() + 10
    os.utime(formats, (later, later))  # an edit a moment later, whatever the clock's resolution
    assert store.refresh().iloc[0]["status"] == "reparsed"
    assert store.table("epochs")[["epoch", "epoch_time_ms"]].values.tolist() == [[1, 1500.0]]
    assert store.refresh().iloc[0]["status"] == "unchanged"
    # and the next look costs a stat: the plan, which knows the format read, opens nothing
    todo, unchanged = plan(store.store_dir, discover_local(runs, skip=store.store_dir))
    assert (todo, [row["status"] for row in unchanged]) == ([], ["unchanged"])


def test_a_bad_hparams_json_is_reported_and_the_run_still_read(runs: Path) -> None:
    """A job killed while writing hparams.json left half of it: the run is read, the hyper-
    parameters come from what the log printed, and the run says why the file was not used."""
    printed = b"{'batch_size': 64, 'lr': 0.05, 'epochs': 30}\n"
    _run(runs, "a", printed + QUICKSTART.read_bytes())
    (runs / "a" / "hparams.json").write_text('{"batch_size": 32, "lr": 0.')
    store = RunStore(runs)
    assert store.refresh().iloc[0]["status"] == "new"
    row = store.runs().set_index("run").loc["a"]
    assert (row["status"], row["steps"], row["total_epochs"]) == ("running", 25, 30)  # the printed config's
    hparams = store.hparams().set_index("run")
    assert (hparams.loc["a", "batch_size"], hparams.loc["a", "lr"]) == (64, 0.05)
    assert store.meta("a")["hparams_source"].startswith("log; hparams.json not read: invalid JSON")


def test_a_config_yaml_with_dates_is_read_and_shown_as_written(runs: Path) -> None:
    """YAML reads an unquoted ``2024-05-01`` as a date, which JSON cannot hold: the run is still
    read and its hyperparameters show the date as the file wrote it."""
    _run(runs, "a", QUICKSTART.read_bytes())
    (runs / "a" / "config.yaml").write_text("lr: 0.05\nstarted: 2024-05-01\nepochs: 30\n")
    store = RunStore(runs)
    store.refresh()
    row = store.runs().set_index("run").loc["a"]
    assert (row["status"], row["total_epochs"]) == ("running", 30)
    hparams = store.hparams().set_index("run")
    assert (hparams.loc["a", "lr"], str(hparams.loc["a", "started"])) == (0.05, "2024-05-01")


# --- parse-log ingest ----------------------------------------------------------------------


def test_ingest_exits_2_when_some_logs_fail_and_keeps_the_others(runs: Path, tmp_path: Path) -> None:
    _run(runs, "good", QUICKSTART.read_bytes())
    _run(runs, "binary", b"\x00\x01\x02 not text")
    store_dir = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, "-m", "parsers.cli", "ingest", str(runs), "--store", str(store_dir),
         "--workers", "1", "--no-progress", "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    rows = {row["run"]: row for row in json.loads(done.stdout)}
    assert rows["good"]["status"] == "new"
    assert rows["binary"]["status"] == "error" and "binary" in rows["binary"]["error"]
    store = RunStore(runs, store_dir)
    table = store.runs().set_index("run")
    assert table.loc["good", "status"] == "running" and table.loc["good", "steps"] == 25
    assert table.loc["binary", "status"] == "error"
    steps = store.table("steps", ["good"])
    assert steps["loss"].tolist() == _losses(QUICKSTART.read_bytes(), rb"loss is (\S+)")


# --- parse-log's summary -------------------------------------------------------------------


def test_the_summary_of_a_log_is_what_its_text_says(tmp_path: Path) -> None:
    """``parsers.summarize``, the figures ``parse-log`` prints, read off the quickstart log
    behind a ``Namespace`` line (32 samples a step on each of 8 devices)."""
    log = tmp_path / "train.log"
    log.write_text("Namespace(batch_size=32, device_num=8)\n" + QUICKSTART.read_text())
    step_ms = [200.444, 200.223, 202.555, 198.182]  # per step time, epochs 2-5 (the first compiles)
    epoch_ms = [416429.509, 156746.872, 156574.210, 158398.108, 154978.618]
    summary = parsers.summarize(parsers.parse_log(log))
    assert summary.pop("formats")[0] == "mindspore"  # the line grammar may be named after it
    assert (
        summary
        == {
            "status": "running",  # five epochs of an unannounced total, no finish line
            "epochs_done": 5,
            "total_epochs": None,
            "steps": 25,
            "last_global_step": 3900.0,  # 25 prints x 156 (see the log's .expect.toml)
            "first_loss": 2.0816354751586914,
            "last_loss": 0.09367241710424423,
            "min_loss": 0.006707251071929932,  # epoch 5 step 304
            "mean_epoch_time_ms": pytest.approx(sum(epoch_ms[1:]) / 4),
            "epochs_unknown": None,  # a text log with epoch times: nothing to explain
            "samples_per_sec": pytest.approx(sum(32 * 8 * 1000.0 / t for t in step_ms) / 4),
            "samples_per_sec_source": "computed",
            "total_time_s": pytest.approx(sum(epoch_ms) / 1000.0),
            "eta_s": None,  # no total announced
            "evals": {"accuracy": 0.951},
            "events": {"warning": 4},  # the four [WARNING] DEVICE lines
            "lines_read": 46,
            "lines_skipped": 0,
            "lines_noise": 0,
        }
    )


def test_the_summary_keeps_the_last_eval_and_skips_a_nan_loss() -> None:
    text = (
        "epoch: 1 step: 1, loss is 2.5\n{'accuracy': 0.5}\n"
        "epoch: 2 step: 1, loss is 1.5\nepoch: 2 step: 2, loss is nan\n{'accuracy': 0.75}\n"
    )
    summary = parsers.summarize(parsers.parse_log(text))
    assert summary["evals"] == {"accuracy": 0.75}  # what the run ended with, not the best
    assert (summary["first_loss"], summary["last_loss"], summary["min_loss"]) == (2.5, None, 1.5)
    assert (summary["steps"], summary["events"]) == (3, {"nan": 1})
    assert summary["mean_epoch_time_ms"] is summary["total_time_s"] is summary["samples_per_sec"] is None
    assert summary["samples_per_sec_source"] is None


def test_an_epoch_whose_steps_did_not_all_run_counts_only_when_training_finished(runs: Path) -> None:
    # Two steps an epoch (epoch 1 prints steps 1 and 2); epoch 2 stops after step 1: one epoch
    # done while it runs, both once the log says training completed (the last epoch was short).
    text = "epoch: 1 step: 1, loss is 0.9\nepoch: 1 step: 2, loss is 0.8\nepoch: 2 step: 1, loss is 0.7\n"
    for name, log in (("going", text), ("done", text + "Training completed\n")):
        _run(runs, name, log.encode())
    table = _runs_table(runs)
    for name, done, status in (("going", 1, "running"), ("done", 2, "finished")):
        summary = parsers.summarize(parsers.parse_log(runs / name / "train.log"))
        assert (summary["epochs_done"], summary["status"]) == (done, status)
        assert (table.loc[name, "epochs_done"], table.loc[name, "status"]) == (done, status)


def test_a_text_log_takes_its_total_epochs_and_batch_size_from_its_runs_config(runs: Path) -> None:
    """MindSpore's LossMonitor/TimeMonitor never print the total epochs or the batch size; the
    model zoo's YAML config beside the log names both.  The run then has an ETA -- 5 epochs to
    go at the mean epoch time after the first -- and a throughput of 32 samples a step over each
    epoch's printed step time, in ``parse-log`` and in the runs table alike; a batch size edited
    in the config moves the throughput at the next refresh, the log unread."""
    _run(runs, "a", QUICKSTART.read_bytes())
    config = runs / "a" / "config.yaml"
    config.write_text("epoch_size: 10\nbatch_size: 32\n")
    epoch_ms = [156746.872, 156574.210, 158398.108, 154978.618]  # epochs 2-5 (the first compiles)
    step_ms = [200.444, 200.223, 202.555, 198.182]
    summary = load_run(runs / "a").summary
    store = RunStore(runs)
    store.refresh()
    row = store.runs().set_index("run").loc["a"]
    for figures in (summary, row):
        assert (figures["status"], figures["epochs_done"], figures["total_epochs"]) == ("running", 5, 10)
        assert figures["eta_s"] == pytest.approx(5 * sum(epoch_ms) / 4 / 1000)
        assert figures["samples_per_sec"] == pytest.approx(sum(32_000 / t for t in step_ms) / 4)
    config.write_text("epoch_size: 10\nbatch_size: 64\n")
    later = time.time() + 10
    os.utime(config, (later, later))
    assert store.refresh()["status"].tolist() == ["unchanged"]
    assert store.changed_runs == ["a"]
    row = store.runs().set_index("run").loc["a"]
    assert row["samples_per_sec"] == pytest.approx(sum(64_000 / t for t in step_ms) / 4)


def test_a_total_the_log_announces_wins_over_its_config(runs: Path) -> None:
    """The model zoo's ResNet-18 log says ``epoch: [1/90]``: 90 epochs, whatever the config beside
    it says -- it may be the template the job was started from with another value on the command
    line."""
    _run(runs, "a", RESNET18.read_bytes())
    (runs / "a" / "hparams.json").write_text('{"epoch_size": 120}')
    assert load_run(runs / "a").summary["total_epochs"] == 90
    assert _runs_table(runs).loc["a", "total_epochs"] == 90
