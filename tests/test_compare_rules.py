"""``parse-log compare`` rules not covered elsewhere: ``min-loss-rise``, ``wall-time-rise`` and
``eval-drop`` on metrics that improve downwards (a loss, a perplexity): each holds (exit 0) and
breaks (exit 1), with the amount it reports worked out from the text of the two logs.

The baseline is the project's reference log (LossMonitor, model-zoo throughput and TimeMonitor
lines); each candidate is that text with one kind of line edited, or eval lines added in the
training emitter's own ``Eval result`` template.
"""

from __future__ import annotations

import ast
import json
import re

import pytest
from cli_logs import EPOCH_MS, LOSS, call_cli, edited, numbers, reference_log, run_cli

from training.log_lines import EVAL_RESULT

EVAL_LINE = re.compile(r"^Eval result: epoch \d+, metrics: (\{.*\})$", re.MULTILINE)
RESULT_LINE = re.compile(r"^result: (\{.*\})$", re.MULTILINE)  # the reference log's closing eval


def compare_json(capsys, baseline, candidate, *rules: str):
    argv = ["compare", baseline, candidate, "--json", *(a for r in rules for a in ("--fail-on", r))]
    result = call_cli(capsys, *argv)
    return result.returncode, json.loads(result.stdout)


def rows(result, rule: str) -> dict[str, dict]:
    return {c["metric"]: c for c in result["checks"] if c["rule"] == rule}


@pytest.fixture
def baseline(tmp_path):
    return reference_log(tmp_path / "baseline.log")


# --- min-loss-rise ---------------------------------------------------------------------------


def test_min_loss_rise(baseline, tmp_path, capsys):
    """Every step 30% worse but the last: the lowest loss rises, the final loss does not."""
    losses = numbers(LOSS, baseline)
    candidate = edited(
        baseline,
        tmp_path / "worse_min.log",
        r"loss is (\S+)$",
        lambda m: f"loss is {float(m[1]) * 1.3!r}",
        count=len(losses) - 1,
    )
    assert numbers(LOSS, candidate)[-1] == losses[-1]
    lowest, new_min = min(losses), min(numbers(LOSS, candidate))
    rise = (new_min - lowest) / lowest
    assert rise > 0.05
    code, result = compare_json(capsys, baseline, candidate, "min-loss-rise=5%", "final-loss-rise=0%")
    assert code == 1
    row = rows(result, "min-loss-rise=5%")["min loss"]
    assert (row["baseline"], row["candidate"]) == (lowest, new_min)
    assert row["worse_by"] == pytest.approx(rise, rel=1e-9) and not row["passed"]
    assert rows(result, "final-loss-rise=0%")["final loss"]["passed"]
    assert compare_json(capsys, baseline, candidate, f"min-loss-rise={100 * rise + 0.5:.2f}%")[0] == 0
    absolute = new_min - lowest
    assert compare_json(capsys, baseline, candidate, f"min-loss-rise={absolute * 0.9}")[0] == 1
    assert compare_json(capsys, baseline, candidate, f"min-loss-rise={absolute * 1.1}")[0] == 0
    # a lower minimum is never a rise
    assert compare_json(capsys, candidate, baseline, "min-loss-rise=0%")[0] == 0


# --- wall-time-rise --------------------------------------------------------------------------


def test_wall_time_rise_from_a_longer_run(baseline, tmp_path, capsys):
    """Five epochs instead of four at the same speed: the wall time rises, the epoch time does not."""
    candidate = reference_log(tmp_path / "five_epochs.log", epochs=5)
    base_s, cand_s = sum(numbers(EPOCH_MS, baseline)) / 1000, sum(numbers(EPOCH_MS, candidate)) / 1000
    rise = cand_s / base_s - 1
    assert 0.15 < rise < 0.35
    code, result = compare_json(capsys, baseline, candidate, "wall-time-rise=10%", "epoch-time-rise=5%")
    assert code == 1
    row = rows(result, "wall-time-rise=10%")["wall time (s)"]
    assert row["baseline"] == pytest.approx(base_s, rel=1e-6)
    assert row["candidate"] == pytest.approx(cand_s, rel=1e-6)
    assert row["worse_by"] == pytest.approx(rise, rel=1e-6) and not row["passed"]
    assert rows(result, "epoch-time-rise=5%")["mean epoch time (ms)"]["passed"]
    assert compare_json(capsys, baseline, candidate, f"wall-time-rise={100 * rise + 1:.0f}%")[0] == 0
    seconds = cand_s - base_s
    assert compare_json(capsys, baseline, candidate, f"wall-time-rise={seconds - 1:.0f}")[0] == 1
    assert compare_json(capsys, baseline, candidate, f"wall-time-rise={seconds + 1:.0f}")[0] == 0
    assert compare_json(capsys, candidate, baseline, "wall-time-rise=0%")[0] == 0  # shorter is fine


