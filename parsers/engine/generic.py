"""The generic-record rule: records of a fallback format count only where no specific format has any.

A ``generic`` format (``LogFormat.generic``) reads any ``epoch ... loss ...`` line; when
a specific format also found records in a table, the generic ones are its misreadings
and are dropped (and counted as skipped lines).  The decision is per table and over
the whole log: ``drops_generic`` is the rule, ``decide_generic`` applies it to the
log so far from the context's running flags.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from parsers.columns import Columns
from parsers.engine.context import Context, ContextChanged
from parsers.engine.records import SmallTables
from parsers.registry import LogFormat

__all__ = [
    "decide_generic",
    "drop_generic",
    "drop_summaries",
    "drops_generic",
    "generic_names",
    "without_generic",
]


def drops_generic(has_generic: bool, has_specific: bool) -> bool:
    """The rule itself: generic records are dropped exactly when specific ones exist too."""
    return has_generic and has_specific


def generic_names(formats: dict[str, LogFormat]) -> set[str]:
    return {name for name, fmt in formats.items() if fmt.generic}


def decide_generic(ctx: Context, facts: dict, table: str, has_generic: bool, has_specific: bool) -> bool:
    """Whether ``table``'s generic records are dropped, over the log so far (and the hints).

    Raises ``ContextChanged`` when this part turns the decision after generic records
    were already committed as kept.
    """
    own = ctx.generic.get(table, [False, False])
    hint = facts["generic"].get(table, own)
    flags = [own[0] or has_generic, own[1] or has_specific]
    after = drops_generic(flags[0] or hint[0], flags[1] or hint[1])
    ctx.generic[table] = flags  # before raising: the restarted pass gets it as a hint
    # Committed generic rows (own[0]) were kept unless specific ones were known before this part.
    if after and own[0] and not (own[1] or hint[1]):
        raise ContextChanged(f"{table}: specific records after generic ones were kept")
    return after


def drop_generic(
    ctx: Context,
    facts: dict,
    steps: tuple[Columns, np.ndarray, list[str]],
    small: SmallTables,
    generic: set[str],
) -> tuple[Columns, np.ndarray, int]:
    """This part's steps and (in place) small tables without the generic records the log drops.

    Returns the steps' columns and codes and the number of dropped steps and evals
    records; dropped epoch records are counted over the whole epochs table instead.
    """
    cols, codes, names = steps
    dropped = 0
    generic_codes = [i for i, n in enumerate(names) if n in generic]
    is_generic = np.isin(codes, generic_codes) if generic_codes else None
    any_generic = is_generic is not None and bool(is_generic.any())
    any_specific = bool(len(codes)) if is_generic is None else bool((~is_generic).any())
    if len(codes) and decide_generic(ctx, facts, "steps", any_generic, any_specific) and any_generic:
        dropped = int(is_generic.sum())
        cols = {k: v[~is_generic] for k, v in cols.items()}
        codes = codes[~is_generic]
    for name in ("epochs", "evals"):
        rows = small.rows(name)
        if not rows:
            continue
        # Without a generic reader or a bare dict the answer needs no frame (most small logs).
        mask, bare = np.zeros(rows, bool), np.zeros(rows, bool)
        if small.read_by(name) & generic:
            mask = _is_generic(small[name]["format"], generic)
        if small.has(name, "bare"):
            # A bare dict is no specific reading: it may be a config dump (``parsers.hparams``).
            bare = _is_true(small[name]["bare"])
        specific = bool((~mask & ~bare).any())
        if decide_generic(ctx, facts, name, bool(mask.any()), specific) and mask.any():
            dropped += int(mask.sum()) if name == "evals" else 0
            small[name] = small[name][~mask].reset_index(drop=True)
    return cols, codes, dropped


def _is_generic(formats: np.ndarray | pd.Series, generic: set[str]) -> np.ndarray:
    """Rows read by a generic format, from their ``format`` column: a set lookup per row.

    A log's small tables are a few rows, where ``Series.isin`` costs a fraction of a millisecond a
    call; a large column (epoch records of a log printing a time every step) costs 0.1 us a row.
    """
    values = np.asarray(formats, object)
    return np.fromiter((f in generic for f in values), bool, len(values))


def _is_true(column: pd.Series) -> np.ndarray:
    """``column == True`` as a numpy mask (a bare pattern's constant is 1.0 or True; missing is not True)."""
    return column.eq(True).to_numpy(bool)  # a raw frame's column is numpy: float or object, never NA


def without_generic(records: dict[str, Any], generic: set[str]) -> tuple[dict[str, Any], int]:
    """A whole record set (numpy columns, ``format`` one of them) under the rule; returns it and
    the rows dropped."""
    mask = _is_generic(records["format"], generic)
    if not drops_generic(bool(mask.any()), bool((~mask).any())):
        return records, 0
    return {k: np.asarray(v)[~mask] for k, v in records.items()}, int(mask.sum())


def drop_summaries(
    ctx: Context, facts: dict, steps: tuple[Columns, np.ndarray, list[str]], generic: set[str]
) -> tuple[Columns, np.ndarray, int]:
    """This part's steps without the fallback's loss rows that are epoch summaries.

    A fallback format (the line grammar) reads every line with a loss.  Its rows are kept
    at the strongest position any of them prints: a step in the epoch, else a global step,
    else none.  Rows below it summarise an epoch and are dropped (counted as skipped):
    fairseq's ``| epoch 008 | loss 6.326 | ... | num_updates 21896`` beside its
    ``| epoch 009:   1000 / 2737 loss=6.220, ...`` lines, or its JSON ``train`` dict with no
    ``num_updates`` beside the ``train_inner`` ones.  A log whose fallback rows print no
    position keeps them all (an ``Epoch 3/24`` header, then ``train Loss: ...``).  Raises
    ``ContextChanged`` when a stronger position appears after weaker rows were committed.
    """
    cols, codes, names = steps
    generic_codes = [i for i, n in enumerate(names) if n in generic]
    if not generic_codes:  # no fallback rows (an empty part names no format either)
        return cols, codes, 0
    is_generic = np.isin(codes, generic_codes)
    level = np.zeros(len(codes), np.int8)
    for rank, key in ((1, "global_step"), (2, "step")):
        if key in cols:
            level[~np.isnan(cols[key])] = rank
    before = list(ctx.summaries)
    hint = facts["summaries"]
    now = [bool((is_generic & (level == lvl)).any()) for lvl in range(3)]
    ctx.summaries = [a or b for a, b in zip(before, now)]
    was = _strongest(before, hint)
    top = _strongest(ctx.summaries, hint)
    if top > was and any(before[:top]):
        raise ContextChanged("a stronger step position appeared after weaker fallback rows were kept")
    drop = is_generic & (level < top)
    if not drop.any():
        return cols, codes, 0
    return {k: v[~drop] for k, v in cols.items()}, codes[~drop], int(drop.sum())


def _strongest(*flags: list[bool]) -> int:
    """The strongest position level seen: 2 a step, 1 a global step, 0 none."""
    return max([lvl for lvl in range(3) if any(f[lvl] for f in flags)], default=0)
