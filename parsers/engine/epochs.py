"""Which epoch a record is in: formats' epoch bases, and the epoch in force at a line.

Tables are 1-based in epochs.  A format that is unsure (``LogFormat.epoch_base`` None,
e.g. model-zoo scripts imitating LossMonitor) counts from 0 when any of its records
in a table says epoch 0 -- a whole-log decision, taken by ``decide_epoch_bases`` from
the context's running flags.  A record that states no epoch is in the epoch stated
last before it (``epoch_at`` over a ``Timeline``, which a part starts from the last
statement of the parts before it).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from parsers.columns import Columns
from parsers.engine.context import Context, ContextChanged
from parsers.engine.records import SmallTables
from parsers.registry import LogFormat

__all__ = [
    "COUNTER_FLAGS",
    "EPOCH_TABLES",
    "TIMELINE_TABLES",
    "Bases",
    "Timeline",
    "decide_epoch_bases",
    "epoch_at",
    "epoch_timeline",
    "frame_epochs",
    "last_statement",
    "own_or_context_epoch",
    "shifted_epochs",
    "zero_flag",
]

# Raw tables whose records state the epoch in force at their line, and all that print epochs.
TIMELINE_TABLES = ("context", "epochs", "evals")
EPOCH_TABLES = ("steps", *TIMELINE_TABLES, "step_times")

# The ``Context.zeros`` entry of formats whose run-wide step counter counts from 0 by epoch-end
# arithmetic (``_epoch_ends_from_zero``), read by ``parsers.engine.numbering``.
COUNTER_FLAGS = "step_counter"
Bases = Mapping[str, int]  # format name -> the epoch it counts first (unlisted: 1)
Timeline = list[tuple[np.ndarray, np.ndarray]]  # (lines, epochs) sources, each in line order


def decide_epoch_bases(
    ctx: Context,
    facts: dict,
    steps: tuple[Columns, np.ndarray, list[str]],
    small: SmallTables,
    formats: dict[str, LogFormat],
) -> dict[str, Bases]:
    """Per raw table, each format's epoch base over the log so far (0 once it printed an epoch 0).

    Raises ``ContextChanged`` when an unsure format prints its first epoch 0 after rows
    counted from 1 were committed.
    """
    fixed = {name: fmt.epoch_base for name, fmt in formats.items() if fmt.epoch_base is not None}
    unsure = [name for name, fmt in formats.items() if fmt.epoch_base is None]
    now = _zeros_printed(unsure, steps, small, ctx.streams.get("all")) if unsure else {}
    bases: dict[str, Bases] = {}
    for table in EPOCH_TABLES:
        seen = ctx.zeros.setdefault(table, {})
        # A copy: without hints the facts are the context itself, so the hint would be this part's
        # own flag, set just below, and an epoch 0 after committed epochs would never restart.
        hinted = dict(facts["zeros"].get(table, {}))
        for name, (rows, zero) in now.get(table, {}).items():
            old = seen.get(name, [False, False])
            seen[name] = [old[0] or rows, old[1] or zero]  # before raising: the restarted pass's hint
            if zero and old[0] and not old[1] and not zero_flag(hinted, name):
                raise ContextChanged(f"{table}: format {name} printed epoch 0 after epochs counted from 1")
        decided = {name: 0 if zero_flag(seen, name) or zero_flag(hinted, name) else 1 for name in unsure}
        bases[table] = {**fixed, **decided}
    counted = ctx.zeros.setdefault(COUNTER_FLAGS, {})
    for name, (rows, zero) in now.get(COUNTER_FLAGS, {}).items():
        old = counted.get(name, [False, False])
        counted[name] = [old[0] or rows, old[1] or zero]  # numbering reads it (its own check re-parses)
    return bases


def zero_flag(flags: dict[str, list[bool]], name: str) -> bool:
    """Whether ``flags`` (a ``Context.zeros`` entry) say format ``name`` counts from 0."""
    return name in flags and flags[name][1]


def _zeros_printed(
    unsure: list[str], steps, small, prior: list | None = None
) -> dict[str, dict[str, tuple[bool, bool]]]:
    """Per table and unsure format in this part: (has rows, printed an epoch 0, or counts from 0 by
    ``_epoch_ends_from_zero``); ``prior`` is the last step record before this part (a ``Stream``)."""
    out: dict[str, dict[str, tuple[bool, bool]]] = {}
    cols, codes, names = steps
    if "epoch" in cols and len(codes):
        epoch = cols["epoch"]
        counter = _counter(cols)
        for code, name in enumerate(names):
            if name in unsure:
                mask = codes == code
                own = epoch[mask]
                zero, counted = bool((own == 0).any()), False
                if counter is not None:
                    ends = _epoch_ends_from_zero(own, counter[mask], prior)
                    zero, counted = zero or ends[0], ends[1]
                out.setdefault("steps", {})[name] = (bool(len(own)), zero)
                out.setdefault(COUNTER_FLAGS, {})[name] = (bool(len(own)), counted)
    for table in EPOCH_TABLES[1:]:
        if small.has(table, "epoch"):
            frame = small[table]
            zero = pd.to_numeric(frame["epoch"], errors="coerce").to_numpy(np.float64, na_value=np.nan) == 0
            if table == "evals":
                zero &= _measured(frame)
            for name in set(frame["format"].tolist()) & set(unsure):
                mask = (frame["format"] == name).to_numpy()
                counts_from_zero = bool(zero[mask].any())
                if table == "epochs" and "loss" in frame and frame["loss"][mask].notna().any():
                    # Its epoch records are step lines too (DS-CNN's throughput beside the loss):
                    # the epoch they print counts as the steps' does, arithmetic included.
                    counts_from_zero |= out.get("steps", {}).get(name, (False, False))[1]
                out.setdefault(table, {})[name] = (True, counts_from_zero)
    return out


def _counter(cols) -> np.ndarray | None:
    """Each step row's counter as the step numbering fills it: the step, else the printed global step."""
    step, printed = cols.get("step"), cols.get("global_step")
    if step is None or printed is None:
        return printed if step is None else step
    return np.where(np.isnan(step), printed, step)


