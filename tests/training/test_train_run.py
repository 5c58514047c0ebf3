"""A real tiny training run: the run folder, and a log the parser reads back correctly."""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import pytest

from training import log_lines
from training.run_folder import CHECKPOINT_DIR, HPARAMS_FILE, LOG_FILE, METRICS_FILE

pytestmark = pytest.mark.training  # real MindSpore trainings on the CPU


def _lines(run: Path) -> list[str]:
    return (run / LOG_FILE).read_text(encoding="utf-8").splitlines()


def _matching(lines: list[str], template: str) -> list[re.Match[str]]:
    pattern = log_lines.template_regex(template)
    return [m for line in lines if (m := pattern.match(line))]


def test_run_folder_holds_log_hparams_checkpoints_metrics(tiny_run: Path, tiny) -> None:
    assert (tiny_run / LOG_FILE).is_file()
    assert (tiny_run / HPARAMS_FILE).is_file()
    checkpoints = sorted(p.name for p in (tiny_run / CHECKPOINT_DIR).iterdir())
    assert checkpoints == ["resnet18-1_3.ckpt", "resnet18-2_3.ckpt"]
    metrics = json.loads((tiny_run / METRICS_FILE).read_text(encoding="utf-8"))
    assert metrics["epoch"] == tiny.epochs
    # an accuracy is a count of right answers over the validation images hparams.json records
    hparams = json.loads((tiny_run / HPARAMS_FILE).read_text(encoding="utf-8"))
    assert hparams["val_size"] == 18  # 72 images of 3 digits, val_ratio 0.25
    right = metrics["acc"] * hparams["val_size"]
    assert right == pytest.approx(round(right), abs=1e-6) and 0 <= round(right) <= hparams["val_size"]
    assert math.isfinite(metrics["loss"]) and metrics["loss"] > 0


def test_log_has_start_steps_epochs_evals_and_closing_line(tiny_run: Path, tiny) -> None:
    lines = _lines(tiny_run)
    assert lines[0] == f"Start run training, total epoch: {tiny.epochs}."
    steps = _matching(lines, log_lines.STEP_LOSS)
    assert [(int(m["epoch"]), int(m["step"])) for m in steps] == [
        (e, s) for e in range(1, tiny.epochs + 1) for s in range(1, tiny.steps + 1)
    ]
    assert [int(m["epoch"]) for m in _matching(lines, log_lines.EPOCH_THROUGHPUT)] == [1, 2]
    assert [m["mode"] for m in _matching(lines, log_lines.EPOCH_TIME)] == ["Train", "Train"]
    evals = _matching(lines, log_lines.EVAL_RESULT)
    assert [int(m["epoch"]) for m in evals] == [1, 2]
    assert re.fullmatch(r"\{'acc': [0-9.]+, 'loss': [0-9.]+\}", evals[-1]["metrics"])
    assert re.fullmatch(r"Training finished, total time: \d+\.\d s\.", lines[-1])


def test_every_log_line_is_one_of_the_templates(tiny_run: Path) -> None:
    """MindSpore's own monitors still print the shapes log_lines.py promises the parser."""
    patterns = [log_lines.template_regex(t) for t in log_lines.TEMPLATES.values()]
    unmatched = [line for line in _lines(tiny_run) if not any(p.match(line) for p in patterns)]
    assert unmatched == []


def test_throughput_line_is_consistent(tiny_run: Path) -> None:
    line = _matching(_lines(tiny_run), log_lines.EPOCH_THROUGHPUT)[-1]
    assert int(line["steps"]) == 3
    step_ms = float(line["step_ms"])
    assert float(line["seconds"]) * 1000 / 3 == pytest.approx(step_ms, rel=0.01)
    assert float(line["samples_per_sec"]) == pytest.approx(16 * 1000 / step_ms, rel=0.01)


def test_metrics_json_holds_the_last_eval(tiny_run: Path) -> None:
    last = _matching(_lines(tiny_run), log_lines.EVAL_RESULT)[-1]
    metrics = json.loads((tiny_run / METRICS_FILE).read_text(encoding="utf-8"))
    assert {"epoch": int(last["epoch"]), **ast.literal_eval(last["metrics"])} == metrics


def test_parser_reads_epochs_steps_and_eval(tiny_run: Path, tiny, parsers_lib) -> None:
    log = parsers_lib.parse_log(tiny_run / LOG_FILE)
    assert len(log.steps) == tiny.epochs * tiny.steps
    assert log.steps["epoch"].tolist() == [e for e in (1, 2) for _ in range(tiny.steps)]
    assert log.steps["step"].tolist() == [1, 2, 3] * tiny.epochs
    assert log.steps["loss"].notna().all()
    assert log.epochs["epoch"].tolist() == [1, 2]
    printed = [
        (int(m["epoch"]), name, value)
        for m in _matching(_lines(tiny_run), log_lines.EVAL_RESULT)
        for name, value in ast.literal_eval(m["metrics"]).items()
    ]
    assert [(e, name) for e, name, _ in printed] == [(e, k) for e in (1, 2) for k in ("acc", "loss")]
    assert list(zip(log.evals["epoch"], log.evals["metric"], log.evals["value"])) == printed
    final = json.loads((tiny_run / METRICS_FILE).read_text(encoding="utf-8"))
    assert {name: value for epoch, name, value in printed if epoch == tiny.epochs} == {
        k: v for k, v in final.items() if k != "epoch"
    }
    assert log.meta["total_epochs"] == tiny.epochs
    kinds = set(log.events["kind"])
    assert {"start", "checkpoint", "finish"} <= kinds
