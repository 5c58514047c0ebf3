"""``--formats FILE`` through ``parse-log``: a user's TOML format reads a layout no built-in
format reads, in the summary, the table files, and ``compare``; its mistakes are bad input.

The log is an in-house trainer's text written by the test (global iteration counter,
0-based epochs, a loss called ``objective``, epoch times in seconds), so every expected
figure is read back from that text.
"""

from __future__ import annotations

import json
import re
import statistics

import pandas as pd
import pytest
from cli_logs import call_cli, run_cli

STEP = re.compile(r"^it (\d+)/\d+ ep (\d+) objective=(\S+) eta=(\S+)$", re.MULTILINE)
EPOCH = re.compile(r"^ep (\d+) took ([\d.]+)s$", re.MULTILINE)

# The README's example format, with this trainer's spellings.
FORMATS = r"""
[formats.mytrainer]
description = "our in-house trainer"
epoch_base = 0

[[formats.mytrainer.patterns]]
table = "steps"
regex = 'it (?P<step>\d+)/\d+ ep (?P<epoch>\d+) objective=(?P<loss>\S+) eta=(?P<lr>\S+)'
fields = { step = "int", epoch = "int", loss = "float", lr = "float" }

[[formats.mytrainer.patterns]]
table = "epochs"
regex = 'ep (?P<epoch>\d+) took (?P<epoch_time_ms>[\d.]+)s'
fields = { epoch = "int", epoch_time_ms = "s" }
"""


def trainer_log(path, *, epochs: int = 3, per_epoch: int = 4, scale: float = 1.0):
    lines, total = [], epochs * per_epoch
    for ep in range(epochs):
        for i in range(1, per_epoch + 1):
            it = ep * per_epoch + i
            lines.append(f"it {it}/{total} ep {ep} objective={scale * 2.0 / it:.5f} eta={0.1 / (ep + 1):.4f}")
        lines.append(f"ep {ep} took {40.5 + 1.25 * ep:.2f}s")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def user_run(tmp_path):
    formats = tmp_path / "mine.toml"
    formats.write_text(FORMATS)
    return trainer_log(tmp_path / "trainer.log"), formats


def test_no_built_in_format_reads_the_layout(user_run):
    log, _ = user_run
    result = run_cli(log)
    assert result.returncode == 2 and "no records of any known format" in result.stderr
    assert "--formats" in result.stderr


def test_summary_with_formats_file_reads_the_log(user_run):
    log, formats = user_run
    result = run_cli(log, "--formats", formats, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    text = log.read_text()
    steps, epochs = STEP.findall(text), EPOCH.findall(text)
    losses = [float(s[2]) for s in steps]
    seconds = [float(e[1]) for e in epochs]
    assert summary["formats"] == ["mytrainer"]
    assert summary["steps"] == len(steps) and summary["last_global_step"] == int(steps[-1][0])
    assert (summary["first_loss"], summary["last_loss"], summary["min_loss"]) == (
        losses[0],
        losses[-1],
        min(losses),
    )
    assert summary["epochs_done"] == len(epochs)
    assert summary["mean_epoch_time_ms"] == pytest.approx(statistics.fmean(seconds[1:]) * 1000)
    assert summary["total_time_s"] == pytest.approx(sum(seconds))
    assert summary["lines_read"] == len(text.splitlines()) and summary["lines_skipped"] == 0


def test_table_files_hold_the_user_formats_columns(user_run, tmp_path):
    log, formats = user_run
    out = tmp_path / "tables"
    result = run_cli(log, "--formats", formats, "--to", "csv", "-o", out)
    assert result.returncode == 0, result.stderr
    text = log.read_text()
    steps = pd.read_csv(out / "steps.csv")
    printed = STEP.findall(text)
    # epoch_base = 0: the trainer's epoch 0 is reported as epoch 1, like every other format
    assert steps["epoch"].tolist() == [int(s[1]) + 1 for s in printed]
    assert steps["global_step"].tolist() == [int(s[0]) for s in printed]
    assert steps["loss"].tolist() == [float(s[2]) for s in printed]
    assert steps["lr"].tolist() == [float(s[3]) for s in printed]
    epochs = pd.read_csv(out / "epochs.csv")
    assert epochs["epoch"].tolist() == [int(e[0]) + 1 for e in EPOCH.findall(text)]
    assert epochs["epoch_time_ms"].tolist() == pytest.approx(
        [float(e[1]) * 1000 for e in EPOCH.findall(text)]
    )
    assert json.loads((out / "meta.json").read_text())["formats"] == ["mytrainer"]


def test_compare_reads_both_logs_with_the_formats_file(user_run, tmp_path, capsys):
    log, formats = user_run
    worse = trainer_log(tmp_path / "worse.log", scale=1.5)
    rise = min(float(s[2]) for s in STEP.findall(worse.read_text())) / min(
        float(s[2]) for s in STEP.findall(log.read_text())
    )
    argv = ["compare", log, worse, "--formats", formats, "--json", "--fail-on"]
    broken = call_cli(capsys, *argv, "min-loss-rise=10%")
    assert broken.returncode == 1
    (check,) = json.loads(broken.stdout)["checks"]
    assert check["worse_by"] == pytest.approx(rise - 1, rel=1e-6)
    assert call_cli(capsys, *argv, f"min-loss-rise={100 * (rise - 1) + 1:.0f}%").returncode == 0


def test_a_mistake_in_the_formats_file_is_one_error_line(user_run, tmp_path):
    log, _ = user_run
    bad = tmp_path / "bad.toml"
    bad.write_text(FORMATS.replace('loss = "float"', 'loss = "number"'))
    result = run_cli(log, "--formats", bad)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and str(bad) in line and "number" in line
    assert re.search(r"pattern (?:#\s*)?1\b", line), line  # the first pattern of mytrainer
    missing = tmp_path / "nowhere.toml"
    result = run_cli(log, "--formats", missing)
    assert result.returncode == 2 and str(missing) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
