"""``parse-log compare``: deltas against a baseline and the exit code of each ``--fail-on`` rule.

The candidate of each test is the baseline log with one kind of line edited (or
written by the benchmark generator with another batch size), and the expected
change is computed from the edited text.
"""

from __future__ import annotations

import ast
import json

import pytest
from cli_logs import (
    EPOCH_MS,
    EVAL_DICT,
    LOSS,
    THROUGHPUT,
    call_cli,
    corpus_log,
    edited,
    mean_without_first,
    numbers,
    reference_log,
    run_cli,
)

import parsers
from parsers.cli import main
from parsers.compare import RULES, RuleError, compare, parse_rule
from tests.conftest import DATA


@pytest.fixture
def baseline(tmp_path):
    return reference_log(tmp_path / "baseline.log")


def slower(baseline, tmp_path, factor: float):
    """The baseline with every epoch-time figure (s, ms, per step) ``factor`` times larger."""
    path = edited(
        baseline,
        tmp_path / "slower.log",
        r"cost time = ([\d.]+)",
        lambda m: f"cost time = {float(m[1]) * factor}",
    )
    path = edited(path, path, r"one step time: ([\d.]+)", lambda m: f"one step time: {float(m[1]) * factor}")
    path = edited(
        path,
        path,
        r"^epoch time: ([\d.]+) ms, per step time: ([\d.]+)",
        lambda m: f"epoch time: {float(m[1]) * factor:.3f} ms, per step time: {float(m[2]) * factor:.3f}",
    )
    return path


def compare_cli(baseline, candidate, *rules, capsys=None):
    argv = ["compare", baseline, candidate, "--json"] + [a for r in rules for a in ("--fail-on", r)]
    code = main([str(a) for a in argv])
    return code, json.loads(capsys.readouterr().out)


def check(result, rule):
    return [c for c in result["checks"] if c["rule"] == rule]


def test_identical_runs_pass_every_rule(baseline, capsys):
    rules = [name if kind.worse == "any" else f"{name}=0%" for name, kind in RULES.items()]
    code, result = compare_cli(baseline, baseline, *rules, capsys=capsys)
    assert code == 0, result["checks"]
    assert result["verdict"].startswith("passed")
    assert {c["rule"] for c in result["checks"]} == set(rules)


def test_deltas_say_how_many_epochs_each_side_had(baseline, tmp_path, capsys):
    lines = baseline.read_text().splitlines(keepends=True)
    cut = [i for i, line in enumerate(lines) if line.startswith("epoch time:")][1] + 1
    short = tmp_path / "short.log"
    short.write_text("".join(lines[:cut]))
    code, result = compare_cli(baseline, short, capsys=capsys)
    assert code == 0
    rows = {r["metric"]: r for r in result["deltas"]}
    assert rows["epochs done"]["baseline"] == len(numbers(EPOCH_MS, baseline))
    assert rows["epochs done"]["candidate"] == len(numbers(EPOCH_MS, short))
    assert rows["epochs in mean epoch time"]["candidate"] == len(numbers(EPOCH_MS, short)) - 1
    assert rows["mean epoch time (ms)"]["candidate"] == pytest.approx(
        mean_without_first(numbers(EPOCH_MS, short))
    )


def test_epoch_time_rise(baseline, tmp_path, capsys):
    candidate = slower(baseline, tmp_path, 1.2)
    rise = (
        mean_without_first(numbers(EPOCH_MS, candidate)) / mean_without_first(numbers(EPOCH_MS, baseline)) - 1
    )
    code, result = compare_cli(baseline, candidate, "epoch-time-rise=5%", capsys=capsys)
    assert code == 1
    (row,) = check(result, "epoch-time-rise=5%")
    assert not row["passed"] and row["worse_by"] == pytest.approx(rise, rel=1e-6)
    assert compare_cli(baseline, candidate, f"epoch-time-rise={100 * rise + 1:.0f}%", capsys=capsys)[0] == 0


def test_throughput_drop(baseline, tmp_path, capsys):
    candidate = reference_log(tmp_path / "half_batch.log", batch=16)
    drop = 1 - mean_without_first(numbers(THROUGHPUT, candidate)) / mean_without_first(
        numbers(THROUGHPUT, baseline)
    )
    code, result = compare_cli(baseline, candidate, "throughput-drop=5%", capsys=capsys)
    assert code == 1
    (row,) = check(result, "throughput-drop=5%")
    assert row["worse_by"] == pytest.approx(drop, rel=1e-6)
    assert compare_cli(baseline, candidate, f"throughput-drop={100 * drop + 1:.0f}%", capsys=capsys)[0] == 0
    # faster is never a drop
    assert compare_cli(candidate, baseline, "throughput-drop=0%", capsys=capsys)[0] == 0


