"""The run store on real files: parse once, follow growth, survive rotation, crashes and races.

Everything is real: logs in a temporary runs folder, the store beside them, other
processes started with ``subprocess`` where the test is about processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import parsers
from parsers.runs import load_run
from parsers.schema import TABLES
from parsers.store import RunStore
from parsers.store.catalog import CATALOG
from parsers.store.entry import MANIFEST, entry_key
from parsers.store.logfile import FINGERPRINT_BYTES
from parsers.store.summary import RUN_COLUMNS
from tests.conftest import DATA, REPO, reference_generator
from tests.store_helpers import assert_same_meta, assert_same_tables, cold, complete_prefix, cuts

MINDSPORE = DATA / "mindspore" / "mindcv_quickstart_lossmonitor_timemonitor.log"
GROWING = [
    MINDSPORE,
    DATA / "mindyolo" / "yolov8_step10_issue370.log",  # step times on the line after each step
    DATA / "modelzoo" / "maskrcnn_gpu_iso_timestamp.log",
    DATA / "pytorch" / "torchvision_metriclogger_deepspark.log",
    DATA / "mindformers" / "tre_global_norm_resume.log",
]


RACE_SECONDS = float(os.environ.get("EPOCHSCOPE_RACE_SECONDS", "10"))


def _reference_log(epochs: int, steps: int) -> bytes:
    """The benchmark's reference log, small: LossMonitor every step, TimeMonitor per epoch."""
    return "".join(reference_generator().reference_lines(epochs, steps, 32)).encode()


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    folder = tmp_path / "runs"
    folder.mkdir()
    return folder


def _refresh(store: RunStore) -> dict[str, dict]:
    table = store.refresh()
    return {f"{r.run}/{r.log}": r._asdict() for r in table.itertuples(index=False)}


@pytest.mark.parametrize("log", GROWING, ids=lambda p: p.name)
def test_growing_log_equals_cold_parse_after_every_refresh(log: Path, runs: Path, tmp_path: Path) -> None:
    data = log.read_bytes().rstrip(b"\n") + b"\n"
    target = runs / "run1" / "train.log"
    target.parent.mkdir()
    store = RunStore(runs)
    read = 0  # bytes the store has read of the log: every refresh reads on from there
    for end in [*cuts(len(data), seed=7, n=5), len(data)]:
        target.write_bytes(data[:end])
        row = _refresh(store)["run1/train.log"]
        prefix = complete_prefix(data, end)
        # The log only grows: once bytes were read, each refresh appends; reading from the start
        # again ('reparsed') is only for an entry that holds nothing yet.
        assert row["status"] in ({"new", "reparsed", "error"} if read == 0 else {"appended", "error"})
        read = read + row["bytes_parsed"] if row["status"] in {"appended", "error"} else row["bytes_parsed"]
        assert read <= len(prefix)  # complete lines only (a step line may wait for the next one)
        if row["status"] == "error":  # nothing a format knows yet: a row with the reason, no tables
            assert "no records" in row["error"]
            continue
        expected = cold(prefix, "train.log", tmp_path)
        assert_same_tables(store, "run1", expected)
    assert read == len(data)  # in the end every byte was read, and each once
    assert_same_meta(store.meta("run1"), expected.meta)


def test_folder_of_rank_logs_is_one_run(runs: Path) -> None:
    job = runs / "job"
    job.mkdir()
    data = _reference_log(2, 50)
    for rank in (0, 1):
        (job / f"rank_{rank}.log").write_bytes(data)
    (job / "hparams.json").write_text(json.dumps({"batch_size": 32, "device_num": 2}))
    store = RunStore(runs)
    assert set(store.refresh()["status"]) == {"new"}
    expected = load_run(job).log  # what parse-log shows of the folder: its config's batch size too
    assert expected.meta["batch_size"] == 32
    assert_same_tables(store, "job", expected)
    assert_same_meta(store.meta("job"), expected.meta)
    assert store.runs().loc[0, "steps"] == len(expected.steps)


