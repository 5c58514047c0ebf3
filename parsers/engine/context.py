"""What assembling the next part of a log must know about the parts already assembled.

Some decisions depend on the whole log: whether the generic fallback format's records
count, whether a format counts epochs from 0, the steps per epoch, whether the step
counter is cumulative, the epoch in force at a line.  A ``Context`` carries what those
decisions are made from -- running counts, maxima and flags, never anything
proportional to the number of steps -- from one part of a log to the next, plus the
few records later lines can still change (the raw epoch records, recent step-time
keys) and running statistics for summaries.  A whole log is one part read after an
empty context (``parsers.engine.assembly``).

It round-trips through JSON (``to_json``/``from_json``) so the run store can keep it
beside the tables; NaN is written as JSON's ``NaN`` extension, which Python reads back.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

__all__ = ["Context", "ContextChanged", "Stream", "columns_from_json", "columns_to_json", "merge_facts"]

Columns = dict[str, np.ndarray]
# A stream of the cumulative-step check: [last epoch, last step, changed, not increasing].
Stream = list[Any]


class ContextChanged(Exception):
    """The new part changes a decision committed rows depend on: parse again with ``hinted()``.

    ``context`` is the context as far as the part was read, for ``context.hinted()``.
    """

    context: Context | None = None


@dataclass
class Context:
    """Running facts about the lines ``[1, lines_read]`` of one log (see module docstring)."""

    name: str
    rank: int | None
    lines_read: int = 0
    bytes_read: int = 0
    lines_skipped: int = 0
    lines_noise: int = 0
    skipped_examples: list[int] = field(default_factory=list)
    dropped: int = 0  # generic records dropped from the steps and evals tables
    # formats seen: step formats in first-seen order with their (kept) counts, eval formats
    step_names: list[str] = field(default_factory=list)
    step_counts: dict[str, int] = field(default_factory=dict)
    eval_counts: dict[str, int] = field(default_factory=dict)
    # decisions' inputs: table -> [generic rows seen, specific rows seen]; table -> fmt -> [rows, zero]
    generic: dict[str, list[bool]] = field(default_factory=dict)
    zeros: dict[str, dict[str, list[bool]]] = field(default_factory=dict)
    in_force: list[float] | None = None  # [line, epoch] of the last epoch statement
    steps: int = 0  # step rows committed
    loss_seen: bool = False
    lossless: bool = False  # step rows seen while no part had a loss column (not in the table)
    step_any: bool = False
    epoch_any: bool = False
    printed_spe: float = math.nan
    step_max: float = math.nan
    step_min: float = math.nan
    # [last epoch of a step row without a step counter, an epoch repeated or missing on such rows]
    epoch_rows: list[Any] = field(default_factory=lambda: [None, False])
    # fallback step rows seen [with no position, a global step, a step] (generic.drop_summaries)
    summaries: list[bool] = field(default_factory=lambda: [False, False, False])
    epoch_one_only: bool = True  # every committed row with a step is in epoch 1
    numbering: list[Any] | None = None  # [mode, steps per epoch, step base] of committed rows
    streams: dict[str, Stream] = field(default_factory=dict)
    ranks: list[float] = field(default_factory=list)  # distinct ranks printed in step rows
    rank_counts: dict[str, int] = field(default_factory=dict)
    has_step_times: bool = False
    step_times: dict[str, Any] = field(default_factory=dict)  # recent keys, see parsers.engine.times
    total: float = math.nan
    framework_version: Any = None
    device: Any = None
    hp_extra: dict[str, Any] = field(default_factory=dict)  # bare config dicts, merged in order
    hparams_raw: dict[str, Any] | None = None  # raw hparams records so far (columns_to_json)
    epochs_raw: dict[str, Any] | None = None  # raw epoch records so far (columns_to_json)
    stats: dict[str, Any] = field(default_factory=dict)  # running figures for summaries
    hints: dict[str, Any] | None = None  # facts from an aborted pass over the same log

    def copy(self) -> Context:
        """A copy to update; the raw epoch records are shared (they are replaced, never changed)."""
        shared = {"epochs_raw": self.epochs_raw, "hparams_raw": self.hparams_raw, "hints": self.hints}
        return dataclasses.replace(
            self,
            **{f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self) if f.name not in shared},
        )

    def to_json(self) -> str:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return json.dumps(data, default=_plain_number)

    @classmethod
    def from_json(cls, text: str) -> Context:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def facts(self) -> dict[str, Any]:
        """The decision facts of this context joined with its hints (from an earlier, aborted pass).

        Without hints these are the context's own objects, not copies: a rule that updates the
        context and then compares with the facts must copy what it compares with first.
        """
        own = {key: getattr(self, key) for key in _HINTED}
        return merge_facts(own, self.hints) if self.hints else own

    def hinted(self) -> Context:
        """A fresh context for parsing the same log again, knowing what this pass learned."""
        facts = {k: getattr(self, k) for k in _HINTED}
        if self.hints:
            facts = merge_facts(facts, self.hints)
        return Context(self.name, self.rank, hints=copy.deepcopy(facts))


# The facts decisions are made from; all only ever grow (flags turn on, maxima rise),
# so a pass started over with them as hints makes from the start the decisions the
# whole log leads to.
_HINTED = (
    "generic",
    "zeros",
    "step_any",
    "epoch_any",
    "printed_spe",
    "step_max",
    "step_min",
    "epoch_rows",
    "summaries",
    "loss_seen",
    "streams",
    "ranks",
    "has_step_times",
    "epochs_raw",
)


def merge_facts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The union of two sets of decision facts about one log."""
    out = dict(a)
    out["generic"] = _merge_flags(a.get("generic", {}), b.get("generic", {}))
    zeros = {t: dict(v) for t, v in a.get("zeros", {}).items()}
    for table, per_fmt in b.get("zeros", {}).items():
        zeros[table] = _merge_flags(zeros.get(table, {}), per_fmt)
    out["zeros"] = zeros
    for key in ("step_any", "epoch_any", "loss_seen", "has_step_times"):
        out[key] = bool(a.get(key)) or bool(b.get(key))
    for key in ("printed_spe", "step_max"):
        out[key] = float(np.fmax(a.get(key, math.nan), b.get(key, math.nan)))
    out["step_min"] = float(np.fmin(a.get("step_min", math.nan), b.get("step_min", math.nan)))
    rows_a, rows_b = a.get("epoch_rows", [None, False]), b.get("epoch_rows", [None, False])
    out["epoch_rows"] = [rows_a[0], bool(rows_a[1] or rows_b[1])]
    flags = (a.get("summaries") or [False] * 3, b.get("summaries") or [False] * 3)
    out["summaries"] = [bool(x or y) for x, y in zip(*flags)]
    streams = {k: list(v) for k, v in a.get("streams", {}).items()}
    for key, stream in b.get("streams", {}).items():
        mine = streams.get(key)
        streams[key] = (
            list(stream) if mine is None else [*mine[:2], mine[2] or stream[2], mine[3] or stream[3]]
        )
    out["streams"] = streams
    out["ranks"] = sorted(set(a.get("ranks", [])) | set(b.get("ranks", [])))
    out["epochs_raw"] = union_columns(a.get("epochs_raw"), b.get("epochs_raw"))
    return out