def test_final_loss_rise(baseline, tmp_path, capsys):
    last = numbers(LOSS, baseline)[-1]
    text = baseline.read_text()
    cut = text.rindex(f"loss is {last!r}")
    candidate = tmp_path / "worse_end.log"
    candidate.write_text(text[:cut] + f"loss is {last * 1.5!r}" + text[cut + len(f"loss is {last!r}") :])
    code, result = compare_cli(baseline, candidate, "final-loss-rise=10%", capsys=capsys)
    assert code == 1
    (row,) = check(result, "final-loss-rise=10%")
    assert row["baseline"] == last and row["candidate"] == numbers(LOSS, candidate)[-1]
    assert compare_cli(baseline, candidate, "final-loss-rise=60%", capsys=capsys)[0] == 0
    assert compare_cli(baseline, candidate, f"final-loss-rise={last}", capsys=capsys)[0] == 0  # absolute


def test_eval_drop(baseline, tmp_path, capsys):
    metrics = ast.literal_eval(EVAL_DICT.search(baseline.read_text())[1])
    worse = {name: value * 0.97 for name, value in metrics.items()}
    candidate = edited(
        baseline, tmp_path / "worse_eval.log", EVAL_DICT.pattern, lambda m: f"result: {worse!r}"
    )
    code, result = compare_cli(baseline, candidate, "eval-drop=1%", capsys=capsys)
    assert code == 1
    rows = check(result, "eval-drop=1%")
    assert {r["metric"] for r in rows} == {f"eval {m}" for m in metrics}
    assert all(r["worse_by"] == pytest.approx(0.03) and not r["passed"] for r in rows)
    assert compare_cli(baseline, candidate, "eval-drop=5%", capsys=capsys)[0] == 0


def test_nan(baseline, tmp_path, capsys):
    candidate = edited(baseline, tmp_path / "nan.log", r"loss is \S+$", lambda m: "loss is nan", count=1)
    code, result = compare_cli(baseline, candidate, "nan", capsys=capsys)
    assert code == 1
    (row,) = check(result, "nan")
    assert row["candidate"] == 1 and "NaN" in row["reason"]
    assert compare_cli(candidate, baseline, "nan", capsys=capsys)[0] == 0  # only the candidate counts


def test_missing_figure_fails_and_says_which_side(baseline, capsys):
    no_throughput = corpus_log("fit.log")
    code, result = compare_cli(baseline, no_throughput, "throughput-drop=5%", capsys=capsys)
    assert code == 1
    (row,) = check(result, "throughput-drop=5%")
    assert row["reason"] == "cannot check: candidate log has no throughput (samples/s)"
    assert (row["metric"], row["candidate"], row["passed"]) == ("throughput (samples/s)", None, False)
    assert row["baseline"] > 0  # the side that has it keeps its value
    code, result = compare_cli(no_throughput, no_throughput, "throughput-drop=5%", capsys=capsys)
    (row,) = check(result, "throughput-drop=5%")
    assert (code, row["reason"]) == (
        1,
        "cannot check: baseline and candidate log has no throughput (samples/s)",
    )


def test_text_output_and_exit_codes_as_a_process(baseline, tmp_path):
    candidate = slower(baseline, tmp_path, 1.5)
    broken = run_cli("compare", baseline, candidate, "--fail-on", "epoch-time-rise=5%", "--fail-on", "nan")
    assert broken.returncode == 1
    assert "FAILED: 1 of 2 checks broken" in broken.stdout
    assert "mean epoch time (ms)" in broken.stdout and "epochs done" in broken.stdout
    held = run_cli("compare", baseline, baseline, "--fail-on", "epoch-time-rise=5%")
    assert held.returncode == 0 and "passed: all 1 checks held" in held.stdout


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ("speed-drop=5%", "unknown rule"),
        ("throughput-drop", "needs a limit"),
        ("throughput-drop=abc", "not a number"),
        ("throughput-drop=-5%", ">= 0"),
        ("nan=3", "takes no value"),
    ],
)
def test_bad_rule_is_bad_input(baseline, rule, needle, capsys):
    result = call_cli(capsys, "compare", baseline, baseline, "--fail-on", rule)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: --fail-on") and needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_log_is_bad_input(baseline, tmp_path, capsys):
    missing = tmp_path / "candidate.log"
    result = call_cli(capsys, "compare", baseline, missing, "--fail-on", "nan")
    assert result.returncode == 2 and str(missing) in result.stderr
    assert result.stderr.startswith("Error: ") and result.stdout == ""
    alone = call_cli(capsys, "compare", baseline)  # a baseline and nothing to compare with it
    assert alone.returncode == 2 and alone.stderr.startswith("Error: ")


