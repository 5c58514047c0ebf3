"""Property tests: valid lines rendered with the real templates come back exactly,
whatever garbage surrounds them, and no input makes the parser raise."""

from __future__ import annotations

import math
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parsers
from parsers.source import MAX_LINE_BYTES as LONG
from tests.conftest import DATA

LOSS_TEMPLATES = [
    "epoch: {epoch} step: {step}, loss is {loss}",
    "epoch: {epoch} step: {step}, loss is [{loss}]",
    "epoch: {epoch} step: {step}, loss is Tensor(shape=[], dtype=Float32, value= {loss})",
    "[WARNING] ME(2276:139885872941952,MainProcess):2024-05-06-19:01:42.939.000 [x.py:1] epoch: {epoch} step: {step}, loss is {loss}",
    "2025-04-07 15:34:29,173 - INFO - epoch: {epoch} step: {step}, loss is {loss}",
]
losses = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.just(math.nan),
    st.just(math.inf),
    st.sampled_from([1e-8, 1e300, 0.0, -2.5]),
)
records = st.tuples(st.integers(1, 5000), st.integers(1, 10**6), losses, st.sampled_from(LOSS_TEMPLATES))
# Garbage lines: anything without a newline that is not itself a record.
garbage = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=200
).filter(lambda s: "loss" not in s.lower())


def _render(epoch: int, step: int, loss: float, template: str) -> str:
    text = repr(loss) if math.isfinite(loss) else ("nan" if math.isnan(loss) else "inf")
    return template.format(epoch=epoch, step=step, loss=text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(records, st.lists(garbage, max_size=3)), min_size=1, max_size=30))
def test_every_valid_record_is_recovered_among_garbage(items) -> None:
    lines, expected = [], []
    for (epoch, step, loss, template), noise in items:
        lines.extend(noise)
        lines.append(_render(epoch, step, loss, template))
        expected.append((len(lines), epoch, step, loss))
    log = parsers.parse_log("\n".join(lines) + "\n")
    got = list(zip(log.steps["line"], log.steps["epoch"], log.steps["step"], log.steps["loss"]))
    assert len(got) == len(expected)
    for (line, epoch, step, loss), (g_line, g_epoch, g_step, g_loss) in zip(expected, got):
        assert (g_line, g_epoch, g_step) == (line, epoch, step)
        assert (math.isnan(loss) and math.isnan(g_loss)) or g_loss == loss


# Arbitrary bytes, even invalid UTF-8, NULs and lone carriage returns, but never a loss line.
junk = st.binary(max_size=400).filter(lambda b: b"loss" not in b.lower())
# Control bytes a reader takes for spaces (parsers.source): all but tab, line ends and ESC.
_CONTROLS = bytes([*range(0, 9), 11, 12, *range(14, 27), *range(28, 32), 127])
_AS_SPACES = bytes.maketrans(_CONTROLS, b" " * len(_CONTROLS))


def _as_read(data: bytes) -> bytes:
    """The bytes as the reader splits them: a lone ``\r`` ends a line (a redrawn progress bar)."""
    return re.sub(rb"\r(?=[^\n])", b"\n", data)


def _blank(line: bytes) -> bool:
    """A line a reader sees as empty: only whitespace and control bytes once its line ending is gone."""
    return not line.removesuffix(b"\r").translate(_AS_SPACES).decode("utf-8", "surrogateescape").strip()


def _table_lines(log) -> set[int]:
    return {int(n) for table in log.tables().values() if "line" in table for n in table["line"].dropna()}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(junk, st.one_of(st.none(), records)), min_size=1, max_size=8))
def test_arbitrary_bytes_hide_no_record_and_every_line_is_counted(items) -> None:
    """Junk bytes between records: bytes alone may be refused (a LogError, nothing else), but
    every record among them comes back at its line, and every line is read, and each
    non-blank one is either in a table or counted as skipped, never silently dropped."""
    data, ends = b"", []
    for i, (chunk, record) in enumerate(items):
        last = i == len(items) - 1 and record is None
        data += chunk if last else chunk + b"\n"  # the log may end without a newline
        if record is not None:
            data += _render(*record).encode() + b"\n"
            ends.append((len(data), record))
    seen = _as_read(data)
    expected = [(seen[:end].count(b"\n"), *record[:3]) for end, record in ends]
    read = seen.split(b"\n")[: seen.count(b"\n") + (0 if seen.endswith(b"\n") or not seen else 1)]
    records_at = {line for line, *_ in expected}
    junk_lines = [(n, line) for n, line in enumerate(read, 1) if n not in records_at]
    try:
        log = parsers.parse_log(data)
    except parsers.LogError:
        assert not expected, "a valid record was there, yet the log was refused"
        return
    assert log.meta["lines_read"] == len(read)
    _assert_recovered(log, expected)
    understood = _table_lines(log)
    counted = {n for n, line in junk_lines if not _blank(line) and n not in understood}
    assert log.meta["lines_skipped"] + log.meta["lines_noise"] == len(counted)
    assert set(log.meta["skipped_examples"]) <= counted


def _assert_recovered(log, expected) -> None:
    got = {int(r.line): (r.epoch, r.step, r.loss) for r in log.steps.itertuples()}
    for line, epoch, step, loss in expected:
        assert line in got, f"the record of line {line} was lost"
        g_epoch, g_step, g_loss = got[line]
        assert (g_epoch, g_step) == (epoch, step)
        assert (math.isnan(loss) and math.isnan(g_loss)) or g_loss == loss


