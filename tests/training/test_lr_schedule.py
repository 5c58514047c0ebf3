"""Learning-rate schedules: the model zoo's four decay modes with linear warm-up."""

from __future__ import annotations

import numpy as np
import pytest

from training.lr_schedule import LR_DECAY_MODES, learning_rates


def _lrs(mode: str, **overrides: float) -> np.ndarray:
    args = {
        "lr_init": 0.01,
        "lr_max": 0.1,
        "lr_end": 0.001,
        "warmup_epochs": 2,
        "total_epochs": 10,
        "steps_per_epoch": 10,
        "lr_decay_mode": mode,
        **overrides,
    }
    return learning_rates(**args)


@pytest.mark.parametrize("mode", LR_DECAY_MODES)
def test_one_rate_per_step_with_warmup_to_lr_max(mode: str) -> None:
    lrs = _lrs(mode)
    assert lrs.shape == (100,)
    assert lrs.dtype == np.float32
    assert lrs[0] == pytest.approx(0.01 + 0.09 / 20)
    assert lrs[19] == pytest.approx(0.1)
    assert np.all(np.diff(lrs[:20]) > 0)
    assert np.all(np.diff(lrs[20:]) <= 1e-9)  # never rises after warm-up


@pytest.mark.parametrize("mode", ["linear", "cosine"])
def test_linear_and_cosine_approach_lr_end(mode: str) -> None:
    assert _lrs(mode)[-1] == pytest.approx(0.001, abs=0.003)


def test_poly_decays_towards_zero() -> None:
    assert _lrs("poly")[-1] < 1e-4


def test_steps_decay_tenfold_at_30_60_80_percent() -> None:
    lrs = _lrs("steps", warmup_epochs=0)
    assert lrs[29] == pytest.approx(0.1)
    assert lrs[30] == pytest.approx(0.01)
    assert lrs[60] == pytest.approx(0.001)
    assert lrs[80] == pytest.approx(0.0001)


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="lr_decay_mode"):
        _lrs("exponential")
