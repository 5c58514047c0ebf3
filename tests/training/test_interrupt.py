"""Ctrl-C / SIGTERM: the log ends in a clear line and the run folder stays readable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training import log_lines
from training.interrupt import TrainingInterrupted, stop_on_signals
from training.run_folder import HPARAMS_FILE, LOG_FILE, METRICS_FILE

pytestmark = pytest.mark.training  # real MindSpore trainings on the CPU

REPO = Path(__file__).resolve().parents[2]


def _wait_for(path: Path, text: str, *, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and text in path.read_text(encoding="utf-8"):
            return
        if process.poll() is not None:
            pytest.fail(f"training exited early with {process.returncode}")
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"{text!r} did not appear in {path} within {timeout} s")


@pytest.fixture(scope="module")
def sigterm_run(tmp_path_factory: pytest.TempPathFactory, tiny, digits3: Path):
    """A long run in a child process, stopped with SIGTERM after its first step."""
    runs = tmp_path_factory.mktemp("runs")
    argv = [
        sys.executable,
        "-m",
        "training",
        *tiny.args(digits3, class_num=3, epoch_size=500),
        "--runs-dir",
        str(runs),
        "--name",
        "stopped",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_for(runs / "stopped" / LOG_FILE, "epoch: 1 step: 1,", process=process, timeout=120)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=120)
    return runs / "stopped", process.returncode, stdout


def test_sigterm_ends_the_log_with_a_clear_line(sigterm_run) -> None:
    run, returncode, stdout = sigterm_run
    last = (run / LOG_FILE).read_text(encoding="utf-8").splitlines()[-1]
    match = log_lines.template_regex(log_lines.RUN_INTERRUPTED).match(last)
    assert match is not None, last
    assert match["signal"] == "SIGTERM"
    assert int(match["epoch"]) >= 1
    assert returncode == 128 + signal.SIGTERM
    assert last in stdout


def test_interrupted_run_folder_is_readable(sigterm_run) -> None:
    run, _, _ = sigterm_run
    hparams = json.loads((run / HPARAMS_FILE).read_text(encoding="utf-8"))
    assert hparams["epoch_size"] == 500
    assert not (run / METRICS_FILE).exists()  # no final metrics for an unfinished run


def test_parser_reports_the_interrupt(sigterm_run, parsers_lib) -> None:
    run, _, _ = sigterm_run
    log = parsers_lib.parse_log(run / LOG_FILE)
    assert "interrupt" in set(log.events["kind"])
    assert len(log.steps) >= 1


def test_signal_is_recorded_then_raised_between_steps() -> None:
    previous = signal.getsignal(signal.SIGINT)
    with stop_on_signals() as request:
        os.kill(os.getpid(), signal.SIGINT)
        assert request.signal_name == "SIGINT"
        with pytest.raises(TrainingInterrupted, match="SIGINT"):
            request.raise_if_requested()
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C does not wait
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is previous


def test_a_process_forked_during_training_ends_on_sigterm() -> None:
    """MindSpore's summary writer forks workers and ends them with SIGTERM: the inherited
    handler must let them end, or the run hangs when it closes its summary."""
    with stop_on_signals() as request:
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # the child blocks, as an idle pool worker does, until a signal ends it
            os.close(write)
            os.read(read, 1)
            os._exit(0)
        os.close(read)
        time.sleep(0.2)
        os.kill(child, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pid, status = os.waitpid(child, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
        else:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            pytest.fail("the forked child did not end on SIGTERM")
        os.close(write)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
        assert request.signal_name is None  # the training itself was not asked to stop
