"""The compiled event reader and its numpy twin give the same scalars, cursors and corrupt records.

The compiled scanner (``parsers._scan``) walks the records with both CRC32Cs and decodes
Events of the common shape (tag + float per Value); the rest go to the numpy decoder.
Without a compiler, ``parsers._scan_py``'s twins do all of it in numpy.  Files here are
written by tensorboardX: plain ``add_scalar``, ``add_scalar`` with a display name (a Value
with metadata: the general decoder's), text and PR curves (tensors that are not scalars)
and TF2-style tensor scalars through tensorboardX's own writer and protobuf classes --
then torn and corrupted.  Every expected value is what the test wrote.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from event_records import record_offsets

from parsers import _scan_py
from parsers._scan_py import masked_crc32c
from parsers.events import decode as decode_module
from parsers.events import event_files, read_event_file
from parsers.events import records as records_module
from parsers.events.walk import HEADER

with warnings.catch_warnings():  # tensorboardX's protobuf modules warn about their generated code
    warnings.simplefilter("ignore")
    from tensorboardX import SummaryWriter
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboardX.proto.tensor_pb2 import TensorProto

pytestmark = pytest.mark.skipif(not records_module.COMPILED, reason="needs the compiled scanner to compare")

T0 = 1_700_000_000.0
STEPS = range(1, 62)  # the last record: a loss (step 61), for the torn-tail case


def value_at(step: int, k: int) -> float:
    return float(np.float32(np.sin(step / 7 + k)))


def tf2_scalar(tag: str, value: float, *, first: bool) -> Summary:
    """A scalar as TensorFlow 2 writes it: a rank-0 DT_FLOAT tensor; the "scalars" plugin named
    in the metadata of the tag's first value only."""
    metadata = (
        SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars")) if first else None
    )
    tensor = TensorProto(dtype="DT_FLOAT", float_val=[value])
    return Summary(value=[Summary.Value(tag=tag, tensor=tensor, metadata=metadata)])


def write_mixed(folder: Path) -> tuple[Path, pd.DataFrame]:
    """An event file mixing every kind of Value tensorboardX writes; returns it and the scalars
    a reader must find (tag, step, wall_time, value), in file order."""
    writer = SummaryWriter(str(folder), flush_secs=3600)
    rows = []
    for step in STEPS:
        wall = T0 + step * 0.5
        writer.add_scalar("train/loss", value_at(step, 0), step, walltime=wall)
        rows.append(("train/loss", step, wall, value_at(step, 0)))
        if step % 3 == 0:
            writer.add_scalar("lr", value_at(step, 1), step, walltime=wall, display_name="learning rate")
            rows.append(("lr", step, wall, value_at(step, 1)))
        if step % 4 == 0:
            writer.file_writer.add_summary(
                tf2_scalar("tf2/acc", value_at(step, 2), first=step == 4), step, wall
            )
            rows.append(("tf2/acc", step, wall, value_at(step, 2)))
        if step % 10 == 0:
            writer.add_text("note", f"step {step}", step, walltime=wall)
            labels = np.array([0, 1, 1, 0, 1])
            writer.add_pr_curve("pr", labels, np.linspace(0.1, 0.9, 5), step, walltime=wall)
    writer.close()
    (path,) = event_files(folder)
    return path, pd.DataFrame(rows, columns=["tag", "step", "wall_time", "value"])


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    return write_mixed(tmp_path / "tb")


