"""Lines of the MindSpore model zoo's own train.py scripts (beyond LossMonitor/TimeMonitor).

    ResNet (2023)   epoch: [1/90] loss: 1.082604, epoch time: 40.559 s, per step time: 207.995 ms
    GPU benchmark   epoch: [0/1] step: [20/5004], loss is 6.940182 Epoch time: 12416.098 ms, fps: 412 img/sec.
    FaceRecognition epoch[0], iter[100], loss:(Tensor(... value= 50.27), Tensor(... Bool, value= False),
                    Tensor(... value= 32768)), cur_lr:0.000660, mean_fps:743.09 imgs/sec
    BERT            epoch: 1, current epoch percent: 1.000, step: 83002, outputs are (Tensor(...), ...)
    Mask R-CNN      epoch: 11 step: 7393 ,rpn_loss: 0.02003, ..., total_loss: 0.54054
    evaluation      Total data: 50000, top1 accuracy: 0.70668, top5 accuracy: 0.89698.
                    Result metrics for epoch 1: {'bbox_mAP': 0.0556, ...}

BERT prints the run's cumulative step, read as ``global_step``.  The ``iter[]`` of
FaceRecognition-style callbacks (also YOLOv5, DS-CNN) runs on over the run too, but is read as a
step: whether it counts from 0 (a loop index) or 1 (``cur_step_num``) is the numbering's
decision from the log (``parsers.engine.numbering``), not printed verbatim.
Epoch bases differ between scripts (0 in the benchmark and FaceRecognition), so the
format decides per log: a log that prints epoch 0 counts from 0.
"""

from __future__ import annotations

from parsers.formats._regex import BOOL, LOSS, NUM, TENSOR_VALUE, WORD_START
from parsers.registry import LinePattern, LogFormat, register

RESNET_EPOCH = LinePattern(
    name="ResNet epoch summary",
    table="steps",
    also=("epochs",),
    regex=(
        rf"(?<![\w/])epoch:\s*\[\s*(?P<epoch>\d+)\s*/\s*(?P<total_epochs>\d+)\s*\]\s+loss:\s*(?P<loss>{LOSS}),"
        rf"\s*epoch time:\s*(?P<epoch_time_ms>{NUM})\s*(?P<epoch_time_ms_unit>ms|s)\b"
        rf"(?:,\s*per step time:\s*(?P<step_time_ms>{NUM})\s*ms)?"
    ),
    fields={
        "epoch": "int",
        "total_epochs": "int",
        "loss": "float",
        "epoch_time_ms": "duration",
        "step_time_ms": "float",
    },
    priority=45,
)
BENCHMARK_STEP = LinePattern(
    name="GPU benchmark step",
    table="steps",
    regex=(
        r"(?<![\w/])epoch:\s*\[\s*(?P<epoch>\d+)\s*/\s*(?P<total_epochs>\d+)\s*\]\s*"
        r"step:\s*\[\s*(?P<step>\d+)\s*/\s*(?P<steps_per_epoch>\d+)\s*\],\s*"
        rf"loss is\s*(?P<loss>{LOSS})"
    ),
    fields={"epoch": "int", "total_epochs": "int", "step": "int", "steps_per_epoch": "int", "loss": "float"},
    priority=45,
)
FACE_TUPLE = LinePattern(
    name="tuple loss with loss scale",
    table="steps",
    regex=(
        rf"(?<![\w/])epoch\[(?P<epoch>\d+)\],\s*iter\[(?P<step>\d+)\],\s*loss:\s*\(?\s*(?:{TENSOR_VALUE})?"
        rf"(?P<loss>{LOSS})\s*\]?\s*\)?"
        rf"(?:,\s*Tensor\(shape=\[[^\]]*\],\s*dtype=Bool,\s*value=\s*(?P<overflow>{BOOL})\s*\))?"
        rf"(?:,\s*{TENSOR_VALUE}(?P<loss_scale>{NUM})\s*\]?\s*\))?"
        rf"(?:.*?cur_lr:\s*(?P<lr>{NUM}))?"
        rf"(?:.*?\b\w+:\s*(?P<samples_per_sec>{NUM})\s*[A-Za-z]+/sec\b)?"
    ),
    fields={
        "epoch": "int",
        "step": "int",
        "loss": "float",
        "overflow": "bool",
        "loss_scale": "float",
        "lr": "float",
        "samples_per_sec": "float",
    },
    # the throughput ("mean_wps:12102.26 wavs/sec") is the epoch's where the line is printed once an
    # epoch (DS-CNN); where it repeats within an epoch (YOLOv5) the epochs table drops it as a step's
    also=("epochs",),
    priority=45,
)
MULTI_LOSS = LinePattern(
    name="detection total_loss",
    table="steps",
    regex=(
        r"(?<![\w/])epoch:\s*(?P<epoch>\d+)\s+step:\s*(?P<step>\d+)\s*,.*?\btotal_loss:\s*"
        rf"(?P<loss>{LOSS})"
    ),
    fields={"epoch": "int", "step": "int", "loss": "float"},
    priority=45,
)
TOP_ACCURACY = LinePattern(
    name="top-1/top-5 accuracy",
    table="evals",
    regex=(
        rf"(?i)\btop-?1[ _]acc(?:uracy)?\s*[:=]?\s*(?P<metric_top1_accuracy>{NUM})"
        rf"(?:,?\s*top-?5[ _]acc(?:uracy)?\s*[:=]?\s*(?P<metric_top5_accuracy>{NUM}))?"
    ),
    fields={"metric_top1_accuracy": "float", "metric_top5_accuracy": "float"},
)
EPOCH_METRICS = LinePattern(
    name="Result metrics for epoch",
    table="evals",
    regex=r"Result metrics for epoch\s+(?P<epoch>\d+)\s*:\s*(?P<metrics>\{.*\})",
    fields={"epoch": "int", "metrics": "dict"},
)

