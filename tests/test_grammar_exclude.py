"""``parse_log(..., exclude_formats=...)``: a named format switched off for one call.

What a user does to see what the general line grammar makes of a log without the named
format written for it (``benchmarks/bench_generalize.py`` measures exactly that), or to
drop a format that misreads their log. Run on a real log (``tests/data/pytorch``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import parsers
from parsers.errors import UnknownFormatError

KERAS = Path(__file__).parent / "data" / "pytorch" / "keras_nan_loss.log"


def test_an_excluded_format_reads_nothing_and_the_others_still_read() -> None:
    whole = parsers.parse_log(KERAS)
    assert "keras" in whole.meta["formats"]
    without = parsers.parse_log(KERAS, exclude_formats=("keras",))
    assert "keras" not in without.meta["formats"]
    assert "keras" not in without.meta["format_records"]
    # The grammar reads the epoch-end lines keras read (its bar counter is the step), and the
    # ETA progress line keras left to it.
    assert without.meta["format_records"].get("grammar", 0) > whole.meta["format_records"].get("grammar", 0)
    by_line = without.steps.set_index("line")
    assert by_line.loc[[3, 6, 9], "step"].tolist() == whole.steps["step"].tolist() == [100, 100, 100]


def test_a_single_name_is_one_format_not_its_letters() -> None:
    assert (
        parsers.parse_log(KERAS, exclude_formats="keras").meta["formats"]
        == (parsers.parse_log(KERAS, exclude_formats=["keras"]).meta["formats"])
    )


def test_the_registry_is_left_as_it_was() -> None:
    before = list(parsers.FORMATS)
    parsers.parse_log(KERAS, exclude_formats=("keras", "grammar"), strict=False)
    assert list(parsers.FORMATS) == before
    assert "keras" in parsers.parse_log(KERAS).meta["formats"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"exclude_formats": ("kears",)}, "unknown format 'kears'"),
        ({"exclude_formats": ("keras",), "format": "keras"}, "both forced and excluded"),
    ],
)
def test_a_name_that_excludes_nothing_is_an_error(kwargs: dict, message: str) -> None:
    with pytest.raises(UnknownFormatError, match=message):
        parsers.parse_log(KERAS, **kwargs)


def test_excluding_every_format_that_reads_a_log_leaves_no_records() -> None:
    with pytest.raises(parsers.NoRecordsError):
        parsers.parse_log(KERAS, exclude_formats=("keras", "grammar", "generic"))


def test_an_excluded_format_still_lends_its_names_for_the_device_count() -> None:
    """``world_size: 4`` in a config dump is the device count (the name torch.distributed gives it)
    whichever formats read the log: excluding the PyTorch format, to keep it from misreading
    lines, must not turn a 4-device job's throughput into a 1-device one."""
    text = (
        "batch_size: 32\nworld_size: 4\nlr: 0.1\n"
        "epoch: 1 step: 1, loss is 0.5\nepoch: 1 step: 2, loss is 0.4\n"
        "Train epoch time: 100.0 ms, per step time: 50.0 ms\n"
    )
    default = parsers.parse_log(text)
    excluded = parsers.parse_log(text, exclude_formats=["pytorch"])
    assert (excluded.meta["batch_size"], excluded.meta["device_num"]) == (32, 4)
    # 32 samples x 4 devices every 50 ms
    assert (
        excluded.epochs["samples_per_sec"].tolist() == default.epochs["samples_per_sec"].tolist() == [2560.0]
    )
