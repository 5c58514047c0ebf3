"""Assemble one MindSpore training session from a config: data, model, optimizer, callbacks.

Kept apart from :mod:`training.trainer` so the orchestration (folders, log, signals) reads
without MindSpore details, and this module reads as the model-zoo ``train.py`` would:
context and seeds, datasets, ResNet, label-smoothing loss, Momentum with per-step learning
rates and a fixed loss scale, then the callbacks in the order their lines appear in the log.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import mindspore as ms
import mindspore.dataset as ds
from mindspore import Tensor, nn
from mindspore.train import FixedLossScaleManager, LossMonitor, Model, SummaryCollector, TimeMonitor

from training import log_lines
from training.callbacks import CheckpointSaver, EvalMonitor, StopOnSignal, ThroughputMonitor
from training.checkpoints import PretrainedReport, load_pretrained, load_training_state
from training.config import TrainConfig
from training.data import DataPlan
from training.interrupt import Progress, StopRequest
from training.loss import CrossEntropySmooth
from training.lr_schedule import learning_rates
from training.pipeline import image_pipeline
from training.resnet import resnet
from training.run_folder import CHECKPOINT_DIR

__all__ = ["Session", "build_session"]

_NO_DECAY = ("beta", "gamma", "bias")  # BatchNorm and bias parameters skip weight decay


@dataclasses.dataclass
class Session:
    """A ready-to-train model with its data and callbacks."""

    config: TrainConfig
    net: nn.Cell
    optimizer: nn.Optimizer
    model: Model
    train_data: ds.Dataset
    callbacks: list[Any]
    evaluator: EvalMonitor
    first_epoch: int

    def load_pretrained(self, path: Path) -> PretrainedReport:
        """Load matching parameters into the network and log what was skipped."""
        report = load_pretrained(self.net, path)
        print(
            log_lines.PRETRAINED_LOADED.format(
                path=path,
                loaded=len(report.loaded),
                skipped_count=len(report.skipped),
                skipped=report.summary(),
                ignored=len(report.ignored),
            ),
            flush=True,
        )
        return report

    def load_training_state(self, path: Path) -> None:
        load_training_state([self.net, self.optimizer], path)

    def train(self) -> None:
        self.model.train(
            self.config.epoch_size,
            self.train_data,
            callbacks=self.callbacks,
            dataset_sink_mode=False,
            initial_epoch=self.first_epoch - 1,
        )

    def final_metrics(self) -> dict[str, float]:
        return dict(self.evaluator.last_metrics)


def build_session(
    config: TrainConfig,
    plan: DataPlan,
    *,
    run_dir: Path,
    stop: StopRequest,
    progress: Progress,
    first_epoch: int = 1,
    device_count: int = 1,
    summary_dir: Path | None = None,
) -> Session:
    """Everything ``Model.train`` needs, built from ``config`` and the validated data.

    With ``summary_dir``, MindSpore's own ``SummaryCollector`` records there too: the loss
    of every step (``loss/auto``, the step the log's LossMonitor line has), the graph, a
    few weight histograms and input images, as MindInsight users have them."""
    _configure(config)
    shared = {
        "image_size": config.image_size,
        "batch_size": config.batch_size,
        "workers": config.num_parallel_workers,
    }
    train_data = image_pipeline(plan.train, plan.train_indices, train=True, **shared)
    val_data = image_pipeline(plan.val, plan.val_indices, train=False, **shared)
    net = resnet(config.net_name, class_num=config.class_num, width_multiplier=config.width_multiplier)
    optimizer = _optimizer(net, config, steps_per_epoch=train_data.get_dataset_size())
    smoothing = config.label_smooth_factor if config.use_label_smooth else 0.0
    model = Model(
        net,
        loss_fn=CrossEntropySmooth(class_num=config.class_num, smooth_factor=smoothing),
        optimizer=optimizer,
        metrics={"acc", "loss"},
        amp_level="O0",
        loss_scale_manager=FixedLossScaleManager(config.loss_scale, drop_overflow_update=False),
    )
    evaluator = EvalMonitor(
        model=model, dataset=val_data, interval=config.eval_interval, final_epoch=config.epoch_size
    )
    callbacks = [
        LossMonitor(),
        ThroughputMonitor(batch_size=config.batch_size, device_count=device_count),
        TimeMonitor(),
        CheckpointSaver(
            run_dir=run_dir,
            directory=run_dir / CHECKPOINT_DIR,
            prefix=config.net_name,
            every=config.save_checkpoint_epochs,
            keep=config.keep_checkpoint_max,
            final_epoch=config.epoch_size,
        ),
        evaluator,
        StopOnSignal(stop, progress=progress),
    ]
    if summary_dir is not None:
        callbacks.insert(1, SummaryCollector(summary_dir=str(summary_dir), collect_freq=1))
    return Session(
        config=config,
        net=net,
        optimizer=optimizer,
        model=model,
        train_data=train_data,
        callbacks=callbacks,
        evaluator=evaluator,
        first_epoch=first_epoch,
    )


def _configure(config: TrainConfig) -> None:
    mode = ms.GRAPH_MODE if config.mode_name == "GRAPH" else ms.PYNATIVE_MODE
    ms.set_device(config.device_target)
    ms.set_context(mode=mode)
    ms.set_seed(config.seed)
    ds.config.set_seed(config.seed)


def _optimizer(net: nn.Cell, config: TrainConfig, *, steps_per_epoch: int) -> nn.Optimizer:
    """Momentum over per-step learning rates; no weight decay on BatchNorm and biases."""
    lrs = learning_rates(
        lr_init=config.lr_init,
        lr_max=config.lr_max,
        lr_end=config.lr_end,
        warmup_epochs=config.warmup_epochs,
        total_epochs=config.epoch_size,
        steps_per_epoch=steps_per_epoch,
        lr_decay_mode=config.lr_decay_mode,
    )
    params = net.trainable_params()
    exempt = [any(key in p.name for key in _NO_DECAY) for p in params]
    groups = [
        {
            "params": [p for p, no in zip(params, exempt) if not no],
            "weight_decay": config.weight_decay,
        },
        {"params": [p for p, no in zip(params, exempt) if no], "weight_decay": 0.0},
        {"order_params": params},
    ]
    return nn.Momentum(
        groups, learning_rate=Tensor(lrs), momentum=config.momentum, loss_scale=config.loss_scale
    )
