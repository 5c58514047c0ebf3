"""MindSpore Lab suites: MindCV, MindOCR and MindYOLO training scripts.

    MindCV   Epoch: [348/350], batch: [2502/2502], loss: 4.418964, lr: 0.000003, time: 679.655316s
             Validation Top_1_Accuracy: 72.1040%, Top_5_Accuracy: 90.7960%, time: 31.933918s
             Total time since last epoch: 712.945024(train: 679.709016, val: 31.933918)s, ETA: ...
    MindOCR  epoch: [10/20] step: [3300/4468], loss: 32.271301, lr: 0.000855, per step time: 215.975 ms, ...
    MindYOLO Epoch 140/300, Step 7/7, imgsize (640, 640), loss: 0.1717, lbox: ..., cur_lr: 0.00538
             Epoch 140/300, Step 7/7, step time: 365.26 ms
             Epoch 140/300, epoch time: 0.06 min.

All three count epochs and steps from 1, per epoch.
"""

from __future__ import annotations

from parsers.formats._regex import BOOL, LOSS, NUM
from parsers.registry import LinePattern, LogFormat, register

_EPOCH_OF = r"\[\s*(?P<epoch>\d+)\s*/\s*(?P<total_epochs>\d+)\s*\]"
_STEP_OF = r"\[\s*(?P<step>\d+)\s*/\s*(?P<steps_per_epoch>\d+)\s*\]"
_STEP_FIELDS = {"epoch": "int", "total_epochs": "int", "step": "int", "steps_per_epoch": "int"}

MINDCV = register(
    LogFormat(
        name="mindcv",
        description="MindCV StateMonitor: 'Epoch: [1/200], batch: [100/625], loss: ...'",
        patterns=(
            LinePattern(
                name="StateMonitor step",
                table="steps",
                regex=(
                    rf"Epoch:\s*{_EPOCH_OF},\s*batch:\s*{_STEP_OF},\s*loss:\s*(?P<loss>{LOSS})"
                    rf"(?:,\s*lr:\s*(?P<lr>{NUM}))?"
                ),
                fields={**_STEP_FIELDS, "loss": "float", "lr": "float"},
            ),
            LinePattern(
                name="StateMonitor validation",
                table="evals",
                regex=(
                    rf"Validation\s+(?P<metric>[\w@-]+?)\s*:\s*(?P<value>{NUM})\s*%"
                    rf"(?:,\s*(?:Top_5_Accuracy|Top5-Acc):\s*(?P<metric_Top_5_Accuracy>{NUM})\s*%)?"
                ),
                fields={"metric": "str", "value": "percent", "metric_Top_5_Accuracy": "percent"},
            ),
            LinePattern(
                name="StateMonitor epoch time",
                table="epochs",
                regex=(
                    rf"Total time since last epoch:\s*{NUM}\s*\(\s*train:\s*(?P<epoch_time_ms>{NUM})\s*s?,"
                    rf"\s*val:\s*(?P<eval_time_ms>{NUM})\s*s?\)"
                ),
                fields={"epoch_time_ms": "s", "eval_time_ms": "s"},
            ),
        ),
        example="Epoch: [1/200], batch: [100/625], loss: 6.9, lr: 0.1, time: 12.3s",
    )
)

MINDOCR = register(
    LogFormat(
        name="mindocr",
        description="MindOCR EvalSaveCallback: 'epoch: [10/20] step: [3300/4468], loss: ...'",
        patterns=(
            LinePattern(
                name="EvalSaveCallback step",
                table="steps",
                regex=(
                    rf"(?<![\w/])epoch:\s*{_EPOCH_OF},?\s*step:\s*{_STEP_OF},\s*loss:\s*(?P<loss>{LOSS})"
                    rf"(?:,\s*overflow:\s*(?P<overflow>{BOOL}))?"
                    rf"(?:.*?\blr(?:_0)?:\s*(?P<lr>{NUM}))?"
                    rf"(?:.*?per step time:\s*(?P<step_time_ms>{NUM})\s*ms)?"
                ),
                fields={
                    **_STEP_FIELDS,
                    "loss": "float",
                    "overflow": "bool",
                    "lr": "float",
                    "step_time_ms": "float",
                },
            ),
        ),
        example="epoch: [10/20] step: [3300/4468], loss: 32.271301, lr: 0.000855, per step time: 215.975 ms",
    )
)

_YOLO_EPOCH = r"(?<![\w/])Epoch\s+(?P<epoch>\d+)\s*/\s*(?P<total_epochs>\d+),"
_YOLO_STEP = r"\s*Step\s+(?P<step>\d+)\s*/\s*(?P<steps_per_epoch>\d+),"

MINDYOLO = register(
    LogFormat(
        name="mindyolo",
        description="MindYOLO train loop: 'Epoch 1/300, Step 100/1000, imgsize (640, 640), loss: ...'",
        patterns=(
            LinePattern(
                name="MindYOLO step",
                table="steps",
                regex=(
                    rf"{_YOLO_EPOCH}{_YOLO_STEP}(?:\s*imgsize\s*\([^)]*\),)?\s*loss:\s*(?P<loss>{LOSS})"
                    rf"(?:.*?\bcur_lr:\s*(?P<lr>{NUM}))?"
                ),
                fields={**_STEP_FIELDS, "loss": "float", "lr": "float"},
            ),
            LinePattern(
                name="MindYOLO step time",
                table="step_times",
                regex=rf"{_YOLO_EPOCH}{_YOLO_STEP}\s*step time:\s*(?P<step_time_ms>{NUM})\s*ms",
                fields={**_STEP_FIELDS, "step_time_ms": "float"},
            ),
            LinePattern(
                name="MindYOLO epoch time",
                table="epochs",
                regex=(
                    rf"{_YOLO_EPOCH}\s*epoch time:\s*(?P<epoch_time_ms>{NUM})\s*"
                    r"(?P<epoch_time_ms_unit>ms|s|min)\b"
                ),
                fields={"epoch": "int", "total_epochs": "int", "epoch_time_ms": "duration"},
            ),
        ),
        example="Epoch 140/300, Step 7/7, imgsize (640, 640), loss: 0.1717, lbox: 0.0676, cur_lr: 0.00538",
    )
)
