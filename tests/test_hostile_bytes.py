"""Hostile bytes around valid records (issue 12, findings 2 and 3): every record survives.

A training log is written by many hands: a GBK-encoded Chinese message from an Ascend
driver, a stray ``\\xff``, NUL blocks a crashed node left at the head or in the middle,
Windows line endings, a log saved as UTF-16 by an editor, a gzip cut short by a full
disk.  None of these may cost a record, crash ``parse-log`` or make a store row an
error.  Every case is a real file on disk read by the real parser, CLI and store.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pandas as pd
import pytest
from cli_logs import run_cli

import parsers
from parsers.store import RunStore
from tests.conftest import DATA

BASIC = DATA / "mindspore-2.10-cpu" / "basic.log"  # 45 steps, 3 epochs, 1 eval
TRACEBACK = DATA / "mindspore" / "ascend_error_e39999_traceback.log"  # errors and a traceback
GBK_ERROR = "[ERROR] 训练失败：设备内存不足".encode("gbk")  # what an Ascend box in a Chinese locale prints
GBK_FRAME = '  File "/home/用户/train.py", line 3, in <module>'.encode("gbk")


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _steps(log: parsers.ParsedLog) -> list[tuple]:
    return list(log.steps[["line", "epoch", "step", "loss"]].itertuples(index=False, name=None))


def _same_tables(
    got: parsers.ParsedLog, want: parsers.ParsedLog, tables=("steps", "epochs", "evals")
) -> None:
    for name in tables:
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)


# --- finding 2: one non-UTF-8 byte ------------------------------------------------------------


def _with_bad_bytes(tmp_path: Path) -> Path:
    """basic.log with a \\xff error line, a GBK error line and a GBK traceback among its records."""
    lines = _lines(BASIC)
    bad = [b"[ERROR] bad byte \xff in the middle\n", GBK_ERROR + b"\n"]
    traceback = [b"Traceback (most recent call last):\n", GBK_FRAME + b"\n", b"RuntimeError: \xff\xfe\n"]
    path = tmp_path / "bad_bytes.log"
    path.write_bytes(b"".join(lines[:5] + bad + lines[5:20] + traceback + lines[20:]))
    return path


def test_invalid_utf8_in_error_and_traceback_lines_keeps_every_record(tmp_path: Path) -> None:
    log = parsers.parse_log(_with_bad_bytes(tmp_path))
    want = parsers.parse_log(BASIC)
    assert log.steps["loss"].tolist() == want.steps["loss"].tolist()
    assert len(log.epochs) == len(want.epochs) and len(log.evals) == len(want.evals)
    messages = log.events["message"].tolist()
    assert "[ERROR] bad byte \ufffd in the middle" in messages  # the byte is kept, as U+FFFD
    assert any(m.startswith("[ERROR] ") and "\ufffd" in m for m in messages if "bad byte" not in m)
    assert "traceback" in log.events["kind"].tolist()
    for message in messages:
        message.encode("utf-8")  # every message is valid text (it used to hold lone surrogates)


def test_invalid_utf8_log_goes_through_the_cli_and_its_parquet_tables(tmp_path: Path) -> None:
    path = _with_bad_bytes(tmp_path)
    shown = run_cli(path, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["steps"] == 45
    written = run_cli(path, "--to", "parquet", "-o", tmp_path / "out")
    assert written.returncode == 0, written.stderr
    events = pd.read_parquet(tmp_path / "out" / "events.parquet")
    assert events["message"].str.contains("\ufffd").any()


def test_invalid_utf8_log_is_a_store_row_with_data(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / "gbk").mkdir(parents=True)
    _with_bad_bytes(runs / "gbk").rename(runs / "gbk" / "train.log")
    store = RunStore(runs)
    result = store.refresh().set_index("run")
    assert result.loc["gbk", "status"] == "new", result.loc["gbk", "error"]
    assert len(store.table("steps", ["gbk"])) == 45
    assert store.table("events", ["gbk"])["message"].str.contains("\ufffd").any()


def test_a_shape_of_control_bytes_is_not_taken_for_numbers() -> None:
    """The scanner marks a number in a line's shape; a raw \\x01 byte must not look like one,
    or a garbage line takes the shape of a record and the next line's numbers as its own."""
    text = b"epoch: 1 step: 1, loss is 0.5\nepoch: \x01 step: \x01, loss is \x02\nepoch: 1 step: 2, loss is 0.25\n"
    assert _steps(parsers.parse_log(text)) == [(1, 1, 1, 0.5), (3, 1, 2, 0.25)]


