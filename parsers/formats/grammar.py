"""The general line grammar: any line read as keyed values, before any named format.

A training log prints values after their names in a handful of ways, whatever wrote it::

    epoch: 1, step: 100, outputs are [4.4550357], step_time_span is 0.2664   (model zoo)
    rank[0], iter[12], loss[3.21], overflow:False, loss_scale:256.0          (brackets)
    Epoch(train)  [1][ 10/196]  lr: 3.3333e-04  time: 0.4073  loss: 6.1887    (mmengine)
    | epoch 008 | valid on 'valid' subset | valid_loss 6.43844 | valid_ppl 37.61   (fairseq)
    {"current_steps": 400, "total_steps": 13080, "loss": 0.0, "epoch": 0.107}     (JSON lines)
    val Loss: 0.2793 Acc: 0.8889                                              (a loop's eval)

``read_line`` finds the values of a line (the scanner's number tokens, plus ``nan``, ``inf``,
``True``/``False``), the key written before each (``key: v``, ``key=v``, ``key v``, ``key is v``,
``key are v``, ``key[v]``, ``key(v)``, ``key：v``, quoted JSON keys, ``Tensor(... value= v)``),
the unit after it, and ``cur/total`` progress pairs; ``SYNONYMS`` (data) says which schema column
a key spelling is, and the line's context words say which table the line feeds: an eval word
(``val``, ``valid``, ``eval``, ``test``, ``Epoch(val)``) makes it an evaluation, a loss makes it a
step record, an epoch time an epoch record, a lone ``Epoch 45/49`` a header that sets the epoch of
the lines after it.  The reader runs on one line per scanner shape (``parsers.dispatch``), so it
costs once per distinct shape, never once per line, and its values are gathered by token slot.

Named formats stay in front: a line a named format reads is theirs (they carry what the text
cannot say: epoch bases, cumulative counters, which of two printed times wins).  The grammar's
format is ``generic``: where a named format found records of a table, the grammar's records of
that table are its misreadings and are dropped (``parsers.engine.generic``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from parsers.registry import PRIORITY_GENERIC, LinePattern, LogFormat, register

__all__ = ["GRAMMAR", "SYNONYMS", "Reading", "Value", "grammar_pattern", "read_line"]

# Key spellings (lower case, words separated by one space) -> schema column.  A key is
# looked up whole, then without its leading words ("Train epoch" -> "epoch").
SYNONYMS: dict[str, str] = {
    # "epcoh": a MindSpore example's typo; "Epoch nr: [100/100]": the epoch's number
    **dict.fromkeys(("epoch", "ep", "epcoh", "epoch nr", "epoch no", "epoch num", "epoch number"), "epoch"),
    "episode": "epoch",  # reinforcement learning (MindSpore Reinforcement): "Episode 691: loss is -1096.7"
    "pass": "epoch",  # PaddlePaddle v1: "Pass 0, Batch 100, Cost 2.261713, {...}"
    **dict.fromkeys(("step", "iter", "iteration", "it", "batch", "train step", "steps"), "step"),
    **dict.fromkeys(("global step", "num updates", "current steps", "global steps"), "global_step"),
    **dict.fromkeys(
        ("loss", "total loss", "train loss", "training loss", "lm loss", "outputs", "loss is", "cost"),
        "loss",
    ),
    **dict.fromkeys(("lr", "learning rate", "cur lr"), "lr"),
    **dict.fromkeys(
        (
            "step time",
            "per step time",
            "time of per steps",
            "step time span",
            "per step",
            "time per step",
            "batch time",
            "iter time",
            "iteration seconds",  # a bare "time" beside "data_time" (``_iteration_timer``)
            "batch cost",  # PaddlePaddle suites: "batch_cost: 0.18023 s" a step
            "avg batch cost",
        ),
        "step_time_ms",
    ),
    **dict.fromkeys(
        (
            "epoch time",
            "train epoch time",
            "total cost",
            "epoch cost",
            "cost time",
            "epoch duration",
            "time since last epoch",
            "batch cost sum",  # PaddleClas' "END epoch:0 ... batch_cost_sum: 6.84987 s": the epoch's
        ),
        "epoch_time_ms",
    ),
    **dict.fromkeys(
        ("samples per sec", "samples/sec", "samples/s", "speed", "throughput", "fps", "mean fps"),
        "samples_per_sec",
    ),
    # DeepSpeed-Chat's "Beginning of Epoch 1/1, Total Micro Batches 1840": the epoch's steps
    **dict.fromkeys(("total micro batches", "steps per epoch", "batches per epoch"), "steps_per_epoch"),
    "loss scale": "loss_scale",
    "overflow": "overflow",
    "rank": "rank",
    **dict.fromkeys(
        ("max epochs", "max epoch", "total epoch", "total epochs", "epochs", "num epochs"), "total_epochs"
    ),
}
# The kind of value each column holds (int counters, a flag, numbers).
_KINDS = {
    "epoch": "int",
    "step": "int",
    "global_step": "int",
    "rank": "int",
    "total_epochs": "int",
    "steps_per_epoch": "int",
    "overflow": "bool",
}
# Words that make a key an evaluation metric (on an eval line, or alone on a line): a key is
# one when a part of its last word (split at "_", "-", "@", ".", "/") is one of them.
METRIC_WORDS = frozenset(
    [
        "acc",
        "accuracy",
        "acc1",
        "acc5",
        "top1",
        "top5",
        "loss",
        "nll",
        "error",
        "err",
        "f1",
        "map",
        "miou",
        "auc",
        "bleu",
        "rouge",
        "ppl",
        "perplexity",
        "precision",
        "recall",
        "iou",
        "dice",
        "psnr",
        "ssim",
        "score",
        "scores",
        "mse",
        "mae",
        "rmse",
        "wer",
        "cer",
        "reward",
        "rewards",
    ]
)
# Keys that are never metrics: summaries and positions.
_NOT_METRIC = re.compile(r"(?i)\bbest\b|^(?:lr|time|eta|memory|data time)$")
# Parts of a key that make it a count, not a metric (``top1_cor: 737``, ``top5_correct``, ``acc_cnt``).
_COUNT_PARTS = frozenset(["cor", "correct", "cnt", "count", "tot"])
# Words that make a line an evaluation: not followed by '_' (val_loss is a key), '.' or '/'.
_EVAL_WORD = re.compile(
    r"(?i)(?<![\w/.])(val|valid|validation|validating|eval|evaluate|evaluation|evaluating|test|testing|results?"
    r"|metrics)"
    r"(?![\w./])"
)
_TRAIN_WORD = re.compile(r"(?i)(?<![\w/.])(train|training)(?![\w./])")
# Units glued or spaced after a value, and units in a key ("Epoch Time(s)", "Speed (samples/sec)").
_UNIT = re.compile(
    r"\s?(?P<unit>ms|msec|secs?|seconds?|s|mins?|minutes?|h|hours?|%|fps|[A-Za-z]+/s(?:ec)?)(?![A-Za-z])"
)
_KEY_UNIT = re.compile(r"\(\s*(?P<unit>ms|s|sec|min|h|%|[A-Za-z]+/s(?:ec)?)\s*\)\s*$")
# A rate of things processed a second, whatever the things (``12102.26 wavs/sec``, ``580 imgs/sec``,
# ``fps``): a throughput, the schema's samples_per_sec, whatever its key (``mean_wps``).  Steps or
# iterations a second (``it/s``) are a step rate, not a throughput.
_SAMPLE_RATE = re.compile(
    r"(?i)^(?:fps|(?:samples?|imgs?|images?|wavs?|audios?|frames?|seqs?|sequences?|sentences?"
    r"|examples?|tokens?|words?|tok)/s(?:ec)?)$"
)
_DURATION_MS = {"ms": 1.0, "msec": 1.0, "s": 1e3, "sec": 1e3, "secs": 1e3, "second": 1e3, "seconds": 1e3}
_DURATION_MS.update({"min": 6e4, "mins": 6e4, "minute": 6e4, "minutes": 6e4, "h": 3.6e6, "hour": 3.6e6})
_DURATION_MS["hours"] = 3.6e6
# Times printed without a unit are milliseconds, but for these keys, whose writers print seconds
# (PaddlePaddle's suites: ``batch_cost: 0.5344`` beside ``ips: 3.7 samples/sec``).
_SECONDS_KEYS = frozenset(("batch cost", "avg batch cost", "batch cost sum", "iteration seconds"))
# Values that are words.
_WORD_VALUE = re.compile(r"(?<![\w.])(?i:(nan|inf|infinity|true|false))(?!\w)")
# What may stand between a key and its value.
_CONNECTOR = re.compile(
    r"(?:Tensor\(shape=\[[^\]]*\],\s*dtype=\w+,\s*(?:value=)?\s*\[?\s*|(?:np|numpy)\.\w+\(|tensor\("
    r"|[\s:=：\[(\"'{]|(?<![\w])(?:is|are|of|with)(?![\w]))+$"
)
_REMARK = re.compile(r"\([^()]*\s[^()]*\)|\((?i:train|val|valid|test|eval)\)")
_SPLIT = re.compile(r"[,|;\t\[\](){}<>\"'：]|\s{2,}|\s-\s|(?<=\S):(?=\S)|:\s")
_KEY_WORD = re.compile(r"^[A-Za-z_@][\w@.\-/]*$")
# A path or a file name ("train.py", ".../rank_0-6500_2.ckpt") ends a key, never starts one.
_PATH_WORD = re.compile(r"/.*/|\.[A-Za-z]\w{0,4}$")
_KEY_REACH = 120
# A key that names an evaluation itself (``val_loss``, ``eval_loss``, ``test_acc1``).
_KEYED_EVAL = re.compile(r"(?i)(?:val|valid|eval|test)_")
# A Tensor's shape (``Tensor(shape=[1], dtype=Float32, [ 1.08e+01])``) holds no value.
_TENSOR_SHAPE = re.compile(r"shape=\[[^\]]{0,40}\]")
# A date or a clock time holds no value either, and its slashes are no ``cur/total`` progress:
# ``[2020/11/16 11:11:26]``, ``2024-08-06``, detectron2's ``[11/01 11:27:04 d2.utils.events]``,
# ``eta: 8:05:12``.  Fixed-width pieces, no nested repeats: linear in the line.
_DATE_TIME = re.compile(
    r"(?<![\w./])(?:"
    r"\d{4}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)?"
    r"|(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01]) \d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?"
    r"|\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?"
    r")(?![\w/])"
)
_EVAL_PART = re.compile(r"(?i)(?:^|_)(?:val|valid|validation|eval|test)(?:_|$)")
_TQDM_AFTER = re.compile(r"\s*\[\d+:\d+(?::\d+)?<")
_TQDM_POSTFIX = re.compile(r"\[\d+:\d+(?::\d+)?<[^\[\]]*\]")  # "[00:01<00:00, 131.88it/s, loss=0.47]"
_BAR_AFTER = re.compile(r"\s*\[[=>.]+")
_AVERAGE_AFTER = re.compile(r"\s*\(\s*[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*\)")
_EPOCHS_AFTER = re.compile(r"\s*epochs\b")
_LOG_WORDS = {"INFO", "DEBUG", "WARNING", "WARN", "ERROR", "I", "W", "E"}


@dataclass(frozen=True)
class Value:
    """One value a line gives a column: a number token's character span, or a constant."""

    column: str
    kind: str
    start: int = -1
    end: int = -1
    constant: Any = None
    scale: float = 1.0
    negate: bool = False


