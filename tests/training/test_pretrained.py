"""--pretrained: a 3-class checkpoint starts a 2-class model; the head is skipped and reported."""

from __future__ import annotations

from pathlib import Path

import mindspore as ms
import numpy as np
import pytest

from training import log_lines, train
from training.checkpoints import load_pretrained
from training.config import load_config
from training.errors import CheckpointError
from training.resnet import resnet
from training.run_folder import HPARAMS_FILE, LOG_FILE, read_json

pytestmark = pytest.mark.training  # real MindSpore trainings on the CPU

HEAD = {
    "end_point.weight": "shape (3, 64) in checkpoint, (2, 64) in model",
    "end_point.bias": "shape (3,) in checkpoint, (2,) in model",
}


@pytest.fixture
def checkpoint(tiny_run: Path) -> Path:
    return tiny_run / "checkpoints" / "resnet18-2_3.ckpt"


def test_backbone_loads_and_head_is_reported(checkpoint: Path) -> None:
    net = resnet("resnet18", class_num=2, width_multiplier=0.125)
    head_before = net.end_point.weight.asnumpy().copy()
    report = load_pretrained(net, checkpoint)
    saved = ms.load_checkpoint(str(checkpoint))
    assert report.skipped == HEAD
    assert len(report.loaded) == len(net.parameters_dict()) - 2
    np.testing.assert_array_equal(net.conv1.weight.asnumpy(), saved["conv1.weight"].asnumpy())
    np.testing.assert_array_equal(
        net.layer4[1].bn2d.moving_mean.asnumpy(), saved["layer4.1.bn2d.moving_mean"].asnumpy()
    )
    np.testing.assert_array_equal(net.end_point.weight.asnumpy(), head_before)
    assert {"global_step", "moments.conv1.weight"} <= set(report.ignored)


def test_pretrained_run_logs_what_it_skipped(tiny, digits2: Path, checkpoint: Path, tmp_path: Path) -> None:
    config = load_config(tiny.config, overrides=tiny.overrides(digits2, class_num=2, epoch_size=1))
    result = train(config, config_name="digits", runs_dir=tmp_path, name="transfer", pretrained=checkpoint)
    assert result.status == "finished"
    assert result.pretrained.skipped == HEAD
    pattern = log_lines.template_regex(log_lines.PRETRAINED_LOADED)
    lines = (result.run_dir / LOG_FILE).read_text(encoding="utf-8").splitlines()
    found = [m for line in lines if (m := pattern.match(line))]
    assert len(found) == 1
    assert found[0]["skipped_count"] == "2"
    assert "end_point.weight: shape (3, 64) in checkpoint, (2, 64) in model" in found[0]["skipped"]
    assert read_json(result.run_dir / HPARAMS_FILE)["pretrained"] == str(checkpoint)


def test_missing_pretrained_checkpoint_fails_before_the_run(tiny, digits2: Path, tmp_path: Path) -> None:
    config = load_config(tiny.config, overrides=tiny.overrides(digits2, class_num=2))
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        train(
            config,
            config_name="digits",
            runs_dir=tmp_path / "runs",
            pretrained=tmp_path / "absent.ckpt",
        )
    assert not (tmp_path / "runs").exists()