def test_parse_rule():
    assert parse_rule("throughput-drop=5%").limit == pytest.approx(0.05)
    assert parse_rule("final-loss-rise=0.02").relative is False
    with pytest.raises(RuleError, match="known: "):
        parse_rule("bogus")


def test_compare_returns_data(baseline, tmp_path):
    candidate = slower(baseline, tmp_path, 1.1)
    result = compare(parsers.parse_log(baseline), parsers.parse_log(candidate), rules=["epoch-time-rise=5%"])
    assert result.failed
    row = result.deltas.set_index("metric").loc["mean epoch time (ms)"]
    assert row["change_pct"] == pytest.approx(10.0, rel=1e-3)
    assert list(result.checks.columns) == [
        "rule",
        "metric",
        "baseline",
        "candidate",
        "worse_by",
        "passed",
        "reason",
    ]


def test_the_dashboards_baseline_deltas_are_compares(tmp_path):
    """The runs table's Δ columns (run store figures) equal ``compare``'s changes for the same logs."""
    from dashboard_runs import copy_real_runs

    from dashboard.analysis import baseline_deltas
    from parsers.store import RunStore

    root = copy_real_runs(tmp_path / "runs", ["fit", "basic"])
    store = RunStore(root)
    store.refresh()
    shown = baseline_deltas(store.runs(), "basic").set_index("run").loc["fit"]
    deltas = compare(parsers.parse_log(root / "basic"), parsers.parse_log(root / "fit")).deltas
    deltas = deltas.set_index("metric")
    pairs = {
        "Δ last_loss": ("final loss", "change"),
        "Δ min_loss": ("min loss", "change"),
        "Δ% mean_epoch_time_ms": ("mean epoch time (ms)", "change_pct"),
        "Δ% wall_time_s": ("wall time (s)", "change_pct"),
    }
    assert shown[list(pairs)].notna().all()
    for column, (metric, field) in pairs.items():
        assert shown[column] == pytest.approx(deltas.loc[metric, field]), column


def test_deltas_count_loss_scale_overflows(baseline, capsys):
    """A real MindYOLO log that warns 'overflow, still update' four times against the reference
    log, which never does: 0 -> 4 overflows, and fewer is better."""
    candidate = DATA / "mindyolo" / "yolov8_overflow_issue402.log"
    warnings = candidate.read_text().count("[WARNING] overflow, still update")
    assert warnings == 4
    code, result = compare_cli(baseline, candidate, capsys=capsys)
    assert code == 0  # no rule asked
    row = {r["metric"]: r for r in result["deltas"]}["loss-scale overflows"]
    assert (row["baseline"], row["candidate"], row["change"], row["better_when"]) == (
        0,
        warnings,
        warnings,
        "lower",
    )


def test_a_one_epoch_log_counts_its_only_epoch_in_the_mean(baseline, tmp_path, capsys):
    """With one timed epoch there is nothing to leave out: the mean is that epoch, and the row
    'epochs in mean epoch time' says 1 (the baseline's four epochs: 3, the first left out)."""
    lines = baseline.read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if line.startswith("epoch time:")) + 1
    one = tmp_path / "one_epoch.log"
    one.write_text("".join(lines[:cut]))
    code, result = compare_cli(baseline, one, capsys=capsys)
    rows = {r["metric"]: r for r in result["deltas"]}
    assert code == 0
    assert (
        rows["epochs in mean epoch time"]["baseline"],
        rows["epochs in mean epoch time"]["candidate"],
    ) == (3, 1)
    assert rows["mean epoch time (ms)"]["candidate"] == pytest.approx(numbers(EPOCH_MS, one)[0])
