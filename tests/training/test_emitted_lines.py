"""Emitter and parser agree: every template in log_lines.py, rendered, is read by ``parsers``."""

from __future__ import annotations

import pytest

from training import log_lines

SAMPLES = {
    "start": {"epochs": 90},
    "step": {"epoch": 3, "step": 17, "loss": 0.693147},
    "throughput": {
        "epoch": 3,
        "seconds": 12.5,
        "steps": 44,
        "step_ms": 284.091,
        "samples_per_sec": 112.6,
    },
    "epoch_time": {"mode": "Train", "epoch_ms": 12500.0, "step_ms": 284.091},
    "eval": {"epoch": 3, "metrics": {"acc": 0.875, "loss": 0.41}},
    "checkpoint": {"path": "checkpoints/resnet18-3_44.ckpt"},
    "pretrained": {
        "path": "backbone.ckpt",
        "loaded": 60,
        "skipped_count": 2,
        "skipped": "end_point.weight: shape (9, 64) in checkpoint, (2, 64) in model",
        "ignored": 63,
    },
    "resume": {"path": "checkpoints/resnet18-2_44.ckpt", "epoch": 3},
    "finish": {"seconds": 61.25},
    "interrupt": {"signal": "SIGTERM", "epoch": 3},
}


def _render(kind: str) -> str:
    return log_lines.TEMPLATES[kind].format(**SAMPLES[kind])


def test_every_template_has_a_sample() -> None:
    assert set(SAMPLES) == set(log_lines.TEMPLATES)


def _read_back(kind: str) -> tuple[str, list[dict]]:
    """The table each sample line must land in and the row(s) it must give, from SAMPLES."""
    step, throughput = SAMPLES["step"], SAMPLES["throughput"]
    epoch_time, evals = SAMPLES["epoch_time"], SAMPLES["eval"]
    rows = {
        "step": ("steps", [{key: step[key] for key in ("epoch", "step", "loss")}]),
        "throughput": (
            "epochs",
            [
                {
                    "epoch": throughput["epoch"],
                    "epoch_time_ms": throughput["seconds"] * 1000,
                    "steps": throughput["steps"],
                    "step_time_ms": throughput["step_ms"],
                    "samples_per_sec": throughput["samples_per_sec"],
                }
            ],
        ),
        "epoch_time": (
            "epochs",
            [{"epoch_time_ms": epoch_time["epoch_ms"], "step_time_ms": epoch_time["step_ms"]}],
        ),
        "eval": (
            "evals",
            [{"epoch": evals["epoch"], "metric": k, "value": v} for k, v in evals["metrics"].items()],
        ),
    }
    return rows.get(kind, ("events", [{"kind": kind}]))


@pytest.mark.parametrize("kind", sorted(log_lines.TEMPLATES))
def test_parser_reads_back_the_values_of_every_emitted_line(kind: str, parsers_lib) -> None:
    """Each template rendered with known values, read by the real parser: the values come back
    in the table and columns they belong to, and an event keeps the whole line as its message."""
    line = _render(kind)
    log = parsers_lib.parse_log(line + "\n")
    table, expected = _read_back(kind)
    got = getattr(log, table)
    assert len(got) == len(expected), got
    for row, want in zip(got.to_dict("records"), expected):
        assert {key: row[key] for key in want} == want, (line, row)  # each value printed exactly
        assert row["line"] == 1
    if table == "events":
        assert got["message"].tolist() == [line]
    if kind == "start":
        assert log.meta["total_epochs"] == SAMPLES["start"]["epochs"]


@pytest.mark.parametrize("kind", sorted(log_lines.TEMPLATES))
def test_parser_recognises_every_emitted_line(kind: str, parsers_lib) -> None:
    log = parsers_lib.parse_log(_render(kind) + "\n")
    assert log.meta["lines_skipped"] == 0


def test_parser_reads_the_values_we_wrote(parsers_lib) -> None:
    text = (
        "\n".join(
            _render(kind)
            for kind in (
                "start",
                "step",
                "throughput",
                "epoch_time",
                "eval",
                "checkpoint",
                "finish",
            )
        )
        + "\n"
    )
    log = parsers_lib.parse_log(text)
    step = log.steps.iloc[0]
    assert (step["epoch"], step["step"], step["loss"]) == (3, 17, pytest.approx(0.693147))
    epoch = log.epochs.iloc[0]
    assert epoch["epoch"] == 3
    assert epoch["samples_per_sec"] == pytest.approx(112.6)
    assert epoch["epoch_time_ms"] == pytest.approx(12500.0)
    assert dict(zip(log.evals["metric"], log.evals["value"])) == {"acc": 0.875, "loss": 0.41}
    assert log.meta["total_epochs"] == 90
    assert {"start", "checkpoint", "finish"} <= set(log.events["kind"])
