"""Training configuration: the model zoo's ResNet knobs, loaded from YAML and checked early.

Key names are those of the origin story's model-zoo config (``class_num``, ``lr_max``,
``save_checkpoint_epochs`` ...), so a user can carry values over unchanged. Every value is
type-checked when the config is loaded, and ``--set key=value`` overrides go through the
same checks, so a typo fails in a second with the key's name instead of an hour into a run.
No MindSpore needed here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from training._optional import require
from training.errors import ConfigError
from training.lr_schedule import LR_DECAY_MODES

__all__ = [
    "CONFIG_DIR",
    "DATASETS",
    "NET_NAMES",
    "TrainConfig",
    "config_from_hparams",
    "find_config",
    "load_config",
    "parse_assignment",
]

CONFIG_DIR = Path(__file__).parent / "configs"  # the embedded configs, shipped with the package
DEFAULT_CONFIG = "digits"
NET_NAMES = ("resnet18", "resnet34", "resnet50")
DATASETS = ("imagefolder", "digits")
MODE_NAMES = ("GRAPH", "PYNATIVE")
DEVICE_TARGETS = ("CPU", "GPU", "Ascend")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Every hyperparameter of a run; ``hparams.json`` records all of them."""

    net_name: str = "resnet50"
    width_multiplier: float = 1.0
    class_num: int
    # Data: an ImageFolder tree; ``digits`` writes scikit-learn's digits as one first.
    dataset: str = "imagefolder"
    data_path: str | None = None
    eval_data_path: str | None = None  # set: split by folders; unset: split by val_ratio
    val_ratio: float = 0.2
    split_seed: int = 0  # apart from ``seed`` so a seed sweep keeps the same val set
    image_size: int = 224
    num_parallel_workers: int = 2
    # Optimisation, as in the model zoo's ResNet config.
    batch_size: int = 32
    epoch_size: int = 90
    momentum: float = 0.9
    weight_decay: float = 1e-4
    loss_scale: float = 1024.0
    lr_init: float = 0.0
    lr_max: float = 0.1
    lr_end: float = 0.0
    warmup_epochs: float = 0.0
    lr_decay_mode: str = "cosine"
    use_label_smooth: bool = True
    label_smooth_factor: float = 0.1
    # Checkpoints and evaluation.
    save_checkpoint_epochs: int = 1
    keep_checkpoint_max: int = 5
    eval_interval: int = 1
    # Execution.
    seed: int = 1
    device_target: str = "CPU"
    mode_name: str = "GRAPH"

    def __post_init__(self) -> None:
        for check in _CHECKS:
            message = check(self)
            if message:
                raise ConfigError(message)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready mapping of every field."""
        return dataclasses.asdict(self)

    def with_overrides(self, values: Mapping[str, Any]) -> TrainConfig:
        """A copy with ``values`` applied, type-checked like a config file."""
        return TrainConfig.from_mapping({**self.to_dict(), **values}, source="override")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str) -> TrainConfig:
        """Build from a parsed YAML/JSON mapping; unknown keys and wrong types raise ConfigError.

        ``source`` prefixes error messages. An ``hparams.json`` also records the environment;
        read it with :func:`config_from_hparams`, which drops those keys first.
        """
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(
                f"{source}: unknown config key(s) {', '.join(unknown)}; known keys: {', '.join(known)}"
            )
        missing = [n for n, f in known.items() if f.default is dataclasses.MISSING and n not in data]
        if missing:
            raise ConfigError(f"{source}: missing required config key(s) {', '.join(missing)}")
        values = {key: _coerce(key, value, known[key].type, source) for key, value in data.items()}
        try:
            return cls(**values)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None


def find_config(name_or_path: str | None = None) -> Path:
    """A config file by path, or an embedded one by name (``digits``, also the default).

    Names let an installed package train without a checkout: ``--config digits``.
    """
    name_or_path = name_or_path or DEFAULT_CONFIG
    if Path(name_or_path).is_file():
        return Path(name_or_path)
    embedded = CONFIG_DIR / f"{name_or_path}.yaml"
    if embedded.is_file():
        return embedded
    names = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
    raise ConfigError(f"config not found: {name_or_path} (embedded configs: {names})")


def load_config(path: str | Path, *, overrides: Iterable[str] = ()) -> TrainConfig:
    """Read a YAML config and apply ``key=value`` overrides (values parsed as YAML scalars)."""
    path = Path(path)
    yaml = _yaml()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {_first_line(exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping of key: value lines")
    data.update(dict(parse_assignment(item) for item in overrides))
    return TrainConfig.from_mapping(data, source=str(path))


def config_from_hparams(hparams: Mapping[str, Any], *, source: str) -> TrainConfig:
    """Rebuild the config recorded in an ``hparams.json`` (which holds extra, non-config keys)."""
    fields = set(TrainConfig.field_names())
    return TrainConfig.from_mapping({k: v for k, v in hparams.items() if k in fields}, source=source)


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"lr_max=0.4"`` -> ``("lr_max", 0.4)``; the value is read as a YAML scalar."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"expected key=value, got {text!r}")
    yaml = _yaml()
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot read the value in {text!r}: {_first_line(exc)}") from exc
    return key.strip(), value


def _yaml():
    return require("yaml", purpose="reading configs", package="PyYAML")


_TYPE_NAMES = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string"}


def _coerce(key: str, value: Any, annotation: str, source: str) -> Any:
    """Check ``value`` against the field's annotation (a string, as annotations are postponed)."""
    optional = annotation.endswith("| None")
    base = annotation.removesuffix("| None").strip()
    if value is None and optional:
        return None
    if base == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value).__name__ == base:
        return value
    return _type_error(key, value, base, source)


