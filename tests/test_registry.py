"""The format registry and user formats from TOML."""

from __future__ import annotations

from pathlib import Path

import pytest

import parsers
from parsers.registry import LinePattern, LogFormat, register

TOML = """
[formats.mytrainer]
description = "our in-house trainer"
epoch_base = 0

[[formats.mytrainer.patterns]]
table = "steps"
regex = 'it (?P<step>\\d+)/\\d+ ep (?P<epoch>\\d+) loss=(?P<loss>\\S+) lr=(?P<lr>\\S+)'
fields = { step = "int", epoch = "int", loss = "float", lr = "float" }

[[formats.mytrainer.patterns]]
table = "epochs"
regex = 'ep (?P<epoch>\\d+) took (?P<epoch_time_ms>[\\d.]+)s'
fields = { epoch = "int", epoch_time_ms = "s" }
"""
LOG = (
    "it 1/2 ep 0 loss=0.9 lr=0.1\nit 2/2 ep 0 loss=0.7 lr=0.1\nep 0 took 1.5s\nit 1/2 ep 1 loss=0.5 lr=0.05\n"
)


def test_duplicate_name_says_where_the_first_was_defined() -> None:
    fmt = LogFormat(name="mindspore", description="again", patterns=())
    with pytest.raises(parsers.DuplicateFormatError) as err:
        register(fmt)
    assert "parsers/formats/mindspore.py" in str(err.value)


def test_unknown_format_lists_known_ones() -> None:
    with pytest.raises(parsers.UnknownFormatError) as err:
        parsers.parse_log("epoch: 1 step: 1, loss is 0.5\n", format="nope")
    assert "mindspore" in str(err.value) and "mindformers" in str(err.value)


def test_pattern_fields_are_checked_against_the_schema() -> None:
    bad = LogFormat(
        name="bad-columns",
        description="",
        patterns=(LinePattern(table="steps", regex=r"x(?P<lost>\d+)", fields={"lost": "float"}),),
    )
    with pytest.raises(parsers.FormatDefinitionError, match="not a column of 'steps'"):
        register(bad)


def test_forced_format_wins_over_detection() -> None:
    text = "Epoch [1/5], Step [100/600], Loss: 2.2450\nepoch: 1 step: 1, loss is 0.5\n"
    assert parsers.parse_log(text, format="pytorch").steps["loss"].tolist() == [2.2450]
    assert parsers.parse_log(text, format="mindspore").steps["loss"].tolist() == [0.5]
    assert parsers.parse_log(text, format="mindspore").meta["forced_format"] == "mindspore"


def test_user_toml_format(tmp_path: Path) -> None:
    formats = tmp_path / "mine.toml"
    formats.write_text(TOML)
    log = tmp_path / "job.log"
    log.write_text(LOG)
    parsed = parsers.parse_log(log, formats_file=formats)
    assert parsed.meta["formats"] == ["mytrainer"]
    assert parsed.steps[["epoch", "step", "global_step", "loss"]].values.tolist() == [
        [1, 1, 1, 0.9],
        [1, 2, 2, 0.7],
        [2, 1, 3, 0.5],
    ]
    assert parsed.epochs[["epoch", "epoch_time_ms"]].values.tolist() == [[1, 1500.0]]


def test_user_toml_next_to_the_log_is_found(tmp_path: Path) -> None:
    (tmp_path / "epochscope-formats.toml").write_text(TOML.replace("mytrainer", "beside"))
    log = tmp_path / "job.log"
    log.write_text(LOG)
    assert parsers.parse_log(log).meta["formats"] == ["beside"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [", "not valid TOML"),
        ("[formats.x]\n", "needs a [[formats.x.patterns]] list"),
        ('[[formats.x.patterns]]\ntable = "steps"\nregex = "(unclosed"\n', "invalid regex"),
        (
            '[[formats.x.patterns]]\ntable = "steps"\nregex = "(?P<loss>.)"\nfields = {loss = "weird"}\n',
            "unknown type",
        ),
    ],
)
def test_bad_user_formats_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    formats = tmp_path / "bad.toml"
    formats.write_text(text)
    with pytest.raises(parsers.FormatDefinitionError) as err:
        parsers.parse_log("epoch: 1 step: 1, loss is 0.5\n", formats_file=formats)
    assert message in str(err.value)
    assert str(formats) in str(err.value)
