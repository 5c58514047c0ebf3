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


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_anything_but_log_errors(data: bytes) -> None:
    try:
        log = parsers.parse_log(data)
    except parsers.LogError:
        return
    assert log.meta["lines_read"] >= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(records, min_size=1, max_size=20), st.integers(1, 60))
def test_block_boundaries_do_not_change_the_result(items, block) -> None:
    from parsers.assemble import assemble
    from parsers.dispatch import Dispatcher
    from parsers.parse import parse_source
    from parsers.registry import ordered_patterns
    from parsers.source import open_sources

    text = "\n".join(_render(*item) for item in items) + "\n"
    src = open_sources(text.encode())[0]
    whole = assemble([parse_source(src, Dispatcher(ordered_patterns()))])
    cut = assemble([parse_source(src, Dispatcher(ordered_patterns()), block_size=block)])
    assert whole.steps.equals(cut.steps)
