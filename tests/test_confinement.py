"""Nothing is read outside the runs root (issue 12, finding 4).

Whoever can write a file into a runs folder can write a symlink: ``train.log`` pointing at
another team's log, ``config.yaml`` at a file holding an AWS secret, ``hparams.json`` at
/etc/passwd.  The store resolves every path it reads and refuses one whose real path
leaves the root, naming the reason in the run's row; links that stay inside the root are
followed.  ``parse-log ingest FOLDER`` is the same.  The dashboard's folder box turns a
NUL into a message, not a traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_logs import run_cli

from parsers.store import RunStore
from parsers.store.discover import discover_local
from tests.conftest import DATA

BASIC = DATA / "mindspore-2.10-cpu" / "basic.log"
SECRET = "aws_secret_access_key: AKIAEXAMPLESECRET123\nlr: 0.5\n"


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """(runs root, a folder beside it that the root's links point into)."""
    runs, outside = tmp_path / "runs", tmp_path / "elsewhere"
    runs.mkdir()
    outside.mkdir()
    (outside / "other_team.log").write_bytes(BASIC.read_bytes())
    (outside / "secrets.yaml").write_text(SECRET)
    (outside / "hparams.json").write_text(json.dumps({"password": "hunter2"}))
    return runs, outside


def _run(runs: Path, name: str, log: bytes | None = None) -> Path:
    folder = runs / name
    folder.mkdir(parents=True)
    if log is not None:
        (folder / "train.log").write_bytes(log)
    return folder


def test_a_log_linked_outside_the_root_is_an_error_row_and_not_read(layout) -> None:
    runs, outside = layout
    _run(runs, "good", BASIC.read_bytes())
    (_run(runs, "leak") / "train.log").symlink_to(outside / "other_team.log")
    store = RunStore(runs)
    result = store.refresh().set_index("run")
    assert result.loc["good", "status"] == "new"
    assert result.loc["leak", "status"] == "error"
    assert "outside the runs root" in result.loc["leak", "error"]
    assert store.runs().set_index("run").loc["leak", "status"] == "error"
    assert store.table("steps")["run"].unique().tolist() == ["good"]


def test_configs_linked_outside_the_root_are_not_read(layout) -> None:
    runs, outside = layout
    folder = _run(runs, "leak", BASIC.read_bytes())
    (folder / "config.yaml").symlink_to(outside / "secrets.yaml")
    (folder / "hparams.json").symlink_to(outside / "hparams.json")
    _run(runs, "passwd", BASIC.read_bytes())
    (runs / "passwd" / "hparams.yaml").symlink_to("/etc/passwd")
    store = RunStore(runs)
    store.refresh()
    values = json.dumps(store.hparams().to_dict(orient="records"))
    assert "AKIAEXAMPLESECRET123" not in values and "hunter2" not in values and "root:" not in values
    for run in ("leak", "passwd"):
        source = store.meta(run)["hparams_source"]
        assert "outside the runs root" in source, source


def test_links_that_stay_inside_the_root_are_followed(layout, tmp_path: Path) -> None:
    runs, _ = layout
    target = _run(runs, "inside", BASIC.read_bytes())
    (target / "config.yaml").write_text("lr: 0.25\n")
    linked = _run(runs, "linked")
    (linked / "train.log").symlink_to(Path("..") / "inside" / "train.log")
    (linked / "config.yaml").symlink_to(target / "config.yaml")
    alias = tmp_path / "alias"  # the root itself reached through a link
    alias.symlink_to(runs, target_is_directory=True)
    store = RunStore(alias, tmp_path / "store")
    result = store.refresh().set_index("run")
    assert (result["status"] == "new").all(), result["error"].tolist()
    assert len(store.table("steps", ["linked"])) == 45
    assert store.hparams(["linked"])["lr"].tolist() == [0.25]


def test_a_log_swapped_for_a_link_after_discovery_is_refused(layout) -> None:
    """Discovery saw a file; by the time it is read it is a link out: the read checks again."""
    runs, outside = layout
    log = _run(runs, "race", BASIC.read_bytes()) / "train.log"
    found = discover_local(runs)
    log.unlink()
    log.symlink_to(outside / "other_team.log")
    store = RunStore(runs)
    result = store.refresh_runs(found, root=str(runs.resolve())).set_index("run")
    assert result.loc["race", "status"] == "error"
    assert "outside the runs root" in result.loc["race", "error"]


def test_ingest_of_a_folder_refuses_links_out(layout, tmp_path: Path) -> None:
    runs, outside = layout
    _run(runs, "good", BASIC.read_bytes())
    (_run(runs, "leak") / "train.log").symlink_to(outside / "other_team.log")
    done = run_cli("ingest", runs, "--store", tmp_path / "store", "--workers", "1", "--no-progress", "--json")
    assert done.returncode == 2, done.stderr  # some log could not be ingested
    rows = {row["run"]: row for row in json.loads(done.stdout)}
    assert rows["good"]["status"] == "new"
    assert rows["leak"]["status"] == "error" and "outside the runs root" in rows["leak"]["error"]


def test_the_folder_box_refuses_a_nul_with_a_message(tmp_path: Path) -> None:
    from dashboard.files import FolderError, resolve_within

    (tmp_path / "team").mkdir()
    for typed in ("team\x00", "\x00", "team/\x00/.."):
        with pytest.raises(FolderError, match="not a folder name"):
            resolve_within(tmp_path, typed)


def test_the_folder_box_refuses_a_link_out(layout) -> None:
    from dashboard.files import FolderError, resolve_within

    runs, outside = layout
    os.symlink(outside, runs / "out", target_is_directory=True)
    with pytest.raises(FolderError, match="outside the runs root"):
        resolve_within(runs, "out")


OWN_LOG = "@ 1 0 0.9\n@ 2 0 0.7\n"  # a layout nothing built in reads
OWN_FORMAT = """
[formats.beside]
[[formats.beside.patterns]]
table = "steps"
regex = '@ (?P<step>\\d+) (?P<epoch>\\d+) (?P<loss>\\S+)'
fields = { step = "int", epoch = "int", loss = "float" }
"""


def test_a_formats_file_beside_a_log_is_read_by_the_store_only_when_opted_in(
    tmp_path: Path, monkeypatch
) -> None:
    """Anyone who can write into a runs folder can put a formats file there: the store reads
    it only with EPOCHSCOPE_FORMATS_BESIDE_LOGS=1, and never through a link out of the root."""
    from parsers.store.entry import FORMATS_BESIDE_ENV

    runs = tmp_path / "runs"
    (_run(runs, "own", OWN_LOG.encode()) / "epochscope-formats.toml").write_text(OWN_FORMAT)
    monkeypatch.delenv(FORMATS_BESIDE_ENV, raising=False)
    store = RunStore(runs)
    assert store.refresh().set_index("run").loc["own", "status"] == "error"  # no records without it
    monkeypatch.setenv(FORMATS_BESIDE_ENV, "1")
    assert store.refresh().set_index("run").loc["own", "status"] == "reparsed"
    assert store.table("steps", ["own"])["loss"].tolist() == [0.9, 0.7]
    outside = tmp_path / "elsewhere.toml"
    outside.write_text(OWN_FORMAT)
    linked = _run(runs, "linked", OWN_LOG.encode())
    (linked / "epochscope-formats.toml").symlink_to(outside)
    result = store.refresh().set_index("run")
    assert "outside the runs root" in result.loc["linked", "error"]


def test_run_details_show_no_lines_of_a_log_swapped_for_a_link_out(layout) -> None:
    """Run details read the lines around a run's events from the log's location in the store.
    A log replaced by a link out of the root after the refresh must show none of the file the
    link leads to; a log inside the root still shows its lines."""
    from dashboard import data

    runs, outside = layout
    (outside / "other_team.log").write_text("epoch: 1 step: 1, loss is 0.5\nthe other team's line\n")
    for name in ("kept", "swapped"):
        _run(runs, name, BASIC.read_bytes())
    store = RunStore(runs)
    store.refresh()
    location = {run: store.meta(run)["logs"][0]["location"] for run in ("kept", "swapped")}
    swapped = Path(location["swapped"])
    swapped.unlink()
    swapped.symlink_to(outside / "other_team.log")
    first = BASIC.read_text().splitlines()[0]
    assert data.context_lines(str(runs), location["kept"], (1,), 0, 1)[1][0] == (1, first)
    assert data.context_lines(str(runs), location["swapped"], (1, 2), 1, 1) == {}