# --- eval-drop on metrics that improve downwards ---------------------------------------------


def with_evals(src, dst, evals: dict[int, dict[str, float]]):
    """``src`` with an ``Eval result`` line (the trainer's template) after the given epochs' time lines."""
    seen = iter(range(1, 10**6))

    def add(match):
        epoch = next(seen)
        extra = f"\n{EVAL_RESULT.format(epoch=epoch, metrics=evals[epoch])}" if epoch in evals else ""
        return match[0] + extra

    return edited(src, dst, r"^epoch time: .*$", add)


BASE_EVALS = {
    2: {"acc": 0.61, "loss": 1.5, "perplexity": 4.48},
    4: {"acc": 0.7, "loss": 1.25, "perplexity": 3.49},
}


def best_of(path) -> dict[str, float]:
    """Best value of each eval metric printed: lowest for loss/perplexity, highest for accuracy."""
    printed = [ast.literal_eval(m) for m in EVAL_LINE.findall(path.read_text())]
    return {
        name: (min if name in ("loss", "perplexity") else max)(e[name] for e in printed)
        for name in printed[0]
    }


def printed_metrics(path) -> set[str]:
    text = path.read_text()
    return {name for m in EVAL_LINE.findall(text) + RESULT_LINE.findall(text) for name in ast.literal_eval(m)}


@pytest.fixture
def eval_baseline(baseline, tmp_path):
    return with_evals(baseline, tmp_path / "eval_baseline.log", BASE_EVALS)


def test_eval_drop_on_a_loss_that_rose(eval_baseline, baseline, tmp_path, capsys):
    """Eval loss and perplexity ended 10% and 20% higher, accuracy the same: a drop in quality."""
    worse = {
        2: {"acc": 0.61, "loss": 1.4, "perplexity": 4.9},
        4: {"acc": 0.7, "loss": 1.375, "perplexity": 4.188},
    }
    candidate = with_evals(baseline, tmp_path / "worse_eval.log", worse)
    base, cand = best_of(eval_baseline), best_of(candidate)
    assert base == {"acc": 0.7, "loss": 1.25, "perplexity": 3.49}  # the best, not the last or the first
    code, result = compare_json(capsys, eval_baseline, candidate, "eval-drop=5%")
    assert code == 1
    checks = rows(result, "eval-drop=5%")
    assert set(checks) == {f"eval {name}" for name in printed_metrics(candidate)}
    for name in ("loss", "perplexity"):
        row = checks[f"eval {name}"]
        assert (row["baseline"], row["candidate"]) == (base[name], cand[name])
        assert row["worse_by"] == pytest.approx((cand[name] - base[name]) / base[name], rel=1e-9)
        assert not row["passed"] and "rose" in row["reason"]
    assert all(
        checks[f"eval {name}"]["passed"] for name in printed_metrics(candidate) - {"loss", "perplexity"}
    )
    assert compare_json(capsys, eval_baseline, candidate, "eval-drop=25%")[0] == 0
    assert compare_json(capsys, eval_baseline, candidate, "eval-drop=0.5")[0] == 1  # perplexity +0.698
    assert compare_json(capsys, eval_baseline, candidate, "eval-drop=0.75")[0] == 0


def test_eval_drop_holds_when_a_loss_fell(eval_baseline, baseline, tmp_path, capsys):
    """A lower eval loss and perplexity is better, not a drop: the strictest limit holds."""
    better = {
        2: {"acc": 0.61, "loss": 1.3, "perplexity": 3.9},
        4: {"acc": 0.7, "loss": 1.1, "perplexity": 3.0},
    }
    candidate = with_evals(baseline, tmp_path / "better_eval.log", better)
    code, result = compare_json(capsys, eval_baseline, candidate, "eval-drop=0%")
    assert code == 0, result["checks"]
    checks = rows(result, "eval-drop=0%")
    assert checks["eval loss"]["candidate"] == best_of(candidate)["loss"] == 1.1
    assert all(c["passed"] and c["worse_by"] <= 0 for c in checks.values())
    # the other way round, the same pair is a rise of the loss
    assert compare_json(capsys, candidate, eval_baseline, "eval-drop=0%")[0] == 1


