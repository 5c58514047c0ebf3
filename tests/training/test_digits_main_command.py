"""The README's main job on the embedded digits data set, run as a user runs it.

``python -m training --config training/configs/digits.yaml --runs-dir RUNS --name digits``
from the repository, shortened to two epochs with ``--set epoch_size=2`` (the CI doc's
smoke run), then ``parse-log RUNS/digits``.  Every other training test switches to a small
``imagefolder``; this one trains on all 1,797 digits that scikit-learn ships, as written
under ``RUNS/.datasets/`` by the run itself, and checks the run folder a user would open.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.datasets import load_digits

from training import log_lines
from training.run_folder import CHECKPOINT_DIR, HPARAMS_FILE, LOG_FILE, METRICS_FILE

pytestmark = pytest.mark.training  # one real MindSpore training, about 20 s on 2 cores

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 2
CLASSES = 10


def _run(*argv: str | os.PathLike[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=900,
    )


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("runs")
    config = "training/configs/digits.yaml"  # as the README prints it, from the repository
    result = _run(
        "-m",
        "training",
        "--config",
        config,
        "--runs-dir",
        runs,
        "--name",
        "digits",
        "--set",
        f"epoch_size={EPOCHS}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return runs / "digits"


def test_the_digits_are_written_once_under_the_runs_folder(digits_run: Path) -> None:
    tree = digits_run.parent / ".datasets" / "sklearn-digits"
    images = load_digits().target
    assert sorted(p.name for p in tree.iterdir()) == [str(d) for d in range(CLASSES)]
    for digit in range(CLASSES):
        assert len(list((tree / str(digit)).glob("*.png"))) == int((images == digit).sum())


def test_hparams_record_the_config_the_override_and_the_data(digits_run: Path) -> None:
    hparams = json.loads((digits_run / HPARAMS_FILE).read_text())
    assert (hparams["dataset"], hparams["config_name"], hparams["run_name"]) == ("digits", "digits", "digits")
    assert hparams["epoch_size"] == EPOCHS and hparams["class_num"] == CLASSES
    assert hparams["dataset_size"] == len(load_digits().target) == hparams["train_size"] + hparams["val_size"]
    assert hparams["val_size"] == pytest.approx(hparams["dataset_size"] * hparams["val_ratio"], abs=CLASSES)
    assert hparams["steps_per_epoch"] == hparams["train_size"] // hparams["batch_size"]
    assert hparams["class_names"] == [str(d) for d in range(CLASSES)]
    assert hparams["dataset_path"] == str((digits_run.parent / ".datasets" / "sklearn-digits").resolve())


def test_the_log_parses_into_every_step_epoch_and_eval(digits_run: Path) -> None:
    import parsers

    hparams = json.loads((digits_run / HPARAMS_FILE).read_text())
    text = (digits_run / LOG_FILE).read_text()
    steps = hparams["steps_per_epoch"]
    log = parsers.parse_log(digits_run / LOG_FILE)
    assert log.meta["lines_skipped"] == 0
    assert log.meta["total_epochs"] == EPOCHS
    printed_losses = [float(v) for v in re.findall(r"^epoch: \d+ step: \d+, loss is (\S+)$", text, re.M)]
    assert log.steps["loss"].tolist() == printed_losses and len(printed_losses) == EPOCHS * steps
    assert log.steps["global_step"].tolist() == list(range(1, EPOCHS * steps + 1))
    assert log.epochs["epoch"].tolist() == list(range(1, EPOCHS + 1))
    assert log.epochs["steps"].tolist() == [steps] * EPOCHS
    summary = parsers.summarize(log)
    assert summary["status"] == "finished" and summary["epochs_done"] == EPOCHS
    assert sorted(p.name for p in (digits_run / CHECKPOINT_DIR).iterdir()) == [
        f"resnet18-{EPOCHS}_{steps}.ckpt"
    ]


def test_the_model_learned_the_digits(digits_run: Path) -> None:
    """metrics.json: the last eval, whole right answers over the validation images, far above
    the one in ten that guessing gets (two epochs reach about 96% on this machine)."""
    hparams = json.loads((digits_run / HPARAMS_FILE).read_text())
    metrics = json.loads((digits_run / METRICS_FILE).read_text())
    last = [
        line for line in (digits_run / LOG_FILE).read_text().splitlines() if line.startswith("Eval result:")
    ][-1]
    match = log_lines.template_regex(log_lines.EVAL_RESULT).match(last)
    assert {"epoch": int(match["epoch"]), **ast.literal_eval(match["metrics"])} == metrics
    assert metrics["epoch"] == EPOCHS
    right = metrics["acc"] * hparams["val_size"]
    assert right == pytest.approx(round(right), abs=1e-6)
    assert metrics["acc"] >= 0.8 > 1 / CLASSES


def test_parse_log_summarises_the_run_folder(digits_run: Path) -> None:
    """The README's next command, ``parse-log runs/digits``, and its JSON twin."""
    text = _run("-m", "parsers.cli", digits_run)
    assert text.returncode == 0, text.stderr
    assert "finished" in text.stdout
    as_json = _run("-m", "parsers.cli", digits_run, "--json")
    summary = json.loads(as_json.stdout)
    metrics = json.loads((digits_run / METRICS_FILE).read_text())
    assert summary["epochs_done"] == EPOCHS and summary["status"] == "finished"
    assert summary["evals"]["acc"] == metrics["acc"]
