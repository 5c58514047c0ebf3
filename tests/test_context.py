"""A restarted pass never forgets what an aborted pass learned.

When a later part of a growing log changes a whole-log decision (``ContextChanged``), the
log is read again from line 1 with the aborted pass's facts as hints (``Context.hinted``),
and every decision of the new pass is made from its own facts joined with those hints
(``Context.facts``).  The join must be a union: a flag either pass turned on stays on, a
maximum is the larger, a minimum the smaller, a rank or an epoch record seen by either is
kept.  Were one fact dropped, the restarted pass would decide as if the line that changed
the decision had never been read, commit rows on that wrong decision and restart again
(or, at the last part, keep them): the dashboard would show different global steps,
steps per epoch or kept rows than a cold parse of the same file.
"""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.engine import Context
from parsers.engine.context import columns_from_json, columns_to_json, merge_facts

_TABLES = st.sampled_from(["steps", "evals", "epochs"])
_FORMATS = st.sampled_from(["mindspore_loss", "generic_kv", "yolo", "fairseq"])
_FLAGS2 = st.lists(st.booleans(), min_size=2, max_size=2)
_MAYBE = st.one_of(st.just(math.nan), st.floats(-1e6, 1e6))
_STREAM = st.tuples(st.integers(0, 90), st.integers(0, 5000), st.booleans(), st.booleans()).map(list)


def _epoch_records(lines: list[int]) -> dict | None:
    """Serialized raw epoch records on these lines (as a context keeps them), or None for none."""
    if not lines:
        return None
    line = np.array(sorted(set(lines)), np.int64)
    cols = {"line": line, "epoch_time_ms": line * 10.0}
    return columns_to_json(cols, np.zeros(len(line), np.int16), ["mindspore_time"])


_FACTS = st.fixed_dictionaries(
    {
        "generic": st.dictionaries(_TABLES, _FLAGS2, max_size=3),
        "zeros": st.dictionaries(_TABLES, st.dictionaries(_FORMATS, _FLAGS2, max_size=3), max_size=3),
        "step_any": st.booleans(),
        "epoch_any": st.booleans(),
        "loss_seen": st.booleans(),
        "has_step_times": st.booleans(),
        "printed_spe": _MAYBE,
        "step_max": _MAYBE,
        "step_min": _MAYBE,
        "epoch_rows": st.tuples(st.one_of(st.none(), st.integers(1, 90)), st.booleans()).map(list),
        "summaries": st.lists(st.booleans(), min_size=3, max_size=3),
        "streams": st.dictionaries(_FORMATS, _STREAM, max_size=3),
        "ranks": st.lists(st.sampled_from([0.0, 1.0, 2.0, 7.0]), max_size=4, unique=True),
        "epochs_raw": st.lists(st.integers(1, 400), max_size=6).map(_epoch_records),
    }
)


def _nan_max(x: float, y: float) -> float:
    known = [v for v in (x, y) if not math.isnan(v)]
    return max(known) if known else math.nan


def _nan_min(x: float, y: float) -> float:
    known = [v for v in (x, y) if not math.isnan(v)]
    return min(known) if known else math.nan


def _same(x: float, y: float) -> bool:
    return (math.isnan(x) and math.isnan(y)) or x == y


def _lines(raw: dict | None) -> list[int]:
    return [] if raw is None else columns_from_json(raw)[0]["line"].tolist()


