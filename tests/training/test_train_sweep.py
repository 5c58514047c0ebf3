"""Sweeps: every grid combination becomes a sibling run folder, all checked before the first."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.cli import main
from training.errors import ConfigError
from training.run_folder import HPARAMS_FILE, read_json
from training.sweep import grid_points, parse_grid, point_label


def test_grid_values_are_typed_and_combined_in_order() -> None:
    grid = parse_grid(["lr_max=0.1,0.4", "batch_size=32,64", "lr_decay_mode=cosine"])
    assert grid == {"lr_max": [0.1, 0.4], "batch_size": [32, 64], "lr_decay_mode": ["cosine"]}
    points = grid_points(grid)
    assert [(p["lr_max"], p["batch_size"]) for p in points] == [
        (0.1, 32),
        (0.1, 64),
        (0.4, 32),
        (0.4, 64),
    ]
    assert point_label(points[1]) == "lr_max=0.1-batch_size=64-lr_decay_mode=cosine"


@pytest.mark.parametrize("bad", ["lr_max", "lr_max=", "=0.1"])
def test_malformed_grid_is_rejected(bad: str) -> None:
    with pytest.raises(ConfigError, match="expected --grid key=v1,v2"):
        parse_grid([bad])


def test_repeated_grid_key_is_rejected() -> None:
    with pytest.raises(ConfigError, match="given twice"):
        parse_grid(["lr_max=0.1", "lr_max=0.2"])


@pytest.mark.training
def test_sweep_runs_every_point_into_sibling_folders(tiny, digits3: Path, tmp_path: Path) -> None:
    # PYNATIVE: no graph to compile per run, and the mode is exercised too.
    args = tiny.args(digits3, class_num=3, epoch_size=1, mode_name="PYNATIVE")
    assert (
        main(
            [
                "sweep",
                *args,
                "--grid",
                "lr_max=0.05,0.2",
                "--runs-dir",
                str(tmp_path),
                "--name",
                "sw",
            ]
        )
        == 0
    )
    runs = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert runs == ["sw-lr_max=0.05", "sw-lr_max=0.2"]
    for name, lr_max in zip(runs, (0.05, 0.2)):
        hparams = read_json(tmp_path / name / HPARAMS_FILE)
        assert hparams["lr_max"] == lr_max
        assert hparams["sweep"] == {"name": "sw", "point": {"lr_max": lr_max}}
        assert (tmp_path / name / "metrics.json").is_file()


def test_every_point_is_checked_before_the_first_run(
    tiny, digits3: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = tiny.args(digits3, class_num=3)
    code = main(["sweep", *args, "--grid", "seed=1,lots", "--runs-dir", str(tmp_path)])
    assert code == 2
    assert "seed must be an integer, got 'lots'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_key_in_both_set_and_grid_is_rejected(
    tiny, digits3: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = tiny.args(digits3, class_num=3)
    assert main(["sweep", *args, "--grid", "epoch_size=1,2", "--runs-dir", str(tmp_path)]) == 2
    assert "epoch_size given to both --set and --grid" in capsys.readouterr().err
