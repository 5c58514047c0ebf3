"""The training callbacks MindSpore lacks: throughput line, checkpoints, eval, clean stop.

Per-step losses and epoch times come from MindSpore's own ``LossMonitor`` and
``TimeMonitor``; these callbacks add only the model zoo's throughput line, checkpoint
files with a log line, evaluation every ``eval_interval`` epochs with plain-float metrics
(``Model.fit`` would print numpy scalars), and the stop after a signal. All output goes
through ``print`` so it reaches the terminal and ``train.log`` alike.
"""

from __future__ import annotations

import time
from pathlib import Path

import mindspore as ms
from mindspore.train import Callback, Model, RunContext

from training import log_lines
from training.checkpoints import checkpoint_path, list_checkpoints
from training.interrupt import Progress, StopRequest

__all__ = ["CheckpointSaver", "EvalMonitor", "StopOnSignal", "ThroughputMonitor"]


class ThroughputMonitor(Callback):
    """Print the model zoo's per-epoch ``epoch N cost time = ...`` line."""

    def __init__(self, *, batch_size: int, device_count: int = 1) -> None:
        super().__init__()
        self.samples_per_step = batch_size * device_count
        self._started = time.perf_counter()

    def on_train_epoch_begin(self, run_context: RunContext) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, run_context: RunContext) -> None:
        params = run_context.original_args()
        seconds = time.perf_counter() - self._started
        step_ms = seconds * 1000.0 / params.batch_num
        print(
            log_lines.EPOCH_THROUGHPUT.format(
                epoch=params.cur_epoch_num,
                seconds=seconds,
                steps=params.batch_num,
                step_ms=step_ms,
                samples_per_sec=self.samples_per_step * 1000.0 / step_ms,
            ),
            flush=True,
        )


class CheckpointSaver(Callback):
    """Save the train network every ``every`` epochs and after the last, keeping ``keep``."""

    def __init__(
        self,
        *,
        run_dir: Path,
        directory: Path,
        prefix: str,
        every: int,
        keep: int,
        final_epoch: int,
    ) -> None:
        super().__init__()
        self.run_dir, self.directory, self.prefix = run_dir, directory, prefix
        self.every, self.keep, self.final_epoch = every, keep, final_epoch

    def on_train_epoch_end(self, run_context: RunContext) -> None:
        params = run_context.original_args()
        epoch = params.cur_epoch_num
        if epoch % self.every and epoch != self.final_epoch:
            return
        self.directory.mkdir(exist_ok=True)
        path = checkpoint_path(self.directory, prefix=self.prefix, epoch=epoch, steps=params.batch_num)
        ms.save_checkpoint(params.train_network, str(path))
        print(log_lines.CHECKPOINT_SAVED.format(path=path.relative_to(self.run_dir)), flush=True)
        for _, old in list_checkpoints(self.directory)[: -self.keep]:
            old.unlink()


class EvalMonitor(Callback):
    """Evaluate every ``interval`` epochs and after the last; remember the latest metrics."""

    def __init__(self, *, model: Model, dataset: ms.dataset.Dataset, interval: int, final_epoch: int) -> None:
        super().__init__()
        self.model, self.dataset = model, dataset
        self.interval, self.final_epoch = interval, final_epoch
        self.last_metrics: dict[str, float] = {}

    def on_train_epoch_end(self, run_context: RunContext) -> None:
        params = run_context.original_args()
        epoch = params.cur_epoch_num
        if epoch % self.interval and epoch != self.final_epoch:
            return
        raw = self.model.eval(self.dataset, dataset_sink_mode=False)
        self.last_metrics = {name: float(raw[name]) for name in sorted(raw)}
        print(log_lines.EVAL_RESULT.format(epoch=epoch, metrics=self.last_metrics), flush=True)


class StopOnSignal(Callback):
    """After each step, stop the run if a signal arrived; keep ``progress`` current."""

    def __init__(self, request: StopRequest, *, progress: Progress) -> None:
        super().__init__()
        self.request, self.progress = request, progress

    def on_train_epoch_begin(self, run_context: RunContext) -> None:
        self.progress.epoch = run_context.original_args().cur_epoch_num

    def on_train_step_end(self, run_context: RunContext) -> None:
        self.request.raise_if_requested()
