"""What an event file does not record, taken from the run's config: totals, batch size, epochs.

A text log announces its total epochs and usually prints its batch size and where each
epoch ends; a summary or event file records none of these, yet ETA needs the total,
throughput the batch size, and epoch times the epochs.  When the run's config files
(``hparams.json``, a YAML config, ``config.py``, read by the one reader the store uses)
name them, a run with event files takes them from there -- only where its logs did not
say.  Keys are matched on their last dotted part, any case.

* ``total_epochs`` from the epoch keys, else from the total steps over the steps per epoch;
* ``steps_per_epoch``: recorded steps without an ``epoch`` tag are numbered into epochs
  (epoch ``ceil(step / steps_per_epoch)``), which gives epoch times from the wall times,
  epochs done, the ETA and the finished status as for a log;
* ``total_steps``: a run whose last recorded step reached it has finished (a ``finish``
  event), the one thing an event file can say of its end.

MindSpore's ``SummaryCollector`` writes the same figures into its lineage file when the
training ends (``parsers.events.lineage``): they fill what the config did not say, and the
lineage itself is a ``finish`` event.

Steps that no epoch tag and no config number into epochs get a ``warning`` event saying
so: the run has no epoch times, throughput or ETA, and the user learns why.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from parsers.engine import computed_throughput
from parsers.events.tables import epochs_of_spans, spans_of_steps
from parsers.parse import ParsedLog
from parsers.schema import conform

__all__ = [
    "EPOCHS_UNKNOWN",
    "HPARAM_META",
    "LOG_CONFIG_FIELDS",
    "NO_EPOCHS",
    "config_meta",
    "log_config_meta",
    "with_config",
    "with_config_meta",
    "with_log_config",
]

# meta field -> the config keys that state it, first found wins
HPARAM_META: dict[str, tuple[str, ...]] = {
    "total_epochs": ("epoch_size", "epochs", "max_epochs", "num_epochs", "n_epochs", "total_epochs"),
    "batch_size": ("batch_size", "train_batch_size", "per_device_train_batch_size"),
    "steps_per_epoch": (
        "steps_per_epoch", "num_steps_per_epoch", "iters_per_epoch", "iterations_per_epoch",
        "batches_per_epoch", "num_update_steps_per_epoch",
    ),
    "total_steps": (
        "max_steps", "total_steps", "num_train_steps", "num_training_steps", "train_steps", "max_iters",
    ),
}  # fmt: skip
EPOCHS_UNKNOWN = f"no epoch tag, no {HPARAM_META['steps_per_epoch'][0]} in the config"
NO_EPOCHS = (
    "no epoch times: the recorded steps carry no epoch tag and the run's config names no steps "
    f"per epoch ({HPARAM_META['steps_per_epoch'][0]}), so throughput and ETA are unknown too"
)


def config_meta(meta: dict[str, Any], hparams: dict[str, Any]) -> dict[str, Any]:
    """``meta`` with each ``HPARAM_META`` field it lacks filled from ``hparams`` (positive integers),
    then from MindSpore's train lineage (``meta["lineage"]``, ``parsers.events.lineage``), and the
    total epochs from the total steps when the steps per epoch are known."""
    by_name = {str(k).rsplit(".", 1)[-1].lower(): v for k, v in hparams.items()}
    out = dict(meta)
    for field, names in HPARAM_META.items():
        if out.get(field) is not None:
            continue
        value = next((by_name[n] for n in names if n in by_name), None)
        number = _positive_int(value)
        if number is not None:
            out[field] = number
    for field, value in (out.get("lineage") or {}).items():  # what MindSpore recorded at the end
        if out.get(field) is None:
            out[field] = value
    if out.get("total_epochs") is None and out.get("total_steps") and out.get("steps_per_epoch"):
        out["total_epochs"] = math.ceil(out["total_steps"] / out["steps_per_epoch"])
    return out


# What a text log may leave unsaid and its run's config states: the ETA needs the total epochs
# (MindSpore's LossMonitor never prints it; the model zoo's YAML has ``epoch_size``), throughput
# the batch size.  Only these: a log's own epochs and steps are never renumbered from a config.
LOG_CONFIG_FIELDS = ("total_epochs", "batch_size")


def log_config_meta(meta: dict[str, Any], hparams: dict[str, Any]) -> dict[str, Any]:
    """A text log's ``meta`` with the ``LOG_CONFIG_FIELDS`` it lacks taken from its run's config
    (the total epochs also from the config's total steps over the log's steps per epoch); each
    field filled is named in ``meta["from_config"]``.  ``meta`` itself when the config fills none."""
    known = {field: meta.get(field) for field in HPARAM_META}
    filled = config_meta(known, hparams)
    taken = [f for f in LOG_CONFIG_FIELDS if meta.get(f) is None and filled.get(f) is not None]
    if not taken:
        return meta
    return {**meta, **{f: filled[f] for f in taken}, "from_config": taken}


def with_log_config(log: ParsedLog, hparams: dict[str, Any]) -> ParsedLog:
    """A text log's tables under ``log_config_meta``: samples/s computed where the config gave the
    batch size (``computed``, as from a batch size the log printed)."""
    meta = log_config_meta(log.meta, hparams)
    if meta is log.meta:
        return log
    epochs = log.epochs.copy()
    computed_throughput(epochs, meta)
    return dataclasses.replace(log, epochs=epochs, meta=meta)


def _positive_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() and number > 0 else None


def with_config(log: ParsedLog, hparams: dict[str, Any]) -> ParsedLog:
    """A run's tables with ``config_meta`` applied (see ``with_config_meta``)."""
    return with_config_meta(log, config_meta(log.meta, hparams))


