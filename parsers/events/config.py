"""What an event file does not record, taken from the run's config: total epochs, batch size.

A text log announces its total epochs and usually prints its batch size; a summary or
event file records neither, yet ETA needs the one and throughput the other.  When the
run's config files (``hparams.json``, a YAML config, ``config.py``, read by the one
reader the store uses) name them, a run with event files takes them from there -- only
where its logs did not say.  Keys are matched on their last dotted part, any case.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from parsers.engine import computed_throughput
from parsers.parse import ParsedLog

__all__ = ["HPARAM_META", "config_meta", "with_config"]

# meta field -> the config keys that state it, first found wins
HPARAM_META: dict[str, tuple[str, ...]] = {
    "total_epochs": ("epoch_size", "epochs", "max_epochs", "num_epochs", "n_epochs", "total_epochs"),
    "batch_size": ("batch_size", "train_batch_size", "per_device_train_batch_size"),
}


def config_meta(meta: dict[str, Any], hparams: dict[str, Any]) -> dict[str, Any]:
    """``meta`` with each ``HPARAM_META`` field it lacks filled from ``hparams`` (positive integers)."""
    by_name = {str(k).rsplit(".", 1)[-1].lower(): v for k, v in hparams.items()}
    out = dict(meta)
    for field, names in HPARAM_META.items():
        if out.get(field) is not None:
            continue
        value = next((by_name[n] for n in names if n in by_name), None)
        number = _positive_int(value)
        if number is not None:
            out[field] = number
    return out


def _positive_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() and number > 0 else None


def with_config(log: ParsedLog, hparams: dict[str, Any]) -> ParsedLog:
    """A run's tables with ``config_meta`` applied: samples/s of its epochs where the batch size
    is now known (``computed`` as for a log), and the meta ETA reads the total epochs from."""
    meta = config_meta(log.meta, hparams)
    if meta == log.meta:
        return log
    epochs = log.epochs.copy()
    computed_throughput(epochs, meta)
    return dataclasses.replace(log, epochs=epochs, meta=meta)
