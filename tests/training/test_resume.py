"""--resume: continue from the newest checkpoint and append to the same train.log."""

from __future__ import annotations

import shutil
from pathlib import Path

import mindspore as ms
import pytest

from training import resume
from training.cli import main
from training.errors import RunFolderError
from training.run_folder import HPARAMS_FILE, LOG_FILE, read_json

pytestmark = pytest.mark.training  # real MindSpore trainings on the CPU


@pytest.fixture(scope="module")
def resumed(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of the 2-epoch tiny run, resumed to 3 epochs; with its log from before."""
    run = Path(shutil.copytree(tiny_run, tmp_path_factory.mktemp("runs") / tiny_run.name))
    before = (run / LOG_FILE).read_text(encoding="utf-8")
    argv = ["--resume", str(run), "--set", "epoch_size=3", "--set", "keep_checkpoint_max=2"]
    assert main(argv) == 0
    return run, before


def test_resume_appends_to_the_same_log(resumed: tuple[Path, str]) -> None:
    run, before = resumed
    after = (run / LOG_FILE).read_text(encoding="utf-8")
    assert after.startswith(before)
    added = after[len(before) :].splitlines()
    assert added[0] == "Resuming from checkpoint checkpoints/resnet18-2_3.ckpt at epoch 3."
    steps = [line.split(",")[0] for line in added if line.startswith("epoch: ")]
    assert steps == ["epoch: 3 step: 1", "epoch: 3 step: 2", "epoch: 3 step: 3"]
    assert added[-1].startswith("Training finished, total time: ")
    assert not any(line.startswith("Start run training") for line in added)


def test_resume_restores_optimizer_state(resumed: tuple[Path, str], tiny) -> None:
    run, _ = resumed
    newest = ms.load_checkpoint(str(run / "checkpoints" / "resnet18-3_3.ckpt"))
    # global_step counts every step since the run began: restored, not restarted at 0.
    assert int(newest["global_step"].asnumpy()[0]) == 3 * tiny.steps


def test_only_the_newest_checkpoints_are_kept(resumed: tuple[Path, str]) -> None:
    run, _ = resumed
    kept = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert kept == ["resnet18-2_3.ckpt", "resnet18-3_3.ckpt"]


def test_resume_is_recorded_in_hparams(resumed: tuple[Path, str]) -> None:
    run, _ = resumed
    hparams = read_json(run / HPARAMS_FILE)
    assert (hparams["epoch_size"], hparams["keep_checkpoint_max"]) == (3, 2)
    assert [(r["checkpoint"], r["epoch"]) for r in hparams["resumes"]] == [
        ("checkpoints/resnet18-2_3.ckpt", 3)
    ]


def test_parser_sees_one_run_with_a_resume(resumed: tuple[Path, str], tiny, parsers_lib) -> None:
    run, _ = resumed
    log = parsers_lib.parse_log(run / LOG_FILE)
    assert log.steps["epoch"].tolist() == [e for e in (1, 2, 3) for _ in range(tiny.steps)]
    assert "resume" in set(log.events["kind"])


def test_resuming_a_finished_run_needs_more_epochs(tiny_run_copy: Path) -> None:
    with pytest.raises(RunFolderError, match="already trained all 2 epochs"):
        resume(tiny_run_copy)