def test_unchanged_log_is_not_read_again(runs: Path) -> None:
    (runs / "a").mkdir()
    (runs / "a" / "train.log").write_bytes(MINDSPORE.read_bytes())
    store = RunStore(runs)
    first = _refresh(store)["a/train.log"]
    manifest = store.store_dir / "logs" / entry_key(str(runs / "a" / "train.log")) / MANIFEST
    before = manifest.stat().st_mtime_ns
    second = _refresh(store)["a/train.log"]
    assert (first["status"], first["bytes_parsed"]) == ("new", MINDSPORE.stat().st_size)
    assert (second["status"], second["bytes_parsed"]) == ("unchanged", 0)
    assert manifest.stat().st_mtime_ns == before  # not even its manifest was rewritten
    assert RunStore(runs).refresh()["bytes_parsed"].sum() == 0  # a new process-like store object: same


def test_half_written_line_waits(runs: Path) -> None:
    log = runs / "a" / "train.log"
    log.parent.mkdir()
    log.write_text("epoch: 1 step: 1, loss is 2.5\n")
    store = RunStore(runs)
    store.refresh()
    with log.open("a") as handle:
        handle.write("epoch: 1 step: 2, loss is 2.4")  # no newline yet: the writer is mid-line
    assert _refresh(store)["a/train.log"]["bytes_parsed"] == 0
    assert store.table("steps")["loss"].tolist() == [2.5]
    with log.open("a") as handle:
        handle.write("123\n")
    row = _refresh(store)["a/train.log"]
    assert (row["status"], row["bytes_parsed"]) == ("appended", len("epoch: 1 step: 2, loss is 2.4123\n"))
    assert store.table("steps")["loss"].tolist() == [2.5, 2.4123]


