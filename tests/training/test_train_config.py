"""Config loading and overrides: what a user types in YAML or --set, checked before training."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from training.config import TrainConfig, config_from_hparams, find_config, load_config
from training.errors import ConfigError
from training.run_folder import HPARAMS_FILE, read_json


@pytest.fixture
def digits_yaml(tiny) -> Path:
    return tiny.config


def test_digits_config_loads_with_model_zoo_names(digits_yaml: Path) -> None:
    config = load_config(digits_yaml)
    assert config.net_name == "resnet18"
    assert config.class_num == 10
    assert config.dataset == "digits"
    assert config.lr_decay_mode == "cosine"


def test_overrides_are_typed_like_yaml(digits_yaml: Path) -> None:
    config = load_config(
        digits_yaml,
        overrides=["lr_max=0.4", "batch_size=64", "use_label_smooth=false", "data_path=/x/y"],
    )
    assert config.lr_max == 0.4
    assert config.batch_size == 64
    assert config.use_label_smooth is False
    assert config.data_path == "/x/y"


def test_integer_is_accepted_for_a_float_knob(digits_yaml: Path) -> None:
    assert load_config(digits_yaml, overrides=["lr_max=1"]).lr_max == 1.0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("lr_max=fast", "lr_max must be a number, got 'fast'"),
        ("batch_size=0", "batch_size must be > 0"),
        ("lr_decay_mode=exp", "lr_decay_mode must be one of linear, cosine, steps, poly"),
        ("net_name=resnet101", "net_name must be one of resnet18, resnet34, resnet50"),
        ("lrmax=0.1", "unknown config key(s) lrmax"),
        ("use_label_smooth=1", "use_label_smooth must be true or false"),
        ("val_ratio=1.5", "val_ratio must be between 0 and 1"),
        ("noequals", "expected key=value"),
    ],
)
def test_bad_override_names_the_key(digits_yaml: Path, override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(digits_yaml, overrides=[override])


def test_missing_required_key(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("net_name: resnet18\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"missing required config key.*class_num"):
        load_config(path)


def test_imagefolder_needs_a_data_path() -> None:
    with pytest.raises(ConfigError, match="data_path is required"):
        TrainConfig(class_num=3, dataset="imagefolder")


def test_unreadable_and_invalid_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("lr_max: [0.1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)


def test_embedded_config_is_found_by_name(digits_yaml: Path) -> None:
    assert find_config("digits") == digits_yaml
    assert find_config(None) == digits_yaml  # the default
    assert find_config(str(digits_yaml)) == digits_yaml
    with pytest.raises(ConfigError, match=r"config not found: mushrooms \(embedded configs: digits\)"):
        find_config("mushrooms")


@pytest.mark.training
def test_hparams_round_trip(tiny_run: Path) -> None:
    """hparams.json holds every config value; reading it back gives the same config."""
    hparams = read_json(tiny_run / HPARAMS_FILE)
    rebuilt = config_from_hparams(hparams, source="hparams.json")
    assert rebuilt.to_dict() == {key: hparams[key] for key in TrainConfig.field_names()}
    assert rebuilt.class_num == 3
    assert rebuilt.width_multiplier == 0.125
    assert rebuilt.data_path == hparams["data_path"]


@pytest.mark.training
def test_hparams_record_the_environment_and_data(tiny_run: Path, digits3: Path) -> None:
    import mindspore

    hparams = read_json(tiny_run / HPARAMS_FILE)
    assert hparams["mindspore_version"] == mindspore.__version__
    assert hparams["device_target"] == "CPU"
    assert hparams["device_count"] == 1
    assert hparams["dataset_path"] == str(digits3.resolve())
    assert (hparams["dataset_size"], hparams["train_size"], hparams["val_size"]) == (72, 54, 18)
    assert hparams["class_names"] == ["0", "1", "2"]
    assert hparams["seed"] == 1
    assert hparams["start_time"]
    assert hparams["steps_per_epoch"] == 3
    assert hparams["command"].startswith("python -m training --config ")