@dataclass(frozen=True)
class Reading:
    """What a line is (its table, and the further tables it feeds) and its values."""

    table: str
    also: tuple[str, ...]
    values: tuple[Value, ...]


@dataclass
class _Item:
    key: str
    start: int
    end: int
    text: str
    unit: str | None
    total: tuple[int, int] | None = None
    negate: bool = False
    bracketed: bool = False  # "[" right before, or the epoch's value: where a step's progress stands
    averaged: bool = False  # followed by "(running average)": a progress meter's figure
    in_parens: bool = False  # "(" right before its key: a part of the value before it
    text_after: str = ""  # a few characters after the value (or its progress total)
    finished: bool = False  # a progress pair at its total ("100/100")


def read_line(text: str, numbers: list[tuple[int, int]]) -> Reading | None:
    """The record a line holds, read by the grammar, or None.

    ``numbers`` are the character spans of the line's number tokens (the scanner's).
    Only the line's window is read (``_window``): its cost is bounded however long the line.
    """
    text, numbers = _window(text, numbers)
    items = _items(text, numbers)
    if not items:
        return None
    _iteration_timer(items)
    _count_and_share(items)
    fields: dict[str, Value] = {}
    metrics: dict[str, Value] = {}
    eval_line = _is_eval_line(text)
    prefix = _metric_prefix(items, eval_line)
    for item in items:
        _take(item, fields, metrics, eval_line, prefix)
    if "loss" not in fields and not eval_line:
        # No plain loss: the first of several named ones (``G_loss: 18.95, D_loss: 5.37``) stands for it.
        # On a line that places no record, an average (``Avg loss: 0.53`` beside ``Accuracy: 83.8%``)
        # is an evaluation's figure, not a step's loss; with an epoch or a step it is the step's.
        placed = bool(fields.keys() & _PLACED)
        named = next(
            (
                i
                for i in items
                if _norm(i.key).endswith(" loss")
                and not _KEYED_EVAL.match(i.key)
                and (placed or _norm(i.key).split()[0] not in _STOP_WORDS)
            ),
            None,
        )
        if named is not None:
            fields["loss"] = _value("loss", named, "float")
            metrics.pop(_metric_name(named.key, ""), None)
    return _record(fields, metrics, eval_line, items, bool(_TRAIN_WORD.search(text)))


