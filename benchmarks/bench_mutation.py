#!/usr/bin/env python3
"""Mutation testing of the modules where a wrong answer is silent: the share of mutants killed.

    python benchmarks/bench_mutation.py                     # every module below, one at a time
    python benchmarks/bench_mutation.py catalog compare     # some of them
    python benchmarks/bench_mutation.py --rev HEAD~3 engine # a given commit
    python benchmarks/bench_mutation.py --results-only catalog  # the last run's figures (even a stopped one)

mutmut (the ``dev`` extra) changes one thing at a time in the code -- a ``<`` into a
``<=``, a constant, a dropped condition -- and runs the tests that reach the changed
function; a mutant no test notices ("survived") is a bug the tests would let through.
Each module is run against its fast test files only (listed in ``MODULES``), never the
whole suite: subprocess, Dask, browser and training tests are left out.

The code mutated is a snapshot: a ``git worktree`` of ``--rev`` (default HEAD) in
``--out`` (default /tmp/epochscope-mutation), with the compiled scanner copied in, so
edits in the working tree meanwhile change nothing.  Modules run one after another (a
run uses every core given by ``--children``).  It prints one JSON object per module --
mutants, killed, survived, timeout, no tests, share killed (a mutant no test reaches counts
as not killed) -- and writes the survivors' names and diffs to ``OUT/<module>-survivors.txt``
to read (``mutmut show NAME`` in ``OUT/tree``).
Slow: minutes per module on two cores; not part of CI.  Figures go in the README.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# The store tests that run in this process: the others start processes, Dask or the CLI.
_STORE_TESTS = ["tests/test_store.py", "tests/test_store_rules.py"]
_STORE_FAST = "not two_refreshers and not killed and not import_stays and not missing_duckdb and not ingest"

# The growing-log test reads 5 logs 6 times each: for the refresh plan, not the tables read.
_STORE_TABLES = f"{_STORE_FAST} and not growing_log"

# module -> (files mutated, pytest arguments selecting its fast tests)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "catalog": (["parsers/store/catalog.py"], [*_STORE_TESTS, "-k", _STORE_TABLES]),
    "refresh-plan": (["parsers/store/sync.py"], [*_STORE_TESTS, "-k", _STORE_FAST]),
    "summary": (["parsers/summary.py", "parsers/store/summary.py"], [*_STORE_TESTS, "-k", _STORE_TABLES]),
    "compare": (
        ["parsers/compare.py"],
        ["tests/test_compare.py", "tests/test_compare_rules.py", "-k", "not as_a_process"],
    ),
    "engine": (
        ["parsers/engine/*.py"],
        ["tests/test_data_logs.py", "tests/test_incremental.py", "tests/test_traps.py"],
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("modules", nargs="*", choices=[[], *MODULES], help="default: all, in this order")
    parser.add_argument("--rev", default="HEAD", help="the commit to mutate (default HEAD)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/epochscope-mutation"))
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument(
        "--results-only", action="store_true", help="report the last run in --out (also a stopped one)"
    )
    args = parser.parse_args()
    if args.results_only:
        for name in args.modules:
            print(json.dumps({"module": name, **_counted(args.out / "tree", args.out, name)}), flush=True)
        return
    tree = snapshot(args.out, args.rev)
    for name in args.modules or list(MODULES):
        print(json.dumps(run_module(tree, name, args.children, args.out)), flush=True)


def snapshot(out: Path, rev: str) -> Path:
    """A worktree of ``rev`` with the compiled scanner: the code is mutated there, not here."""
    tree = out / "tree"
    if tree.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False)
        shutil.rmtree(tree, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=REPO, check=True)
    for built in (REPO / "parsers").glob("_scan*.so"):  # built by pip install, not in git
        shutil.copy2(built, tree / "parsers" / built.name)
    return tree


def run_module(tree: Path, name: str, children: int, out: Path) -> dict:
    files, tests = MODULES[name]
    _configure(tree, files, tests)
    shutil.rmtree(tree / "mutants", ignore_errors=True)  # mutants of the previous module
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(children)],
        cwd=tree, capture_output=True, text=True,
    )  # fmt: skip
    (out / f"{name}-run.log").write_text(run.stdout + run.stderr)
    counts = _counted(tree, out, name)
    return {"module": name, "files": files, **counts, "minutes": round((time.monotonic() - start) / 60, 1)}


def _counted(tree: Path, out: Path, name: str) -> dict:
    """Counts, the share killed (a mutant no test reaches counts as not killed), the survivors' file."""
    counts = _results(tree)
    survivors = [m for m, status in counts.pop("mutants").items() if status in {"survived", "no tests"}]
    _write_survivors(tree, out / f"{name}-survivors.txt", survivors)
    tested = counts["killed"] + counts["survived"] + counts["timeout"] + counts["no_tests"]
    share = round((counts["killed"] + counts["timeout"]) / tested, 3) if tested else None
    return {**counts, "killed_share": share, "survivors": str(out / f"{name}-survivors.txt")}


def _configure(tree: Path, files: list[str], tests: list[str]) -> None:
    """The snapshot's ``[tool.mutmut]``, narrowed to one module and its tests."""
    path = tree / "pyproject.toml"
    text = path.read_text()
    base = tomllib.loads(text).get("tool", {}).get("mutmut", {})
    options = {**base, "only_mutate": files, "pytest_add_cli_args_test_selection": tests}
    section = "[tool.mutmut]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())
    text = re.sub(r"\[tool\.mutmut\]\n(?:[^\[].*\n|\n)*", "", text)
    path.write_text(text.rstrip("\n") + "\n\n" + section)


def _results(tree: Path) -> dict:
    """Counts by status, and each mutant's status, from ``mutmut results --all true``."""
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=tree, capture_output=True, text=True, check=True,
    )  # fmt: skip
    mutants = {}
    for line in done.stdout.splitlines():
        if ":" in line:
            mutant, status = (part.strip() for part in line.rsplit(":", 1))
            mutants[mutant] = status
    statuses = list(mutants.values())
    return {
        "mutants": mutants,
        "total": len(statuses),
        "killed": statuses.count("killed"),
        "survived": statuses.count("survived"),
        "timeout": statuses.count("timeout"),
        "no_tests": statuses.count("no tests"),
        "not_checked": statuses.count("not checked"),
    }


def _write_survivors(tree: Path, path: Path, survivors: list[str]) -> None:
    parts = []
    for mutant in survivors:
        shown = subprocess.run(
            [sys.executable, "-m", "mutmut", "show", mutant], cwd=tree, capture_output=True, text=True
        )
        parts.append(f"## {mutant}\n{shown.stdout}")
    path.write_text("\n".join(parts))


if __name__ == "__main__":
    main()
