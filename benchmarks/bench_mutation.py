#!/usr/bin/env python3
"""Mutation testing of the modules where a wrong answer is silent: the share of mutants killed.

    python benchmarks/bench_mutation.py                     # every module below, one at a time
    python benchmarks/bench_mutation.py summary compare     # some of them
    python benchmarks/bench_mutation.py --rev HEAD~3 engine # a given commit
    python benchmarks/bench_mutation.py --results-only summary  # the last run's figures (even a stopped one)
    python benchmarks/bench_mutation.py --again summary     # its survivors again, with today's tests
    python benchmarks/bench_mutation.py --sample 200 --seed 16 engine  # a fresh sample of 200

mutmut (the ``dev`` extra) changes one thing at a time in the code -- a ``<`` into a
``<=``, a constant, a dropped condition -- and runs the tests that reach the changed
function; a mutant no test notices ("survived") is a bug the tests would let through.
Each module is run against its fast test files only (listed in ``MODULES``), never the
whole suite: subprocess, Dask, browser and training tests are left out.

The code mutated is a snapshot: a ``git worktree`` of ``--rev`` (default HEAD) in
``OUT/tree-MODULE`` (``--out``, default /tmp/epochscope-mutation), with the compiled scanner
copied in, so edits in the working tree meanwhile change nothing.  Modules run one after
another, one mutant at a time unless ``--children`` says more (the machine is shared).
It prints one JSON object per module -- mutants, killed, survived, timeout, no tests, share
killed (a mutant no test reaches counts as not killed) -- keeps every mutant's status in
``OUT/MODULE-results.json`` and writes the survivors' names and diffs to
``OUT/MODULE-survivors.txt`` to read (``mutmut show NAME`` in the module's tree).

``--again`` is the step after reading the survivors and writing the tests that kill them:
the working tree's ``tests/`` are copied into the module's snapshot (the code mutated stays
as it was) and only the survivors (and the mutants a stopped run left unchecked) run again;
their new statuses replace the old ones in the results file, which names the commit the
tests came from.
``--sample N`` checks N mutants drawn at random instead of all (with ``--again``: the survivors
and N of the unchecked): on a loaded machine a module's full run takes hours.  ``--seed`` draws
another sample: after writing tests for one sample's survivors, only a fresh sample says how
the module stands (``--again`` re-checks the sample the tests were written for).
Slow: minutes to hours per module on two cores; not part of CI.  Figures go in the README.
"""

from __future__ import annotations

import argparse
import json
import random
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
_STORE_FAST = (
    "not two_refreshers and not killed and not import_stays and not missing_duckdb and not ingest"
    " and not refreshed_by_another_process"
)

# The growing-log test reads 5 logs 6 times each: the half-written-line and rewritten-log tests
# check appending at a fraction of its cost.
_STORE_TABLES = f"{_STORE_FAST} and not growing_log"

# The store tests that read a summary figure of the runs table (the others are about refreshing).
_SUMMARY_STORE_TESTS = [
    f"tests/test_store.py::test_{name}"
    for name in (
        "folder_of_rank_logs_is_one_run",
        "bad_logs_are_rows_not_exceptions",
        "runs_table_matches_summarize",
        "runs_columns_and_table_run_column",
        "a_store_without_runs_has_an_empty_runs_table",
        "throughput_from_each_runs_own_batch_size_in_a_table_of_runs",
        "stalled_when_the_log_stops_growing",
    )
]

# The store tests about what a refresh reads and keeps (the stall and summary ones are summary's).
_REFRESH_STORE_TESTS = [
    *(
        f"tests/test_store.py::test_{name}"
        for name in (
            "folder_of_rank_logs_is_one_run",
            "unchanged_log_is_not_read_again",
            "half_written_line_waits",
            "truncated_and_rotated_logs_are_read_again",
            "a_log_rewritten_in_place_and_grown_is_read_again",
            "renamed_run_keeps_its_parsed_log",
            "a_removed_run_leaves_the_store",
            "an_edited_config_updates_the_run_without_reading_its_log",
            "bad_logs_are_rows_not_exceptions",
            "a_store_without_runs_has_an_empty_runs_table",
            "hyperparameters_from_files_never_executed",
        )
    ),
    *(
        f"tests/test_store_rules.py::test_{name}"
        for name in (
            "a_gzipped_log_is_read",
            "an_edited_formats_file_beside_a_log_reads_it_again",
            "a_bad_hparams_json_is_reported_and_the_run_still_read",
            "a_text_log_takes_its_total_epochs_and_batch_size_from_its_runs_config",
        )
    ),
]