def _epoch_ends_from_zero(epoch: np.ndarray, counter: np.ndarray, prior: list | None) -> tuple[bool, bool]:
    """Records printed once an epoch, at its end, with a run-wide counter, that say their epoch
    counts from 0 by arithmetic: ``epoch[1], iter[443]`` then ``epoch[2], iter[665]``.

    Consecutive records one epoch apart whose counters differ by the same ``n`` (222 steps an
    epoch) stand at epoch ends; a counter at ``(epoch + 1) x n`` or one less (443 = 2 x 222 - 1)
    says the printed epoch is the 0-based index (the model zoo's ``real_epoch = me_step //
    steps_per_epoch``), where a 1-based one reads ``epoch x n`` there.  Two records at least are
    needed (the last of the parts before counts as one); records more often than once an epoch
    never qualify.  Returns (the epoch counts from 0, the counter does too: one less than the
    epoch end); the flags only ever turn on, like a printed epoch 0.
    """
    known = ~(np.isnan(epoch) | np.isnan(counter))
    epoch, counter = epoch[known], counter[known]
    if prior and prior[0] is not None and prior[1] is not None and len(epoch):
        epoch, counter = np.concatenate([[prior[0]], epoch]), np.concatenate([[prior[1]], counter])
    if len(epoch) < 2 or not (np.diff(epoch) == 1).all():
        return False, False
    gaps = np.diff(counter)
    per_epoch = gaps[0]
    if per_epoch < 2 or not (gaps == per_epoch).all():
        return False, False
    ends = (epoch + 1) * per_epoch
    before = bool((counter + 1 == ends).all())
    return before or bool((counter == ends).all()), before


