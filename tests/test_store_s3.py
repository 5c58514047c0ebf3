"""``parse-log ingest`` from a real S3-compatible server (moto on 127.0.0.1) through pyarrow's S3.

One moto server and one local Dask cluster (one worker process) serve the module; objects
are put with boto3, which moto brings.  Credentials travel with each log (storage
options), since the worker was started before any test set an environment variable.
They are distinctive fakes (moto accepts any until told otherwise), so each test can
prove they were printed and stored nowhere.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from parsers.store import RunStore
from parsers.store.entry import LogSpec
from parsers.store.ingest import ingest
from parsers.store.remote import RemoteError, StorageOptions, s3_arguments
from tests.conftest import DATA, REPO
from tests.store_helpers import assert_same_tables, cold

distributed = pytest.importorskip("dask.distributed")
moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

LOGS = {
    "exp/a": DATA / "mindspore" / "mindcv_quickstart_lossmonitor_timemonitor.log",
    "exp/b": DATA / "mindyolo" / "yolov5_gpu_issue441.log",
    "c": DATA / "pytorch" / "torchvision_metriclogger_deepspark.log",
}
KEY, SECRET = "AKIAEPOCHSCOPE0FAKE1", "epochscope-fake-secret-never-printed"
S3 = {"key": KEY, "secret": SECRET}


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


@pytest.fixture
def bucket(s3_server: str, request: pytest.FixtureRequest):
    """A fresh bucket named after the test; ``bucket.put(key, data)`` writes an object."""
    client = _client(s3_server, KEY, SECRET)
    name = request.node.name.replace("_", "-")[:50].strip("-")
    client.create_bucket(Bucket=name)

    class Bucket:
        url = f"s3://{name}"
        bucket = name

        @staticmethod
        def put(key: str, data: bytes) -> None:
            client.put_object(Bucket=name, Key=key, Body=data)

    return Bucket


def _client(endpoint: str, key: str, secret: str):
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
        region_name="us-east-1",
    )  # fmt: skip


def _ingest(sources: list[str], store: Path, server: str, cluster, **options) -> pd.DataFrame:
    return ingest(sources, store, scheduler=cluster.scheduler_address, endpoint_url=server,
                  storage_options={**S3, **options}, progress=False).set_index("run")  # fmt: skip


def _assert_no_credentials(*texts: str, store: Path | None = None) -> None:
    """Neither fake credential in any output nor in any file of the store."""
    blobs = [t.encode() for t in texts]
    if store is not None:
        blobs += [p.read_bytes() for p in store.rglob("*") if p.is_file()]
    for secret in (KEY, SECRET):
        assert not any(secret.encode() in blob for blob in blobs), f"{secret} was printed or stored"


def _put_runs(bucket, prefix: str) -> None:
    for run, log in LOGS.items():
        bucket.put(f"{prefix}/{run}/train.log", log.read_bytes())
    bucket.put(f"{prefix}/broken/train.log", b"\x00\x00 binary")


def test_every_run_under_a_prefix(cluster, s3_server: str, bucket, tmp_path: Path) -> None:
    _put_runs(bucket, "modelarts")
    bucket.put("elsewhere/x/train.log", LOGS["c"].read_bytes())  # outside the prefix
    store_dir = tmp_path / "store"
    result = _ingest([f"{bucket.url}/modelarts"], store_dir, s3_server, cluster)
    assert set(result.index) == {*LOGS, "broken"}
    assert result.loc["broken", "status"] == "error" and "binary" in result.loc["broken", "error"]
    store = RunStore(tmp_path, store_dir)
    for run, log in LOGS.items():
        assert (result.loc[run, "status"], result.loc[run, "bytes_parsed"]) == ("new", log.stat().st_size)
        assert_same_tables(store, run, cold(log.read_bytes(), "train.log", tmp_path), other_process=True)
    _assert_no_credentials(result.to_json(), repr(store.runs().to_dict()), store=store_dir)


def test_a_glob_or_one_object_names_logs(cluster, s3_server: str, bucket, tmp_path: Path) -> None:
    _put_runs(bucket, "modelarts")
    result = _ingest([f"{bucket.url}/modelarts/exp/*/train.log"], tmp_path / "store", s3_server, cluster)
    assert sorted(result.index) == ["a", "b"] and set(result["status"]) == {"new"}
    one = _ingest([f"{bucket.url}/modelarts/c/train.log"], tmp_path / "one", s3_server, cluster)
    assert (one.loc["c", "status"], one.loc["c", "bytes_parsed"]) == ("new", LOGS["c"].stat().st_size)


def test_a_grown_object_is_read_from_its_last_offset(cluster, s3_server: str, bucket, tmp_path: Path) -> None:
    _put_runs(bucket, "jobs")
    store_dir = tmp_path / "store"
    _ingest([f"{bucket.url}/jobs"], store_dir, s3_server, cluster)
    appended = b"Epoch: [65]  [   0/1251]  eta: 0:10:00  lr: 0.1  loss: 1.5 (1.5)\n"
    grown = LOGS["c"].read_bytes() + appended
    bucket.put("jobs/c/train.log", grown)  # S3 has no append: a longer object with the same start
    again = _ingest([f"{bucket.url}/jobs"], store_dir, s3_server, cluster)
    assert (again.loc["c", "status"], again.loc["c", "bytes_parsed"]) == ("appended", len(appended))
    assert (again.loc[["exp/a", "exp/b"], "status"] == "unchanged").all()
    assert (again.loc[["exp/a", "exp/b"], "bytes_parsed"] == 0).all()
    store = RunStore(tmp_path, store_dir)
    assert_same_tables(store, "c", cold(grown, "train.log", tmp_path), other_process=True)


def test_a_replaced_object_is_parsed_again(cluster, s3_server: str, bucket, tmp_path: Path) -> None:
    bucket.put("jobs/run/train.log", LOGS["c"].read_bytes())
    store_dir = tmp_path / "store"
    _ingest([f"{bucket.url}/jobs"], store_dir, s3_server, cluster)
    other = LOGS["exp/a"].read_bytes()
    bucket.put("jobs/run/train.log", other)
    again = _ingest([f"{bucket.url}/jobs"], store_dir, s3_server, cluster)
    assert (again.loc["run", "status"], again.loc["run", "bytes_parsed"]) == ("reparsed", len(other))
    assert_same_tables(RunStore(tmp_path, store_dir), "run", cold(other, "train.log", tmp_path),
                       other_process=True)  # fmt: skip


def test_a_compressed_log(cluster, s3_server: str, bucket, tmp_path: Path) -> None:
    text = LOGS["exp/a"].read_bytes()
    packed = gzip.compress(text)
    bucket.put("jobs/zipped/train.log.gz", packed)
    store_dir = tmp_path / "store"
    result = _ingest([f"{bucket.url}/jobs"], store_dir, s3_server, cluster)
    assert (result.loc["zipped", "status"], result.loc["zipped", "bytes_parsed"]) == ("new", len(text))
    assert_same_tables(RunStore(tmp_path, store_dir), "zipped", cold(packed, "train.log.gz", tmp_path),
                       other_process=True)  # fmt: skip


def _command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "parsers.cli", "ingest", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=180, env={**os.environ, **env})  # fmt: skip


AWS_ENV = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1"}


def test_command_with_the_endpoint_option(s3_server: str, bucket, tmp_path: Path) -> None:
    _put_runs(bucket, "modelarts")
    store_dir = tmp_path / "store"
    done = _command(f"{bucket.url}/modelarts", "--endpoint-url", s3_server, "--store", str(store_dir),
                    "--workers", "1", "--json", env=AWS_ENV)  # fmt: skip
    assert done.returncode == 2, done.stderr  # the binary log
    rows = pd.DataFrame(json.loads(done.stdout)).set_index("run")
    assert rows.loc[list(LOGS), "status"].eq("new").all() and rows.loc["broken", "status"] == "error"
    assert "Traceback" not in done.stderr
    _assert_no_credentials(done.stdout, done.stderr, store=store_dir)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _assert_one_error_line(done: subprocess.CompletedProcess, url: str) -> None:
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {url}"), done.stderr
    _assert_no_credentials(done.stdout, done.stderr)


def test_an_unreachable_endpoint_is_one_error_line(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    done = _command("s3://jobs/modelarts", "--endpoint-url", endpoint, "--store", str(tmp_path / "store"),
                    env=AWS_ENV)  # fmt: skip
    _assert_one_error_line(done, "s3://jobs/modelarts")
    assert endpoint in done.stderr and "NETWORK_CONNECTION" in done.stderr


@pytest.fixture
def credentials_checked(s3_server: str) -> Iterator[tuple[str, str]]:
    """moto checking every request's signature (it accepts any by default): a real user's key."""
    import requests

    iam = boto3.client("iam", endpoint_url=s3_server, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                       region_name="us-east-1")  # fmt: skip
    user = f"reader-{time.monotonic_ns()}"
    iam.create_user(UserName=user)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    requests.post(f"{s3_server}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    try:
        yield key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        requests.post(f"{s3_server}/moto-api/reset-auth", data=b"inf", timeout=10).raise_for_status()


def test_a_bad_credential_is_one_error_line(
    cluster, s3_server, bucket, credentials_checked, tmp_path
) -> None:
    key_id, secret = credentials_checked
    log = LOGS["c"].read_bytes()
    _client(s3_server, key_id, secret).put_object(Bucket=bucket.bucket, Key="jobs/a/train.log", Body=log)
    source = f"{bucket.url}/jobs"
    done = _command(source, "--endpoint-url", s3_server, "--store", str(tmp_path / "store"), env=AWS_ENV)
    _assert_one_error_line(done, source)
    assert "ACCESS_DENIED" in done.stderr and "check the credentials" in done.stderr
    wrong_secret = {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": SECRET}
    done = _command(source, "--endpoint-url", s3_server, "--store", str(tmp_path / "store"), env=wrong_secret)
    _assert_one_error_line(done, source)
    assert "check the credentials" in done.stderr
    good = ingest([source], tmp_path / "store", scheduler=cluster.scheduler_address, endpoint_url=s3_server,
                  storage_options={"key": key_id, "secret": secret}, progress=False)  # fmt: skip
    assert good["status"].tolist() == ["new"]  # the same source with the right key: read


@pytest.fixture
def hung_endpoint() -> Iterator[str]:
    """An endpoint that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_hung_endpoint_times_out(hung_endpoint: str, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(RemoteError, match="s3://jobs/runs") as caught:
        ingest(["s3://jobs/runs"], tmp_path / "store", endpoint_url=hung_endpoint, progress=False,
               storage_options={**S3, "request_timeout": 1, "max_attempts": 1})  # fmt: skip
    assert time.monotonic() - started < 30
    _assert_no_credentials(str(caught.value))


def test_storage_options_map_to_pyarrow_and_keep_secrets_out_of_repr() -> None:
    s3fs_style = {"key": KEY, "secret": SECRET, "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000",
                                                                  "region_name": "cn-north-4"}}  # fmt: skip
    args = s3_arguments(s3fs_style)
    assert {k: args[k] for k in ("access_key", "secret_key", "endpoint_override", "scheme", "region")} == {
        "access_key": KEY, "secret_key": SECRET, "endpoint_override": "127.0.0.1:9000", "scheme": "http",
        "region": "cn-north-4",
    }  # fmt: skip
    obs = s3_arguments({"endpoint_url": "https://obs.cn-north-4.myhuaweicloud.com"})
    assert (obs["endpoint_override"], obs["scheme"]) == ("obs.cn-north-4.myhuaweicloud.com", "https")
    assert obs["connect_timeout"] > 0 and obs["request_timeout"] > 0  # a hung endpoint never hangs us
    with pytest.raises(RemoteError, match="requester_pays") as caught:
        s3_arguments({"requester_pays": SECRET})
    assert SECRET not in str(caught.value)
    spec = LogSpec("s3://jobs/a/train.log", "a", "train.log", None, StorageOptions(s3fs_style))
    assert pickle.loads(pickle.dumps(spec)).storage_options == s3fs_style  # what a Dask worker receives
    assert SECRET not in repr(spec) and KEY not in repr(spec) and "127.0.0.1:9000" in repr(spec)
