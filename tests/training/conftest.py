"""Shared fixtures: tiny real MindSpore trainings on subsets of the digits, run once per session.

Each training is a real ``python -m training`` invocation (through ``training.cli.main``,
in-process to pay MindSpore's import once) on a few dozen digit images with an 8-channel
ResNet-18, so a run takes seconds. Tests that only read a run share the session's runs;
tests that change a run (resume) work on a copy.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from training.cli import main
from training.digits import write_digits

CONFIG = Path(__file__).resolve().parents[2] / "training" / "configs" / "digits.yaml"
TINY_EPOCHS = 2
TINY_STEPS = 3  # 3 classes x 18 training images = 54 -> 3 batches of 16 (remainder dropped)


@dataclasses.dataclass(frozen=True)
class Tiny:
    """The shape of the tiny runs, for tests to assert against (test modules import nothing
    from here: without ``__init__.py`` files, fixtures are the way to share)."""

    config: Path
    epochs: int
    steps: int
    overrides: Callable[..., list[str]]
    args: Callable[..., list[str]]


@pytest.fixture(scope="session")
def tiny() -> Tiny:
    return Tiny(
        config=CONFIG,
        epochs=TINY_EPOCHS,
        steps=TINY_STEPS,
        overrides=_tiny_overrides,
        args=_tiny_args,
    )


def _tiny_overrides(data: Path, *, class_num: int, **overrides: object) -> list[str]:
    """``key=value`` overrides turning the digits config into a tiny, fast run on ``data``."""
    values = {
        "dataset": "imagefolder",
        "data_path": str(data),
        "class_num": class_num,
        "val_ratio": 0.25,
        "width_multiplier": 0.125,
        "image_size": 16,
        "batch_size": 16,
        "epoch_size": TINY_EPOCHS,
        "eval_interval": 1,
        "save_checkpoint_epochs": 1,
        "warmup_epochs": 0,
        **overrides,
    }
    return [f"{key}={value}" for key, value in values.items()]


def _tiny_args(data: Path, *, class_num: int, **overrides: object) -> list[str]:
    """The same as CLI arguments: ``--config digits.yaml --set key=value ...``."""
    sets = _tiny_overrides(data, class_num=class_num, **overrides)
    return ["--config", str(CONFIG), *(arg for item in sets for arg in ("--set", item))]


@pytest.fixture
def parsers_lib():
    """The ``parsers`` package; skips only while it does not exist yet (never on a broken one)."""
    try:
        import parsers
    except ModuleNotFoundError as exc:
        if exc.name != "parsers":
            raise
        pytest.skip("the parsers package has not landed yet")
    return parsers


@pytest.fixture(scope="session")
def digits3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 images of each of the digits 0, 1, 2 as an ImageFolder tree."""
    return write_digits(tmp_path_factory.mktemp("data") / "digits3", per_class=24, classes=3)


@pytest.fixture(scope="session")
def digits2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 images of each of the digits 0 and 1: a 2-class set for transfer learning."""
    return write_digits(tmp_path_factory.mktemp("data") / "digits2", per_class=24, classes=2)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, digits3: Path) -> Path:
    """A finished 2-epoch, 3-class run folder (shared: do not modify it)."""
    runs = tmp_path_factory.mktemp("runs")
    code = main([*_tiny_args(digits3, class_num=3), "--runs-dir", str(runs), "--name", "tiny"])
    assert code == 0
    return runs / "tiny"


@pytest.fixture
def tiny_run_copy(tiny_run: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny run, for tests that append to it."""
    return Path(shutil.copytree(tiny_run, tmp_path / "runs" / tiny_run.name))