def test_the_three_rules_as_a_process(eval_baseline, baseline, tmp_path):
    """What CI sees: exit 1 and the verdict line when any of them breaks, 0 when all hold."""
    candidate = with_evals(
        reference_log(tmp_path / "five_epochs.log", epochs=5),
        tmp_path / "five_epochs_eval.log",
        {2: {"acc": 0.61, "loss": 1.5, "perplexity": 4.48}, 4: {"acc": 0.7, "loss": 1.4, "perplexity": 3.49}},
    )
    rules = ["--fail-on", "min-loss-rise=50%", "--fail-on", "wall-time-rise=10%", "--fail-on", "eval-drop=5%"]
    checks = 2 + len(printed_metrics(candidate))  # one eval-drop check per metric
    broken = run_cli("compare", eval_baseline, candidate, *rules)
    assert broken.returncode == 1, broken.stderr
    assert f"FAILED: 2 of {checks} checks broken" in broken.stdout  # wall time, eval loss
    held = run_cli("compare", eval_baseline, eval_baseline, *rules)
    assert held.returncode == 0 and f"passed: all {checks} checks held" in held.stdout


# --- a relative rule against a baseline of zero ----------------------------------------------


@pytest.mark.parametrize(
    ("last_loss", "worse_by", "code", "reason"),
    [
        ("0.25", "Infinity", 1, "final loss rose by inf% (limit 10%)"),  # any rise over 0 is too much
        ("0.0", 0.0, 0, "final loss did not get worse"),
        ("-0.5", 0.0, 0, "final loss did not get worse"),  # below the baseline: better, not -inf%
    ],
)
def test_final_loss_rise_against_a_final_loss_of_zero(tmp_path, capsys, last_loss, worse_by, code, reason):
    """A percentage of nothing: a baseline that ended at loss 0.0 fails any rise, holds otherwise."""
    base, cand = tmp_path / "base.log", tmp_path / "cand.log"
    base.write_text("epoch: 1 step: 1, loss is 0.5\nepoch: 1 step: 2, loss is 0.0\n")
    cand.write_text(f"epoch: 1 step: 1, loss is 0.5\nepoch: 1 step: 2, loss is {last_loss}\n")
    got, result = compare_json(capsys, base, cand, "final-loss-rise=10%")
    (row,) = rows(result, "final-loss-rise=10%").values()
    assert (got, row["worse_by"], row["reason"]) == (code, worse_by, reason)
    assert (row["baseline"], row["candidate"]) == (0.0, float(last_loss))


def test_cannot_check_names_the_side_and_keeps_the_other_value(tmp_path, capsys):
    """The baseline prints no epoch time, the candidate does: the row says which, with the value it has."""
    steps_only = tmp_path / "steps.log"
    steps_only.write_text("epoch: 1 step: 1, loss is 0.5\nepoch: 1 step: 2, loss is 0.4\n")
    timed = tmp_path / "timed.log"
    timed.write_text(
        "epoch: 1 step: 1, loss is 0.5\nepoch time: 1000.0 ms, per step time: 500.0 ms\n"
        "epoch: 2 step: 1, loss is 0.4\nepoch time: 800.0 ms, per step time: 400.0 ms\n"
    )
    code, result = compare_json(capsys, steps_only, timed, "epoch-time-rise=5%")
    (row,) = rows(result, "epoch-time-rise=5%").values()
    assert code == 1 and row["reason"] == "cannot check: baseline log has no mean epoch time (ms)"
    assert (row["baseline"], row["candidate"], row["passed"]) == (None, 800.0, False)  # epoch 1 compiles


# --- what each row says --------------------------------------------------------------------------

BASE = (
    "epoch: 1 step: 1, loss is 0.5\nepoch time: 1000.0 ms, per step time: 500.0 ms\n{'accuracy': 0.9}\n"
    "epoch: 2 step: 1, loss is 0.4\nepoch time: 800.0 ms, per step time: 400.0 ms\n"
)
WORSE = (  # a NaN, epoch 2 10% slower, final loss 0.05 higher, accuracy 0.8
    "epoch: 1 step: 1, loss is nan\nepoch time: 1000.0 ms, per step time: 500.0 ms\n{'accuracy': 0.8}\n"
    "epoch: 2 step: 1, loss is 0.45\nepoch time: 880.0 ms, per step time: 440.0 ms\n"
)


