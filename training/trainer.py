"""Run one training job into a run folder: the orchestration behind ``python -m training``.

Order matters and is the point of this module: data is validated before a run folder
exists; ``hparams.json`` is written before the first step; every run ends its log with
exactly one closing line (finished or interrupted), and a crash leaves its traceback in
the log. Model, data, callbacks and checkpoints each live in their own module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training import log_lines
from training._optional import require_mindspore
from training.config import TrainConfig, config_from_hparams
from training.data import DataPlan, prepare_data
from training.errors import CheckpointError, RunFolderError, TrainingError
from training.interrupt import Progress, StopRequest, TrainingInterrupted, stop_on_signals
from training.logfile import tee_output
from training.run_folder import (
    CHECKPOINT_DIR,
    HPARAMS_FILE,
    LOG_FILE,
    METRICS_FILE,
    SUMMARY_DIR,
    create_run_folder,
    default_run_name,
    read_json,
    write_json,
)

if TYPE_CHECKING:
    from training.checkpoints import PretrainedReport

__all__ = ["RunResult", "resume", "train"]

DEVICE_COUNT = 1  # single-process training; the throughput line scales by this


@dataclasses.dataclass(frozen=True)
class RunResult:
    """How a run ended, where its folder is, and its final metrics (if it finished)."""

    run_dir: Path
    status: str  # "finished" or "interrupted"
    epochs_completed: int
    metrics: dict[str, float]
    seconds: float
    pretrained: PretrainedReport | None = None  # what --pretrained loaded and skipped
    signal_name: str | None = None


@dataclasses.dataclass(frozen=True)
class _Job:
    config: TrainConfig
    plan: DataPlan
    run_dir: Path
    hparams: dict[str, Any]  # written to hparams.json once runtime facts are added
    first_epoch: int = 1
    pretrained: Path | None = None
    resume_from: Path | None = None
    summary: bool = False  # record summary files into the run folder's SUMMARY_DIR


def train(
    config: TrainConfig,
    *,
    config_name: str,
    runs_dir: Path = Path("runs"),
    name: str | None = None,
    pretrained: Path | None = None,
    extra_hparams: Mapping[str, Any] | None = None,
    summary: bool = False,
) -> RunResult:
    """Train ``config`` into a new run folder under ``runs_dir`` and return how it ended.

    ``extra_hparams`` (for example the sweep grid point or the command line) are recorded
    in ``hparams.json`` next to the config.  ``summary`` also records MindSpore summary
    files (``SummaryCollector``) into the run folder's ``summary/``.
    """
    require_mindspore()
    if pretrained is not None and not Path(pretrained).is_file():
        raise CheckpointError(f"checkpoint not found: {pretrained}")
    plan = prepare_data(config, runs_dir=runs_dir)
    started = dt.datetime.now().astimezone()
    run_dir = create_run_folder(runs_dir, name or default_run_name(config_name, started), unique=name is None)
    hparams = {
        **config.to_dict(),
        "config_name": config_name,
        "run_name": run_dir.name,
        "start_time": started.isoformat(timespec="seconds"),
        "pretrained": str(pretrained) if pretrained else None,
        "summary_dir": SUMMARY_DIR if summary else None,
        **(extra_hparams or {}),
    }
    job = _Job(config=config, plan=plan, run_dir=run_dir, hparams=hparams, pretrained=pretrained)
    return _execute(dataclasses.replace(job, summary=summary))


def resume(run_dir: Path, *, overrides: Mapping[str, Any] | None = None) -> RunResult:
    """Continue ``run_dir`` from its newest checkpoint, appending to its ``train.log``.

    ``overrides`` may change hyperparameters, typically ``epoch_size`` to train further.
    """
    require_mindspore()
    from training.checkpoints import latest_checkpoint

    hparams = read_json(run_dir / HPARAMS_FILE)
    config = config_from_hparams(hparams, source=str(run_dir / HPARAMS_FILE))
    config = config.with_overrides(overrides or {})
    done, checkpoint = latest_checkpoint(run_dir / CHECKPOINT_DIR)
    if done >= config.epoch_size:
        raise RunFolderError(
            f"{run_dir} already trained all {config.epoch_size} epochs; "
            "to train further, resume with --set epoch_size=<more>"
        )
    plan = prepare_data(config, runs_dir=run_dir.parent)
    record = {
        "checkpoint": str(checkpoint.relative_to(run_dir)),
        "epoch": done + 1,
        "time": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    hparams = {**hparams, **config.to_dict(), "resumes": [*hparams.get("resumes", []), record]}
    return _execute(
        _Job(
            config=config,
            plan=plan,
            run_dir=run_dir,
            hparams=hparams,
            first_epoch=done + 1,
            resume_from=checkpoint,
            summary=bool(hparams.get("summary_dir")),
        )
    )


def _execute(job: _Job) -> RunResult:
    """Run ``job`` with output teed into its log and signals turned into a clean stop.

    Errors are written to the log alone (the CLI reports them on the terminal): a typed
    error as its one-line message, anything else as a traceback.
    """
    started = time.perf_counter()
    with tee_output(job.run_dir / LOG_FILE) as log, stop_on_signals() as stop:
        progress = Progress(epoch=job.first_epoch)
        try:
            return _fit(job, stop, progress, started)
        except (TrainingInterrupted, KeyboardInterrupt) as exc:
            signal_name = getattr(exc, "signal_name", None) or stop.signal_name or "SIGINT"
            print(
                log_lines.RUN_INTERRUPTED.format(signal=signal_name, epoch=progress.epoch),
                flush=True,
            )
            return RunResult(
                run_dir=job.run_dir,
                status="interrupted",
                epochs_completed=progress.epoch - 1,
                metrics={},
                seconds=time.perf_counter() - started,
                signal_name=signal_name,
            )
        except TrainingError as exc:
            log.write(f"Error: {exc}\n")
            raise
        except BaseException:
            log.write(traceback.format_exc())
            raise


def _fit(job: _Job, stop: StopRequest, progress: Progress, started: float) -> RunResult:
    from training.session import build_session

    write_json(job.run_dir / HPARAMS_FILE, {**job.hparams, **_facts(job)})
    session = build_session(
        job.config,
        job.plan,
        run_dir=job.run_dir,
        stop=stop,
        progress=progress,
        first_epoch=job.first_epoch,
        device_count=DEVICE_COUNT,
        summary_dir=job.run_dir / SUMMARY_DIR if job.summary else None,
    )
    report = session.load_pretrained(job.pretrained) if job.pretrained else None
    if job.resume_from:
        session.load_training_state(job.resume_from)
        print(
            log_lines.RUN_RESUMED.format(
                path=job.resume_from.relative_to(job.run_dir), epoch=job.first_epoch
            ),
            flush=True,
        )
    if not job.resume_from:
        print(log_lines.RUN_START.format(epochs=job.config.epoch_size), flush=True)
    stop.raise_if_requested()
    session.train()
    metrics = session.final_metrics()
    write_json(job.run_dir / METRICS_FILE, {"epoch": job.config.epoch_size, **metrics})
    seconds = time.perf_counter() - started
    print(log_lines.RUN_FINISHED.format(seconds=seconds), flush=True)
    return RunResult(
        run_dir=job.run_dir,
        status="finished",
        epochs_completed=job.config.epoch_size,
        metrics=metrics,
        seconds=seconds,
        pretrained=report,
    )


def _facts(job: _Job) -> dict[str, Any]:
    """What ``hparams.json`` records besides the config: environment and data."""
    return {
        "mindspore_version": require_mindspore().__version__,
        "device_count": DEVICE_COUNT,
        "steps_per_epoch": job.plan.train_size // job.config.batch_size,  # remainder dropped
        **job.plan.describe(),
    }
