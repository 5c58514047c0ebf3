"""``parse-log FILE|DIR...``: the summary it prints, the tables it writes, and every bad input."""

from __future__ import annotations

import gzip
import json
import math
import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest
from cli_logs import (
    EPOCH_MS,
    LOSS,
    THROUGHPUT,
    TOTAL_EPOCHS,
    call_cli,
    corpus_log,
    edited,
    mean_without_first,
    numbers,
    reference_log,
    run_cli,
)

import parsers
from parsers import table_files
from parsers.cli import COMMANDS, main
from parsers.humanize import duration_ms, loss
from parsers.table_files import TABLE_FORMATS, to_jsonable

# --- bad input: exit 2, one line naming the file ----------------------------------------------


def assert_one_line_error(result, *needles: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert result.stdout == ""


def test_missing_file(tmp_path):
    missing = tmp_path / "no_such_run.log"
    assert_one_line_error(run_cli(missing), str(missing), "no such file")


def test_directory_without_logs(tmp_path):
    (tmp_path / "notes.json").write_text("{}")
    assert_one_line_error(run_cli(tmp_path), str(tmp_path), "no log files")


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    assert_one_line_error(run_cli(empty), str(empty), "empty")


def test_binary_file(tmp_path):
    binary = tmp_path / "model.log"
    binary.write_bytes(bytes(range(256)) * 8)
    assert_one_line_error(run_cli(binary), str(binary), "binary")


def test_no_records_lists_formats_and_suggests_formats_file(tmp_path):
    prose = tmp_path / "notes.log"
    prose.write_text("shopping list\nmilk and eggs\nnothing here looks like training\n")
    result = run_cli(prose)
    assert_one_line_error(result, str(prose), "tried:", "--formats")
    tried = result.stderr.split("tried:")[1]
    assert all(
        name in tried for name in parsers.FORMATS if name not in ("common",) and not name.startswith("user")
    )


def test_unknown_format_names_the_known_ones(capsys):
    result = call_cli(capsys, corpus_log("fit.log"), "--format", "no-such-format")
    assert_one_line_error(result, "no-such-format", "mindspore")


def test_broken_gzip(tmp_path, capsys):
    broken = tmp_path / "train.log.gz"
    # cut before its first line (a gzip cut later keeps the lines before the cut: test_hostile_bytes)
    broken.write_bytes(gzip.compress(b"epoch: 1 step: 1, loss is 0.5\n" * 50)[:12])
    assert_one_line_error(call_cli(capsys, broken), str(broken))


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([], "required"),
        (["--to", "csv"], "required"),
        (["--to", "xlsx", "x.log"], "invalid choice"),
    ],
)
def test_usage_mistakes_are_one_line_errors(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: ") and needle in err[0]


def test_to_without_out_dir(capsys):
    result = call_cli(capsys, corpus_log("fit.log"), "--to", "csv")
    code, out, err = result.returncode, result.stdout, result.stderr
    assert code == 2 and err.startswith("Error: --to needs -o") and out == ""


def test_first_bad_file_among_several_fails_the_command(tmp_path, capsys):
    missing = tmp_path / "gone.log"
    result = call_cli(capsys, corpus_log("fit.log"), missing)
    code, out, err = result.returncode, result.stdout, result.stderr
    assert code == 2 and str(missing) in err and out == ""


# --- the summary, checked against what the log says --------------------------------------------


@pytest.fixture
def ref_log(tmp_path):
    return reference_log(tmp_path / "resnet.log")


def test_json_summary_matches_the_log_text(ref_log, capsys):
    result = call_cli(capsys, ref_log, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    losses = numbers(LOSS, ref_log)
    epoch_ms = numbers(EPOCH_MS, ref_log)
    total = int(TOTAL_EPOCHS.search(ref_log.read_text()).group(1))
    assert summary["steps"] == len(losses)
    assert summary["first_loss"] == losses[0]
    assert summary["last_loss"] == losses[-1]
    assert summary["min_loss"] == min(losses)
    assert summary["epochs_done"] == len(epoch_ms) == total
    assert summary["total_epochs"] == total
    assert summary["mean_epoch_time_ms"] == pytest.approx(mean_without_first(epoch_ms), rel=1e-6)
    assert summary["samples_per_sec"] == pytest.approx(mean_without_first(numbers(THROUGHPUT, ref_log)))
    assert summary["status"] == "finished" and summary["eta_s"] is None


def test_text_summary_says_what_the_log_says(ref_log, capsys):
    result = call_cli(capsys, ref_log)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    losses, epoch_ms = numbers(LOSS, ref_log), numbers(EPOCH_MS, ref_log)
    total = TOTAL_EPOCHS.search(ref_log.read_text()).group(1)
    assert "mindspore" in out
    assert f"{len(epoch_ms)} of {total}" in out
    assert f"first {loss(losses[0])}, last {loss(losses[-1])}, min {loss(min(losses))}" in out
    assert duration_ms(mean_without_first(epoch_ms)) in out
    assert "samples/s" in out and "anomalies   none" in out
    assert "ETA" not in out  # finished runs have none
    assert f"{ref_log.read_text().count(chr(10))} read, 0 skipped" in out


def test_unfinished_log_gets_an_eta(tmp_path, ref_log, capsys):
    lines = ref_log.read_text().splitlines(keepends=True)
    cut = [i for i, line in enumerate(lines) if line.startswith("epoch time:")][1] + 1
    partial = tmp_path / "running.log"
    partial.write_text("".join(lines[:cut]))
    summary = json.loads(call_cli(capsys, partial, "--json").stdout)
    epoch_ms = numbers(EPOCH_MS, partial)
    total = int(TOTAL_EPOCHS.search(partial.read_text()).group(1))
    assert summary["status"] == "running" and summary["epochs_done"] == len(epoch_ms)
    expected = (total - len(epoch_ms)) * mean_without_first(epoch_ms) / 1000.0
    assert summary["eta_s"] == pytest.approx(expected, rel=1e-6)
    text = call_cli(capsys, partial).stdout
    assert f"ETA         {duration_ms(expected * 1000)}" in text


def test_nan_log_reports_anomalies_and_skipped_lines(capsys):
    nan_log = corpus_log("nan.log")
    text = nan_log.read_text()
    result = call_cli(capsys, nan_log)
    assert result.returncode == 0
    anomalies = next(line for line in result.stdout.splitlines() if line.startswith("anomalies"))
    assert "nan" in anomalies and ("traceback" in anomalies) == ("Traceback" in text)
    summary = json.loads(call_cli(capsys, nan_log, "--json").stdout)
    assert summary["status"] == "crashed"
    assert summary["lines_skipped"] > 0
    assert f"{summary['lines_skipped']} skipped" in result.stdout


def test_several_logs_json_is_keyed_by_path(ref_log, capsys):
    fit = corpus_log("fit.log")
    result = call_cli(capsys, ref_log, fit, "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert list(data) == [str(ref_log), str(fit)]
    assert data[str(fit)]["last_loss"] == numbers(LOSS, fit)[-1]


def test_several_logs_text_has_one_block_each(ref_log, capsys):
    fit = corpus_log("fit.log")
    out = call_cli(capsys, ref_log, fit).stdout
    assert f"== {ref_log} ==" in out and f"== {fit} ==" in out


def test_gzip_and_directory_give_the_same_summary(tmp_path, ref_log, capsys):
    packed = tmp_path / "packed.log.gz"
    packed.write_bytes(gzip.compress(ref_log.read_bytes()))
    ranks = tmp_path / "job"
    ranks.mkdir()
    shutil.copy(ref_log, ranks / "rank_0.log")
    plain = json.loads(call_cli(capsys, ref_log, "--json").stdout)
    gz = json.loads(call_cli(capsys, packed, "--json").stdout)
    folder = json.loads(call_cli(capsys, ranks, "--json").stdout)
    for key in ("steps", "first_loss", "last_loss", "mean_epoch_time_ms", "epochs_done"):
        assert plain[key] == gz[key] == folder[key]


def test_forced_format_is_used(ref_log, capsys):
    summary = json.loads(call_cli(capsys, ref_log, "--json", "--format", "mindspore").stdout)
    assert summary["formats"] == ["mindspore"]


def strict_json(text: str):
    """json.loads that refuses the bare NaN/Infinity Python writes but JSON does not have."""

    def refuse(constant: str):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_nan_loss_is_valid_json(tmp_path, ref_log, capsys):
    diverged = edited(ref_log, tmp_path / "diverged.log", r"loss is \S+$", lambda m: "loss is nan", count=1)
    summary = strict_json(call_cli(capsys, diverged, "--json").stdout)
    assert summary["events"]["nan"] == 1
    assert summary["min_loss"] == min(v for v in numbers(LOSS, diverged) if not math.isnan(v))
    assert "anomalies   nan 1" in call_cli(capsys, diverged).stdout


# --- --to: tables written and read back -------------------------------------------------------


def read_table(path, to):
    if to == "parquet":
        return pd.read_parquet(path)
    if to == "csv":
        return pd.read_csv(path)
    return pd.read_json(path, lines=True, precise_float=True) if path.stat().st_size else pd.DataFrame()


@pytest.mark.parametrize("to", list(TABLE_FORMATS))
def test_tables_written_match_parse_log(tmp_path, ref_log, to, capsys):
    out_dir = tmp_path / "out"
    result = call_cli(capsys, ref_log, "--to", to, "-o", out_dir)
    code, out, err = result.returncode, result.stdout, result.stderr
    assert code == 0 and "wrote 5 files" in err and "mindspore" in out
    log = parsers.parse_log(ref_log)
    for name, frame in log.tables().items():
        back = read_table(out_dir / f"{name}{TABLE_FORMATS[to]}", to)
        if to == "parquet":
            pd.testing.assert_frame_equal(back, frame)
            continue
        assert len(back) == len(frame)
        if len(frame):
            assert list(back.columns) == list(frame.columns)
            assert back["line"].tolist() == frame["line"].tolist()
    steps = read_table(out_dir / f"steps{TABLE_FORMATS[to]}", to)
    assert steps["loss"].tolist() == numbers(LOSS, ref_log)  # exact, not rounded
    meta = json.loads((out_dir / "meta.json").read_text())
    assert meta == to_jsonable(log.meta)


@pytest.mark.parametrize("to", list(TABLE_FORMATS))
def test_tables_are_written_in_slices_without_losing_rows(tmp_path, ref_log, to, monkeypatch):
    monkeypatch.setattr(table_files, "SLICE_ROWS", 7)  # a long log in miniature: many slices
    log = parsers.parse_log(ref_log)
    table_files.write_tables(log.tables(), log.meta, to=to, out_dir=tmp_path)
    path = tmp_path / f"steps{TABLE_FORMATS[to]}"
    back = read_table(path, to)
    assert back["loss"].tolist() == log.steps["loss"].tolist()
    assert back["global_step"].tolist() == log.steps["global_step"].tolist()
    if to == "parquet":
        assert pq.ParquetFile(path).num_row_groups == -(-len(log.steps) // 7)


def test_several_logs_get_one_subfolder_each(tmp_path, ref_log):
    fit = corpus_log("fit.log")
    out_dir = tmp_path / "tables"
    result = run_cli(ref_log, fit, "--to", "parquet", "-o", out_dir)
    assert result.returncode == 0, result.stderr
    for log_path, folder in ((ref_log, "resnet"), (fit, "fit")):
        steps = pd.read_parquet(out_dir / folder / "steps.parquet")
        assert steps["loss"].tolist() == numbers(LOSS, log_path)


# --- help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(command):
    result = run_cli(*([command] if command else []), "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: parse-log{' ' + command if command else ''}")
    if command is None:
        assert all(name in result.stdout for name in COMMANDS)
