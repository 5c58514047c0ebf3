"""Hyperparameters a log prints about itself, and telling them from metric dicts.

A bare ``{...}`` line is either ``model.eval()``'s result (``{'acc': 0.93}``) or a
config dump (``{'batch_size': 32, 'lr': 0.1, ...}``).  Metric dicts hold only
numbers under metric-like names; anything else is taken as hyperparameters.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["hparam_number", "in_key_value_dump", "is_metric_dict", "merge_hparams", "split_bare_dicts"]

_METRIC_NAME = re.compile(
    r"acc|top|loss|f1|map|auc|bleu|ppl|perplex|precision|recall|iou|psnr|ssim|err|dice|score"
    r"|rouge|wer|cer|mae|mse|rmse|hmean|fps|lp",
    re.IGNORECASE,
)


def hparam_number(value: Any) -> float | None:
    """A finite-or-NaN float from an int/float/numeric string, else None (bools excluded)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def is_metric_dict(values: dict[str, Any]) -> bool:
    return bool(values) and all(
        _METRIC_NAME.search(str(k)) and hparam_number(v) is not None for k, v in values.items()
    )


def split_bare_dicts(evals: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Move bare dict lines that are not metric dicts out of the evals records."""
    if not len(evals) or "bare" not in evals or "metrics" not in evals:
        return evals, []
    bare = evals["bare"].to_numpy(dtype=object, na_value=False).astype(bool)  # NaN/NA: not a bare dict
    metric = evals["metrics"].map(lambda d: isinstance(d, dict) and is_metric_dict(d))
    config = bare & ~metric
    hparams = [d for d in evals.loc[config, "metrics"] if isinstance(d, dict)]
    return evals[~config].reset_index(drop=True), hparams


def merge_hparams(rows: pd.DataFrame, extra: list[dict[str, Any]]) -> dict[str, Any]:
    """All printed hyperparameters, later lines winning, with plain JSON-able values."""
    merged: dict[str, Any] = {}
    for values in extra:
        merged.update(values)
    if len(rows):
        in_dump = in_key_value_dump(rows)
        for record, dumped in zip(rows.to_dict("records"), in_dump):
            if isinstance(record.get("hparams"), dict):
                merged.update(record["hparams"])
            elif record.get("key") is not None and dumped:
                merged[str(record["key"]).strip()] = _scalar(record.get("value"))
    return {str(k): _plain(v) for k, v in merged.items()}


KEY_VALUE_DUMP_MIN_LINES = 3


def in_key_value_dump(rows: pd.DataFrame) -> list[bool]:
    """``key: value`` lines count as a config dump only in runs of consecutive lines.

    One ``name: thing`` line on its own is as likely a message as a setting; a block
    of them, printed one after the other, is how scripts dump their config.
    """
    if "key" not in rows:
        return [False] * len(rows)
    is_kv = rows["key"].notna().to_numpy()
    lines = rows["line"].to_numpy()
    run_id = np.cumsum(np.concatenate([[True], (np.diff(lines) != 1) | ~is_kv[1:] | ~is_kv[:-1]]))
    sizes = pd.Series(run_id).map(pd.Series(run_id).value_counts()).to_numpy()
    return list(is_kv & (sizes >= KEY_VALUE_DUMP_MIN_LINES))


def _scalar(text: Any) -> Any:
    """``32`` -> 32, ``0.1`` -> 0.1, ``True`` -> True, ``'x'`` -> 'x', anything else stays text."""
    if not isinstance(text, str):
        return text
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text.strip()
    return value if isinstance(value, (int, float, bool, str, type(None))) else text.strip()


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
