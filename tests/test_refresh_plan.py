"""The store's refresh plan (``parsers.store.sync``) as a user meets it: which logs a refresh
reads again, which rows of the runs table it rebuilds, which runs it keeps.

What a user sees of the plan is each log's refresh row (status and bytes read) and the runs
table after it; every case here changes one thing a refresh must notice -- or must not act
on -- and reads both.  Real files in a temporary runs folder, nothing replaced.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from parsers.store import RunStore
from parsers.store.catalog import CATALOG
from parsers.store.discover import discover_local
from parsers.store.entry import MANIFEST, entry_key, refresh_entry
from parsers.store.sync import build_row, plan, stale_runs, update_catalog
from tests.conftest import DATA

QUICKSTART = DATA / "mindspore" / "mindcv_quickstart_lossmonitor_timemonitor.log"

TWO_STEPS = "epoch: 1 step: 1, loss is 2.5\nepoch: 1 step: 2, loss is 2.25\n"


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    folder = tmp_path / "runs"
    folder.mkdir()
    return folder


def _log(runs: Path, run: str, text: str | bytes, name: str = "train.log") -> Path:
    path = runs / run / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _rows(store: RunStore) -> dict[str, dict]:
    """Each log's refresh row, by run/log."""
    return {f"{r['run']}/{r['log']}": r for r in store.refresh().to_dict("records")}


