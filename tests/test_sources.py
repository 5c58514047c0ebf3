"""What parse_log accepts: files, gzip, per-rank directories, text; and what it survives."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

import parsers
from tests.conftest import DATA

BASIC = DATA / "mindspore-2.10-cpu" / "basic.log"


def test_gzip_parses_like_the_plain_file(tmp_path: Path) -> None:
    packed = tmp_path / "train.log.gz"
    packed.write_bytes(gzip.compress(BASIC.read_bytes()))
    plain, zipped = parsers.parse_log(BASIC), parsers.parse_log(packed)
    for name, table in plain.tables().items():
        assert table.equals(zipped.tables()[name]), name


def test_directory_of_rank_logs_gives_rank_column(tmp_path: Path) -> None:
    for rank in (0, 1):
        folder = tmp_path / f"rank_{rank}"
        folder.mkdir()
        shutil.copy(BASIC, folder / "train.log")
    (tmp_path / "notes.md").write_text("not a log")
    log = parsers.parse_log(tmp_path)
    assert sorted(log.steps["rank"].unique().tolist()) == [0, 1]
    assert log.steps.groupby("rank").size().tolist() == [45, 45]
    assert log.meta["ranks"] == [0, 1]
    assert [f["rank"] for f in log.meta["files"]] == [0, 1]


def test_text_and_bytes_sources() -> None:
    text = BASIC.read_text()
    assert len(parsers.parse_log(text).steps) == 45
    assert len(parsers.parse_log(text.encode()).steps) == 45


def test_crlf_and_non_utf8_and_long_lines_survive(tmp_path: Path) -> None:
    lines = BASIC.read_bytes().split(b"\n")
    garbage = [b"\xff\xfe broken \x80 bytes", b"x" * 3_000_000, b"\xe8\xae\xad\xe7\xbb\x83 epoch"]
    mixed = lines[:10] + garbage + lines[10:]
    path = tmp_path / "crlf.log"
    path.write_bytes(b"\r\n".join(mixed))
    log = parsers.parse_log(path)
    assert len(log.steps) == 45
    assert log.steps["loss"].tolist() == parsers.parse_log(BASIC).steps["loss"].tolist()
    assert log.meta["lines_skipped"] == 3


def test_small_blocks_give_the_same_tables(tmp_path: Path) -> None:
    """Block boundaries fall mid-line; records on both sides of a cut survive."""
    from parsers.dispatch import Dispatcher
    from parsers.parse import parse_source
    from parsers.registry import ordered_patterns
    from parsers.source import open_sources

    src = open_sources(BASIC)[0]
    whole = parse_source(src, Dispatcher(ordered_patterns(None)))
    tiny = parse_source(src, Dispatcher(ordered_patterns(None)), block_size=37)
    from parsers.engine import assemble

    a, b = assemble([whole]), assemble([tiny])
    for name in a.tables():
        assert a.tables()[name].equals(b.tables()[name]), name


def _missing(folder: Path) -> Path:
    return folder / "missing.log"


def _empty(folder: Path) -> Path:
    (folder / "empty.log").write_text("")
    return folder / "empty.log"


def _binary(folder: Path) -> Path:
    (folder / "bin.log").write_bytes(b"\x00\x01\x02" * 100)
    return folder / "bin.log"


def _no_logs(folder: Path) -> Path:
    (folder / "d").mkdir()
    (folder / "d" / "notes.md").write_text("# notes")
    return folder / "d"


def _broken_gzip(folder: Path) -> Path:
    (folder / "x.log.gz").write_bytes(b"\x1f\x8b garbage")
    return folder / "x.log.gz"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_missing, "no such file or directory"),
        (_empty, "file is empty"),
        (_binary, "binary file"),
        (_no_logs, "directory holds no log files"),
        (_broken_gzip, "broken gzip"),
    ],
)
def test_bad_input_raises_log_error_naming_the_file(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(parsers.LogError) as err:
        parsers.parse_log(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_no_records_lists_formats_tried_and_suggests_formats(tmp_path: Path) -> None:
    path = tmp_path / "prose.log"
    path.write_text("hello\nthis is not a training log\n")
    with pytest.raises(parsers.NoRecordsError) as err:
        parsers.parse_log(path)
    assert str(path) in str(err.value)
    assert "mindspore" in str(err.value) and "mindformers" in str(err.value)
    assert "--formats" in str(err.value)