def _iteration_timer(items: list[_Item]) -> None:
    """``time: 0.3322  data_time: 0.0334`` (detectron2, mmengine, mmcv): beside the data loading
    time, a bare ``time`` is the iteration's, in seconds -- the step time."""
    keys = [_norm(i.key) for i in items]
    if "data time" in keys and "time" in keys:
        items[keys.index("time")].key = "iteration seconds"


def _count_and_share(items: list[_Item]) -> None:
    """``Accuracy: 9801/10000 (98.01%)`` (PyTorch's MNIST example and its many descendants): the
    pair counts right answers; the metric is the share in parentheses after it.  A metric printed
    as a bare ``k/n`` count is left unread rather than taken for the value k."""
    for count, share in pairwise([*items, None]):
        if count.total is not None and count.key and is_metric_key(count.key):
            if share is not None and not share.key and share.unit == "%" and share.in_parens:
                share.key = count.key
            count.key = ""


def _window(text: str, numbers: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """The start of a line the grammar reads: its first ``_WINDOW_VALUES`` numbers, within
    ``_WINDOW_CHARS`` characters.

    A record's keyed values sit at the start of its line: in the real logs of ``tests/data``
    a record line holds at most 50 numbers and its last read value starts before character
    1,600.  A line with thousands of numbers past the window is a tensor or an array printed
    whole; reading all of it cost about a second per megabyte (issue 12's 50 MB of long
    lines: 54 s) and found nothing.  Values past the window are left unread, never guessed;
    a progress total or unit right after the last value in the window is still seen.
    """
    if len(text) <= _WINDOW_CHARS and len(numbers) <= _WINDOW_VALUES:
        return text, numbers
    kept = [span for span in numbers[:_WINDOW_VALUES] if span[1] <= _WINDOW_CHARS]
    end = min(len(text), (kept[-1][1] if kept else 0) + _KEY_REACH, _WINDOW_CHARS + _KEY_REACH)
    return text[:end], [span for span in kept if span[1] <= end]


# "<name> in|at|for|of <counter>" (``Loss in epoch``, ``loss at step``): a value's name and its position.
_NAMED_AT = re.compile(
    r"(?i)^(?P<name>.+?)\s+(?:in|at|for|of|on|after)\s+(?P<counter>epoch|step|iter(?:ation)?|batch)$"
)
_WINDOW_VALUES = 512
_WINDOW_CHARS = 16_384


def _items(text: str, numbers: list[tuple[int, int]]) -> list[_Item]:
    """Every value of the line with the key before it, its unit and a progress total."""
    shapes = [m.span() for m in _TENSOR_SHAPE.finditer(text)] if "shape=[" in text else []
    if ":" in text or "/" in text or "-" in text:
        shapes += [m.span() for m in _DATE_TIME.finditer(text)]
    spans = [
        (s, e) for s, e in numbers if not _inside_word(text, s, e) and not any(a <= s < b for a, b in shapes)
    ]
    spans += [m.span(1) for m in _WORD_VALUE.finditer(text)]
    spans.sort()
    items: list[_Item] = []
    last = 0
    for start, end in spans:
        if start < last:
            continue
        lead = text[last:start]
        if items and items[-1].total is None and re.fullmatch(r"\s*/\s*", lead) and text[start].isdigit():
            items[-1].total = (start, end)
            items[-1].text_after = text[end : end + 16]
            items[-1].finished = text[start:end] == items[-1].text
            last = end
            continue
        if text.startswith("%|", end):
            last = end + 1
            continue  # a progress bar's percentage ("Map: 100%|████")
        unit_match = _UNIT.match(text, end)
        unit = unit_match.group("unit") if unit_match else None
        # A minus sign right before a value belongs to it (not in "2023-08", a hyphen).
        negate = start > 0 and text[start - 1] == "-" and (start < 2 or not text[start - 2].isalnum())
        key, key_unit = _key(lead[:-1] if negate else lead)  # "loss is -1096.7": the key is "loss"
        if not key and items and _CONNECTOR.fullmatch(lead) and items[-1].total is None:
            # "Loss in epoch 0  =  2.16": the words before "in epoch" name the value after it.
            named = _NAMED_AT.match(items[-1].key)
            if named:
                key, items[-1].key = named.group("name"), named.group("counter")
        bracketed = lead.rstrip().endswith("[") or bool(items and column_of(items[-1].key) == "epoch")
        items.append(
            _Item(key, start, end, text[start:end], unit or key_unit, negate=negate, bracketed=bracketed)
        )
        items[-1].averaged = bool(_AVERAGE_AFTER.match(text, end))
        close = text.find(")", end, end + _KEY_REACH) if lead.lstrip().startswith("(") else -1
        if close >= 0:
            items[-1].in_parens = True  # "712.9(train: 679.7, val: 31.9)s": the unit closes the group
            closing = _UNIT.match(text, close + 1)
            items[-1].unit = items[-1].unit or (closing.group("unit") if closing else None)
        if key.lower().split()[-1:] in (["max"], ["total"]) and _EPOCHS_AFTER.match(text, end):
            items[-1].key = "max epochs"  # "max: 30 epochs"
        if not key and unit_match and unit_match.group("unit") in _DURATION_MS:
            # Keras' epoch end, ``100/100 [======] - 328s 3s/step - loss: ...``: after a finished
            # bar, a bare duration is the epoch's time and one "a step" the step's time.
            if text.startswith("/step", unit_match.end()):
                items[-1].key = "step time"
            elif len(items) > 1 and _finished_bar(items[-2]):
                items[-1].key = "epoch time"
        last = unit_match.end() if unit_match else end
    return items


def _finished_bar(item: _Item) -> bool:
    """A progress bar's counter at its total (``100/100 [=====]``): the end of an epoch."""
    return item.finished and not item.key and bool(_BAR_AFTER.match(item.text_after))


def _inside_word(text: str, start: int, end: int) -> bool:
    """A digit run that is part of a name (``top-1``, ``acc@5``, ``2023-08-16``, ``1st``, and a key's
    last digits glued to its letters when the value follows: ``top1: 0.0127``, ``mAP50=0.74``)."""
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before in "-@" and start > 1 and text[start - 2].isalnum():
        return True
    if before.isalpha() and _KEY_END.match(text, end):
        return True
    return after.isalpha() and after not in "sehm%" and not text[end : end + 3].isalpha()


_KEY_END = re.compile(r"\s?[:=：]")  # what ends a key: its value comes next


def _key(lead: str) -> tuple[str, str | None]:
    """The key written in the text between the previous value and this one (and its unit).

    Only the last ``_KEY_REACH`` characters are read: a key sits right before its value,
    and a bounded text keeps every regex here linear in the line, however long.
    """
    lead = _REMARK.sub(" ", lead[-_KEY_REACH:])
    lead = _CONNECTOR.sub("", lead)
    unit = None
    found = _KEY_UNIT.search(lead)
    if found:
        unit, lead = found.group("unit"), lead[: found.start()]
    piece = _SPLIT.split(lead)[-1] if lead else ""
    words: list[str] = []  # the run of key words right before the value
    for word in reversed(piece.split()):
        if not _KEY_WORD.match(word) or _PATH_WORD.search(word) or word in _LOG_WORDS:
            break
        words.insert(0, word)
    return " ".join(words[-4:]), unit


def is_metric_key(key: str) -> bool:
    """Whether a key names a metric (``val_loss``, ``acc@1``, ``Val IoU``; not ``subErrType``)."""
    parts = re.split(r"[_\-@./]+", key.split()[-1].lower()) if key.split() else []
    if any(part in _COUNT_PARTS for part in parts):
        return False
    return any(part in METRIC_WORDS for part in parts) and not _NOT_METRIC.search(key)


def _norm(key: str) -> str:
    return re.sub(r"[\s_\-]+", " ", key.lower()).strip()


def column_of(key: str) -> str | None:
    """The schema column a key spelling names, trying it whole and without its leading words.

    Words are what spaces separate: ``Train epoch`` is an epoch, ``base_lr`` is not ``lr``.
    """
    words = key.split()
    for i in range(len(words)):
        if i and _norm(words[i - 1]) in _STOP_WORDS:
            return None  # "Total time since last epoch" is no epoch
        column = SYNONYMS.get(_norm(" ".join(words[i:])))
        if column is not None:
            return column
    return None


# A key with one of these words before a synonym is not that synonym.
_STOP_WORDS = {"time", "since", "cost", "per", "avg", "average", "mean", "max", "total", "num"}


def _is_eval_line(text: str) -> bool:
    """An eval word makes an evaluation, unless a training word says otherwise (before any ``|``:
    fairseq's ``| epoch 010 | valid on 'valid' subset`` names the phase after the epoch).  The figures a
    tqdm bar shows after its rate are the loop's, named by the bar's description: ``epoch 1: 100%|..|
    153/153 [00:01<00:00, 131.88it/s, loss=0.471, metrics={'acc': 0.79}]`` is training."""
    text = _TQDM_POSTFIX.sub("]", text)
    return bool(_EVAL_WORD.search(text)) and not _TRAIN_WORD.search(text.split("|")[0])


def _metric_prefix(items: list[_Item], eval_line: bool) -> str:
    """``val`` in ``val Loss: x Acc: y``: a lower-case eval word before the first key names every metric."""
    if not eval_line:
        return ""
    for item in items:
        words = item.key.split()
        # the eval word may follow an upper-case marker: PaddleClas' ``END valid top1: 0.0127``
        lead = 1 if len(words) > 2 and words[0].isupper() else 0
        if len(words) > lead + 1 and _EVAL_WORD.fullmatch(words[lead]) and words[lead].islower():
            return words[lead]
        if item.key:
            return ""
    return ""


def _take(item: _Item, fields: dict, metrics: dict, eval_line: bool, prefix: str) -> None:
    column = column_of(item.key) if item.key else None
    if item.in_parens and _norm(item.key) == "train" and "epoch_time_ms" in fields:
        # A time split into parts, "(train: x, val: y)": the training part is the epoch's time.
        fields["epoch_time_ms"] = _value("epoch_time_ms", item, "float")
        return
    if item.total is not None and not item.key and _TQDM_AFTER.match(item.text_after):
        # A tqdm bar's counter (``177/885 [03:14<10:29,  1.12it/s]``) counts the run's steps; a bar
        # described by its epoch (Lightning's ``Epoch 3:  25%|██▌  | 100/391 [00:05<00:15, ...]``)
        # is drawn again each epoch and counts that epoch's steps.  A line redrawn several times
        # holds several counters: the last is the latest.
        if "epoch" in fields:
            fields["step"] = _value("step", item, "int")
            fields["steps_per_epoch"] = Value("steps_per_epoch", "int", *item.total)
        else:
            fields["global_step"] = _value("global_step", item, "int")
        return
    if item.total is not None and not item.key and _BAR_AFTER.match(item.text_after):
        # A progress bar's counter (Keras' ``  4/102 [>......] - ETA: 8:10 - loss: 0.6791``) is the
        # step in the epoch; the figures after it are the epoch's running averages so far.
        _put(fields, "step", item)
        _put_total(fields, "steps_per_epoch", item)
        return
    if item.total is not None and item.bracketed and (column is None or column == "step"):
        # A progress pair in brackets, or after the epoch, with no counter key of its own
        # (``[1][ 10/196]``, ``| epoch 010  2000 / 8223``, ``subset  1000 / 1311``) is the step.
        _put(fields, "step", item)
        _put_total(fields, "steps_per_epoch", item)
        return
    if not item.key:
        return
    key_is_metric = is_metric_key(item.key)
    keyed_eval = bool(_KEYED_EVAL.match(item.key))
    if key_is_metric and (eval_line or keyed_eval) and column not in ("epoch", "step", "global_step"):
        name = _metric_name(item.key, prefix)
        metrics.setdefault(name, _value(f"metric_{name}", item, "float"))
        return
    if column is None and item.unit and _SAMPLE_RATE.match(item.unit):
        column = "samples_per_sec"
    if column in ("loss", "epoch", "step", "global_step") and (item.unit or "").lower() in _DURATION_MS:
        return  # a "cost" in seconds is a time, not a loss; "forward pass: 12 ms" is no epoch
    if column is None:
        if key_is_metric:  # kept for a line of metrics alone; a step line drops them
            name = _metric_name(item.key, "")
            metrics.setdefault(name, _value(f"metric_{name}", item, "float"))
        return
    if column == "epoch" and "." in item.text:
        # A fractional epoch (``"epoch": 0.107``) is progress through the run: the epoch it is in.
        fields.setdefault("epoch", _value("epoch", item, "epoch_progress"))
        return
    _put(fields, column, item)
    if item.total is not None:
        _put_total(fields, {"epoch": "total_epochs", "step": "steps_per_epoch"}.get(column, ""), item)


def _metric_name(key: str, prefix: str) -> str:
    """A metric's name as printed, spaces written as "_"; ``prefix`` (``val``) names them all, in
    lower case, Keras-style.  Words before a snake_case name are context, not part of it
    (``Validation Top_1_Accuracy`` is ``Top_1_Accuracy``; ``Validation Accuracy`` stays whole)."""
    words = key.split()
    if len(words) > 1 and "_" in words[-1] and _EVAL_WORD.fullmatch(words[-2]):
        key = words[-1]
    name = re.sub(r"\s+", "_", key.strip())
    if prefix:
        if words and words[0].isupper() and prefix in words[1:2]:
            name = "_".join(words[1:])  # "END valid top1": the marker is no part of the name
        name = name.lower()
        if not name.startswith(prefix):
            name = f"{prefix}_{name}"
    return name


def _put(fields: dict, column: str, item: _Item) -> None:
    if column in fields:
        return
    fields[column] = _value(column, item, _KINDS.get(column, "float"))


def _put_total(fields: dict, column: str, item: _Item) -> None:
    if column and column not in fields and item.total is not None:
        start, end = item.total
        fields[column] = Value(column, "int", start, end)


def _value(column: str, item: _Item, kind: str) -> Value:
    word = item.text.lower()
    if word in ("true", "false"):
        return Value(column, kind, constant=word == "true")
    if word in ("nan", "inf", "infinity"):
        return Value(column, kind, constant=float("nan") if word == "nan" else float("inf"))
    if kind == "bool":
        return Value(column, kind, constant=None)
    scale = 1.0
    unit = (item.unit or "").lower()
    if column.endswith("_time_ms"):
        unit = unit or ("s" if _norm(item.key) in _SECONDS_KEYS else "ms")
        scale = _DURATION_MS.get(unit, 1.0)
    elif unit == "%":
        scale = 0.01
    return Value(column, kind, item.start, item.end, scale=scale, negate=item.negate)


def _record(
    fields: dict, metrics: dict, eval_line: bool, items: list[_Item], train_line: bool
) -> Reading | None:
    """The table a line feeds, decided from what it holds (each rule where it is applied)."""
    if eval_line and metrics:
        # An eval line: its metrics, with the epoch (and progress, for running evaluations) it names.
        # A metric followed by its running average (timm's ``Acc@1:   0.000 (  0.076)``) is a
        # progress meter's reading, not the evaluation's result.
        if any(i.averaged and is_metric_key(i.key) for i in items):
            return None
        # Where some metrics carry an eval word of their own (``- Loss: 2.95 - val PSNR: 33.72``),
        # the others are training figures printed beside them.
        own = {k: v for k, v in metrics.items() if _EVAL_PART.search(k)}
        if own:
            # Of those training figures, a loss at a stated position (``Epoch nr: [100/100]  - Loss:
            # 2.95 - val PSNR: 33.72``) is the epoch's training record, the line's evals beside it.
            loss = next((v for k, v in metrics.items() if k not in own and column_of(k) == "loss"), None)
            if loss is not None and fields.keys() & {"epoch", "step", "global_step"}:
                placed = [v for k, v in fields.items() if k in _STEP_FIELDS]
                evals = [
                    Value(v.column, v.kind, v.start, v.end, scale=v.scale, negate=v.negate)
                    for v in own.values()
                ]
                step_loss = Value("loss", "float", loss.start, loss.end, scale=loss.scale, negate=loss.negate)
                return Reading("steps", ("evals",), tuple([*placed, step_loss, *evals]))
            metrics = own
        keep = {k: v for k, v in fields.items() if k in ("epoch", "step", "steps_per_epoch", "rank")}
        return Reading("evals", (), tuple([*keep.values(), *metrics.values()]))
    has_loss = "loss" in fields
    if has_loss and any(_norm(i.key).endswith("runtime") for i in items):
        return None  # Hugging Face's end-of-run dict ("train_runtime", "train_loss"): a summary
    if has_loss and not eval_line and (train_line or fields.keys() & _PLACED):
        # A loss with a counter, or a training word, is a step record; it may close an epoch.  A
        # throughput beside it is the epoch's when the record is printed once an epoch (DS-CNN's
        # ``epoch[1], iter[443], loss:0.74, mean_wps:12102.26 wavs/sec``); the epochs table keeps
        # it only then (``parsers.engine.tables``: a step's throughput repeats within its epoch).
        also = ("epochs",) if fields.keys() & {"epoch_time_ms", "samples_per_sec"} else ()
        if metrics and any(k.startswith("metric_") for k in (v.column for v in metrics.values())):
            keyed = {k: v for k, v in metrics.items() if _KEYED_EVAL.match(k)}
            if keyed:
                return Reading("steps", (*also, "evals"), tuple([*fields.values(), *keyed.values()]))
        return Reading("steps", also, tuple(fields.values()))
    if "epoch_time_ms" in fields:
        keep = ("epoch", "epoch_time_ms", "step_time_ms", "samples_per_sec", "rank", "total_epochs")
        values = [v for k, v in fields.items() if k in keep]
        if eval_line:
            # MindSpore's ``Eval epoch time: 244.540 ms``, printed beside ``Train epoch time``: an
            # epoch time on an eval line is the evaluation's time (the epochs table's eval_time_ms).
            values.append(Value("phase", "str", constant="eval"))
        return Reading("epochs", (), tuple(values))
    if metrics and not fields.keys() - _POSITIONS:
        # Metrics alone on a line (``acc: [1.0]; avg acc: [0.92]``, DeepSpeed's scores): an evaluation,
        # unless it reports the best one so far (``Best epoch:41 acc:93.73%``): a summary, counted before;
        # or says it is training's (Caffe's ``Train net output #0: accuracy = 0.75``).
        if any(_norm(i.key).split()[:1] == ["best"] for i in items) or train_line:
            return None
        return Reading("evals", (), tuple([*fields.values(), *metrics.values()]))
    if set(fields) == {"total_epochs"} and not any("_" in i.key for i in items):
        # "max: 30 epochs", "Train total epoch:  50000"; a config dump's ``max_epoch: 200`` is a setting.
        return Reading("context", (), tuple(fields.values()))
    if (
        "epoch" in fields
        and len(items) <= 3
        and not fields.keys() - {"epoch", "total_epochs", "steps_per_epoch"}
    ):
        # A header (``Epoch 45/49``): it sets the epoch of the lines after it.  An evaluation's
        # header (``***** Evaluating perplexity, Epoch 0/16 *****``) is an eval record without
        # metrics: it places the evaluation, and its "epoch 0" (before training) says nothing
        # about where the run counts its epochs from (``parsers.engine.epochs``).
        keep = {k: v for k, v in fields.items() if k in ("epoch", "total_epochs", "steps_per_epoch")}
        if eval_line:
            keep.pop("steps_per_epoch", None)
        return Reading("evals" if eval_line else "context", (), tuple(keep.values()))
    return None


# A loss record needs one of these (or a training word): a loss alone on a line is a summary.
_PLACED = {"epoch", "step", "global_step", "lr", "step_time_ms", "epoch_time_ms"}
# What a line of metrics alone may also print: where it stands.
_POSITIONS = {"epoch", "step", "global_step", "steps_per_epoch", "total_epochs", "rank"}


def _never(fields: tuple[str, ...]) -> str:
    """A regex that never matches, with the named groups the registry checks fields against."""
    return r"\b\B" + "".join(f"(?P<{f}>)" for f in fields)


_STEP_FIELDS = ("epoch", "step", "global_step", "loss", "lr", "step_time_ms", "loss_scale", "overflow")
_STEP_FIELDS += ("total_epochs", "steps_per_epoch")
_FIELD_KINDS = {f: _KINDS.get(f, "float") for f in _STEP_FIELDS}
_EPOCH_FIELDS = {
    "epoch": "int",
    "epoch_time_ms": "float",
    "step_time_ms": "float",
    "samples_per_sec": "float",
}
_GRAMMAR_PATTERNS: dict[tuple[str, tuple[str, ...]], LinePattern] = {}
for _table, _also, _fields in (
    ("steps", (), _FIELD_KINDS),
    ("steps", ("epochs",), {**_FIELD_KINDS, **_EPOCH_FIELDS}),
    ("steps", ("evals",), _FIELD_KINDS),
    ("steps", ("epochs", "evals"), {**_FIELD_KINDS, **_EPOCH_FIELDS}),
    ("evals", (), {"epoch": "int", "step": "int", "steps_per_epoch": "int", "total_epochs": "int"}),
    ("epochs", (), {**_EPOCH_FIELDS, "total_epochs": "int", "phase": "str"}),
    ("context", (), {"epoch": "int", "total_epochs": "int", "steps_per_epoch": "int"}),
):
    _GRAMMAR_PATTERNS[(_table, _also)] = LinePattern(
        name=f"grammar {'+'.join((_table, *_also))}",
        table=_table,
        also=_also,
        regex=_never(tuple(_fields)),
        fields=_fields,
        priority=PRIORITY_GENERIC,
    )


def grammar_pattern(reading: Reading) -> LinePattern:
    """The grammar's pattern for the tables a reading feeds (its regex never matches: the grammar reads)."""
    return _GRAMMAR_PATTERNS[(reading.table, reading.also)]


GRAMMAR = register(
    LogFormat(
        name="grammar",
        description="the general line grammar: keyed values of any line, read when no named format reads it",
        patterns=tuple(_GRAMMAR_PATTERNS.values()),
        epoch_base=None,
        generic=True,
        grammar=True,
        example="rank[0], iter[12], loss[3.21], overflow:False, loss_scale:256.0",
    )
)
