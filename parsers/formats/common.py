"""Lines every training log may carry, whatever wrote its records.

Events (start with announced epochs, finish, checkpoint, warnings, errors,
tracebacks, overflow, interrupt, resume), hyperparameter dumps, bare metric dicts,
framework version and device.  Their priority is below the record patterns, so
a loss line that happens to mention "warning" is still a loss line.
"""

from __future__ import annotations

from parsers.registry import PRIORITY_COMMON, LinePattern, LogFormat, register


def _event(kind: str, regex: str, **fields: str) -> LinePattern:
    return LinePattern(
        name=f"{kind} event",
        table="events",
        regex=regex,
        fields=fields,
        constants={"kind": kind},
        priority=PRIORITY_COMMON,
    )


START = _event(
    "start",
    r"(?i)(?:\bstart(?:ing|ed)? (?:run )?train(?:ing)?\b|开始训练)"
    r"(?:.*?(?:total epochs?|总轮数|epochs?)\s*[:=：]?\s*(?P<total_epochs>\d+))?",
    total_epochs="int",
)
FINISH = _event(
    "finish",
    r"(?i)\btrain(?:ing)? (?:is )?(?:success(?:ful(?:ly)?)?|finish(?:ed)?|complete(?:d)?|done|end(?:ed)?)\b"
    r"|\bEnd of training\b|\bfinish(?:ed)? training\b|^\s*Done!?\s*$|\bTraining completed\b"
    r"|训练(?:完成|结束)",
)
CHECKPOINT = _event(
    "checkpoint",
    r"(?i)\b(?:checkpoint|ckpt)\b.*\b(?:saved?|sav(?:ing)|upload(?:ed)?|written)\b"
    r"|\b(?:sav(?:e|ed|ing)|upload(?:ed)?)\b.*\b(?:checkpoint|ckpt)\b|保存.*(?:checkpoint|ckpt|模型)",
)
INTERRUPT = _event("interrupt", r"(?i)\b(?:interrupted|KeyboardInterrupt|SIGTERM|SIGINT)\b")
RESUME = _event("resume", r"(?i)\bresum(?:e|ed|ing)\b.*\b(?:checkpoint|ckpt|epoch|step)\b")
OVERFLOW = _event(
    "overflow",
    r"(?i)\b(?:gradient|grad|loss[ _]scale|fp16)\b.*\boverflow\b|\boverflow\b.*\b(?:skip|reduc|scale)",
)
PRETRAINED = _event(
    "pretrained",
    r"(?i)\bload(?:ed|ing)? (?:the )?pre-?trained (?:checkpoint|ckpt|model|weights?)\b",
)
TRACEBACK = _event("traceback", r"^(?:\[rank\d+\]:\s*)?Traceback \(most recent call last\):")
# The frames of a traceback belong to its event; they are not unknown lines.
TRACEBACK_FRAME = LinePattern(
    name="traceback frame",
    table="noise",
    regex=r'^(?:\[rank\d+\]:)?\s+File "[^"]*", line \d+|^\s+\^[\^~]*\s*$',
    priority=PRIORITY_COMMON,
)
ERROR = _event(
    "error",
    r"\[ERROR\]|\s-\s(?:ERROR|CRITICAL)\s-\s|\bERROR\s*:|^(?:\[rank\d+\]:\s*)?(?:\w+\.)*\w*(?:Error|Exception)\b:"
    r"|^(?:\[rank\d+\]:\s*)?E[A-Z0-9]\d{4}\b",
)
WARNING = _event(
    "warning",
    r"\[WARNING\]|\[WARN\]|\s-\s(?:WARNING|WARN)\s-\s|\bWARNING\s*:|\b\w*Warning:",
)

NAMESPACE = LinePattern(
    name="argparse Namespace",
    table="hparams",
    regex=r"(?P<hparams>\b(?:argparse\.)?Namespace\(.*\))\s*$",
    fields={"hparams": "kwargs"},
    priority=PRIORITY_COMMON,
)
# A bare dict on its own line: model.eval() printed, or a config dump; assembly decides which.
BARE_DICT = LinePattern(
    name="bare dict",
    table="evals",
    regex=r"^\s*(?P<metrics>\{['\"].*\})\s*$",
    fields={"metrics": "dict"},
    constants={"bare": True},
    priority=PRIORITY_COMMON,
)
# "LpLoss_error: 0.0402" or "val_acc = 0.91" alone on a line: a metric someone printed.
LONE_METRIC = LinePattern(
    name="lone metric",
    table="evals",
    regex=(
        r"^\s*(?P<metric>(?i:[a-z][\w@.-]*?(?:acc|error|err|loss|f1|map|auc|bleu|ppl|precision|recall"
        r"|iou|psnr|ssim|score)[\w@.-]*))\s*[:=]\s*(?P<value>[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*$"
    ),
    fields={"metric": "str", "value": "float"},
    priority=PRIORITY_COMMON,
)
# "batch_size: 32" lines; they count as hyperparameters only in a block of several (parsers.hparams).
KEY_VALUE = LinePattern(
    name="key: value dump",
    table="hparams",
    regex=r"^\s*(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s*:\s*(?P<value>[^\s{\[].*?)\s*$",
    fields={"key": "str", "value": "str"},
    priority=95,
)
VERSION = LinePattern(
    name="framework version",
    table="meta",
    regex=r"(?i)\b(?P<framework_version>(?:mindspore|torch|pytorch|mindformers)\s*(?:version)?\s*[:=]?\s*v?\d+\.\d+[\w.+-]*)",
    fields={"framework_version": "str"},
    priority=PRIORITY_COMMON + 1,
)
DEVICE = LinePattern(
    name="device target",
    table="meta",
    regex=r"(?i)\bdevice[_ ]target\b\s*[:=]\s*['\"]?(?P<device>Ascend|GPU|CPU)\b",
    fields={"device": "str"},
    priority=PRIORITY_COMMON + 1,
)

COMMON = register(
    LogFormat(
        name="common",
        description="events, hyperparameter dumps and metric dicts any training log may print",
        patterns=(
            TRACEBACK_FRAME,
            TRACEBACK,
            OVERFLOW,
            ERROR,
            WARNING,
            START,
            FINISH,
            CHECKPOINT,
            INTERRUPT,
            RESUME,
            PRETRAINED,
            NAMESPACE,
            BARE_DICT,
            LONE_METRIC,
            DEVICE,
            VERSION,
            KEY_VALUE,
        ),
        shared=True,
        hparam_meta={"batch_size": ("batch_size",)},
        example="Start run training, total epoch: 90.",
    )
)