def _rows_of(tmp_path, capsys, base: str, cand: str, *rules: str) -> tuple[int, list[dict]]:
    (tmp_path / "b.log").write_text(base)
    (tmp_path / "c.log").write_text(cand)
    code, result = compare_json(capsys, tmp_path / "b.log", tmp_path / "c.log", *rules)
    keys = ("rule", "metric", "baseline", "candidate", "worse_by", "passed", "reason")
    return code, [{k: row[k] for k in keys} for row in result["checks"]]


def test_each_rule_row_says_what_broke_and_by_how_much(tmp_path, capsys):
    rules = ("nan", "epoch-time-rise=5%", "final-loss-rise=0.01", "eval-drop=1%")
    code, got = _rows_of(tmp_path, capsys, BASE, WORSE, *rules)
    assert code == 1
    assert got[0] == {"rule": "nan", "metric": "NaN/Inf losses", "baseline": 0, "candidate": 1, "worse_by": 1,
                      "passed": False, "reason": "candidate logged 1 NaN/Inf loss(es)"}  # fmt: skip
    assert got[1] == {"rule": "epoch-time-rise=5%", "metric": "mean epoch time (ms)", "baseline": 800.0,
                      "candidate": 880.0, "worse_by": pytest.approx(0.1), "passed": False,
                      "reason": "mean epoch time (ms) rose by 10.00% (limit 5%)"}  # fmt: skip
    assert got[2] == {"rule": "final-loss-rise=0.01", "metric": "final loss", "baseline": 0.4, "candidate": 0.45,
                      "worse_by": pytest.approx(0.05), "passed": False,
                      "reason": "final loss rose by 0.05 (limit 0.01)"}  # fmt: skip
    assert got[3] == {"rule": "eval-drop=1%", "metric": "eval accuracy", "baseline": 0.9, "candidate": 0.8,
                      "worse_by": pytest.approx(1 / 9), "passed": False,
                      "reason": "eval accuracy fell by 11.11% (limit 1%)"}  # fmt: skip


def test_rows_that_hold_or_cannot_check_say_so(tmp_path, capsys):
    code, got = _rows_of(tmp_path, capsys, WORSE, BASE, "nan", "epoch-time-rise=5%", "eval-drop=1%")
    assert code == 0  # BASE is better than WORSE in every way
    assert (got[0]["passed"], got[0]["reason"], got[0]["candidate"]) == (True, "no NaN/Inf loss", 0)
    assert got[1]["reason"] == "mean epoch time (ms) did not get worse" and got[1]["passed"] is True
    assert got[2]["reason"] == "eval accuracy did not get worse"
    no_eval = BASE.replace("{'accuracy': 0.9}\n", "")
    code, got = _rows_of(tmp_path, capsys, BASE, no_eval, "eval-drop=1%")
    assert (code, got) == (1, [{"rule": "eval-drop=1%", "metric": "eval", "baseline": None, "candidate": None,
                                "worse_by": None, "passed": False,
                                "reason": "cannot check: not both logs printed eval metrics"}])  # fmt: skip
    code, got = _rows_of(tmp_path, capsys, no_eval, no_eval, "eval-drop=1%")
    assert (code, got[0]["reason"]) == (1, "cannot check: neither log printed eval metrics")


def test_eval_deltas_keep_the_printed_order_the_best_value_and_its_direction(baseline, tmp_path, capsys):
    """Eval metrics printed top_5, acc, loss: the deltas list them in that order, each with its
    best value over the run -- the highest accuracy (printed first, not last), the lowest loss --
    and which way is better."""
    evals = {2: {"top_5": 0.9, "acc": 0.61, "loss": 1.5}, 4: {"top_5": 0.85, "acc": 0.7, "loss": 1.25}}
    base = with_evals(baseline, tmp_path / "base_evals.log", evals)
    code, result = compare_json(capsys, base, base)
    assert code == 0
    shown = [r for r in result["deltas"] if r["metric"].startswith("eval ")]
    assert [(r["metric"], r["baseline"], r["better_when"]) for r in shown[:3]] == [
        ("eval top_5", 0.9, "higher"),
        ("eval acc", 0.7, "higher"),
        ("eval loss", 1.25, "lower"),
    ]


def test_a_log_without_epoch_times_has_no_epochs_in_its_mean(baseline, tmp_path, capsys):
    steps_only = tmp_path / "steps_only.log"
    steps_only.write_text("epoch: 1 step: 1, loss is 2.5\nepoch: 1 step: 2, loss is 2.25\n")
    code, result = compare_json(capsys, baseline, steps_only)
    row = {r["metric"]: r for r in result["deltas"]}["epochs in mean epoch time"]
    assert code == 0 and (row["baseline"], row["candidate"]) == (3, 0)  # four epochs, the first left out
