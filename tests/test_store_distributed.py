"""``parse-log ingest`` on a real Dask cluster (127.0.0.1); from S3, see ``test_store_s3.py``.

One local cluster of two worker processes serves the whole module.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from parsers.store import RunStore
from parsers.store.ingest import ingest
from tests.conftest import DATA, REPO
from tests.store_helpers import assert_same_tables, cold

distributed = pytest.importorskip("dask.distributed")

LOGS = {
    "exp/a": DATA / "mindspore" / "mindcv_quickstart_lossmonitor_timemonitor.log",
    "exp/b": DATA / "mindyolo" / "yolov5_gpu_issue441.log",
    "c": DATA / "pytorch" / "torchvision_metriclogger_deepspark.log",
}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local


def _runs_folder(root: Path) -> Path:
    for run, log in LOGS.items():
        (root / run).mkdir(parents=True)
        (root / run / "train.log").write_bytes(log.read_bytes())
    (root / "broken").mkdir()
    (root / "broken" / "train.log").write_bytes(b"\x00\x00 binary")
    return root


def test_ingest_on_a_local_cluster(cluster, tmp_path: Path) -> None:
    runs = _runs_folder(tmp_path / "runs")
    store_dir = tmp_path / "store"
    first = ingest([str(runs)], store_dir, scheduler=cluster.scheduler_address, progress=False).set_index(
        "run"
    )
    assert first.loc["broken", "status"] == "error" and "binary" in first.loc["broken", "error"]
    for run, log in LOGS.items():
        assert (first.loc[run, "status"], first.loc[run, "bytes_parsed"]) == ("new", log.stat().st_size)
    store = RunStore(runs, store_dir)
    for run, log in LOGS.items():
        assert_same_tables(store, run, cold(log.read_bytes(), "train.log", tmp_path), other_process=True)
    assert set(store.runs()["run"]) == {*LOGS, "broken"}

    extra = b"epoch: 2 step: 1, loss is 1.0\n"
    with (runs / "exp/a/train.log").open("ab") as handle:
        handle.write(extra)
    again = ingest([str(runs)], store_dir, scheduler=cluster.scheduler_address, progress=False).set_index(
        "run"
    )
    assert (again.loc["exp/a", "status"], again.loc["exp/a", "bytes_parsed"]) == ("appended", len(extra))
    assert (again.loc[["exp/b", "c"], "bytes_parsed"] == 0).all()
    assert_same_tables(
        store,
        "exp/a",
        cold((runs / "exp/a/train.log").read_bytes(), "train.log", tmp_path),
        other_process=True,
    )


def test_ingest_command_with_a_scheduler_and_a_glob(cluster, tmp_path: Path) -> None:
    runs = _runs_folder(tmp_path / "runs")
    done = subprocess.run(
        [sys.executable, "-m", "parsers.cli", "ingest", str(runs / "exp" / "*" / "train.log"),
         "--store", str(tmp_path / "store"), "--scheduler", cluster.scheduler_address, "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = pd.DataFrame(json.loads(done.stdout))
    assert sorted(rows["run"]) == ["a", "b"] and set(rows["status"]) == {"new"}
    assert "2/2 logs" in done.stderr  # the progress line
