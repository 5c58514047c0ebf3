"""PyTorch-style and Keras training output, and the generic key/value fallback.

    yunjey tutorial   Epoch [1/5], Step [100/600], Loss: 2.2450
    torchvision refs  Epoch: [0]  [ 10/334]  eta: 0:06:47  lr: 0.128  ...  loss: 7.2926 (7.2497)  ...
                      Epoch: [0] Total time: 0:04:38
    timm              Train: 0 [  50/73 ( 70%)]  Loss: 6.77 (6.83)  Time: 0.320s, ...  LR: 1.000e-05
    Keras             Epoch 308/1000
                      100/100 [=====] - 328s 3s/step - loss: 0.2445 - val_loss: 0.2342

The ``generic`` format recognises any line naming an epoch and/or a step and a loss
under common spellings; it only counts when no specific format found records.
"""

from __future__ import annotations

from parsers.formats._regex import LOSS, NUM
from parsers.registry import PRIORITY_GENERIC, LinePattern, LogFormat, register

_LR = rf"(?:.*?\b(?:lr|LR|learning_rate)\s*[:=]\s*(?P<lr>{NUM}))?"

PYTORCH = register(
    LogFormat(
        name="pytorch",
        description="PyTorch tutorial, torchvision reference and timm training lines",
        hparam_meta={"device_num": ("world_size",)},  # torch.distributed's name for the device count
        patterns=(
            LinePattern(
                name="tutorial step",
                table="steps",
                regex=(
                    r"(?<![\w/])Epoch\s*\[\s*(?P<epoch>\d+)\s*/\s*(?P<total_epochs>\d+)\s*\],\s*"
                    r"Step\s*\[\s*(?P<step>\d+)\s*/\s*(?P<steps_per_epoch>\d+)\s*\],\s*"
                    rf"Loss:\s*(?P<loss>{LOSS})"
                ),
                fields={
                    "epoch": "int",
                    "total_epochs": "int",
                    "step": "int",
                    "steps_per_epoch": "int",
                    "loss": "float",
                },
            ),
            LinePattern(
                name="tutorial accuracy",
                table="evals",
                regex=(
                    r"Accuracy of the (?:model|network) on the \d+ test images:"
                    rf"\s*(?P<metric_accuracy>{NUM})\s*%"
                ),
                fields={"metric_accuracy": "percent"},
            ),
        ),
        example="Epoch [1/5], Step [100/600], Loss: 2.2450",
    )
)

TORCHVISION = register(
    LogFormat(
        name="torchvision",
        description="torchvision reference scripts / timm (epochs counted from 0)",
        patterns=(
            LinePattern(
                name="MetricLogger step",
                table="steps",
                regex=(
                    r"(?<![\w/])Epoch:\s*\[(?P<epoch>\d+)\]\s+\[\s*(?P<step>\d+)\s*/\s*(?P<steps_per_epoch>\d+)\s*\]"
                    rf"{_LR}.*?\bloss:\s*(?P<loss>{LOSS})"
                    rf"(?:.*?\btime:\s*(?P<step_time_ms>{NUM}))?"
                ),
                fields={
                    "epoch": "int",
                    "step": "int",
                    "steps_per_epoch": "int",
                    "lr": "float",
                    "loss": "float",
                    "step_time_ms": "s",
                },
            ),
            LinePattern(
                name="MetricLogger epoch time",
                table="epochs",
                regex=(
                    r"(?<![\w/])Epoch:\s*\[(?P<epoch>\d+)\]\s+Total time:\s*"
                    r"(?P<epoch_time_ms>(?:\d+ days?, )?\d+:\d{2}:\d{2}(?:\.\d+)?)"
                ),
                fields={"epoch": "int", "epoch_time_ms": "hms"},
            ),
            LinePattern(
                name="MetricLogger accuracy",
                table="evals",
                regex=rf"^\s*\*\s*Acc@1\s+(?P<metric_acc1>{NUM})\s+Acc@5\s+(?P<metric_acc5>{NUM})",
                fields={"metric_acc1": "percent", "metric_acc5": "percent"},
            ),
            LinePattern(
                name="timm step",
                table="steps",
                regex=(
                    r"(?<![\w/])Train:\s*(?P<epoch>\d+)\s+\[\s*(?P<step>\d+)\s*/\s*(?P<steps_per_epoch>\d+)"
                    rf"[^\]]*\]\s+Loss:\s*(?P<loss>{LOSS})"
                    rf"(?:.*?\bTime:\s*(?P<step_time_ms>{NUM})s)?{_LR}"
                ),
                fields={
                    "epoch": "int",
                    "step": "int",
                    "steps_per_epoch": "int",
                    "loss": "float",
                    "step_time_ms": "s",
                    "lr": "float",
                },
            ),
        ),
        epoch_base=0,
        step_base=0,
        example="Epoch: [0]  [ 10/334]  eta: 0:06:47  lr: 0.128  loss: 7.2926 (7.2497)  time: 1.2591",
    )
)

