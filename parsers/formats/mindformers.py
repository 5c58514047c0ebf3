"""MindFormers (MindSpore Transformers) ``MFLossMonitor`` and its 2.x trainer.

    { Epoch:[  1/  2], step:[    2/   19], loss: 10.633, per_step_time: 1752ms, lr: 1e-05,
      overflow cond: False, loss_scale: 1.0, global_norm: [1.5], train_throughput_per_npu: 170.7T
    { step:[    2/   10], loss:  11.755612, per_step_time:    710ms, ..., lr: 1.000000e-05, ... }

Epochs and steps are 1-based and per epoch; ``loss:[current/average]`` in non-sink
mode.  The progress-bar line that follows each record is recognised as noise.
"""

from __future__ import annotations

from parsers.formats._regex import BOOL, LOSS, NUM
from parsers.registry import PRIORITY_NOISE, LinePattern, LogFormat, register

STEP = LinePattern(
    name="MFLossMonitor",
    table="steps",
    regex=(
        r"\{\s*(?:Epoch:\s*\[\s*(?P<epoch>\d+)\s*/\s*(?P<total_epochs>\d+)\s*\],\s*)?"
        r"step:\s*\[\s*(?P<step>\d+)\s*/\s*(?P<steps_per_epoch>\d+)\s*\],\s*"
        rf"loss:\s*\[?\s*(?P<loss>{LOSS})(?:\s*/\s*{NUM})?\s*\]?"
        rf"(?:.*?per_step_time:\s*(?P<step_time_ms>{NUM})\s*(?P<step_time_ms_unit>ms|s)\b)?"
        rf"(?:.*?\blr:\s*\[?\s*(?P<lr>{NUM}))?"
        rf"(?:.*?overflow cond:\s*(?P<overflow>{BOOL}))?"
        rf"(?:.*?loss_scale:\s*(?P<loss_scale>{NUM}))?"
    ),
    fields={
        "epoch": "int",
        "total_epochs": "int",
        "step": "int",
        "steps_per_epoch": "int",
        "loss": "float",
        "step_time_ms": "duration",
        "lr": "float",
        "overflow": "bool",
        "loss_scale": "float",
    },
    priority=45,
)

PROGRESS = LinePattern(
    name="MFLossMonitor progress bar",
    table="noise",
    regex=r"\d+(?:\.\d+)?%\s*\|.*\|\s*[\d.]+\s*samples/s/p",
    priority=PRIORITY_NOISE,
)

# run_mode eval prints its metrics as a (nested) dict: PerplexityMetric = {'PerplexityMetric': {...}}
EVAL = LinePattern(
    name="MindFormers eval metric",
    table="evals",
    regex=r"\b\w*Metric\s*=\s*(?P<metrics>\{.*\})\s*$",
    fields={"metrics": "dict"},
)

MINDFORMERS = register(
    LogFormat(
        name="mindformers",
        description="MindFormers MFLossMonitor step lines (1.x and the 2.x trainer)",
        patterns=(STEP, PROGRESS, EVAL),
        example="{ Epoch:[  1/  2], step:[    1/ 6250], loss: 10.92, per_step_time: 1234ms, lr: 1e-05",
    )
)
