"""Which way a metric improves, decided once from its name.

Logs print metric names, not directions: ``acc``, ``top_1_accuracy`` and ``bleu``
improve upwards, ``val_loss``, ``wer``, ``perplexity`` and ``eval_runtime`` downwards.
``compare`` (best eval metric, ``eval-drop``), the run store (a run's best metric),
the dashboard (convergence advisor) and ``parse-log watch`` (``eval-drop``) all ask
this module, so one run never has a "best" value that differs between two views.
"""

from __future__ import annotations

import re

__all__ = ["LOWER_IS_BETTER", "higher_is_better", "lower_is_better"]

# Losses, errors (err, error, wer, cer), regression errors (mae, mse, rmse), perplexity
# (ppl, perplexity) and durations (time, runtime, latency) fall as a model gets better.
LOWER_IS_BETTER = re.compile(r"loss|err|wer|cer|mae|mse|rmse|ppl|perplex|time|latency", re.IGNORECASE)


def lower_is_better(metric: str) -> bool:
    """True for loss/error/perplexity/time-like names, False for accuracy-like ones."""
    return bool(LOWER_IS_BETTER.search(metric))


def higher_is_better(metric: str) -> bool:
    """The opposite of ``lower_is_better``: accuracy, F1, BLEU, mAP, throughput..."""
    return not lower_is_better(metric)
