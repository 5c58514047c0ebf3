"""A run folder whose ``hparams.json`` cannot be read, given to ``parse-log``, ``report`` and
``compare``: bad input, so one ``Error:`` line naming that file and exit 2, nothing written.

``python -m training`` writes ``hparams.json`` atomically before the first step, so a broken
one means the folder was edited or copied badly; a report or a CI gate that went on without
the hyperparameters would hide that.  The same folder with the file repaired is read.
"""

from __future__ import annotations

import json
import shutil

import pytest
from cli_logs import call_cli, corpus_log, run_cli

BAD = {
    "truncated": b'{"lr": 0.1, "batch_size": 3',
    "not an object": b"[0.1, 32]",
    "not UTF-8": b'{"optimizer": "\xff\xfe"}',
    "empty": b"",
}
GOOD = {"lr": 0.1, "batch_size": 32, "device_target": "CPU"}


@pytest.fixture
def run_dir(tmp_path):
    folder = tmp_path / "runs" / "fit-run"
    folder.mkdir(parents=True)
    shutil.copyfile(corpus_log("fit.log"), folder / "train.log")
    return folder


def commands(run_dir, out):
    other = corpus_log("basic.log")
    return {
        "summary": [run_dir],
        "report": ["report", run_dir, "-o", out],
        "compare as candidate": ["compare", other, run_dir, "--fail-on", "nan"],
        "compare as baseline": ["compare", run_dir, other, "--fail-on", "nan"],
    }


def assert_one_error_naming(result, path) -> None:
    assert result.returncode == 2, result
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and str(path) in line


@pytest.mark.parametrize("content", list(BAD), ids=list(BAD))
@pytest.mark.parametrize("command", ["summary", "report", "compare as candidate", "compare as baseline"])
def test_bad_hparams_is_bad_input_naming_the_file(run_dir, tmp_path, capsys, monkeypatch, command, content):
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chrome"))
    hparams = run_dir / "hparams.json"
    hparams.write_bytes(BAD[content])
    out = tmp_path / "report"
    assert_one_error_naming(call_cli(capsys, *commands(run_dir, out)[command]), hparams)
    assert not out.exists()  # no half-written report


def test_the_same_folder_repaired_is_read(run_dir, tmp_path):
    hparams = run_dir / "hparams.json"
    hparams.write_bytes(BAD["truncated"])
    out = tmp_path / "report"
    no_browser = {"BROWSER_PATH": str(tmp_path / "no-chrome")}
    assert_one_error_naming(run_cli("report", run_dir, "-o", out, env=no_browser), hparams)
    hparams.write_text(json.dumps(GOOD))
    result = run_cli("report", run_dir, "-o", out, env=no_browser)
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads((out / "summary.json").read_text())["runs"]
    assert entry["name"] == "fit-run" and entry["hparams"] == GOOD