# --- finding 3: garbage before valid lines --------------------------------------------------


def _random_block(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.mark.parametrize(
    "head",
    [b"\x00" * 4096, b"\x00" * 65536 + b"\n", _random_block(1, 8192) + b"\n"],
    ids=["4k-nul-glued-to-line-1", "64k-nul-line", "8k-random"],
)
def test_garbage_at_the_head_hides_no_record(tmp_path: Path, head: bytes) -> None:
    path = tmp_path / "crashed_node.log"
    path.write_bytes(head + BASIC.read_bytes())
    log = parsers.parse_log(path)
    assert log.steps["loss"].tolist() == parsers.parse_log(BASIC).steps["loss"].tolist()
    assert len(log.epochs) == 3 and len(log.evals) == 1


def test_nul_blocks_in_the_middle_hide_no_record_not_even_a_line_glued_to_them(tmp_path: Path) -> None:
    """A node that crashed leaves NULs where the file system had allocated but not written; the
    restarted job appends right after them, so its first line starts with the NUL run."""
    text = TRACEBACK.read_bytes()
    cut = text.index(b"Traceback")
    path = tmp_path / "restarted.log"
    path.write_bytes(text[:cut] + b"\x00" * 5000 + text[cut:])
    log, want = parsers.parse_log(path), parsers.parse_log(TRACEBACK)
    assert log.events["kind"].tolist() == want.events["kind"].tolist()
    assert log.events["line"].tolist() == want.events["line"].tolist()  # NULs are not line breaks
    assert all("\x00" not in m for m in log.events["message"])


def test_a_binary_file_is_still_refused_and_prose_is_no_records(tmp_path: Path) -> None:
    binary = tmp_path / "weights.log"
    binary.write_bytes(_random_block(2, 100_000))
    with pytest.raises(parsers.UnreadableLogError, match="binary file, not a text log"):
        parsers.parse_log(binary)
    prose = tmp_path / "notes.log"  # mostly text with a little binary: text without records
    prose.write_bytes(b"shopping list\n" * 500 + b"\x00" * 100 + b"\n")
    with pytest.raises(parsers.NoRecordsError):
        parsers.parse_log(prose)


def test_garbage_at_the_head_is_a_store_row_with_data(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for name, head in {"nul": b"\x00" * 4096, "random": _random_block(3, 8192) + b"\n"}.items():
        (runs / name).mkdir(parents=True)
        (runs / name / "train.log").write_bytes(head + BASIC.read_bytes())
    (runs / "binary").mkdir()
    (runs / "binary" / "train.log").write_bytes(_random_block(4, 50_000))
    store = RunStore(runs)
    result = store.refresh().set_index("run")
    for name in ("nul", "random"):
        assert result.loc[name, "status"] == "new", result.loc[name, "error"]
        assert len(store.table("steps", [name])) == 45
    assert result.loc["binary", "error"].endswith("binary file, not a text log")


# --- line endings and encodings -------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_a_log_with_a_byte_order_mark_is_decoded(tmp_path: Path, encoding: str) -> None:
    text = BASIC.read_text("utf-8").replace("\n", "\r\n")  # editors that save UTF-16 also write CRLF
    path = tmp_path / f"{encoding}.log"
    data = text.encode(encoding)
    path.write_bytes(data if encoding != "utf-16-be" else b"\xfe\xff" + data)
    _same_tables(parsers.parse_log(path), parsers.parse_log(BASIC))


@pytest.mark.parametrize("mark", [b"\xfe\xff", b"\xff\xfe"], ids=["BE", "LE"])
def test_stray_bytes_that_look_like_a_utf16_mark_hide_no_utf8_record(tmp_path: Path, mark: bytes) -> None:
    """A crashed writer's garbage that happens to start with a UTF-16 byte-order mark, before an
    ordinary UTF-8 log (found by the property test): the log is read as the UTF-8 it is, every
    record at its line, the garbage line skipped."""
    path = tmp_path / "train.log"
    path.write_bytes(mark + b"\n" + BASIC.read_bytes())
    log, clean = parsers.parse_log(path), parsers.parse_log(BASIC)
    assert log.steps["loss"].tolist() == clean.steps["loss"].tolist()
    assert (log.steps["line"] - 1).tolist() == clean.steps["line"].tolist()
    assert log.meta["lines_skipped"] == clean.meta["lines_skipped"] + 1


def test_a_utf16_log_in_the_store_is_read_whole_each_time_it_changes(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / "u16").mkdir(parents=True)
    lines = BASIC.read_text("utf-8").splitlines(keepends=True)
    log = runs / "u16" / "train.log"
    log.write_bytes("".join(lines[:20]).encode("utf-16"))
    store = RunStore(runs)
    assert store.refresh()["status"].tolist() == ["new"]
    assert len(store.table("steps")) == sum(b"loss is" in line for line in map(str.encode, lines[:20]))
    log.write_bytes("".join(lines).encode("utf-16"))  # grown: offsets in UTF-16 are not UTF-8's
    assert store.refresh()["status"].tolist() == ["reparsed"]
    assert store.table("steps")["loss"].tolist() == parsers.parse_log(BASIC).steps["loss"].tolist()


def test_a_gzip_of_utf16_text_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "train.log.gz"
    path.write_bytes(gzip.compress(BASIC.read_text("utf-8").encode("utf-16")))
    _same_tables(parsers.parse_log(path), parsers.parse_log(BASIC))


# --- a gzip cut short -------------------------------------------------------------------------


def _cut_gzip(folder: Path, *, keep: float = 0.5) -> Path:
    """basic.log gzip'd, then cut: what a disk that filled up while compressing leaves."""
    packed = gzip.compress(BASIC.read_bytes() * 20, compresslevel=1)
    path = folder / "train.log.gz"
    path.write_bytes(packed[: int(len(packed) * keep)])
    return path


def _readable_prefix(path: Path) -> bytes:
    """The text a reader gets out of a cut gzip before the cut, read the slow, sure way."""
    import zlib

    return zlib.decompressobj(31).decompress(path.read_bytes())


def test_a_truncated_gzip_keeps_the_records_before_the_cut_and_says_where_it_ends(tmp_path: Path) -> None:
    path = _cut_gzip(tmp_path)
    prefix = _readable_prefix(path)
    whole_lines = prefix[: prefix.rfind(b"\n") + 1]
    log = parsers.parse_log(path)
    assert _steps(log)[: whole_lines.count(b"loss is")] == _steps(parsers.parse_log(whole_lines))
    cut = log.events[log.events["message"].str.contains("gzip")]
    assert cut["kind"].tolist() == ["warning"]
    assert "ends early" in cut["message"].iloc[0] and path.name in cut["message"].iloc[0]


def test_a_truncated_gzip_is_a_warning_in_the_cli_and_the_store(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / "cut").mkdir(parents=True)
    path = _cut_gzip(runs / "cut")
    shown = run_cli(path, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["steps"] > 45
    store = RunStore(runs)
    result = store.refresh()
    assert result["status"].tolist() == ["new"], result["error"].tolist()
    assert "warning" in store.table("events")["kind"].tolist()


def test_a_gzip_cut_before_any_text_is_still_an_error(tmp_path: Path) -> None:
    path = _cut_gzip(tmp_path, keep=0.01)  # the header and a few bytes of the first block
    assert b"\n" not in _readable_prefix(path)
    with pytest.raises(parsers.UnreadableLogError, match="broken gzip"):
        parsers.parse_log(path)


@pytest.mark.parametrize(
    "encode", [gzip.compress, lambda data: data.decode().encode("utf-16")], ids=["gzip", "utf-16"]
)
def test_the_store_reads_a_decoded_log_from_any_offset_of_its_text(tmp_path: Path, encode) -> None:
    """The store opens a part of a log at its offset in the text (a step line held back for its
    time line is read again from where it starts): a gzip'd or UTF-16 log's text seeks too,
    forward by reading on and back by starting over."""
    from parsers.store.logfile import LogFile
    from parsers.store.segments import SliceSource

    text = BASIC.read_bytes() * 30
    path = tmp_path / "train.log"
    path.write_bytes(encode(text))
    log = LogFile(str(path))
    assert log.is_gzip()  # read whole, never appended to at a byte offset of the file
    opener = log.opener(gzip_file=True)
    for start, stop in [(0, 100), (50_000, 50_300), (7, 9), (len(text) - 10, len(text))]:
        piece = SliceSource("train.log", None, path=path, start=start, stop=stop, opener=opener)
        with piece.open() as handle:
            assert handle.read() == text[start:stop]
    runs = tmp_path / "runs"
    (runs / "big").mkdir(parents=True)
    path.rename(runs / "big" / "train.log")
    store = RunStore(runs, tmp_path / "store")
    assert store.refresh()["status"].tolist() == ["new"]
    assert store.table("steps")["loss"].tolist() == parsers.parse_log(text).steps["loss"].tolist()


_TEXT_TIMES_FORMAT = """
[formats.mytrainer]
description = "an in-house trainer whose times are declared as text"

[[formats.mytrainer.patterns]]
table = "steps"
regex = 'it (?P<step>\\d+) ep (?P<epoch>\\d+) loss=(?P<loss>\\S+)'
fields = { step = "int", epoch = "int", loss = "float" }

[[formats.mytrainer.patterns]]
table = "epochs"
regex = 'ep (?P<epoch>\\d+) took (?P<epoch_time_ms>\\S+) ms per step (?P<step_time_ms>\\S+) ms data (?P<data_time_ms>\\S+) ms (?P<samples_per_sec>\\S+) imgs/s (?P<steps>\\S+) steps'
fields = { epoch = "int", epoch_time_ms = "str", step_time_ms = "str", data_time_ms = "str", samples_per_sec = "str", steps = "str" }
"""


def test_a_time_declared_as_text_that_is_no_number_is_missing_not_a_crash(tmp_path: Path) -> None:
    """A user's format declares its epoch and step times as ``str`` and one epoch prints ``n/a``:
    the number read where there is one, the ``n/a`` epoch kept with its times missing."""
    (tmp_path / "epochscope-formats.toml").write_text(_TEXT_TIMES_FORMAT, encoding="utf-8")
    log_path = tmp_path / "train.log"
    log_path.write_text(
        "it 1 ep 1 loss=0.5\nit 2 ep 1 loss=0.4\nep 1 took 200.5 ms per step 100.25 ms data 4.5 ms 640.5 imgs/s 2 steps\n"
        "it 1 ep 2 loss=0.3\nit 2 ep 2 loss=0.2\nep 2 took n/a ms per step n/a ms data n/a ms n/a imgs/s n/a steps\n",
        encoding="utf-8",
    )
    epochs = parsers.parse_log(log_path).epochs
    assert epochs["epoch"].tolist() == [1, 2]
    times = ["epoch_time_ms", "step_time_ms", "data_time_ms", "samples_per_sec", "steps"]
    assert epochs[times].iloc[0].tolist() == [200.5, 100.25, 4.5, 640.5, 2]
    assert epochs[times].iloc[1].isna().all()
    assert epochs["samples_per_sec_source"].iloc[0] == "printed"
    assert pd.isna(epochs["samples_per_sec_source"].iloc[1])  # n/a: no throughput printed


def test_a_users_format_counting_epochs_from_0_is_shifted_like_a_built_in_one(tmp_path: Path) -> None:
    """The README's own example: a user's format with ``epoch_base = 0`` prints epochs 0 and 1;
    the tables number them 1 and 2, as for a built-in 0-based format, and count steps on."""
    (tmp_path / "epochscope-formats.toml").write_text(
        _TEXT_TIMES_FORMAT.replace(
            'description = "an in-house', 'epoch_base = 0\ndescription = "an in-house'
        ),
        encoding="utf-8",
    )
    log_path = tmp_path / "train.log"
    log_path.write_text(
        "it 1 ep 0 loss=0.5\nit 2 ep 0 loss=0.4\nep 0 took 200.5 ms per step 100.25 ms data 4.5 ms 640.5 imgs/s 2 steps\n"
        "it 1 ep 1 loss=0.3\nit 2 ep 1 loss=0.2\n",
        encoding="utf-8",
    )
    log = parsers.parse_log(log_path)
    assert log.steps[["epoch", "step", "global_step"]].values.tolist() == [
        [1, 1, 1],
        [1, 2, 2],
        [2, 1, 3],
        [2, 2, 4],
    ]
    assert log.epochs["epoch"].tolist() == [1]
