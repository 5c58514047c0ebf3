"""Issue 12, finding 6: a run's config files are read in bounded memory and time.

Anyone who can write into a runs folder can put a config beside a log.  A 289-byte YAML
alias bomb (nested ``&a [*b, *b, ...]`` anchors) cost 3.1 GB and 20 s on every refresh,
because flattening expanded every alias.  Each cap (file size, alias expansion, nesting,
number of keys) must be reported in the run's hyperparameter source, naming the file and
the cap, and must never crash the refresh or be skipped in silence.

The bombs are read in a child process with an address-space limit and a deadline, so a
reader that expands them fails the test instead of swapping the machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from parsers.store.configs import CONFIG_BYTES, MAX_DEPTH, MAX_KEYS, read_hparams

REPO = Path(__file__).resolve().parent.parent
LOG = REPO / "tests" / "data" / "mindspore-2.10-cpu" / "fit.log"

# 9^8 = 43 million strings once expanded, from 8 lines.
ALIAS_BOMB = "".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n',
        *(
            f"{b}: &{b} [*{a},*{a},*{a},*{a},*{a},*{a},*{a},*{a},*{a}]\n"
            for a, b in zip("abcdefg", "bcdefgh")
        ),
    ]
)
# The same through merge keys: PyYAML copies the merged pairs, 9^8 of them, while constructing.
MERGE_BOMB = "".join(
    [
        "a: &a {k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8, k9: 9}\n",
        *(
            f"{b}: &{b} {{<<: [*{a},*{a},*{a},*{a},*{a},*{a},*{a},*{a},*{a}]}}\n"
            for a, b in zip("abcdefg", "bcdefgh")
        ),
    ]
)
RECURSIVE = "lr: 0.1\nloop: &x [1, *x]\n"

MEMORY_LIMIT = 1 << 30  # bytes of address space for the child: Python and PyYAML need ~60 MB
DEADLINE_S = 60

CHILD = f"""
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))
from parsers.store.configs import read_hparams
data = sys.stdin.buffer.read()
started = time.perf_counter()
hparams, source = read_hparams({{"config.yaml": (len(data), 0)}}, lambda name: data)
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent (a pytest process of
# hundreds of MB) across fork and exec, while VmHWM is this process's own peak.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"seconds": seconds, "source": source, "keys": len(hparams), "max_rss_mb": peak_kb / 1024}}))
"""


def read_in_child(text: str) -> dict:
    """``read_hparams`` of one ``config.yaml`` in a child process with 1 GB of address space."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD],
            input=text.encode(),
            cwd=REPO,
            capture_output=True,
            timeout=DEADLINE_S,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading the config still ran after {DEADLINE_S} s")
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return json.loads(done.stdout.decode().splitlines()[-1])


@pytest.mark.parametrize(("text", "cap"), [(ALIAS_BOMB, "alias cap"), (MERGE_BOMB, "alias cap")])
def test_alias_bombs_are_refused_at_once_and_say_why(text, cap):
    assert len(text.encode()) < 600
    result = read_in_child(text)
    assert result["seconds"] < 1.0, result
    assert result["max_rss_mb"] < 200, result
    assert result["keys"] == 0
    assert result["source"].startswith("config.yaml not read:") and cap in result["source"], result


def test_recursive_alias_is_refused_not_a_crash():
    hparams, source = read_hparams(["config.yaml"], lambda name: RECURSIVE.encode())
    assert hparams == {} and "config.yaml not read:" in source and "refers to itself" in source


def test_anchors_within_the_caps_still_work():
    """Real configs share blocks with anchors and merge keys: those are read as before."""
    text = "base: &base {lr: 0.1, momentum: 0.9}\ntrain:\n  <<: *base\n  batch_size: 32\nsizes: &s [1, 2]\nagain: *s\n"
    hparams, source = read_hparams(["config.yaml"], lambda name: text.encode())
    assert source == "config.yaml"
    assert hparams["train.lr"] == 0.1 and hparams["train.batch_size"] == 32 and hparams["again"] == [1, 2]


def nested(depth: int) -> dict:
    value: dict = {"lr": 0.1}
    for level in range(depth):
        value = {f"level{level}": value}
    return value


def many_keys(count: int) -> dict:
    return {f"key{i}": i for i in range(count)}


@pytest.mark.parametrize(
    ("name", "text", "cap"),
    [
        ("config.yaml", "x: " + "y" * CONFIG_BYTES + "\n", "size cap"),
        ("hparams.json", json.dumps({"x": "y" * CONFIG_BYTES}), "size cap"),
        ("config.yaml", json.dumps(nested(MAX_DEPTH + 1)), "nesting cap"),
        ("hparams.json", json.dumps(nested(MAX_DEPTH + 1)), "nesting cap"),
        ("hparams.json", "[" * 100_000 + "]" * 100_000, "nesting cap"),
        ("config.py", f"config = {nested(MAX_DEPTH + 1)!r}\n", "nesting cap"),
        ("config.yaml", json.dumps(many_keys(MAX_KEYS + 1)), "key cap"),
        ("hparams.json", json.dumps(many_keys(MAX_KEYS + 1)), "key cap"),
        ("config.py", f"config = {many_keys(MAX_KEYS + 1)!r}\n", "key cap"),
    ],
)
def test_each_cap_is_reported_with_the_file(name, text, cap):
    started = time.perf_counter()
    hparams, source = read_hparams([name], lambda n: text.encode(), printed={"lr": 0.5})
    assert time.perf_counter() - started < 2.0
    assert hparams == {"lr": 0.5}  # what the log printed is still shown
    assert source.startswith(f"log; {name} not read:") and cap in source, source


def test_within_the_caps_is_read():
    text = json.dumps({**nested(MAX_DEPTH - 1), **many_keys(MAX_KEYS - 1)})
    hparams, source = read_hparams(["hparams.json"], lambda n: text.encode())
    assert source == "hparams.json" and len(hparams) == MAX_KEYS


def test_the_recorded_size_is_checked_before_reading():
    """A config the folder listing says is too big is never read at all."""

    def read(name):
        raise AssertionError("read a file over the size cap")

    hparams, source = read_hparams({"config.yaml": (CONFIG_BYTES + 1, 0)}, read)
    assert hparams == {} and "config.yaml not read:" in source and "size cap" in source


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("config.yaml", "a: [1, 2\nb: :\n", "invalid YAML"),
        ("hparams.json", "{'lr': 0.1}", "invalid JSON"),
        ("config.py", "config = {\n", "invalid Python"),
    ],
)
def test_an_unreadable_config_is_reported_not_skipped(name, text, reason):
    hparams, source = read_hparams([name], lambda n: text.encode())
    assert hparams == {} and source.startswith(f"{name} not read: {reason}"), source


def test_the_next_config_is_used_and_the_refused_one_still_named():
    files = {"config.yaml": ALIAS_BOMB, "config.py": "config = {'lr': 0.2}\n"}
    hparams, source = read_hparams(list(files), lambda n: files[n].encode())
    assert hparams == {"lr": 0.2}
    assert source.startswith("config.py; config.yaml not read:") and "alias cap" in source


def test_the_run_row_says_which_cap_and_which_file(tmp_path):
    """Through the real store: the refresh finishes at once and the run's source names the cap."""
    from parsers.store import RunStore

    run = tmp_path / "runs" / "bombed"
    run.mkdir(parents=True)
    shutil.copyfile(LOG, run / "train.log")
    (run / "config.yaml").write_text(ALIAS_BOMB)
    store = RunStore(tmp_path / "runs")
    started = time.perf_counter()
    refreshed = store.refresh()
    assert (
        time.perf_counter() - started < 20
    )  # the store's own first parse included; the bomb took 20 s alone
    assert refreshed["status"].tolist() == ["new"]
    source = store.meta("bombed")["hparams_source"]
    assert "config.yaml not read:" in source and "alias cap" in source
    assert store.runs().set_index("run").loc["bombed", "status"] != "error"