def test_truncated_and_rotated_logs_are_read_again(runs: Path, tmp_path: Path) -> None:
    log = runs / "a" / "train.log"
    log.parent.mkdir()
    data = MINDSPORE.read_bytes()
    log.write_bytes(data)
    store = RunStore(runs)
    store.refresh()
    log.write_bytes(data[: len(data) // 2].rsplit(b"\n", 1)[0] + b"\n")  # truncated (copytruncate)
    assert _refresh(store)["a/train.log"]["status"] == "reparsed"
    assert_same_tables(store, "a", cold(log.read_bytes(), "train.log", tmp_path))
    other = (DATA / "mindspore" / "fcn8s_train_epoch_time.log").read_bytes()
    log.write_bytes(other + data)  # rotated: a new file at the same path, longer than the old one
    assert _refresh(store)["a/train.log"]["status"] == "reparsed"
    assert_same_tables(store, "a", cold(log.read_bytes(), "train.log", tmp_path))


def test_a_log_rewritten_in_place_and_grown_is_read_again(runs: Path, tmp_path: Path) -> None:
    """A job restarted into the same file: the same first kilobyte (its warnings), other losses.

    The file is longer than what was read and starts with the same bytes, so only the bytes
    before where reading stopped tell that it is not the old log grown: a refresh must read
    it again from the start, not append to the old losses.
    """
    data = MINDSPORE.read_bytes()
    cut = data.index(b"epoch: 4 step: 150")  # three epochs read
    log = runs / "a" / "train.log"
    log.parent.mkdir()
    log.write_bytes(data[:cut])
    store = RunStore(runs)
    assert _refresh(store)["a/train.log"]["status"] == "new"
    old, new = (
        b"epoch: 3 step: 776, loss is 0.0934530645608902",
        b"epoch: 3 step: 776, loss is 0.9934530645608902",
    )
    assert data.index(old) > FINGERPRINT_BYTES  # after the bytes that name the log
    rewritten = data.replace(old, new)
    log.write_bytes(rewritten)
    row = _refresh(store)["a/train.log"]
    assert (row["status"], row["bytes_parsed"]) == ("reparsed", len(rewritten))
    losses = store.table("steps")["loss"].tolist()
    assert len(losses) == 25 and losses[14] == 0.9934530645608902  # epoch 3's last step, as now written
    assert_same_tables(store, "a", cold(rewritten, "train.log", tmp_path))


def test_renamed_run_keeps_its_parsed_log(runs: Path) -> None:
    (runs / "old").mkdir()
    (runs / "old" / "train.log").write_bytes(MINDSPORE.read_bytes())
    store = RunStore(runs)
    store.refresh()
    (runs / "old").rename(runs / "new")
    row = _refresh(store)["new/train.log"]
    assert (row["status"], row["bytes_parsed"]) == ("unchanged", 0)
    assert store.runs()["run"].tolist() == ["new"]
    assert len(store.table("steps", ["new"]))
    new_log = str(runs / "new" / "train.log")  # the entry moved to the new name, and says so
    manifest = json.loads((store.store_dir / "logs" / entry_key(new_log) / MANIFEST).read_text())
    assert (manifest["key"], manifest["location"], manifest["run"], manifest["log"]) == (
        entry_key(new_log),
        new_log,
        "new",
        "train.log",
    )
    assert not (store.store_dir / "logs" / entry_key(str(runs / "old" / "train.log"))).exists()


def test_a_removed_run_leaves_the_store(runs: Path) -> None:
    for run in ("a", "b"):
        (runs / run).mkdir()
        (runs / run / "train.log").write_bytes(MINDSPORE.read_bytes())
    store = RunStore(runs)
    store.refresh()
    entry = store.store_dir / "logs" / entry_key(str(runs / "b" / "train.log"))
    assert entry.is_dir()
    (runs / "b" / "train.log").unlink()
    (runs / "b").rmdir()
    assert store.refresh()["run"].tolist() == ["a"]
    assert store.runs()["run"].tolist() == ["a"] and set(store.table("steps")["run"]) == {"a"}
    assert not entry.exists()  # its parsed tables are gone too


def test_an_edited_config_updates_the_run_without_reading_its_log(runs: Path) -> None:
    (runs / "a").mkdir()
    (runs / "a" / "train.log").write_bytes(MINDSPORE.read_bytes())
    (runs / "a" / "hparams.json").write_text(json.dumps({"lr": 0.1}))
    store = RunStore(runs)
    store.refresh()
    (runs / "a" / "hparams.json").write_text(json.dumps({"lr": 0.25, "batch_size": 64}))
    assert _refresh(store)["a/train.log"]["status"] == "unchanged"
    hp = store.hparams().set_index("run")
    assert (hp.loc["a", "lr"], hp.loc["a", "batch_size"]) == (0.25, 64)


def test_bad_logs_are_rows_not_exceptions(runs: Path) -> None:
    for name, content in {
        "good": MINDSPORE.read_bytes(),
        "binary": b"\x00\x01\x02 not text",
        "empty": b"",
        "unknown": b"hello\nthis is not a training log\n",
    }.items():
        (runs / name).mkdir()
        (runs / name / "train.log").write_bytes(content)
    (runs / "broken_gz").mkdir()
    (runs / "broken_gz" / "train.log.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    store = RunStore(runs)
    result = store.refresh().set_index("run")
    assert result.loc["good", "status"] == "new"
    for run, reason in {"binary": "binary", "empty": "empty", "unknown": "no records",
                        "broken_gz": "gzip"}.items():  # fmt: skip
        assert result.loc[run, "status"] == "error"
        assert reason in result.loc[run, "error"] and "\n" not in result.loc[run, "error"]
    table = store.runs().set_index("run")
    assert table.loc["good", "status"] == "running"  # 5 epochs of an unannounced total, written just now
    assert (table.drop(index="good")["status"] == "error").all()
    assert table.loc["binary", "error"].endswith("binary file, not a text log")


def test_runs_table_matches_summarize(runs: Path) -> None:
    logs = sorted(DATA.glob("*/*.log"))[::3]
    for i, log in enumerate(logs):
        (runs / f"r{i:02d}").mkdir()
        (runs / f"r{i:02d}" / log.name).write_bytes(log.read_bytes())
    store = RunStore(runs)
    store.refresh()
    table = store.runs().set_index("run")
    for i, log in enumerate(logs):
        row = table.loc[f"r{i:02d}"]
        parsed = parsers.parse_log(runs / f"r{i:02d}" / log.name, strict=False)
        want = parsers.summarize(parsed)
        if not any(len(t) for t in parsed.tables().values()):
            assert row["status"] == "error"
            continue
        assert row["status"] == want["status"], log.name  # written just now: none is stalled yet
        for ours, theirs in [("epochs_done", "epochs_done"), ("total_epochs", "total_epochs"), ("steps", "steps"),
                             ("first_loss", "first_loss"), ("last_loss", "last_loss"), ("min_loss", "min_loss"),
                             ("mean_epoch_time_ms", "mean_epoch_time_ms"), ("samples_per_sec", "samples_per_sec"),
                             ("wall_time_s", "total_time_s"), ("eta_s", "eta_s")]:  # fmt: skip
            got, expected = row[ours], want[theirs]
            assert (pd.isna(got) and expected is None) or got == pytest.approx(expected), (log.name, ours)
        assert row["formats"] == ", ".join(want["formats"])


def test_a_runs_table_another_process_wrote_is_read_from_its_file(runs: Path) -> None:
    """The dashboard reads the catalog that ``parse-log ingest`` or another refresher replaced:
    a new file (new inode), not this process's cache -- here one from before run c was added,
    put back as another process's atomic replace would: its rows and hyperparameters are shown."""
    fit = (DATA / "mindspore-2.10-cpu" / "fit.log").read_bytes()
    for name in ("a", "b"):
        (runs / name).mkdir()
        (runs / name / "train.log").write_bytes(fit)
    (runs / "b" / "hparams.json").write_text('{"lr": 0.05}')
    store = RunStore(runs)
    store.refresh()
    before, hparams = store.runs(), store.hparams()
    catalog = store.store_dir / CATALOG
    older = catalog.with_name("older.parquet")
    shutil.copy2(catalog, older)
    (runs / "c").mkdir()
    (runs / "c" / "train.log").write_bytes(fit)
    store.refresh()
    assert store.runs()["run"].tolist() == ["a", "b", "c"]
    os.replace(older, catalog)
    pd.testing.assert_frame_equal(store.runs(), before)
    pd.testing.assert_frame_equal(store.hparams(), hparams)


def test_an_unchanged_runs_file_is_not_read_again(runs: Path) -> None:
    """The Runs page asks for the runs table every few seconds: while the file is the same one
    (inode, size, modification time), it is served from memory -- here its bytes are zeroed in
    place with its time put back, and the table is still the one written."""
    (runs / "a").mkdir()
    (runs / "a" / "train.log").write_bytes((DATA / "mindspore-2.10-cpu" / "fit.log").read_bytes())
    store = RunStore(runs)
    store.refresh()
    before = store.runs()
    catalog = store.store_dir / CATALOG
    st = catalog.stat()
    with catalog.open("r+b") as handle:
        handle.write(b"\0" * st.st_size)
    os.utime(catalog, ns=(st.st_atime_ns, st.st_mtime_ns))
    pd.testing.assert_frame_equal(store.runs(), before)


def test_runs_columns_and_table_run_column(runs: Path) -> None:
    for run in ("b", "a/deep"):
        (runs / run).mkdir(parents=True)
        (runs / run / "train.log").write_bytes(MINDSPORE.read_bytes())
    store = RunStore(runs)
    store.refresh()
    table = store.runs()
    assert list(table.columns) == [
        "run", "path", "log", "status", "epochs_done", "total_epochs", "steps", "first_loss", "last_loss",
        "min_loss", "best_metric", "best_value", "mean_epoch_time_ms", "samples_per_sec", "wall_time_s",
        "eta_s", "last_update", "error", "formats",
    ]  # fmt: skip
    assert table["run"].tolist() == ["a/deep", "b"]
    assert str(table["last_update"].dt.tz) == "UTC"
    for name in TABLES:
        both = store.table(name)
        assert list(both.columns) == ["run", *TABLES[name]]
        assert both.index.equals(pd.RangeIndex(len(both))) and str(both["run"].dtype) == "string"
        assert set(both["run"]) <= {"a/deep", "b"}
    steps = store.table("steps", ["b"])
    assert set(steps["run"]) == {"b"} and len(steps) == len(parsers.parse_log(MINDSPORE).steps)


def test_a_store_refreshed_by_another_process_is_read_from_its_files(runs: Path) -> None:
    """The dashboard reads what ``parse-log ingest`` or another refresher wrote: the runs table
    and the entries come from disk, not from what this process remembers writing."""
    (runs / "a").mkdir()
    (runs / "a" / "train.log").write_bytes(MINDSPORE.read_bytes())
    (runs / "a" / "hparams.json").write_text(json.dumps({"lr": 0.1, "batch_size": 32}))
    code = "import sys\nfrom parsers.store import RunStore\nRunStore(sys.argv[1]).refresh()\n"
    subprocess.run([sys.executable, "-c", code, str(runs)], check=True, cwd=REPO)
    store = RunStore(runs)
    row = store.runs().set_index("run").loc["a"]
    # The log: 25 loss lines over 5 epochs, {'accuracy': 0.951}; the times after the first epoch
    # (156746.872, 156574.210, 158398.108, 154978.618 ms) average 156674.452 ms.
    assert (row["status"], row["epochs_done"], row["steps"]) == ("running", 5, 25)
    assert (row["first_loss"], row["last_loss"]) == (2.0816354751586914, 0.09367241710424423)
    assert row["min_loss"] == 0.006707251071929932
    assert (row["best_metric"], row["best_value"]) == ("accuracy", 0.951)
    assert row["mean_epoch_time_ms"] == pytest.approx(156674.452)
    assert (row["log"], row["path"]) == ("train.log", str(runs / "a"))
    hp = store.hparams().set_index("run")
    assert (hp.loc["a", "lr"], hp.loc["a", "batch_size"]) == (0.1, 32)
    meta = store.meta("a")
    assert meta["hparams_source"] == "hparams.json" and meta["logs"][0]["log"] == "train.log"
    assert len(store.table("steps", ["a"])) == 25 and store.table("evals")["value"].tolist() == [0.951]
    assert store.refresh()["status"].tolist() == ["unchanged"]  # its plan reads the other's runs table
    with (runs / "a" / "train.log").open("a") as handle:  # the run goes on; the other process reads it
        handle.write("epoch: 6 step: 156, loss is 0.0123\n")
    subprocess.run([sys.executable, "-c", code, str(runs)], check=True, cwd=REPO)
    row = store.runs().set_index("run").loc["a"]  # the replaced runs table, not the one read before
    assert (row["steps"], row["last_loss"]) == (26, 0.0123)
    assert store.table("steps", ["a"])["loss"].iloc[-1] == 0.0123


def test_a_store_without_runs_has_an_empty_runs_table(runs: Path) -> None:
    """Before any refresh, and after one of a folder without logs: no rows, the usual columns."""
    store = RunStore(runs)
    for table in (store.runs(), (store.refresh(), store.runs())[1]):
        assert table.empty and list(table.columns) == list(RUN_COLUMNS)
        types = {c: str(t) for c, t in table.dtypes.items()}
        assert types["last_update"] == "datetime64[ns, UTC]"
        assert {types[c] for c in ("run", "path", "log", "status", "best_metric", "error", "formats")} == {
            "string"
        }
        assert {types[c] for c in ("epochs_done", "total_epochs", "steps")} == {"Int64"}
        assert {types[c] for c in ("first_loss", "min_loss", "eta_s", "wall_time_s")} == {"float64"}
    steps = store.table("steps")
    assert steps.empty and list(steps.columns) == ["run", *TABLES["steps"]]
    assert str(steps["run"].dtype) == "string"  # as when it holds runs


def test_throughput_from_each_runs_own_batch_size_in_a_table_of_runs(runs: Path) -> None:
    """Logs that print no samples/s: each run's comes from its own batch size and devices,
    also when one table holds several runs; the table is indexed 0..n-1 like any other."""
    step_ms = [532.519, 200.444, 200.223, 202.555, 198.182]  # per step time of its 5 epochs
    samples = {"a": 32 * 8, "b": 64 * 1}
    for run, head in (("a", "batch_size=32, device_num=8"), ("b", "batch_size=64, device_num=1")):
        (runs / run).mkdir()
        (runs / run / "train.log").write_text(f"Namespace({head})\n" + MINDSPORE.read_text())
    (runs / "c").mkdir()  # steps, no epoch line: no epochs rows
    (runs / "c" / "train.log").write_text("epoch: 1 step: 1, loss is 2.5\nepoch: 1 step: 2, loss is 2.4\n")
    store = RunStore(runs)
    store.refresh()
    epochs = store.table("epochs")
    assert epochs["run"].tolist() == ["a"] * 5 + ["b"] * 5
    assert epochs.index.equals(pd.RangeIndex(10))
    for run, per_step in samples.items():
        got = epochs[epochs["run"] == run]
        assert got["samples_per_sec"].tolist() == pytest.approx([per_step * 1000.0 / t for t in step_ms])
        assert set(got["samples_per_sec_source"]) == {"computed"}
    assert store.table("epochs", ["c"]).empty and len(store.table("steps", ["c"])) == 2
    assert store.table("epochs", ["b"])["samples_per_sec"].iloc[0] == pytest.approx(64000 / 532.519)


def test_stalled_when_the_log_stops_growing(runs: Path) -> None:
    log = runs / "a" / "train.log"
    log.parent.mkdir()
    log.write_bytes(_reference_log(3, 20)[:2000])  # mid-run: no finish line
    store = RunStore(runs)
    store.refresh()
    assert store.runs().loc[0, "status"] == "running"
    old = time.time() - 7200
    os.utime(log, (old, old))
    store.refresh()
    row = store.runs().loc[0]
    assert row["status"] == "stalled" and pd.isna(row["eta_s"])


def test_hyperparameters_from_files_never_executed(runs: Path, tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    folders = {
        "json": ("hparams.json", json.dumps({"lr": 0.1, "optimizer": {"name": "sgd", "momentum": 0.9}})),
        "yaml": ("config.yaml", "batch_size: 32\nmodel:\n  depth: 50\n"),
        "zoo": (
            "config.py",  # the side effect comes first: an exec of the file would run it before failing
            f"open({str(marker)!r}, 'w').close()\nimport os\nfrom easydict import EasyDict as ed\n"
            "config = ed({\n    'batch_size': 256,\n    'lr_max': 0.1,\n    'warmup': 5 * 2,\n"
            "    'image_size': (224, 224),\n})\n",
        ),
        "printed": None,
    }
    for run, config in folders.items():
        (runs / run).mkdir()
        (runs / run / "train.log").write_bytes(MINDSPORE.read_bytes())
        if config:
            (runs / run / config[0]).write_text(config[1])
    (runs / "printed" / "train.log").write_text(
        "{'batch_size': 64, 'lr': 0.05, 'epochs': 3}\n" + MINDSPORE.read_text()
    )
    store = RunStore(runs)
    store.refresh()
    hp = store.hparams().set_index("run")
    assert hp.loc["json", "lr"] == 0.1 and hp.loc["json", "optimizer.momentum"] == 0.9
    assert hp.loc["yaml", "batch_size"] == 32 and hp.loc["yaml", "model.depth"] == 50
    assert hp.loc["zoo", "batch_size"] == 256 and hp.loc["zoo", "image_size"] == [224, 224]
    assert "warmup" not in hp.columns or pd.isna(hp.loc["zoo", "warmup"])  # not a literal: left out
    assert hp.loc["printed", "batch_size"] == 64
    assert not marker.exists()
    assert store.meta("zoo")["hparams_source"] == "config.py"


def test_two_refreshers_at_once_keep_the_store_whole(runs: Path, tmp_path: Path) -> None:
    """Two processes refresh and read one store while its log grows: neither ever fails.

    Each refresh of a grown log replaces the runs table while the other process may be
    reading it; DuckDB, handed the catalog's path, died with "TProtocolException: Invalid
    data" when that happened between its reads of the file.  The log grows every 10 ms
    for as long as the processes run, so nearly every refresh writes a different table.
    10 s of it failed 4 runs in 10 before the fix (3 s: none in 10); ``EPOCHSCOPE_RACE_SECONDS``
    sets another length.
    """
    data = _reference_log(4, max(300, int(100 * RACE_SECONDS)))
    log = runs / "a" / "train.log"
    log.parent.mkdir()
    log.write_bytes(data[:1000])
    code = (
        "import sys, time\nfrom parsers.store import RunStore\n"
        "store = RunStore(sys.argv[1])\nend = time.time() + float(sys.argv[2])\n"
        "while time.time() < end:\n    store.refresh(); store.runs(); store.table('steps')\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(runs), str(RACE_SECONDS)], cwd=REPO)
        for _ in range(2)
    ]
    _grow_while_running(log, data, 1000, procs, seconds=RACE_SECONDS + 2)  # + their start-up
    assert [p.wait(timeout=60 + RACE_SECONDS) for p in procs] == [0, 0]
    store = RunStore(runs)
    store.refresh()
    assert_same_tables(store, "a", cold(data, "train.log", tmp_path), other_process=True)


def _grow_while_running(
    log: Path, data: bytes, written: int, procs: list[subprocess.Popen], *, seconds: float
) -> None:
    """Append ``data`` to ``log`` every 10 ms, spread over ``seconds``, then the rest once they end."""
    pause = 0.01
    step = max(1, int(len(data) * pause / seconds))
    with log.open("ab") as handle:
        while written < len(data) and any(p.poll() is None for p in procs):
            handle.write(data[written : written + step])
            handle.flush()
            written += step
            time.sleep(pause)
        for p in procs:
            p.wait(timeout=60 + seconds)
        handle.write(data[written:])


def test_killed_mid_write_leaves_what_was_committed(runs: Path, tmp_path: Path) -> None:
    data = _reference_log(6, 2000)
    for run in ("a", "b", "c"):
        (runs / run).mkdir()
        (runs / run / "train.log").write_bytes(data)
    code = "import sys\nfrom parsers.store import RunStore\nRunStore(sys.argv[1], segment_bytes=20000).refresh()\n"
    partial = 0
    for delay in (0.0, 0.05, 0.2):
        proc = subprocess.Popen([sys.executable, "-c", code, str(runs)], cwd=REPO)
        _wait_for_a_commit(runs, proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)  # in the middle of reading the logs, part by part
        proc.wait()
        partial += _check_committed(RunStore(runs), runs, tmp_path)
    assert partial  # at least one log was caught half-read
    store = RunStore(runs)
    assert set(store.refresh()["status"]) <= {"appended", "unchanged", "new"}
    for run in ("a", "b", "c"):
        assert_same_tables(store, run, cold(data, "train.log", tmp_path), other_process=True)


def test_killed_ingest_leaves_what_was_committed(runs: Path, tmp_path: Path) -> None:
    data = _reference_log(4, 1500)
    for i in range(3):
        (runs / "abc"[i]).mkdir()
        (runs / "abc"[i] / "train.log").write_bytes(data)
    store_dir = runs / ".epochscope"
    command = [
        sys.executable,
        "-m",
        "parsers.cli",
        "ingest",
        str(runs),
        "--store",
        str(store_dir),
        "--workers",
        "1",
    ]
    for delay in (0.0, 0.1):
        proc = subprocess.Popen(command, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        _wait_for_a_commit(runs, proc)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)  # the command and its Dask workers, all at once
        proc.wait()
        _check_committed(RunStore(runs), runs, tmp_path)
    store = RunStore(runs)
    store.refresh()
    for run in ("a", "b", "c"):
        assert_same_tables(store, run, cold(data, "train.log", tmp_path), other_process=True)


def _wait_for_a_commit(runs: Path, proc: subprocess.Popen) -> None:
    deadline = time.time() + 30
    while time.time() < deadline and proc.poll() is None:
        if any((runs / ".epochscope" / "logs").glob("*/manifest.json")):
            return
        time.sleep(0.005)


def _check_committed(store: RunStore, runs: Path, tmp_path: Path) -> int:
    """Every entry a reader can find is exactly a cold parse of the bytes it says it read.

    Returns how many entries were partly read.
    """
    import pyarrow.parquet as pq

    partial = 0

    for run in ("a", "b", "c"):
        log = runs / run / "train.log"
        folder = store.store_dir / "logs" / entry_key(str(log))
        manifest = json.loads((folder / MANIFEST).read_text()) if (folder / MANIFEST).exists() else None
        if manifest is None or not manifest.get("offset"):
            continue
        expected = cold(log.read_bytes()[: manifest["offset"]], "train.log", tmp_path)
        names = [n for n, _ in manifest["files"]["steps"]]
        steps = pd.concat([pq.read_table(folder / n).to_pandas() for n in names], ignore_index=True)
        assert len(steps) == len(expected.steps)
        assert steps["loss"].tolist() == expected.steps["loss"].tolist()
        partial += manifest["offset"] < log.stat().st_size
    if (store.store_dir / "runs.parquet").exists():
        store.runs()  # readable
    return partial


def test_import_stays_light() -> None:
    """``parse-log`` starts without loading what only the store, S3 or the UI needs."""
    heavy = ("duckdb", "dask", "distributed", "fsspec", "pyarrow.fs", "streamlit", "plotly", "mindspore")
    code = (
        "import sys, parsers, parsers.store, parsers.cli\n"
        f"heavy = [m for m in {heavy!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_missing_duckdb_says_what_to_install(runs: Path) -> None:
    code = (
        "import sys\nsys.modules['duckdb'] = None  # as if not installed\n"
        "from parsers.store import RunStore\n"
        "try:\n    RunStore(sys.argv[1])\nexcept ImportError as exc:\n    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(runs)], capture_output=True, text=True, cwd=REPO)
    assert "pip install 'epochscope[store]'" in done.stdout
