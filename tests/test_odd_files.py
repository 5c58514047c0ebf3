"""Odd files (issue 12, finding 8): a FIFO, a device, a socket, a symlink loop, a file that
cannot be read, a folder where a file belongs.

Each is one ``Error: <path>: <reason>`` line and exit 2 from ``parse-log`` -- never a hang
(``open`` of a FIFO waits for a writer; /dev/zero never ends) and never a traceback -- and
an error row in the store.  All are real: ``mkfifo``, a bound Unix socket, real links,
and real permission checks.  Tests run as root, who reads any file, so "permission
denied" runs in a child process whose capability bounding set lacks CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH (what lets root read a mode-000 file): the kernel then refuses the
read exactly as it would for anyone else.  /proc/sys/vm/compact_memory (mode 0200) is a
file even root cannot open for reading, so that case also runs as is.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cli_logs import REPO, run_cli

from parsers.store import RunStore
from tests.conftest import DATA

BASIC = DATA / "mindspore-2.10-cpu" / "basic.log"
ROOT_UNREADABLE = Path("/proc/sys/vm/compact_memory")  # write-only, even for root
_PR_CAPBSET_DROP, _CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 24, 1, 2


def _fifo(folder: Path) -> Path:
    os.mkfifo(folder / "train.log")
    return folder / "train.log"


def _socket(folder: Path) -> Path:
    path = folder / "train.log"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))  # the socket file stays after the socket closes
    return path


def _loop(folder: Path) -> Path:
    (folder / "a.link").symlink_to("b.link")  # not named like logs: the loop is reached through train.log
    (folder / "b.link").symlink_to("a.link")
    (folder / "train.log").symlink_to("a.link")
    return folder / "train.log"


def _dangling(folder: Path) -> Path:
    (folder / "train.log").symlink_to("deleted_long_ago.log")
    return folder / "train.log"


def _device(folder: Path) -> Path:
    (folder / "train.log").symlink_to("/dev/zero")  # read forever by a plain open().read()
    return folder / "train.log"


ODD = {
    "fifo": (_fifo, "FIFO"),
    "socket": (_socket, "socket"),
    "loop": (_loop, "symlink loop"),
    "dangling": (_dangling, "missing file"),
    "device": (_device, "character device"),
}


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("kind", list(ODD))
def test_parse_log_of_an_odd_file_is_one_error_line(tmp_path: Path, kind: str) -> None:
    make, reason = ODD[kind]
    path = make(tmp_path)
    assert_one_line_error(run_cli(path), f"Error: {path}: ", reason)


@pytest.mark.parametrize("kind", ["fifo", "loop", "device"])
def test_compare_and_report_name_the_odd_file_too(tmp_path: Path, kind: str) -> None:
    make, reason = ODD[kind]
    path = make(tmp_path)
    assert_one_line_error(run_cli("compare", BASIC, path), str(path), reason)
    assert_one_line_error(run_cli("report", path, "-o", tmp_path / "out"), str(path), reason)


@pytest.mark.parametrize("kind", ["fifo", "loop", "socket"])
def test_an_odd_log_in_a_folder_of_ranks_is_named_not_waited_on(tmp_path: Path, kind: str) -> None:
    (tmp_path / "rank_0.log").write_bytes(BASIC.read_bytes())
    make, reason = ODD[kind]
    make(tmp_path).rename(tmp_path / "rank_1.log")
    assert_one_line_error(run_cli(tmp_path), str(tmp_path / "rank_1.log"), reason)


def test_a_folder_where_a_file_belongs(tmp_path: Path) -> None:
    (tmp_path / "formats.toml").mkdir()
    assert_one_line_error(run_cli(BASIC, "--formats", tmp_path / "formats.toml"), "formats.toml", "directory")


# --- permission denied --------------------------------------------------------------------


def _without_root_file_powers() -> None:
    """In the child, before exec: drop the capabilities that let root read any file."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _run_powerless(*argv: str | os.PathLike[str]) -> subprocess.CompletedProcess:
    """``python ARGV`` as a root that is refused mode-000 files (or as the user, when not root)."""
    return subprocess.run(
        [sys.executable, *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        preexec_fn=_without_root_file_powers if os.geteuid() == 0 else None,
        timeout=300,
    )


def _unreadable(folder: Path) -> Path:
    path = folder / "train.log"
    path.write_bytes(BASIC.read_bytes())
    path.chmod(0)
    return path


def test_a_file_root_cannot_read_is_one_error_line() -> None:
    if not ROOT_UNREADABLE.exists():
        pytest.skip(f"{ROOT_UNREADABLE} does not exist on this kernel")
    assert_one_line_error(run_cli(ROOT_UNREADABLE), str(ROOT_UNREADABLE), "permission denied")


def test_a_mode_000_log_is_one_error_line(tmp_path: Path) -> None:
    path = _unreadable(tmp_path)
    result = _run_powerless("-m", "parsers.cli", path)
    assert_one_line_error(result, f"Error: {path}: ", "permission denied")


# --- the store: an error row each, the other runs parsed ------------------------------------


def _runs_with_odd_logs(root: Path) -> Path:
    runs = root / "runs"
    (runs / "good").mkdir(parents=True)
    (runs / "good" / "train.log").write_bytes(BASIC.read_bytes())
    for kind, (make, _) in ODD.items():
        (runs / kind).mkdir()
        make(runs / kind)
    return runs


def test_odd_logs_in_a_runs_folder_are_error_rows(tmp_path: Path) -> None:
    runs = _runs_with_odd_logs(tmp_path)
    store = RunStore(runs)
    result = store.refresh().set_index("run")
    assert result.loc["good", "status"] == "new"
    for kind, (_, reason) in ODD.items():
        if kind == "device":  # /dev/zero is outside the runs root: refused before it is looked at
            reason = "outside the runs root"
        assert result.loc[kind, "status"] == "error", kind
        assert reason in result.loc[kind, "error"], (kind, result.loc[kind, "error"])
    table = store.runs().set_index("run")
    assert sorted(table.index[table["status"] == "error"]) == sorted(ODD)
    assert len(store.table("steps", ["good"])) == 45


def test_an_unreadable_log_in_a_runs_folder_is_an_error_row(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / "good").mkdir(parents=True)
    (runs / "good" / "train.log").write_bytes(BASIC.read_bytes())
    (runs / "locked").mkdir()
    _unreadable(runs / "locked")
    code = (
        "import sys; from parsers.store import RunStore; "
        "print(RunStore(sys.argv[1]).refresh().to_json(orient='records'))"
    )
    done = _run_powerless("-c", code, runs)
    assert done.returncode == 0, done.stderr
    rows = {row["run"]: row for row in json.loads(done.stdout)}
    assert rows["good"]["status"] == "new"
    assert rows["locked"]["status"] == "error" and "permission denied" in rows["locked"]["error"]


# --- the dashboard's log context (the lines around an event, read for display) ---------------


def test_log_context_of_an_odd_file_is_empty_not_waited_on(tmp_path: Path) -> None:
    from dashboard.files import log_context

    for kind in ("fifo", "device", "loop"):
        folder = tmp_path / kind
        folder.mkdir()
        assert log_context(ODD[kind][0](folder), [1], root=tmp_path) == {}


def test_log_context_counts_lines_as_the_parser_does_and_holds_no_long_line(tmp_path: Path) -> None:
    import parsers
    from dashboard.files import log_context

    path = tmp_path / "train.log"
    progress = b"".join(b" %d%%|##|\r" % k for k in range(3))
    path.write_bytes(progress + b"x" * 3_000_000 + b"\n\x00\x00[ERROR] after the bar\n")
    error = parsers.parse_log(path).events.set_index("kind").loc["error", "line"]
    around = log_context(path, [int(error)], root=tmp_path, before=1, after=0)[int(error)]
    assert around[-1] == (int(error), "[ERROR] after the bar")
    assert len(around[0][1]) <= 4096  # the 3 MB line before it, cut for display