# Every in-process test of parsing checks what the engine assembles.
_ENGINE_TESTS = [
    f"tests/test_{name}.py"
    for name in [
        "data_logs",
        "incremental",
        "traps",
        "grammar",
        "grammar_ranks",
        "grammar_exclude",
        "rank_figures",
        "ranks",
        "errors",
        "hostile_bytes",
        "many_logs",
        "layers",
        "properties",
        "linear_time",
        "context",
    ]
]

# module -> (files mutated, pytest arguments selecting its fast tests)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "catalog": (["parsers/store/catalog.py"], [*_STORE_TESTS, "-k", _STORE_TABLES]),
    "refresh-plan": (
        ["parsers/store/sync.py"],
        ["tests/test_refresh_plan.py", "tests/test_events_store.py", *_REFRESH_STORE_TESTS],
    ),
    "summary": (
        ["parsers/summary.py", "parsers/store/summary.py"],
        [
            "tests/test_summary_rules.py",
            "tests/test_rank_figures.py",
            "tests/test_store_rules.py",
            "tests/test_events_store.py",  # the summary of a run of event files alone
            *_SUMMARY_STORE_TESTS,
            "-k",
            _STORE_FAST,
        ],
    ),
    "compare": (
        ["parsers/compare.py"],
        ["tests/test_compare.py", "tests/test_compare_rules.py", "-k", "not as_a_process"],
    ),
    "engine": (["parsers/engine/*.py"], _ENGINE_TESTS),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("modules", nargs="*", choices=[[], *MODULES], help="default: all, in this order")
    parser.add_argument("--rev", default="HEAD", help="the commit to mutate (default HEAD)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/epochscope-mutation"))
    parser.add_argument("--children", type=int, default=1, help="mutants tested at once (default 1)")
    parser.add_argument(
        "--results-only", action="store_true", help="report the last run in --out (also a stopped one)"
    )
    parser.add_argument(
        "--again",
        action="store_true",
        help="run the last run's survivors again with the working tree's tests",
    )
    parser.add_argument(
        "--sample", type=int, help="check this many mutants drawn at random (seeded), not all of them"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=15,
        help="the sample's seed (default 15): another seed draws a fresh sample, unbiased by tests "
        "written for an earlier sample's survivors",
    )
    args = parser.parse_args()
    for name in args.modules or list(MODULES):
        tree = args.out / f"tree-{name}"
        if args.results_only:
            report = {"module": name, **_counted(tree, args.out, name)}
        elif args.again:
            report = run_again(tree, name, args.children, args.out, args.sample, args.seed)
        else:
            report = run_module(
                snapshot(tree, args.rev), name, args.children, args.out, args.sample, args.seed
            )
        print(json.dumps(report), flush=True)


def snapshot(tree: Path, rev: str) -> Path:
    """A worktree of ``rev`` with the compiled scanner: the code is mutated there, not here."""
    if tree.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False)
        shutil.rmtree(tree, ignore_errors=True)
    tree.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=REPO, check=True)
    for built in (REPO / "parsers").glob("_scan*.so"):  # built by pip install, not in git
        shutil.copy2(built, tree / "parsers" / built.name)
    return tree


def run_module(tree: Path, name: str, children: int, out: Path, sample: int | None, seed: int) -> dict:
    files, tests = MODULES[name]
    _configure(tree, files, tests)
    start = time.monotonic()
    rev = _git(tree, "rev-parse", "--short", "HEAD")
    if sample is None:
        _mutmut(tree, out / f"{name}-run.log", "--max-children", str(children))
    else:  # a name nothing matches: mutmut makes the mutants and the test stats, then stops
        _mutmut(tree, out / f"{name}-list.log", "--max-children", str(children), "none-such-mutant")
        chosen = _sampled(list(_results(tree)), sample, seed)
        _mutmut(tree, out / f"{name}-run.log", "--max-children", str(children), *chosen)
    saved = {"rev": rev, "tests_rev": rev, "sample": sample, "seed": seed, "mutants": _results(tree)}
    _save(out, name, saved)
    counts = _counted(tree, out, name)
    return {"module": name, "files": files, **counts, "minutes": round((time.monotonic() - start) / 60, 1)}


