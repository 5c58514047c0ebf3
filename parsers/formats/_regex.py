"""Regex building blocks shared by the format modules, so every format spells a
number, a loss or a prefix the same way."""

from __future__ import annotations

__all__ = ["BOOL", "END", "LOSS", "NUM", "TENSOR_VALUE", "UNIT", "WORD_START"]

# 12, 0.78, .5, 1e-05, -3.2E+4
NUM = r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?"
# A loss may also be printed as nan/inf by Python, numpy or MindSpore.
LOSS = rf"(?:{NUM}|[-+]?(?:nan|NaN|NAN|inf|Inf|INF|infinity|Infinity))"
# Tensor(shape=[], dtype=Float32, value= 0.78)  and  Tensor(shape=[1], dtype=Float32, value= [ 0.78])
TENSOR_VALUE = r"Tensor\(shape=\[[^\]]*\],\s*dtype=\w+,\s*value=\s*\[?\s*"
BOOL = r"(?:True|False|true|false)"
# Trailing whitespace only: a record is complete only when nothing follows it.
END = r"\s*$"
UNIT = r"(?:ms|s|sec|min|h)"
# Not preceded by a letter, digit, underscore or slash: "epoch" but not "val_epoch".
WORD_START = r"(?<![\w/])"
