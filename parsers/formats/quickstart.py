"""The MindSpore quickstart training loop (tutorials, 2.x) and the 1.x mindvision monitor.

    Epoch 1
    -------------------------------
    loss: 2.302088  [  0/938]            <- 0-based batch index / batches per epoch
    Test:
     Accuracy: 83.8%, Avg loss: 0.529534

    Epoch:[  0/ 10], step:[ 1875/ 1875], loss:[0.314/0.314], time:2237.313 ms, lr:0.01000

The 2.x loop prints the epoch only in its header, so steps take their epoch from it.
mindvision counts epochs from 0 and prints ``loss:[current/average]``; its ``time:``
is per step in some versions and per epoch in others, so it is not read.
"""

from __future__ import annotations

from parsers.formats._regex import END, LOSS, NUM
from parsers.registry import LinePattern, LogFormat, register

HEADER = LinePattern(
    name="Epoch header",
    table="context",
    regex=r"^\s*Epoch\s+(?P<epoch>\d+)\s*$",
    fields={"epoch": "int"},
)
STEP = LinePattern(
    name="quickstart loss",
    table="steps",
    regex=rf"^\s*loss:\s*(?P<loss>{LOSS})\s+\[\s*(?P<step>\d+)\s*/\s*(?P<steps_per_epoch>\d+)\s*\]{END}",
    fields={"loss": "float", "step": "int", "steps_per_epoch": "int"},
)
TEST = LinePattern(
    name="quickstart test",
    table="evals",
    regex=rf"Accuracy:\s*(?P<metric_accuracy>{NUM})\s*%,\s*Avg loss:\s*(?P<metric_loss>{NUM})",
    fields={"metric_accuracy": "percent", "metric_loss": "float"},
)

QUICKSTART = register(
    LogFormat(
        name="quickstart",
        description="MindSpore quickstart loop: 'loss: 2.302588  [  0/938]' under 'Epoch N' headers",
        patterns=(HEADER, STEP, TEST),
        step_base=0,
        example="loss: 2.302588  [  0/938]",
    )
)

MINDVISION_STEP = LinePattern(
    name="mindvision LossMonitor",
    table="steps",
    regex=(
        r"(?<![\w/])[Ee]poch:\s*\[\s*(?P<epoch>\d+)\s*/\s*(?P<total_epochs>\d+)\s*\],\s*"
        r"step:\s*\[\s*(?P<step>\d+)\s*/\s*(?P<steps_per_epoch>\d+)\s*\],\s*"
        rf"loss:\s*\[?\s*(?P<loss>{LOSS})(?:\s*/\s*{NUM})?\s*\]?"
        rf"(?:.*?\blr:\s*\[?\s*(?P<lr>{NUM}))?"
    ),
    fields={
        "epoch": "int",
        "total_epochs": "int",
        "step": "int",
        "steps_per_epoch": "int",
        "loss": "float",
        "lr": "float",
    },
)

MINDVISION = register(
    LogFormat(
        name="mindvision",
        description="bracketed 'Epoch:[  0/ 10], step:[ 1875/ 1875], loss:[0.314/0.314]' monitors",
        patterns=(MINDVISION_STEP,),
        epoch_base=None,
        example="Epoch:[  0/ 10], step:[ 1875/ 1875], loss:[0.314/0.314], time:2237.313 ms, lr:0.01000",
    )
)
