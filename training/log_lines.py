"""Every line ``train.log`` carries, as format templates: the contract with ``parsers``.

The parser matches these exact shapes, and tests render each template and parse it back,
so emitter and parser agree by construction. Two of them are printed by MindSpore itself
(``LossMonitor``, ``TimeMonitor``); they are copied here so the whole log format is stated
in one place, and tests check that MindSpore still prints them this way.
"""

from __future__ import annotations

import re
import string

__all__ = [
    "CHECKPOINT_SAVED",
    "EPOCH_THROUGHPUT",
    "EPOCH_TIME",
    "EVAL_RESULT",
    "PRETRAINED_LOADED",
    "RUN_FINISHED",
    "RUN_INTERRUPTED",
    "RUN_RESUMED",
    "RUN_START",
    "STEP_LOSS",
    "TEMPLATES",
    "template_regex",
]

# Announced once, before the first step of a fresh run.
RUN_START = "Start run training, total epoch: {epochs}."
# MindSpore's LossMonitor, every step (per_print_times=1); ``step`` counts within the epoch.
STEP_LOSS = "epoch: {epoch} step: {step}, loss is {loss}"
# Our ThroughputMonitor, every epoch: the model zoo's ResNet line.
EPOCH_THROUGHPUT = (
    "epoch {epoch} cost time = {seconds:.3f}, train step num: {steps}, "
    "one step time: {step_ms:.3f} ms, train samples per second of cluster: {samples_per_sec:.1f}"
)
# MindSpore's TimeMonitor, every epoch; ``mode`` is "Train" during training.
EPOCH_TIME = "{mode} epoch time: {epoch_ms:5.3f} ms, per step time: {step_ms:5.3f} ms"
# Every eval_interval epochs and after the last one; ``metrics`` is a dict of plain floats.
EVAL_RESULT = "Eval result: epoch {epoch}, metrics: {metrics}"
# Each checkpoint file written; ``path`` is relative to the run folder.
CHECKPOINT_SAVED = "Checkpoint saved: {path}"
# --pretrained: ``skipped`` names the model parameters left at their initial values and why
# ("none" if all loaded); ``ignored`` counts checkpoint entries such as optimizer state.
PRETRAINED_LOADED = (
    "Loaded pretrained checkpoint {path}: {loaded} parameters loaded, "
    "{skipped_count} skipped ({skipped}), {ignored} checkpoint entries not in the model."
)
# --resume: ``epoch`` is the first epoch that will run now.
RUN_RESUMED = "Resuming from checkpoint {path} at epoch {epoch}."
# Closing lines: exactly one of these ends every run.
RUN_FINISHED = "Training finished, total time: {seconds:.1f} s."
RUN_INTERRUPTED = "Training interrupted by {signal} at epoch {epoch}."

TEMPLATES: dict[str, str] = {
    "start": RUN_START,
    "step": STEP_LOSS,
    "throughput": EPOCH_THROUGHPUT,
    "epoch_time": EPOCH_TIME,
    "eval": EVAL_RESULT,
    "checkpoint": CHECKPOINT_SAVED,
    "pretrained": PRETRAINED_LOADED,
    "resume": RUN_RESUMED,
    "finish": RUN_FINISHED,
    "interrupt": RUN_INTERRUPTED,
}


def template_regex(template: str) -> re.Pattern[str]:
    """A full-line regex for ``template``, one named group per field (for tests and tools).

    Fields match lazily up to the next literal text, so this checks the shape of a line
    rather than the type of each value.
    """
    parts = []
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(f"(?P<{field}>.*?)")
    return re.compile("".join(parts) + r"\Z")