KV_METRICS = LinePattern(
    name="dataset key=value metrics",
    table="evals",
    regex=rf"^\s*\[\w*(?:test|val|eval)\w*\]\s*:\s*(?P<metrics>\w+={NUM}(?:,\s*\w+={NUM})*)\s*$",
    fields={"metrics": "kwargs"},
)

BERT_OUTPUTS = LinePattern(
    priority=45,
    name="model zoo outputs are",
    table="steps",
    regex=(
        rf"{WORD_START}epoch:\s*(?P<epoch>{NUM}),\s*current epoch percent:\s*{NUM},"
        r"\s*step:\s*(?P<global_step>\d+),"
        rf"\s*outputs are\s*\(?\s*(?:Tensor\(shape=\[[^\]]*\],\s*dtype=\w+,\s*(?:value=)?\s*)?\[?\s*"
        rf"(?P<loss>{LOSS})\s*\]?\s*\)?"
        rf"(?:,\s*Tensor\(shape=\[[^\]]*\],\s*dtype=Bool,\s*(?:value=)?\s*\[?\s*(?P<overflow>{BOOL})\s*\]?\s*\))?"
        rf"(?:,\s*Tensor\(shape=\[[^\]]*\],\s*dtype=\w+,\s*(?:value=)?\s*\[?\s*(?P<loss_scale>{NUM})\s*\]?\s*\))?"
    ),
    fields={"epoch": "int", "global_step": "int", "loss": "float", "overflow": "bool", "loss_scale": "float"},
)

MODELZOO = register(
    LogFormat(
        name="modelzoo",
        description="MindSpore model zoo train.py lines (ResNet summaries, benchmarks, tuple losses)",
        patterns=(
            BERT_OUTPUTS,
            RESNET_EPOCH,
            BENCHMARK_STEP,
            FACE_TUPLE,
            MULTI_LOSS,
            TOP_ACCURACY,
            EPOCH_METRICS,
            KV_METRICS,
        ),
        epoch_base=None,
        example="epoch: [1/90] loss: 1.082604, epoch time: 40.559 s, per step time: 207.995 ms",
    )
)