def with_config_meta(log: ParsedLog, meta: dict[str, Any]) -> ParsedLog:
    """A run's tables under ``meta`` (its config's figures already in): epochs numbered from
    the steps per epoch where no epoch tag or log did, a ``finish`` event at the total steps,
    a ``warning`` when the steps have no epochs at all, samples/s where the batch size is
    known (``computed`` as for a log)."""
    steps, epochs, events = log.steps, log.epochs, log.events
    unnumbered = len(steps) and not len(epochs) and steps["epoch"].isna().all()
    per_epoch = meta.get("steps_per_epoch")
    extra: list[dict[str, Any]] = []
    if unnumbered and per_epoch:
        steps, epochs = _numbered(steps, per_epoch)
    elif unnumbered:
        extra.append({"kind": "warning", "message": NO_EPOCHS, "source": steps["source"].iloc[-1]})
        meta = {**meta, "epochs_unknown": EPOCHS_UNKNOWN}
    finished = bool(len(events)) and bool((events["kind"] == "finish").any())
    if len(steps) and not finished:
        extra += _finish(steps, meta)
    if extra:
        frames = [f for f in (events, pd.DataFrame(extra)) if len(f)]
        events = conform(pd.concat(frames, ignore_index=True), "events")
    epochs = epochs.copy()
    computed_throughput(epochs, meta)
    return dataclasses.replace(log, steps=steps, epochs=epochs, events=events, meta=meta)


def _finish(steps: pd.DataFrame, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """A ``finish`` event when the last recorded step reached the config's total steps, or when
    MindSpore's train lineage (written as the training ended) is there; else none."""
    line = int(steps["line"].max())
    last_step, total = steps["global_step"].max(), meta.get("total_steps")
    if total and not pd.isna(last_step) and last_step >= total:
        message = f"step {int(last_step)} of {total} (the total steps of the run's config)"
        return [{"kind": "finish", "line": line, "message": message, "source": "config"}]
    if meta.get("lineage"):
        epochs = meta["lineage"].get("total_epochs")
        message = f"training ended: MindSpore's train lineage, written at its end, says {epochs} epochs"
        return [{"kind": "finish", "line": line, "message": message, "source": "summary"}]
    return []


def _numbered(steps: pd.DataFrame, per_epoch: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Steps numbered into epochs of ``per_epoch`` steps, and the epochs their wall times give.

    The steps table keeps the time between recorded steps, not wall times: the wall times are
    rebuilt from it (the sum of the step times over an epoch is its time), then folded into
    spans as an ``epoch`` tag's are.  An epoch is finished when its last step was recorded."""
    steps = steps.copy()
    global_step = steps["global_step"].to_numpy(np.float64, na_value=np.nan)
    epoch = np.ceil(global_step / per_epoch)
    steps["epoch"] = pd.array(np.where(np.isfinite(epoch), epoch, np.nan), dtype="Float64").astype("Int64")
    steps["step"] = pd.array(global_step - (epoch - 1) * per_epoch, dtype="Float64").astype("Int64")
    gap = np.diff(global_step, prepend=np.nan)
    took = steps["step_time_ms"].to_numpy(np.float64, na_value=np.nan) * gap / 1000.0
    walls = steps.assign(wall_time=np.concatenate([[0.0], np.nancumsum(took[1:])]))
    spans = spans_of_steps(walls)
    if not len(spans):
        return steps, epochs_of_spans(spans)
    last = int(spans["epoch"].max())
    complete = last if np.nanmax(global_step) >= last * per_epoch else last - 1
    spans = spans[spans["epoch"] <= complete]
    sentinel = {"epoch": complete + 1, "first_wall": np.nan, "last_wall": np.nan, "steps": 0, "line": 0}
    spans = pd.concat([spans, pd.DataFrame([{**sentinel, "source": None}])], ignore_index=True)
    epochs = epochs_of_spans(spans)  # the sentinel makes the last complete epoch one that a later started
    return steps, conform(epochs[epochs["epoch"] <= complete].reset_index(drop=True), "epochs")