@settings(max_examples=300, deadline=None)
@given(own=_FACTS, hints=_FACTS)
def test_the_facts_of_a_restarted_pass_are_the_union_of_both_passes(own: dict, hints: dict) -> None:
    """Each decision fact of a pass joined with an aborted pass's hints is what either pass saw."""
    merged = merge_facts(own, hints)
    for table in {*own["generic"], *hints["generic"]}:
        a, b = own["generic"].get(table, [False, False]), hints["generic"].get(table, [False, False])
        assert merged["generic"][table] == [a[0] or b[0], a[1] or b[1]], table
    assert set(merged["generic"]) == {*own["generic"], *hints["generic"]}
    for table in {*own["zeros"], *hints["zeros"]}:
        a, b = own["zeros"].get(table, {}), hints["zeros"].get(table, {})
        assert set(merged["zeros"][table]) == {*a, *b}
        for fmt in {*a, *b}:
            x, y = a.get(fmt, [False, False]), b.get(fmt, [False, False])
            assert merged["zeros"][table][fmt] == [x[0] or y[0], x[1] or y[1]], (table, fmt)
    assert set(merged["zeros"]) == {*own["zeros"], *hints["zeros"]}
    for key in ("step_any", "epoch_any", "loss_seen", "has_step_times"):
        assert merged[key] is (own[key] or hints[key]), key
    for key in ("printed_spe", "step_max"):
        assert _same(merged[key], _nan_max(own[key], hints[key])), key
    assert _same(merged["step_min"], _nan_min(own["step_min"], hints["step_min"]))
    # The last epoch of a step row is where this pass stands; the flag is either pass's.
    assert merged["epoch_rows"] == [own["epoch_rows"][0], own["epoch_rows"][1] or hints["epoch_rows"][1]]
    assert merged["summaries"] == [x or y for x, y in zip(own["summaries"], hints["summaries"])]
    for key in {*own["streams"], *hints["streams"]}:
        mine, theirs = own["streams"].get(key), hints["streams"].get(key)
        if mine is None:
            assert merged["streams"][key] == theirs
        elif theirs is None:
            assert merged["streams"][key] == mine
        else:  # where this pass stands, with either pass's flags
            assert merged["streams"][key] == [*mine[:2], mine[2] or theirs[2], mine[3] or theirs[3]], key
    assert set(merged["streams"]) == {*own["streams"], *hints["streams"]}
    assert merged["ranks"] == sorted({*own["ranks"], *hints["ranks"]})
    assert _lines(merged["epochs_raw"]) == sorted({*_lines(own["epochs_raw"]), *_lines(hints["epochs_raw"])})


def test_epoch_records_seen_by_either_pass_keep_their_values_and_formats() -> None:
    """Epoch records joined from two passes: each line once, in line order, with its own values,
    format and kind of column, where one pass printed a column the other did not."""
    own = columns_to_json(
        {"line": np.array([3, 9]), "epoch_time_ms": np.array([30.0, 90.0])},
        np.zeros(2, np.int16),
        ["mindspore_time"],
    )
    theirs = columns_to_json(
        {
            "line": np.array([5, 9, 12]),
            "samples_per_sec": np.array([50.5, 99.9, 120.5]),
            "tag": np.array(["a", "b", "c"], object),
        },
        np.zeros(3, np.int16),
        ["throughput"],
    )
    cols, codes, names = columns_from_json(
        merge_facts({"epochs_raw": own}, {"epochs_raw": theirs})["epochs_raw"]
    )
    assert cols["line"].tolist() == [3, 5, 9, 12]
    assert [names[c] for c in codes] == ["mindspore_time", "throughput", "mindspore_time", "throughput"]
    assert cols["line"].dtype == np.int64
    assert np.array_equal(cols["epoch_time_ms"][[0, 2]], [30.0, 90.0])  # line 9 is this pass's
    assert [v is None or v != v for v in cols["epoch_time_ms"][[1, 3]]] == [True, True]
    assert cols["samples_per_sec"][[1, 3]].tolist() == [50.5, 120.5]
    assert cols["tag"].tolist() == [None, "a", None, "c"]
    # A pass that saw nothing new keeps its own records as they were.
    assert merge_facts({"epochs_raw": own}, {"epochs_raw": own})["epochs_raw"] == own