def read_both(path: Path, monkeypatch: pytest.MonkeyPatch, **kwargs):
    """``read_event_file`` with the compiled scanner, then with the numpy twins only."""
    compiled = read_event_file(path, **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(records_module, "event_records", _scan_py.event_records)
        patch.setattr(decode_module, "event_scalars", _scan_py.event_scalars)
        twin = read_event_file(path, **kwargs)
    return compiled, twin


def assert_same(compiled, twin) -> None:
    pd.testing.assert_frame_equal(compiled.scalars, twin.scalars)
    assert compiled.cursor.to_json() == twin.cursor.to_json()
    assert compiled.corrupt == twin.corrupt and compiled.pending == twin.pending


def test_every_kind_of_value_is_read_the_same_by_both(mixed, monkeypatch: pytest.MonkeyPatch) -> None:
    path, want = mixed
    compiled, twin = read_both(path, monkeypatch)
    assert_same(compiled, twin)
    got = compiled.scalars
    assert got["tag"].tolist() == want["tag"].tolist()
    assert got["step"].tolist() == want["step"].tolist()
    assert got["wall_time"].tolist() == want["wall_time"].tolist()
    assert got["value"].tolist() == want["value"].tolist()
    assert compiled.cursor.dialect.scalar_tags == {"tf2/acc"}  # learned from the first value's metadata


def test_small_blocks_read_the_same_by_both(mixed, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 1 KB: records cut at every block end, tags decoded per block, then joined."""
    path, want = mixed
    compiled, twin = read_both(path, monkeypatch, block=1024)
    assert_same(compiled, twin)
    assert compiled.scalars["value"].tolist() == want["value"].tolist()


@pytest.mark.parametrize("damage", ["data", "length", "torn", "two", "tail"])
def test_damaged_files_are_read_the_same_by_both(
    mixed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    path, want = mixed
    data = bytearray(path.read_bytes())
    offsets = record_offsets(bytes(data))
    if damage == "torn":
        data = data[:-9]
    elif damage == "tail":
        data += b"\x07" * 30  # garbage after the last record of a finished file
    else:
        for at in offsets[20:21] if damage != "two" else (offsets[20], offsets[40]):
            data[at + (HEADER + 2 if damage != "length" else 3)] ^= 0xFF
    broken = tmp_path / "broken" / path.name
    broken.parent.mkdir()
    broken.write_bytes(bytes(data))
    for final in (True, False):
        compiled, twin = read_both(broken, monkeypatch, final=final)
        assert_same(compiled, twin)
    lost = {"torn": 1, "data": 1, "length": 1, "two": 2, "tail": 0}[damage]
    assert len(compiled.scalars) == len(want) - lost
    if damage in ("data", "length", "two"):
        assert [o for o, _ in compiled.cursor.corrupt][:1] == [offsets[20]]


def test_the_crc_of_any_length_is_the_same_by_both() -> None:
    from parsers import _scan

    rng = np.random.default_rng(1)
    for n in (0, 1, 7, 8, 9, 100, 511, 512, 513, 5000):
        data = rng.integers(0, 256, n, dtype=np.uint8)
        assert _scan.masked_crc32c(data) == _scan_py.masked_crc32c(data)
    # the check value of CRC32C ("123456789" -> 0xE3069283), masked as event files store it
    crc = 0xE3069283
    assert (
        _scan.masked_crc32c(np.frombuffer(b"123456789", np.uint8))
        == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    )


def test_flipped_bytes_anywhere_are_read_the_same_by_both(
    mixed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes flipped at random places (inside lengths, CRCs, varints, tags): the compiled reader
    neither crashes nor reads past a record, and gives what the numpy twin gives, or the same error."""
    path, _ = mixed
    clean = path.read_bytes()
    offsets = record_offsets(clean)
    cold = read_event_file(path).scalars
    malformed = changed = 0
    rng = np.random.default_rng(7)
    for trial in range(60):
        data = bytearray(clean)
        for at in rng.integers(0, len(data), size=int(rng.integers(1, 6))):
            data[int(at)] ^= int(rng.integers(1, 256))
        if (
            trial % 2
        ):  # flips inside records whose CRC is made right again: malformed Events reach the decoders
            data = bytearray(clean)
            for start in rng.choice(offsets, size=3, replace=False).tolist():
                length = int.from_bytes(data[start : start + 8], "little")
                at = start + HEADER + int(rng.integers(0, max(length, 1)))
                data[at] ^= int(rng.integers(1, 256))
                crc = masked_crc32c(
                    np.frombuffer(bytes(data[start + HEADER : start + HEADER + length]), np.uint8)
                )
                data[start + HEADER + length : start + HEADER + length + 4] = crc.to_bytes(4, "little")
        broken = tmp_path / f"{trial}" / path.name
        broken.parent.mkdir()
        broken.write_bytes(bytes(data))
        outcomes = []
        for patched in (False, True):
            with monkeypatch.context() as patch:
                if patched:
                    patch.setattr(records_module, "event_records", _scan_py.event_records)
                    patch.setattr(decode_module, "event_scalars", _scan_py.event_scalars)
                try:
                    outcomes.append(read_event_file(broken))
                except Exception as exc:  # the same error both ways, checked below
                    outcomes.append(type(exc))
        compiled, twin = outcomes
        if isinstance(compiled, type) or isinstance(twin, type):
            assert compiled == twin, trial
        else:
            assert_same(compiled, twin)
            malformed += sum(why == "not an Event message" for _, why in compiled.corrupt)
            changed += not compiled.scalars[["tag", "value"]].equals(cold[["tag", "value"]])
    assert malformed and changed  # the decoders met broken Events and values that changed
