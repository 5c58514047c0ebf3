"""The CLI's edges: typed errors become ``Error: ...`` and exit 2, before any run folder exists."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from training.cli import main

pytestmark = pytest.mark.training  # needs MindSpore


@pytest.fixture
def tree(digits3: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(digits3, tmp_path / "data"))


def _run(tiny, tree: Path, runs: Path, *extra: str, class_num: int = 3) -> int:
    return main([*tiny.args(tree, class_num=class_num), "--runs-dir", str(runs), *extra])


def test_stray_folder_is_a_clear_error_and_no_run_starts(
    tiny, tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tree / ".ipynb_checkpoints").mkdir()
    assert _run(tiny, tree, tmp_path / "runs") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"Error: stray folder in image folder: {tree / '.ipynb_checkpoints'} "
        "(only one folder per class is allowed; move it out of the data folder)"
    ]
    assert not (tmp_path / "runs").exists()


def test_class_num_mismatch_is_a_clear_error(
    tiny, tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert _run(tiny, tree, tmp_path / "runs", class_num=9) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Error: class_num is 9 but {tree} has 3 class folders (0, 1, 2)")
    assert not (tmp_path / "runs").exists()


def test_bad_override_is_a_clear_error(
    tiny, tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert _run(tiny, tree, tmp_path / "runs", "--set", "lr_max=fast") == 2
    assert "lr_max must be a number, got 'fast'" in capsys.readouterr().err


def test_existing_run_name_is_refused(
    tiny, tree: Path, tiny_run: Path, capsys: pytest.CaptureFixture
) -> None:
    assert _run(tiny, tree, tiny_run.parent, "--name", tiny_run.name) == 2
    assert "run folder already exists" in capsys.readouterr().err


def test_resume_without_checkpoint_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--resume", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"Error: cannot read {tmp_path / 'hparams.json'}")


@pytest.mark.parametrize("argv", [["--help"], ["sweep", "--help"]])
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    assert "usage: python -m training" in capsys.readouterr().out