def test_a_second_restart_keeps_the_first_aborted_passes_facts() -> None:
    """A log that changes two decisions in two later parts restarts twice: the third pass knows
    what both aborted passes learned, and its context starts from line 1 with nothing committed."""
    first = Context("train.log", 3, lines_read=500, steps=40, step_max=700.0, ranks=[0.0])
    first.generic = {"steps": [True, False]}
    first.streams = {"mindspore_loss": [2, 700, False, False]}
    second = first.hinted()
    assert (second.name, second.rank, second.lines_read, second.steps) == ("train.log", 3, 0, 0)
    second.step_max, second.ranks = 1400.0, [1.0]
    second.generic = {"steps": [False, True]}
    second.zeros = {"steps": {"mindspore_loss": [True, True]}}
    third = second.hinted()
    facts = third.facts()
    assert facts["step_max"] == 1400.0
    assert facts["ranks"] == [0.0, 1.0]
    assert facts["generic"] == {"steps": [True, True]}
    assert facts["zeros"] == {"steps": {"mindspore_loss": [True, True]}}
    assert facts["streams"] == {"mindspore_loss": [2, 700, False, False]}
    # The hints survive the store's JSON round trip (repr: NaN, a maximum not yet seen, is not == NaN).
    assert repr(Context.from_json(third.to_json()).facts()) == repr(facts)


_COLUMN = st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=5).map(
        lambda v: np.array(v, np.float64)
    ),
    st.lists(st.integers(-(2**40), 2**40), max_size=5).map(lambda v: np.array(v, np.int64)),
    st.lists(st.booleans(), max_size=5).map(lambda v: np.array(v, bool)),
    st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=5).map(
        lambda v: np.array([*v, None], object)[:-1]
    ),
)


@settings(max_examples=200, deadline=None)
@given(column=_COLUMN)
def test_records_saved_with_the_stores_state_read_back_as_they_were(column: np.ndarray) -> None:
    """The raw epoch records a context keeps go to the store as JSON and come back at the next
    refresh: each column must come back with its kind (integers stay integers, even with no rows,
    so a line number is never read as 3.0) and its values (NaN and infinities included)."""
    n = len(column)
    saved = columns_to_json(
        {"line": np.arange(n, dtype=np.int64), "value": column}, np.zeros(n, np.int16), ["f"]
    )
    cols, codes, names = columns_from_json(json.loads(json.dumps(saved)))
    assert cols["value"].dtype == column.dtype and cols["line"].dtype == np.int64
    assert [repr(v) for v in cols["value"].tolist()] == [repr(v) for v in column.tolist()]
    assert codes.tolist() == [0] * n and names == ["f"]


def test_fixed_width_text_columns_come_back_as_text() -> None:
    """A text column numpy holds as fixed-width strings (``np.array(["train", "eval"])``: the
    scanner gives object columns, but any caller of ``columns_to_json`` may not) is kept as text:
    it comes back an object column of the same strings, where saving its numpy kind would leave a
    state the next refresh cannot read."""
    saved = columns_to_json(
        {"line": np.arange(2, dtype=np.int64), "phase": np.array(["train", "eval"])},
        np.zeros(2, np.int16),
        ["f"],
    )
    cols, _, _ = columns_from_json(json.loads(json.dumps(saved)))
    assert cols["phase"].dtype == object and cols["phase"].tolist() == ["train", "eval"]


def test_a_context_holding_numpy_figures_saves_them_as_plain_values() -> None:
    """The store saves each log's context as JSON after every refresh.  Running figures computed
    with numpy (a float32 loss, an int64 count, a flag, an array) come back as the plain numbers
    they are, and any other object as its text, instead of the refresh failing to save."""
    ctx = Context("train.log", None)
    ctx.stats = {
        "min_loss": np.float32(0.5),
        "n_steps": np.int64(3),
        "finished": np.bool_(True),
        "curve": np.array([1.0, 2.5]),
        "started": date(2026, 12, 3),
    }
    back = Context.from_json(ctx.to_json())
    assert back.stats == {
        "min_loss": 0.5,
        "n_steps": 3,
        "finished": True,
        "curve": [1.0, 2.5],
        "started": "2026-12-03",
    }