def _merge_flags(a: dict[str, list[bool]], b: dict[str, list[bool]]) -> dict[str, list[bool]]:
    out = {k: list(v) for k, v in a.items()}
    for key, flags in b.items():
        mine = out.get(key, [False] * len(flags))
        out[key] = [x or y for x, y in zip(mine, flags)]
    return out


def union_columns(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    """Serialized record sets joined, each line once (``b``'s rows for lines ``a`` lacks)."""
    if not a or not b:
        return a or b
    cols_a, codes_a, names_a = columns_from_json(a)
    cols_b, codes_b, names_b = columns_from_json(b)
    extra = ~np.isin(cols_b["line"], cols_a["line"])
    if not extra.any():
        return a
    names = list(dict.fromkeys([*names_a, *names_b]))
    remap = np.array([names.index(n) for n in names_b])
    keys = list(dict.fromkeys([*cols_a, *cols_b]))
    joined: Columns = {}
    for key in keys:
        left = cols_a.get(key, np.full(len(codes_a), None, dtype=object))
        right = cols_b.get(key, np.full(len(codes_b), None, dtype=object))[extra]
        joined[key] = (
            np.concatenate([left.astype(object), right.astype(object)])
            if (left.dtype == object or right.dtype == object)
            else np.concatenate([left, right])
        )
    order = np.argsort(joined["line"], kind="stable")
    codes = np.concatenate([codes_a, remap[codes_b[extra]]])[order]
    return columns_to_json({k: v[order] for k, v in joined.items()}, codes, names)


def columns_to_json(cols: Columns, codes: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Raw record columns as JSON-able lists, each with its numpy kind to restore it exactly."""
    out: dict[str, Any] = {}
    for key, values in cols.items():
        kind = values.dtype.kind if values.dtype.kind in "fiub" else "O"
        out[key] = [kind, [_plain_value(v) for v in values.tolist()]]
    return {"names": list(names), "codes": codes.astype(int).tolist(), "cols": out}


def columns_from_json(data: dict[str, Any]) -> tuple[Columns, np.ndarray, list[str]]:
    cols: Columns = {}
    for key, (kind, values) in data["cols"].items():
        if kind == "O":
            array = np.empty(len(values), dtype=object)
            for i, value in enumerate(values):
                array[i] = value
        else:
            array = np.asarray(values, dtype={"f": np.float64, "i": np.int64, "u": np.int64, "b": bool}[kind])
        cols[key] = array
    return cols, np.asarray(data["codes"], dtype=np.int16), list(data["names"])


def _plain_value(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    return value


def _plain_number(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