def run_again(tree: Path, name: str, children: int, out: Path, sample: int | None, seed: int) -> dict:
    """The survivors of the last run of ``name`` (and the mutants a stopped run left unchecked,
    or ``sample`` of them), against the working tree's tests and the module's selection now."""
    saved = _load(out, name)
    survivors = [m for m, status in saved["mutants"].items() if status in _NOT_KILLED]
    unchecked = [m for m, status in saved["mutants"].items() if status == "not checked"]
    chosen = survivors + (unchecked if sample is None else _sampled(unchecked, sample, seed))
    tests_rev = _git(REPO, "rev-parse", "--short", "HEAD") + (" + edits" if _dirty_tests() else "")
    shutil.copytree(REPO / "tests", tree / "tests", dirs_exist_ok=True)
    _configure(tree, *MODULES[name])
    start = time.monotonic()
    if chosen:
        _mutmut(tree, out / f"{name}-again.log", "--max-children", str(children), *chosen)
    now = _results(tree)
    saved["mutants"].update({m: now[m] for m in chosen if now.get(m, "not checked") != "not checked"})
    saved["tests_rev"] = tests_rev
    _save(out, name, saved)
    counts = _counted(tree, out, name)
    return {
        "module": name,
        "again": len(chosen),
        **counts,
        "minutes": round((time.monotonic() - start) / 60, 1),
    }


def _sampled(names: list[str], size: int, seed: int) -> list[str]:
    """A seeded uniform sample: its share killed estimates the module's, where mutmut's own order
    (fastest tests first) would favour the functions few tests reach."""
    return sorted(random.Random(seed).sample(sorted(names), min(size, len(names))))


_NOT_KILLED = {"survived", "no tests"}


def _mutmut(tree: Path, log: Path, *args: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "mutmut", "run", *args], cwd=tree, capture_output=True, text=True
    )
    log.write_text(run.stdout + run.stderr)
    if "Failed to run clean test" in run.stdout:  # e.g. today's tests expect code newer than --rev
        sys.exit(f"mutmut: the tests fail on the unmutated snapshot {tree}; see {log}")


def _git(where: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=where, capture_output=True, text=True, check=True
    ).stdout.strip()


def _dirty_tests() -> bool:
    return bool(_git(REPO, "status", "--porcelain", "--", "tests"))


def _save(out: Path, name: str, results: dict) -> None:
    (out / f"{name}-results.json").write_text(json.dumps(results, indent=1))


def _load(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}-results.json").read_text())


def _counted(tree: Path, out: Path, name: str) -> dict:
    """Counts, the share killed (a mutant no test reaches counts as not killed), the survivors' file.

    From the results file (a run's statuses, with ``--again``'s on top), else -- a run still
    going or stopped -- from mutmut itself."""
    path = out / f"{name}-results.json"
    saved = _load(out, name) if path.exists() else {"mutants": _results(tree)}
    statuses = list(saved["mutants"].values())
    counts = {
        "total": len(statuses),
        "killed": statuses.count("killed"),
        "survived": statuses.count("survived"),
        "timeout": statuses.count("timeout"),
        "no_tests": statuses.count("no tests"),
        "not_checked": statuses.count("not checked"),
    }
    survivors = [m for m, status in saved["mutants"].items() if status in _NOT_KILLED]
    _write_survivors(tree, out / f"{name}-survivors.txt", survivors)
    tested = counts["killed"] + counts["survived"] + counts["timeout"] + counts["no_tests"]
    share = round((counts["killed"] + counts["timeout"]) / tested, 3) if tested else None
    revs = {k: saved[k] for k in ("rev", "tests_rev") if k in saved}
    return {**revs, **counts, "killed_share": share, "survivors": str(out / f"{name}-survivors.txt")}


def _configure(tree: Path, files: list[str], tests: list[str]) -> None:
    """The snapshot's ``[tool.mutmut]``, narrowed to one module and its tests."""
    path = tree / "pyproject.toml"
    text = path.read_text()
    base = tomllib.loads(text).get("tool", {}).get("mutmut", {})
    options = {**base, "only_mutate": files, "pytest_add_cli_args_test_selection": tests}
    section = "[tool.mutmut]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())
    text = re.sub(r"\[tool\.mutmut\]\n(?:[^\[].*\n|\n)*", "", text)
    path.write_text(text.rstrip("\n") + "\n\n" + section)


def _results(tree: Path) -> dict[str, str]:
    """Each mutant's status, from ``mutmut results --all true``."""
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=tree, capture_output=True, text=True, check=True,
    )  # fmt: skip
    mutants = {}
    for line in done.stdout.splitlines():
        if ":" in line:
            mutant, status = (part.strip() for part in line.rsplit(":", 1))
            mutants[mutant] = status
    return mutants


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