KERAS = register(
    LogFormat(
        name="keras",
        description="Keras fit() progress output: 'Epoch 3/10' then '100/100 [===] - 3s - loss: ...'",
        patterns=(
            LinePattern(
                name="Keras epoch header",
                table="context",
                regex=r"^\s*Epoch\s+(?P<epoch>\d+)\s*/\s*(?P<total_epochs>\d+)\s*$",
                fields={"epoch": "int", "total_epochs": "int"},
            ),
            LinePattern(
                name="Keras epoch end",
                table="steps",
                also=("epochs", "evals"),
                regex=(
                    r"^\s*(?P<step>\d+)\s*/\s*(?P<steps_per_epoch>\d+)\s*\[=+\]\s*-\s*"
                    r"(?P<epoch_time_ms>\d+(?:\.\d+)?)\s*(?P<epoch_time_ms_unit>ms|s|min)\b"
                    r"(?:\s+(?P<step_time_ms>\d+(?:\.\d+)?)(?P<step_time_ms_unit>ms|s)/step)?.*?"
                    rf"-\s*loss:\s*(?P<loss>{LOSS})(?P<metrics>(?:\s+-\s+[A-Za-z_][\w.@]*:\s*\S+)*)"
                ),
                fields={
                    "step": "int",
                    "steps_per_epoch": "int",
                    "epoch_time_ms": "duration",
                    "step_time_ms": "duration",
                    "loss": "float",
                    "metrics": "val_pairs",  # every val_ figure: val_loss, val_acc, val_mae, ...
                },
            ),
        ),
        example="100/100 [==============================] - 328s 3s/step - loss: 0.2445 - val_loss: 0.2342",
    )
)

_EPOCH_KEY = r"(?i:\bepoch)\s*[:=#]?\s*[\[(]?\s*(?P<epoch>\d+)\s*(?:/\s*(?P<total_epochs>\d+))?\s*[\])]?"
_STEP_KEY = (
    r"(?i:\b(?:global_step|step|iter(?:ation)?|it|batch))\s*[:=#]?\s*[\[(]?\s*(?P<step>\d+)"
    r"\s*(?:/\s*(?P<steps_per_epoch>\d+))?\s*[\])]?"
)
_LOSS_KEY = rf"(?i:\b(?:total_)?loss)\s*(?:is|[:=])\s*[\[(]?\s*(?P<loss>{LOSS})"

GENERIC = register(
    LogFormat(
        name="generic",
        description="fallback: any line with an epoch and/or step and a loss under common spellings",
        patterns=(
            LinePattern(
                name="epoch step loss",
                table="steps",
                regex=rf"{_EPOCH_KEY}.*?{_STEP_KEY}.*?{_LOSS_KEY}{_LR}",
                fields={
                    "epoch": "int",
                    "total_epochs": "int",
                    "step": "int",
                    "steps_per_epoch": "int",
                    "loss": "float",
                    "lr": "float",
                },
                priority=PRIORITY_GENERIC,
            ),
            LinePattern(
                name="step loss",
                table="steps",
                regex=rf"{_STEP_KEY}.*?{_LOSS_KEY}{_LR}",
                fields={"step": "int", "steps_per_epoch": "int", "loss": "float", "lr": "float"},
                priority=PRIORITY_GENERIC,
            ),
            LinePattern(
                name="epoch loss",
                table="steps",
                regex=rf"{_EPOCH_KEY}.*?{_LOSS_KEY}{_LR}",
                fields={"epoch": "int", "total_epochs": "int", "loss": "float", "lr": "float"},
                priority=PRIORITY_GENERIC,
            ),
        ),
        epoch_base=None,
        generic=True,
        example="epoch=3 step=120 loss=0.4412 lr=0.001",
    )
)