def test_a_log_whose_rank_changed_is_read_again_though_its_bytes_did_not(runs: Path) -> None:
    """A second log appears in the run: the first, untouched (same size and time), is rank 0
    now, and its rows must say so -- a refresh that trusted size and time would keep rank <NA>;
    and back to <NA> when the second log goes."""
    log = _log(runs, "a", TWO_STEPS)
    store = RunStore(runs)
    store.refresh()
    assert store.table("steps")["rank"].isna().all()  # one log: no rank
    stat = log.stat()
    _log(runs, "a", "epoch: 1 step: 1, loss is 2.4\n", name="train_1.log")
    assert (log.stat().st_size, log.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    rows = _rows(store)
    assert (rows["a/train.log"]["status"], rows["a/train.log"]["bytes_parsed"]) == (
        "reparsed",
        len(TWO_STEPS),
    )
    assert rows["a/train_1.log"]["status"] == "new"
    steps = store.table("steps")
    assert steps["rank"].tolist() == [0, 0, 1] and steps["loss"].tolist() == [2.5, 2.25, 2.4]
    assert store.runs().loc[0, "log"] == "train.log, train_1.log"
    again = _rows(store)  # and then both are left alone
    assert {(r["status"], r["bytes_parsed"]) for r in again.values()} == {("unchanged", 0)}
    (runs / "a" / "train_1.log").unlink()  # alone again: no rank, and its rows say so
    assert _rows(store)["a/train.log"]["status"] == "reparsed"
    assert store.table("steps")["rank"].isna().all() and store.runs().loc[0, "log"] == "train.log"


def test_a_bad_log_left_as_it_is_keeps_its_error_without_being_read(runs: Path) -> None:
    _log(runs, "good", TWO_STEPS)
    _log(runs, "binary", b"\x00\x01\x02 not text")
    store = RunStore(runs)
    first = _rows(store)
    second = _rows(store)
    assert first["binary/train.log"]["error"].endswith("binary file, not a text log")
    assert (second["binary/train.log"]["status"], second["binary/train.log"]["bytes_parsed"]) == ("error", 0)
    assert second["binary/train.log"]["error"] == first["binary/train.log"]["error"]
    assert (second["good/train.log"]["status"], second["good/train.log"]["bytes_parsed"]) == ("unchanged", 0)
    table = store.runs().set_index("run")
    assert (table.loc["binary", "status"], table.loc["good", "status"]) == ("error", "running")
    # and the next look at the bad log costs a stat: the plan hands it to nobody
    todo, unchanged = plan(store.store_dir, discover_local(runs, skip=store.store_dir))
    assert (todo, [(row["run"], row["status"]) for row in unchanged]) == (
        [],
        [("binary", "error"), ("good", "unchanged")],
    )


def test_refreshing_named_runs_keeps_the_other_runs(runs: Path) -> None:
    """``parse-log watch`` refreshes the logs it follows, one by one: the runs table keeps the
    runs found by an earlier refresh of the whole folder; a refresh of the folder drops a run
    that is gone from it."""
    for run in ("a", "b"):
        _log(runs, run, TWO_STEPS)
    store = RunStore(runs)
    store.refresh()
    with (runs / "a" / "train.log").open("a") as handle:
        handle.write("epoch: 1 step: 3, loss is 2.0\n")
    only_a = [run for run in discover_local(runs, skip=store.store_dir) if run.name == "a"]
    result = store.refresh_runs(only_a)
    assert result[["run", "status"]].values.tolist() == [["a", "appended"]]
    table = store.runs().set_index("run")
    assert sorted(table.index) == ["a", "b"] and table.loc["a", "steps"] == 3
    shutil.rmtree(runs / "b")
    store.refresh()
    assert store.runs()["run"].tolist() == ["a"]


def test_two_runs_renamed_at_once_each_keep_their_own_parsed_log(runs: Path) -> None:
    texts = {"a": TWO_STEPS, "b": "epoch: 1 step: 1, loss is 7.5\n"}
    for run, text in texts.items():
        _log(runs, run, text)
    store = RunStore(runs)
    store.refresh()
    os.rename(runs / "a", runs / "c")
    os.rename(runs / "b", runs / "d")
    rows = _rows(store)
    assert {k: (r["status"], r["bytes_parsed"]) for k, r in rows.items()} == {
        "c/train.log": ("unchanged", 0),
        "d/train.log": ("unchanged", 0),
    }
    steps = store.table("steps")
    assert steps.groupby("run")["loss"].apply(list).to_dict() == {"c": [2.5, 2.25], "d": [7.5]}
    for old in ("a", "b"):
        assert not (store.store_dir / "logs" / entry_key(str(runs / old / "train.log"))).exists()


def test_only_runs_whose_logs_or_configs_changed_need_a_new_row(runs: Path) -> None:
    """``parse-log ingest`` builds the rows of ``stale_runs`` on its workers: after a refresh in
    which one log grew and one config changed, those two runs -- and a run never seen -- only."""
    for run in ("grew", "config", "same"):
        _log(runs, run, TWO_STEPS)
    _log(runs, "config", TWO_STEPS).with_name("hparams.json").write_text('{"lr": 0.1}')
    store = RunStore(runs)
    store.refresh()
    with (runs / "grew" / "train.log").open("a") as handle:
        handle.write("epoch: 1 step: 3, loss is 2.0\n")
    (runs / "config" / "hparams.json").write_text('{"lr": 0.2}')
    _log(runs, "new", TWO_STEPS)
    found = discover_local(runs, skip=store.store_dir)
    todo, results = plan(store.store_dir, found)
    assert sorted(spec.run for spec in todo) == ["grew", "new"]
    results += [refresh_entry(store.store_dir, spec) for spec in todo]
    assert sorted(run.name for run in stale_runs(store.store_dir, found, results)) == [
        "config",
        "grew",
        "new",
    ]


def test_the_runs_table_follows_a_log_that_grew_by_an_epoch(runs: Path) -> None:
    """The quickstart log read after three epochs, then whole: the row's epoch figures are the
    whole log's, not those kept from the first read.  Its five 'Train epoch time' lines are
    416429.509, 156746.872, 156574.210, 158398.108, 154978.618 ms (the first compiles)."""
    data = QUICKSTART.read_bytes()
    cut = data.index(b"epoch: 4 step: 150")
    log = _log(runs, "a", data[:cut])
    store = RunStore(runs)
    store.refresh()
    row = store.runs().set_index("run").loc["a"]
    assert (row["epochs_done"], row["mean_epoch_time_ms"]) == (
        3,
        pytest.approx((156746.872 + 156574.210) / 2),
    )
    log.write_bytes(data)
    assert _rows(store)["a/train.log"]["status"] == "appended"
    row = store.runs().set_index("run").loc["a"]
    assert row["epochs_done"] == 5
    assert row["mean_epoch_time_ms"] == pytest.approx((156746.872 + 156574.210 + 158398.108 + 154978.618) / 4)
    assert row["wall_time_s"] == pytest.approx(
        (416429.509 + 156746.872 + 156574.210 + 158398.108 + 154978.618) / 1000
    )


def test_the_run_says_when_its_log_last_changed_and_how_much_of_it_was_read(runs: Path) -> None:
    """The runs table's last update is the log's modification time (what the stall rule counts
    from); the run's meta says how many bytes of each log were read: up to its last full line."""
    log = _log(runs, "a", TWO_STEPS + "epoch: 1 step: 3, loss is 2")  # the last line half written
    when = 1_700_000_000
    os.utime(log, (when, when))
    store = RunStore(runs)
    store.refresh()
    assert store.runs().loc[0, "last_update"] == pd.Timestamp(when, unit="s", tz="UTC")
    assert [entry["bytes"] for entry in store.meta("a")["logs"]] == [len(TWO_STEPS)]
    with log.open("a") as handle:
        handle.write(".0\n")
    store.refresh()
    assert [entry["bytes"] for entry in store.meta("a")["logs"]] == [log.stat().st_size]
    assert store.runs().loc[0, "last_update"] == pd.Timestamp(log.stat().st_mtime_ns, unit="ns", tz="UTC")


def test_a_log_renamed_in_its_run_keeps_its_entry_under_its_new_name(runs: Path) -> None:
    """train.log renamed train_old.log: the text is not read again, and its entry names the
    log by its new name."""
    _log(runs, "a", TWO_STEPS)
    store = RunStore(runs)
    store.refresh()
    os.rename(runs / "a" / "train.log", runs / "a" / "train_old.log")
    rows = _rows(store)
    assert (rows["a/train_old.log"]["status"], rows["a/train_old.log"]["bytes_parsed"]) == ("unchanged", 0)
    new = str(runs / "a" / "train_old.log")
    manifest = json.loads((store.store_dir / "logs" / entry_key(new) / MANIFEST).read_text())
    assert (manifest["location"], manifest["run"], manifest["log"]) == (new, "a", "train_old.log")
    assert [entry["log"] for entry in store.meta("a")["logs"]] == ["train_old.log"]


def test_a_run_renamed_beside_an_unchanged_one_is_not_read_again(runs: Path) -> None:
    """Run b renamed c while run a (listed first) stays as it was: c is b's parsed log."""
    _log(runs, "a", TWO_STEPS)
    _log(runs, "b", "epoch: 1 step: 1, loss is 7.5\n")
    store = RunStore(runs)
    store.refresh()
    os.rename(runs / "b", runs / "c")
    rows = _rows(store)
    assert {k: (r["status"], r["bytes_parsed"]) for k, r in rows.items()} == {
        "a/train.log": ("unchanged", 0),
        "c/train.log": ("unchanged", 0),
    }


def test_a_log_dated_1970_keeps_its_last_update(runs: Path) -> None:
    """Files unpacked from some archives carry modification time 0: that is still a time."""
    log = _log(runs, "a", TWO_STEPS)
    os.utime(log, ns=(0, 0))
    store = RunStore(runs)
    store.refresh()
    assert store.runs().loc[0, "last_update"] == pd.Timestamp(0, unit="s", tz="UTC")


def test_a_log_no_worker_parsed_is_an_error_row_saying_so(runs: Path) -> None:
    """``parse-log ingest`` builds rows on its workers; a log whose worker died before it
    committed anything has no entry: its run's row says it was not parsed, and nothing else."""
    _log(runs, "a", TWO_STEPS)
    (run,) = discover_local(runs)
    row = build_row(runs / ".store", run)
    assert (row["run"], row["status"], row["error"], row["steps"]) == ("a", "error", "not parsed yet", 0)


def test_a_refresh_that_finds_nothing_new_leaves_the_runs_file_as_it_was(runs: Path) -> None:
    """An open dashboard refreshes every few seconds: with no log changed, the runs file is not
    rewritten (every reader of the store would read it again); a changed log rewrites it."""
    log = _log(runs, "a", TWO_STEPS)
    store = RunStore(runs)
    store.refresh()
    catalog = store.store_dir / CATALOG
    written = catalog.stat()
    store.refresh()
    assert (catalog.stat().st_ino, catalog.stat().st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    with log.open("a") as handle:
        handle.write("epoch: 1 step: 3, loss is 2.0\n")
    store.refresh()
    assert catalog.stat().st_ino != written.st_ino
    assert store.runs().loc[0, "steps"] == 3


def test_a_log_copied_into_a_new_run_leaves_the_original_its_entry(runs: Path) -> None:
    """Run a's log copied, byte for byte, into a new run b: b is read as new, a stays as it was
    (a rename would have moved a's entry; a copy must not)."""
    log = _log(runs, "a", TWO_STEPS)
    store = RunStore(runs)
    store.refresh()
    (runs / "b").mkdir()
    shutil.copy2(log, runs / "b" / "train.log")
    rows = _rows(store)
    assert {k: r["status"] for k, r in rows.items()} == {"a/train.log": "unchanged", "b/train.log": "new"}
    assert store.table("steps").groupby("run")["loss"].apply(list).to_dict() == {
        "a": [2.5, 2.25],
        "b": [2.5, 2.25],
    }


def test_a_parsed_log_another_refresher_already_moved_is_left_where_it_is(runs: Path) -> None:
    """Two refreshers (the dashboard and ``parse-log ingest``) both saw run a renamed b and both
    go to move a's parsed log to b.  The first moves it; the second finds nothing left to move
    and says so -- no error, and b's entry stays whole: b is not read again."""
    from parsers.store.sync import _move_entry

    _log(runs, "a", TWO_STEPS)
    store = RunStore(runs)
    store.refresh()
    os.rename(runs / "a", runs / "b")
    old_key = entry_key(str(runs / "a" / "train.log"))
    (run,) = discover_local(runs, skip=store.store_dir)
    assert _move_entry(store.store_dir, old_key, run.logs[0]) is True
    assert _move_entry(store.store_dir, old_key, run.logs[0]) is False  # the second refresher
    rows = _rows(store)
    assert (rows["b/train.log"]["status"], rows["b/train.log"]["bytes_parsed"]) == ("unchanged", 0)
    assert store.table("steps")["loss"].tolist() == [2.5, 2.25]


def test_a_parsed_log_is_never_moved_onto_one_that_has_its_own_entry(runs: Path) -> None:
    """Run a copied to b, both refreshed: each has its own parsed log.  A refresher that still
    takes b for a renamed a must not move a's entry onto b's: both stay, neither is read again."""
    from parsers.store.sync import _move_entry

    _log(runs, "a", TWO_STEPS)
    store = RunStore(runs)
    store.refresh()
    shutil.copytree(runs / "a", runs / "b")
    store.refresh()
    b_spec = next(run for run in discover_local(runs, skip=store.store_dir) if run.name == "b").logs[0]
    assert _move_entry(store.store_dir, entry_key(str(runs / "a" / "train.log")), b_spec) is False
    rows = _rows(store)
    assert {k: (r["status"], r["bytes_parsed"]) for k, r in rows.items()} == {
        "a/train.log": ("unchanged", 0),
        "b/train.log": ("unchanged", 0),
    }


def test_a_refresh_names_the_runs_whose_rows_it_rebuilt_and_no_other(runs: Path) -> None:
    """``changed_runs`` is what a watcher looks at again: a run never seen, a log that grew, a
    config edited with no log changed, a run removed -- and nothing when nothing changed, not
    even after a look at a log whose bytes and time did not move."""
    for run in ("config", "grew", "same", "gone"):
        _log(runs, run, TWO_STEPS)
    (runs / "config" / "hparams.json").write_text('{"lr": 0.1}')
    store = RunStore(runs)
    store.refresh()
    assert store.changed_runs == ["config", "gone", "grew", "same"]
    store.refresh()
    assert store.changed_runs == []
    with (runs / "grew" / "train.log").open("a") as handle:
        handle.write("epoch: 1 step: 3, loss is 2.0\n")
    (runs / "config" / "hparams.json").write_text('{"lr": 0.2}')
    _log(runs, "new", "epoch: 1 step: 1, loss is 7.5\n")  # not gone's bytes: no rename of it
    shutil.rmtree(runs / "gone")
    rows = _rows(store)
    assert {k: r["status"] for k, r in rows.items() if r["status"] != "unchanged"} == {
        "grew/train.log": "appended",
        "new/train.log": "new",
    }
    assert store.changed_runs == ["config", "grew", "new", "gone"]
    assert store.hparams(["config"]).loc[0, "lr"] == 0.2
    store.refresh()
    assert store.changed_runs == []


def test_a_log_touched_without_a_new_byte_updates_its_run_only(runs: Path) -> None:
    """A log whose modification time moved (a ``touch``, a copy back in place) is looked at
    again and reads no byte; its run's last update follows, the other run's row stays."""
    log = _log(runs, "a", TWO_STEPS)
    _log(runs, "b", TWO_STEPS)
    store = RunStore(runs)
    store.refresh()
    later = log.stat().st_mtime_ns + 60 * 10**9
    os.utime(log, ns=(later, later))
    rows = _rows(store)
    assert (rows["a/train.log"]["bytes_parsed"], rows["b/train.log"]["status"]) == (0, "unchanged")
    assert store.changed_runs == ["a"]
    assert store.runs().set_index("run").loc["a", "last_update"] == pd.Timestamp(later, unit="ns", tz="UTC")


def test_a_new_log_gone_before_it_was_read_is_never_taken_for_a_renamed_one(runs: Path) -> None:
    """Run a was removed and run b appeared, but b's log was rotated away between the listing
    and the first read: b is an error row naming its log, not a's parsed log under b's name."""
    when = _log(runs, "a", TWO_STEPS).stat().st_mtime_ns
    store = RunStore(runs)
    store.refresh()
    shutil.rmtree(runs / "a")
    os.utime(_log(runs, "b", TWO_STEPS), ns=(when, when))  # a's bytes and time: a's entry would fit
    found = discover_local(runs, skip=store.store_dir)
    (runs / "b" / "train.log").unlink()
    (row,) = store.refresh_runs(found, root=str(runs.resolve())).to_dict("records")
    assert (row["run"], row["status"]) == ("b", "error")
    assert str(runs / "b" / "train.log") in row["error"]
    (built,) = store.runs().to_dict("records")
    assert (built["run"], built["status"], built["steps"]) == ("b", "error", 0)
    assert not (store.store_dir / "logs" / entry_key(str(runs / "a" / "train.log"))).exists()


def test_a_row_another_refresher_built_from_the_same_commit_is_not_built_again(runs: Path) -> None:
    """Two refreshers (the dashboard and ``parse-log watch``) see log a grow; the other one reads it
    and writes a's row first.  This one then finds a's entry up to date: a's row, built from that
    very commit, is kept -- nothing rebuilt, nothing for a watcher to judge twice."""
    log = _log(runs, "a", TWO_STEPS)
    _log(runs, "b", TWO_STEPS)
    store = RunStore(runs)
    store.refresh()
    with log.open("a") as handle:
        handle.write("epoch: 1 step: 3, loss is 2.0\n")
    found = discover_local(runs, skip=store.store_dir)
    todo, results = plan(store.store_dir, found)
    assert [spec.run for spec in todo] == ["a"]
    other = RunStore(runs)
    other.refresh()
    assert other.changed_runs == ["a"]
    results += [refresh_entry(store.store_dir, spec) for spec in todo]
    assert [(r["run"], r["status"]) for r in results] == [("b", "unchanged"), ("a", "unchanged")]
    assert update_catalog(store.store_dir, found, results) == []
    assert store.runs().set_index("run")["steps"].to_dict() == {"a": 3, "b": 2}


def test_a_log_refused_for_leading_out_of_the_runs_folder_is_not_looked_at_again(
    runs: Path, tmp_path: Path
) -> None:
    """A ``train.log`` that is a link to a file outside the runs folder is refused (an error row
    saying so), and, left as it is, refused from the plan at the next look: no entry refresh, no
    row rebuilt."""
    outside = tmp_path / "elsewhere.log"
    outside.write_text(TWO_STEPS)
    (runs / "a").mkdir()
    (runs / "a" / "train.log").symlink_to(outside)
    store = RunStore(runs)
    (first,) = store.refresh().to_dict("records")
    assert first["status"] == "error" and "outside" in first["error"]
    todo, unchanged = plan(store.store_dir, discover_local(runs, skip=store.store_dir))
    assert (todo, [(row["status"], row["error"]) for row in unchanged]) == ([], [("error", first["error"])])
    store.refresh()
    assert store.changed_runs == []
