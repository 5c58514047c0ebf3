"""Issue 12, finding 5 (dashboard part): the Runs page's name filter cannot hang the server.

The filter is a regular expression typed by whoever opens the page.  With a backtracking
engine ``(a+)+$`` against a name of n ``a`` and one other character costs 2^n steps: 9.7 s
at n = 26.  The check runs the page's own filter (``dashboard.tables.filter_runs``) in a
child process, so a backtracking engine is killed at the deadline instead of wedging pytest.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from dashboard.name_filter import MAX_PATTERN_CHARS, compile_name_filter
from dashboard.tables import filter_runs

REPO = Path(__file__).resolve().parent.parent
EVIL = "(a+)+$"
# 2^34 backtracking steps: minutes with Python's re; microseconds with a linear-time engine.
VICTIM = "a" * 34 + "!"
# Generous for a child that imports pandas on a busy 2-core machine; the filter itself must take < 0.5 s.
DEADLINE_S = 60

CHILD = f"""
import json, time
import pandas as pd
from dashboard.tables import filter_runs
runs = pd.DataFrame({{"run": [{VICTIM!r}, "resnet-a", "vit"]}})
started = time.perf_counter()
kept = filter_runs(runs, runs[["run"]], pattern={EVIL!r})["run"].tolist()
print(json.dumps({{"seconds": time.perf_counter() - started, "kept": kept}}))
"""


def test_catastrophic_pattern_returns_at_once():
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD], cwd=REPO, capture_output=True, text=True, timeout=DEADLINE_S
        )
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"the name filter {EVIL!r} on {VICTIM!r} still ran after {time.monotonic() - started:.0f} s"
        )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["seconds"] < 0.5, result
    assert result["kept"] == ["resnet-a"]  # the only name that ends in a run of a's


def test_filter_keeps_the_regular_expression_syntax():
    runs = pd.DataFrame({"run": ["fit", "sink", "resnet-12", "RESNET-3", "vit"]})
    hparams = runs[["run"]]
    assert filter_runs(runs, hparams, pattern="^(fit|sink)$")["run"].tolist() == ["fit", "sink"]
    assert filter_runs(runs, hparams, pattern=r"(?i)^resnet-\d+$")["run"].tolist() == [
        "resnet-12",
        "RESNET-3",
    ]
    assert filter_runs(runs, hparams, pattern="")["run"].tolist() == runs["run"].tolist()


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(", "missing )"),
        (r"(a)\1", "invalid escape sequence"),  # backreferences need backtracking: refused
        ("(?=a)", "invalid perl operator"),  # so does lookahead
        ("x" * (MAX_PATTERN_CHARS + 1), f"longer than {MAX_PATTERN_CHARS}"),
    ],
)
def test_patterns_the_engine_refuses_are_a_readable_re_error(pattern, reason):
    """The page catches ``re.error`` and shows its text: it must be text, and say why."""
    with pytest.raises(re.error) as caught:
        compile_name_filter(pattern)
    assert isinstance(str(caught.value), str) and reason in str(caught.value)
    runs = pd.DataFrame({"run": ["fit"]})
    with pytest.raises(re.error):
        filter_runs(runs, runs[["run"]], pattern=pattern)
