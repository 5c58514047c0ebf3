"""MindSpore's own callbacks and the model zoo's lines built on them.

* ``LossMonitor``: ``epoch: 1 step: 18810, loss is 0.78`` with the loss printed as a
  number, a list ``[0.78]``, a ``Tensor(...)``, or a ``(loss, overflow, loss_scale)``
  tuple of tensors (mixed precision ``TrainOneStepWithLossScaleCell``).
* ``TimeMonitor``: 1.x ``epoch time: ... ms, per step time: ... ms`` and 2.x
  ``Train epoch time: ...`` / ``Eval epoch time: ...`` with an optional data time.
* the model zoo's throughput line ``epoch 1 cost time = 508.71, train step num: ...``.
* ``Eval result: epoch 3, metrics: {...}`` and ``result: {...}`` evaluation lines.
"""

from __future__ import annotations

from parsers.formats._regex import BOOL, END, LOSS, NUM, TENSOR_VALUE, WORD_START
from parsers.registry import PRIORITY_EVENT_FIRST, LinePattern, LogFormat, register

# The tuple a loss-scaled TrainOneStepCell returns: (loss, overflow, loss_scale), as Tensors or plain values.
_OVERFLOW = rf"(?:Tensor\(shape=\[[^\]]*\],\s*dtype=Bool,\s*value=\s*)?\[?\s*(?P<overflow>{BOOL})\s*\]?\s*\)?"
_SCALE = rf"(?:{TENSOR_VALUE})?(?P<loss_scale>{NUM})\s*\]?\s*\)?\s*\)?"

LOSS_MONITOR = LinePattern(
    name="LossMonitor",
    table="steps",
    regex=(
        rf"{WORD_START}ep(?:och|coh):\s*(?P<epoch>\d+),?\s+step:\s*(?P<step>\d+),?\s+loss is\s+"
        rf"\(?\s*(?:{TENSOR_VALUE})?\[?\s*(?P<loss>{LOSS})\s*\]?\s*\)?"
        rf"(?:,\s*{_OVERFLOW},\s*{_SCALE})?{END}"
    ),
    fields={"epoch": "int", "step": "int", "loss": "float", "overflow": "bool", "loss_scale": "float"},
)

# Raised by LossMonitor itself; the words "epoch: 1 step: 2, loss is" must not become a record.
NAN_ABORT = LinePattern(
    name="LossMonitor NaN abort",
    table="events",
    regex=(
        r"epoch:\s*\d+\s+step:\s*\d+,\s*loss is NAN or INF"
        r"|epoch:\s*\d+\s+step:\s*\d+\.\s*Invalid loss, terminating training"
    ),
    constants={"kind": "nan"},
    priority=PRIORITY_EVENT_FIRST,
)

TIME_MONITOR = LinePattern(
    name="TimeMonitor",
    table="epochs",
    regex=(
        rf"{WORD_START}(?:(?P<phase>Train|Eval)\s+)?[Ee]poch time:\s*(?P<epoch_time_ms>{NUM})"
        r"\s*(?:(?P<epoch_time_ms_unit>ms|s)\b)?"
        rf"(?:,\s*per step time:\s*(?P<step_time_ms>{NUM})\s*(?:(?P<step_time_ms_unit>ms|s)\b)?)?"
        rf"(?:.*?data time:\s*(?P<data_time_ms>{NUM})\s*(?:ms)?)?"
        rf"(?:,\s*avg loss:\s*{NUM})?"
    ),
    # Times are in ms unless a unit says otherwise (MindSpore Elec prints "epoch time: 185.432 s").
    fields={"phase": "str", "epoch_time_ms": "duration", "step_time_ms": "duration", "data_time_ms": "float"},
)

# "Avg epoch time: 7.16" sums up a run (DGL): it is no epoch's time.
AVERAGE_EPOCH_TIME = LinePattern(
    name="average epoch time",
    table="noise",
    regex=r"(?i)\b(?:avg|average|mean)\.?\s+epoch\s+time\b",
    priority=PRIORITY_EVENT_FIRST,
)

MODELZOO_THROUGHPUT = LinePattern(
    name="model zoo throughput",
    table="epochs",
    regex=(
        rf"{WORD_START}epoch:?\s*(?P<epoch>\d+)\s+cost time\s*=\s*(?P<epoch_time_ms>{NUM})\s*(?:s\b)?,?"
        rf"(?:\s*train step num:\s*(?P<steps>\d+),?)?"
        rf"(?:\s*one step time:\s*(?P<step_time_ms>{NUM})\s*ms,?)?"
        rf"(?:\s*train samples per second of cluster:\s*(?P<samples_per_sec>{NUM}))?"
    ),
    fields={
        "epoch": "int",
        "epoch_time_ms": "s",
        "steps": "int",
        "step_time_ms": "float",
        "samples_per_sec": "float",
    },
)

EVAL_RESULT = LinePattern(
    name="Eval result",
    table="evals",
    regex=r"Eval result:\s*epoch\s*(?P<epoch>\d+),\s*metrics:\s*(?P<metrics>\{.*\})\s*$",
    fields={"epoch": "int", "metrics": "dict"},
)

RESULT_DICT = LinePattern(
    name="result dict",
    table="evals",
    regex=(
        r"(?:^|\s|\]|:)(?:[Ee]val(?:uation)? )?(?:result|[Mm]etrics?|acc(?:uracy)?)\s*[:=]\s*"
        r"(?P<metrics>\{[^{}]*\})\s*(?:ckpt\s*=.*)?$"
    ),
    fields={"metrics": "dict"},
)

# "update best result: {...}", "the best {...} is: {...}": the best evaluation so far, printed again.
BEST_RESULT = LinePattern(
    name="best result so far",
    table="noise",
    regex=r"(?i)\bbest\b[^{]*\{",
    priority=PRIORITY_EVENT_FIRST,
)

MINDSPORE = register(
    LogFormat(
        name="mindspore",
        description="MindSpore LossMonitor / TimeMonitor callbacks and model-zoo train.py lines",
        patterns=(
            LOSS_MONITOR,
            NAN_ABORT,
            AVERAGE_EPOCH_TIME,
            BEST_RESULT,
            TIME_MONITOR,
            MODELZOO_THROUGHPUT,
            EVAL_RESULT,
            RESULT_DICT,
        ),
        # LossMonitor counts from 1, but model-zoo scripts that imitate it print epoch 0.
        epoch_base=None,
        # MindSpore scripts' argparse / config names: context.set_context(device_target=...),
        # get_group_size() as device_num / group_size / rank_size.
        hparam_meta={"device": ("device_target",), "device_num": ("device_num", "group_size", "rank_size")},
        example="epoch: 1 step: 18810, loss is 0.7837822437286377",
    )
)
