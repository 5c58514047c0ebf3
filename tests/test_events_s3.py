"""Event files in S3 (a moto server on 127.0.0.1), ingested on a Dask cluster like logs.

A run under a prefix holds ``train.log`` and ``summary/`` with a TensorBoard event file
written by tensorboardX; the store's tables are the cold read of the same files on disk,
and an event object that grew is read from its last complete record with ranged requests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from parsers.runs import load_run
from parsers.store import RunStore
from parsers.store.ingest import ingest
from tests.store_helpers import assert_same_tables
from tests.test_events import LOG_LINE, write_run, written
from tests.test_events_store import record_ends

distributed = pytest.importorskip("dask.distributed")
moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

KEY, SECRET = "AKIAEPOCHSCOPE0FAKE2", "epochscope-fake-secret-events"


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_a_run_with_a_log_and_event_files_in_s3_is_ingested_and_followed(
    cluster, s3_server: str, tmp_path: Path
) -> None:
    local = tmp_path / "local" / "run"
    event_file = write_run(local / "summary", range(1, 31))
    lines = [LOG_LINE.format(epoch=(s - 1) // 10 + 1, step=(s - 1) % 10 + 1, loss=repr(written(s, "train/loss")[0]))
             for s in range(1, 21)]  # fmt: skip
    (local / "train.log").write_text("\n".join(lines) + "\n")
    data = event_file.read_bytes()
    half = record_ends(data)[len(record_ends(data)) // 2]
    client = boto3.client(
        "s3", endpoint_url=s3_server, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )  # fmt: skip
    client.create_bucket(Bucket="events")
    client.put_object(Bucket="events", Key="jobs/run/train.log", Body=(local / "train.log").read_bytes())
    key = f"jobs/run/summary/{event_file.name}"
    client.put_object(Bucket="events", Key=key, Body=data[:half] + data[half : half + 7])  # a torn record

    def run_ingest():
        return ingest(["s3://events/jobs"], tmp_path / "store", scheduler=cluster.scheduler_address,
                      endpoint_url=s3_server, storage_options={"key": KEY, "secret": SECRET},
                      progress=False)  # fmt: skip

    first = run_ingest()
    assert first["run"].tolist() == ["run", "run"] and set(first["status"]) == {"new"}
    assert first.set_index("log").loc[f"summary/{event_file.name}", "bytes_parsed"] == half  # torn: waits
    client.put_object(Bucket="events", Key=key, Body=data)  # S3 has no append: the longer object
    again = run_ingest().set_index("log")
    assert again.loc[f"summary/{event_file.name}", "status"] == "appended"
    assert again.loc[f"summary/{event_file.name}", "bytes_parsed"] == len(data) - half
    assert again.loc["train.log", "status"] == "unchanged"
    store = RunStore(tmp_path, tmp_path / "store")
    assert_same_tables(store, "run", load_run(local).log)
    steps = store.table("steps", ["run"])
    assert steps["source"].tolist() == ["log+tfevents"] * 20 + ["tfevents"] * 10
    shutil.rmtree(tmp_path / "store")