# --- hostile surroundings (issue 12): each kind of damage a real log carries ---------------------

_GBK = "[ERROR] 训练失败：设备内存不足".encode("gbk")  # an Ascend box in a Chinese locale
# Bytes that are not UTF-8 and hold no letter, so they cannot make a line another kind of line.
not_utf8 = st.binary(min_size=1, max_size=40).map(
    lambda b: bytes(c for c in b if c >= 0x80 or c in b" :-[]().,") or b"\xff"
)
damage = st.one_of(
    st.integers(1, 70_000).map(lambda n: ("nul", b"\x00" * n)),  # NULs a crashed node left, glued on
    st.binary(min_size=1, max_size=3000).map(lambda b: ("binary", b + b"\n")),  # a binary block
    st.integers(1, 5).map(lambda n: ("progress", b"".join(b" %d%%|##| %d/100\r" % (k, k) for k in range(n)))),
    st.sampled_from([LONG, LONG + 1_000]).map(lambda n: ("long", b"x" * n + b"\n")),  # over the limit
    not_utf8.map(lambda b: ("error", b"[ERROR] " + b + b" " + _GBK + b"\n")),  # an event line
    not_utf8.map(lambda b: ("prefix", b)),  # a prefix of the record line itself
).filter(lambda kind_bytes: b"loss" not in kind_bytes[1].lower())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(st.lists(st.tuples(damage, records), min_size=1, max_size=6))
def test_every_record_survives_nuls_binary_progress_bars_long_lines_and_bad_bytes(items) -> None:
    """Damage glued to or set between records: every record comes back, at its line; every
    event message is valid text (bad bytes as U+FFFD); nothing is refused."""
    data, ends = b"", []
    for (kind, blob), record in items:
        data += blob + (b" " if kind == "prefix" else b"")  # NULs and \r glue the record to them
        data += _render(*record).encode() + b"\n"
        ends.append((len(data), record))
    seen = _as_read(data)
    expected = [(seen[:end].count(b"\n"), *record[:3]) for end, record in ends]
    log = parsers.parse_log(data)
    _assert_recovered(log, expected)
    assert len(log.steps) == len(expected)
    for message in log.events["message"]:
        assert "\x00" not in message
        message.encode("utf-8")  # no lone surrogate: a valid string for Parquet and the page
    errors = [kind for (kind, _), _ in items if kind == "error"]
    assert (log.events["kind"] == "error").sum() == len(errors)


@settings(max_examples=20, deadline=None)
@given(st.lists(records, min_size=1, max_size=10), st.sampled_from([LONG + 1, 3 * LONG]))
def test_a_line_over_the_limit_is_skipped_and_named_and_its_head_still_read_for_events(items, size) -> None:
    """Lines longer than the limit are not matched as records (a record after 1 MB of junk is
    not one), are counted as skipped at their line number, and an error at their head is kept."""
    head = b"[ERROR] a tensor dumped by print: "
    lines = [_render(*item).encode() for item in items]
    lines.insert(1, head + b"epoch: 9 step: 9, " + b"7" * size + b" loss is 0.5")
    log = parsers.parse_log(b"\n".join(lines) + b"\n")
    assert [int(n) for n in log.steps["line"]] == [1, *range(3, len(lines) + 1)]
    errors = log.events[log.events["kind"] == "error"]
    assert errors["line"].tolist() == [2] and errors["message"].iloc[0].startswith(head.decode())
    assert len(errors["message"].iloc[0]) < 5000


@settings(max_examples=100, deadline=None)
@given(st.lists(records, min_size=1, max_size=20), st.integers(1, 60))
def test_block_boundaries_do_not_change_the_result(items, block) -> None:
    from parsers.dispatch import Dispatcher
    from parsers.engine import assemble
    from parsers.parse import parse_source
    from parsers.registry import ordered_patterns
    from parsers.source import open_sources

    text = "\n".join(_render(*item) for item in items) + "\n"
    src = open_sources(text.encode())[0]
    whole = assemble([parse_source(src, Dispatcher(ordered_patterns()))])
    cut = assemble([parse_source(src, Dispatcher(ordered_patterns()), block_size=block)])
    assert whole.steps.equals(cut.steps)
    counts = ("lines_read", "lines_skipped", "lines_noise", "skipped_examples")
    assert [cut.meta[k] for k in counts] == [whole.meta[k] for k in counts]


def test_noise_lines_in_every_block_are_all_counted() -> None:
    """``update best result: {...}`` (the best eval so far, printed again) after each of the fit
    log's evals, read in blocks of 64 bytes: the three lines are counted as noise, as when the
    log is read in one block, and no record is lost at a block's edge."""
    from parsers.dispatch import Dispatcher
    from parsers.engine import assemble
    from parsers.parse import parse_source
    from parsers.registry import ordered_patterns
    from parsers.source import open_sources

    lines = (DATA / "mindspore-2.10-cpu" / "fit.log").read_text().splitlines(True)
    noisy = []
    for line in lines:
        noisy.append(line)
        if line.startswith("Eval result:"):
            noisy.append("update best result: {'acc': 0.9}\n")
    src = open_sources("".join(noisy).encode())[0]
    whole = assemble([parse_source(src, Dispatcher(ordered_patterns()))])
    cut = assemble([parse_source(src, Dispatcher(ordered_patterns()), block_size=64)])
    for log in (whole, cut):
        assert (log.meta["lines_read"], log.meta["lines_noise"], log.meta["lines_skipped"]) == (18, 3, 0)
        assert len(log.steps) == 6 and len(log.evals) == 3
