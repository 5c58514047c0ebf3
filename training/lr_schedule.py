"""Per-step learning rates, the model zoo's ``get_lr`` in plain numpy.

MindSpore optimizers take a tensor holding one learning rate per step and index it with
their own ``global_step``, which is saved in checkpoints; so a resumed run continues the
same schedule without slicing. Pure numpy, so schedules can be tested (and plotted by the
dashboard) without MindSpore.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LR_DECAY_MODES", "learning_rates"]

LR_DECAY_MODES = ("linear", "cosine", "steps", "poly")
_STEP_MILESTONES = ((0.3, 1.0), (0.6, 0.1), (0.8, 0.01), (math.inf, 0.001))


def learning_rates(
    *,
    lr_init: float,
    lr_max: float,
    lr_end: float,
    warmup_epochs: float,
    total_epochs: int,
    steps_per_epoch: int,
    lr_decay_mode: str,
) -> np.ndarray:
    """One float32 learning rate per training step.

    Warm-up rises linearly from ``lr_init`` to ``lr_max`` over ``warmup_epochs``; the rest
    decays from ``lr_max`` according to ``lr_decay_mode``: ``linear`` and ``cosine`` to
    ``lr_end``, ``poly`` quadratically to zero, ``steps`` by 10x at 30/60/80% of training.
    """
    if lr_decay_mode not in LR_DECAY_MODES:
        raise ValueError(f"lr_decay_mode must be one of {', '.join(LR_DECAY_MODES)}")
    total = total_epochs * steps_per_epoch
    warmup = min(int(warmup_epochs * steps_per_epoch), total)
    steps = np.arange(total, dtype=np.float64)
    rising = lr_init + (lr_max - lr_init) * (steps + 1) / max(warmup, 1)
    progress = (steps - warmup) / max(total - warmup, 1)
    decayed = _DECAYS[lr_decay_mode](progress, steps / total, lr_max, lr_end)
    return np.where(steps < warmup, rising, decayed).astype(np.float32)


def _linear(progress: np.ndarray, share: np.ndarray, lr_max: float, lr_end: float) -> np.ndarray:
    return lr_max - (lr_max - lr_end) * progress


def _cosine(progress: np.ndarray, share: np.ndarray, lr_max: float, lr_end: float) -> np.ndarray:
    return lr_end + (lr_max - lr_end) * 0.5 * (1.0 + np.cos(np.pi * progress))


def _poly(progress: np.ndarray, share: np.ndarray, lr_max: float, lr_end: float) -> np.ndarray:
    return lr_max * (1.0 - progress) ** 2


def _steps(progress: np.ndarray, share: np.ndarray, lr_max: float, lr_end: float) -> np.ndarray:
    """Milestones count over all steps, warm-up included, as in the model zoo."""
    factors = np.select(
        [share < edge for edge, _ in _STEP_MILESTONES], [factor for _, factor in _STEP_MILESTONES]
    )
    return lr_max * factors


# Each takes (progress after warm-up, share of all steps, lr_max, lr_end), both in [0, 1).
_DECAYS = {"linear": _linear, "cosine": _cosine, "poly": _poly, "steps": _steps}