def _type_error(key: str, value: Any, base: str, source: str) -> Any:
    raise ConfigError(f"{source}: {key} must be {_TYPE_NAMES[base]}, got {value!r}")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _choice(name: str, options: tuple[str, ...]):
    def check(config: TrainConfig) -> str | None:
        value = getattr(config, name)
        return None if value in options else f"{name} must be one of {', '.join(options)}, got {value!r}"

    return check


def _positive(name: str, *, allow_zero: bool = False):
    def check(config: TrainConfig) -> str | None:
        value = getattr(config, name)
        ok = value >= 0 if allow_zero else value > 0
        return None if ok else f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}"

    return check


def _check_split(config: TrainConfig) -> str | None:
    if config.eval_data_path is None and not 0.0 < config.val_ratio < 1.0:
        return f"val_ratio must be between 0 and 1 (exclusive), got {config.val_ratio!r}"
    return None


def _check_data_path(config: TrainConfig) -> str | None:
    if config.dataset == "imagefolder" and not config.data_path:
        return "data_path is required when dataset is imagefolder (one folder per class)"
    return None


def _check_class_num(config: TrainConfig) -> str | None:
    return None if config.class_num >= 2 else f"class_num must be at least 2, got {config.class_num}"


def _check_smoothing(config: TrainConfig) -> str | None:
    if 0.0 <= config.label_smooth_factor < 1.0:
        return None
    return f"label_smooth_factor must be in [0, 1), got {config.label_smooth_factor!r}"


_CHECKS = (
    _choice("net_name", NET_NAMES),
    _choice("dataset", DATASETS),
    _choice("lr_decay_mode", LR_DECAY_MODES),
    _choice("mode_name", MODE_NAMES),
    _choice("device_target", DEVICE_TARGETS),
    _check_class_num,
    _check_data_path,
    _check_split,
    _check_smoothing,
    *(
        _positive(n)
        for n in (
            "width_multiplier",
            "image_size",
            "batch_size",
            "epoch_size",
            "loss_scale",
            "save_checkpoint_epochs",
            "keep_checkpoint_max",
            "eval_interval",
            "num_parallel_workers",
        )
    ),
    *(
        _positive(n, allow_zero=True)
        for n in ("lr_init", "lr_max", "lr_end", "warmup_epochs", "weight_decay", "momentum")
    ),
)
