"""Hugging Face ``Trainer`` logs: the dicts it prints every ``logging_steps``.

    {'loss': 2.8485, 'grad_norm': 3.3857, 'learning_rate': 4.859e-05, 'epoch': 0.03}
    {'eval_loss': 1.892, 'eval_accuracy': 0.876, 'eval_runtime': 4.12, 'epoch': 0.5}
    {'train_runtime': 510.47, 'train_samples_per_second': 195.9, 'train_loss': 2.65, 'epoch': 1.0}

``epoch`` is fractional progress, so a record belongs to the epoch it is in (0.03 is
in epoch 1, 1.0 ends epoch 1).  The Trainer prints no step number; steps are counted.
"""

from __future__ import annotations

from parsers.formats._regex import LOSS, NUM
from parsers.registry import LinePattern, LogFormat, register

_OTHER_KEYS = r"(?:,\s*'[A-Za-z_]+':\s*[^,{}]+)*?"

HUGGINGFACE = register(
    LogFormat(
        name="huggingface",
        description="Hugging Face Trainer dicts: {'loss': ..., 'learning_rate': ..., 'epoch': 0.37}",
        patterns=(
            LinePattern(
                name="Trainer log",
                table="steps",
                regex=(
                    rf"\{{'loss':\s*(?P<loss>{LOSS}){_OTHER_KEYS}"
                    rf"(?:,\s*'learning_rate':\s*(?P<lr>{NUM})){_OTHER_KEYS}"
                    rf",\s*'epoch':\s*(?P<epoch>{NUM})\s*\}}"
                ),
                fields={"loss": "float", "lr": "float", "epoch": "epoch_progress"},
                priority=45,
            ),
            LinePattern(
                name="Trainer evaluate",
                table="evals",
                regex=r"(?P<metrics>\{'eval_[A-Za-z_]+':.*\})\s*$",
                fields={"metrics": "dict"},
                priority=45,
            ),
            LinePattern(
                name="Trainer train() result",
                table="events",
                regex=r"\{'train_runtime':\s*" + NUM,
                constants={"kind": "finish"},
                priority=45,
            ),
        ),
        # Its eval dicts also carry the position and the evaluation's own cost.
        eval_not_metrics=(
            "epoch",
            "step",
            "total_flos",
            "*_runtime",
            "*_samples_per_second",
            "*_steps_per_second",
            "*_samples",
        ),
        example="{'loss': 2.8485, 'grad_norm': 3.3857, 'learning_rate': 4.859e-05, 'epoch': 0.03}",
    )
)
