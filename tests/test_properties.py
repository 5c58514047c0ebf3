"""Property tests: valid lines rendered with the real templates come back exactly,
whatever garbage surrounds them, and no input makes the parser raise."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parsers

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


def _blank(line: bytes) -> bool:
    """A line a reader sees as empty: only whitespace once its line ending is gone."""
    return not line.removesuffix(b"\r").decode("utf-8", "surrogateescape").strip()


def _table_lines(log) -> set[int]:
    return {int(n) for table in log.tables().values() if "line" in table for n in table["line"].dropna()}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(junk, st.one_of(st.none(), records)), min_size=1, max_size=8))
def test_arbitrary_bytes_hide_no_record_and_every_line_is_counted(items) -> None:
    """Junk bytes between records: bytes alone may be refused (a LogError, nothing else), but
    every record among them comes back at its line, and every line is read, and each
    non-blank one is either in a table or counted as skipped, never silently dropped."""
    data, expected, junk_lines = b"", [], []
    for i, (chunk, record) in enumerate(items):
        first = data.count(b"\n") + 1
        last = i == len(items) - 1 and record is None
        data += chunk if last else chunk + b"\n"  # the log may end without a newline
        junk_lines += [(first + k, line) for k, line in enumerate(chunk.split(b"\n"))]
        if record is not None:
            data += _render(*record).encode() + b"\n"
            expected.append((data.count(b"\n"), *record[:3]))
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    try:
        log = parsers.parse_log(data)
    except parsers.LogError:
        assert not expected, "a valid record was there, yet the log was refused"
        return
    assert log.meta["lines_read"] == lines
    got = {int(r.line): (r.epoch, r.step, r.loss) for r in log.steps.itertuples()}
    for line, epoch, step, loss in expected:
        g_epoch, g_step, g_loss = got[line]
        assert (g_epoch, g_step) == (epoch, step)
        assert (math.isnan(loss) and math.isnan(g_loss)) or g_loss == loss
    understood = _table_lines(log)
    counted = {n for n, line in junk_lines if not _blank(line) and n not in understood}
    assert log.meta["lines_skipped"] + log.meta["lines_noise"] == len(counted)
    assert set(log.meta["skipped_examples"]) <= counted


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
