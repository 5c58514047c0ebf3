"""Parsing time is linear in the input, whatever the input (issue 12, findings 1 and 5).

Before RE2 and the line limit, the model zoo's ``total_loss`` pattern (``.*?`` before a
keyword) backtracked on a long line: a 300 KB line took 35-73 s in ``parse-log`` and in
``RunStore.refresh``; a user's ``(a+)+$`` hung the parser.  The bounds below are tens of
times what the work takes now and a small fraction of what it took then, so they catch
the regression without timing anything finely (speed itself is measured in
``benchmarks/bench_hostile.py``).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from cli_logs import run_cli

import parsers
from parsers.formats._regex import WORD_START, LinearPattern, compile_linear
from parsers.registry import FORMATS
from parsers.source import CUT_MARK, MAX_LINE_BYTES
from parsers.store import RunStore
from tests.conftest import DATA

BASIC = DATA / "mindspore-2.10-cpu" / "basic.log"
BOUND_S = 10.0


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def test_every_built_in_pattern_runs_on_re2() -> None:
    for fmt in FORMATS.values():
        for pattern in fmt.patterns:
            assert isinstance(pattern.compiled(), LinearPattern), (fmt.name, pattern.name)


@pytest.mark.parametrize(
    "line",
    [
        b"epoch: 1 step: 2, " + b"x" * 300_000,  # the model zoo's total_loss line: .*? before a keyword
        b"epoch: 1 step: 2, " + b"a b " * 200_000,
        b"[INFO] Save checkpoint " + b"/" * 300_000,
        b"epoch: 1 step: 2, loss is 0.5 " * 30_000,  # one line, under the limit: 900 KB of records' text
    ],
    ids=["total-loss-300k", "words-800k", "checkpoint-300k", "glued-records-900k"],
)
def test_a_long_line_costs_linear_time_and_the_records_around_it_survive(line: bytes) -> None:
    text = BASIC.read_bytes()
    cut = text.index(b"epoch: 2")
    log, took = _timed(parsers.parse_log, text[:cut] + line + b"\n" + text[cut:])
    assert took < BOUND_S, f"{took:.1f} s for a {len(line):,}-byte line"
    got = log.steps["loss"].tolist()
    assert all(loss in got for loss in parsers.parse_log(BASIC).steps["loss"])


def test_megabytes_without_a_newline_are_cut_not_held_or_scanned_whole(tmp_path: Path) -> None:
    path = tmp_path / "no_newline.log"
    path.write_bytes(b"epoch: 1 step: 2, loss is 0.5 " * 200_000 + b"\n" + BASIC.read_bytes())  # 6 MB line
    log, took = _timed(parsers.parse_log, path)
    assert took < BOUND_S
    assert len(log.steps) == len(parsers.parse_log(BASIC).steps)  # the cut line is no record
    assert log.meta["lines_skipped"] >= 1 and 1 in log.meta["skipped_examples"]


def test_the_cut_line_keeps_its_head_only(tmp_path: Path) -> None:
    from parsers.source import iter_blocks, open_sources

    line = b"[ERROR] " + b"z" * (MAX_LINE_BYTES + 10)
    data = b"a\n" + line + b"\nb\n"
    with open_sources(data)[0].open() as handle:
        blocks = list(iter_blocks(handle, block_size=1 << 16))
    text = b"".join(bytes(block) for block, _ in blocks)
    assert sum(used for _, used in blocks) == len(data)  # offsets still count every byte
    assert text.split(b"\n")[1].endswith(CUT_MARK.encode()) and len(text) < 10_000


def test_a_long_line_in_a_run_folder_does_not_stall_a_refresh(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / "long").mkdir(parents=True)
    text = BASIC.read_bytes()
    (runs / "long" / "train.log").write_bytes(b"epoch: 1 step: 2, " + b"x" * 2_000_000 + b"\n" + text)
    store = RunStore(runs)
    result, took = _timed(store.refresh)
    assert took < BOUND_S and result["status"].tolist() == ["new"]
    assert len(store.table("steps")) == len(parsers.parse_log(BASIC).steps)


USER_FORMAT = """
[formats.hostile]
[[formats.hostile.patterns]]
table = "steps"
regex = '{regex}'
fields = {{ loss = "float" }}
"""


def test_a_catastrophic_user_pattern_runs_in_linear_time(tmp_path: Path) -> None:
    formats = tmp_path / "formats.toml"
    formats.write_text(USER_FORMAT.format(regex=r"^(a+)+$|loss=(?P<loss>\d+)"))
    log = tmp_path / "job.log"
    log.write_text("a" * 40 + "!\n" + "loss=3\n")  # 2^40 paths for a backtracking engine
    parsed, took = _timed(parsers.parse_log, log, formats_file=formats)
    assert took < BOUND_S
    assert parsed.steps["loss"].tolist() == [3.0]


def test_a_pattern_re2_cannot_run_is_refused_with_the_reason(tmp_path: Path) -> None:
    formats = tmp_path / "formats.toml"
    formats.write_text(USER_FORMAT.format(regex=r"(?P<loss>\d+)(?=ms)"))
    result = run_cli(BASIC, "--formats", formats)
    assert result.returncode == 2
    assert "invalid regex" in result.stderr and "RE2" in result.stderr


@pytest.mark.parametrize(
    ("line", "start"),
    [
        ("epoch: 1", 0),
        ("[rank 3]epoch: 1", 8),  # the character WORD_START looks at is not part of the match
        ("val_epoch: 1", None),
        ("runs/epoch: 1", None),
        ("\u00e9epoch: 1", None),  # a letter RE2's \\w does not know
        ("\u0663epoch: 1", None),  # an Arabic-Indic digit
    ],
)
def test_word_start_means_on_re2_what_it_meant_on_re(line: str, start) -> None:
    pattern = compile_linear(WORD_START + r"epoch: (?P<epoch>\d+)")
    found = pattern.search(line)
    assert (found and found.start()) == start and (found is None) == (
        re.search(WORD_START + "epoch", line) is None
    )
    if found:
        assert (
            found.group() == "epoch: 1"
            and found.group("epoch") == "1"
            and found.span("epoch")[1] == len(line)
        )


def test_a_rank_tag_glued_to_a_record_still_names_its_rank() -> None:
    log = parsers.parse_log("[rank 3]epoch: 1 step: 2, loss is 0.5\n")
    assert log.steps["rank"].tolist() == [3]


def test_a_line_with_bytes_that_are_not_utf8_is_still_matched() -> None:
    log = parsers.parse_log(b"\xff\xff epoch: 1 step: 2, loss is 0.5\n[ERROR] \xff bad\n")
    assert log.steps["loss"].tolist() == [0.5]
    assert re.fullmatch(r"\[ERROR\] \ufffd bad", log.events["message"].iloc[0])
