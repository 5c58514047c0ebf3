"""Runs folders for the dashboard tests and benchmark: real logs, and long logs written line by line.

Real logs come from ``tests/data`` (each copied into its own run folder, some with an
``hparams.json`` as ``python -m training`` writes), so every view is tested on what real
jobs printed.  Long and growing logs are rendered with the training emitter's own line
templates (``training.log_lines``), the lines the parser is tested to agree with, and carry
a planted spike whose step the test knows.
"""

from __future__ import annotations

import json
import math
import random
import shutil
from pathlib import Path

from training.log_lines import EPOCH_THROUGHPUT, EPOCH_TIME, EVAL_RESULT, RUN_FINISHED, RUN_START, STEP_LOSS

DATA = Path(__file__).parent / "data"

# run folder -> (real log, hyperparameters written beside it or None)
REAL_RUNS = {
    "fit": (
        "mindspore-2.10-cpu/fit.log",
        {"lr": 0.1, "batch_size": 32, "device_target": "CPU", "optimizer": "sgd"},
    ),
    "basic": (
        "mindspore-2.10-cpu/basic.log",
        {"lr": 0.01, "batch_size": 32, "device_target": "CPU", "optimizer": "sgd"},
    ),
    "sink": (
        "mindspore-2.10-cpu/sink.log",
        {"lr": 0.01, "batch_size": 64, "device_target": "CPU", "optimizer": "adam"},
    ),
    "nan": (
        "mindspore-2.10-cpu/nan.log",
        {"lr": 10.0, "batch_size": 32, "device_target": "CPU", "optimizer": "sgd"},
    ),
    "quickstart": ("quickstart/quickstart_r1x_mindvision.log", None),
    "resnet18-cifar10": ("modelzoo/resnet18_cifar10_epoch_summary.log", None),
    "keras-nan": ("pytorch/keras_nan_loss.log", None),
    "yolov8-overflow": ("mindyolo/yolov8_overflow_issue402.log", None),
    "broken": ("modelarts/modelarts_service_log_tail.log", None),
}
BROKEN = "broken"  # a real log in no known format: its row shows the reason


def copy_real_runs(root: Path, names: list[str] | None = None) -> Path:
    """``root/<run>/train.log`` (+ ``hparams.json``) for each of ``REAL_RUNS`` (or ``names``)."""
    for name in names or list(REAL_RUNS):
        log, hparams = REAL_RUNS[name]
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DATA / log, folder / "train.log")
        if hparams:
            (folder / "hparams.json").write_text(json.dumps(hparams), encoding="utf-8")
    return root


def _step_lines(
    epoch: int, steps: int, rng: random.Random, *, start_loss: float, spike: int | None, first_step: int
) -> list[str]:
    lines = []
    for step in range(1, steps + 1):
        global_step = first_step + step - 1
        loss = start_loss * math.exp(-global_step / 40_000) + 0.1 + rng.gauss(0.0, 0.02)
        if global_step == spike:
            loss = SPIKE_LOSS
        lines.append(STEP_LOSS.format(epoch=epoch, step=step, loss=f"{loss:.6f}"))
    return lines


SPIKE_LOSS = 87.5


def epoch_lines(
    epoch: int,
    steps: int,
    *,
    seed: int = 0,
    spike: int | None = None,
    eval_every: int = 2,
    start_loss: float = 2.3,
    epoch_ms: float = 60_000.0,
) -> list[str]:
    """One epoch as the training emitter prints it: its steps, throughput, time, maybe an eval."""
    rng = random.Random(seed * 1000 + epoch)
    lines = _step_lines(
        epoch, steps, rng, start_loss=start_loss, spike=spike, first_step=(epoch - 1) * steps + 1
    )
    ms = epoch_ms * (1.5 if epoch == 1 else 1.0) * (1.0 + rng.random() * 0.02)
    step_ms = ms / steps
    lines.append(
        EPOCH_THROUGHPUT.format(
            epoch=epoch, seconds=ms / 1000, steps=steps, step_ms=step_ms, samples_per_sec=32 * 1000 / step_ms
        )
    )
    lines.append(EPOCH_TIME.format(mode="Train", epoch_ms=ms, step_ms=step_ms))
    if epoch % eval_every == 0:
        acc = 1.0 - 0.5 * math.exp(-epoch / 3) - rng.random() * 0.01
        lines.append(EVAL_RESULT.format(epoch=epoch, metrics={"acc": round(acc, 4)}))
    return lines


def write_run(
    folder: Path,
    *,
    epochs: int,
    steps: int,
    done: int | None = None,
    seed: int = 0,
    spike: int | None = None,
    hparams: dict | None = None,
    start_loss: float = 2.3,
) -> Path:
    """A run folder whose log has ``done`` of ``epochs`` epochs (all: finished) of ``steps`` steps."""
    folder.mkdir(parents=True, exist_ok=True)
    done = epochs if done is None else done
    lines = [RUN_START.format(epochs=epochs)]
    for epoch in range(1, done + 1):
        lines += epoch_lines(epoch, steps, seed=seed, spike=spike, start_loss=start_loss)
    if done == epochs:
        lines.append(RUN_FINISHED.format(seconds=done * 60.0))
    (folder / "train.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "hparams.json").write_text(json.dumps(hparams or {"seed": seed, "epoch_size": epochs}), "utf-8")
    return folder / "train.log"


def append_epoch(log: Path, epoch: int, steps: int, *, seed: int = 0) -> None:
    """What a running job does: more lines at the end of its log."""
    with open(log, "a", encoding="utf-8") as out:
        out.write("\n".join(epoch_lines(epoch, steps, seed=seed)) + "\n")