def _measured(frame: pd.DataFrame) -> np.ndarray:
    """Eval records that hold a measurement; an evaluation's header (``Evaluating ..., Epoch 0/16``,
    run before training) holds none, and its epoch 0 does not make a log count from 0."""
    held = np.zeros(len(frame), bool)
    for col in frame.columns:
        if col.startswith("metric_") or col in ("metrics", "metric"):
            held |= frame[col].notna().to_numpy(bool)
    return held


def shifted_epochs(
    epoch: np.ndarray | None, codes: np.ndarray, names: list[str], n: int, bases: Bases
) -> np.ndarray:
    """Epochs 1-based: the rows of formats counting from 0 are shifted by one."""
    if epoch is None:
        return np.full(n, np.nan)
    shifts = np.array([1 - bases.get(name, 1) for name in names])
    if not shifts.any():  # every format counts from 1 (or the part has no rows)
        return epoch
    return epoch + shifts[codes]


def frame_epochs(frame: pd.DataFrame, bases: Bases) -> np.ndarray:
    """The 1-based epoch each row of a small raw table states (NaN where none)."""
    if "epoch" not in frame or not len(frame):
        return np.full(len(frame), np.nan)
    codes, names = pd.factorize(frame["format"])
    epoch = pd.to_numeric(frame["epoch"], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    return shifted_epochs(epoch, codes.astype(np.int16), list(names), len(frame), bases)


def epoch_timeline(
    in_force: list[float] | None,
    step_lines: np.ndarray,
    step_epochs: np.ndarray,
    small: SmallTables,
    bases: dict[str, Bases],
) -> Timeline:
    """Sources of (line, epoch) pairs in line order: the statement in force, the steps, small tables.

    Kept as separate sorted sources rather than one merged array: merging would copy
    and sort millions of step lines to place a few hundred epoch-time lines.
    """
    sources: Timeline = []
    if in_force is not None:
        sources.append((np.array([int(in_force[0])]), np.array([float(in_force[1])])))
    sources.append((step_lines, step_epochs))
    for name in TIMELINE_TABLES:
        if small.has(name, "epoch"):
            frame = small[name]
            sources.append((frame["line"].to_numpy(), frame_epochs(frame, bases[name])))
    timeline = []
    for lines, epochs in sources:
        known = ~np.isnan(epochs)
        if not known.all():
            lines, epochs = lines[known], epochs[known]
        if len(lines):
            timeline.append((lines, epochs))
    return timeline


def epoch_at(lines: np.ndarray, timeline: Timeline) -> np.ndarray:
    """Epoch in force at each line: the last one stated at or before it (NaN before any)."""
    best_line = np.full(len(lines), -1)
    best_epoch = np.full(len(lines), np.nan)
    for known_lines, known_epochs in timeline:
        # -1: before the source's first line; it indexes the last (a source is never empty), masked
        pos = np.searchsorted(known_lines, lines, side="right") - 1
        cand_line = np.where(pos >= 0, known_lines[pos], -1)
        better = cand_line > best_line
        best_line = np.where(better, cand_line, best_line)
        best_epoch = np.where(better, known_epochs[pos], best_epoch)
    return best_epoch


def last_statement(timeline: Timeline) -> list[float] | None:
    """The (line, epoch) a later line sees last, with ``epoch_at``'s tie rule (first source wins)."""
    best: list[float] | None = None
    for lines, epochs in timeline:
        if best is None or lines[-1] > best[0]:
            best = [int(lines[-1]), float(epochs[-1])]
    return best


def own_or_context_epoch(frame: pd.DataFrame, timeline: Timeline, bases: Bases) -> np.ndarray:
    """The epoch a row states, else the one in force at its line."""
    own = frame_epochs(frame, bases)
    if np.isnan(own).any():
        own = np.where(np.isnan(own), epoch_at(frame["line"].to_numpy(np.int64), timeline), own)
    return own
